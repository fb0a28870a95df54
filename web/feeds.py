"""Public, read-only: the Atom feed of published CAP messages and each message as it was sent."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from urllib.parse import quote

from flask import Blueprint, Response, request
from lxml import etree

from alerts import exchange
from alerts.cap import CAP_NS
from alerts.i18n import _
from web import db_session, problem, services

bp = Blueprint("feeds", __name__, url_prefix="/cap")

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_TITLE = "Benelert: published public warnings (CAP 1.2)"
EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)  # fixed, so an empty feed keeps one ETag
MAX_AGE = 60


def _base_url() -> str:
    """Where the feed's links point: BENELERT_PUBLIC_URL (required in production). Only development and tests,
    without one, fall back to the Host the request named; such a feed is then never stored by a shared cache (see
    feed), since anyone can name any Host."""
    return (services().settings.public_url or request.host_url).rstrip("/")


def _message_url(base: str, identifier: str) -> str:
    return f"{base}/cap/{quote(identifier, safe='')}.xml"


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def cap_overview(xml: str) -> dict:
    """Title and summary of one of our own CAP messages: the English info when there is one."""
    root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    ns = {"cap": CAP_NS}
    infos = root.findall("cap:info", ns)
    info = next((i for i in infos if (i.findtext("cap:language", "", ns) or "").startswith("en")), None)
    info = info if info is not None else infos[0]
    event = info.findtext("cap:event", "", ns)
    title = info.findtext("cap:headline", "", ns) or event
    msg_type = root.findtext("cap:msgType", "", ns)
    if msg_type != "Alert":
        title = f"{msg_type}: {title}"
    areas = ", ".join(area.text or "" for area in info.findall("cap:area/cap:areaDesc", ns))
    facts = ", ".join(f"{field} {info.findtext(f'cap:{field}', '', ns)}" for field in ("severity", "urgency",
                                                                                         "certainty"))
    return {"title": title, "summary": f"{event} ({facts}). Areas: {areas or '-'}."}


def atom_feed(messages: list[exchange.Published], base: str) -> bytes:
    """Atom 1.0 (RFC 4287): one entry per published CAP message, linking to the message itself."""
    def add(parent, tag, text=None, **attributes):
        element = etree.SubElement(parent, f"{{{ATOM_NS}}}{tag}", **attributes)
        element.text = text
        return element

    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    add(feed, "id", f"{base}/cap/feed.atom")
    add(feed, "title", FEED_TITLE)
    add(feed, "updated", _rfc3339(messages[0].released_at if messages else EMPTY_FEED_UPDATED))
    add(add(feed, "author"), "name", "Benelert")
    add(feed, "link", rel="self", type="application/atom+xml", href=f"{base}/cap/feed.atom")
    for message in messages:
        overview = cap_overview(message.body)
        url = _message_url(base, message.identifier)
        entry = add(feed, "entry")
        add(entry, "id", url)
        add(entry, "title", overview["title"])
        add(entry, "updated", _rfc3339(message.released_at))
        add(entry, "published", _rfc3339(message.released_at))
        add(entry, "link", rel="alternate", type="application/cap+xml", href=url)
        add(entry, "summary", overview["summary"])
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _cacheable(response: Response, etag: str, last_modified: datetime | None, shared: bool = True) -> Response:
    """ETag, Last-Modified and a minute of caching: by shared caches too (public) when the body is the same for
    everyone, else by the client's own cache only (private)."""
    response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = last_modified
    if shared:
        response.cache_control.public = True
    else:
        response.cache_control.private = True
    response.cache_control.max_age = MAX_AGE
    return response.make_conditional(request)


@bp.get("/feed.atom")
def feed():
    messages = exchange.published_messages(db_session())
    body = atom_feed(messages, _base_url())
    response = Response(body, mimetype="application/atom+xml")
    # links built from the request's Host (no public URL: development, tests) are never kept by a shared cache,
    # where one client's forged Host would reach everyone; Vary: Host alone would rely on every cache honouring it
    return _cacheable(response, hashlib.sha256(body).hexdigest(), messages[0].released_at if messages else None,
                      shared=bool(services().settings.public_url))


@bp.get("/<identifier>.xml")
def message(identifier: str):
    """The exact CAP XML that went to the national systems and partner centres."""
    published = exchange.published_message(db_session(), identifier)
    if published is None:
        return problem(404, _("Not found"), _("No published CAP message has the identifier %(identifier)s.",
                                              identifier=repr(identifier)))
    response = Response(published.body.encode("utf-8"), mimetype="application/cap+xml")
    return _cacheable(response, published.sha256, published.released_at)
