"""Every inbound provider callback, each believed only when the provider signed it: Twilio's delivery reports
(appended to an inbox the worker applies to the ledger in batches) and incoming SMS (STOP opt-outs)."""
from __future__ import annotations

from flask import Blueprint, Response, request

from alerts import subscribers
from alerts.i18n import _
from alerts.outcomes import record_status_report
from channels.sms import is_opt_out, parse_status_callback, verify_status_callback
from web import operation, problem, services

bp = Blueprint("hooks", __name__, url_prefix="/hooks")
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


def signed_twilio_params() -> tuple[dict | None, Response | None]:
    """The form of a request Twilio signed with our auth token, or the problem to answer instead."""
    token = services().channels_config.get("sms", {}).get("auth_token")
    if not token:
        return None, problem(404, _("Not found"), _("SMS is not configured on this server."))
    params = request.form.to_dict()
    public = services().settings.public_url
    url = public.rstrip("/") + request.path if public else request.url
    if not verify_status_callback(token, url, params, request.headers.get("X-Twilio-Signature", "")):
        return None, problem(403, _("Forbidden"), _("The X-Twilio-Signature does not match this request."))
    return params, None


@bp.post("/twilio/status")
def twilio_status():
    """Twilio's status callback; only requests signed with our auth token are believed. Answered at once: the
    report is only appended to the inbox (one INSERT, no ledger row read or locked), two per message at up to
    thousands a minute during a release must not take the web workers from the people at their screens; the worker
    applies the inbox every second (alerts.outcomes.apply_held_reports)."""
    params, refusal = signed_twilio_params()
    if refusal:
        return refusal
    try:
        sid, status = parse_status_callback(params)
    except ValueError as error:
        return problem(400, _("Bad request"), str(error))
    record_status_report(services().db, sid, status)
    return "", 204


@bp.post("/twilio/inbound")
def twilio_inbound():
    """Twilio's incoming-SMS webhook: an opt-out keyword from a number stops every subscription of it."""
    params, refusal = signed_twilio_params()
    if refusal:
        return refusal
    if is_opt_out(params.get("Body", "")):
        with operation() as session:
            subscribers.opt_out(session, params.get("From", ""))
    return Response(EMPTY_TWIML, mimetype="text/xml")
