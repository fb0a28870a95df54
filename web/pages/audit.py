"""The audit trail as a page, for administrators: filters, the events newest first with "older" paging, the same
selection as CSV, and for network administrators, when they ask, whether the chain is intact (alerts.audit_browse
holds the rule)."""
from __future__ import annotations

from datetime import datetime

from flask import g, render_template, request
from flask_babel import gettext as _

from alerts import audit, audit_browse, centres
from alerts.access import NETWORK_RULES
from alerts.errors import InvalidInput
from web import db_session, for_page, services
from web.api.audit import csv_download
from web.auth import login_required
from web.pages import bp
from web.pages.common import user_timezone

FILTERS = ("actor", "action", "object_type", "alert_id", "centre", "since", "until")
MOMENTS = {"since": audit_browse.START, "until": audit_browse.END}


def _field_labels() -> dict[str, str]:
    return {"actor": _("Who (username)"), "action": _("Action"), "object_type": _("Object type"),
            "alert_id": _("Alert number"), "centre": _("Centre"), "since": _("From"), "until": _("Until"),
            "before_seq": _("Older events")}


def _given() -> dict[str, str]:
    """The filters the form sent, blanks left out (an empty field is no filter on a page)."""
    given = {key: value.strip() for key in (*FILTERS, "before_seq") if (value := request.args.get(key, "").strip())}
    if "centre" in given:
        given["centre"] = given["centre"].upper()
    return given


def _moment(raw: str, field: str) -> str:
    """A date and time from the form, in the viewer's time zone unless it names its own; as RFC 3339."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(_("The %(field)s is not a valid date and time.", field=for_page(MOMENTS[field])),
                           field=field) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=user_timezone())).isoformat()


def _query(given: dict[str, str], paged: bool) -> audit_browse.AuditFilter:
    values = {key: _moment(value, key) if key in MOMENTS else value for key, value in given.items()}
    return audit_browse.parse_filter(values, paged=paged)


def _refusal(error: InvalidInput) -> str:
    label = _field_labels().get(error.extra.get("field"))
    message = for_page(error.detail)
    return _("%(label)s: %(value)s", label=label, value=message) if label else message


@bp.get("/network/audit")
@login_required
def audit_page():
    dbs = db_session()
    audit_browse.readable_centre(g.user)  # refused before anything is read
    network_admin = bool(g.user.roles & NETWORK_RULES["manage-any-centre"])
    given = _given()
    page, problem = None, None
    try:
        page = audit_browse.browse(dbs, g.user, _query(given, paged=True))
    except InvalidInput as error:
        problem = _refusal(error)
    filters = {key: value for key, value in given.items() if key != "before_seq"}
    return render_template(
        "pages/audit.html", page=page, problem=problem, filters=filters, labels=_field_labels(),
        object_types={code: for_page(label) for code, label in audit_browse.OBJECT_TYPES.items()},
        centres=[centre.code for centre in centres.listing(dbs)] if network_admin else [],
        network_admin=network_admin, verdict=_verdict() if network_admin and request.args.get("verify") else None,
        summary=audit_browse.detail_summary,
    ), 422 if problem else 200


def _verdict() -> audit.Verdict:
    """The whole chain walked and every hash computed again (about a minute for a million events: asked for, not
    done at every view), in a snapshot: events appended meanwhile are not taken for a broken end."""
    with services().db.snapshot() as session:
        return audit.verify(session)


@bp.get("/network/audit.csv")
@login_required
def audit_export():
    try:
        read = audit_browse.export(db_session(), g.user, _query(_given(), paged=False))
    except InvalidInput as error:
        return render_template("pages/error.html", title=_("Invalid input"), detail=_refusal(error)), 422
    return csv_download(read)
