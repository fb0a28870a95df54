"""Places a warning can name, with their names in each publishing language.

Codes are lowercase ASCII slugs that start with the country:

- countries: `be`, `nl`, `lu`, `de`;
- Belgian provinces: `be-` + a three-letter abbreviation (`be-ant`, `be-lim`, `be-ovl`, `be-vbr`, `be-wvl`,
  `be-wbr`, `be-hai`, `be-lie`, `be-lux`, `be-nam`), the Brussels-Capital Region is `be-bru`;
- Dutch provinces: `nl-` + the ISO 3166-2 suffix (`nl-li`, `nl-nb`, ...);
- Luxembourg cantons: `lu-` + the canton's short name (`lu-esch`, `lu-luxembourg`, ...);
- North Rhine-Westphalia is `de-nw` (ISO 3166-2 DE-NW); its Regierungsbezirke are `de-nw-rb-<seat>`, its
  Kreise and cities `de-nw-<official German name>` (`de-nw-kreis-borken`, `de-nw-rhein-sieg-kreis`,
  `de-nw-koeln`, `de-nw-aachen`);
- other cities: `<country>-<local name>` (`be-liege`, `nl-den-haag`, `lu-esch-sur-alzette`); the city of
  Luxembourg is `lu-luxembourg-ville`, as the canton already has `lu-luxembourg`.

Slugs fold umlauts (ä->ae, ö->oe, ü->ue, ß->ss) and drop other accents. Every place has nl, fr, de and en
names; Luxembourgish (lb) names exist for Luxembourg and a few neighbours, and `place_name` falls back
to the German name for lb (Luxembourgish uses the German exonyms: Lüttich, Köln, Aachen).
"""
from __future__ import annotations

from dataclasses import dataclass

KINDS = ("province", "canton", "district", "city", "country", "region")


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
    *_places("NL", "country", [("nl", "Nederland", "Pays-Bas", "Niederlande", "Netherlands")]),
    *_places("LU", "country", [("lu", "Luxemburg", "Luxembourg", "Luxemburg", "Luxembourg", "Lëtzebuerg")]),
    *_places("DE", "country", [("de", "Duitsland", "Allemagne", "Deutschland", "Germany", "Däitschland")]),
    # Belgium: the ten provinces and the Brussels-Capital Region.
    *_places("BE", "province", [
        ("be-ant", "Antwerpen", "Anvers", "Antwerpen", "Antwerp"),
        ("be-lim", "Limburg", "Limbourg", "Limburg", "Limburg"),
        ("be-ovl", "Oost-Vlaanderen", "Flandre-Orientale", "Ostflandern", "East Flanders"),
        ("be-vbr", "Vlaams-Brabant", "Brabant flamand", "Flämisch-Brabant", "Flemish Brabant"),
        ("be-wvl", "West-Vlaanderen", "Flandre-Occidentale", "Westflandern", "West Flanders"),
        ("be-wbr", "Waals-Brabant", "Brabant wallon", "Wallonisch-Brabant", "Walloon Brabant"),
        ("be-hai", "Henegouwen", "Hainaut", "Hennegau", "Hainaut"),
        ("be-lie", "Luik", "Liège", "Lüttich", "Liège"),
        ("be-lux", "Luxemburg", "Luxembourg", "Luxemburg", "Luxembourg"),
        ("be-nam", "Namen", "Namur", "Namür", "Namur"),
    ]),
    *_places("BE", "region", [
        ("be-bru", "Brussels Hoofdstedelijk Gewest", "Région de Bruxelles-Capitale",
         "Region Brüssel-Hauptstadt", "Brussels-Capital Region"),
    ]),
    *_places("BE", "city", [
        ("be-brussel", "Brussel", "Bruxelles", "Brüssel", "Brussels", "Bréissel"),
        ("be-antwerpen", "Antwerpen", "Anvers", "Antwerpen", "Antwerp"),
        ("be-gent", "Gent", "Gand", "Gent", "Ghent"),
        ("be-brugge", "Brugge", "Bruges", "Brügge", "Bruges"),
        ("be-oostende", "Oostende", "Ostende", "Ostende", "Ostend"),
        ("be-kortrijk", "Kortrijk", "Courtrai", "Kortrijk", "Kortrijk"),
        ("be-leuven", "Leuven", "Louvain", "Löwen", "Leuven"),
        ("be-mechelen", "Mechelen", "Malines", "Mecheln", "Mechelen"),
        ("be-hasselt", "Hasselt", "Hasselt", "Hasselt", "Hasselt"),
        ("be-liege", "Luik", "Liège", "Lüttich", "Liège"),
        ("be-verviers", "Verviers", "Verviers", "Verviers", "Verviers"),
        ("be-eupen", "Eupen", "Eupen", "Eupen", "Eupen"),
        ("be-sankt-vith", "Sankt Vith", "Saint-Vith", "Sankt Vith", "Sankt Vith"),
        ("be-namur", "Namen", "Namur", "Namür", "Namur"),
        ("be-mons", "Bergen", "Mons", "Bergen", "Mons"),
        ("be-charleroi", "Charleroi", "Charleroi", "Charleroi", "Charleroi"),
        ("be-tournai", "Doornik", "Tournai", "Tournai", "Tournai"),
        ("be-wavre", "Waver", "Wavre", "Wavre", "Wavre"),
        ("be-arlon", "Aarlen", "Arlon", "Arel", "Arlon", "Arel"),
    ]),
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
        ("nl-arnhem", "Arnhem", "Arnhem", "Arnheim", "Arnhem"),
        ("nl-nijmegen", "Nijmegen", "Nimègue", "Nimwegen", "Nijmegen"),
        ("nl-enschede", "Enschede", "Enschede", "Enschede", "Enschede"),
        ("nl-venlo", "Venlo", "Venlo", "Venlo", "Venlo"),
        ("nl-maastricht", "Maastricht", "Maastricht", "Maastricht", "Maastricht"),
        ("nl-heerlen", "Heerlen", "Heerlen", "Heerlen", "Heerlen"),
        ("nl-vlissingen", "Vlissingen", "Flessingue", "Vlissingen", "Vlissingen"),
    ]),
    # Luxembourg: the twelve cantons.
    *_places("LU", "canton", [
        ("lu-capellen", "Capellen", "Capellen", "Capellen", "Capellen", "Kapellen"),
        ("lu-clervaux", "Clervaux", "Clervaux", "Clerf", "Clervaux", "Klierf"),
        ("lu-diekirch", "Diekirch", "Diekirch", "Diekirch", "Diekirch", "Diekrech"),
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
        ("de-nw-rb-duesseldorf", "Regierungsbezirk Düsseldorf", "District de Düsseldorf",
         "Regierungsbezirk Düsseldorf", "Düsseldorf Government Region"),
        ("de-nw-rb-koeln", "Regierungsbezirk Keulen", "District de Cologne", "Regierungsbezirk Köln",
         "Cologne Government Region"),
        ("de-nw-rb-muenster", "Regierungsbezirk Münster", "District de Münster", "Regierungsbezirk Münster",
         "Münster Government Region"),
        ("de-nw-rb-detmold", "Regierungsbezirk Detmold", "District de Detmold", "Regierungsbezirk Detmold",
         "Detmold Government Region"),
        ("de-nw-rb-arnsberg", "Regierungsbezirk Arnsberg", "District d'Arnsberg", "Regierungsbezirk Arnsberg",
         "Arnsberg Government Region"),
    ]),
    *_places("DE", "district", [
        ("de-nw-staedteregion-aachen", "Stedenregio Aken", "Région urbaine d'Aix-la-Chapelle",
         "Städteregion Aachen", "Aachen city region"),
        ("de-nw-kreis-kleve", "Kreis Kleef", "Arrondissement de Clèves", "Kreis Kleve", "Kleve district"),
        ("de-nw-kreis-wesel", "Kreis Wesel", "Arrondissement de Wesel", "Kreis Wesel", "Wesel district"),
        ("de-nw-kreis-viersen", "Kreis Viersen", "Arrondissement de Viersen", "Kreis Viersen",
         "Viersen district"),
        ("de-nw-kreis-mettmann", "Kreis Mettmann", "Arrondissement de Mettmann", "Kreis Mettmann",
         "Mettmann district"),
        ("de-nw-kreis-dueren", "Kreis Düren", "Arrondissement de Düren", "Kreis Düren", "Düren district"),
        ("de-nw-kreis-euskirchen", "Kreis Euskirchen", "Arrondissement d'Euskirchen", "Kreis Euskirchen",
         "Euskirchen district"),
        ("de-nw-kreis-heinsberg", "Kreis Heinsberg", "Arrondissement de Heinsberg", "Kreis Heinsberg",
         "Heinsberg district"),
        ("de-nw-kreis-borken", "Kreis Borken", "Arrondissement de Borken", "Kreis Borken", "Borken district"),
        ("de-nw-kreis-coesfeld", "Kreis Coesfeld", "Arrondissement de Coesfeld", "Kreis Coesfeld",
         "Coesfeld district"),
        ("de-nw-kreis-recklinghausen", "Kreis Recklinghausen", "Arrondissement de Recklinghausen",
         "Kreis Recklinghausen", "Recklinghausen district"),
        ("de-nw-kreis-steinfurt", "Kreis Steinfurt", "Arrondissement de Steinfurt", "Kreis Steinfurt",
         "Steinfurt district"),
        ("de-nw-kreis-warendorf", "Kreis Warendorf", "Arrondissement de Warendorf", "Kreis Warendorf",
         "Warendorf district"),
        ("de-nw-kreis-guetersloh", "Kreis Gütersloh", "Arrondissement de Gütersloh", "Kreis Gütersloh",
         "Gütersloh district"),
        ("de-nw-kreis-herford", "Kreis Herford", "Arrondissement de Herford", "Kreis Herford",
         "Herford district"),
        ("de-nw-kreis-hoexter", "Kreis Höxter", "Arrondissement de Höxter", "Kreis Höxter",
         "Höxter district"),
        ("de-nw-kreis-lippe", "Kreis Lippe", "Arrondissement de Lippe", "Kreis Lippe", "Lippe district"),
        ("de-nw-kreis-minden-luebbecke", "Kreis Minden-Lübbecke", "Arrondissement de Minden-Lübbecke",
         "Kreis Minden-Lübbecke", "Minden-Lübbecke district"),
        ("de-nw-kreis-paderborn", "Kreis Paderborn", "Arrondissement de Paderborn", "Kreis Paderborn",
         "Paderborn district"),
        ("de-nw-kreis-olpe", "Kreis Olpe", "Arrondissement d'Olpe", "Kreis Olpe", "Olpe district"),
        ("de-nw-kreis-siegen-wittgenstein",
         "Kreis Siegen-Wittgenstein", "Arrondissement de Siegen-Wittgenstein", "Kreis Siegen-Wittgenstein",
         "Siegen-Wittgenstein district"),
        ("de-nw-kreis-soest", "Kreis Soest", "Arrondissement de Soest", "Kreis Soest", "Soest district"),
        ("de-nw-kreis-unna", "Kreis Unna", "Arrondissement d'Unna", "Kreis Unna", "Unna district"),
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


def distinct_place_names(codes: list[str], language: str) -> list[str]:
    """Names in `language` as a warning lists them; namesakes (Limburg BE and NL) get their country: "Limburg (BE)"."""
    names = [place_name(code, language) for code in codes]
    return [f"{name} ({PLACES[code].country})" if names.count(name) > 1 else name
            for code, name in zip(codes, names, strict=True)]
