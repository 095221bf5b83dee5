"""Diagnostics in the rulebook's language: a Chinese wording for each message the parser and
the checker write, looked up by diagnostic code in a Babel/gettext catalog
(``medrules/locale/zh/LC_MESSAGES/diagnostics.po``, domain ``diagnostics``).

The catalog's msgids are the English messages with ``{names}`` where they vary; a message
is matched against them and the Chinese wording filled with the same values. A message the
catalog does not know stays in English, so a new diagnostic is never lost, only untranslated.
"""
from __future__ import annotations

import functools
import re
from importlib import resources

import attrs

from medrules import lexicon
from medrules.diagnostics import Diagnostic

DOMAIN = "diagnostics"
# the parts of a message that are the parser's or checker's own words (a list of what was
# expected, a kind of value), not names from the rulebook: these are worded too
_WORDED = {"expected", "what", "left", "right", "want", "got", "first", "second"}
_HOLE = re.compile(r"\\\{([a-z_]+)\\\}")


@functools.lru_cache(maxsize=None)
def _catalog(lang: str) -> dict[str, list[tuple[re.Pattern, str]]]:
    """code -> [(the English message as a pattern, the wording in ``lang``)], longest first."""
    from babel.messages.pofile import read_po

    path = resources.files("medrules") / "locale" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return {}
    with path.open("rb") as f:
        catalog = read_po(f)
    table: dict[str, list[tuple[re.Pattern, str]]] = {}
    for message in catalog:
        if not message.id or not message.string:
            continue
        pattern = re.compile(_HOLE.sub(lambda m: f"(?P<{m.group(1)}>.+?)", re.escape(message.id)) + r"\Z", re.S)
        table.setdefault(message.context or "", []).append((pattern, message.string))
    for entries in table.values():
        entries.sort(key=lambda e: -len(e[0].pattern))
    return table


def wording(code: str, text: str | None, lang: str) -> str | None:
    """``text`` (a message or hint of a diagnostic with this code) in ``lang``."""
    if text is None or lang == "en":
        return text
    for pattern, target in _catalog(lang).get(code, ()):
        m = pattern.match(text)
        if m:
            values = {k: _words(v, lang) if k in _WORDED else v for k, v in m.groupdict().items()}
            return re.sub(r"\{([a-z_]+)\}", lambda h: values.get(h.group(1), h.group(0)), target)
    return text


def _words(value: str, lang: str) -> str:
    """A value put into a message: English keywords and the parser's words in ``lang``."""
    words = _catalog(lang).get("words", ())

    def one(part: str) -> str:
        for pattern, target in words:
            if pattern.match(part):
                return target
        m = re.fullmatch(r"'([a-z]+)'", part)
        if m and (m.group(1),) in lexicon.by_english():
            return f"'{lexicon.by_english()[(m.group(1),)]}'"
        return part

    return ", ".join(one(p) for p in value.split(", ")) if value else value


def localise(d: Diagnostic, lang: str) -> Diagnostic:
    """The diagnostic worded in ``lang`` (as far as the catalog knows its messages)."""
    if lang == "en":
        return d
    try:
        return attrs.evolve(d, message=wording(d.code, d.message, lang), hint=wording(d.code, d.hint, lang),
                            related=tuple((wording(d.code, m, lang), s) for m, s in d.related))
    except Exception:  # noqa: BLE001 - a wording problem must not hide the diagnostic itself
        return d


def language_for(diagnostics: list[Diagnostic], sources: dict, asked: str | None = None) -> str:
    """The language to report in: the one asked for, else zh if the rulebook the first
    diagnostic points into is written with Chinese keywords."""
    if asked:
        return asked
    from medrules import zh
    for d in diagnostics:
        source = sources.get(d.span.file) if d.span else None
        if source is not None:
            return zh.language(zh.normalise(source.text))
    return "en"
