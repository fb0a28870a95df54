"""SMS subscribers: imports of a centre's list (CSV, all rows or none) and counts per area."""
from __future__ import annotations

import codecs

from flask import g, request
from marshmallow import Schema, fields
from werkzeug.exceptions import RequestEntityTooLarge

from alerts import subscribers
from alerts.errors import InvalidInput
from alerts.i18n import _
from web import db_session, operation, problem
from web.api.base import EXCHANGE_PROBLEMS, ResourceView, doc_errors, resource_blueprint

bp = resource_blueprint("subscribers", "SMS subscribers")


CSV_TYPES = ("text/csv", "application/csv")


IMPORT_MAX_BYTES = 5 * 1024 * 1024  # above the app-wide 1 MiB: a national subscriber list is large


# Python codecs that are not character sets; punycode also decodes in quadratic time
NOT_CHARSETS = frozenset({"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape"})


class LineErrorSchema(Schema):
    line = fields.Integer()
    error = fields.String()


class ImportResultSchema(Schema):
    imported = fields.Integer(metadata={"description": "New subscribers"})
    updated = fields.Integer(metadata={"description": "Existing numbers whose language and areas were replaced"})
    opted_out = fields.Integer(metadata={"description": "Of the updated, how many stay opted out (never undone)"})
    errors = fields.List(fields.Nested(LineErrorSchema))


class SubscriberCountSchema(Schema):
    centre = fields.String()
    total = fields.Integer(metadata={"description": "Subscribers not opted out"})
    opted_out = fields.Integer()
    areas = fields.Dict(keys=fields.String(), values=fields.Integer(),
                        metadata={"description": "Gazetteer code -> subscribers not opted out"})


@bp.route("/subscribers/import")
class SubscribersImport(ResourceView):

    @bp.response(200, ImportResultSchema)
    @bp.doc(requestBody={"required": True, "content": {"text/csv": {"schema": {
        "type": "string", "description": "Header phone,language,areas; areas are gazetteer codes separated by ';'. "
                                         "At most 5 MiB. UTF-8 unless the charset parameter says otherwise."}}}})
    @doc_errors(bp, "401", "403", "413", "415", "422", descriptions=EXCHANGE_PROBLEMS)
    def post(self):
        """Add or update your centre's SMS subscribers from a CSV: all rows, or none when any row has an error."""
        if request.mimetype not in CSV_TYPES:
            return problem(415, _("Unsupported media type"), _("Send the subscriber list as text/csv."))
        request.max_content_length = IMPORT_MAX_BYTES
        try:
            data = request.get_data(cache=False)
        except RequestEntityTooLarge:
            return problem(413, _("Content too large"), _("A subscriber list may be at most 5 MiB: split it into "
                                                          "several files (an import updates numbers already present)."))
        charset = request.mimetype_params.get("charset", "utf-8")
        try:
            if codecs.lookup(charset).name in NOT_CHARSETS:
                raise LookupError(f"{charset!r} is not a character set")
            text = data.decode(charset)
        except (LookupError, ValueError) as error:  # ValueError: any UnicodeError, or a NUL in the name
            raise InvalidInput(_("The CSV is not readable as %(charset)s: %(reason)s.", charset=charset,
                                 reason=str(error)), imported=0, updated=0, errors=[]) from None
        with operation() as session:
            result = subscribers.import_subscribers(session, g.user, text)
        return result


@bp.route("/subscribers/count")
class SubscriberCount(ResourceView):

    @bp.response(200, SubscriberCountSchema)
    @doc_errors(bp, "401", "403", descriptions=EXCHANGE_PROBLEMS)
    def get(self):
        """Your centre's subscribers who still receive messages, per area."""
        return subscribers.subscriber_counts(db_session(), g.user)
