"""Co-authoring verbs: create, edit (optimistic concurrency), invite, comment; versions and diffs.

Each verb takes the session and the acting user, changes the domain, appends to the audit chain
and leaves the commit to the caller: one operation, one transaction.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from alerts import access, audit, workflow
from alerts.content import canonical_content, diff, flatten
from alerts.errors import InvalidInput, NotFound, StaleVersion
from alerts.factory import build_version, new_alert, sync_centres
from alerts.gazetteer import PLACES
from alerts.geo import parse_circle, parse_polygon  # the syntax, and an area that does not cross itself
from alerts.hazards import HAZARDS
from alerts.i18n import Msg, _
from alerts.models import (
    Alert,
    AlertCentre,
    Area,
    Centre,
    Comment,
    Release,
    User,
    Version,
    VersionText,
    utcnow,
)
from alerts.texts import TemplateInput, cancel_texts, merge_texts, template_texts
from alerts.vocabulary import (
    CERTAINTIES,
    COMMON_LANGUAGE,
    MAX_AREAS,
    MAX_WEB,
    SEVERITIES,
    STATUSES,
    URGENCIES,
    is_web_address,
)

# the version's fields as people read them (in messages; the pages' labels read the same msgids)
FIELD_LABELS = {"status": _("mode"), "hazard": _("hazard"), "urgency": _("urgency"), "severity": _("severity"),
                "certainty": _("certainty"), "onset": _("onset"), "expires": _("expiry"), "web": _("web page"),
                "areas": _("areas"), "participants": _("centres")}
EDITABLE = ("status", "hazard", "urgency", "severity", "certainty", "onset", "expires", "web", "areas", "texts")
CHOICES = {"status": STATUSES, "urgency": URGENCIES, "severity": SEVERITIES, "certainty": CERTAINTIES}


# ---- reading -------------------------------------------------------------------------------------

def get_alert(session: Session, actor: User, alert_id: int, action: str = "read", *, lock: bool = False) -> Alert:
    """The alert, if `actor` may do `action` on it. Every verb that changes an alert passes lock=True: the
    alert's row is then held until the transaction ends, so two verbs on one alert (an approval and an edit,
    a schedule and an edit, two last approvals) queue, and the second sees what the first committed."""
    alert = session.get(Alert, alert_id, options=[joinedload(Alert.centre_rows)],  # one statement, not two
                        with_for_update={"of": Alert} if lock else None, populate_existing=lock)
    if alert is None:
        raise NotFound(_("Alert %(id)s not found.", id=alert_id))
    access.require(actor, action, alert)
    return alert


def list_alerts(
    session: Session, actor: User, *, state: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Alert], int]:
    query = select(Alert).join(AlertCentre).where(AlertCentre.centre_id == actor.centre_id)
    if not actor.roles & access.STAFF:
        query = query.where(Alert.state.in_(workflow.SHARED_STATES))
    if state:
        query = query.where(Alert.state == state)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    alerts = session.scalars(query.order_by(Alert.updated_at.desc(), Alert.id.desc()).limit(limit).offset(offset))
    return list(alerts), total or 0


def get_version(session: Session, alert: Alert, number: int | None = None) -> Version:
    number = alert.current_version if number is None else number
    version = session.scalar(select(Version).where(Version.alert_id == alert.id, Version.number == number))
    if version is None:
        raise NotFound(_("Alert %(id)s has no version %(number)s.", id=alert.id, number=number))
    return version


def list_versions(session: Session, alert: Alert) -> list[Version]:
    return list(session.scalars(select(Version).where(Version.alert_id == alert.id).order_by(Version.number)))


def diff_versions(session: Session, alert: Alert, old: int, new: int) -> list[dict[str, Any]]:
    return diff(canonical_content(get_version(session, alert, old)),
                canonical_content(get_version(session, alert, new)))


def list_comments(session: Session, alert: Alert) -> list[Comment]:
    return list(session.scalars(select(Comment).where(Comment.alert_id == alert.id).order_by(Comment.id)))


def required_languages(centres: list[Centre]) -> list[str]:
    languages: list[str] = []
    for centre in centres:
        languages += [lang for lang in centre.languages if lang not in languages]
    return languages + ([COMMON_LANGUAGE] if COMMON_LANGUAGE not in languages else [])


SYSTEM_SUMMARIES = {"created": _("created"), "communication test": _("communication test")}


def summary_message(summary: str) -> Msg | str:
    """A version's summary as people read it: what the system wrote (created, invited a centre, an Update or
    Cancel of an alert) as a message, whatever a person wrote as it is."""
    if summary in SYSTEM_SUMMARIES:
        return SYSTEM_SUMMARIES[summary]
    kind, _space, rest = summary.partition(" ")
    if kind == "invited" and rest and " " not in rest:
        return _("invited %(centre)s", centre=rest)
    if kind in ("update", "cancel") and rest.startswith("of ") and " " not in rest[3:]:
        return (_("Update of %(identifier)s", identifier=rest[3:]) if kind == "update"
                else _("Cancel of %(identifier)s", identifier=rest[3:]))
    return summary


# ---- building versions ---------------------------------------------------------------------------

def _centres(session: Session, codes: list[str], joining: list[str] = ()) -> list[Centre]:
    """The centres of `codes`, in order; those `joining` the alert must be active in the network (one that
    became inactive stays in the alerts it took part in)."""
    found = {c.code: c for c in session.scalars(select(Centre).where(Centre.code.in_(codes)))}
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise InvalidInput(_("Unknown centre: %(centres)s.", centres=", ".join(unknown)), field="participants")
    inactive = [code for code in joining if not found[code].active]
    if inactive:
        raise InvalidInput(_("Not active in the network: %(centres)s.", centres=", ".join(inactive)),
                           field="participants")
    return [found[code] for code in codes]


SCALARS = ("status", "hazard", "urgency", "severity", "certainty", "onset", "expires", "web")


def scalar_values(version: Version) -> dict[str, Any]:
    """The version's fields other than areas, texts and participants, as edits change them."""
    return {name: getattr(version, name) for name in SCALARS}


def _check_scalars(values: dict[str, Any]) -> None:
    for field, allowed in CHOICES.items():
        if field in values and values[field] not in allowed:
            raise InvalidInput(_("The %(field)s must be one of %(allowed)s.", field=FIELD_LABELS.get(field, field),
                                 allowed=", ".join(allowed)), field=field)
    if "hazard" in values and values["hazard"] not in HAZARDS:
        raise InvalidInput(_("Unknown hazard '%(hazard)s'.", hazard=values["hazard"]), field="hazard")
    for field in ("onset", "expires"):
        value = values.get(field)
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            raise InvalidInput(_("The %(field)s must be a date and time with a time zone.",
                                 field=FIELD_LABELS[field]), field=field)
    web = values.get("web") or ""
    if len(web) > MAX_WEB:
        raise InvalidInput(_("The web page address must be at most %(max)d characters.", max=MAX_WEB), field="web")
    if web and not is_web_address(web):
        raise InvalidInput(_("The web page address must start with https:// or http:// and name a site, such as "
                             "https://crisiscenter.be."), field="web")


EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def _check_times(onset: datetime | None, expires: datetime | None, changed: bool) -> None:
    for field, value in (("onset", onset), ("expires", expires)):
        if value is not None and not EARLIEST <= value < LATEST:  # also keeps time zone shifts off year 1 and 9999
            raise InvalidInput(_("The %(field)s must lie between the years 2000 and 2099.", field=FIELD_LABELS[field]),
                               field=field)
    if onset and expires and expires <= onset:
        raise InvalidInput(_("The expiry (expires) must be after onset."), field="expires")
    if changed and expires and expires <= utcnow():
        raise InvalidInput(_("The expiry (expires) is in the past."), field="expires")


def _distinct(areas: list[Area]) -> list[Area]:
    """New or changed areas have distinct descriptions: a reader must tell them apart, and the edit page keys areas
    by description (a version stored before this rule is left as it is until its areas change)."""
    first: dict[str, int] = {}
    for area in areas:
        key = " ".join(area.description.casefold().split())
        if key in first:
            raise InvalidInput(_("Areas %(first)d and %(number)d are both described as “%(description)s”: describe "
                                 "each so that a reader tells them apart.", first=first[key] + 1,
                                 number=area.position + 1, description=area.description), field="areas")
        first[key] = area.position
    return areas


def _build_areas(raw: list[dict[str, Any]]) -> list[Area]:
    if len(raw) > MAX_AREAS:
        raise InvalidInput(_("An alert names at most %(max)d areas, not %(count)d: group places into larger areas.",
                             max=MAX_AREAS, count=len(raw)), field="areas")
    areas = []
    for position, item in enumerate(raw):
        description = (item.get("description") or "").strip()
        if not description or len(description) > 200:
            raise InvalidInput(_("Area %(number)d needs a description of 1 to 200 characters.", number=position + 1),
                               field="areas")
        for ring in item.get("polygons") or []:
            try:
                parse_polygon(ring)
            except ValueError as problem:
                reason = problem.args[0] if problem.args else str(problem)  # a Msg when vocabulary says one
                raise InvalidInput(_("Area %(number)d: %(problem)s.", number=position + 1, problem=reason),
                                   field="areas") from None
        circles = [" ".join(str(text).split()) for text in item.get("circles") or []]
        for circle in circles:
            try:
                parse_circle(circle)
            except ValueError as problem:
                raise InvalidInput(_("Area %(number)d: %(problem)s.", number=position + 1, problem=problem.args[0]),
                                   field="areas") from None
        if item.get("place") and item["place"] not in PLACES:
            raise InvalidInput(_("Area %(number)d: unknown gazetteer place '%(place)s'.", number=position + 1,
                                 place=item["place"]), field="areas")
        geocodes = [{"name": g["name"], "value": g["value"]} for g in item.get("geocodes") or []]
        areas.append(Area(position=position, description=description, place=item.get("place"),
                          polygons=list(item.get("polygons") or []), circles=circles, geocodes=geocodes))
    return areas


def released_headlines(session: Session, alert: Alert) -> dict[str, str]:
    """The headlines, per language, of the version of `alert` that was released."""
    number = session.scalar(select(Release.version_number).where(Release.alert_id == alert.id))
    version = get_version(session, alert, number)
    return {t.language: t.body for t in version.texts if t.field == "headline"}


def _texts(session: Session, alert: Alert | None, lead: Centre, values: dict[str, Any], areas: list[Area],
           base: dict, changes: dict, languages: list[str]) -> list[VersionText]:
    params = TemplateInput(
        hazard=values["hazard"], places=tuple(a.place for a in areas if a.place), onset=values.get("onset"),
        expires=values.get("expires"), web=values.get("web") or "", timezone=lead.timezone,
        country=lead.code.split("-")[0],
    )
    if alert is not None and alert.msg_type == "Cancel" and alert.source_alert_id:
        # a Cancel's phrasebook texts lift the warning: never re-render them as the hazard's warning
        return merge_texts(base, changes, languages, cancel_texts(params, languages))
    return merge_texts(base, changes, languages, template_texts(params, languages))


# ---- verbs ---------------------------------------------------------------------------------------

def create_alert(session: Session, actor: User, data: dict[str, Any]) -> Alert:
    access.require_role(actor, "communicator")
    lead_code = data.get("lead") or actor.centre.code
    if lead_code != actor.centre.code:
        raise InvalidInput(_("You can only create alerts led by your own centre."), field="lead")
    codes = [lead_code] + [c for c in dict.fromkeys(data.get("participants") or []) if c != lead_code]
    centres = _centres(session, codes, joining=codes)
    hazard = HAZARDS.get(data.get("hazard", ""))
    if hazard is None:
        raise InvalidInput(_("Unknown hazard '%(hazard)s'.", hazard=data.get("hazard")), field="hazard")
    values = {
        "status": data.get("status", "Actual"),
        "hazard": hazard.code,
        "urgency": data.get("urgency") or hazard.urgency,
        "severity": data.get("severity") or hazard.severity,
        "certainty": data.get("certainty") or hazard.certainty,
        "onset": data.get("onset"),
        "expires": data.get("expires"),
        "web": data.get("web", ""),
    }
    _check_scalars(values)
    _check_times(values["onset"], values["expires"], changed=True)
    areas = _distinct(_build_areas(data.get("areas") or []))
    texts = _texts(session, None, centres[0], values, areas, {}, data.get("texts") or {},
                   required_languages(centres))
    alert, version = new_alert(session, actor, centres, values, texts, areas, summary=data.get("summary") or "created")
    audit.record(session, actor, "alert.create", "alert", alert.id, content_hash=version.content_hash,
                 detail={"version": 1, "participants": codes, "hazard": hazard.code})
    return alert


def _stale(session: Session, alert: Alert, expected: int, attempted: dict[str, Any]) -> StaleVersion:
    current = get_version(session, alert, alert.current_version)
    current_content = canonical_content(current)
    changed_since = []
    if 1 <= expected < alert.current_version:
        changed_since = diff(canonical_content(get_version(session, alert, expected)), current_content)
    touched = {f"texts.{lang}.{field}" for lang, fields in (attempted.get("texts") or {}).items()
               if isinstance(fields, dict) for field in fields}
    touched |= set(attempted) - {"texts"}
    conflicts = [c for c in changed_since if c["field"].removesuffix(".status") in touched]
    saved_at = current.created_at.strftime("%H:%M:%S")
    return StaleVersion(
        _("Version %(expected)s is not the current version: version %(current)s was saved by %(author)s at "
          "%(time)s UTC. Nothing was saved; review their changes and apply yours again.", expected=expected,
          current=alert.current_version, author=current.author.display_name, time=saved_at),
        current_version=alert.current_version,
        changes_since_yours=changed_since,
        conflicting_fields=sorted({c["field"] for c in conflicts}),
    )


def _commit_version(session: Session, actor: User, alert: Alert, expected: int, version: Version,
                    action: str, detail: dict[str, Any], attempted: dict[str, Any]) -> Version:
    new_state, now = workflow.check(alert, "edit", actor).to, utcnow()
    claimed = session.execute(
        update(Alert)
        .where(Alert.id == alert.id, Alert.current_version == expected)
        .values(current_version=expected + 1, state=new_state, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:  # another edit won the race between our read and this write
        session.refresh(alert)
        raise _stale(session, alert, expected, attempted)
    for name, value in (("current_version", expected + 1), ("state", new_state), ("updated_at", now)):
        set_committed_value(alert, name, value)
    session.add(version)
    session.flush()
    audit.record(session, actor, action, "alert", alert.id, content_hash=version.content_hash,
                 detail={"version": version.number, "based_on": expected, **detail})
    return version


def _check_expected(session: Session, alert: Alert, expected: int | None, attempted: dict[str, Any]) -> int:
    if expected is None:
        raise InvalidInput(_("Name the version your change starts from (If-Match or base_version)."),
                           field="base_version")
    if expected != alert.current_version:
        raise _stale(session, alert, expected, attempted)
    return expected


def edit_alert(session: Session, actor: User, alert_id: int, expected: int | None, changes: dict[str, Any],
               summary: str = "") -> Version:
    """Apply `changes` on top of version `expected`; refuse with a diff when someone saved first."""
    alert = get_alert(session, actor, alert_id, "edit", lock=True)
    workflow.check(alert, "edit", actor)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidInput(_("These fields cannot be edited: %(fields)s.", fields=", ".join(unknown)))
    expected = _check_expected(session, alert, expected, changes)
    base = get_version(session, alert, expected)
    if alert.source_alert_id is not None and changes.get("status", base.status) != base.status:
        message = (_("A Cancel keeps the status of the message it refers to (%(status)s): an exercise is cancelled "
                     "by an exercise, a live warning by a live message.", status=base.status)
                   if alert.msg_type == "Cancel" else
                   _("An Update keeps the status of the message it refers to (%(status)s): an exercise is updated by "
                     "an exercise, a live warning by a live message.", status=base.status))
        raise InvalidInput(message, field="status")
    values = scalar_values(base)
    values.update({k: v for k, v in changes.items() if k not in ("areas", "texts")})
    _check_scalars(values)
    _check_times(values["onset"], values["expires"],
                 changed="expires" in changes and changes["expires"] != base.expires)
    areas = (_distinct(_build_areas(changes["areas"])) if "areas" in changes
             else _build_areas(canonical_content(base)["areas"]))
    centres = _centres(session, list(base.participants))
    base_texts = {(t.language, t.field): (t.body, t.status) for t in base.texts}
    texts = _texts(session, alert, centres[0], values, areas, base_texts, changes.get("texts") or {},
                   required_languages(centres))
    version = build_version(alert, expected + 1, actor, values, texts, areas, list(base.participants),
                           expected, summary)
    if version.content_hash == base.content_hash:
        return base  # nothing changed: no new version, approvals stand
    changed = sorted({c["field"] for c in diff(canonical_content(base), canonical_content(version))})
    return _commit_version(session, actor, alert, expected, version, "alert.edit", {"fields": changed}, changes)


def invite_centre(session: Session, actor: User, alert_id: int, expected: int | None, centre_code: str) -> Version:
    """Add a centre to the alert; its languages become required (missing until written)."""
    alert = get_alert(session, actor, alert_id, "invite", lock=True)
    workflow.check(alert, "edit", actor)
    expected = _check_expected(session, alert, expected, {"participants": centre_code})
    base = get_version(session, alert, expected)
    if centre_code in base.participants:
        raise InvalidInput(_("%(centre)s already takes part in this alert.", centre=centre_code), field="centre")
    codes = list(base.participants) + [centre_code]
    centres = _centres(session, codes, joining=[centre_code])
    values = scalar_values(base)
    base_texts = {(t.language, t.field): (t.body, t.status) for t in base.texts}
    areas = _build_areas(canonical_content(base)["areas"])
    texts = _texts(session, alert, centres[0], values, areas, base_texts, {}, required_languages(centres))
    version = build_version(alert, expected + 1, actor, values, texts, areas, codes, expected,
                           f"invited {centre_code}")
    version = _commit_version(session, actor, alert, expected, version, "alert.invite", {"centre": centre_code},
                              {"participants": codes})
    sync_centres(alert, centres)
    return version


def add_comment(session: Session, actor: User, alert_id: int, body: str, field: str | None = None) -> Comment:
    alert = get_alert(session, actor, alert_id, "comment")
    body = (body or "").strip()
    if not body or len(body) > 4000:
        raise InvalidInput(_("A comment needs 1 to 4,000 characters."), field="body")
    if field:
        known = {path for path in flatten(canonical_content(get_version(session, alert))) if
                 not path.endswith(".status")}
        if field not in known:
            raise InvalidInput(_("'%(field)s' is not a field of this alert.", field=field), field="field")
    comment = Comment(alert_id=alert.id, version_number=alert.current_version, field=field or None,
                      author_id=actor.id, body=body)
    session.add(comment)
    session.flush()
    audit.record(session, actor, "comment.add", "alert", alert.id,
                 detail={"comment": comment.id, "field": field, "version": alert.current_version})
    return comment
