"""Messages the domain shows people (errors, problems, refusals), translated where they are shown.

The domain imports no Flask and knows no reader's language, so it says what it means as a `Msg`: a `str` whose
value is the English text (logs, audit and the API's English answers read it as is), and which remembers its
msgid and parameters so that a page can show it in the reader's language:

    raise InvalidInput(_("%(centre)s has no %(channels)s account configured.", centre=code, channels=names))
    ngettext("%(num)d problem must be solved first.", "%(num)d problems must be solved first.", len(found))

`pybabel extract` finds `_` and `ngettext` (its default keywords); the web layers call `Msg.localized` with the
reader's translations. A parameter that is itself a `Msg` (a field's name, a state) is translated too.
"""
from __future__ import annotations

from typing import Any, Protocol


class Translations(Protocol):
    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


class Msg(str):
    msgid: str
    plural: str | None
    n: int | None
    params: dict[str, Any]

    def __new__(cls, msgid: str, plural: str | None = None, n: int | None = None, /, **params: Any) -> Msg:
        if n is not None:
            params.setdefault("num", n)
        template = plural if plural is not None and n != 1 else msgid
        value = super().__new__(cls, template % params if params else template)
        value.msgid, value.plural, value.n, value.params = msgid, plural, n, params
        return value

    def localized(self, translations: Translations) -> str:
        """The message in the language of `translations` (English where the catalog lacks it)."""
        if self.plural is not None:
            template = translations.ngettext(self.msgid, self.plural, self.n if self.n is not None else 1)
        else:
            template = translations.gettext(self.msgid)
        if not self.params:
            return template
        params = {key: localized(value, translations) for key, value in self.params.items()}
        try:
            return template % params
        except (KeyError, TypeError, ValueError):  # a broken translation must not hide the message
            return str(self)

    def __reduce__(self):  # pickling (a worker's queue) keeps the msgid, not only the English text
        return (_rebuild, (self.msgid, self.plural, self.n, self.params))


def _rebuild(msgid: str, plural: str | None, n: int | None, params: dict[str, Any]) -> Msg:
    return Msg(msgid, plural, n, **params)


def to_json(message: Any) -> Any:
    """A message as JSON that keeps its msgid and parameters (a stored message is translated when it is read);
    numbers as they are, anything else as text. from_json reads it back."""
    if isinstance(message, Msg):
        return {"msgid": message.msgid, "plural": message.plural, "n": message.n,
                "params": {key: to_json(value) for key, value in message.params.items()}}
    return message if isinstance(message, int | float) else str(message)


def from_json(value: Any) -> Msg | Any:
    if isinstance(value, dict) and "msgid" in value:
        return Msg(value["msgid"], value["plural"], value["n"],
                   **{key: from_json(item) for key, item in value["params"].items()})
    return value


def localized(value: Any, translations: Translations) -> Any:
    """`value` translated if it is a `Msg` (also inside lists, tuples and dicts); anything else as is."""
    if isinstance(value, Msg):
        return value.localized(translations)
    if isinstance(value, dict):
        return {key: localized(item, translations) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(localized(item, translations) for item in value)
    return value


def _(msgid: str, /, **params: Any) -> Msg:
    """A message to translate where it is shown; `params` fill its %(name)s placeholders."""
    return Msg(msgid, **params)


def ngettext(singular: str, plural: str, n: int, /, **params: Any) -> Msg:
    """A message with plural forms; `n` is also the %(num)d placeholder."""
    return Msg(singular, plural, n, **params)
