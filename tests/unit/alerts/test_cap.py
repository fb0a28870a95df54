"""CAP 1.2: building against the OASIS XSD, safe parsing of partner input, XML-DSig."""
from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from alerts.cap import CAP_NS, CapError, build_cap, parse_cap, validate_cap
from devtools.samples import (
    ACK,
    BILLION_LAUGHS,
    DTD_RETRIEVAL,
    EXTERNAL_ENTITY,
    LANGUAGES,
    PARAMETER_ENTITY,
    QUADRATIC,
    SENDER,
    WINTER,
    flood_content,
    make_key_and_cert,
    sample_cap,
    valid_cap,
)

NS = {"cap": CAP_NS}
HYPOTHESIS = settings(max_examples=200, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow])


def root_of(xml: bytes):
    return etree.fromstring(xml)


def local(element) -> str:
    return etree.QName(element).localname


# --- Build ----------------------------------------------------------------------------------------------

def test_four_language_be_nl_flood_alert_is_valid_cap_1_2():
    xml = valid_cap()
    assert validate_cap(xml) == []
    root = root_of(xml)
    assert root.tag == f"{{{CAP_NS}}}alert"
    assert [local(child) for child in root] == [
        "identifier", "sender", "sent", "status", "msgType", "scope", "info", "info", "info", "info"]
    assert root.findtext("cap:identifier", namespaces=NS) == "BE-2026-0042"
    assert root.findtext("cap:sender", namespaces=NS) == SENDER
    assert root.findtext("cap:scope", namespaces=NS) == "Public"


def test_validator_reports_schema_violations():
    root = root_of(valid_cap())
    status, msg_type = root[3], root[4]
    root.remove(status)
    msg_type.addnext(status)  # msgType before status: out of the schema's sequence
    assert any("status" in error for error in validate_cap(etree.tostring(root)))
    root = root_of(valid_cap())
    root.find("cap:info/cap:urgency", NS).text = "Soon"
    assert any("Soon" in error for error in validate_cap(etree.tostring(root)))
    assert validate_cap(b"<alert>") and validate_cap(b"<alert xmlns='urn:example'/>")


def test_one_info_per_language_with_tags_events_and_texts():
    content = flood_content()
    infos = root_of(sample_cap(content)).findall("cap:info", NS)
    assert [info.findtext("cap:language", namespaces=NS) for info in infos] == ["nl-BE", "fr-BE", "de-BE", "en-GB"]
    assert [info.findtext("cap:event", namespaces=NS) for info in infos] == [
        "Overstroming", "Inondation", "Hochwasser", "Flood"]
    for language, info in zip(LANGUAGES, infos, strict=True):
        assert info.findtext("cap:category", namespaces=NS) == "Met"
        for field in ("headline", "description", "instruction"):
            assert info.findtext(f"cap:{field}", namespaces=NS) == content["texts"][language][field]["body"]
        assert info.findtext("cap:web", namespaces=NS) == "https://crisiscentrum.be/maas"
        areas = info.findall("cap:area", NS)
        assert len(areas) == 2
        assert len(areas[1].findall("cap:polygon", NS)) == 2
        assert areas[0].findtext("cap:geocode/cap:value", namespaces=NS) == "70000"
    assert "Limburg (Nederland)" in content["texts"]["nl"]["headline"]["body"]


def area_descriptions(xml: bytes) -> dict[str, list[str]]:
    """{<language> of each <info>: its <areaDesc> texts in order}, read back from the XML."""
    return {info.findtext("cap:language", namespaces=NS): [e.text for e in info.iterfind("cap:area/cap:areaDesc", NS)]
            for info in root_of(xml).iterfind("cap:info", NS)}


def test_each_info_names_the_gazetteer_areas_in_its_own_language():
    xml = valid_cap()  # be-lim and nl-li, stored with the lead's Dutch descriptions "Limburg (BE)", "Limburg (NL)"
    assert validate_cap(xml) == []
    assert area_descriptions(xml) == {
        "nl-BE": ["Limburg (België)", "Limburg (Nederland)"],
        "fr-BE": ["Limbourg (Belgique)", "Limbourg (Pays-Bas)"],
        "de-BE": ["Limburg (Belgien)", "Limburg (Niederlande)"],
        "en-GB": ["Limburg (Belgium)", "Limburg (Netherlands)"],
    }


def _with_areas_and_luxembourgish(areas: list[dict]) -> dict:
    content = flood_content(participants=("LU", "BE"))
    content["areas"] = areas
    content["texts"]["lb"] = {field: {"body": f"{field} (lb)", "status": "human"}
                              for field in ("headline", "description", "instruction")}
    return content


def test_namesakes_of_another_kind_are_named_with_their_kind_in_every_info():
    content = _with_areas_and_luxembourgish([
        {"description": "Luik (BE)", "place": "be-lie"}, {"description": "Luik (BE)", "place": "be-liege"},
        {"description": "Kanton Lëtzebuerg", "place": "lu-luxembourg"},
        {"description": "Provincie Luxemburg", "place": "be-lux"},
    ])
    xml = sample_cap(content, languages=["nl", "fr", "de", "en", "lb"])
    assert validate_cap(xml) == []
    assert area_descriptions(xml) == {
        "nl-BE": ["Provincie Luik (België)", "Stad Luik (België)", "Kanton Luxemburg", "Provincie Luxemburg (België)"],
        "fr-LU": ["Province de Liège (Belgique)", "Ville de Liège (Belgique)", "Canton de Luxembourg",
                  "Province de Luxembourg (Belgique)"],
        "de-LU": ["Provinz Lüttich (Belgien)", "Stadt Lüttich (Belgien)", "Kanton Luxemburg",
                  "Provinz Luxemburg (Belgien)"],
        "en-GB": ["Province of Liège (Belgium)", "City of Liège (Belgium)", "Canton of Luxembourg",
                  "Province of Luxembourg (Belgium)"],
        "lb-LU": ["Provënz Lüttich (Belsch)", "Stad Lüttich (Belsch)", "Kanton Lëtzebuerg",
                  "Provënz Lëtzebuerg (Belsch)"],
    }


def test_typed_areas_keep_the_authors_words_in_every_info():
    content = _with_areas_and_luxembourgish([
        {"description": "Maasvallei tussen Visé en Luik", "polygons": ["50.7,5.6 50.8,5.7 50.6,5.7 50.7,5.6"]},
        {"description": "Atlantis (BE)", "place": "be-atlantis"},  # not (or no longer) in the gazetteer
        {"description": "Hoei (BE)", "place": "be-huy"},
    ])
    xml = sample_cap(content, languages=["nl", "fr", "lb"])
    assert validate_cap(xml) == []
    descriptions = area_descriptions(xml)
    assert [areas[:2] for areas in descriptions.values()] == [["Maasvallei tussen Visé en Luik", "Atlantis (BE)"]] * 3
    # the city, told from the arrondissement of Huy by its kind
    assert [areas[2] for areas in descriptions.values()] == ["Stad Hoei (België)", "Ville de Huy (Belgique)",
                                                             "Stad Huy (Belsch)"]


@pytest.mark.parametrize(("lead", "languages", "tags"), [
    ("NL", ["nl", "en"], ["nl-NL", "en-GB"]),
    ("LU", ["fr", "de"], ["fr-LU", "de-LU"]),
    ("DE-NW", ["de"], ["de-DE"]),
])
def test_language_tags_follow_the_lead_centre(lead, languages, tags):
    xml = sample_cap(flood_content(participants=(lead, "BE")), languages=languages)
    assert [e.text for e in root_of(xml).iterfind("cap:info/cap:language", NS)] == tags
    assert validate_cap(xml) == []


def test_language_tags_can_be_given():
    xml = sample_cap(languages=["nl", "de"], language_tags={"nl": "nl-NL", "de": "de-DE"})
    assert [e.text for e in root_of(xml).iterfind("cap:info/cap:language", NS)] == ["nl-NL", "de-DE"]


def test_times_carry_the_centre_offset_never_z_nor_fractions():
    winter = root_of(sample_cap())
    assert winter.findtext("cap:sent", namespaces=NS) == "2026-11-22T14:30:00+01:00"
    assert winter.findtext("cap:info/cap:onset", namespaces=NS) == "2026-11-22T14:00:00+01:00"
    assert winter.findtext("cap:info/cap:expires", namespaces=NS) == "2026-11-23T07:00:00+01:00"
    summer = root_of(sample_cap(sent=datetime(2026, 7, 14, 22, 15, tzinfo=UTC), timezone="Europe/Amsterdam"))
    assert summer.findtext("cap:sent", namespaces=NS) == "2026-07-15T00:15:00+02:00"
    stamps = [e.text for e in winter.iter(f"{{{CAP_NS}}}sent", f"{{{CAP_NS}}}onset", f"{{{CAP_NS}}}expires")]
    assert len(stamps) == 9
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", stamp) for stamp in stamps)
    with pytest.raises(CapError, match="naive"):
        sample_cap(sent=datetime(2026, 11, 22, 14, 30))


def test_update_and_cancel_reference_earlier_messages():
    earlier = f"{SENDER},BE-2026-0041,2026-11-22T14:00:00+01:00"
    as_dict = {"sender": "crisis@nl.example", "identifier": "NL-7", "sent": datetime(2026, 11, 22, 12, tzinfo=UTC)}
    for msg_type in ("Update", "Cancel"):
        xml = sample_cap(flood_content(msg_type=msg_type), references=[earlier, as_dict])
        root = root_of(xml)
        assert root.findtext("cap:msgType", namespaces=NS) == msg_type
        assert root.findtext("cap:references", namespaces=NS) == (
            f"{earlier} crisis@nl.example,NL-7,2026-11-22T13:00:00+01:00")
        assert validate_cap(xml) == []
        with pytest.raises(CapError, match=f"{msg_type} must reference"):
            sample_cap(flood_content(msg_type=msg_type))
    with pytest.raises(CapError, match="sender,identifier,sent"):
        sample_cap(flood_content(msg_type="Update"), references=["BE-2026-0041"])
    with pytest.raises(CapError, match="spaces"):
        sample_cap(flood_content(msg_type="Cancel"), references=["a b,c,2026-11-22T14:00:00+01:00"])


def test_headline_limit_is_160_characters():
    content = flood_content()
    content["texts"]["fr"]["headline"]["body"] = "x" * 160
    assert validate_cap(sample_cap(content)) == []
    assert all(len(e.text) <= 160 for e in root_of(sample_cap()).iterfind("cap:info/cap:headline", NS))
    content["texts"]["fr"]["headline"]["body"] = "x" * 161
    with pytest.raises(CapError, match="headline in 'fr' has 161 characters"):
        sample_cap(content)


@pytest.mark.parametrize(("status", "note"), [
    ("Exercise", "Exercise: not a real emergency"), ("Test", "Test: not a real emergency"), ("Actual", None)])
def test_exercise_and_test_carry_a_note(status, note):
    xml = sample_cap(flood_content(status=status))
    root = root_of(xml)
    assert root.findtext("cap:status", namespaces=NS) == status
    assert root.findtext("cap:note", namespaces=NS) == note
    assert validate_cap(xml) == []


def test_missing_language_and_bad_identifier_are_refused():
    with pytest.raises(CapError, match="no texts in language 'lb'"):
        sample_cap(languages=["nl", "lb"], language_tags={"lb": "lb-LU"})
    with pytest.raises(CapError, match="identifier"):
        build_cap({"identifier": "BE 1"}, flood_content(), sender=SENDER, sent=WINTER, timezone="Europe/Brussels",
                  languages=["nl"])


# --- Parse ----------------------------------------------------------------------------------------------

def test_parse_reads_back_the_main_fields():
    earlier = f"{SENDER},BE-2026-0041,2026-11-22T14:00:00+01:00"
    parsed = parse_cap(sample_cap(flood_content(status="Exercise", msg_type="Update"), references=[earlier]))
    assert parsed["identifier"] == "BE-2026-0042"
    assert parsed["sender"] == SENDER
    assert parsed["sent"] == "2026-11-22T14:30:00+01:00"
    assert parsed["sent_at"] == WINTER.replace(microsecond=0)
    assert (parsed["status"], parsed["msgType"]) == ("Exercise", "Update")
    assert parsed["references"] == [
        {"sender": SENDER, "identifier": "BE-2026-0041", "sent": "2026-11-22T14:00:00+01:00"}]
    assert [info["language"] for info in parsed["infos"]] == ["nl-BE", "fr-BE", "de-BE", "en-GB"]
    assert parsed["infos"][1]["headline"].startswith("Inondations")


def test_a_partner_ack_is_parsed():
    parsed = parse_cap(ACK % b"<references>benelert@be.crisis,BE-2026-0042,2026-11-22T14:30:00+01:00</references>")
    assert parsed["msgType"] == "Ack"
    assert parsed["identifier"] == "NL-ACK-1"
    assert parsed["references"] == [
        {"sender": "benelert@be.crisis", "identifier": "BE-2026-0042", "sent": "2026-11-22T14:30:00+01:00"}]
    assert parsed["infos"] == []
    with pytest.raises(CapError, match="Ack must carry references"):
        parse_cap(ACK % b"")
    with pytest.raises(CapError, match="malformed CAP reference"):
        parse_cap(ACK % b"<references>BE-2026-0042</references>")


def test_sent_at_24_00_is_the_first_instant_of_the_next_day():
    """xs:dateTime allows T24:00:00 for the end of a day; a partner system that writes it is not refused."""
    data = ACK.replace(b"2026-11-22T14:31:05+01:00", b"2026-12-31T24:00:00+01:00") % (
        b"<references>benelert@be.crisis,BE-2026-0042,2026-11-22T14:30:00+01:00</references>")
    parsed = parse_cap(data)
    assert parsed["sent"] == "2026-12-31T24:00:00+01:00"
    assert parsed["sent_at"] == datetime(2027, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=1)))
    with pytest.raises(CapError, match="not a valid CAP 1.2 message|unreadable CAP sent time"):
        parse_cap(ACK.replace(b"2026-11-22T14:31:05+01:00", b"2026-12-31T24:00:01+01:00") % b"")


@pytest.mark.parametrize(("data", "message"), [
    (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>x</alert>", "malformed XML: mismatched tag"),
    (b"", "malformed XML"),
    (b"\xff\xfe\x00garbage", "malformed XML"),
    (b"<alert>&undefined;</alert>", "malformed XML: undefined entity"),
    (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'>" + b" " * 1_048_576 + b"</alert>", "too large"),
    (BILLION_LAUGHS, "DTDs are not allowed"),
    (QUADRATIC, "DTDs are not allowed"),
    (EXTERNAL_ENTITY, "DTDs are not allowed"),
    (DTD_RETRIEVAL, "DTDs are not allowed"),
    (PARAMETER_ENTITY, "DTDs are not allowed"),
    (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>x</identifier></alert>",
     "not a valid CAP 1.2 message"),
    (b"<value xmlns='urn:oasis:names:tc:emergency:cap:1.2'>x</value>", "root element must be <alert>"),
], ids=["malformed", "empty", "binary", "undefined-entity", "oversized", "billion-laughs", "quadratic-blowup",
        "external-entity", "dtd-retrieval", "parameter-entity", "schema-invalid", "wrong-root"])
def test_bad_input_is_refused_with_a_clear_message(data, message):
    with pytest.raises(CapError, match=message) as refused:
        parse_cap(data)
    assert "root:" not in str(refused.value) and "lollol" not in str(refused.value)


def test_size_limit_is_configurable():
    assert parse_cap(valid_cap(), max_bytes=len(valid_cap()))["identifier"] == "BE-2026-0042"
    with pytest.raises(CapError, match=f"{len(valid_cap())} bytes, at most 1000"):
        parse_cap(valid_cap(), max_bytes=1000)


def test_a_dtd_is_never_fetched():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        listener.settimeout(0.3)
        for doctype in (f'<!DOCTYPE alert SYSTEM "http://127.0.0.1:{port}/x.dtd">',
                        f'<!DOCTYPE alert [<!ENTITY % e SYSTEM "http://127.0.0.1:{port}/e.dtd"> %e;]>'):
            data = (f'<?xml version="1.0"?>{doctype}<alert xmlns="{CAP_NS}"><identifier>x</identifier></alert>')
            with pytest.raises(CapError, match="DTD"):
                parse_cap(data.encode())
            assert validate_cap(data.encode()) != []
        with pytest.raises(TimeoutError):
            listener.accept()


XMLISH = st.lists(st.sampled_from([
    "<", ">", "</", "/>", "alert", "info", "identifier", "msgType", "Ack", " ", "=", '"', "'", "&", ";", "&amp;",
    "<!DOCTYPE a [", "<!ENTITY e 'x'>", "]>", "&e;", "<?xml version='1.0'?>", "<?xml version='1.0' encoding='",
    "latin-1", "utf-16", "'?>", f' xmlns="{CAP_NS}"', "<![CDATA[", "]]>", "<!--", "-->", "é", "\x00", "𝔘",
]), max_size=40).map("".join)


@HYPOTHESIS
@given(st.binary(max_size=3000))
def test_random_bytes_only_ever_raise_cap_error(data):
    try:
        parse_cap(data)
    except CapError:
        pass


@HYPOTHESIS
@given(XMLISH, st.sampled_from(["utf-8", "utf-16", "latin-1"]))
def test_xmlish_text_only_ever_raises_cap_error(text, encoding):
    try:
        parse_cap(text.encode(encoding, errors="replace"))
    except CapError:
        pass


@HYPOTHESIS
@given(st.integers(0, 6000), st.integers(0, 200), st.binary(max_size=60) | XMLISH.map(str.encode))
def test_damaged_cap_only_ever_raises_cap_error(start, length, insert):
    original = valid_cap()
    data = original[:start] + insert + original[start + length:]
    try:
        parsed = parse_cap(data)
    except CapError:
        return
    assert validate_cap(data) == [] and parsed["identifier"]


# --- XML-DSig -------------------------------------------------------------------------------------------

def test_signed_cap_verifies_stays_valid_and_detects_tampering():
    from alerts.cap import sign_cap, verify_cap_signature

    key_pem, cert_pem = make_key_and_cert()
    signed = sign_cap(valid_cap(), key_pem, cert_pem)
    assert validate_cap(signed) == []
    assert parse_cap(signed)["signed"] is True and parse_cap(valid_cap())["signed"] is False
    assert local(root_of(signed)[-1]) == "Signature"
    assert b"Overstroming" in verify_cap_signature(signed, cert_pem)
    with pytest.raises(CapError, match="signature invalid"):
        verify_cap_signature(signed.replace(b"Overstroming", b"Overstromingen"), cert_pem)
    with pytest.raises(CapError, match="signature invalid"):
        verify_cap_signature(signed, make_key_and_cert("Someone else")[1])
    with pytest.raises(CapError, match="signature invalid"):
        verify_cap_signature(valid_cap(), cert_pem)
    with pytest.raises(CapError, match="DTD"):
        verify_cap_signature(DTD_RETRIEVAL, cert_pem)


def test_a_circle_is_a_cap_circle_after_the_polygons_and_valid_against_the_schema():
    content = flood_content()
    content["areas"] = [{"description": "Around Maaseik", "place": None, "polygons": [], "geocodes": [],
                         "circles": ["51.098,5.787 7.5"]},
                        {"description": "Maas", "place": None, "polygons": ["51.0,5.7 51.1,5.7 51.1,5.8 51.0,5.7"],
                         "circles": ["51.05,5.75 2"], "geocodes": [{"name": "ISO3166-2", "value": "BE-VLI"}]}]
    xml = build_cap({"identifier": "benelert-be-1"}, content, sender=SENDER, sent=WINTER, timezone="Europe/Brussels",
                    languages=["nl"])
    assert validate_cap(xml) == []
    areas = root_of(xml).findall("cap:info/cap:area", NS)
    assert areas[0].findtext("cap:circle", namespaces=NS) == "51.098,5.787 7.5"
    assert [local(child) for child in areas[1]] == ["areaDesc", "polygon", "circle", "geocode"]
