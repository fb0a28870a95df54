"""Issue #14: every page and every problem message in nl, fr and de.

Every page of an alert in each state (page_world.py), with the refusals and error pages people meet, is rendered:

- in nl, fr and de, failing when a catalog msgid shows in English (its translation differs from it);
- with a pseudo-translation that marks every catalog text ⟦…⟧ (the placeholders' values stay outside the marks),
  failing when the visible text holds a word that is neither from the catalog nor data (what people and the
  phrasebook wrote, names, places, codes, numbers): a string the code forgot to mark.

And every message the domain (alerts/) and the web layer can show has a translation in nl, fr and de, and the API
answers problem+json in the Accept-Language.
"""
from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from babel.support import NullTranslations

import web.i18n
import web.pages.review
from alerts.phrasebook import is_translated
from alerts.vocabulary import CERTAINTIES, SEVERITIES, STATUSES, URGENCIES
from app import create_app
from devtools.world import Api
from tests.unit.web.page_world import PASSWORD, World, build_world, data_strings

ROOT = Path(__file__).resolve().parents[3]
LANGUAGES = ("nl", "fr", "de")
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]")
OPEN, CLOSE = "⟦", "⟧"
CAP_CODES = {*STATUSES, *URGENCIES, *SEVERITIES, *CERTAINTIES, "Alert", "Update", "Cancel"}
# words that are codes or names in every language: brands, channels, encodings, centre and language codes
CODES = {"Benelert", "CAP", "SMS", "X", "Mastodon", "UTC", "GSM-7", "UCS-2", "BE", "NL", "LU", "DE", "DE-NW",
         "nl", "fr", "de", "en", "lb", "Nederlands", "Français", "Deutsch", "English"}
# a translation may equal its English msgid: the same word in that language
SAME = {"nl": {"%(ms)s ms", "%(minutes)d min", "Account", "Cell broadcast", "Code", "Conflict", "E-mail", "Hash",
               "Test", "Update", "arrondissement", "district", "partner"},
        "fr": {"%(minutes)d min", "Actions", "Centre", "Centres", "Code", "Message", "Mode", "Possible", "SMS", "Test",
               "Version", "Version %(n)s",
               "arrondissement", "canton", "centres", "description", "district", "mode", "province"},
        "de": {"%(ms)s ms", "Code", "Name", "SMS", "Test", "Version", "Version %(n)s"}}


# --- the world and its pages -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(sqlite_template, tmp_path_factory):
    """One world for the module, on SQLite: what a page says in which language does not depend on the database."""
    path = tmp_path_factory.mktemp("translated") / "benelert.db"
    shutil.copy(sqlite_template, path)
    app = create_app({"env": "test", "database_url": f"sqlite:///{path}", "ratelimit_storage": "memory://",
                      "secret_key": "t" * 48, "sandbox_targets": {"sms": "+32470000099", "x": "SANDBOX"}})

    def boom():
        raise RuntimeError("a bug")

    app.add_url_rule("/test-boom", "test_boom", boom)
    built = build_world(app)
    built.data = data_strings(built)
    built.clients = {}
    yield built
    app.extensions["benelert"].db.dispose()


class Visible(HTMLParser):
    """The text a person sees on a page: text nodes and the attributes read out or shown (aria-label, title,
    placeholder, alt, an option group's label)."""

    ATTRIBUTES = ("aria-label", "title", "placeholder", "alt", "label")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.lang = ""
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "html":
            self.lang = dict(attrs).get("lang", "")
        self.texts += [value.strip() for name, value in attrs if name in self.ATTRIBUTES and value and value.strip()]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(" ".join(data.split()))


def visible(html: str) -> Visible:
    parser = Visible()
    parser.feed(html)
    return parser


def _hidden_fields(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if 'type="hidden"' in tag:
            name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
            if name:
                fields[name.group(1)] = value.group(1) if value else ""
    return fields


def _client(world: World, user: str | None, language: str):
    key = (user, language)
    if key not in world.clients:
        client = world.app.test_client()
        client.set_cookie("benelert_lang", language)
        if user:
            token = _hidden_fields(client.get("/login").get_data(as_text=True))["csrf_token"]
            answer = client.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": token})
            assert answer.status_code == 302, user
        world.clients[key] = client
    return world.clients[key]


def render(world: World, page, language: str) -> str:
    client = _client(world, page.user, language)
    if page.form is None:
        response = client.get(page.path, follow_redirects=page.follow)
    else:
        fields = {} if page.csrf_from == "" else _hidden_fields(
            client.get(page.csrf_from or "/login").get_data(as_text=True))
        fields.update({key: value.replace("nobody", f"nobody-{language}") for key, value in page.form.items()})
        response = client.post(page.path, data=fields, follow_redirects=page.follow)
    html = response.get_data(as_text=True)
    assert response.status_code == page.status, (page.name, response.status_code, html[:2000])
    return html


def without_data(text: str, data: list[str]) -> str:
    """`text` without the data in it (whole words only: "Nederland" is data, "Nederlands" is not)."""
    for value in data:
        if value in text:
            text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", " ", text)
    return text


# --- nl, fr, de: no catalog msgid shows in English --------------------------------------------------------

def _pattern(msgid: str) -> str:
    parts = PLACEHOLDER.split(msgid)
    return ".+?".join(re.escape(part) for part in parts)


def english_msgids(language: str) -> tuple[re.Pattern, re.Pattern, dict[str, str]]:
    """Patterns of the catalog's msgids that the language translates differently: long ones (three words or more)
    found anywhere in a text, short ones only as a whole text."""
    with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as fileobj:
        catalog = read_po(fileobj, locale=language)
    long, short, msgids = [], [], {}
    for message in catalog:
        if not message.id or not is_translated(message):
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid in ids:
            if msgid in strings or not re.search(r"[^\W\d_]{2}", PLACEHOLDER.sub("", msgid)):
                continue
            pattern = _pattern(msgid)
            msgids[msgid] = pattern
            (long if len(PLACEHOLDER.sub("x", msgid).split()) >= 3 else short).append(pattern)
    long.sort(key=len, reverse=True)
    return (re.compile(r"(?<!\w)(?:" + "|".join(long) + r")(?!\w)"),
            re.compile("(?:" + "|".join(short) + ")"), msgids)


@pytest.fixture(scope="module")
def catalogs():
    return {language: english_msgids(language) for language in LANGUAGES}


def untranslated(texts: list[str], patterns, data: list[str]) -> list[str]:
    long, short, msgids = patterns
    found = []
    for text in texts:
        text = " ".join(without_data(text, data).split())
        match = long.search(text)
        if match or short.fullmatch(text):
            shown = match.group(0) if match else text
            found.append(next((msgid for msgid, pattern in msgids.items() if re.fullmatch(pattern, shown)), shown))
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_speaks_the_language_without_an_english_msgid(world, catalogs, language):
    english = {}
    for page in world.pages:
        shown = visible(render(world, page, language))
        assert shown.lang == language or shown.lang == "", page.name  # a fragment has no <html>
        if found := untranslated(shown.texts, catalogs[language], world.data):
            english[page.name] = found
    assert english == {}, f"{language}: msgids shown untranslated"


def test_a_page_showing_english_fails_the_check(world, catalogs, monkeypatch):
    monkeypatch.setattr(web.i18n, "state_label", lambda state: state.replace("_", " "))  # a label left untranslated
    page = next(page for page in world.pages if page.name == "dashboard")
    assert "draft" in untranslated(visible(render(world, page, "fr")).texts, catalogs["fr"], world.data)


def test_the_check_finds_an_english_msgid(world, catalogs):
    texts = ["Before it can be submitted", "Submitted: the spokespersons of every centre can now review it.",
             "version 3 by Person x", "Overstroming in Limburg"]
    assert untranslated(texts, catalogs["nl"], world.data) == [
        "Before it can be submitted", "Submitted: the spokespersons of every centre can now review it.",
        "version %(n)s by %(author)s"]


# --- pseudo-translation: no visible word outside the catalog but data ---------------------------------------

def mark(text: str) -> str:
    """Every stretch of catalog text between placeholders in ⟦…⟧; the placeholders (the values) stay outside."""
    parts = re.split(f"({PLACEHOLDER.pattern})", text)
    return "".join(part if index % 2 or not re.search(r"\w", part) else f"{OPEN}{part}{CLOSE}"
                   for index, part in enumerate(parts))


class Pseudo(NullTranslations):
    def gettext(self, message):
        return mark(message)

    def ngettext(self, singular, plural, n):
        return mark(singular if n == 1 else plural)

    def pgettext(self, context, message):
        return mark(message)

    def npgettext(self, context, singular, plural, n):
        return mark(singular if n == 1 else plural)

    ugettext, ungettext, upgettext, unpgettext = gettext, ngettext, pgettext, npgettext


MARKED = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
CODE_BESIDE = re.compile(f"{CLOSE} \\(({'|'.join(sorted(CAP_CODES))})\\)")
TOKEN = re.compile(r"[\w-]+")


def unmarked_words(texts: list[str], data: list[str]) -> list[str]:
    words = []
    for text in texts:
        text = MARKED.sub(" ", CODE_BESIDE.sub(CLOSE, text))
        for token in TOKEN.findall(without_data(text, data)):
            if (not re.search(r"[^\W\d_]", token) or token in CODES
                    or re.fullmatch(r"v\d+|[0-9a-f]{8,}|[\d:T-]*\d[\d:TZ-]*", token)):  # v2, hashes, ISO times
                continue
            words.append(token)
    return words


@pytest.fixture
def pseudo(monkeypatch, world):
    translations = Pseudo()
    monkeypatch.setattr(web.i18n, "_catalog", lambda language: translations)
    for module in (web.i18n, web.pages.review):  # dates are CLDR's, not the catalog's: shown as numbers here
        monkeypatch.setattr(module, "local_time", lambda value, pattern="medium": "2030-01-01 12:00")
    monkeypatch.setitem(world.app.jinja_env.filters, "local", lambda value, pattern="medium": "2030-01-01 12:00")
    world.clients.clear()
    yield translations
    world.clients.clear()


def test_every_visible_word_is_from_the_catalog_or_data(world, pseudo):
    unmarked = {}
    for page in world.pages:
        html = render(world, page, "nl")
        assert OPEN in html or "<html" not in html, page.name  # a fragment may hold data only
        if words := unmarked_words(visible(html).texts, world.data):
            unmarked[page.name] = sorted(set(words))
    assert unmarked == {}, f"text on the pages that is neither from the catalog nor data: {unmarked}"


def test_a_page_with_an_unmarked_label_fails_the_pseudo_check(world, pseudo, monkeypatch):
    monkeypatch.setattr(web.i18n, "cap_label", lambda kind, code: code)  # the CAP code alone, as before issue #14
    page = next(page for page in world.pages if page.name == "draft")
    words = unmarked_words(visible(render(world, page, "nl")).texts, world.data)
    assert {"Alert", "Exercise", "Immediate", "Extreme", "Likely"} <= set(words)


def test_the_pseudo_check_finds_an_unmarked_word(world):
    texts = [mark("Approve this exact content for %(centre)s") % {"centre": "BE"}, "Overstroming in Limburg",
             mark("Severe") + " (Severe)", "Exercise", "state: " + mark("draft"), "v2 · 3fa9c0de11"]
    assert unmarked_words(texts, world.data) == ["Exercise", "state"]


# --- every message of the domain and the web layer is translated ------------------------------------------

def shown_msgids() -> set[tuple[str | None, str]]:
    """The msgids (with their context) the domain's messages (alerts.i18n `_` and `ngettext`) and the web layer
    (Python and templates/pages) can show."""
    jinja = {"**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true", "silent": "false"}}
    sources = [(ROOT / "alerts", [("**.py", "python")], {}, {"keywords": {"_": None, "ngettext": (1, 2)}}),
               (ROOT / "web", [("**.py", "python")], {}, {}),
               (ROOT / "templates" / "pages", [("**.html", "jinja2")], jinja, {})]
    found = set()
    for directory, method_map, options_map, kwargs in sources:
        for _name, _line, message, _comments, context in extract_from_dir(directory, method_map, options_map,
                                                                          **kwargs):
            found.add((context, message if isinstance(message, str) else message[0]))
    assert len(found) > 300
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_the_pages_and_the_domain_show_is_translated(language):
    with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as fileobj:
        catalog = read_po(fileobj, locale=language)
    missing, english = [], []
    for context, msgid in sorted(shown_msgids(), key=str):
        message = catalog.get(msgid, context=context)
        if message is None or not is_translated(message):
            missing.append((context, msgid))
        elif msgid in (message.string if isinstance(message.string, tuple) else (message.string,)):
            if msgid not in SAME[language] and re.search(r"[^\W\d_]{2}", PLACEHOLDER.sub("", msgid)):
                english.append((context, msgid))
    assert missing == [], f"{language}: not translated"
    assert english == [], f"{language}: left in English"


# --- the API answers problem+json in the Accept-Language ---------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
def test_problems_and_readiness_in_the_accept_language(world, language):
    api = Api(world.app.test_client(), world.tokens["be_comm"])
    anonymous = world.app.test_client()
    asked = {"Accept-Language": f"{language}-BE,{language};q=0.9,en;q=0.5"}
    cases = [(lambda h: api.post("/alerts", json={"hazard": "flood", "participants": ["XX"]}, headers=h), 422),
             (lambda h: api.get("/alerts/999999", headers=h), 404),
             (lambda h: api.patch(f"/alerts/{world.alerts['draft']}", json={"severity": "Minor"}, headers=h), 428),
             (lambda h: api.post(f"/alerts/{world.alerts['in_review']}/approvals", json={
                 "decision": "approve", "content_hash": "0" * 64}, headers={"If-Match": '"v1"', **h}), 403),
             (lambda h: anonymous.get("/api/v1/me", headers=h), 401)]
    for call, status in cases:
        in_english, translated = call({}), call(asked)
        english, body = in_english.get_json(), translated.get_json()
        assert in_english.status_code == translated.status_code == status, english
        assert (in_english.headers["Content-Language"], translated.headers["Content-Language"]) == ("en", language)
        assert (body["type"], body["status"]) == (english["type"], english["status"])  # for programs: unchanged
        assert body["detail"] != english["detail"] and body["title"] != english["title"], body
    readiness = api.get(f"/alerts/{world.alerts['draft']}/readiness", headers=asked).get_json()
    in_english = api.get(f"/alerts/{world.alerts['draft']}/readiness").get_json()
    assert [p["code"] for p in readiness["problems"]] == [p["code"] for p in in_english["problems"]]
    assert all(p["message"] != q["message"] for p, q in zip(readiness["problems"], in_english["problems"],
                                                            strict=True))


def test_an_api_caller_asking_for_another_language_gets_english(world):
    api = Api(world.app.test_client(), world.tokens["be_comm"])
    for asked in ("es", "lb", "*", ""):
        answer = api.get("/alerts/999999", headers={"Accept-Language": asked} if asked else {})
        assert answer.headers["Content-Language"] == "en"
        assert answer.get_json()["detail"] == "Alert 999999 not found."
