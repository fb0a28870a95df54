"""The canonical form of a version: what its content hash covers and what diffs compare."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from alerts.models import Version


def iso(value) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def canonical_content(version: Version) -> dict[str, Any]:
    texts: dict[str, dict[str, dict[str, str]]] = {}
    for text in version.texts:
        texts.setdefault(text.language, {})[text.field] = {"body": text.body, "status": text.status}
    return {
        "status": version.status,
        "msg_type": version.msg_type,
        "hazard": version.hazard,
        "urgency": version.urgency,
        "severity": version.severity,
        "certainty": version.certainty,
        "onset": iso(version.onset),
        "expires": iso(version.expires),
        "web": version.web,
        "participants": list(version.participants),
        "areas": [
            {"description": a.description, "place": a.place, "polygons": a.polygons, "geocodes": a.geocodes,
             **({"circles": a.circles} if a.circles else {})}  # no key without circles: older hashes stay as they were
            for a in sorted(version.areas, key=lambda a: a.position)
        ],
        "texts": texts,
    }


def content_hash(content: dict[str, Any]) -> str:
    encoded = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def flatten(content: dict[str, Any]) -> dict[str, Any]:
    """Field paths a person can name: `severity`, `texts.fr.headline`, `areas` (compared whole)."""
    flat: dict[str, Any] = {}
    for key, value in content.items():
        if key == "texts":
            for language, fields in value.items():
                for field, text in fields.items():
                    flat[f"texts.{language}.{field}"] = text["body"]
                    flat[f"texts.{language}.{field}.status"] = text["status"]
        else:
            flat[key] = value
    return flat


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    before, after = flatten(old), flatten(new)
    return [
        {"field": path, "from": before.get(path), "to": after.get(path)}
        for path in sorted(before.keys() | after.keys())
        if before.get(path) != after.get(path)
    ]
