"""The phrasebook's content: the vetted instructions and the hazards (CAP event, category, default urgency, severity
and certainty, headline and instructions). Every sentence is an English msgid marked with `N_`, translated by
people in translations/<lang>/ and rendered by alerts.phrasebook."""
from __future__ import annotations

from dataclasses import dataclass


def N_(message: str) -> str:
    """Marks a msgid for `pybabel extract`; translated later, at render time."""
    return message


INSTRUCTIONS: dict[str, str] = {
    "close_doors_windows": N_("Close doors and windows."),
    "ventilation_off": N_("Switch off ventilation and air conditioning."),
    "go_indoors": N_("Go indoors."),
    "stay_indoors": N_("Stay indoors."),
    "avoid_area": N_("Avoid the area."),
    "call_112_emergency": N_("Only call 112 in an emergency."),
    "call_112_life_threatening": N_("Only call 112 if lives are in danger."),
    "follow_official_info": N_(
        "Follow official updates on the website of the authorities and on local radio."
    ),
    "check_neighbours": N_("Check on your neighbours, especially elderly people."),
    "do_not_pick_up_children": N_(
        "Do not pick up your children from school. The school is taking care of them."
    ),
    "follow_emergency_services": N_("Follow the instructions of the emergency services."),
    "iodine_only_when_told": N_("Only take iodine tablets when the authorities tell you to."),
    "no_tap_water": N_("Do not use tap water for drinking or cooking. Use bottled water."),
    "tap_water_for_washing": N_("You can still use tap water for showering and flushing the toilet."),
    "boil_tap_water": N_("Boil tap water before drinking it or using it for cooking."),
    "keep_off_roads": N_("Stay off the roads."),
    "avoid_travel": N_("Only travel if it is absolutely necessary."),
    "move_upstairs": N_("Move to a higher floor."),
    "no_flood_water": N_("Do not walk or drive through flooded streets."),
    "away_from_water": N_("Stay away from rivers, streams and dikes."),
    "utilities_off_flooding": N_("Switch off gas and electricity if water enters your home."),
    "utilities_off_leaving": N_("Switch off gas, water and electricity before leaving your home."),
    "away_from_trees": N_("Stay away from trees and scaffolding."),
    "secure_loose_objects": N_("Secure or bring in loose objects from gardens and balconies."),
    "drink_water": N_("Drink plenty of water."),
    "keep_out_of_sun": N_("Stay out of the sun."),
    "keep_home_cool": N_("Keep your home cool: close curtains and shutters during the day."),
    "avoid_exertion": N_("Avoid strenuous physical activity."),
    "vulnerable_people": N_(
        "Look after vulnerable people, such as elderly people, young children and people who are ill."
    ),
    "no_fires": N_("Do not light fires or barbecues outdoors."),
    "no_generators_indoors": N_(
        "Never use a barbecue or generator indoors: risk of carbon monoxide poisoning."
    ),
    "dress_warmly": N_("Dress warmly in several layers."),
    "slippery_roads": N_("Take extra care on slippery roads and pavements."),
    "call_112_other_network": N_("If you cannot reach 112, try another mobile network or a landline."),
    "go_to_fire_station": N_("If you cannot call 112, go to the nearest fire station or police station."),
    "limit_phone_use": N_(
        "Only use your phone when necessary, so that the network stays available for emergencies."
    ),
    "battery_radio": N_("Listen to local radio on a battery-powered radio or a car radio."),
    "follow_police": N_("Follow the instructions of the police."),
    "no_images_police": N_("Do not share photos or videos of police operations."),
    "no_images_victims": N_("Do not share photos or videos of victims."),
    "hide_silently": N_("Hide in a safe place and switch your phone to silent."),
    "away_from_windows": N_("Stay away from windows."),
    "leave_signposted_route": N_("Leave the area by the signposted route."),
    "take_essentials": N_("Take your medication, identity card and phone charger with you."),
    "register_reception_centre": N_("Register at the reception centre."),
    "pets_indoors": N_("Keep pets indoors."),
    "follow_stewards": N_("Follow the instructions of the stewards."),
    "keep_calm_move_slowly": N_("Keep calm and move away slowly."),
    "wash_hands": N_("Wash your hands regularly with soap and water."),
    "stay_home_symptoms": N_("Stay at home if you have symptoms."),
    "call_doctor_first": N_("If you feel ill, phone your doctor before going to the practice."),
    "do_not_go_and_watch": N_("Do not go and watch."),
    "keep_access_free": N_("Keep access routes clear for the emergency services."),
    "no_debris": N_("Do not touch debris or unknown objects."),
    "follow_diversions": N_("Follow the signposted diversions."),
    "unplug_appliances": N_("Unplug electrical appliances."),
    "torch_not_candles": N_("Use a torch rather than candles."),
    "fridge_closed": N_("Keep the fridge and freezer closed."),
    # Short forms: one sentence for what takes two or three in the full set (SMS, cell broadcast, X).
    "shelter": N_("Go indoors, close doors and windows and switch off ventilation."),
    "no_bbq_generator_indoors": N_("No barbecue or generator indoors."),
    "station_if_no_112": N_("If 112 does not answer, go to the nearest fire or police station."),
    "iodine_short": N_("Iodine tablets only when the authorities say so."),
    "no_tap_water_short": N_("Do not drink tap water: use bottled water."),
    "stay_home_if_ill": N_("Stay at home if you are ill and phone your doctor first."),
    "leave_with_essentials": N_("Leave the area by the signposted route. Take your medication with you."),
}


# The ten instructions used most; these are translated in every catalog, Luxembourgish included.
COMMON_INSTRUCTIONS: tuple[str, ...] = (
    "close_doors_windows",
    "ventilation_off",
    "go_indoors",
    "stay_indoors",
    "avoid_area",
    "call_112_emergency",
    "follow_official_info",
    "check_neighbours",
    "do_not_pick_up_children",
    "follow_emergency_services",
)


# The short instruction set of each hazard: the two or three life-saving actions, most important first, for the
# channels that have little room (SMS, cell broadcast, X); the full set (Hazard.instructions) is for CAP, Mastodon
# and the pages. tests/unit/alerts/test_channel_fit.py renders every default text on every channel.
SHORT_INSTRUCTIONS: dict[str, tuple[str, ...]] = {
    "flood": ("no_flood_water", "move_upstairs"),
    "storm": ("stay_indoors", "away_from_trees"),
    "heat": ("drink_water", "keep_out_of_sun"),
    "cold": ("dress_warmly", "no_bbq_generator_indoors"),
    "fire_smoke": ("shelter", "avoid_area"),
    "chemical": ("shelter", "avoid_area"),
    "explosion": ("avoid_area", "away_from_windows"),
    "transport_accident": ("avoid_area", "follow_diversions"),
    "nuclear": ("shelter", "iodine_short"),
    "drinking_water": ("no_tap_water_short",),
    "power_outage": ("station_if_no_112",),
    "telecom_outage": ("station_if_no_112",),
    "terrorism": ("avoid_area", "hide_silently"),
    "crowd": ("avoid_area", "keep_calm_move_slowly"),
    "epidemic": ("stay_home_if_ill", "wash_hands"),
    "evacuation": ("leave_with_essentials", "register_reception_centre"),
    "other": ("follow_emergency_services",),
}

# The X post's default where the whole short set does not fit beside the longest headline (a person may add to it).
X_INSTRUCTIONS: dict[str, tuple[str, ...]] = {
    "nuclear": ("shelter",),
    "epidemic": ("stay_home_if_ill",),
}

# The headline of the Cancel that lifts a hazard's warning: "Flood warning lifted: Liège" (no "Warning lifted:
# Flooding: Liège"), and without places the event alone.
LIFTED_HEADLINES: dict[str, str] = {
    "flood": N_("Flood warning lifted: %(place)s"),
    "storm": N_("Storm warning lifted: %(place)s"),
    "heat": N_("Heatwave warning lifted: %(place)s"),
    "cold": N_("Extreme cold warning lifted: %(place)s"),
    "fire_smoke": N_("Smoke warning lifted: %(place)s"),
    "chemical": N_("Hazardous substances warning lifted: %(place)s"),
    "explosion": N_("Explosion warning lifted: %(place)s"),
    "transport_accident": N_("Accident warning lifted: %(place)s"),
    "nuclear": N_("Nuclear emergency warning lifted: %(place)s"),
    "drinking_water": N_("Tap water safe to drink again: %(place)s"),
    "power_outage": N_("Power outage warning lifted: %(place)s"),
    "telecom_outage": N_("Telephone and internet outage warning lifted: %(place)s"),
    "terrorism": N_("Security incident warning lifted: %(place)s"),
    "crowd": N_("Crowding warning lifted: %(place)s"),
    "epidemic": N_("Infectious disease warning lifted: %(place)s"),
    "evacuation": N_("Evacuation order lifted: %(place)s"),
    "other": N_("Warning lifted: %(place)s"),
}


@dataclass(frozen=True)
class Hazard:
    """One kind of event with CAP defaults; `headline` takes `%(place)s`, the places joined as a list."""

    code: str
    event: str
    category: str  # CAP: Geo Met Safety Security Rescue Fire Health Env Transport Infra CBRNE Other
    severity: str  # CAP: Extreme Severe Moderate Minor Unknown
    urgency: str  # CAP: Immediate Expected Future Past Unknown
    certainty: str  # CAP: Observed Likely Possible Unlikely Unknown
    headline: str
    description: str
    instructions: tuple[str, ...]

    @property
    def short_instructions(self) -> tuple[str, ...]:
        return SHORT_INSTRUCTIONS[self.code]

    @property
    def x_instructions(self) -> tuple[str, ...]:
        return X_INSTRUCTIONS.get(self.code, SHORT_INSTRUCTIONS[self.code])

    @property
    def lifted_headline(self) -> str:
        return LIFTED_HEADLINES[self.code]


def _hazards(*hazards: Hazard) -> dict[str, Hazard]:
    return {hazard.code: hazard for hazard in hazards}


HAZARDS: dict[str, Hazard] = _hazards(
    Hazard(
        "flood", N_("Flood"), "Met", "Severe", "Immediate", "Likely",
        N_("Flooding: %(place)s"),
        N_("Rivers and streams are overflowing their banks. Streets, cellars and underpasses may flood "
           "quickly."),
        ("away_from_water", "no_flood_water", "move_upstairs", "utilities_off_flooding", "avoid_travel",
         "call_112_emergency"),
    ),
    Hazard(
        "storm", N_("Storm"), "Met", "Severe", "Expected", "Likely",
        N_("Severe storm: %(place)s"),
        N_("Very strong gusts of wind are expected. Falling trees, branches and flying objects can be very "
           "dangerous."),
        ("stay_indoors", "away_from_trees", "secure_loose_objects", "avoid_travel", "call_112_emergency"),
    ),
    Hazard(
        "heat", N_("Heatwave"), "Met", "Severe", "Expected", "Likely",
        N_("Heatwave: %(place)s"),
        N_("Very high temperatures are expected, also at night. The heat is dangerous to health, especially "
           "for elderly people, young children and people who are ill."),
        ("drink_water", "keep_out_of_sun", "keep_home_cool", "avoid_exertion", "vulnerable_people", "no_fires"),
    ),
    Hazard(
        "cold", N_("Extreme cold"), "Met", "Moderate", "Expected", "Likely",
        N_("Extreme cold: %(place)s"),
        N_("Very low temperatures and frost are expected. Roads and pavements may be very slippery."),
        ("dress_warmly", "slippery_roads", "no_bbq_generator_indoors", "vulnerable_people", "check_neighbours"),
    ),
    Hazard(
        "fire_smoke", N_("Fire with heavy smoke"), "Fire", "Severe", "Immediate", "Observed",
        N_("Fire with heavy smoke: %(place)s"),
        N_("A large fire is producing heavy smoke. The smoke can irritate the eyes and airways."),
        ("go_indoors", "close_doors_windows", "ventilation_off", "avoid_area", "do_not_go_and_watch", "pets_indoors"),
    ),
    Hazard(
        "chemical", N_("Chemical incident"), "CBRNE", "Severe", "Immediate", "Observed",
        N_("Hazardous substances released: %(place)s"),
        N_("Hazardous substances have been released into the air. They can irritate the eyes, skin and "
           "airways."),
        ("go_indoors", "close_doors_windows", "ventilation_off", "do_not_pick_up_children", "avoid_area",
         "call_112_emergency"),
    ),
    Hazard(
        "explosion", N_("Explosion"), "CBRNE", "Severe", "Immediate", "Observed",
        N_("Explosion: %(place)s"),
        N_("An explosion has occurred. There is a risk of further explosions, fire and falling debris."),
        ("avoid_area", "away_from_windows", "no_debris", "close_doors_windows", "keep_access_free",
         "do_not_go_and_watch", "call_112_emergency"),
    ),
    Hazard(
        "transport_accident", N_("Serious accident"), "Transport", "Moderate", "Immediate", "Observed",
        N_("Serious accident: %(place)s"),
        N_("A serious accident has occurred. Roads and railway lines in the area are closed and traffic is "
           "severely disrupted."),
        ("avoid_area", "follow_diversions", "keep_access_free", "do_not_go_and_watch", "no_images_victims"),
    ),
    Hazard(
        "nuclear", N_("Nuclear emergency"), "CBRNE", "Extreme", "Immediate", "Likely",
        N_("Nuclear emergency: %(place)s"),
        N_("An incident at a nuclear installation may release radioactive substances. Staying indoors "
           "protects you."),
        ("go_indoors", "close_doors_windows", "ventilation_off", "iodine_only_when_told", "do_not_pick_up_children",
         "call_112_emergency"),
    ),
    Hazard(
        "drinking_water", N_("Drinking water contamination"), "Health", "Moderate", "Immediate", "Observed",
        N_("Tap water unsafe to drink: %(place)s"),
        N_("The tap water may be contaminated. The water company is investigating the cause."),
        ("no_tap_water", "tap_water_for_washing", "check_neighbours"),
    ),
    Hazard(
        "power_outage", N_("Power outage"), "Infra", "Moderate", "Immediate", "Observed",
        N_("Power outage: %(place)s"),
        N_("A large-scale power outage is affecting the area. It may take several hours before the power is "
           "restored."),
        ("station_if_no_112", "unplug_appliances", "torch_not_candles", "fridge_closed", "battery_radio"),
    ),
    Hazard(
        "telecom_outage", N_("Telecommunications outage"), "Infra", "Moderate", "Immediate", "Observed",
        N_("Telephone and internet outage: %(place)s"),
        N_("Telephone and internet services are disrupted. The emergency number 112 may be unreachable."),
        ("station_if_no_112", "call_112_other_network", "limit_phone_use"),
    ),
    Hazard(
        "terrorism", N_("Terrorist attack"), "Security", "Extreme", "Immediate", "Observed",
        N_("Security incident: %(place)s"),
        N_("A serious security incident is in progress. The police are carrying out a large-scale "
           "operation."),
        ("avoid_area", "go_indoors", "hide_silently", "away_from_windows", "follow_police", "no_images_police",
         "call_112_emergency"),
    ),
    Hazard(
        "crowd", N_("Dangerous crowding"), "Safety", "Severe", "Immediate", "Observed",
        N_("Dangerous crowding: %(place)s"),
        N_("The area is overcrowded and there is a risk of crushing. The organisers and the emergency "
           "services are controlling access."),
        ("avoid_area", "keep_calm_move_slowly", "follow_stewards", "follow_emergency_services", "limit_phone_use",
         "keep_access_free"),
    ),
    Hazard(
        "epidemic", N_("Infectious disease outbreak"), "Health", "Severe", "Expected", "Likely",
        N_("Infectious disease outbreak: %(place)s"),
        N_("An infectious disease is spreading in the area. The health authorities are monitoring the "
           "situation closely."),
        ("wash_hands", "stay_home_symptoms", "call_doctor_first", "vulnerable_people"),
    ),
    Hazard(
        "evacuation", N_("Evacuation"), "Safety", "Severe", "Immediate", "Observed",
        N_("Evacuation: %(place)s"),
        N_("The authorities are evacuating the area because of an immediate danger."),
        ("leave_signposted_route", "take_essentials", "utilities_off_leaving", "register_reception_centre",
         "follow_police"),
    ),
    Hazard(
        "other", N_("Emergency"), "Other", "Unknown", "Unknown", "Unknown",
        N_("Warning: %(place)s"),
        N_("An emergency situation is affecting the area."),
        ("follow_emergency_services", "call_112_emergency"),
    ),
)
