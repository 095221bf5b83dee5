"""Wording in message catalogs: gettext, domain ``explanations``, one catalog per language.

The messages are written in English in the code (``_("You pay {amount}.")``); a translator reviews
``medrules/locale/zh/LC_MESSAGES/explanations.po``. The .po files are package data and compiled
in memory with Babel on first use (no build step: a fresh ``pip install .`` works), then served by
the standard library's ``gettext.GNUTranslations``. English needs no catalog (the msgid is the text).
"""
from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path

DOMAIN = "explanations"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
_LOCALES = {"zh": "zh_Hans_CN"}


@functools.lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == "en" or not path.exists():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=_LOCALES.get(lang, lang), domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def gettext_for(lang: str):
    """The ``_`` of one language."""
    return translations(lang).gettext
