"""Request and response schemas of the JSON API (marshmallow; flask-smorest turns them into OpenAPI)."""
from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from alerts.errors import InvalidInput
from alerts.hazards import HAZARDS
from alerts.models import ROLES, TEXT_FIELDS
from alerts.vocabulary import (
    CERTAINTIES,
    LANGUAGES,
    MAX_AREAS,
    MAX_WEB,
    SEVERITIES,
    STATUSES,
    URGENCIES,
    WEB_PATTERN,
)

MAX_INT = 2**31 - 1  # PostgreSQL INTEGER: larger query numbers are invalid input, not database errors


class ProblemSchema(Schema):
    """RFC 9457 problem details; extension members (field, state, current, ...) say more about the problem."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(metadata={"description": "URI identifying the problem type"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String(metadata={"description": "What went wrong, for a person"})
    errors = fields.Raw(metadata={"description": "When the input was invalid: per field, its messages; "
                                                 "for a CSV import, a list of {line, error}"})


class GeocodeSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 40))
    value = fields.String(required=True, validate=validate.Length(1, 80))


class AreaSchema(Schema):
    description = fields.String(required=True, validate=validate.Length(1, 200))
    place = fields.String(allow_none=True, validate=validate.Length(1, 64),
                          metadata={"description": "Gazetteer code, when the area was picked from it"})
    polygons = fields.List(fields.String(validate=validate.Length(1, 300_000)), load_default=list,
                           metadata={"description": "CAP polygons: 'lat,lon lat,lon ...' in decimal degrees, closed "
                                                    "(first point = last), at most 10,000 points, not crossing "
                                                    "itself, in Europe"})
    circles = fields.List(fields.String(validate=validate.Length(1, 60)), load_default=list,
                          metadata={"description": "CAP circles: 'lat,lon radius_km' (radius: above 0, to 1000)"})
    geocodes = fields.List(fields.Nested(GeocodeSchema), load_default=list)


NO_NUL = r"^[^\u0000]*$"  # ECMA 262 and Python alike: no NUL character anywhere (web.inputs refuses one: 400)


def _text_value(value) -> None:
    """What the spec below says a text is, enforced (alerts.texts would ignore other keys): refused with the domain's
    own message (alerts.texts._text_update), as the detail of the 422."""
    if isinstance(value, str):
        return
    if (isinstance(value, dict) and set(value) <= {"body", "reviewed"} and isinstance(value.get("body"), str)
            and isinstance(value.get("reviewed", False), bool)):
        return
    raise InvalidInput('A text is a string, or {"body": "...", "reviewed": true} to confirm a translation.',
                       field="texts")


TEXT_VALUE = fields.Raw(validate=_text_value, metadata={
    "description": "The text, or {\"body\": text, \"reviewed\": true} to confirm a stale translation",
    "oneOf": [{"type": "string", "pattern": NO_NUL},
              {"type": "object", "required": ["body"], "additionalProperties": False,
               "properties": {"body": {"type": "string", "pattern": NO_NUL}, "reviewed": {"type": "boolean"}}}],
})
TEXTS = fields.Dict(
    keys=fields.String(validate=validate.OneOf(LANGUAGES)),
    values=fields.Dict(keys=fields.String(validate=validate.OneOf(TEXT_FIELDS)), values=TEXT_VALUE),
    metadata={"description": "Per language, per field (headline, description, instruction)"},
)


class _ContentFields(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    urgency = fields.String(validate=validate.OneOf(URGENCIES))
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    certainty = fields.String(validate=validate.OneOf(CERTAINTIES))
    onset = fields.AwareDateTime(allow_none=True)
    expires = fields.AwareDateTime(allow_none=True)
    web = fields.String(validate=[validate.Length(0, MAX_WEB), validate.Regexp(f"^(?:{WEB_PATTERN[1:-1]})?$")],
                        metadata={"description": "An http(s) web page address, or empty for none"})
    areas = fields.List(fields.Nested(AreaSchema), validate=validate.Length(0, MAX_AREAS))
    texts = TEXTS
    summary = fields.String(validate=validate.Length(0, 200), metadata={"description": "What this change does"})


class AlertCreateSchema(_ContentFields):
    lead = fields.String(metadata={"description": "Lead centre code; defaults to yours"})
    participants = fields.List(fields.String(validate=validate.Length(1, 16)), load_default=list,
                               validate=validate.Length(0, 30))
    hazard = fields.String(required=True, validate=validate.OneOf(tuple(HAZARDS)),
                           metadata={"description": "The phrasebook's hazard, which gives the default texts"})


class AlertEditSchema(_ContentFields):
    hazard = fields.String(validate=validate.OneOf(tuple(HAZARDS)))


class InviteSchema(Schema):
    centre = fields.String(required=True, validate=validate.Length(1, 16))


class CommentInSchema(Schema):
    body = fields.String(required=True, validate=validate.Length(1, 4000))
    field = fields.String(allow_none=True, validate=validate.Length(1, 64),
                          metadata={"description": "A field path such as 'texts.fr.headline' or 'severity'"})


class ListArgsSchema(Schema):
    state = fields.String()
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, MAX_INT))


class DiffArgsSchema(Schema):
    from_ = fields.Integer(required=True, data_key="from", validate=validate.Range(1, MAX_INT))
    to = fields.Integer(required=True, validate=validate.Range(1, MAX_INT))


class TextOutSchema(Schema):
    body = fields.String()
    status = fields.String(validate=validate.OneOf(("template", "human", "missing", "stale")))


class VersionSchema(Schema):
    number = fields.Integer()
    based_on = fields.Integer(allow_none=True)
    author = fields.String()
    created_at = fields.DateTime()
    summary = fields.String()
    content_hash = fields.String()
    status = fields.String()
    msg_type = fields.String()
    hazard = fields.String()
    urgency = fields.String()
    severity = fields.String()
    certainty = fields.String()
    onset = fields.String(allow_none=True)
    expires = fields.String(allow_none=True)
    web = fields.String()
    participants = fields.List(fields.String())
    areas = fields.List(fields.Nested(AreaSchema))
    texts = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(),
                                                                  values=fields.Nested(TextOutSchema)))


class VersionSummarySchema(Schema):
    number = fields.Integer()
    based_on = fields.Integer(allow_none=True)
    author = fields.String()
    created_at = fields.DateTime()
    summary = fields.String()
    content_hash = fields.String()


class DeriveSchema(Schema):
    msg_type = fields.String(required=True, validate=validate.OneOf(("Update", "Cancel")))


class WithdrawSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500),
                           metadata={"description": "Why the release is withdrawn (kept in the audit trail)"})


class AlertSummarySchema(Schema):
    id = fields.Integer()
    source_alert_id = fields.Integer(allow_none=True, metadata={"description": "The alert an Update/Cancel refers to"})
    identifier = fields.String()
    state = fields.String()
    msg_type = fields.String()
    references = fields.List(fields.String())
    lead = fields.String()
    participants = fields.List(fields.String())
    required_languages = fields.List(fields.String())
    current_version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class AlertSchema(AlertSummarySchema):
    version = fields.Nested(VersionSchema)


class AlertListSchema(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(AlertSummarySchema))


class ChangeSchema(Schema):
    field = fields.String()
    from_ = fields.Raw(data_key="from", allow_none=True)
    to = fields.Raw(allow_none=True)


class DiffSchema(Schema):
    from_ = fields.Integer(data_key="from")
    to = fields.Integer()
    changes = fields.List(fields.Nested(ChangeSchema))


class CommentSchema(Schema):
    id = fields.Integer()
    author = fields.String()
    centre = fields.String()
    version = fields.Integer()
    field = fields.String(allow_none=True)
    body = fields.String()
    created_at = fields.DateTime()


class MeSchema(Schema):
    username = fields.String()
    display_name = fields.String()
    centre = fields.String()
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)))


class TokenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class ProblemItemSchema(Schema):
    severity = fields.String(validate=validate.OneOf(("error", "warning")))
    code = fields.String()
    message = fields.String()
    field = fields.String(allow_none=True)
    languages = fields.List(fields.String())


class ReadinessSchema(Schema):
    ready = fields.Boolean()
    problems = fields.List(fields.Nested(ProblemItemSchema))


class SubmitInSchema(Schema):
    confirm_outside = fields.List(
        fields.String(validate=validate.Length(1, 16)), validate=validate.Length(max=100), load_default=None,
        metadata={"description": "The centres whose territory the area covers but which do not take part "
                                 "(the readiness warning outside-participants, GET …/jurisdictions "
                                 "touched_not_taking_part): when there are any, submission is refused (409, code "
                                 "outside-participants-unconfirmed, outside_participants) unless exactly they are "
                                 "confirmed here"})


class DecisionInSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("approve", "reject")))
    content_hash = fields.String(required=True, validate=validate.Length(64, 64),
                                 metadata={"description": "The content hash you reviewed"})
    reason = fields.String(load_default="", validate=validate.Length(0, 2000))


class DecisionSchema(Schema):
    centre = fields.String()
    user = fields.String()
    decision = fields.String()
    reason = fields.String()
    version = fields.Integer()
    content_hash = fields.String()
    created_at = fields.DateTime()


class ApprovalsSchema(Schema):
    version = fields.Integer()
    content_hash = fields.String()
    centres = fields.Dict(keys=fields.String(), values=fields.String(),
                          metadata={"description": "Per centre: approved, rejected or pending"})
    decisions = fields.List(fields.Nested(DecisionSchema))


class FitSchema(Schema):
    channel = fields.String()
    length = fields.Integer()
    limit = fields.Integer()
    encoding = fields.String(allow_none=True)
    parts = fields.Integer()
    max_parts = fields.Integer()
    ok = fields.Boolean()


class RenderingSchema(Schema):
    language = fields.String()
    channel = fields.String()
    text = fields.String()
    ok = fields.Boolean()
    fits = fields.List(fields.Nested(FitSchema))
    problems = fields.List(fields.String())


class PreviewArgsSchema(Schema):
    version = fields.Integer(validate=validate.Range(1, MAX_INT),
                             metadata={"description": "Defaults to the current one"})


class ReleaseInSchema(Schema):
    content_hash = fields.String(required=True, validate=validate.Length(64, 64),
                                 metadata={"description": "The approved content hash you confirm"})
    channels = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                           metadata={"description": "Per centre code: sms, x, mastodon, national, partners"})
    at = fields.AwareDateTime(allow_none=True, metadata={"description": "The moment T; omitted = now"})


class AudienceSchema(Schema):
    country = fields.String(metadata={"description": "ISO 3166-1 alpha-2"})
    subscribers = fields.Integer(metadata={"description": "SMS subscribers inside the area or in a place it covers"})
    population = fields.Integer(metadata={
        "description": "People living in the towns and villages of 1,000 or more inhabitants whose centre lies in the "
                       "area (GeoNames): a floor, not a census"})


class ConfirmationSchema(Schema):
    mode = fields.String()
    headline = fields.String()
    at = fields.DateTime()
    areas = fields.List(fields.String())
    languages = fields.List(fields.String())
    channels = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    recipients = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer()),
                             metadata={"description": "centre -> channel -> how many will receive it: subscribers "
                                                      "live; in an Exercise or Test only sandbox and test targets"})
    not_sent = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.String()),
                           metadata={"description": "centre -> channel chosen that will get nothing -> why"})
    audience = fields.List(fields.Nested(AudienceSchema), metadata={
        "description": "Per country the area concerns: the SMS subscribers the warning reaches (of the centres whose "
                       "figures you may see), in every mode what a live warning would reach, and an estimate of the "
                       "people living in the area"})
    partner_endpoints = fields.Integer()


class ReleaseStatusSchema(Schema):
    id = fields.Integer()
    state = fields.String()
    mode = fields.String()
    scheduled_for = fields.DateTime()
    fired_at = fields.DateTime(allow_none=True)
    late_ms = fields.Integer(allow_none=True)
    skew_ms = fields.Integer(allow_none=True, metadata={"description": "First attempt, first to last channel"})
    deliveries = fields.Dict(metadata={"description": "centre -> channel -> state -> count"})
    confirmation = fields.Nested(ConfirmationSchema)
    plan = fields.String(metadata={"description": "Hash of content, moment and channels: what a centre confirms"})
    consents = fields.Dict(metadata={"description": "centre -> {user, at}: who confirmed their centre's channels"})
    awaiting = fields.List(fields.String(), metadata={
        "description": "Centres whose public channels wait for their spokesperson's confirmation: nothing goes out "
                       "on them until then"})


class ConsentSchema(Schema):
    plan = fields.String(required=True, validate=validate.Length(equal=64),
                         metadata={"description": "The plan hash of the release status you confirm"})


class DrillContactSchema(Schema):
    field = fields.String(metadata={"description": "duty-desk or crisis-communication"})
    name = fields.String(allow_none=True)
    function = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    hours = fields.String(allow_none=True)


class DrillPartnerSchema(Schema):
    centre = fields.String()
    delivery = fields.String(metadata={"description": "The copy's ledger state (sent, delivered, failed, …)"})
    acknowledged = fields.Boolean()
    at = fields.DateTime(allow_none=True)
    seconds = fields.Float(allow_none=True, metadata={"description": "From sending to acknowledgement"})
    deadline_minutes = fields.Integer(allow_none=True, metadata={"description": "The centre's acknowledgement "
                                                                                "deadline (none: no deadline)"})
    due_at = fields.DateTime(allow_none=True)
    status = fields.String(metadata={"enum": ["acknowledged", "late", "overdue", "waiting", "not-reached"]})
    reminder = fields.String(allow_none=True, metadata={"description": "The state of the reminder SMS to the "
                                                                       "centre's duty desk, if one was sent"})
    contacts = fields.List(fields.Nested(DrillContactSchema), metadata={
        "description": "Not acknowledged: the centre's duty desk and crisis communication contact points"})


class DrillReportSchema(Schema):
    alert_id = fields.Integer()
    identifier = fields.String()
    lead_centre = fields.String()
    started_by = fields.String(allow_none=True, metadata={"description": "Who started it; none: the schedule"})
    scheduled = fields.String(allow_none=True, metadata={"description": "The quarter of a scheduled test"})
    created_at = fields.DateTime()
    state = fields.String(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    acknowledged = fields.Integer()
    of = fields.Integer()
    overdue = fields.Integer()
    slowest_seconds = fields.Float(allow_none=True)
    partners = fields.List(fields.Nested(DrillPartnerSchema))
