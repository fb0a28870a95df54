"""The tables of geo/build_boundaries.py: which units data/boundaries.geojson ships, under which codes, with which
names and gazetteer places (alerts/gazetteer.py). Data, kept apart from the build's code."""
from __future__ import annotations

# Natural Earth's numeric ISO 3166-1 ids (as world-atlas spells them) of the countries shipped: the EU, the EEA,
# the UK, Switzerland, the microstates, the Western Balkans, Moldova, Ukraine, Belarus, and the Crown
# dependencies, Faroe, Åland and Gibraltar (separate units in Natural Earth). Russia and Turkey are left out, and
# so is the Vatican: world-atlas's quantized shape of it is a line (Italy has no hole there).
COUNTRIES: dict[str, tuple[str, str]] = {
    "008": ("AL", "Albania"), "020": ("AD", "Andorra"), "040": ("AT", "Austria"), "056": ("BE", "Belgium"),
    "070": ("BA", "Bosnia and Herzegovina"), "100": ("BG", "Bulgaria"), "112": ("BY", "Belarus"),
    "191": ("HR", "Croatia"), "196": ("CY", "Cyprus"), "203": ("CZ", "Czechia"), "208": ("DK", "Denmark"),
    "233": ("EE", "Estonia"), "234": ("FO", "Faroe Islands"), "246": ("FI", "Finland"), "248": ("AX", "Åland"),
    "250": ("FR", "France"), "276": ("DE", "Germany"), "292": ("GI", "Gibraltar"), "300": ("GR", "Greece"),
    "348": ("HU", "Hungary"), "352": ("IS", "Iceland"), "372": ("IE", "Ireland"),
    "380": ("IT", "Italy"), "428": ("LV", "Latvia"), "438": ("LI", "Liechtenstein"), "440": ("LT", "Lithuania"),
    "442": ("LU", "Luxembourg"), "470": ("MT", "Malta"), "492": ("MC", "Monaco"), "498": ("MD", "Moldova"),
    "499": ("ME", "Montenegro"), "528": ("NL", "Netherlands"), "578": ("NO", "Norway"), "616": ("PL", "Poland"),
    "620": ("PT", "Portugal"), "642": ("RO", "Romania"), "674": ("SM", "San Marino"), "688": ("RS", "Serbia"),
    "703": ("SK", "Slovakia"), "705": ("SI", "Slovenia"), "724": ("ES", "Spain"), "752": ("SE", "Sweden"),
    "756": ("CH", "Switzerland"), "804": ("UA", "Ukraine"), "807": ("MK", "North Macedonia"),
    "826": ("GB", "United Kingdom"), "831": ("GG", "Guernsey"), "832": ("JE", "Jersey"), "833": ("IM", "Isle of Man"),
}
# Natural Earth gives Kosovo no ISO id; XK is the code the EU and others use for it.
COUNTRIES_BY_NAME: dict[str, tuple[str, str]] = {"Kosovo": ("XK", "Kosovo")}

REGION_COUNTRIES = ("BE", "NL", "LU", "DE")
NOT_IN_EUROPE = ("NL-BQ1", "NL-BQ2", "NL-BQ3")  # Bonaire, Saba, Sint Eustatius: special municipalities
# The Benelert gazetteer's code (alerts/gazetteer.py) of a unit, where it has one.
PLACES: dict[str, str] = {
    "BE": "be", "NL": "nl", "LU": "lu", "DE": "de",
    "BE-VAN": "be-ant", "BE-VLI": "be-lim", "BE-VOV": "be-ovl", "BE-VBR": "be-vbr", "BE-VWV": "be-wvl",
    "BE-WBR": "be-wbr", "BE-WHT": "be-hai", "BE-WLG": "be-lie", "BE-WLX": "be-lux", "BE-WNA": "be-nam",
    "BE-BRU": "be-bru",
    **{f"NL-{suffix}": f"nl-{suffix.lower()}" for suffix in ("DR", "FL", "FR", "GE", "GR", "LI", "NB", "NH", "OV",
                                                             "UT", "ZE", "ZH")},
    "DE-NW": "de-nw",
}
# North Rhine-Westphalia's districts: AGS of the land (RS starting with 05, GF 4: land, not water).
NRW = "05"
LAND = 4
NRW_DISTRICTS = 53
NRW_SUBREGIONS = 5  # Regierungsbezirke: Düsseldorf DEA1, Köln DEA2, Münster DEA3, Detmold DEA4, Arnsberg DEA5
SUBREGION_NAMES: dict[str, dict[str, str]] = {"DEA2": {"nl": "Keulen", "fr": "Cologne", "en": "Cologne"}}
# German names, except where Dutch, French or English have a living name of their own (Keulen, Cologne, Aken,
# Aix-la-Chapelle, Clèves), as the gazetteer (alerts/gazetteer.py) writes them.
KREIS_NAMES: dict[str, dict[str, str]] = {
    "05154": {"fr": "Clèves"},
    "05315": {"nl": "Keulen", "fr": "Cologne", "en": "Cologne"},
    "05334": {"nl": "Stedenregio Aken", "fr": "Région urbaine d'Aix-la-Chapelle"},
}
AACHEN = "05334002"  # the city's AGS (its LAU code) in the Städteregion Aachen
AACHEN_NAMES = {"nl": "Aken", "fr": "Aix-la-Chapelle", "de": "Aachen", "en": "Aachen"}
# Belgium's NUTS 2021 level 3: the 43 arrondissements, Verviers split in two (BE335 its French-speaking
# municipalities, BE336 the German-speaking Community), with names in nl, fr, de, en as natives write them today
# (the gazetteer's rules: German "Lüttich", "Löwen", "Brügge", "Ypern", but "Mons", "Namur", "Arlon", "Tournai").
ARRONDISSEMENTS: dict[str, tuple[str, str, str, str]] = {
    "BE100": ("Brussel-Hoofdstad", "Bruxelles-Capitale", "Brüssel-Hauptstadt", "Brussels-Capital"),
    "BE211": ("Antwerpen", "Anvers", "Antwerpen", "Antwerp"),
    "BE212": ("Mechelen", "Malines", "Mechelen", "Mechelen"),
    "BE213": ("Turnhout", "Turnhout", "Turnhout", "Turnhout"),
    "BE223": ("Tongeren", "Tongres", "Tongeren", "Tongeren"),
    "BE224": ("Hasselt", "Hasselt", "Hasselt", "Hasselt"),
    "BE225": ("Maaseik", "Maaseik", "Maaseik", "Maaseik"),
    "BE231": ("Aalst", "Alost", "Aalst", "Aalst"),
    "BE232": ("Dendermonde", "Termonde", "Dendermonde", "Dendermonde"),
    "BE233": ("Eeklo", "Eeklo", "Eeklo", "Eeklo"),
    "BE234": ("Gent", "Gand", "Gent", "Ghent"),
    "BE235": ("Oudenaarde", "Audenarde", "Oudenaarde", "Oudenaarde"),
    "BE236": ("Sint-Niklaas", "Saint-Nicolas", "Sint-Niklaas", "Sint-Niklaas"),
    "BE241": ("Halle-Vilvoorde", "Hal-Vilvorde", "Halle-Vilvoorde", "Halle-Vilvoorde"),
    "BE242": ("Leuven", "Louvain", "Löwen", "Leuven"),
    "BE251": ("Brugge", "Bruges", "Brügge", "Bruges"),
    "BE252": ("Diksmuide", "Dixmude", "Diksmuide", "Diksmuide"),
    "BE253": ("Ieper", "Ypres", "Ypern", "Ypres"),
    "BE254": ("Kortrijk", "Courtrai", "Kortrijk", "Kortrijk"),
    "BE255": ("Oostende", "Ostende", "Ostende", "Ostend"),
    "BE256": ("Roeselare", "Roulers", "Roeselare", "Roeselare"),
    "BE257": ("Tielt", "Tielt", "Tielt", "Tielt"),
    "BE258": ("Veurne", "Furnes", "Veurne", "Veurne"),
    "BE310": ("Nijvel", "Nivelles", "Nivelles", "Nivelles"),
    "BE323": ("Bergen", "Mons", "Mons", "Mons"),
    "BE328": ("Doornik-Moeskroen", "Tournai-Mouscron", "Tournai-Mouscron", "Tournai-Mouscron"),
    "BE329": ("La Louvière", "La Louvière", "La Louvière", "La Louvière"),
    "BE32A": ("Aat", "Ath", "Ath", "Ath"),
    "BE32B": ("Charleroi", "Charleroi", "Charleroi", "Charleroi"),
    "BE32C": ("Zinnik", "Soignies", "Soignies", "Soignies"),
    "BE32D": ("Thuin", "Thuin", "Thuin", "Thuin"),
    "BE331": ("Hoei", "Huy", "Huy", "Huy"),
    "BE332": ("Luik", "Liège", "Lüttich", "Liège"),
    "BE334": ("Borgworm", "Waremme", "Waremme", "Waremme"),
    "BE335": ("Verviers (Franstalig)", "Verviers (francophone)",
              "Verviers (französischsprachig)", "Verviers (French-speaking)"),
    "BE336": ("Duitstalige Gemeenschap", "Communauté germanophone", "Ostbelgien", "German-speaking Community"),
    "BE341": ("Aarlen", "Arlon", "Arlon", "Arlon"),
    "BE342": ("Bastenaken", "Bastogne", "Bastogne", "Bastogne"),
    "BE343": ("Marche-en-Famenne", "Marche-en-Famenne", "Marche-en-Famenne", "Marche-en-Famenne"),
    "BE344": ("Neufchâteau", "Neufchâteau", "Neufchâteau", "Neufchâteau"),
    "BE345": ("Virton", "Virton", "Virton", "Virton"),
    "BE351": ("Dinant", "Dinant", "Dinant", "Dinant"),
    "BE352": ("Namen", "Namur", "Namur", "Namur"),
    "BE353": ("Philippeville", "Philippeville", "Philippeville", "Philippeville"),
}
# The gazetteer's places of NUTS 3 units that are not an arrondissement named after its seat: BE336 is the territory
# of the German-speaking Community (its nine municipalities), BE335 the rest of Verviers, and BE100 is the
# Brussels-Capital Region's territory, whose place is the region's (be-bru, a region feature).
ARRONDISSEMENT_PLACES = {"BE336": "be-ostbelgien", "BE335": "be-arr-verviers-francophone", "BE100": None}
# The province (or the Brussels-Capital Region) of a Belgian NUTS 3 unit, by its NUTS 2 code.
BELGIAN_PROVINCES = {"BE10": "BE-BRU", "BE21": "BE-VAN", "BE22": "BE-VLI", "BE23": "BE-VOV", "BE24": "BE-VBR",
                     "BE25": "BE-VWV", "BE31": "BE-WBR", "BE32": "BE-WHT", "BE33": "BE-WLG", "BE34": "BE-WLX",
                     "BE35": "BE-WNA"}

# Natural Earth's names that are not names: "Provincie Antwerpen" (nl) and "d'Anvers" (fr) for the province.
NAME_FIXES: dict[str, dict[str, str]] = {"BE-VAN": {"nl": "Antwerpen", "fr": "Anvers"}}
