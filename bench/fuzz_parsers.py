"""Coverage-guided fuzzing (atheris, libFuzzer) of the parsers that face other organisations, for a bounded time.

The first input byte picks the target; the rest is its input:
  0 parse_cap + validate_cap    only CapError may come out, and what parses is valid CAP 1.2
  1 verify_cap_signature         only CapError; what verifies is exactly what was signed
  2 parse_subscribers_csv        never raises; rows are E.164 numbers, known languages and areas
  3 parse_status_callback        only ValueError; a sid is Twilio's SM/MM + 32 hex digits
Any other exception or a broken property is a crash: libFuzzer stops and writes the input to crash-<sha1>.
Seeds: a CAP alert, a partner Ack, a signed alert, a subscriber CSV and a status callback.
The tests' Hypothesis fuzzing (tests/test_fuzz_parsers.py) runs in `make test`; this runs only by hand.
Usage: .venv/bin/pip install -e '.[test,fuzz]'
       .venv/bin/python bench/fuzz_parsers.py [--seconds 120] [extra libFuzzer flags, e.g. -jobs=2]
libFuzzer's last line says how many inputs it ran ("Done N runs in S second(s)").
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

with atheris.instrument_imports(include=["alerts.cap", "alerts.subscribers_csv", "channels.sms", "defusedxml"]):
    from alerts.cap import CapError, parse_cap, sign_cap, validate_cap, verify_cap_signature
    from alerts.gazetteer import PLACES
    from alerts.subscribers_csv import parse_subscribers_csv
    from alerts.vocabulary import LANGUAGES
    from channels.sms import parse_status_callback
from devtools.samples import ACK, make_key_and_cert, valid_cap  # noqa: E402  (seeds only)

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
KEY_PEM, CERT_PEM = make_key_and_cert()
SIGNED = sign_cap(valid_cap(), KEY_PEM, CERT_PEM)
WHAT_WAS_SIGNED = verify_cap_signature(SIGNED, CERT_PEM)
AREAS, LANGS = frozenset(PLACES), frozenset(LANGUAGES)


def cap(data: bytes) -> None:
    try:
        parsed = parse_cap(data)
    except CapError:
        return
    assert validate_cap(data) == [] and parsed["identifier"] and parsed["sent_at"].tzinfo is not None


def signature(data: bytes) -> None:
    try:
        verified = verify_cap_signature(data, CERT_PEM)
    except CapError:
        return
    assert verified == WHAT_WAS_SIGNED


def csv(data: bytes) -> None:
    rows, errors = parse_subscribers_csv(data.decode("utf-8", "replace"), "BE", AREAS, LANGS)
    assert all(E164.fullmatch(row["phone"]) and row["language"] in LANGS and set(row["areas"]) <= AREAS
               for row in rows)
    assert all(isinstance(error["line"], int) and error["error"] for error in errors)


def status(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    params = {provider.ConsumeUnicodeNoSurrogates(12): provider.ConsumeUnicodeNoSurrogates(40)
              for _ in range(provider.ConsumeIntInRange(0, 4))}
    if provider.ConsumeBool():
        params["MessageSid"] = provider.ConsumeUnicodeNoSurrogates(40)
    if provider.ConsumeBool():
        params["MessageStatus"] = provider.ConsumeUnicodeNoSurrogates(20)
    try:
        sid, _ = parse_status_callback(params)
    except ValueError:
        return
    assert re.fullmatch(r"(SM|MM)[0-9a-fA-F]{32}", sid)


TARGETS = [cap, signature, csv, status]


def one_input(data: bytes) -> None:
    if data:
        TARGETS[data[0] % len(TARGETS)](data[1:])


def seeds(directory: Path) -> None:
    ack = ACK % b"<references>benelert@be.crisis,BE-2026-0042,2026-11-22T14:30:00+01:00</references>"
    csv_text = b"phone,language,areas\n0470 12 34 56,nl,be-lim\n+32470123457,fr,be-lie;be-lim\n"
    for name, data in {"alert": b"\x00" + valid_cap(), "ack": b"\x00" + ack, "signed": b"\x01" + SIGNED,
                       "csv": b"\x02" + csv_text, "status": b"\x03" + b"\x01" * 8 + b"SM" + b"a" * 32}.items():
        (directory / name).write_bytes(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=120)
    args, libfuzzer = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as corpus:
        seeds(Path(corpus))
        atheris.Setup([sys.argv[0], f"-max_total_time={args.seconds}", "-max_len=200000", "-rss_limit_mb=2048",
                       *libfuzzer, corpus], one_input)
        atheris.Fuzz()


if __name__ == "__main__":
    main()
