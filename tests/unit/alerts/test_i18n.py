import pickle

from babel.support import NullTranslations

from alerts.i18n import Msg, _, localized, ngettext
from alerts.phrasebook import translations_for


def test_a_message_is_its_english_text_and_translates_with_its_parameters():
    message = _("draft")
    assert message == "draft" and isinstance(message, str)
    assert message.localized(translations_for("nl")) != message  # the catalog translates it


def test_plural_forms_follow_the_number():
    one = ngettext("%(num)d problem", "%(num)d problems", 1)
    many = ngettext("%(num)d problem", "%(num)d problems", 3)
    assert (one, many) == ("1 problem", "3 problems")
    assert many.localized(NullTranslations()) == "3 problems"


def test_nested_messages_are_translated_and_a_broken_translation_falls_back_to_english():
    class Broken:
        def gettext(self, message):
            return "%(nothing)s"

        def ngettext(self, singular, plural, n):
            return singular

    outer = Msg("Field %(field)s", field=_("headline"))
    assert localized({"a": [outer]}, NullTranslations()) == {"a": ["Field headline"]}
    assert outer.localized(Broken()) == "Field headline"


def test_a_message_survives_pickling_with_its_msgid():
    message = pickle.loads(pickle.dumps(_("%(centre)s is late.", centre="BE")))
    assert isinstance(message, Msg) and message.msgid == "%(centre)s is late." and message == "BE is late."
