"""TEMPORARY STUB — helper replaces this file with the real phrasebook."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Hazard:
    code: str
    event: str
    category: str
    severity: str
    urgency: str
    certainty: str


HAZARDS = {c: Hazard(c, c, "Met", "Severe", "Expected", "Likely") for c in (
    "flood", "storm", "heat", "cold", "fire_smoke", "chemical", "explosion", "transport_accident", "nuclear",
    "drinking_water", "power_outage", "telecom_outage", "terrorism", "crowd", "epidemic", "evacuation")}
