"""Submission and approval: languages complete and consistent, then every centre's spokesperson
approves exactly the content hash (four-eyes: never the version's author)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from alerts import audit, workflow
from alerts.authoring import get_alert, get_version, required_languages
from alerts.consistency import Problem, check_texts
from alerts.content import canonical_content
from alerts.errors import Conflict, Forbidden, InvalidInput, StaleVersion
from alerts.geo import NotAnArea
from alerts.i18n import _, ngettext
from alerts.jurisdictions import outside_participants
from alerts.models import TEXT_FIELDS, Alert, Approval, User, Version, utcnow
from alerts.rendering import FIELD_NAMES, LANGUAGE_NAMES
from alerts.sendable import text_problems
from channels.specs import TextLimits


class NotReady(InvalidInput, title=_("Not ready for approval")):
    """Submission refused: `extra["problems"]` lists every blocking problem."""


class OutsideNotConfirmed(Conflict, title=_("Confirm the centres the area concerns")):
    """Submission refused: the area covers the territory of centres that do not take part, and the submission did
    not confirm exactly those (`extra["outside_participants"]`, `extra["code"]`)."""

    code = "outside-participants-unconfirmed"


def readiness(alert: Alert, version: Version, limits: TextLimits = TextLimits()) -> list[Problem]:
    """Everything that blocks submission (errors) or deserves a look (warnings). A version is ready only if a
    release could send it on every public channel its centres have configured (sendable.text_problems)."""
    problems: list[Problem] = []
    content = canonical_content(version)
    languages = required_languages([row.centre for row in alert.centre_rows])
    for language in languages:
        named = {"language": LANGUAGE_NAMES.get(language, language)}
        for field in TEXT_FIELDS:
            text = content["texts"].get(language, {}).get(field, {"status": "missing"})
            if text["status"] == "missing":
                message = _("The %(language)s %(field)s is missing.", field=FIELD_NAMES[field], **named)
                problems.append(Problem("error", "missing", message, field, (language,)))
            elif text["status"] == "stale":
                message = _("The %(language)s %(field)s is stale: its source text changed.", field=FIELD_NAMES[field],
                            **named)
                problems.append(Problem("error", "stale", message, field, (language,)))
    if not problems:  # with every text there, what a release would refuse (a missing text would be named twice)
        problems += [Problem("error", "channel", message) for message in text_problems(alert, content, None, limits)]
    if not content["areas"]:
        problems.append(Problem("error", "no-area", _("Name at least one area.")))
    if version.expires is None:
        problems.append(Problem("error", "no-expiry", _("Set when the warning expires.")))
    elif version.expires <= utcnow():
        problems.append(Problem("error", "expired", _("The warning has already expired.")))
    problems += _area_problems(alert, content)
    texts = {lang: {f: t["body"] for f, t in fields.items()} for lang, fields in content["texts"].items()
             if lang in languages}
    problems += check_texts(texts, alert.lead_centre.code.split("-")[0])
    return problems


def _area_problems(alert: Alert, content: dict) -> list[Problem]:
    """A polygon that is not an area blocks; centres whose territory the area covers without taking part are named
    (they may warn on their own, or should be invited: the lead centre decides, knowingly)."""
    try:
        outside = outside_participants(object_session(alert), alert, content)
    except NotAnArea as error:
        return [Problem("error", "bad-polygon", _("An area's polygon is not valid: %(reason)s.",
                                                  reason=error.args[0]), "areas")]
    if not outside:
        return []
    return [Problem("warning", "outside-participants", ngettext(
        "The area covers the territory of %(centres)s, which does not take part: invite it, or make sure it warns "
        "its own people.", "The area covers the territories of %(centres)s, which do not take part: invite them, or "
        "make sure they warn their own people.", len(outside), centres=", ".join(outside)), "areas",
        values={"centres": outside})]


def outside_centres(problems: list[Problem]) -> list[str]:
    """The centres the readiness warning "outside-participants" names (the area covers their territory, they do not
    take part); [] when there is none."""
    return next((list(p.values["centres"]) for p in problems if p.code == "outside-participants"), [])


def _check_confirmed(outside: list[str], confirmed: list[str] | None) -> None:
    """The submitter confirms exactly the centres outside: none, or a set the area no longer matches, is refused."""
    named = sorted({code.strip().upper() for code in confirmed or [] if code.strip()})
    if named == sorted(outside):
        return
    extra = {"code": OutsideNotConfirmed.code, "outside_participants": outside, "confirmed": named}
    if confirmed is None or not named:
        raise OutsideNotConfirmed(ngettext(
            "The area covers the territory of %(centres)s, which does not take part: invite it, or confirm that you "
            "submit without it.", "The area covers the territories of %(centres)s, which do not take part: invite "
            "them, or confirm that you submit without them.", len(outside), centres=", ".join(outside)), **extra)
    if not outside:
        raise OutsideNotConfirmed(_(
            "You confirmed submitting without %(confirmed)s, but the area no longer covers the territory of a centre "
            "that does not take part: check the area and submit again.", confirmed=", ".join(named)), **extra)
    raise OutsideNotConfirmed(_(
        "You confirmed submitting without %(confirmed)s, but the area now covers the territory of %(centres)s "
        "outside the centres taking part: check the area and confirm again.", confirmed=", ".join(named),
        centres=", ".join(outside)), **extra)


def problem_dicts(problems: list[Problem]) -> list[dict]:
    return [{"severity": p.severity, "code": p.code, "message": p.message, "field": p.field,
             "languages": list(p.languages)} for p in problems]


def _current(session: Session, alert: Alert, expected: int | None) -> Version:
    if expected is not None and expected != alert.current_version:
        raise StaleVersion(_("Version %(expected)s is not the current version (%(current)s): review the current "
                             "version first.", expected=expected, current=alert.current_version),
                           current_version=alert.current_version)
    return get_version(session, alert)


def submit_alert(session: Session, actor: User, alert_id: int, expected: int | None,
                 limits: TextLimits = TextLimits(), confirm_outside: list[str] | None = None) -> Alert:
    """Submit the current version for approval. When its area covers the territory of centres that do not take
    part, a submitter of the lead centre confirms exactly those (`confirm_outside`): they are not invited knowingly,
    not overlooked; another centre's submitter cannot decide that for the lead."""
    alert = get_alert(session, actor, alert_id, "edit", lock=True)
    workflow.check(alert, "submit", actor)
    version = _current(session, alert, expected)
    problems = readiness(alert, version, limits)
    blocking = [p for p in problems if p.severity == "error"]
    if blocking:
        raise NotReady(ngettext("%(num)d problem must be solved first: %(first)s",
                                "%(num)d problems must be solved first; the first: %(first)s", len(blocking),
                                first=blocking[0].message), problems=problem_dicts(blocking))
    outside = outside_centres(problems)
    if outside and actor.centre_id != alert.lead_centre_id:
        raise OutsideNotConfirmed(ngettext(
            "The area covers the territory of %(centres)s, which does not take part; only the lead centre %(lead)s "
            "can confirm submitting without it: invite it, or ask %(lead)s to submit.",
            "The area covers the territories of %(centres)s, which do not take part; only the lead centre %(lead)s "
            "can confirm submitting without them: invite them, or ask %(lead)s to submit.", len(outside),
            centres=", ".join(outside), lead=alert.lead_centre.code),
            code=OutsideNotConfirmed.code, outside_participants=outside, confirmed=[], lead=alert.lead_centre.code)
    _check_confirmed(outside, confirm_outside)
    workflow.advance(alert, "submit", actor)
    alert.updated_at = utcnow()
    confirmed = {"outside_participants": outside, "outside_confirmed": True} if outside else {}
    audit.record(session, actor, "alert.submit", "alert", alert.id, content_hash=version.content_hash,
                 detail={"version": version.number, **confirmed})
    return alert


def decisions(session: Session, alert: Alert, version: Version) -> list[Approval]:
    return list(session.scalars(select(Approval).where(Approval.alert_id == alert.id,
                                                       Approval.version_number == version.number)))


def approval_state(session: Session, alert: Alert, version: Version) -> dict[str, str]:
    """Per participating centre: approved | rejected | pending, for the current version only."""
    by_centre = {a.centre.code: a.decision for a in decisions(session, alert, version)
                 if a.content_hash == version.content_hash}
    return {row.centre.code: {"approve": "approved", "reject": "rejected"}.get(by_centre.get(row.centre.code, ""),
                                                                             "pending")
            for row in alert.centre_rows}


def decide(session: Session, actor: User, alert_id: int, expected: int | None, content_hash: str | None,
           decision: str, reason: str = "") -> Alert:
    """Approve or reject for the actor's centre. The caller names the hash it reviewed."""
    if decision not in ("approve", "reject"):
        raise InvalidInput(_("The decision must be approve or reject."), field="decision")
    alert = get_alert(session, actor, alert_id, "read", lock=True)
    workflow.check(alert, decision, actor)
    version = _current(session, alert, expected)
    if content_hash != version.content_hash:
        raise Conflict(_("The content you reviewed is not the current content: reload and review again."),
                       current_hash=version.content_hash)
    if version.author_id == actor.id:
        raise Forbidden(_("Four-eyes rule: you wrote this version, so another spokesperson must approve it."))
    if decision == "reject" and not reason.strip():
        raise InvalidInput(_("Say why you reject it."), field="reason")
    if any(a.centre_id == actor.centre_id for a in decisions(session, alert, version)):
        raise Conflict(_("%(centre)s has already decided on version %(version)s.", centre=actor.centre.code,
                         version=version.number))
    session.add(Approval(alert_id=alert.id, version_number=version.number, content_hash=version.content_hash,
                         centre_id=actor.centre_id, user_id=actor.id, decision=decision, reason=reason.strip()))
    session.flush()
    last = all(state == "approved" for state in approval_state(session, alert, version).values())
    workflow.advance(alert, "approve_all" if decision == "approve" and last else decision, actor)
    alert.updated_at = utcnow()
    audit.record(session, actor, f"alert.{decision}", "alert", alert.id, content_hash=version.content_hash,
                 detail={"version": version.number, "centre": actor.centre.code, "reason": reason.strip()})
    return alert
