"""Demo centres and users for `make run` (never in production)."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from alerts import accounts
from alerts.models import Centre, PartnerEndpoint, Subscriber, SubscriberArea, User

CENTRES = [
    {"code": "BE", "timezone": "Europe/Brussels", "languages": ["nl", "fr", "de"],
     "names": {"nl": "Nationaal Crisiscentrum", "fr": "Centre de crise national",
               "de": "Nationales Krisenzentrum", "en": "National Crisis Center (Belgium)"}},
    {"code": "NL", "timezone": "Europe/Amsterdam", "languages": ["nl"],
     "names": {"nl": "Nationaal Crisiscentrum", "fr": "Centre national de crise (Pays-Bas)",
               "de": "Nationales Krisenzentrum (Niederlande)", "en": "National Crisis Centre (Netherlands)"}},
    {"code": "LU", "timezone": "Europe/Luxembourg", "languages": ["fr", "de"],
     "names": {"nl": "Hoog Commissariaat voor de Nationale Bescherming",
               "fr": "Haut-Commissariat à la protection nationale",
               "de": "Hochkommissariat für nationalen Schutz", "en": "High Commission for National Protection"}},
    {"code": "DE-NW", "timezone": "Europe/Berlin", "languages": ["de"],
     "names": {"nl": "Ministerie van Binnenlandse Zaken Noordrijn-Westfalen",
               "fr": "Ministère de l'Intérieur de Rhénanie-du-Nord-Westphalie",
               "de": "Ministerium des Innern Nordrhein-Westfalen",
               "en": "Ministry of the Interior of North Rhine-Westphalia"}},
]
# The other crisis centres of the network's founding meeting: partner centres receiving English copies
PARTNER_CENTRES = [
    {"code": "DE", "timezone": "Europe/Berlin",
     "names": {"en": "Joint Information and Situation Centre (GMLZ), Germany",
               "de": "Gemeinsames Melde- und Lagezentrum von Bund und Ländern (GMLZ)",
               "nl": "Gemeenschappelijk Meld- en Situatiecentrum (GMLZ), Duitsland",
               "fr": "Centre commun de signalement et de situation (GMLZ), Allemagne"}},
    {"code": "AT", "timezone": "Europe/Vienna",
     "names": {"en": "Federal Ministry of the Interior (Austria)", "de": "Bundesministerium für Inneres (Österreich)",
               "nl": "Federaal Ministerie van Binnenlandse Zaken (Oostenrijk)",
               "fr": "Ministère fédéral de l’Intérieur (Autriche)"}},
    {"code": "GB", "timezone": "Europe/London",
     "names": {"en": "Cabinet Office (United Kingdom)", "de": "Cabinet Office (Vereinigtes Königreich)",
               "nl": "Cabinet Office (Verenigd Koninkrijk)", "fr": "Cabinet Office (Royaume-Uni)"}},
    {"code": "DK", "timezone": "Europe/Copenhagen",
     "names": {"en": "Danish Emergency Management Agency", "de": "Dänische Katastrophenschutzbehörde",
               "nl": "Deens Agentschap voor Noodbeheer", "fr": "Agence danoise de gestion des urgences"}},
    {"code": "FI", "timezone": "Europe/Helsinki",
     "names": {"en": "Government Situation Centre (Finland)", "de": "Lagezentrum der Regierung (Finnland)",
               "nl": "Situatiecentrum van de regering (Finland)",
               "fr": "Centre de situation du gouvernement (Finlande)"}},
    {"code": "FR", "timezone": "Europe/Paris",
     "names": {"en": "Interministerial Crisis Centre (France)", "fr": "Centre interministériel de crise",
               "de": "Interministerielles Krisenzentrum (Frankreich)",
               "nl": "Interministerieel Crisiscentrum (Frankrijk)"}},
    {"code": "IT", "timezone": "Europe/Rome",
     "names": {"en": "Civil Protection Department (Italy)", "de": "Abteilung Zivilschutz (Italien)",
               "nl": "Departement Civiele Bescherming (Italië)", "fr": "Département de la protection civile (Italie)"}},
    {"code": "IS", "timezone": "Atlantic/Reykjavik",
     "names": {"en": "Department of Civil Protection and Emergency Management (Iceland)",
               "de": "Abteilung für Zivilschutz und Notfallmanagement (Island)",
               "nl": "Departement Civiele Bescherming en Noodbeheer (IJsland)",
               "fr": "Département de la protection civile et de la gestion des urgences (Islande)"}},
    {"code": "NO", "timezone": "Europe/Oslo",
     "names": {"en": "Directorate for Civil Protection (DSB), Norway",
               "de": "Direktorat für Zivilschutz (DSB), Norwegen",
               "nl": "Directoraat voor Civiele Bescherming (DSB), Noorwegen",
               "fr": "Direction de la protection civile (DSB), Norvège"}},
    {"code": "SE", "timezone": "Europe/Stockholm",
     "names": {"en": "Swedish civil protection agency", "de": "Schwedische Zivilschutzbehörde",
               "nl": "Zweedse dienst voor civiele bescherming", "fr": "Agence suédoise de protection civile"}},
]
ROLES = ("communicator", "spokesperson", "partner")


def ensure_centres(session: Session) -> None:
    existing = set(session.scalars(select(Centre.code)))
    for data in CENTRES:
        if data["code"] not in existing:
            session.add(Centre(**data))
    session.flush()


def wire_demo_channels(session: Session, wiring: dict) -> None:
    """Point the demo centres at the local stand-ins (devtools/fakes/run.py) and add demo subscribers."""
    # the Benelux centres and DE-NW publish; the other centres of the network only receive partner copies
    demo_codes = [data["code"] for data in CENTRES]
    centres = {c.code: c for c in session.scalars(select(Centre).where(Centre.code.in_(demo_codes)))}
    for code, centre in centres.items():
        national = {"target": wiring["national"]}
        if code != "DE-NW":  # DE-NW shows a centre without a national test endpoint: its exercises say so
            national["test_target"] = wiring["national"]
        centre.channels = {"sms": {}, "x": {"target": code}, "mastodon": {"target": code}, "national": national}
    session.execute(delete(PartnerEndpoint))
    for partner in wiring["partners"]:
        session.add(PartnerEndpoint(centre_id=centres[partner["centre"]].id, url=partner["url"],
                                    secrets=[partner["secret"]]))
    if session.scalar(select(func.count()).select_from(Subscriber)):
        return
    places = {"BE": ["be-lim", "be-lie", "be-ant"], "NL": ["nl-li", "nl-ze"], "LU": ["lu-esch", "lu-luxembourg"],
              "DE-NW": ["de-nw-rb-koeln"]}
    languages = {"BE": ["nl", "fr", "de", "en"], "NL": ["nl", "en"], "LU": ["fr", "de", "en"], "DE-NW": ["de", "en"]}
    prefixes = {"BE": "+3247", "NL": "+3161", "LU": "+352621", "DE-NW": "+49151"}
    for code, centre in centres.items():
        for i in range(50):
            subscriber = Subscriber(centre_id=centre.id, phone=f"{prefixes[code]}{i:06d}",
                                    language=languages[code][i % len(languages[code])])
            session.add(subscriber)
            session.flush()
            place = places[code][i % len(places[code])]
            session.add(SubscriberArea(subscriber_id=subscriber.id, place=place))


def ensure_partner_centres(session: Session) -> None:
    existing = set(session.scalars(select(Centre.code)))
    for data in PARTNER_CENTRES:
        if data["code"] not in existing:
            session.add(Centre(**data, languages=["en"]))
    session.flush()


def seed(session: Session, make_password: Callable[[], str]) -> list[tuple[str, str]]:
    """Creates what is missing; returns (username, password) of the users created now: a communicator, a
    spokesperson and a partner user for each Benelux centre and DE-NW, an admin of BE, a network administrator, and
    a partner user for each of the other centres of the founding meeting."""
    ensure_centres(session)
    ensure_partner_centres(session)
    wanted = [(data["code"], role, f"{data['code'].lower()}.{role}") for data in CENTRES for role in ROLES]
    wanted += [("BE", "admin", "be.admin"), ("BE", "network-admin", "network.admin")]
    wanted += [(data["code"], "partner", f"{data['code'].lower()}.partner") for data in PARTNER_CENTRES]
    created = []
    for code, role, username in wanted:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            password = make_password()
            accounts.create_user(session, "seed", username=username, display_name=f"{role.capitalize()} {code}",
                                 centre_code=code, roles=[role], password=password)
            created.append((username, password))
    return created
