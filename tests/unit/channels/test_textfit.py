import gsm0338  # noqa: F401  (registers the "gsm03.38" codec, the independent GSM 03.38 implementation)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.textfit import (
    cap_field_fit,
    cell_broadcast_fit,
    gsm7_septets,
    mastodon_fit,
    sms_fit,
    x_fit,
)

COMMON = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"()-/%&+=*#@\n"
ALPHABETS = {
    "english": COMMON,
    "dutch": COMMON + "ëïéÉ",
    "french": COMMON + "éèêàâçôûîœÇ«»’",
    "german": COMMON + "äöüßÄÖÜ",
    "gsm_extension": COMMON + "€[]{}^~|\\\f",
    "all": COMMON + "ëïéèêàâçôûîœ«»’äöüßÄÖÜ€[]{}^~|\\\f" + "😷🚨🇧🇪👍🏽",
}
EMOJI = ["🚨", "😷", "🌊", "👍🏽", "👨\u200d👩\u200d👧", "🇧🇪", "⚠️"]


@st.composite
def alert_texts(draw, max_size=600):
    alphabet = draw(st.sampled_from(sorted(ALPHABETS.values())))
    text = draw(st.text(alphabet=alphabet, max_size=max_size))
    if draw(st.integers(0, 9)) == 0:  # now and then an emoji somewhere
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(EMOJI)) + text[at:]
    return text


def count_chunks(units, size, is_first_half):
    """Parts when ``units`` are cut every ``size`` units, never right after the first half of a pair."""
    parts, start = 0, 0
    while start < len(units):
        end = min(start + size, len(units))
        if end < len(units) and is_first_half(units[end - 1]):
            end -= 1
        parts, start = parts + 1, end
    return max(parts, 1)


def reference_units(text):
    """Encoding, its units (the gsm0338 codec's septets, else UTF-16 code units) and a first-of-pair test."""
    try:
        return "GSM-7", text.encode("gsm03.38"), lambda septet: septet == 0x1B
    except UnicodeEncodeError:
        utf16 = text.encode("utf-16-be")
        units = [int.from_bytes(utf16[i : i + 2], "big") for i in range(0, len(utf16), 2)]
        return "UCS-2", units, lambda unit: 0xD800 <= unit <= 0xDBFF


def reference_sms_segments(text):
    encoding, units, is_first_half = reference_units(text)
    single, per_part = {"GSM-7": (160, 153), "UCS-2": (70, 67)}[encoding]
    return 1 if len(units) <= single else count_chunks(units, per_part, is_first_half)


# --- GSM-7 table -------------------------------------------------------------------------------------


def test_gsm7_table_matches_codec_for_every_bmp_character():
    for code in range(0x10000):
        char = chr(code)
        if char == "\x1b" or 0xD800 <= code <= 0xDFFF:
            continue
        try:
            expected = len(char.encode("gsm03.38"))
        except UnicodeEncodeError:
            expected = None
        assert gsm7_septets(char) == expected, f"U+{code:04X} {char!r}"


def test_escape_character_itself_is_not_gsm7():
    # the codec maps U+001B to 0x1B, but that byte is the extension-table escape, not a character
    assert gsm7_septets("\x1b") is None
    assert sms_fit("\x1b").encoding == "UCS-2"


@pytest.mark.parametrize("char", "éèàùìòÇäöüßÄÖÜ")
def test_letters_in_gsm7(char):
    assert gsm7_septets(char) == 1


@pytest.mark.parametrize("char", "çêëïâîôûœ’«»")
def test_letters_outside_gsm7(char):
    assert gsm7_septets(char) is None


# --- SMS -----------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(alert_texts())
def test_sms_encoding_septets_and_segments_agree_with_codec(text):
    encoding, units, _ = reference_units(text)
    fit = sms_fit(text, max_segments=20)
    assert fit.encoding == encoding
    assert fit.length == len(units)
    assert gsm7_septets(text) == (len(units) if encoding == "GSM-7" else None)
    assert fit.parts == reference_sms_segments(text)
    assert fit.ok is (fit.parts <= 20)
    assert set(fit.non_gsm_chars) == {c for c in text if gsm7_septets(c) is None}


def test_sms_160_gsm_characters_is_one_segment_161_is_two():
    assert sms_fit("a" * 160).parts == 1
    assert sms_fit("a" * 160).ok
    assert sms_fit("a" * 161).parts == 2
    assert not sms_fit("a" * 161).ok
    assert sms_fit("a" * 306, max_segments=2).parts == 2
    assert sms_fit("a" * 307, max_segments=3).parts == 3


def test_sms_70_ucs2_characters_is_one_segment_71_is_two():
    assert sms_fit("ê" * 70).parts == 1
    assert sms_fit("ê" * 71).parts == 2
    assert sms_fit("ê" * 134, max_segments=2).parts == 2
    assert sms_fit("ê" * 135, max_segments=3).parts == 3


def test_euro_sign_counts_two_septets():
    assert gsm7_septets("€") == 2
    assert gsm7_septets("10 €") == 5
    fit = sms_fit("a" * 159 + "€")
    assert (fit.encoding, fit.length, fit.parts) == ("GSM-7", 161, 2)


def test_escape_pair_is_not_split_across_segments():
    # 152 septets then "€": the pair would straddle the 153-septet boundary, so it moves to part 2
    text = "a" * 152 + "€" + "a" * 152
    assert sms_fit(text, max_segments=3).parts == 3
    assert sms_fit("a" * 151 + "€" + "a" * 153, max_segments=3).parts == 2


def test_surrogate_pair_is_not_split_and_counts_two_units():
    assert sms_fit("🚨").length == 2
    assert sms_fit("ê" * 66 + "🚨" + "ê" * 66, max_segments=3).parts == 3
    assert sms_fit("ê" * 65 + "🚨" + "ê" * 67, max_segments=3).parts == 2


def test_french_circumflex_switches_to_ucs2_and_names_the_culprits():
    fit = sms_fit("Fermez vos fenêtres")
    assert fit.encoding == "UCS-2"
    assert fit.non_gsm_chars == ("ê",)
    assert sms_fit("Fermez les fenetres. Ça va.").encoding == "GSM-7"
    assert sms_fit("Fermez les fenetres. Ça va.").non_gsm_chars == ()
    assert sms_fit("ça, être, ça").non_gsm_chars == ("ç", "ê")


def test_sms_over_max_segments_gives_a_problem_naming_the_counts():
    fit = sms_fit("ê" * 187)
    assert not fit.ok
    assert fit.parts == 3
    assert fit.problems == ("SMS needs 3 segments (UCS-2, 187 characters), at most 1 allowed",)
    assert sms_fit("ê" * 187, max_segments=3).ok


def test_sms_rejects_nonsense_max_segments():
    with pytest.raises(ValueError):
        sms_fit("x", max_segments=0)


# --- cell broadcast ------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(alert_texts(max_size=1600))
def test_cell_broadcast_pages_agree_with_codec(text):
    encoding, units, is_first_half = reference_units(text)
    fit = cell_broadcast_fit(text)
    assert fit.encoding == encoding
    assert fit.length == len(units)
    assert fit.parts == count_chunks(units, {"GSM-7": 93, "UCS-2": 41}[encoding], is_first_half)
    assert fit.ok is (fit.parts <= 15)


def test_cell_broadcast_page_boundaries():
    assert cell_broadcast_fit("a" * 93).parts == 1
    assert cell_broadcast_fit("a" * 94).parts == 2
    assert cell_broadcast_fit("ê" * 41).parts == 1
    assert cell_broadcast_fit("ê" * 42).parts == 2


def test_cell_broadcast_over_15_pages_is_a_problem():
    assert cell_broadcast_fit("a" * 93 * 15).ok
    fit = cell_broadcast_fit("a" * (93 * 15 + 1))
    assert fit.parts == 16
    assert fit.problems == ("Cell broadcast needs 16 pages (GSM-7, 1396 characters), at most 15 allowed",)


# --- X -------------------------------------------------------------------------------------------------


def test_x_280_ascii_fits_281_does_not():
    assert x_fit("a" * 280).ok
    fit = x_fit("a" * 281)
    assert (fit.length, fit.ok) == (281, False)
    assert fit.problems == ("X post has a weighted length of 281, at most 280 allowed",)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.crisiscenter.be/nl/risico-s-belgie/alerte?id=123456789&lang=nl&utm_source=benelert#top",
        "http://crisiscentrum.be/" + "x" * 100,
        "www.crisiscenter.be",
        "crisiscentrum.be",
        "www.crisiscenter.be/fr/alerte",
    ],
)
def test_x_url_counts_23_whatever_its_length(url):
    assert x_fit(f"Info: {url}").length == len("Info: ") + 23
    assert x_fit(f"Info ({url}).").length == len("Info (") + 23 + len(").")


def test_x_email_address_is_not_a_url():
    assert x_fit("info@crisiscenter.be").length == len("info@crisiscenter.be")


@pytest.mark.parametrize(
    ("text", "weight"),
    [
        ("日本語", 6),
        ("€", 2),
        ("😷", 2),
        ("👍🏽", 2),
        ("👨\u200d👩\u200d👧", 2),
        ("🧑🏽\u200d🚒", 2),
        ("🇧🇪", 2),
        ("⚠️", 2),
        ("#️⃣", 2),
        ("éèêàâçôûîœëïäöüßÄÖÜ", 19),
        ("e\u0301", 1),  # NFC-normalised to é first
        ("«Attention» – l’alerte", 22),
    ],
)
def test_x_character_weights(text, weight):
    assert x_fit(text).length == weight


# --- Mastodon --------------------------------------------------------------------------------------------


def test_mastodon_500_fits_501_does_not():
    assert mastodon_fit("ê" * 500).ok
    fit = mastodon_fit("ê" * 501)
    assert not fit.ok
    assert fit.problems == ("Mastodon post is 501 characters long, at most 500 allowed",)


def test_mastodon_counts_urls_23_and_remote_mentions_by_username():
    assert mastodon_fit("See https://www.crisiscenter.be/" + "x" * 80).length == len("See ") + 23
    assert mastodon_fit("cc @crisiscentrum@mastodon.example.be").length == len("cc @crisiscentrum")
    assert mastodon_fit("www.crisiscenter.be").length == len("www.crisiscenter.be")  # needs a protocol


def test_mastodon_counts_what_a_reader_sees_as_one_character_once():
    assert mastodon_fit("👨\u200d👩\u200d👧 🇧🇪 e\u0301").length == 5


# --- CAP -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "limit"), [("headline", 160), ("description", 4000), ("instruction", 2000)]
)
def test_cap_field_limits(field, limit):
    assert cap_field_fit("ê" * limit, field).ok
    fit = cap_field_fit("ê" * (limit + 1), field)
    assert (fit.channel, fit.length, fit.limit, fit.ok) == (f"cap_{field}", limit + 1, limit, False)
    assert fit.problems == (f"CAP {field} is {limit + 1} characters long, at most {limit} allowed",)


def test_cap_unknown_field_is_an_error():
    with pytest.raises(ValueError):
        cap_field_fit("x", "event")
