"""Operations endpoints: liveness, readiness and Prometheus metrics."""
from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from alerts.metrics import registry_for
from web import log, services

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    try:
        with services().db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        log.warning("database not reachable", extra={"error": type(error).__name__})
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


LOOPBACK = {"127.0.0.1", "::1"}
PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def metrics_allowed() -> tuple[bool, str]:
    """GET /metrics: with the configured bearer token (BENELERT_METRICS_TOKEN) from anywhere, or without a
    token from this machine directly, i.e. from 127.0.0.1/::1 with no proxy header (a request relayed by the
    local reverse proxy carries X-Forwarded-For, so it needs the token). A wrong token is refused everywhere."""
    token = services().settings.metrics_token
    given = request.headers.get("Authorization", "")
    if given:
        ok = bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
        return ok, "" if ok else "wrong metrics token"
    if request.remote_addr in LOOPBACK and not any(name in request.headers for name in PROXY_HEADERS):
        return True, ""
    return False, "metrics are served to 127.0.0.1, or with 'Authorization: Bearer <BENELERT_METRICS_TOKEN>'"


@bp.get("/metrics")
def metrics():
    allowed, reason = metrics_allowed()
    if not allowed:
        return Response(reason + "\n", status=401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    registry = current_app.extensions.get("benelert_metrics")
    if registry is None:
        registry = current_app.extensions["benelert_metrics"] = registry_for(services().db)
    try:
        body = generate_latest(registry)
    except OperationalError as error:  # unreachable, or too slow (statement timeout): Prometheus records `up 0`
        log.warning("metrics: database not reachable", extra={"error": type(error).__name__})
        return Response("database unreachable\n", status=503, mimetype="text/plain")
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})
