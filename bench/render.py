"""Rendering cost: one version on every channel, and an SMS release to 100,000 subscribers.

Phases, all in one process and one run:
  1. render_version for one realistic version (flood, 4 languages, all default instructions, web address):
     median and p95 over --runs runs; target: median <= 5 ms.
  2. a 100,000-subscriber SMS release: render_once_per_language (each language once) against the naive
     way, a rendering per recipient. The naive loop runs over a sample of --sample recipients and is
     extrapolated to 100,000 (linear: every recipient costs one rendering); the ratio is from this run.
Usage: .venv/bin/python bench/render.py [--runs 200] [--sample 2000]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alerts.phrasebook import render_texts  # noqa: E402
from alerts.rendering import render_channel, render_once_per_language, render_version  # noqa: E402

LANGUAGES = ("nl", "fr", "de", "en")
SUBSCRIBERS = 100_000
# Belgian subscribers by language, a few with a language the version lacks (sent the English text).
LANGUAGE_SHARES = {"nl": 0.55, "fr": 0.32, "de": 0.01, "en": 0.09, "es": 0.02, "pl": 0.01}
TARGET_MEDIAN_MS = 5.0


def realistic_content() -> dict:
    scenario = dict(
        places=["be-lim", "nl-li"], onset=datetime(2026, 11, 22, 13, 30, tzinfo=UTC),
        expires=datetime(2026, 11, 23, 7, 0, tzinfo=UTC), timezone="Europe/Brussels", country="BE",
        web="https://www.crisiscentrum.be",
    )
    texts = {}
    for language in LANGUAGES:
        rendered = render_texts("flood", language, **scenario)
        texts[language] = {
            field: {"body": getattr(rendered, field), "status": "template"}
            for field in ("headline", "description", "instruction")
        }
    return {"status": "Actual", "msg_type": "Alert", "hazard": "flood", "web": scenario["web"], "texts": texts}


def recipient_languages() -> list[str]:
    languages: list[str] = []
    for language, share in LANGUAGE_SHARES.items():
        languages += [language] * round(SUBSCRIBERS * share)
    return languages


def timed_ms(function, *args, **kwargs) -> float:
    start = time.perf_counter_ns()
    function(*args, **kwargs)
    return (time.perf_counter_ns() - start) / 1e6


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def naive_release(content: dict, recipients: list[str]) -> None:
    """The baseline: one rendering per recipient, with the same English fallback."""
    for language in recipients:
        render_channel(content, language if language in content["texts"] else "en", "sms", max_sms_segments=4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--sample", type=int, default=2_000)
    args = parser.parse_args()

    content = realistic_content()
    results = render_version(content, max_sms_segments=4)
    for _ in range(10):  # warm up: templates compiled, catalogs loaded
        render_version(content, max_sms_segments=4)
    version_ms = [timed_ms(render_version, content, max_sms_segments=4) for _ in range(args.runs)]

    recipients = recipient_languages()
    batches = render_once_per_language(content, "sms", recipients, max_sms_segments=4)
    once_ms = [timed_ms(render_once_per_language, content, "sms", recipients, max_sms_segments=4)
               for _ in range(20)]
    step = len(recipients) // args.sample
    sample = recipients[::step][: args.sample]  # every share of languages, in proportion
    naive_sample_ms = timed_ms(naive_release, content, sample)
    naive_ms = naive_sample_ms * len(recipients) / len(sample)

    report = {
        "render_version": {
            "languages": len(LANGUAGES), "renderings": len(results), "runs": args.runs,
            "median_ms": statistics.median(version_ms), "p95_ms": percentile(version_ms, 95),
            "target_median_ms": TARGET_MEDIAN_MS,
            "meets_target": statistics.median(version_ms) <= TARGET_MEDIAN_MS,
        },
        "sms_release": {
            "subscribers": len(recipients),
            "renderings": len(batches.renderings),
            "recipients_per_language": dict(batches.recipients),
            "once_per_language_median_ms": statistics.median(once_ms),
            "once_per_language_runs": len(once_ms),
            "naive_sample": len(sample),
            "naive_sample_ms": naive_sample_ms,
            "naive_extrapolated_ms": naive_ms,
            "naive_over_once_ratio": naive_ms / statistics.median(once_ms),
        },
    }
    release = report["sms_release"]
    rows = [
        ("render_version, 4 languages x 5 channels", f"{report['render_version']['median_ms']:.2f} ms",
         f"p95 {report['render_version']['p95_ms']:.2f} ms over {args.runs} runs (target median <= 5 ms)"),
        ("SMS release, once per language", f"{release['once_per_language_median_ms']:.1f} ms",
         f"{len(recipients):,} subscribers, {len(batches.renderings)} renderings, median of 20"),
        ("SMS release, per recipient (naive)", f"{naive_ms:.0f} ms",
         f"extrapolated from {len(sample):,} recipients ({naive_sample_ms:.0f} ms)"),
        ("naive / once per language", f"{release['naive_over_once_ratio']:.0f}x", "same run"),
    ]
    width = max(len(row[0]) for row in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>10}  {note}")
    print("recipients per language sent:", dict(sorted(batches.recipients.items())),
          "| undeliverable:", dict(batches.undeliverable) or "none")

    out = ROOT / "bench" / "results" / "render.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
