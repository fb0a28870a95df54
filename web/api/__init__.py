"""The JSON API under /api/v1: one module per resource, each with its blueprint; `register` adds them all
to one flask-smorest Api and its OpenAPI document. Bearer tokens only."""
from __future__ import annotations

from http import HTTPStatus

from apispec import BasePlugin
from flask_smorest import Api

from web import PROBLEM
from web.api import (
    accounts,
    acks,
    alerts,
    audit,
    centres,
    communication_tests,
    contact_points,
    jurisdictions,
    partner_endpoints,
    releases,
    review,
    subscribers,
    users,
)
from web.api.schemas import ProblemSchema

RESOURCES = (accounts, centres, alerts, review, releases, communication_tests, acks, subscribers, contact_points,
             users, partner_endpoints, audit, jurisdictions)
BEARER = [{"bearer": []}]


class ErrorResponses(BasePlugin):
    """The bearer security of every operation (documented here once), and the errors every operation can answer,
    so that each one lists its own status codes (there is no catch-all "default"): 401 without a valid token, 400
    and 413 for an unreadable or too large JSON body."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            operation.setdefault("security", BEARER)  # every operation takes a personal API token
            responses = operation.setdefault("responses", {})
            if operation.get("security"):
                responses.setdefault("401", HTTPStatus(401).name)
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                responses.setdefault("400", HTTPStatus(400).name)
                responses.setdefault("413", HTTPStatus(413).name)


class BenelertApi(Api):
    """flask-smorest's Api, leaving error handling to web/__init__.py (problem+json for every error)."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        pass

    def _register_responses(self):
        """The error responses named by status (UNPROCESSABLE_ENTITY, ...) are problem+json, as web/ sends them."""
        for status in HTTPStatus:
            if status >= 400:
                self.spec.components.response(status.name, {
                    "description": status.phrase, "content": {PROBLEM: {"schema": ProblemSchema}}}, lazy=True)


def register(app) -> list:
    """Every API resource on one Api and one OpenAPI document; returns their blueprints."""
    app.config.update(
        API_TITLE="Benelert", API_VERSION="v1", OPENAPI_VERSION="3.0.3", OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    api = BenelertApi(app, spec_kwargs={"info": {"description": "Multilingual public-warning coordination."},
                                        "extra_plugins": [ErrorResponses()]})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                                    "description": "Personal API token (bnl_...)"})
    for resource in RESOURCES:
        api.register_blueprint(resource.bp)
    return [resource.bp for resource in RESOURCES]
