"""Which countries and centres a warning's area touches, and which lie within the border band (alerts.jurisdictions)."""
from __future__ import annotations

from flask import g
from marshmallow import Schema, fields

from alerts import jurisdictions
from web import db_session, services
from web.api.base import ResourceView, doc_errors, resource_blueprint

bp = resource_blueprint("jurisdictions", "Countries and centres a warning's area touches")


class CountryShareSchema(Schema):
    code = fields.String(metadata={"description": "ISO 3166-1 alpha-2"})
    name = fields.String()
    share = fields.Float(metadata={"description": "Share of the area in this country, 0 to 1"})


class CentreReachSchema(Schema):
    centre = fields.String()
    touched = fields.Boolean(metadata={"description": "The area covers part of the centre's territory"})
    share = fields.Float(metadata={"description": "Share of the area in the centre's territory, 0 to 1"})
    within_band = fields.Boolean(metadata={"description": "Not touched, but within the border band: phones there "
                                                          "may be served by masts across the border"})
    distance_km = fields.Float(metadata={"description": "From the area to the centre's territory"})
    taking_part = fields.Boolean()


class JurisdictionsSchema(Schema):
    alert_id = fields.Integer()
    version = fields.Integer()
    area_km2 = fields.Float()
    border_band_km = fields.Float()
    countries = fields.List(fields.Nested(CountryShareSchema))
    centres = fields.List(fields.Nested(CentreReachSchema), metadata={
        "description": "Centres of the network whose territory the area touches or lies within the band of"})
    unlocated = fields.List(fields.String(), metadata={
        "description": "Active centres whose territory the shipped boundaries do not hold"})
    touched_not_taking_part = fields.List(fields.String(), metadata={
        "description": "Centres whose territory the area covers but which do not take part: the lead centre "
                       "confirms this at submission"})


@bp.route("/alerts/<int:alert_id>/jurisdictions")
class Jurisdictions(ResourceView):

    @bp.response(200, JurisdictionsSchema)
    @doc_errors(bp, "403", "404", "422")
    def get(self, alert_id):
        """For the alert's current version: the countries its area touches and their share of it, the centres
        touched or within the border band (a setting, BENELERT_BORDER_BAND_KM, default 5 km), and which take part."""
        return jurisdictions.of_alert(db_session(), g.user, alert_id, services().settings.border_band_km)
