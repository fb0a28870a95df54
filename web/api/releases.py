"""Release: previews per channel and language, the confirmation a spokesperson gives, scheduling, the
release's delivery status, Updates and Cancels."""
from __future__ import annotations

from flask import g
from sqlalchemy import select

from alerts import authoring, release, updates
from alerts.content import canonical_content
from alerts.errors import NotFound
from alerts.i18n import _
from alerts.models import Alert, Release, utcnow
from alerts.rendering import render_version
from channels.specs import TextLimits
from web import db_session, operation, release_options, services
from web.api.alerts import ALERT_LINKS, alert_response
from web.api.base import ETAG_HEADER, ResourceView, doc_errors, for_caller, if_match, resource_blueprint
from web.api.schemas import (
    AlertSchema,
    ConfirmationSchema,
    ConsentSchema,
    DeriveSchema,
    PreviewArgsSchema,
    ReleaseInSchema,
    ReleaseStatusSchema,
    RenderingSchema,
    WithdrawSchema,
)

bp = resource_blueprint("releases", "Previews, confirmation, release, Updates and Cancels")


@bp.route("/alerts/<int:alert_id>/preview")
class Preview(ResourceView):

    @bp.arguments(PreviewArgsSchema, location="query")
    @bp.response(200, RenderingSchema(many=True))
    @doc_errors(bp, "403", "404", "422")
    def get(self, args, alert_id):
        """What every channel would send in every language, with counts and problems."""
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "history")
        version = authoring.get_version(session, alert, args.get("version"))
        renderings = render_version(canonical_content(version), TextLimits.from_settings(services().settings))
        return [{"language": r.language, "channel": r.channel, "text": r.text, "ok": r.ok,
                 "problems": for_caller(list(r.problems)),
                 "fits": [{"channel": f.channel, "length": f.length, "limit": f.limit, "encoding": f.encoding,
                           "parts": f.parts, "max_parts": f.max_parts, "ok": f.ok} for f in r.fits]}
                for r in renderings]



@bp.route("/alerts/<int:alert_id>/release/confirmation")
class ReleaseConfirmation(ResourceView):

    @bp.arguments(ReleaseInSchema)
    @bp.response(200, ConfirmationSchema)
    @doc_errors(bp, "403", "404", "422")
    def post(self, data, alert_id):
        """What a release would do (mode, areas, languages, channels, recipients); changes nothing."""
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "read")
        version = authoring.get_version(session, alert)
        content = canonical_content(version)
        return for_caller(release.confirmation(session, alert, content, data["channels"], data.get("at") or utcnow(),
                                               release_options(), g.user))


@bp.route("/alerts/<int:alert_id>/release")
class ReleaseItem(ResourceView):

    @bp.arguments(ReleaseInSchema)
    @bp.response(201, ReleaseStatusSchema)
    @if_match(bp, _('Send If-Match with the ETag of the version you confirmed (e.g. "v3").'))
    @doc_errors(bp, "403", "404", "409", "422")
    def post(self, data, alert_id, expected):
        """Schedule the approved content (If-Match + content hash) at T, or now."""
        with operation() as session:
            planned = release.schedule_release(session, g.user, alert_id, expected, data["content_hash"],
                                               data["channels"], data.get("at"), release_options())
        return _release_status(session, planned)

    @bp.response(200, ReleaseStatusSchema)
    @doc_errors(bp, "403", "404")
    def get(self, alert_id):
        """Per centre and channel: pending, sent, delivered, failed; lateness against T and skew."""
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "read")
        planned = session.scalar(select(Release).where(Release.alert_id == alert.id))
        if planned is None:
            raise NotFound(_("This alert has no release."))
        return _release_status(session, planned)


def _release_status(session, planned) -> dict:
    alert = session.get(Alert, planned.alert_id)
    version = authoring.get_version(session, alert, planned.version_number)
    counts = release.delivery_counts(session, planned)
    return {
        "id": planned.id, "state": planned.state, "mode": planned.mode, "scheduled_for": planned.scheduled_for,
        "fired_at": planned.fired_at, "late_ms": planned.late_ms, "skew_ms": release.skew_ms(session, planned),
        "deliveries": {centre: {channel: dict(states) for channel, states in per.items()}
                       for centre, per in counts.items() if release.sees_recipients(g.user, alert, centre)},
        "confirmation": for_caller(release.confirmation(session, alert, canonical_content(version), planned.channels,
                                                        planned.scheduled_for, release_options(), g.user)),
        **release.plan_status(planned),
    }


@bp.route("/alerts/<int:alert_id>/release/consents")
class ReleaseConsents(ResourceView):

    @bp.arguments(ConsentSchema)
    @bp.response(200, ReleaseStatusSchema)
    @doc_errors(bp, "403", "404", "409", "422")
    def post(self, data, alert_id):
        """Confirm your centre's channels and the moment of a live release's plan (its hash): until its
        spokesperson does, nothing goes out on a centre's public channels. Its rows are staged now."""
        with operation() as session:
            confirmed = release.confirm_release(session, g.user, alert_id, data["plan"], release_options())
        return _release_status(session, confirmed)


@bp.route("/alerts/<int:alert_id>/release/withdraw")
class ReleaseWithdrawal(ResourceView):

    @bp.arguments(WithdrawSchema)
    @bp.response(200, ReleaseStatusSchema)
    @if_match(bp, _('Send If-Match with the ETag of the version you saw (e.g. "v3").'))
    @doc_errors(bp, "403", "404", "409", "422")
    def post(self, data, alert_id, expected):
        """Withdraw a scheduled release before T (a spokesperson of a centre taking part, with a reason): nothing
        of it is sent, and the alert is approved again, to reschedule or to edit."""
        with operation() as session:
            withdrawn = release.withdraw_release(session, g.user, alert_id, expected, data["reason"],
                                                         release_options())
        return _release_status(session, withdrawn)


@bp.route("/alerts/<int:alert_id>/derive")
class Derive(ResourceView):

    @bp.arguments(DeriveSchema)
    @bp.response(201, AlertSchema, headers=ETAG_HEADER)
    @bp.doc(responses={"201": ALERT_LINKS})
    @doc_errors(bp, "403", "404", "409", "422")
    def post(self, data, alert_id):
        """Start an Update (a copy to edit) or a Cancel (pre-filled) of a released alert."""
        with operation() as session:
            source = authoring.get_alert(session, g.user, alert_id, "edit", lock=True)
            derived = updates.derive_alert(session, g.user, source, data["msg_type"],
                                           release_options().cap_sender_domain)
        return alert_response(derived, 201)


@bp.route("/alerts/<int:alert_id>/cancel")
class PreparedCancel(ResourceView):

    @bp.response(200, AlertSchema)
    @doc_errors(bp, "403", "404")
    def get(self, alert_id):
        """The Cancel prepared for a live alert when it was released, ready to approve."""
        session = db_session()
        source = authoring.get_alert(session, g.user, alert_id, "read")
        cancel = updates.prepared_cancel(session, source)
        if cancel is None:
            raise NotFound(_("No Cancel is prepared for this alert."))
        return alert_response(authoring.get_alert(session, g.user, cancel.id, "read"))
