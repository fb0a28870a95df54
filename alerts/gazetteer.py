"""Places a warning can name, with their names in each publishing language.

Codes are lowercase ASCII slugs that start with the country:

- countries: `be`, `nl`, `lu`, `de`;
- Belgian provinces: `be-` + a three-letter abbreviation (`be-ant`, `be-lim`, `be-ovl`, `be-vbr`, `be-wvl`,
  `be-wbr`, `be-hai`, `be-lie`, `be-lux`, `be-nam`), the Brussels-Capital Region is `be-bru` and the
  German-speaking Community (Ostbelgien) `be-ostbelgien`; the arrondissements `be-arr-<seat>` as the seat is named
  locally (`be-arr-hasselt`, `be-arr-liege`, `be-arr-tournai-mouscron`); Verviers's French-speaking part is
  `be-arr-verviers-francophone`, its German-speaking part the Community, Brussels-Capital the Region;
- Dutch provinces: `nl-` + the ISO 3166-2 suffix (`nl-li`, `nl-nb`, ...);
- Luxembourg cantons: `lu-` + the canton's short name (`lu-esch`, `lu-luxembourg`, ...);
- North Rhine-Westphalia is `de-nw` (ISO 3166-2 DE-NW); its Regierungsbezirke are `de-nw-rb-<seat>`, its
  Kreise and cities `de-nw-<official German name>` (`de-nw-kreis-borken`, `de-nw-rhein-sieg-kreis`,
  `de-nw-koeln`, `de-nw-aachen`);
- other cities and municipalities: `<country>-<local name>` (`be-liege`, `be-huy`, `nl-den-haag`, `nl-borssele`,
  `lu-esch-sur-alzette`); the city of Luxembourg is `lu-luxembourg-ville`, as the canton already has
  `lu-luxembourg`.

Slugs fold umlauts (ä->ae, ö->oe, ü->ue, ß->ss) and drop other accents. Every place has nl, fr, de and en
names, as a native official writes them today (German "Namur", "Mons", "Mechelen", "Arlon", "Arnhem", not
the dated "Namür", "Bergen", "Mecheln", "Arel", "Arnheim"; "Lüttich", "Löwen", "Nimwegen" are alive). Names
are written for running text: generic terms inside a name are lower-case where the language writes them so
("arrondissement de Wesel", "district of Kleve"), the place keeps its capital. Luxembourgish (lb) names exist
where Luxembourgish has its own name (the Grand Duchy's cantons and towns, Arel, Bréissel, Oochen, Belsch,
Holland, ...); otherwise `place_name` falls back to the German name (Luxembourgish uses the German exonyms:
Lüttich, Köln, Nimwegen).

Namesakes (Luik the province and Luik the city, Limburg in BE and in NL, the four Luxembourgs) are told
apart in words: `distinct_place_names` for the places of one warning, `area_description` for a place
standing alone (a CAP <areaDesc>). The words, per language, are `KIND_WORDS`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

KINDS = ("province", "arrondissement", "canton", "district", "city", "municipality", "country", "region")
LANGUAGES = ("nl", "fr", "de", "en", "lb")  # the languages places are named in; lb falls back to de

# A place named with its kind, as a native writes it in running text ("provincie Luik", "ville de Liège",
# "Stadt Lüttich", "city of Liège", "Stad Lëtzebuerg"). A country is never named with its kind: next to
# "canton de Luxembourg" and "ville de Luxembourg", a bare "Luxembourg" is the country. French elides "de"
# before a vowel ("province d'Anvers", "ville d'Esch-sur-Alzette"); an h is taken as aspirated ("de Huy").
KIND_WORDS: dict[str, dict[str, str]] = {
    "nl": {"province": "provincie {name}", "arrondissement": "arrondissement {name}", "canton": "kanton {name}",
           "district": "district {name}", "city": "stad {name}", "municipality": "gemeente {name}",
           "region": "regio {name}", "country": "{name}"},
    "fr": {"province": "province de {name}", "arrondissement": "arrondissement de {name}",
           "canton": "canton de {name}", "district": "arrondissement de {name}", "city": "ville de {name}",
           "municipality": "commune de {name}", "region": "région de {name}", "country": "{name}"},
    "de": {"province": "Provinz {name}", "arrondissement": "Arrondissement {name}", "canton": "Kanton {name}",
           "district": "Kreis {name}", "city": "Stadt {name}", "municipality": "Gemeinde {name}",
           "region": "Region {name}", "country": "{name}"},
    "en": {"province": "province of {name}", "arrondissement": "arrondissement of {name}",
           "canton": "canton of {name}", "district": "district of {name}", "city": "city of {name}",
           "municipality": "municipality of {name}", "region": "region of {name}", "country": "{name}"},
    "lb": {"province": "Provënz {name}", "arrondissement": "Arrondissement {name}", "canton": "Kanton {name}",
           "district": "Krees {name}", "city": "Stad {name}", "municipality": "Gemeng {name}",
           "region": "Regioun {name}", "country": "{name}"},
}
_STARTS_WITH_VOWEL = re.compile(r"[AEIOUYÀÂÉÈÊËÎÏÔÛÜ]", re.IGNORECASE)


@dataclass(frozen=True)
class Place:
    code: str
    kind: str
    country: str  # BE, NL, LU or DE
    names: dict[str, str]


def _places(country: str, kind: str, rows: list[tuple[str, ...]]) -> list[Place]:
    """Rows are (code, nl, fr, de, en) with an optional lb name last."""
    places = []
    for code, nl, fr, de, en, *lb in rows:
        names = {"nl": nl, "fr": fr, "de": de, "en": en} | ({"lb": lb[0]} if lb else {})
        places.append(Place(code, kind, country, names))
    return places


def _same_everywhere(country: str, kind: str, rows: list[tuple[str, str]]) -> list[Place]:
    return _places(country, kind, [(code, name, name, name, name) for code, name in rows])


_ALL = [
    *_places("BE", "country", [("be", "België", "Belgique", "Belgien", "Belgium", "Belsch")]),
    *_places("NL", "country", [("nl", "Nederland", "Pays-Bas", "Niederlande", "Netherlands", "Holland")]),
    *_places("LU", "country", [("lu", "Luxemburg", "Luxembourg", "Luxemburg", "Luxembourg", "Lëtzebuerg")]),
    *_places("DE", "country", [("de", "Duitsland", "Allemagne", "Deutschland", "Germany", "Däitschland")]),
    # Belgium: the ten provinces, the Brussels-Capital Region and the German-speaking Community.
    *_places("BE", "province", [
        ("be-ant", "Antwerpen", "Anvers", "Antwerpen", "Antwerp"),
        ("be-lim", "Limburg", "Limbourg", "Limburg", "Limburg"),
        ("be-ovl", "Oost-Vlaanderen", "Flandre-Orientale", "Ostflandern", "East Flanders"),
        ("be-vbr", "Vlaams-Brabant", "Brabant flamand", "Flämisch-Brabant", "Flemish Brabant"),
        ("be-wvl", "West-Vlaanderen", "Flandre-Occidentale", "Westflandern", "West Flanders"),
        ("be-wbr", "Waals-Brabant", "Brabant wallon", "Wallonisch-Brabant", "Walloon Brabant"),
        ("be-hai", "Henegouwen", "Hainaut", "Hennegau", "Hainaut"),
        ("be-lie", "Luik", "Liège", "Lüttich", "Liège"),
        ("be-lux", "Luxemburg", "Luxembourg", "Luxemburg", "Luxembourg", "Lëtzebuerg"),
        ("be-nam", "Namen", "Namur", "Namur", "Namur"),
    ]),
    *_places("BE", "region", [
        ("be-bru", "Brussels Hoofdstedelijk Gewest", "Région de Bruxelles-Capitale",
         "Region Brüssel-Hauptstadt", "Brussels-Capital Region"),
        # The territory of the German-speaking Community (the nine municipalities of the German-language area).
        # The Community itself writes "Ostbelgien" in German ("Deutschsprachige Gemeinschaft" stays its name in
        # the Constitution); the federal crisis centre and federal texts in French, Dutch and English use the
        # constitutional names, which Belgian readers of those languages know, while "Ostbelgien" untranslated
        # is a brand they may not. Neither "cantons de l'Est" nor "Oostkantons": those include Malmedy and
        # Waimes, which are not in it. Luxembourgish falls back to "Ostbelgien".
        ("be-ostbelgien", "Duitstalige Gemeenschap", "Communauté germanophone", "Ostbelgien",
         "German-speaking Community"),
    ]),
    # The administrative arrondissements, named after their seat; German writes "Arrondissement Lüttich" (the
    # Community's own texts say "Bezirk", which NRW readers take for a Regierungsbezirk).
    *_places("BE", "arrondissement", [
        ("be-arr-antwerpen", "Antwerpen", "Anvers", "Antwerpen", "Antwerp"),
        ("be-arr-mechelen", "Mechelen", "Malines", "Mechelen", "Mechelen"),
        ("be-arr-turnhout", "Turnhout", "Turnhout", "Turnhout", "Turnhout"),
        ("be-arr-tongeren", "Tongeren", "Tongres", "Tongeren", "Tongeren"),
        ("be-arr-hasselt", "Hasselt", "Hasselt", "Hasselt", "Hasselt"),
        ("be-arr-maaseik", "Maaseik", "Maaseik", "Maaseik", "Maaseik"),
        ("be-arr-aalst", "Aalst", "Alost", "Aalst", "Aalst"),
        ("be-arr-dendermonde", "Dendermonde", "Termonde", "Dendermonde", "Dendermonde"),
        ("be-arr-eeklo", "Eeklo", "Eeklo", "Eeklo", "Eeklo"),
        ("be-arr-gent", "Gent", "Gand", "Gent", "Ghent"),
        ("be-arr-oudenaarde", "Oudenaarde", "Audenarde", "Oudenaarde", "Oudenaarde"),
        ("be-arr-sint-niklaas", "Sint-Niklaas", "Saint-Nicolas", "Sint-Niklaas", "Sint-Niklaas"),
        ("be-arr-halle-vilvoorde", "Halle-Vilvoorde", "Hal-Vilvorde", "Halle-Vilvoorde", "Halle-Vilvoorde"),
        ("be-arr-leuven", "Leuven", "Louvain", "Löwen", "Leuven"),
        ("be-arr-brugge", "Brugge", "Bruges", "Brügge", "Bruges"),
        ("be-arr-diksmuide", "Diksmuide", "Dixmude", "Diksmuide", "Diksmuide"),
        ("be-arr-ieper", "Ieper", "Ypres", "Ypern", "Ypres"),
        ("be-arr-kortrijk", "Kortrijk", "Courtrai", "Kortrijk", "Kortrijk"),
        ("be-arr-oostende", "Oostende", "Ostende", "Ostende", "Ostend"),
        ("be-arr-roeselare", "Roeselare", "Roulers", "Roeselare", "Roeselare"),
        ("be-arr-tielt", "Tielt", "Tielt", "Tielt", "Tielt"),
        ("be-arr-veurne", "Veurne", "Furnes", "Veurne", "Veurne"),
        ("be-arr-nivelles", "Nijvel", "Nivelles", "Nivelles", "Nivelles"),
        ("be-arr-mons", "Bergen", "Mons", "Mons", "Mons"),
        ("be-arr-tournai-mouscron", "Doornik-Moeskroen", "Tournai-Mouscron", "Tournai-Mouscron",
         "Tournai-Mouscron"),
        ("be-arr-la-louviere", "La Louvière", "La Louvière", "La Louvière", "La Louvière"),
        ("be-arr-ath", "Aat", "Ath", "Ath", "Ath"),
        ("be-arr-charleroi", "Charleroi", "Charleroi", "Charleroi", "Charleroi"),
        ("be-arr-soignies", "Zinnik", "Soignies", "Soignies", "Soignies"),
        ("be-arr-thuin", "Thuin", "Thuin", "Thuin", "Thuin"),
        ("be-arr-huy", "Hoei", "Huy", "Huy", "Huy"),
        ("be-arr-liege", "Luik", "Liège", "Lüttich", "Liège"),
        ("be-arr-waremme", "Borgworm", "Waremme", "Waremme", "Waremme"),
        ("be-arr-verviers-francophone", "Verviers (Franstalig)", "Verviers (francophone)",
         "Verviers (französischsprachig)", "Verviers (French-speaking)"),
        ("be-arr-arlon", "Aarlen", "Arlon", "Arlon", "Arlon", "Arel"),
        ("be-arr-bastogne", "Bastenaken", "Bastogne", "Bastogne", "Bastogne", "Baaschtnech"),
        ("be-arr-marche-en-famenne", "Marche-en-Famenne", "Marche-en-Famenne", "Marche-en-Famenne",
         "Marche-en-Famenne"),
        ("be-arr-neufchateau", "Neufchâteau", "Neufchâteau", "Neufchâteau", "Neufchâteau"),
        ("be-arr-virton", "Virton", "Virton", "Virton", "Virton"),
        ("be-arr-dinant", "Dinant", "Dinant", "Dinant", "Dinant"),
        ("be-arr-namur", "Namen", "Namur", "Namur", "Namur"),
        ("be-arr-philippeville", "Philippeville", "Philippeville", "Philippeville", "Philippeville"),
    ]),
    *_places("BE", "city", [
        ("be-brussel", "Brussel", "Bruxelles", "Brüssel", "Brussels", "Bréissel"),
        ("be-antwerpen", "Antwerpen", "Anvers", "Antwerpen", "Antwerp"),
        ("be-gent", "Gent", "Gand", "Gent", "Ghent"),
        ("be-brugge", "Brugge", "Bruges", "Brügge", "Bruges"),
        ("be-oostende", "Oostende", "Ostende", "Ostende", "Ostend"),
        ("be-kortrijk", "Kortrijk", "Courtrai", "Kortrijk", "Kortrijk"),
        ("be-leuven", "Leuven", "Louvain", "Löwen", "Leuven"),
        ("be-mechelen", "Mechelen", "Malines", "Mechelen", "Mechelen"),
        ("be-hasselt", "Hasselt", "Hasselt", "Hasselt", "Hasselt"),
        ("be-liege", "Luik", "Liège", "Lüttich", "Liège"),
        ("be-verviers", "Verviers", "Verviers", "Verviers", "Verviers"),
        ("be-eupen", "Eupen", "Eupen", "Eupen", "Eupen"),
        ("be-sankt-vith", "Sankt Vith", "Saint-Vith", "Sankt Vith", "Sankt Vith"),
        ("be-namur", "Namen", "Namur", "Namur", "Namur"),
        ("be-mons", "Bergen", "Mons", "Mons", "Mons"),
        ("be-charleroi", "Charleroi", "Charleroi", "Charleroi", "Charleroi"),
        ("be-tournai", "Doornik", "Tournai", "Tournai", "Tournai"),
        ("be-wavre", "Waver", "Wavre", "Wavre", "Wavre"),
        ("be-arlon", "Aarlen", "Arlon", "Arlon", "Arlon", "Arel"),
        ("be-huy", "Hoei", "Huy", "Huy", "Huy"),  # Tihange nuclear power station
    ]),
    # Doel nuclear power station: Beveren merged with Kruibeke and Zwijndrecht on 1 January 2025; Doel is in
    # the merged municipality, named Beveren-Kruibeke-Zwijndrecht in every language.
    *_same_everywhere("BE", "municipality", [("be-beveren-kruibeke-zwijndrecht", "Beveren-Kruibeke-Zwijndrecht")]),
    # The Netherlands: the twelve provinces.
    *_places("NL", "province", [
        ("nl-dr", "Drenthe", "Drenthe", "Drenthe", "Drenthe"),
        ("nl-fl", "Flevoland", "Flevoland", "Flevoland", "Flevoland"),
        ("nl-fr", "Fryslân", "Frise", "Friesland", "Friesland"),
        ("nl-ge", "Gelderland", "Gueldre", "Gelderland", "Gelderland"),
        ("nl-gr", "Groningen", "Groningue", "Groningen", "Groningen"),
        ("nl-li", "Limburg", "Limbourg", "Limburg", "Limburg"),
        ("nl-nb", "Noord-Brabant", "Brabant-Septentrional", "Nordbrabant", "North Brabant"),
        ("nl-nh", "Noord-Holland", "Hollande-Septentrionale", "Nordholland", "North Holland"),
        ("nl-ov", "Overijssel", "Overijssel", "Overijssel", "Overijssel"),
        ("nl-ut", "Utrecht", "Utrecht", "Utrecht", "Utrecht"),
        ("nl-ze", "Zeeland", "Zélande", "Seeland", "Zeeland"),
        ("nl-zh", "Zuid-Holland", "Hollande-Méridionale", "Südholland", "South Holland"),
    ]),
    *_places("NL", "city", [
        ("nl-amsterdam", "Amsterdam", "Amsterdam", "Amsterdam", "Amsterdam"),
        ("nl-rotterdam", "Rotterdam", "Rotterdam", "Rotterdam", "Rotterdam"),
        ("nl-den-haag", "Den Haag", "La Haye", "Den Haag", "The Hague"),
        ("nl-utrecht", "Utrecht", "Utrecht", "Utrecht", "Utrecht"),
        ("nl-eindhoven", "Eindhoven", "Eindhoven", "Eindhoven", "Eindhoven"),
        ("nl-groningen", "Groningen", "Groningue", "Groningen", "Groningen"),
        ("nl-arnhem", "Arnhem", "Arnhem", "Arnhem", "Arnhem"),
        ("nl-nijmegen", "Nijmegen", "Nimègue", "Nimwegen", "Nijmegen"),
        ("nl-enschede", "Enschede", "Enschede", "Enschede", "Enschede"),
        ("nl-venlo", "Venlo", "Venlo", "Venlo", "Venlo"),
        ("nl-maastricht", "Maastricht", "Maastricht", "Maastricht", "Maastricht"),
        ("nl-heerlen", "Heerlen", "Heerlen", "Heerlen", "Heerlen"),
        ("nl-vlissingen", "Vlissingen", "Flessingue", "Vlissingen", "Vlissingen"),
    ]),
    *_same_everywhere("NL", "municipality", [("nl-borssele", "Borssele")]),  # Borssele nuclear power station
    # Luxembourg: the twelve cantons.
    *_places("LU", "canton", [
        ("lu-capellen", "Capellen", "Capellen", "Capellen", "Capellen", "Capellen"),
        ("lu-clervaux", "Clervaux", "Clervaux", "Clerf", "Clervaux", "Klierf"),
        ("lu-diekirch", "Diekirch", "Diekirch", "Diekirch", "Diekirch", "Dikrech"),
        ("lu-echternach", "Echternach", "Echternach", "Echternach", "Echternach", "Iechternach"),
        ("lu-esch", "Esch-sur-Alzette", "Esch-sur-Alzette", "Esch an der Alzette", "Esch-sur-Alzette",
         "Esch-Uelzecht"),
        ("lu-grevenmacher", "Grevenmacher", "Grevenmacher", "Grevenmacher", "Grevenmacher", "Gréiwemaacher"),
        ("lu-luxembourg", "Luxemburg", "Luxembourg", "Luxemburg", "Luxembourg", "Lëtzebuerg"),
        ("lu-mersch", "Mersch", "Mersch", "Mersch", "Mersch", "Miersch"),
        ("lu-redange", "Redange", "Redange", "Redingen", "Redange", "Réiden"),
        ("lu-remich", "Remich", "Remich", "Remich", "Remich", "Réimech"),
        ("lu-vianden", "Vianden", "Vianden", "Vianden", "Vianden", "Veianen"),
        ("lu-wiltz", "Wiltz", "Wiltz", "Wiltz", "Wiltz", "Wolz"),
    ]),
    *_places("LU", "city", [
        ("lu-luxembourg-ville", "Luxemburg", "Luxembourg", "Luxemburg", "Luxembourg", "Lëtzebuerg"),
        ("lu-esch-sur-alzette", "Esch-sur-Alzette", "Esch-sur-Alzette", "Esch an der Alzette",
         "Esch-sur-Alzette", "Esch-Uelzecht"),
        ("lu-differdange", "Differdange", "Differdange", "Differdingen", "Differdange", "Déifferdeng"),
        ("lu-dudelange", "Dudelange", "Dudelange", "Düdelingen", "Dudelange", "Diddeleng"),
        ("lu-ettelbruck", "Ettelbruck", "Ettelbruck", "Ettelbrück", "Ettelbruck", "Ettelbréck"),
    ]),
    # North Rhine-Westphalia: the Land, its five Regierungsbezirke, 31 Kreise and 22 kreisfreie Städte.
    *_places("DE", "region", [
        ("de-nw", "Noordrijn-Westfalen", "Rhénanie-du-Nord-Westphalie", "Nordrhein-Westfalen",
         "North Rhine-Westphalia", "Nordrhäin-Westfalen"),
        ("de-nw-rb-duesseldorf", "Regierungsbezirk Düsseldorf", "district de Düsseldorf",
         "Regierungsbezirk Düsseldorf", "government region of Düsseldorf"),
        ("de-nw-rb-koeln", "Regierungsbezirk Keulen", "district de Cologne", "Regierungsbezirk Köln",
         "government region of Cologne"),
        ("de-nw-rb-muenster", "Regierungsbezirk Münster", "district de Münster", "Regierungsbezirk Münster",
         "government region of Münster"),
        ("de-nw-rb-detmold", "Regierungsbezirk Detmold", "district de Detmold", "Regierungsbezirk Detmold",
         "government region of Detmold"),
        ("de-nw-rb-arnsberg", "Regierungsbezirk Arnsberg", "district d'Arnsberg", "Regierungsbezirk Arnsberg",
         "government region of Arnsberg"),
    ]),
    *_places("DE", "district", [
        ("de-nw-staedteregion-aachen", "Stedenregio Aken", "région urbaine d'Aix-la-Chapelle",
         "Städteregion Aachen", "city region of Aachen"),
        ("de-nw-kreis-kleve", "Kreis Kleve", "arrondissement de Clèves", "Kreis Kleve", "district of Kleve"),
        ("de-nw-kreis-wesel", "Kreis Wesel", "arrondissement de Wesel", "Kreis Wesel", "district of Wesel"),
        ("de-nw-kreis-viersen", "Kreis Viersen", "arrondissement de Viersen", "Kreis Viersen",
         "district of Viersen"),
        ("de-nw-kreis-mettmann", "Kreis Mettmann", "arrondissement de Mettmann", "Kreis Mettmann",
         "district of Mettmann"),
        ("de-nw-kreis-dueren", "Kreis Düren", "arrondissement de Düren", "Kreis Düren", "district of Düren"),
        ("de-nw-kreis-euskirchen", "Kreis Euskirchen", "arrondissement d'Euskirchen", "Kreis Euskirchen",
         "district of Euskirchen"),
        ("de-nw-kreis-heinsberg", "Kreis Heinsberg", "arrondissement de Heinsberg", "Kreis Heinsberg",
         "district of Heinsberg"),
        ("de-nw-kreis-borken", "Kreis Borken", "arrondissement de Borken", "Kreis Borken", "district of Borken"),
        ("de-nw-kreis-coesfeld", "Kreis Coesfeld", "arrondissement de Coesfeld", "Kreis Coesfeld",
         "district of Coesfeld"),
        ("de-nw-kreis-recklinghausen", "Kreis Recklinghausen", "arrondissement de Recklinghausen",
         "Kreis Recklinghausen", "district of Recklinghausen"),
        ("de-nw-kreis-steinfurt", "Kreis Steinfurt", "arrondissement de Steinfurt", "Kreis Steinfurt",
         "district of Steinfurt"),
        ("de-nw-kreis-warendorf", "Kreis Warendorf", "arrondissement de Warendorf", "Kreis Warendorf",
         "district of Warendorf"),
        ("de-nw-kreis-guetersloh", "Kreis Gütersloh", "arrondissement de Gütersloh", "Kreis Gütersloh",
         "district of Gütersloh"),
        ("de-nw-kreis-herford", "Kreis Herford", "arrondissement de Herford", "Kreis Herford",
         "district of Herford"),
        ("de-nw-kreis-hoexter", "Kreis Höxter", "arrondissement de Höxter", "Kreis Höxter",
         "district of Höxter"),
        ("de-nw-kreis-lippe", "Kreis Lippe", "arrondissement de Lippe", "Kreis Lippe", "district of Lippe"),
        ("de-nw-kreis-minden-luebbecke", "Kreis Minden-Lübbecke", "arrondissement de Minden-Lübbecke",
         "Kreis Minden-Lübbecke", "district of Minden-Lübbecke"),
        ("de-nw-kreis-paderborn", "Kreis Paderborn", "arrondissement de Paderborn", "Kreis Paderborn",
         "district of Paderborn"),
        ("de-nw-kreis-olpe", "Kreis Olpe", "arrondissement d'Olpe", "Kreis Olpe", "district of Olpe"),
        ("de-nw-kreis-siegen-wittgenstein",
         "Kreis Siegen-Wittgenstein", "arrondissement de Siegen-Wittgenstein", "Kreis Siegen-Wittgenstein",
         "district of Siegen-Wittgenstein"),
        ("de-nw-kreis-soest", "Kreis Soest", "arrondissement de Soest", "Kreis Soest", "district of Soest"),
        ("de-nw-kreis-unna", "Kreis Unna", "arrondissement d'Unna", "Kreis Unna", "district of Unna"),
    ]),
    # Kreise whose official name is not "Kreis <seat>" keep it in every language.
    *_same_everywhere("DE", "district", [
        ("de-nw-rhein-kreis-neuss", "Rhein-Kreis Neuss"),
        ("de-nw-rhein-erft-kreis", "Rhein-Erft-Kreis"),
        ("de-nw-rhein-sieg-kreis", "Rhein-Sieg-Kreis"),
        ("de-nw-oberbergischer-kreis", "Oberbergischer Kreis"),
        ("de-nw-rheinisch-bergischer-kreis", "Rheinisch-Bergischer Kreis"),
        ("de-nw-ennepe-ruhr-kreis", "Ennepe-Ruhr-Kreis"),
        ("de-nw-hochsauerlandkreis", "Hochsauerlandkreis"),
        ("de-nw-maerkischer-kreis", "Märkischer Kreis"),
    ]),
    *_places("DE", "city", [
        ("de-nw-aachen", "Aken", "Aix-la-Chapelle", "Aachen", "Aachen", "Oochen"),
        ("de-nw-koeln", "Keulen", "Cologne", "Köln", "Cologne"),
        ("de-nw-muenster", "Münster", "Münster", "Münster", "Münster"),
    ]),
    *_same_everywhere("DE", "city", [
        ("de-nw-bielefeld", "Bielefeld"),
        ("de-nw-bochum", "Bochum"),
        ("de-nw-bonn", "Bonn"),
        ("de-nw-bottrop", "Bottrop"),
        ("de-nw-dortmund", "Dortmund"),
        ("de-nw-duisburg", "Duisburg"),
        ("de-nw-duesseldorf", "Düsseldorf"),
        ("de-nw-essen", "Essen"),
        ("de-nw-gelsenkirchen", "Gelsenkirchen"),
        ("de-nw-hagen", "Hagen"),
        ("de-nw-hamm", "Hamm"),
        ("de-nw-herne", "Herne"),
        ("de-nw-krefeld", "Krefeld"),
        ("de-nw-leverkusen", "Leverkusen"),
        ("de-nw-moenchengladbach", "Mönchengladbach"),
        ("de-nw-muelheim-an-der-ruhr", "Mülheim an der Ruhr"),
        ("de-nw-oberhausen", "Oberhausen"),
        ("de-nw-remscheid", "Remscheid"),
        ("de-nw-solingen", "Solingen"),
        ("de-nw-wuppertal", "Wuppertal"),
    ]),
]

PLACES: dict[str, Place] = {place.code: place for place in _ALL}


def place_name(code: str, language: str) -> str:
    """The place's name in `language`; Luxembourgish falls back to the German name."""
    names = PLACES[code].names
    if language == "lb":
        return names.get("lb") or names["de"]
    return names[language]


def country_name(country: str, language: str) -> str:
    """The country ("BE", "NL", "LU", "DE") in words in `language`: "België", "Belgique", "Belsch"."""
    return place_name(country.lower(), language)


def with_kind(code: str, language: str) -> str:
    """The place's name with its kind, in running text: "provincie Luik", "ville d'Anvers", "Stadt Lüttich"."""
    place = PLACES[code]
    name = place_name(code, language)
    pattern = KIND_WORDS[language][place.kind]
    if language == "fr" and pattern.endswith(" de {name}") and _STARTS_WITH_VOWEL.match(name):
        pattern = pattern.removesuffix("de {name}") + "d'{name}"
    return pattern.format(name=name)


def _named(code: str, language: str, *, kind: bool, country: bool) -> str:
    text = with_kind(code, language) if kind else place_name(code, language)
    return f"{text} ({country_name(PLACES[code].country, language)})" if country else text


def distinct_place_names(codes: list[str], language: str) -> list[str]:
    """Names in `language` as a warning lists them (each place once), namesakes told apart in words.

    A namesake of another kind gets its kind ("provincie Luik" and "stad Luik"; "canton de Luxembourg", "ville de
    Luxembourg" and "province de Luxembourg", while the country stays "Luxembourg"); a namesake of the same kind
    in another country gets that country ("Limburg (België)" and "Limburg (Nederland)"). Names without a namesake
    among `codes` stay bare.
    """
    codes = list(dict.fromkeys(codes))
    names = {code: place_name(code, language) for code in codes}
    listed = []
    for code in codes:
        place = PLACES[code]
        namesakes = [PLACES[other] for other in codes if other != code and names[other] == names[code]]
        listed.append(_named(code, language, kind=any(other.kind != place.kind for other in namesakes),
                             country=any(other.kind == place.kind for other in namesakes)))
    return listed


@cache
def _kinds_by_name(language: str) -> dict[str, frozenset[str]]:
    kinds: dict[str, set[str]] = {}
    for code, place in PLACES.items():
        kinds.setdefault(place_name(code, language), set()).add(place.kind)
    return {name: frozenset(found) for name, found in kinds.items()}


def area_description(code: str, language: str) -> str:
    """The place named on its own, as a label (a CAP <areaDesc>): no gazetteer namesake can be meant.

    Its kind when the gazetteer has a namesake of another kind, and its country unless it is a country or bears
    its country's name: "Provincie Luik (België)", "Stad Luik (België)", "Limburg (Nederland)", "Kanton
    Luxemburg", "Arrondissement de Wesel (Allemagne)". A label starts with a capital.
    """
    place = PLACES[code]
    name = place_name(code, language)
    own_country = country_name(place.country, language)
    text = _named(code, language, kind=len(_kinds_by_name(language)[name]) > 1,
                  country=place.kind != "country" and name != own_country)
    return text[:1].upper() + text[1:]


def area_label(code: str, language: str) -> str:
    """A picked place as a warning's area is first described (the compose page): short, and unique in the gazetteer,
    so that an edit that keys areas by description can never take one place for another: the name, with its kind
    when the gazetteer has a namesake of another kind, and the country's code: "Limburg (BE)", "Stad Luik (BE)",
    "Arrondissement Hasselt (BE)"; a country is its name."""
    place = PLACES[code]
    name = place_name(code, language)
    if place.kind == "country":
        return name
    text = _named(code, language, kind=len(_kinds_by_name(language)[name]) > 1, country=False)
    return f"{text[:1].upper()}{text[1:]} ({place.country})"
