"""Parsing an SMS subscriber list (alerts/subscribers_csv.py): per-line errors, never an exception."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.subscribers_csv import parse_subscribers_csv

# --- subscriber CSV --------------------------------------------------------------------------------


def test_subscribers_csv_reports_each_bad_row():
    text = (
        "phone,language,areas\n"
        "0470 12 34 56,nl,BE-VAN;BE-VLI\n"
        "+352 621 123 456,LB,LU-CAP\n"
        "12345,fr,BE-WLG\n"
        "0471 11 22 33,es,BE-VAN\n"
        "+32470123456,fr,BE-VAN\n"
        "0472 00 00 00,de,NOWHERE\n"
        "0473 00 00 00,en,\n"
        "0474 00 00 00,en\n"
    )
    rows, errors = parse_subscribers_csv(text, "BE", known_areas={"BE-VAN", "BE-VLI", "BE-WLG", "LU-CAP"})

    assert rows == [
        {"phone": "+32470123456", "language": "nl", "areas": ["BE-VAN", "BE-VLI"], "location": None},
        {"phone": "+352621123456", "language": "lb", "areas": ["LU-CAP"], "location": None},
    ]
    assert [e["line"] for e in errors] == [4, 5, 6, 7, 8, 9]
    assert errors[0]["error"].startswith("invalid number")
    assert errors[1]["error"].startswith("unknown language 'es'")
    assert errors[2]["error"] == "duplicate number +32470123456 (first on line 2)"
    assert errors[3]["error"] == "unknown area NOWHERE"
    assert errors[4]["error"] == "no areas and no location given"
    assert errors[5]["error"] == "expected 3 columns, got 2"


def test_subscribers_csv_header_any_order_quoted_fields_and_blank_lines():
    text = '\ufeffLanguage, Phone ,Areas\r\n\r\nfr,"+32 470 12 34 56","BE-WLG; BE-WLG ;BE-BRU"\r\n'
    rows, errors = parse_subscribers_csv(text, "BE")

    assert errors == []
    assert rows == [{"phone": "+32470123456", "language": "fr", "areas": ["BE-WLG", "BE-BRU"], "location": None}]


def test_subscribers_csv_takes_a_location_with_or_instead_of_areas():
    text = ("phone,language,areas,location\n"
            "+32470000001,nl,,51.1,5.79\n"  # unquoted, the comma splits the pair: "51.1" is no location
            '+32470000002,nl,,"51.1,5.79"\n'
            '+32470000003,fr,BE-WLG,"50.5,4.5"\n'
            '+32470000004,fr,,"91,4.5"\n'
            '+32470000005,fr,,"50.5;4.5"\n'
            "+32470000006,fr,,\n")
    rows, errors = parse_subscribers_csv(text, "BE", known_areas={"BE-WLG"})

    assert rows == [
        {"phone": "+32470000002", "language": "nl", "areas": [], "location": (51.1, 5.79)},
        {"phone": "+32470000003", "language": "fr", "areas": ["BE-WLG"], "location": (50.5, 4.5)},
    ]
    assert all(e["error"].startswith("invalid location") for e in errors[:3])
    assert errors[3]["error"] == "no areas and no location given"
    assert [e["line"] for e in errors] == [2, 5, 6, 7]


@pytest.mark.parametrize("text", ["", "+32470123456,nl,BE-VAN\n", "phone;language;areas\n+32470123456;nl;BE-VAN\n"])
def test_subscribers_csv_without_its_header_says_so(text):
    rows, errors = parse_subscribers_csv(text, "BE")

    assert rows == []
    assert len(errors) == 1 and errors[0]["line"] == 1
    assert "header" in errors[0]["error"] and "phone,language,areas" in errors[0]["error"]


def test_subscribers_csv_stops_at_the_row_limit():
    numbers = [f"+3247012340{i}" for i in range(5)]
    text = "phone,language,areas\n" + "".join(f"{n},nl,BE-VAN\n" for n in numbers)
    rows, errors = parse_subscribers_csv(text, "BE", max_rows=3)

    assert [r["phone"] for r in rows] == numbers[:3]
    assert errors == [{"line": 5, "error": "too many rows: at most 3, the rest was not read"}]


def test_subscribers_csv_with_an_unclosed_quote_keeps_what_was_read():
    text = 'phone,language,areas\n+32470123456,nl,BE-VAN\n"' + "x" * 140_000
    rows, errors = parse_subscribers_csv(text, "BE")

    assert [r["phone"] for r in rows] == ["+32470123456"]
    assert len(errors) == 1 and errors[0]["error"].startswith("unreadable CSV, reading stopped here")


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.text(max_size=300),
    st.lists(st.lists(st.text(max_size=20), max_size=4), max_size=6).map(
        lambda rows: "phone,language,areas\n" + "\n".join(",".join(row) for row in rows)),
))
def test_subscribers_csv_never_raises(text):
    rows, errors = parse_subscribers_csv(text, "BE", known_areas={"BE-VAN"})

    assert all(set(row) == {"phone", "language", "areas"} and row["phone"].startswith("+") for row in rows)
    assert all(isinstance(e["line"], int) and e["error"] for e in errors)
