"""Measure a rendered alert text against each channel's length limits.

Every ``*_fit`` function returns a :class:`Fit`; ``fit.ok`` says whether the text can be sent as is,
``fit.problems`` says in plain English why not.  Pure functions, no I/O.

Texts are measured exactly as given: SMS and cell broadcast are not normalised, so a decomposed
"e" + U+0301 counts as UCS-2 (render templates in NFC).  X normalises to NFC itself, as twitter-text does.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 default alphabet, rows 0x00-0x7F in table order.  0x1B (escape) is left out: it switches
# to the extension table and is not a character a text can contain.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# Basic extension table: sent as escape + code, so each costs two septets.
GSM7_EXTENSION = "\f^{}\\[~]|€"
_GSM7_SEPTETS = {c: 1 for c in GSM7_BASIC} | {c: 2 for c in GSM7_EXTENSION}

SMS_SINGLE = {GSM7: 160, UCS2: 70}
SMS_CONCATENATED = {GSM7: 153, UCS2: 67}  # the rest of the 140 octets holds the concatenation header
CELL_BROADCAST_PAGE = {GSM7: 93, UCS2: 41}  # 82 octets of text per page

URL_WEIGHT = 23  # X and Mastodon both count any link as a 23-character t.co / placeholder URL

CAP_FIELD_LIMITS = {
    # CAP 1.2 suggests 160 characters as a target for <headline>; <description> and <instruction> have
    # no CAP limit, these two are Benelert's own.
    "headline": 160,
    "description": 4000,
    "instruction": 2000,
}


@dataclass(frozen=True)
class Fit:
    """How a text fits one channel.

    ``length`` is in the channel's own units: septets (GSM-7), UTF-16 code units (UCS-2), weighted
    characters (X), grapheme clusters (Mastodon) or characters (CAP).  ``limit`` is the capacity in
    those units at ``max_parts``; for multi-part channels ``parts`` is what decides ``ok``, because an
    escape or surrogate pair is never split across parts.
    """

    channel: str
    length: int
    limit: int
    encoding: str | None
    parts: int
    max_parts: int
    problems: tuple[str, ...]
    non_gsm_chars: tuple[str, ...] = ()  # the characters that forced UCS-2, in order of appearance

    @property
    def ok(self) -> bool:
        return not self.problems


def gsm7_septets(text: str) -> int | None:
    """Septets needed for ``text`` in the GSM 03.38 default alphabet, or None if a character is outside."""
    try:
        return sum(_GSM7_SEPTETS[c] for c in text)
    except KeyError:
        return None


def _encoded_units(text: str) -> tuple[str, list[int], tuple[str, ...]]:
    """Encoding for ``text``, the units each character takes in it, and the characters outside GSM-7."""
    non_gsm = tuple(dict.fromkeys(c for c in text if c not in _GSM7_SEPTETS))
    if not non_gsm:
        return GSM7, [_GSM7_SEPTETS[c] for c in text], ()
    return UCS2, [2 if ord(c) > 0xFFFF else 1 for c in text], non_gsm


def _count_parts(units: Iterable[int], per_part: int) -> int:
    """Parts needed when no character's units may be split across two parts."""
    parts, used = 1, 0
    for size in units:
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return parts


def _check_max(name: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")


def sms_fit(text: str, max_segments: int = 1) -> Fit:
    """Segments needed: GSM-7 when every character is in it, else UCS-2 (one stray "ê" switches)."""
    _check_max("max_segments", max_segments)
    encoding, units, non_gsm = _encoded_units(text)
    length = sum(units)
    if length <= SMS_SINGLE[encoding]:
        parts = 1
    else:
        parts = _count_parts(units, SMS_CONCATENATED[encoding])
    limit = SMS_SINGLE[encoding] if max_segments == 1 else SMS_CONCATENATED[encoding] * max_segments
    problems: tuple[str, ...] = ()
    if parts > max_segments:
        problems = (
            f"SMS needs {parts} segments ({encoding}, {length} characters), at most {max_segments} allowed",
        )
    return Fit("sms", length, limit, encoding, parts, max_segments, problems, non_gsm)


def cell_broadcast_fit(text: str, max_pages: int = 15) -> Fit:
    """Pages needed, with the same encoding choice as SMS."""
    _check_max("max_pages", max_pages)
    encoding, units, non_gsm = _encoded_units(text)
    length = sum(units)
    per_page = CELL_BROADCAST_PAGE[encoding]
    parts = _count_parts(units, per_page)
    problems: tuple[str, ...] = ()
    if parts > max_pages:
        problems = (
            f"Cell broadcast needs {parts} pages ({encoding}, {length} characters), "
            f"at most {max_pages} allowed",
        )
    return Fit("cell_broadcast", length, per_page * max_pages, encoding, parts, max_pages, problems, non_gsm)


# --- X and Mastodon --------------------------------------------------------------------------------

# Links as twitter-text finds them, simplified: http(s) URLs, and bare domains (www.example.org,
# crisiscentrum.be) under a country-code or a common generic TLD.  A bare domain under a rarer gTLD is
# counted character by character.
_CCTLDS = (
    "ac ad ae af ag ai al am an ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq "
    "br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz "
    "ec ee eg eh er es et eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw "
    "gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz "
    "la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx "
    "my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro "
    "rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg th tj tk "
    "tl tm tn to tp tr tt tv tw tz ua ug uk um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw"
).split()
_GTLDS = (
    "com net org info biz gov edu int mil app dev online site news brussels vlaanderen wallonie gent "
    "amsterdam paris berlin koeln hamburg bayern frl"
).split()
_LATIN_ACCENTS = "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0300-\u036f\u1e00-\u1eff"
_PATH = rf"[a-z0-9{_LATIN_ACCENTS}\u0400-\u04ff!*';:=+,.$/%#\[\]\-_~@|&?()\u2013]*"
_HTTP_URL = rf"(?<![a-z0-9@$#])https?://[\w.-]+(?::\d+)?(?:[/?]{_PATH})?"
_LABEL = rf"[a-z0-9{_LATIN_ACCENTS}](?:[a-z0-9{_LATIN_ACCENTS}_-]*[a-z0-9{_LATIN_ACCENTS}])?"
_BARE_DOMAIN = (
    rf"(?<![a-z0-9{_LATIN_ACCENTS}@$#\-_./])(?:{_LABEL}\.)+"
    rf"(?:{'|'.join(_GTLDS + _CCTLDS)})(?![a-z0-9@+-])(?:(?::\d+)?/{_PATH})?"
)
_X_LINK = re.compile(f"{_HTTP_URL}|{_BARE_DOMAIN}", re.IGNORECASE)
_MASTODON_LINK = re.compile(_HTTP_URL, re.IGNORECASE)  # Mastodon only counts links with a protocol
_URL_END_CHAR = re.compile(r"[\w\-+=#/&]")


def _trimmed_link_end(text: str, start: int, end: int) -> int:
    """End of a link once trailing punctuation (and an unbalanced closing parenthesis) is dropped."""
    unclosed = text.count("(", start, end) - text.count(")", start, end)
    while end > start:
        last = text[end - 1]
        if _URL_END_CHAR.match(last) or (last == ")" and unclosed >= 0):
            return end
        unclosed += {")": 1, "(": -1}.get(last, 0)
        end -= 1
    return end


def _without_links(text: str, pattern: re.Pattern[str]) -> tuple[int, list[str]]:
    """Number of links in ``text`` and the text pieces between them."""
    pieces, last, links = [], 0, 0
    for match in pattern.finditer(text):
        end = _trimmed_link_end(text, match.start(), match.end())
        pieces.append(text[last : match.start()])
        links, last = links + 1, end
    pieces.append(text[last:])
    return links, pieces


# One emoji as a reader sees it, approximating the twemoji parser twitter-text v3 uses: a pictograph
# with optional presentation selector, skin tone and tag sequence (subdivision flags), joined by ZWJ
# into sequences; regional-indicator pairs (flags); keycaps.  A BMP pictograph starts an emoji only
# with U+FE0F or a skin tone after it (alone it is text), so a bare © or ® weighs 1 on X, not 2.
_SKIN = "[\U0001f3fb-\U0001f3ff]"
_ASTRAL_PICTO = "[\U0001f000-\U0001faff]"
_BMP_PICTO = (
    "[\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21aa\u231a-\u23ff\u24c2\u25aa-\u25fe"
    "\u2600-\u27bf\u2934\u2935\u2b05-\u2b55\u3030\u303d\u3297\u3299]"
)
_JOINED = f"(?:{_ASTRAL_PICTO}|{_BMP_PICTO})\ufe0f?{_SKIN}?"
_EMOJI = re.compile(
    "[\U0001f1e6-\U0001f1ff]{2}"
    "|[#*0-9]\ufe0f?\u20e3"
    f"|(?:{_ASTRAL_PICTO}\ufe0f?{_SKIN}?|{_BMP_PICTO}(?:\ufe0f{_SKIN}?|{_SKIN}))"
    "(?:[\U000e0020-\U000e007e]+\U000e007f)?"
    f"(?:\u200d{_JOINED})*"
)


def _x_char_weight(char: str) -> int:
    code = ord(char)
    light = code <= 0x10FF or 0x2000 <= code <= 0x200D or 0x2010 <= code <= 0x201F or 0x2032 <= code <= 0x2037
    return 1 if light else 2


def _x_weighted_length(text: str) -> int:
    links, pieces = _without_links(unicodedata.normalize("NFC", text), _X_LINK)
    length = links * URL_WEIGHT
    for piece in pieces:
        rest, emoji = _EMOJI.subn("", piece)
        length += 2 * emoji + sum(_x_char_weight(c) for c in rest)
    return length


def x_fit(text: str, limit: int = 280) -> Fit:
    """Weighted length per twitter-text v3: 1 for Latin and general punctuation, 2 for CJK, €, emoji etc."""
    length = _x_weighted_length(text)
    problems: tuple[str, ...] = ()
    if length > limit:
        problems = (f"X post has a weighted length of {length}, at most {limit} allowed",)
    return Fit("x", length, limit, None, 1, 1, problems)


_REMOTE_MENTION = re.compile(r"(?<![/\w])(@[a-z0-9_]+)@[a-z0-9.-]+[a-z0-9]", re.IGNORECASE)


def _grapheme_count(text: str) -> int:
    """Grapheme clusters, approximately: emoji sequences, base + combining marks, and CR LF count once."""
    rest, emoji = _EMOJI.subn("", text.replace("\r\n", "\n"))
    # combining marks (including variation selectors) and ZWJ attach to the character before them
    extenders = sum(1 for c in rest if c == "\u200d" or unicodedata.category(c) in ("Mn", "Me", "Mc"))
    return emoji + len(rest) - extenders


def mastodon_fit(text: str, limit: int = 500) -> Fit:
    """Mastodon's count: grapheme clusters, each http(s) link 23, ``@user@domain`` as ``@user``."""
    links, pieces = _without_links(text, _MASTODON_LINK)
    length = links * URL_WEIGHT + sum(_grapheme_count(_REMOTE_MENTION.sub(r"\1", p)) for p in pieces)
    problems: tuple[str, ...] = ()
    if length > limit:
        problems = (f"Mastodon post is {length} characters long, at most {limit} allowed",)
    return Fit("mastodon", length, limit, None, 1, 1, problems)


def cap_field_fit(text: str, field: str) -> Fit:
    """A CAP <info> text field (headline, description, instruction) against its limit in characters."""
    if field not in CAP_FIELD_LIMITS:
        raise ValueError(f"unknown CAP field {field!r}, expected one of {', '.join(CAP_FIELD_LIMITS)}")
    limit = CAP_FIELD_LIMITS[field]
    problems: tuple[str, ...] = ()
    if len(text) > limit:
        problems = (f"CAP {field} is {len(text)} characters long, at most {limit} allowed",)
    return Fit(f"cap_{field}", len(text), limit, None, 1, 1, problems)


# --- Typography and the encoding coach ---------------------------------------------------------------

# Typography that suits a screen (French spaces before : ; ? !, « », German „ “, dashes) has a GSM-7 form; mapped
# in SMS and cell broadcast only, so that it alone never switches a message to UCS-2. Pages and CAP keep it.
_GSM_TYPOGRAPHY = str.maketrans({
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ",  # no-break, narrow no-break, thin, figure spaces
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2039": "'", "\u203a": "'",
    "\u2013": "-", "\u2014": "-", "\u2011": "-", "\u2026": "...",
})
_GUILLEMET_SPACE = re.compile("(?<=\u00ab)[\u00a0\u202f ]+|[\u00a0\u202f ]+(?=\u00bb)")


def gsm_typography(text: str) -> str:
    """`text` with its screen typography in GSM-7 form: « texte » -> "texte", „Text“ -> "Text", – -> -."""
    return _GUILLEMET_SPACE.sub("", text).translate(_GSM_TYPOGRAPHY)


@dataclass(frozen=True)
class EncodingCost:
    """Characters outside GSM-7 that switch a text to UCS-2, the words they are in, and what they cost."""

    chars: tuple[tuple[str, tuple[str, ...]], ...]  # (character, the words that contain it)
    parts: int  # segments or pages as the text is
    parts_in_gsm7: int  # segments or pages if those characters were in GSM-7


def encoding_cost(fit: Fit, text: str) -> EncodingCost | None:
    """For an SMS or cell-broadcast text in UCS-2: which characters in which words force it, and the segments or
    pages that costs (None when the text is GSM-7 or the channel is not one of those two)."""
    if fit.encoding != UCS2 or fit.channel not in ("sms", "cell_broadcast"):
        return None
    words = text.split()
    chars = tuple((char, tuple(dict.fromkeys(w for w in words if char in w))) for char in fit.non_gsm_chars)
    as_gsm = "".join("e" if c not in _GSM7_SEPTETS else c for c in text)
    parts_in_gsm7 = (sms_fit(as_gsm, fit.max_parts) if fit.channel == "sms"
                     else cell_broadcast_fit(as_gsm, fit.max_parts)).parts
    return EncodingCost(chars, fit.parts, parts_in_gsm7)
