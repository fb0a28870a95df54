"""Operations endpoints: liveness and readiness."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

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
