"""What every API resource shares: the authenticated base view, the error responses it documents, and
If-Match: the version a change starts from (428 without it; the 412 with a diff is web.api.alerts.stale_response)."""
from __future__ import annotations

import re
from functools import wraps
from http import HTTPStatus

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, missing, validate
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import BadRequest

from alerts.errors import InvalidInput
from alerts.i18n import _, localized
from web import PROBLEM, problem
from web.api.schemas import NO_NUL, ProblemSchema
from web.auth import token_required
from web.i18n import api_translations

ETAG = re.compile(r'^(?:W/)?"v(\d{1,9})"$')
ETAG_HEADER = {"ETag": {"schema": {"type": "string"}, "description": 'The current version, e.g. "v3"'}}
PROBLEMS = {"401": "Missing or invalid token", "403": "Your role may not do this",
            "404": "Not found or not visible to you", "409": "Not possible in the alert's current state",
            "412": "Someone saved first: the current version and a diff", "422": "Invalid input",
            "428": "If-Match missing"}
# acknowledgements and subscriber imports: what partner systems and bulk uploads get wrong
EXCHANGE_PROBLEMS = {"400": "Unreadable CAP message (malformed, too large, DTD or entities, not CAP 1.2)",
                     "401": "Missing or invalid token", "403": "Your role or centre may not do this",
                     "404": "Not found or not released to your centre", "413": "Body too large",
                     "415": "Unsupported content type",
                     "422": "Invalid input; for an import, the per-line error report"}


class ResourceView(MethodView):
    """An API resource: a valid personal API token is required (the `bearer` security of every operation is
    documented once, by web.api.ErrorResponses)."""

    decorators = [token_required]


class JsonParser(FlaskParser):
    """webargs' parser, reading a JSON body as flask does: request.get_json, whose result web.inputs has already
    checked (and cached). Any body it cannot read is a 400 problem+json: werkzeug turns every ValueError of the
    parser into BadRequest, while webargs' own json.loads let through those that are not JSONDecodeError (an integer
    of more than 4,300 digits: a 500). An empty body is missing, as in webargs (the schema says if it is required)."""

    def _raw_load_json(self, req):
        if not is_json_request(req) or not req.get_data(cache=True):
            return missing
        try:
            return req.get_json(cache=True)
        except BadRequest as error:
            self._handle_invalid_json_error(error, req)  # 400, errors ["Invalid JSON body."]


class ResourceBlueprint(Blueprint):
    """A resource's blueprint: JSON read by JsonParser; every operation documents 400, which web.inputs answers
    before any route runs when a parameter or the body holds a NUL character (or a JSON body cannot be read)."""

    ARGUMENTS_PARSER = JsonParser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._document_bad_request)

    @staticmethod
    def _document_bad_request(doc, _doc_info, **_kwargs):
        doc.setdefault("responses", {}).setdefault("400", HTTPStatus.BAD_REQUEST.name)
        return doc

    def register_views_in_doc(self, api, app, spec, *, name, parameters):
        converter = api.ma_plugin.converter  # before the first schema is converted: every string says it
        if not getattr(converter, "benelert_rules", False):
            converter.add_attribute_function(_no_nul)
            converter.add_attribute_function(_enumerated_keys)
            converter.benelert_rules = True
        return super().register_views_in_doc(api, app, spec, name=name, parameters=parameters)



def _no_nul(_converter, field, ret: dict, **_kwargs) -> dict:
    """The spec states what web.inputs enforces: no string holds a NUL character (PostgreSQL cannot store one; the
    request is a 400). A string with its own pattern (an identifier, an ETag) already excludes it."""
    if isinstance(field, fields.String) and ret.get("type") == "string" and not {"pattern", "enum"} & ret.keys():
        return {"pattern": NO_NUL}
    return {}


def _enumerated_keys(_converter, field, ret: dict, **_kwargs) -> dict:
    """A dict whose keys are one of a list (texts: per language, per field) says so: those properties, no other
    (apispec documents only its values; OpenAPI 3.0 has no propertyNames)."""
    if not isinstance(field, fields.Dict) or field.key_field is None:
        return {}
    choices = next((v.choices for v in field.key_field.validators if isinstance(v, validate.OneOf)), None)
    if not choices:
        return {}
    value = ret.get("additionalProperties", {})
    return {"properties": {str(choice): value for choice in choices}, "additionalProperties": False}


def resource_blueprint(name: str, description: str) -> Blueprint:
    return ResourceBlueprint(name, name, url_prefix="/api/v1", description=description)


def for_caller(value):
    """The messages in an answer (readiness problems, what does not fit) in the caller's Accept-Language: nl, fr or
    de when asked for, else English. Codes, fields and everything else stay as they are."""
    return localized(value, api_translations())


def etag(number: int) -> str:
    return f'"v{number}"'


def expected_version() -> int | None:
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    match = ETAG.match(raw.strip())
    if not match:
        raise InvalidInput(_("If-Match must be an ETag of this API such as \"v3\", not %(value)s.", value=repr(raw)))
    return int(match.group(1))


def doc_errors(bp: Blueprint, *codes: str, descriptions: dict[str, str] = PROBLEMS):
    def decorate(view):
        for code in codes:
            view = bp.alt_response(code, schema=ProblemSchema, description=descriptions.get(code, ""),
                                   content_type=PROBLEM)(view)
        return view
    return decorate


def if_match(bp: Blueprint, missing: str):
    """A state change names the version it starts from: the view gets it as `expected`, from If-Match; without
    one the answer is 428 with the message `missing` and the view does not run. A stale version is the verb's
    StaleVersion: 412 (alerts) or 409. Documented on the operation."""
    def decorate(view):
        @wraps(view)
        def checked(*args, **kwargs):
            expected = expected_version()
            if expected is None:
                return problem(428, _("Precondition required"), missing)
            return view(*args, expected=expected, **kwargs)

        checked = bp.doc(parameters=[{"in": "header", "name": "If-Match", "required": True,
                                      "schema": {"type": "string", "pattern": ETAG.pattern},
                                      "description": 'ETag of the version you saw, e.g. "v3"'}])(checked)
        return doc_errors(bp, "412", "428")(checked)
    return decorate
