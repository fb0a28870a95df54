"""The contact-point directory as files: CSV for spreadsheets and other systems, vCard 3.0 for address books and
phones (3.0 rather than 4.0: what vobject writes and what every phone and mail client still reads). Both take the
entries as alerts.contact_points.describe shows them, and `say`, which puts a message in the reader's language."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import vobject

from alerts.i18n import _

Say = Callable[[Any], str]
CSV_COLUMNS = ("id", "centre", "centre_name", "field", "field_label", "name", "function", "phone", "email",
               "languages", "hours", "notes", "last_verified_at", "stale")
FREE_TEXT = frozenset({"centre_name", "name", "function", "hours", "notes"})
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _moment(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def centre_name(entry: dict, language: str) -> str:
    names = entry["centre_names"] or {}
    return names.get(language) or names.get("en") or entry["centre"]


def neutralised(text: str) -> str:
    """Text that a spreadsheet would run as a formula (=, +, -, @ first) with a leading apostrophe, as OWASP advises
    for CSV files (every CSV export uses it)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(column: str, value: Any) -> str:
    """Free text is neutralised; codes, numbers in E.164 and addresses are written as they are."""
    text = "" if value is None else str(value)
    return neutralised(text) if column in FREE_TEXT else text


def to_csv(entries: list[dict], say: Say, language: str) -> str:
    """UTF-8 text with a header row (the column names above), one row per entry; languages separated by spaces."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        row = {**entry, "centre_name": centre_name(entry, language), "field_label": say(entry["field_label"]),
               "languages": " ".join(entry["languages"]), "last_verified_at": _moment(entry["last_verified_at"]),
               "stale": "true" if entry["stale"] else "false"}
        writer.writerow([_cell(column, row[column]) for column in CSV_COLUMNS])
    return out.getvalue()


def _note(entry: dict, say: Say) -> str:
    lines = []
    if entry["hours"]:
        lines.append(say(_("Hours: %(hours)s", hours=entry["hours"])))
    if entry["notes"]:
        lines.append(entry["notes"])
    if entry["last_verified_at"]:
        lines.append(say(_("Last verified: %(date)s", date=_moment(entry["last_verified_at"]))))
    else:
        lines.append(say(_("Never verified")))
    return "\n".join(lines)


def to_vcard(entry: dict, say: Say, language: str) -> str:
    """One card: FN the name (or the function), ORG the centre, TITLE the function, ROLE the field of work, TEL,
    EMAIL, LANG (RFC 6350's property: readers that do not know it keep it) and NOTE with the hours."""
    card = vobject.vCard()
    card.add("uid").value = f"urn:benelert:contact-point:{entry['id']}"
    card.add("fn").value = entry["name"] or entry["function"]
    card.add("n").value = vobject.vcard.Name()  # a person's name is not split into parts we would have to guess
    card.add("org").value = [centre_name(entry, language)]
    if entry["function"]:
        card.add("title").value = entry["function"]
    card.add("role").value = say(entry["field_label"])
    if entry["phone"]:
        tel = card.add("tel")
        tel.value, tel.type_param = entry["phone"], ["WORK", "VOICE"]
    if entry["email"]:
        email = card.add("email")
        email.value, email.type_param = entry["email"], "INTERNET"
    for code in entry["languages"]:
        card.add("lang").value = code
    card.add("note").value = _note(entry, say)
    card.add("rev").value = _moment(entry["updated_at"])
    return card.serialize()


def to_vcards(entries: list[dict], say: Say, language: str) -> str:
    return "".join(to_vcard(entry, say, language) for entry in entries)
