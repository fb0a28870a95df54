"""SMS subscribers: imports of a centre's list (CSV, all rows or none) and counts per area.

Every import is a job of the worker process (alerts.import_jobs), whatever its size: POST answers 202 with the
job's address once the list is stored, and GET on that address shows its progress, then the result or the line
errors. One flow for every list: a client never has to tell a small list from a large one."""
from __future__ import annotations

import codecs

from flask import g, request, url_for
from marshmallow import Schema, fields
from werkzeug.exceptions import RequestEntityTooLarge

from alerts import import_jobs, subscribers
from alerts.errors import InvalidInput
from alerts.i18n import _
from web import db_session, operation, problem
from web.api.base import EXCHANGE_PROBLEMS, ResourceView, doc_errors, for_caller, resource_blueprint

bp = resource_blueprint("subscribers", "SMS subscribers")


CSV_TYPES = ("text/csv", "application/csv")


IMPORT_MAX_BYTES = 5 * 1024 * 1024  # above the app-wide 1 MiB: a national subscriber list is large


# Python codecs that are not character sets; punycode also decodes in quadratic time
NOT_CHARSETS = frozenset({"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape"})


class LineErrorSchema(Schema):
    line = fields.Integer()
    error = fields.String()


class ImportCountsSchema(Schema):
    imported = fields.Integer(metadata={"description": "New subscribers"})
    updated = fields.Integer(metadata={"description": "Existing numbers whose language and areas were replaced"})
    opted_out = fields.Integer(metadata={"description": "Of the updated, how many stay opted out (never undone)"})


class ImportJobSchema(Schema):
    id = fields.Integer()
    state = fields.String(metadata={"enum": ["queued", "running", "done", "failed"],
                                    "description": "queued → running → done (all rows imported) or failed (none)"})
    phase = fields.String(allow_none=True, metadata={"enum": ["reading", "writing", None],
                                                     "description": "While running: checking rows, or writing them"})
    rows_done = fields.Integer(metadata={"description": "Rows of the phase done so far"})
    rows_total = fields.Integer(allow_none=True, metadata={"description": "Rows of the list (lines after the header)"})
    result = fields.Nested(ImportCountsSchema, allow_none=True, metadata={"description": "When done"})
    errors = fields.List(fields.Nested(LineErrorSchema),
                         metadata={"description": "When failed: one per bad line (line 0: the whole import)"})
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class SubscriberCountSchema(Schema):
    centre = fields.String()
    total = fields.Integer(metadata={"description": "Subscribers not opted out"})
    opted_out = fields.Integer()
    areas = fields.Dict(keys=fields.String(), values=fields.Integer(),
                        metadata={"description": "Gazetteer code -> subscribers not opted out"})


@bp.route("/subscribers/import")
class SubscribersImport(ResourceView):

    @bp.response(202, ImportJobSchema, description="Stored and queued: follow the Location header",
                 headers={"Location": {"schema": {"type": "string"},
                                       "description": "/api/v1/subscribers/imports/{id}: its progress and result"}})
    @bp.doc(requestBody={"required": True, "content": {"text/csv": {"schema": {
        "type": "string", "description": "Header phone,language,areas and optionally location; areas are gazetteer "
                                         "codes separated by ';', location is \"lat,lon\" in decimal degrees "
                                         "(quoted); each row needs areas, a location or both. At most 5 MiB. UTF-8 "
                                         "unless the charset parameter says otherwise."}}}})
    @doc_errors(bp, "401", "403", "413", "415", "422", descriptions={
        **EXCHANGE_PROBLEMS, "422": "Not readable in its character set (the rows are checked by the job)"})
    def post(self):
        """Add or update your centre's SMS subscribers from a CSV: all rows, or none when any row has an error.

        The list (at most 200,000 rows) is stored and imported by a worker process: the answer is 202 with the
        job, whose address is in Location; GET it for the progress and, once done, the counts or the line errors.
        The media type, character set and size are checked at once (415, 422, 413)."""
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
            job = import_jobs.submit(session, g.user, text)
            answer = import_jobs.describe(job)
        location = url_for("subscribers.SubscribersImportJob", job_id=job.id)
        return for_caller(answer), 202, {"Location": location}


@bp.route("/subscribers/imports/<int:job_id>")
class SubscribersImportJob(ResourceView):

    @bp.response(200, ImportJobSchema)
    @doc_errors(bp, "401", "403", "404", descriptions=EXCHANGE_PROBLEMS)
    def get(self, job_id: int):
        """A subscriber import of your centre: its state and progress, then its counts (done) or line errors
        (failed: nothing was imported). Another centre's import is not found."""
        return for_caller(import_jobs.describe(import_jobs.job_for(db_session(), g.user, job_id)))


@bp.route("/subscribers/count")
class SubscriberCount(ResourceView):

    @bp.response(200, SubscriberCountSchema)
    @doc_errors(bp, "401", "403", descriptions=EXCHANGE_PROBLEMS)
    def get(self):
        """Your centre's subscribers who still receive messages, per area."""
        return subscribers.subscriber_counts(db_session(), g.user)
