"""What every page module needs: the user's time zone, version numbers from forms, loading a page's alert and
its renderings, and a domain refusal turned into a message."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, abort, flash, g, redirect, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts import authoring, sendable
from alerts.content import canonical_content
from alerts.errors import DomainError
from alerts.models import Alert, Release
from alerts.rendering import render_version
from channels.specs import TextLimits
from web import MAX_ID, for_page, operation, services
from web.i18n import field_label


def user_timezone() -> ZoneInfo:
    return ZoneInfo(g.user.centre.timezone)


def local_input(value: datetime | None) -> str:
    return value.astimezone(user_timezone()).strftime("%Y-%m-%dT%H:%M") if value else ""


def parse_local(raw: str, field: str) -> datetime | None:
    """A local date and time from a form field (onset, expires, or "at": the release moment)."""
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=user_timezone())
    except ValueError:
        label = _("release time") if field == "at" else field_label(field)
        raise DomainError(_("The %(field)s is not a valid date and time.", field=label)) from None


def version_number(raw: str | None) -> int | None:
    """A version number from a form or query: None unless a whole number a version can have."""
    try:
        number = int(raw or "")
    except ValueError:
        return None
    return number if 0 <= number <= MAX_ID else None


def base_version() -> int | None:
    return version_number(request.form.get("base_version"))


def show_refusal(error: DomainError) -> None:
    """A refused operation (already rolled back by operation()) as a message on the next page; 404 as such."""
    if error.status == 404:
        abort(404)
    flash(for_page(error.detail), "error")



def release_of(dbs, alert: Alert) -> Release | None:
    return dbs.scalar(select(Release).where(Release.alert_id == alert.id))


def preview_context(alert, content: dict) -> dict:
    """What the preview shows of unsaved or saved content: each language on each channel with its counters and the
    encoding coach, each country's cell-broadcast messages, and what a release would refuse (the check submission
    makes, sendable.text_problems) — computed again at every keystroke the edit page sends."""
    limits = TextLimits.from_settings(services().settings)
    return {"preview": renderings_by_language(content),
            "broadcasts": sendable.cell_broadcast_preview(alert, content, limits),
            "refusals": sendable.text_problems(alert, content, None, limits)}


def renderings_by_language(content: dict) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for rendering in render_version(content, TextLimits.from_settings(services().settings)):
        grouped.setdefault(rendering.language, []).append(rendering)
    return grouped


def current_alert(dbs, alert_id: int):
    """The alert (when the user may read it), its current version and that version's content."""
    alert = authoring.get_alert(dbs, g.user, alert_id, "read")
    version = authoring.get_version(dbs, alert)
    return alert, version, canonical_content(version)


def perform(verb: Callable[[Session], Any], done: str | Callable[[Any], str], then: str) -> Response:
    """A form's one operation: `verb(session)` inside operation(); the message `done` (or `done(result)`) when it
    went through, the refusal when it did not; then a redirect to `then`."""
    try:
        with operation() as session:
            result = verb(session)
    except DomainError as error:
        show_refusal(error)
    else:
        flash(done(result) if callable(done) else done, "ok")
    return redirect(then)
