"""Inbound provider callbacks: delivery reports that update the ledger rows they belong to."""
from __future__ import annotations

from flask import Blueprint, request

from alerts.dispatch import apply_status_callback
from channels.sms import parse_status_callback, verify_status_callback
from web import problem, services

bp = Blueprint("hooks", __name__, url_prefix="/hooks")


@bp.post("/twilio/status")
def twilio_status():
    """Twilio's status callback; only requests signed with our auth token are believed."""
    token = services().channels_config.get("sms", {}).get("auth_token")
    if not token:
        return problem(404, "Not Found", "SMS is not configured on this server.")
    params = request.form.to_dict()
    url = services().settings.public_url.rstrip("/") + request.path if services().settings.public_url else request.url
    if not verify_status_callback(token, url, params, request.headers.get("X-Twilio-Signature", "")):
        return problem(403, "Forbidden", "The X-Twilio-Signature does not match this request.")
    try:
        sid, status = parse_status_callback(params)
    except ValueError as error:
        return problem(400, "Bad Request", str(error))
    apply_status_callback(services().db, sid, status)
    return "", 204
