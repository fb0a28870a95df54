"""Partner centres' pages: the warnings shared with their centre and their acknowledgements."""
from __future__ import annotations

from flask import g, render_template, request, url_for
from flask_babel import gettext as _

from alerts import authoring, exchange
from alerts.content import canonical_content
from alerts.models import Alert
from alerts.sendable import sent_languages
from web import db_session
from web.auth import login_required
from web.pages import bp
from web.pages.common import perform


@bp.get("/incoming")
@login_required
def incoming():
    dbs = db_session()
    rows = exchange.incoming_for(dbs, g.user.centre)
    acked = {(ack["centre"], ack["kind"], alert.id) for alert, _planned in rows
             for ack in _ack_report(dbs, alert)["acks"]}
    return render_template("pages/incoming.html", rows=rows, acked=acked)


@bp.get("/incoming/<identifier>")
@login_required
def incoming_detail(identifier):
    dbs = db_session()
    alert, planned = exchange.shared_alert(dbs, g.user, identifier)
    version = authoring.get_version(dbs, alert, planned.version_number)
    content = canonical_content(version)
    # what the partners were sent: the required languages, never a draft text in another one
    texts = {language: content["texts"][language] for language in sent_languages(alert, content)}
    return render_template("pages/incoming_alert.html", alert=alert, planned=planned, version=version,
                           content=content, texts=texts, report=_ack_report(dbs, alert))


def _ack_report(dbs, alert: Alert) -> dict:
    """The acks a page shows: all of them to a centre taking part, a receiving centre's own otherwise."""
    takes_part = any(row.centre_id == g.user.centre_id for row in alert.centre_rows)
    return exchange.ack_report(dbs, alert, None if takes_part else g.user.centre.code)


@bp.post("/incoming/<identifier>/ack")
@login_required
def acknowledge(identifier):
    kind, centre = request.form.get("kind", "received"), g.user.centre.code
    return perform(lambda session: exchange.acknowledge(session, g.user, identifier, kind, via="page"),
                   lambda results: _("Acknowledged for %(centre)s.", centre=centre)
                   if any(result.created for result in results)
                   else _("%(centre)s had already acknowledged this warning.", centre=centre),
                   url_for("pages.incoming_detail", identifier=identifier))
