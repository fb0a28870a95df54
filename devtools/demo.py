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
ROLES = ("communicator", "spokesperson", "partner")


def ensure_centres(session: Session) -> None:
    existing = set(session.scalars(select(Centre.code)))
    for data in CENTRES:
        if data["code"] not in existing:
            session.add(Centre(**data))
    session.flush()


def wire_demo_channels(session: Session, wiring: dict) -> None:
    """Point the demo centres at the local stand-ins (devtools/fakes/run.py) and add demo subscribers."""
    centres = {c.code: c for c in session.scalars(select(Centre))}
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


def seed(session: Session, make_password: Callable[[], str]) -> list[tuple[str, str]]:
    """Creates what is missing; returns (username, password) of the users created now."""
    ensure_centres(session)
    created = []
    for data in CENTRES:
        for role in ROLES:
            username = f"{data['code'].lower()}.{role}"
            if session.scalar(select(User.id).where(User.username == username)) is None:
                password = make_password()
                accounts.create_user(session, "seed", username=username,
                                     display_name=f"{role.capitalize()} {data['code']}",
                                     centre_code=data["code"], roles=[role], password=password)
                created.append((username, password))
    return created
