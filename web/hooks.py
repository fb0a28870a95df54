"""Inbound provider callbacks: delivery reports that update the ledger rows they belong to."""
from __future__ import annotations

from flask import Blueprint, Response, request

from alerts.dispatch import apply_status_callback
from channels.sms import parse_status_callback, verify_status_callback
from web import problem, services

bp = Blueprint("hooks", __name__, url_prefix="/hooks")


def signed_twilio_params() -> tuple[dict | None, Response | None]:
    """The form of a request Twilio signed with our auth token, or the problem to answer instead."""
    token = services().channels_config.get("sms", {}).get("auth_token")
    if not token:
        return None, problem(404, "Not Found", "SMS is not configured on this server.")
    params = request.form.to_dict()
    public = services().settings.public_url
    url = public.rstrip("/") + request.path if public else request.url
    if not verify_status_callback(token, url, params, request.headers.get("X-Twilio-Signature", "")):
        return None, problem(403, "Forbidden", "The X-Twilio-Signature does not match this request.")
    return params, None


@bp.post("/twilio/status")
def twilio_status():
    """Twilio's status callback; only requests signed with our auth token are believed."""
    params, refusal = signed_twilio_params()
    if refusal:
        return refusal
    try:
        sid, status = parse_status_callback(params)
    except ValueError as error:
        return problem(400, "Bad Request", str(error))
    apply_status_callback(services().db, sid, status)  # held for the worker if it overtook our commit
    return "", 204
