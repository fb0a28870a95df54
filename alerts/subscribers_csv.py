"""Parse an SMS subscriber list (CSV with columns phone,language,areas and an optional location) into rows and a
per-line error report. A row names its areas (gazetteer codes separated by ';'), its location ("lat,lon" in decimal
degrees, as a CAP point), or both.

Pure: no I/O, never raises on bad input; every problem becomes an error entry {"line": n, "error": "..."}, the
error a `Msg` (alerts.i18n).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Set

from alerts.i18n import Msg, _, ngettext
from alerts.vocabulary import LANGUAGES, parse_point
from channels.sms import normalise_number

COLUMNS = ("phone", "language", "areas")
OPTIONAL = ("location",)
MAX_ROWS = 200_000
PROGRESS_EVERY = 10_000


def parse_subscribers_csv(
    text: str,
    default_region: str,
    known_areas: Set[str] | None = None,
    languages: Set[str] = frozenset(LANGUAGES),
    max_rows: int = MAX_ROWS,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[dict], list[dict]]:
    """Valid rows {phone (E.164), language, areas: list, location: (lat, lon) | None} and one error per bad row;
    areas split on ';'.
    `progress(rows read)` is called every PROGRESS_EVERY rows."""
    rows: list[dict] = []
    errors: list[dict] = []
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader, None)
        columns = _column_positions(header)
        if isinstance(columns, str):
            return [], [{"line": 1, "error": columns}]
        first_line_of_row = reader.line_num + 1
        first_seen: dict[str, int] = {}
        count = 0
        for record in reader:
            line, first_line_of_row = first_line_of_row, reader.line_num + 1
            if not any(field.strip() for field in record):
                continue
            count += 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(count)
            if count > max_rows:
                errors.append({"line": line, "error": _("too many rows: at most %(max)d, the rest was not read",
                                                        max=max_rows)})
                break
            row = _parse_row(record, columns, default_region, known_areas, languages)
            if isinstance(row, str):
                errors.append({"line": line, "error": row})
            elif row["phone"] in first_seen:
                errors.append({"line": line, "error": _("duplicate number %(phone)s (first on line %(first)d)",
                                                        phone=row["phone"], first=first_seen[row["phone"]])})
            else:
                first_seen[row["phone"]] = line
                rows.append(row)
    except csv.Error as exc:
        errors.append({"line": reader.line_num, "error": _("unreadable CSV, reading stopped here: %(reason)s",
                                                           reason=str(exc))})
    return rows, errors


def _column_positions(header: list[str] | None) -> dict[str, int] | Msg:
    """Where each column is, or what is wrong with the header line."""
    expected = ",".join(COLUMNS)
    if not header:
        return _("missing header: the first line must be %(columns)s", columns=expected)
    names = [name.strip().lower() for name in header]
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        return ngettext("missing header column %(missing)s: the first line must be %(columns)s (comma-separated)",
                        "missing header columns %(missing)s: the first line must be %(columns)s (comma-separated)",
                        len(missing), missing=", ".join(missing), columns=expected)
    return {column: names.index(column) for column in COLUMNS + OPTIONAL if column in names}


def _parse_row(
    record: list[str],
    columns: dict[str, int],
    default_region: str,
    known_areas: Set[str] | None,
    languages: Set[str],
) -> dict | Msg:
    """The subscriber on one CSV record, or why it cannot be imported."""
    if len(record) <= max(columns.values()):
        return _("expected %(expected)d columns, got %(got)d", expected=max(columns.values()) + 1, got=len(record))
    raw_phone, raw_language, raw_areas = (record[columns[column]] for column in COLUMNS)
    raw_location = record[columns["location"]].strip() if "location" in columns else ""
    try:
        phone = normalise_number(raw_phone.strip(), default_region)
    except ValueError as exc:
        return _("invalid number: %(reason)s", reason=str(exc))
    language = raw_language.strip().lower()
    if language not in languages:
        return _("unknown language '%(language)s', expected one of %(languages)s", language=raw_language.strip(),
                 languages=", ".join(sorted(languages)))
    location = None
    if raw_location:
        try:
            location = parse_point(raw_location)
        except ValueError as exc:
            return _("invalid location: %(reason)s", reason=exc.args[0])
    areas = list(dict.fromkeys(area.strip() for area in raw_areas.split(";") if area.strip()))
    if not areas and location is None:
        return _("no areas and no location given")
    unknown = [area for area in areas if known_areas is not None and area not in known_areas]
    if unknown:
        return ngettext("unknown area %(areas)s", "unknown areas %(areas)s", len(unknown), areas=", ".join(unknown))
    return {"phone": phone, "language": language, "areas": areas, "location": location}
