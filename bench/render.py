"""Rendering cost: one version on every channel in every language, against one rendering in the same run.

What the pages render of one realistic version (flood, 5 languages with lb, the default texts with their short
forms, web address): every language on every channel, plus the cell-broadcast messages of the four countries
(channels/cell_broadcast.py: NL nl+en in one message, LU fr+de and en, DE de and en, BE nl, fr, de). Median and p95
over --runs runs; target: median <= 5 ms. The baseline is one render_channel (an SMS in Dutch), median over the
same number of runs: the whole makes 5 x 5 renderings and 10 cell-broadcast blocks, so a ratio near 35 means no
overhead beyond the renderings themselves. (A release renders each language once per channel, not once per
recipient: the SMS fan-out is one payload per language, written set-based by alerts/ledger.py.)
Usage: .venv/bin/python bench/render.py [--runs 200]
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
from alerts.rendering import cell_broadcasts, render_channel, render_version  # noqa: E402
from bench.api import percentile  # noqa: E402
from channels.specs import TextLimits  # noqa: E402

LANGUAGES = ("nl", "fr", "de", "en", "lb")
LIMITS = TextLimits()
COUNTRIES = ("BE", "NL", "LU", "DE")
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
            for field in ("headline", "description", "instruction", "short", "short_x")
        }
    return {"status": "Actual", "msg_type": "Alert", "hazard": "flood", "web": scenario["web"], "texts": texts,
            "severity": "Severe", "urgency": "Immediate", "certainty": "Likely"}


def render_everything(content: dict, limits: TextLimits) -> list:
    """What the pages show of a version: every language on every channel, and each country's cell broadcast."""
    return [*render_version(content, limits),
            *(message for country in COUNTRIES for message in cell_broadcasts(content, country, None, limits))]


def timed_ms(function, *args, **kwargs) -> float:
    start = time.perf_counter_ns()
    function(*args, **kwargs)
    return (time.perf_counter_ns() - start) / 1e6




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--sample", type=int, default=2_000)
    args = parser.parse_args()

    content = realistic_content()
    results = render_everything(content, LIMITS)
    for _ in range(10):  # warm up: templates compiled, catalogs loaded
        render_everything(content, LIMITS)
    version_ms = [timed_ms(render_everything, content, LIMITS) for _ in range(args.runs)]
    single_ms = [timed_ms(render_channel, content, "nl", "sms", LIMITS) for _ in range(args.runs)]
    median, single = statistics.median(version_ms), statistics.median(single_ms)
    report = {
        "render_version": {
            "languages": len(LANGUAGES), "renderings": len(results), "runs": args.runs,
            "median_ms": median, "p95_ms": percentile(version_ms, 95),
            "target_median_ms": TARGET_MEDIAN_MS, "meets_target": median <= TARGET_MEDIAN_MS,
        },
        "baseline_render_channel": {"median_ms": single, "runs": args.runs},
        "ratio_to_one_rendering": median / single,
    }
    rows = [
        (f"{len(LANGUAGES)} languages x 5 formats + {len(COUNTRIES)} countries' cell broadcast", f"{median:.2f} ms",
         f"p95 {report['render_version']['p95_ms']:.2f} ms over {args.runs} runs (target median <= 5 ms)"),
        ("baseline: one render_channel (nl SMS)", f"{single:.3f} ms", f"median of {args.runs}"),
        ("render_version / one rendering", f"{median / single:.1f}x", f"{len(results)} renderings, same run"),
    ]
    width = max(len(row[0]) for row in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>10}  {note}")

    out = ROOT / "bench" / "results" / "render.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
