"""Fuzzing the parsers that face other organisations: incoming CAP (parse, validate, verify), JSON and CAP acks,
Twilio's signed callbacks and the subscriber CSV import.

Any input is read or refused with our documented error (CapError, ValueError for Twilio's parameters, an error
entry for a CSV line; over HTTP a 4xx problem+json), never another exception, a 500 or a half-written database.
XML bombs of every kind are refused, and nothing they point at is ever fetched.

Beside random bytes the strategies mutate valid messages: CAP elements dropped, duplicated, reordered, moved to
another namespace, given huge or odd text and bad dates, then written in several encodings with or without a BOM;
CSV rows with bad numbers, quotes, delimiters, long lines and many columns; Twilio parameters with mangled values.
Hypothesis runs derandomized with bounded example counts, so CI sees the same inputs every run; the number of
inputs fuzzed is printed at the end of the module.
"""
from __future__ import annotations

import codecs
import json
import re
import threading
import urllib.request
from collections import Counter
from copy import deepcopy
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator
from werkzeug.http import parse_options_header

from alerts.cap import CAP_NS, MAX_BYTES, CapError, parse_cap, sign_cap, validate_cap, verify_cap_signature
from alerts.exchange import ACK_MAX_BYTES
from alerts.gazetteer import PLACES
from alerts.import_jobs import run_next
from alerts.models import Ack, AuditEvent, Delivery, Subscriber, SubscriberArea
from alerts.outcomes import apply_held_reports
from alerts.subscribers_csv import parse_subscribers_csv
from alerts.vocabulary import LANGUAGES
from channels import build_channels
from channels.sms import parse_status_callback
from devtools.samples import ACK, BILLION_LAUGHS, QUADRATIC, make_key_and_cert, valid_cap
from devtools.world import add_subscribers, wired_app, write_channels_file
from tests.unit.alerts.test_exchange import cap_ack, reference_to, release_alert
from web.api.subscribers import NOT_CHARSETS

PURE = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
HTTP = settings(max_examples=80, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FUZZED: Counter = Counter()  # inputs tried per test, printed at the end of the module
OUTCOMES: Counter = Counter()  # HTTP answers seen, to show the fuzzing reaches the accepting paths too
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
XI_NS = "http://www.w3.org/2001/XInclude"
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
OPT_OUT_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}  # Twilio's list
KNOWN_AREAS = frozenset(PLACES)


@pytest.fixture(scope="module", autouse=True)
def fuzz_report(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and FUZZED:
        details = ", ".join(f"{name} {count}" for name, count in sorted(FUZZED.items()))
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\n{__name__}: {sum(FUZZED.values())} inputs fuzzed ({details})")
            reporter.write_line("HTTP answers: " + ", ".join(f"{key}: {n}" for key, n in sorted(OUTCOMES.items())))


def is_problem(response) -> bool:
    return response.mimetype == "application/problem+json" and response.get_json()["status"] == response.status_code


# --- Structured CAP inputs -----------------------------------------------------------------------------------

def xml_text(text: str) -> str:
    """`text` without the characters XML 1.0 cannot carry (the byte-level damage below adds those)."""
    return "".join(c for c in text if c in "\t\n\r" or " " <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd"
                   or c >= "\U00010000")


CAP_TAGS = ["identifier", "sender", "sent", "status", "msgType", "source", "scope", "restriction", "addresses",
            "code", "note", "references", "incidents", "info", "language", "category", "event", "urgency",
            "headline", "area", "areaDesc", "polygon", "geocode", "value", "Signature"]
NAMESPACES = ["", "urn:oasis:names:tc:emergency:cap:1.1", "urn:oasis:names:tc:emergency:cap:1.2 ", DSIG_NS, XI_NS,
              "urn:evil"]
ODD_TEXTS = [
    "2026-02-30T10:00:00+01:00", "2026-13-01T00:00:00+01:00", "2026-11-22T24:00:00+01:00", "2026-11-22T14:30:00Z",
    "2026-11-22T14:30:00", "2026-11-22T14:30:00.5+01:00", "0000-01-01T00:00:00+00:00", "9999-12-31T23:59:59+14:00",
    "2026-11-22T14:30:00+25:00", "2026-11-22T14:30:00-00:00", "٢٠٢٦-١١-٢٢T١٤:٣٠:٠٠+٠١:٠٠",
    " 2026-11-22T14:30:00+01:00 ",
    "a,b,2026-11-22T14:30:00+01:00", "a,b", ",,", "a,b,c,d", "a,b,c a,b,c", "\u00a0", "Ack", "Actual", "Public",
    "\u202e\u200b", "🌊" * 50,
]
TEXTS = st.text(max_size=40).map(xml_text) | st.sampled_from(ODD_TEXTS)
OPS = ["drop", "duplicate", "swap", "namespace", "rename", "text", "sent", "references", "attribute", "child",
       "comment", "huge"]
MUTATIONS = st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 500), st.integers(0, 500), TEXTS), max_size=4)
TRANSPARENT = ["utf-8", "utf-8-bom", "utf-16", "utf-16-le-bom", "utf-16-be-bom", "iso-8859-1", "us-ascii", "bare"]
ENCODINGS = st.sampled_from(TRANSPARENT + ["utf-32", "windows-1252", "latin-1-declared-utf-8", "utf-8-bom-utf-16",
                                          "utf-16-no-bom", "leading-space"])
FRAGMENTS = [b"\x00", b"&#0;", b"&#xD800;", b"]]>", b"<!DOCTYPE alert [", b"&lol;", b"\xef\xbb\xbf", b"\xff\xfe",
             b"<", b"</", b"&", b"\xc3", b"\xed\xa0\x80", b"<![CDATA[", b"<?xml version='1.0'?>", b"--"]
DAMAGE = st.none() | st.tuples(st.integers(0, 20_000), st.integers(0, 40),
                               st.sampled_from(FRAGMENTS) | st.binary(max_size=8))


def mutate(base: bytes, mutations) -> etree._Element:
    root = etree.fromstring(base)
    for op, i, j, text in mutations:
        elements = [element for element in root.iter() if isinstance(element.tag, str)]
        element = elements[i % len(elements)]
        parent = element.getparent()
        if op == "drop" and parent is not None:
            parent.remove(element)
        elif op == "duplicate" and parent is not None:
            parent.insert(parent.index(element), deepcopy(element))
        elif op == "swap" and parent is not None:
            children = list(parent)
            a, b = children.index(element), j % len(children)
            children[a], children[b] = children[b], children[a]
            parent[:] = children
        elif op == "namespace":
            namespace, local = NAMESPACES[j % len(NAMESPACES)], etree.QName(element).localname
            element.tag = f"{{{namespace}}}{local}" if namespace else local
        elif op == "rename":
            element.tag = f"{{{CAP_NS}}}{CAP_TAGS[j % len(CAP_TAGS)]}"
        elif op == "text":
            element.text = text
        elif op == "huge":  # over the 64 KiB of an ack, or over the 1 MiB of any CAP message
            element.text = "x" * (70_000 if j % 3 else 1_100_000)
        elif op in ("sent", "references"):
            target = root.find(f"{{{CAP_NS}}}{op}")
            if target is None:
                target = etree.SubElement(root, f"{{{CAP_NS}}}{op}")
            target.text = text
        elif op == "attribute":
            element.set(f"a{j}", text)
        elif op == "child":
            etree.SubElement(element, f"{{{CAP_NS}}}{CAP_TAGS[j % len(CAP_TAGS)]}").text = text
        elif op == "comment":
            element.append(etree.Comment(text.replace("-", "_")))
    return root


def encode(root: etree._Element, how: str) -> bytes:
    declared = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    text = etree.tostring(root, encoding="unicode")
    if how in ("utf-8", "utf-16", "iso-8859-1", "us-ascii", "utf-32", "windows-1252"):
        return etree.tostring(root, xml_declaration=True, encoding=how.upper())
    if how == "utf-8-bom":
        return b"\xef\xbb\xbf" + declared
    if how in ("utf-16-le-bom", "utf-16-be-bom"):
        bom, codec = (b"\xff\xfe", "utf-16-le") if how == "utf-16-le-bom" else (b"\xfe\xff", "utf-16-be")
        return bom + ('<?xml version="1.0" encoding="UTF-16"?>' + text).encode(codec)
    if how == "bare":
        return etree.tostring(root)  # no declaration: UTF-8, non-ASCII as character references
    if how == "latin-1-declared-utf-8":
        return ('<?xml version="1.0" encoding="UTF-8"?>' + text).encode("latin-1", errors="replace")
    if how == "utf-8-bom-utf-16":
        return b"\xef\xbb\xbf" + etree.tostring(root, xml_declaration=True, encoding="UTF-16")
    if how == "utf-16-no-bom":
        return ('<?xml version="1.0" encoding="UTF-16"?>' + text).encode("utf-16-le")
    assert how == "leading-space"
    return b" \n" + declared  # a declaration must come first


def render(base: bytes, mutations, how: str, damage) -> bytes:
    data = encode(mutate(base, mutations), how)
    if damage is not None:
        start, length, insert = damage
        start %= len(data) + 1
        data = data[:start] + insert + data[start + length:]
    return data


CAP_INPUTS = st.tuples(MUTATIONS, ENCODINGS, DAMAGE)


def pristine(mutations, how, damage) -> bool:
    return not mutations and how in TRANSPARENT and damage is None


PARTNER_ACK = ACK % b"<references>benelert@be.crisis,BE-2026-0042,2026-11-22T14:30:00+01:00</references>"


@cache
def signed_cap() -> tuple[bytes, bytes, bytes]:
    """A signed flood alert, the certificate and the bytes verify_cap_signature returns for it."""
    key_pem, cert_pem = make_key_and_cert()
    signed = sign_cap(valid_cap(), key_pem, cert_pem)
    return signed, cert_pem, verify_cap_signature(signed, cert_pem)


def assert_sane(parsed: dict) -> None:
    assert parsed["identifier"] and parsed["sender"] and parsed["sent_at"].tzinfo is not None
    assert parsed["msgType"] in ("Alert", "Update", "Cancel", "Ack", "Error")
    for reference in parsed["references"]:
        assert all(reference[key] and not re.search(r"[\s,]", reference[key])
                   for key in ("sender", "identifier", "sent"))


@PURE
@given(st.sampled_from(["ack", "alert"]), CAP_INPUTS)
def test_mutated_cap_is_read_or_refused_with_cap_error(which, case):
    FUZZED["cap mutated (parse_cap, validate_cap)"] += 1
    base = PARTNER_ACK if which == "ack" else valid_cap()
    data = render(base, *case)
    errors = validate_cap(data)
    assert isinstance(errors, list) and all(isinstance(error, str) and error for error in errors)
    try:
        parsed = parse_cap(data)
    except CapError as error:
        assert str(error) and not pristine(*case), (case, error)
        return
    assert errors == [], "parse_cap accepted what the XSD refuses"
    assert_sane(parsed)
    if pristine(*case):  # an encoding changes nothing that is read
        assert parsed == parse_cap(base)


@PURE
@given(st.binary(max_size=4000) | st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff"])
       .flatmap(lambda bom: st.binary(max_size=200).map(lambda tail: bom + tail)))
def test_random_bytes_are_refused_with_cap_error(data):
    FUZZED["cap random bytes (parse_cap, validate_cap, verify)"] += 1
    assert validate_cap(data) != []
    with pytest.raises(CapError):
        parse_cap(data)
    with pytest.raises(CapError):
        verify_cap_signature(data, signed_cap()[1])


@settings(PURE, max_examples=200)
@given(CAP_INPUTS)
def test_a_mutated_signed_cap_verifies_only_as_exactly_what_was_signed(case):
    FUZZED["cap signed mutated (verify_cap_signature)"] += 1
    signed, cert_pem, what_was_signed = signed_cap()
    data = render(signed, *case)
    try:
        verified = verify_cap_signature(data, cert_pem)
    except CapError as error:
        assert str(error) and not pristine(*case), (case, error)
        return
    assert verified == what_was_signed  # whatever the wrapping, only the signed content comes out


def test_a_signature_schema_error_is_a_cap_error():
    """Regression: signxml's own schema check raised lxml's DocumentInvalid instead of CapError."""
    signed, cert_pem, _ = signed_cap()
    broken = signed.replace(b"<ds:X509Certificate>", b"<ds:X509Certificate>A")  # base64 of a wrong length
    with pytest.raises(CapError, match="signature invalid"):
        verify_cap_signature(broken, cert_pem)


# --- Twilio parameters (pure) ----------------------------------------------------------------------------------

@PURE
@given(st.dictionaries(st.sampled_from(["MessageSid", "MessageStatus", "SmsSid", "To"]) | st.text(max_size=8),
                       st.text(max_size=40) | st.sampled_from(["SM" + "a" * 32, "MM" + "0" * 32, "delivered"]),
                       max_size=5))
def test_status_callback_params_are_read_or_refused_with_value_error(params):
    FUZZED["twilio params (parse_status_callback)"] += 1
    try:
        sid, status = parse_status_callback(params)
    except ValueError as error:
        assert str(error)
        return
    assert re.fullmatch(r"(SM|MM)[0-9a-fA-F]{32}", sid) and status == params["MessageStatus"]


@pytest.mark.parametrize("sid", ["SM\x00", "SM" + "a" * 32 + "\n", "SM" + "a" * 31, "SM" + "g" * 32, "SMx"])
def test_a_status_callback_sid_must_look_like_twilios(sid):
    """Regression: any 'SM...' string was a sid; one with a NUL made PostgreSQL fail the request (500)."""
    with pytest.raises(ValueError, match="MessageSid"):
        parse_status_callback({"MessageSid": sid, "MessageStatus": "delivered"})


# --- Subscriber CSV (pure) --------------------------------------------------------------------------------------

HEADER_NAMES = ["phone", "language", "areas"]
PLACE_LIST = sorted(PLACES)
PHONE_FORMATS = [lambda d: f"+32470{d}", lambda d: f"0470 {d[:2]} {d[2:4]} {d[4:]}", lambda d: f"0470{d}",
                 lambda d: f"0032470{d}", lambda d: f"0470.{d[:2]}.{d[2:4]}.{d[4:]}", lambda d: f"+32 470-{d}"]
# (kind, harmful): a harmless mutation must not change what is read
ROW_MUTATIONS = [("bad-phone", True), ("long-phone", True), ("bad-language", True), ("upper-language", False),
                 ("unknown-area", True), ("no-area", True), ("quoted", False), ("extra-columns", False),
                 ("many-columns", False), ("missing-column", True), ("unbalanced-quote", True),
                 ("quoted-newline", True), ("long-line", True), ("nul", True), ("semicolons", True),
                 ("tabs", True), ("area-spaces", False)]


HEADER_VARIANTS = {name: st.sampled_from([name, name.upper(), f" {name} ", f'"{name}"']) for name in HEADER_NAMES}
BAD_HEADERS = st.sampled_from([["phone", "language"], ["phone;language;areas"], ["telephone", "lang", "areas"], []])
ROW = st.tuples(st.sampled_from(PHONE_FORMATS), st.sampled_from(LANGUAGES),
                st.lists(st.sampled_from(PLACE_LIST), min_size=1, max_size=3),
                st.none() | st.none() | st.sampled_from(ROW_MUTATIONS), st.integers(0, 2000),
                st.text(max_size=20).filter(lambda t: "," not in t and "\n" not in t and "\r" not in t),
                st.sampled_from(["es", "NLD", "", "n l", "xx"]), st.sampled_from(HEADER_NAMES),
                st.sampled_from([None, None, None, None, "", " ", ",,", " , , "]))


@st.composite
def subscriber_csvs(draw):
    """(text, the rows it should give, or None when something harmful was done to it)."""
    digits = draw(st.lists(st.integers(0, 999_999), max_size=8, unique=True))
    columns = [HEADER_NAMES[i] for i in draw(st.permutations(range(3)))]
    header = [draw(HEADER_VARIANTS[name]) for name in columns] if draw(st.booleans()) else columns
    harmful = draw(st.integers(0, 9)) == 0
    if harmful:
        header = draw(BAD_HEADERS)
    lines, expected = [",".join(header)], []
    for number in digits:
        d = f"{number:06d}"
        phone_format, language, areas, mutation, size, junk, bad_language, column, blank = draw(ROW)
        fields = {"phone": phone_format(d), "language": language, "areas": ";".join(areas)}
        kind, hurts = mutation or (None, False)
        tail = []
        if kind == "bad-phone":
            fields["phone"] = junk
        elif kind == "long-phone":
            fields["phone"] = "0470" + "1" * (20 + size % 400)
        elif kind == "bad-language":
            fields["language"] = bad_language
        elif kind == "upper-language":
            fields["language"] = f" {language.upper()} "
        elif kind == "unknown-area":
            fields["areas"] += ";atlantis"
        elif kind == "no-area":
            fields["areas"] = ["", ";", " ; ; "][size % 3]
        elif kind == "quoted":
            fields = {key: f'"{value}"' for key, value in fields.items()}
        elif kind == "extra-columns":
            tail = ["note", "x" * (size % 50)]
        elif kind == "many-columns":
            tail = ["c"] * (10 + size)
        elif kind == "missing-column":
            del fields[column]
        elif kind == "unbalanced-quote":
            fields["phone"] = '"' + fields["phone"]
        elif kind == "quoted-newline":
            fields["areas"] = f'"{areas[0]}\n{";".join(areas)}"'
        elif kind == "long-line":
            tail = ['"' + "y" * 140_000 + '"']  # beyond the csv module's field size limit
        elif kind == "nul":
            fields["language"] += "\x00"
        elif kind in ("semicolons", "tabs"):
            fields = {"phone": (";" if kind == "semicolons" else "\t").join(fields[name] for name in columns)}
        elif kind == "area-spaces":
            fields["areas"] = " ; ".join(areas) + " ;"
        harmful |= hurts
        columns_here = ["phone"] if kind in ("semicolons", "tabs") else columns
        lines.append(",".join([fields[name] for name in columns_here if name in fields] + tail))
        expected.append({"phone": f"+32470{d}", "language": language, "areas": list(dict.fromkeys(areas)),
                         "location": None})
        if blank is not None:
            lines.append(blank)  # blank lines are skipped
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = draw(st.sampled_from(["", "\ufeff"])) + newline.join(lines) + draw(st.sampled_from(["", newline]))
    if draw(st.integers(0, 9)) == 0:
        text += draw(st.text(max_size=60))
        harmful = True
    return text, None if harmful else expected


def check_csv_result(text: str, rows: list[dict], errors: list[dict]) -> None:
    lines = text.count("\n") + text.count("\r") + 2
    assert all(set(row) == {"phone", "language", "areas", "location"} for row in rows)
    assert all(E164.fullmatch(row["phone"]) and row["language"] in LANGUAGES for row in rows)
    assert all((row["areas"] or row["location"]) and set(row["areas"]) <= KNOWN_AREAS
               and len(set(row["areas"])) == len(row["areas"]) for row in rows)
    assert all(row["location"] is None or (-90 <= row["location"][0] <= 90 and -180 <= row["location"][1] <= 180)
               for row in rows)
    assert len({row["phone"] for row in rows}) == len(rows)
    assert all(isinstance(error["line"], int) and 1 <= error["line"] <= lines and error["error"] for error in errors)
    assert [error["line"] for error in errors] == sorted(error["line"] for error in errors)


@PURE
@given(subscriber_csvs())
def test_mutated_subscriber_csv_is_read_or_reported_per_line(case):
    FUZZED["csv mutated (parse_subscribers_csv)"] += 1
    text, expected = case
    rows, errors = parse_subscribers_csv(text, "BE", KNOWN_AREAS, frozenset(LANGUAGES))
    check_csv_result(text, rows, errors)
    if expected is not None:
        assert errors == [] and rows == expected


@PURE
@given(st.text(max_size=500) | st.binary(max_size=500).map(lambda b: b.decode("latin-1")))
def test_random_text_as_subscriber_csv_never_raises(text):
    FUZZED["csv random text (parse_subscribers_csv)"] += 1
    rows, errors = parse_subscribers_csv("phone,language,areas\n" + text, "BE", KNOWN_AREAS, frozenset(LANGUAGES))
    check_csv_result("phone,language,areas\n" + text, rows, errors)


# --- HTTP: acks and Twilio callbacks about a released alert ---------------------------------------------------

@pytest.fixture
def released(make_app, tmp_path, api_as):
    """A live BE+NL flood alert released to BE's national system, LU's partner endpoint and 5 BE SMS subscribers;
    API clients for an LU and an NL partner."""
    with wired_app(make_app, tmp_path) as (app, db, fakes, config):
        phones = add_subscribers(db, "BE", 5)
        alert = release_alert((app, db, fakes, build_channels(config)), api_as,
                              channels={"BE": ["national", "partners", "sms"]})
        yield SimpleNamespace(app=app, db=db, alert_id=alert["id"], identifier=alert["identifier"], phones=phones,
                              reference=reference_to(fakes.cap.messages[0]), lu=api_as("LU", "partner"),
                              nl=api_as("NL", "partner"),
                              token=config["sms"]["auth_token"])


def counts(db, *models) -> tuple[int, ...]:
    with db.transaction() as session:
        return tuple(session.scalar(select(func.count()).select_from(model)) for model in models)


def subscribers(db) -> dict:
    """phone -> (language, opted out, sorted areas)."""
    with db.transaction() as session:
        areas: dict[int, list[str]] = {}
        for sid, place in session.execute(select(SubscriberArea.subscriber_id, SubscriberArea.place)):
            areas.setdefault(sid, []).append(place)
        return {phone: (language, opted_out is not None, sorted(areas.get(sid, [])))
                for sid, phone, language, opted_out in session.execute(
                    select(Subscriber.id, Subscriber.phone, Subscriber.language, Subscriber.opted_out_at))}


def deliveries(db) -> dict:
    """SMS ledger rows by provider id: (state, provider status, delivered, error)."""
    with db.transaction() as session:
        return {row.provider_id: (row.state, row.provider_status, row.delivered_at is not None, row.error)
                for row in session.scalars(select(Delivery).where(Delivery.channel == "sms"))}


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=8), inner, max_size=4), max_leaves=12)
CAP_TYPES = ["application/cap+xml", "application/xml", "text/xml", "application/cap+xml; charset=latin-1"]
OTHER_TYPES = ["application/json", "application/json; charset=utf-16", "text/plain", "multipart/form-data",
               "application/x-www-form-urlencoded", ""]


def spoiled(valid, spoilers: dict):
    """`valid` dicts, and as many with one field replaced by a value drawn from `spoilers[field]`, or removed."""
    remove = object()

    def spoil(body: dict, field: str, value) -> dict:
        return {key: item for key, item in body.items() if key != field} | ({} if value is remove else {field: value})

    one_spoiled = st.tuples(valid, st.sampled_from(sorted(spoilers))).flatmap(
        lambda pair: (spoilers[pair[1]] | st.just(remove)).map(lambda value: spoil(*pair, value)))
    return st.booleans().flatmap(lambda spoil: one_spoiled if spoil else valid)


def ack_requests(identifier: str, reference: str):
    """(content type, body, query) for POST /api/v1/acks, around the real alert and the CAP reference to it."""
    valid = st.fixed_dictionaries({"identifier": st.just(identifier), "kind": st.sampled_from(["received", "read"])},
                                  optional={"centre": st.just("LU")})
    json_acks = spoiled(valid, {
        "identifier": st.sampled_from([identifier.upper(), identifier + "x", "", "x" * 81, identifier + "\x00", "\x00"])
        | st.text(max_size=30) | JSON_VALUES,
        "kind": st.sampled_from(["READ", "", "seen", "read\x00"]) | JSON_VALUES,
        "centre": st.sampled_from(["BE", "lu", "", "x" * 17, "LU\x00"]) | JSON_VALUES,
        "extra": JSON_VALUES})
    base = cap_ack(reference)
    queries = st.sampled_from(["", "?kind=read", "?kind=received", "?kind=READ", "?kind=%00"])
    return st.one_of(
        st.tuples(st.just("application/json"), json_acks.map(lambda body: json.dumps(body).encode()), queries),
        st.tuples(st.sampled_from(CAP_TYPES), st.just(base) | CAP_INPUTS.map(lambda case: render(base, *case)),
                  queries),
        st.tuples(st.just("application/json"), JSON_VALUES.map(lambda body: json.dumps(body).encode()), queries),
        st.tuples(st.just("application/json"), st.integers(900, 120_000).map(lambda n: b"[" * n + b"]" * n), queries),
        st.tuples(st.sampled_from(CAP_TYPES + OTHER_TYPES), st.binary(max_size=2000), queries),
    )


STATUSES = ["accepted", "scheduled", "canceled", "queued", "sending", "sent", "delivered", "undelivered", "failed",
            "read"]
TWILIO_KEYS = ["To", "From", "AccountSid", "ApiVersion", "ErrorCode", "SmsStatus", "SmsSid", "NumSegments"]


def mangled(value: str):
    """Variants of a valid value that are no longer valid (an unknown but well-formed sid would be waited for)."""
    return st.sampled_from([value[:-1], value + "0", value[:2] + "\x00" + value[3:], "XX" + value[2:],
                            value.lower(), f" {value}", value + "\n", value + "\x00", ""])


def callback_requests(sids: list[str], phones: list[str]):
    """(path, params, how to sign) for Twilio's status and inbound-SMS webhooks."""
    extras = st.dictionaries(st.sampled_from(TWILIO_KEYS) | st.text(min_size=1, max_size=10), st.text(max_size=30),
                             max_size=4)
    status_params = spoiled(st.builds(lambda extra, sid, status: {**extra, "MessageSid": sid, "MessageStatus": status},
                                      extras, st.sampled_from(sids), st.sampled_from(STATUSES)), {
        "MessageSid": st.sampled_from(sids).flatmap(mangled) | st.text(max_size=40),
        "MessageStatus": st.sampled_from(["DELIVERED", "delivered ", "", "exploded"]) | st.text(max_size=20)})
    words = st.sampled_from(sorted(OPT_OUT_WORDS)).flatmap(
        lambda word: st.sampled_from([word, word.lower(), f" {word.title()} ", word + "\x00", word + " please"]))
    inbound_params = spoiled(st.builds(lambda extra, sender, body: {**extra, "From": sender, "Body": body}, extras,
                                       st.sampled_from(phones) | st.sampled_from(phones).map(lambda p: f" {p}\t"),
                                       words | st.text(max_size=30)), {
        "From": st.sampled_from(phones).flatmap(mangled) | st.text(max_size=20),
        "Body": st.text(max_size=30)})
    signing = st.sampled_from(["signed", "signed", "signed", "signed", "forged", "unsigned", "other-url"])
    return (st.tuples(st.just("/hooks/twilio/status"), status_params, signing)
            | st.tuples(st.just("/hooks/twilio/inbound"), inbound_params, signing))


def check_ack(released, content_type: str, body: bytes, query: str) -> int:
    before = counts(released.db, Ack, AuditEvent)
    lu = released.lu
    response = lu.client.post("/api/v1/acks" + query, data=body, content_type=content_type,
                              headers={"Authorization": f"Bearer {lu.token}"})
    assert response.status_code in (200, 201, 400, 403, 404, 413, 415, 422), response.get_data()[:300]
    acks, events = counts(released.db, Ack, AuditEvent)
    if response.status_code >= 400:
        assert is_problem(response), response.get_data()[:300]
        assert (acks, events) == before, "a refused ack left rows behind"
        return response.status_code
    created = response.get_json()["created"]
    assert (acks - before[0], events - before[1]) == (created, created)
    assert response.status_code == (201 if created else 200)
    assert {(ack["identifier"], ack["centre"]) for ack in response.get_json()["acks"]} == {
        (released.identifier, "LU")}
    return response.status_code


def check_report(released, segment: str) -> int:
    before = counts(released.db, Ack, AuditEvent)
    response = released.nl.get(f"/alerts/{quote(segment, safe='')}/acks")  # NL takes part: it may read
    assert response.status_code in (200, 404), response.get_data()[:300]
    assert response.status_code == 200 or is_problem(response)
    assert response.status_code == 404 or response.get_json()["identifier"] == released.identifier
    assert counts(released.db, Ack, AuditEvent) == before
    return response.status_code


# Twilio's statuses in the order a message moves through them: a report only moves a row forward
RANK = {"accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3, "canceled": 4, "undelivered": 4,
        "failed": 4, "delivered": 5, "read": 6}


def expected_delivery(before: tuple, status: str) -> tuple:
    state, provider_status, delivered, error = before
    if RANK.get(status, -1) <= RANK.get(provider_status, -1):
        return before  # a replay or a late report changes nothing
    if status in ("delivered", "read"):
        return "delivered", status, True, error
    if RANK[status] == RANK["failed"] and state != "delivered":
        return "failed", status, delivered, f"provider reported {status}"
    return state, status, delivered, error


def check_callback(released, path: str, params: dict, signing: str) -> int:
    db = released.db
    url = "http://localhost" + path  # the test client's URL, which Twilio would have signed
    signature = {"signed": RequestValidator(released.token).compute_signature(url, params),
                 "forged": "forged", "unsigned": None,
                 "other-url": RequestValidator(released.token).compute_signature(url + "?x=1", params)}[signing]
    before_deliveries, before_subscribers, (events,) = deliveries(db), subscribers(db), counts(db, AuditEvent)
    response = released.app.test_client().post(path, data=params,
                                               headers={"X-Twilio-Signature": signature} if signature else {})
    if path.endswith("status"):
        apply_held_reports(db)  # the hook only appends to the inbox: the worker applies it
    after_deliveries, after_subscribers = deliveries(db), subscribers(db)
    if signing != "signed":
        assert response.status_code == 403 and is_problem(response)
        assert (after_deliveries, after_subscribers) == (before_deliveries, before_subscribers)
        return response.status_code
    if path.endswith("status"):
        expected = dict(before_deliveries)
        sid, status = params.get("MessageSid", ""), params.get("MessageStatus", "")
        if sid in before_deliveries and status in STATUSES:
            assert response.status_code == 204
            expected[sid] = expected_delivery(before_deliveries[sid], status)
        else:
            assert response.status_code == 400 and is_problem(response), (params, response.get_data())
        assert (after_deliveries, after_subscribers) == (expected, before_subscribers)
        return response.status_code
    assert response.status_code == 200 and response.mimetype == "text/xml" and b"<Response/>" in response.data
    stopped = params.get("Body", "").strip().upper() in OPT_OUT_WORDS
    phone = params.get("From", "").strip()
    expected = {number: (language, opted_out or (stopped and number == phone), areas)
                for number, (language, opted_out, areas) in before_subscribers.items()}
    assert (after_deliveries, after_subscribers) == (before_deliveries, expected)
    newly = sum(after_subscribers[n][1] and not before_subscribers[n][1] for n in after_subscribers)
    assert counts(db, AuditEvent) == (events + newly,)
    return response.status_code


@settings(HTTP, max_examples=150)
@given(data=st.data())
def test_acks_and_twilio_callbacks_are_answered_and_change_only_what_they_name(released, data):
    """Any ack (JSON, CAP, garbage), ack report path or Twilio callback, signed or not: a 2xx that changed exactly
    what it names, or a 4xx problem+json that changed nothing."""
    source = data.draw(st.sampled_from(["twilio", "ack", "report"]), label="source")
    if source == "twilio":
        request = data.draw(callback_requests(sorted(deliveries(released.db)), released.phones))
        OUTCOMES[f"twilio {request[0].rsplit('/', 1)[1]} {check_callback(released, *request)}"] += 1
        FUZZED["http twilio callbacks"] += 1
    elif source == "report":
        segment = data.draw(st.just(str(released.alert_id)) | st.integers().map(str) | st.text(max_size=20))
        OUTCOMES[f"ack report {check_report(released, segment)}"] += 1
        FUZZED["http ack reports"] += 1
    else:
        OUTCOMES[f"ack {check_ack(released, *data.draw(ack_requests(released.identifier, released.reference)))}"] += 1
        FUZZED["http acks"] += 1


def test_deep_json_and_a_nul_identifier_are_4xx_not_500(api_as):
    """Regression: json.loads' RecursionError and a NUL in the identifier (PostgreSQL) were 500s."""
    lu = api_as("LU", "partner")
    for body in (b"[" * 5000 + b"]" * 5000, b'{"identifier": "x\\u0000", "kind": "read"}'):
        response = lu.client.post("/api/v1/acks", data=body, content_type="application/json",
                                  headers={"Authorization": f"Bearer {lu.token}"})
        assert response.status_code in (400, 404) and is_problem(response), response.get_json()


def test_signed_callbacks_with_a_nul_are_not_500s(make_app, tmp_path):
    """Regression: a NUL in MessageSid or From reached PostgreSQL, which refuses it: 500."""
    app = make_app(channels_file=write_channels_file(tmp_path, {"sms": {"auth_token": "token"}}))
    params = {"MessageSid": "SM" + "a" * 31 + "\x00", "MessageStatus": "delivered", "From": "+32470000001\x00",
              "Body": "STOP"}
    for path, status in (("/hooks/twilio/status", 400), ("/hooks/twilio/inbound", 200)):
        signature = RequestValidator("token").compute_signature("http://localhost" + path, params)
        response = app.test_client().post(path, data=params, headers={"X-Twilio-Signature": signature})
        assert response.status_code == status, response.get_data()
        assert status == 200 or is_problem(response)


# --- HTTP: subscriber import ------------------------------------------------------------------------------------

CHARSETS = [None, "utf-8", "UTF8", "latin-1", "utf-16", "cp1252", "ascii", "utf-7", "utf-8-sig", "undefined",
            "punycode", "idna", "unicode_escape", "rot13", "base64", "bogus", "", "utf-8\x00"]


@pytest.fixture
def admin(api_as):
    return api_as("BE", "admin")


def test_charsets_that_are_not_character_sets_are_422(admin):
    """Regression: 'undefined' (UnicodeError) and a NUL (ValueError) were 500s; punycode decodes in quadratic time."""
    for charset in ("charset=undefined", "charset=punycode", "charset*=utf-8''utf-8%00"):
        response = admin.client.post("/api/v1/subscribers/import", content_type=f"text/csv; {charset}",
                                     data=b"phone,language,areas\n0470123456,nl,be-lim\n",
                                     headers={"Authorization": f"Bearer {admin.token}"})
        assert response.status_code == 422 and is_problem(response), (charset, response.get_data())
        assert "not readable" in response.get_json()["detail"]


def read_as_server(body: bytes, charset: str) -> str | None:
    """The text the import reads from `body`, or None when it refuses the charset or the bytes."""
    try:
        return None if codecs.lookup(charset).name in NOT_CHARSETS else body.decode(charset)
    except (LookupError, ValueError):
        return None


@settings(HTTP, max_examples=60)
@given(case=subscriber_csvs(), charset=st.sampled_from(CHARSETS))
def test_any_subscriber_import_is_all_or_nothing(admin, db, case, charset):
    FUZZED["http subscriber import"] += 1
    text, _ = case
    content_type = "text/csv" if charset is None else f"text/csv; charset={charset}"
    effective = parse_options_header(content_type)[1].get("charset", "utf-8")  # as the server reads the header
    try:
        body = text.encode(effective)
    except (LookupError, ValueError):
        body = text.encode("utf-8")
    read = read_as_server(body, effective)
    before, (events,) = subscribers(db), counts(db, AuditEvent)
    response = admin.client.post("/api/v1/subscribers/import", data=body, content_type=content_type,
                                 headers={"Authorization": f"Bearer {admin.token}"})
    assert response.status_code in (202, 422), response.get_data()[:300]
    OUTCOMES[f"import {response.status_code}"] += 1
    rows, errors = parse_subscribers_csv(read, "BE", KNOWN_AREAS, frozenset(LANGUAGES)) if read is not None else (
        [], [{"line": 0, "error": "unreadable"}])
    if response.status_code == 422:  # not readable in its charset: refused at once, nothing queued
        assert is_problem(response) and response.get_json()["imported"] == 0
        assert subscribers(db) == before and counts(db, AuditEvent) == (events,), "a refused import left rows"
        assert read is None, "422 for a readable CSV"
        return
    assert run_next(db, "fuzz") in ("done", "failed")
    job = admin.client.get(response.headers["Location"], headers={"Authorization": f"Bearer {admin.token}"})
    job = job.get_json()
    after = subscribers(db)
    OUTCOMES[f"import job {job['state']}"] += 1
    if job["state"] == "failed":
        assert job["errors"] and job["result"] is None
        assert after == before and counts(db, AuditEvent) == (events,), "a failed import left rows behind"
        assert errors, "failed for a CSV without errors"
        return
    assert errors == [] and job["result"]["imported"] + job["result"]["updated"] == len(rows)
    assert counts(db, AuditEvent) == (events + 1,)
    imported = {row["phone"] for row in rows}
    for row in rows:
        language, _, areas = after[row["phone"]]
        assert (language, areas) == (row["language"], sorted(row["areas"]))
    assert {k: v for k, v in after.items() if k not in imported} == {k: v for k, v in before.items()
                                                                     if k not in imported}


# --- XML bombs and external references ------------------------------------------------------------------------

class Listener:
    """A local HTTP server that serves entity definitions and records every connection made to it."""

    def __init__(self):
        contacts = self.contacts = []

        class Handler(BaseHTTPRequestHandler):
            def setup(self):
                contacts.append(self.client_address)
                super().setup()

            def do_GET(self):
                body = b'<!ENTITY leak "LEAKED">' if self.path.endswith(".dtd") else b"<leak>LEAKED</leak>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    served = Listener()
    yield served
    served.stop()


def bombs(url: str) -> dict[str, tuple[bytes, str]]:
    """name -> (document, what parse_cap's refusal says)."""
    alert = f'<alert xmlns="{CAP_NS}">'
    ack_fields = ACK.split(b"%s")
    xi = f'<xi:include xmlns:xi="{XI_NS}" href="{{}}" parse="{{}}"/>'

    def in_ack(extra: str) -> bytes:
        references = b"<references>a,b,2026-11-22T14:30:00+01:00</references>"
        return ack_fields[0] + references + extra.encode() + ack_fields[1]

    def doctype(subset: str, body: str = "<identifier>x</identifier>") -> bytes:
        return f'<?xml version="1.0"?>{subset}{alert}{body}</alert>'.encode()

    return {
        "billion laughs": (BILLION_LAUGHS, "DTD"),
        "billion laughs in UTF-16": (BILLION_LAUGHS.decode().replace('"1.0"?>', '"1.0" encoding="UTF-16"?>')
                                     .encode("utf-16"), "DTD"),
        "quadratic blow-up": (QUADRATIC, "DTD"),
        "external entity (file)": (doctype('<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
                                           "<identifier>&xxe;</identifier>"), "DTD"),
        "external entity (http)": (doctype(f'<!DOCTYPE alert [<!ENTITY xxe SYSTEM "{url}/secret">]>',
                                           "<identifier>&xxe;</identifier>"), "DTD"),
        "external entity in an attribute": (doctype(f'<!DOCTYPE alert [<!ENTITY xxe SYSTEM "{url}/a">]>',
                                                    '<identifier a="&xxe;">x</identifier>'), "DTD"),
        "external DTD (SYSTEM)": (doctype(f'<!DOCTYPE alert SYSTEM "{url}/cap.dtd">',
                                          "<identifier>&leak;</identifier>"), "DTD"),
        "external DTD (PUBLIC)": (doctype(f'<!DOCTYPE alert PUBLIC "-//OASIS//DTD CAP 1.2//EN" "{url}/cap.dtd">'),
                                  "DTD"),
        "external DTD after a BOM": (b"\xef\xbb\xbf" + doctype(f'<!DOCTYPE alert SYSTEM "{url}/cap.dtd">'), "DTD"),
        "parameter entity (http)": (doctype(f'<!DOCTYPE alert [<!ENTITY % ext SYSTEM "{url}/ext.dtd"> %ext;]>',
                                            "<identifier>&leak;</identifier>"), "DTD"),
        "parameter entity (file)": (doctype('<!DOCTYPE alert [<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;]>'),
                                    "DTD"),
        "parameter entity (internal)": (doctype("<!DOCTYPE alert [<!ENTITY % p \"<!ENTITY e 'x'>\"> %p;]>",
                                                "<identifier>&e;</identifier>"), "DTD"),
        "XInclude (file)": (in_ack(xi.format("file:///etc/passwd", "text")), "XInclude"),
        "XInclude (http) inside a Signature": (in_ack(f'<ds:Signature xmlns:ds="{DSIG_NS}">'
                                                      f'{xi.format(url + "/x.xml", "xml")}</ds:Signature>'),
                                               "XInclude"),
        "deep nesting": (alert.encode() + b"<a>" * 9000 + b"</a>" * 9000 + b"</alert>", "not a valid CAP"),
        "oversized": (alert.encode() + b"<note>" + b"x" * MAX_BYTES + b"</note></alert>", "too large"),
    }


def inert(url: str) -> dict[str, bytes]:
    """Valid CAP Acks that name URLs no CAP reader should fetch: accepted, never fetched."""
    return {
        "xsi:schemaLocation": PARTNER_ACK.replace(
            b"<alert ", f'<alert xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                        f'xsi:schemaLocation="{CAP_NS} {url}/cap.xsd" '.encode()),
        "xml-stylesheet": PARTNER_ACK.replace(b"?>", f'?><?xml-stylesheet type="text/xsl" href="{url}/x.xsl"?>'
                                              .encode(), 1),
    }


def test_the_listener_records_a_fetch(listener):
    """The 'never contacted' assertions below can fail: a fetch is seen."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    with direct.open(listener.url + "/cap.dtd", timeout=5) as response:
        assert response.read() == b'<!ENTITY leak "LEAKED">'
    assert len(listener.contacts) == 1


def test_xml_bombs_are_refused_by_every_cap_reader_and_nothing_is_fetched(listener):
    signed, cert_pem, _ = signed_cap()
    for name, (document, message) in bombs(listener.url).items():
        FUZZED["xml bombs (function level)"] += 1
        with pytest.raises(CapError, match=message) as refused:
            parse_cap(document)
        assert "root:" not in str(refused.value) and "LEAKED" not in str(refused.value), name
        assert validate_cap(document) != [] or message == "XInclude", name
        with pytest.raises(CapError):
            verify_cap_signature(document, cert_pem)
    for name, document in inert(listener.url).items():
        FUZZED["xml bombs (function level)"] += 1
        assert parse_cap(document)["msgType"] == "Ack", name
        assert validate_cap(document) == [], name
    for uri in (f"{listener.url}/x", "file:///etc/passwd"):  # a signature whose reference points outside
        FUZZED["xml bombs (function level)"] += 1
        with pytest.raises(CapError, match="signature invalid"):
            verify_cap_signature(signed.replace(b'URI=""', f'URI="{uri}"'.encode()), cert_pem)
    assert listener.contacts == []


def test_xml_bombs_posted_as_acks_are_problem_json_and_nothing_is_fetched(listener, api_as, db):
    lu = api_as("LU", "partner")
    before = counts(db, Ack, AuditEvent)
    documents = {**{name: document for name, (document, _) in bombs(listener.url).items()}, **inert(listener.url),
                 "over an ack's 64 KiB": PARTNER_ACK.replace(b"</alert>", b"<note>" + b"x" * ACK_MAX_BYTES
                                                             + b"</note></alert>"),
                 "over the app's 1 MiB": b" " * (1024 * 1024 + 1)}
    for name, document in documents.items():
        FUZZED["xml bombs (http)"] += 1
        response = lu.client.post("/api/v1/acks", data=document, content_type="application/cap+xml",
                                  headers={"Authorization": f"Bearer {lu.token}"})
        if name in inert(listener.url):
            expected = 404  # read, but it names no alert released to LU
        else:
            expected = 413 if len(document) > 1024 * 1024 else 400
        assert response.status_code == expected and is_problem(response), (name, response.get_json())
        if expected == 400:
            assert response.get_json()["type"] == "urn:benelert:problem:invalid-cap", name
            assert "too large" in response.get_json()["detail"] or len(document) <= ACK_MAX_BYTES, name
        assert "LEAKED" not in response.get_data(as_text=True) and "root:" not in response.get_data(as_text=True)
    assert counts(db, Ack, AuditEvent) == before
    assert listener.contacts == []
