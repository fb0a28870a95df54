"""The map editor's base map: the shipped boundaries (data/boundaries.geojson, alerts.geo.BOUNDARIES) as GeoJSON,
served from this application so that the compose and edit pages fetch nothing from outside. The file is a few
megabytes: it is sent gzip-compressed (compressed once per file version) to browsers that accept it, with an ETag
and a cache lifetime; the page asks for it with the file's version in the URL (boundaries_url)."""
from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Response, abort, request, url_for

from alerts import geo
from web.auth import login_required
from web.pages import bp

MEDIA_TYPE = "application/geo+json"
MAX_AGE = 86400  # seconds; a new file gets a new URL (boundaries_url) and a new ETag


def _stamp(path: Path) -> str:
    info = path.stat()
    return f"{info.st_mtime_ns:x}-{info.st_size:x}"


@lru_cache(maxsize=2)
def _encoded(path: Path, stamp: str) -> tuple[bytes, bytes, str]:
    """The file's bytes, gzip-compressed and plain, and their ETag, for one version of the file (path, stamp)."""
    plain = path.read_bytes()
    return gzip.compress(plain, compresslevel=6, mtime=0), plain, hashlib.sha256(plain).hexdigest()[:32]


def boundaries_url() -> str:
    """The route's URL with the file's version in it, so that a rebuilt file is not read from a stale cache."""
    path = geo.BOUNDARIES
    return url_for("pages.boundaries", v=_stamp(path) if path.exists() else None)


@bp.get("/geo/boundaries.geojson")
@login_required
def boundaries():
    path = geo.BOUNDARIES
    if not path.exists():
        abort(404)
    compressed, plain, etag = _encoded(path, _stamp(path))
    gzipped = "gzip" in request.accept_encodings
    response = Response(compressed if gzipped else plain, mimetype=MEDIA_TYPE)
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    response.set_etag(etag + ("-gz" if gzipped else ""))
    response.cache_control.private = True
    response.cache_control.max_age = MAX_AGE
    return response.make_conditional(request)
