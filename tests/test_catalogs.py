"""Message catalogs (gettext, domain 'explanations'): every message the code asks for is translated, with
the same placeholders, and the catalogs load from the installed package (compiled by Babel at first use)."""
from __future__ import annotations

import ast
import re

from babel.messages.pofile import read_po

from conftest import ROOT
from medrules.explain.i18n import LOCALE_DIR, gettext_for

CALLERS = [ROOT / "medrules" / "explain" / name for name in ("citizen.py", "document.py", "text.py", "words.py", "format.py")]
TABLES = {"WORDS", "WHAT_IF_WORDS", "HEADINGS", "_OUTPUT_WORDS", "_COMPARISONS"}  # module tables of English msgids


def _msgids() -> set[str]:
    found = set()
    for path in CALLERS:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "_" \
                    and node.args and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
        for node in tree.body:  # messages kept in a table and passed to _() by value
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) in TABLES for t in node.targets):
                found |= {v.value for v in node.value.values if isinstance(v, ast.Constant)}
    return found


def test_every_message_is_translated_with_the_same_placeholders():
    with (LOCALE_DIR / "zh" / "LC_MESSAGES" / "explanations.po").open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id: m.string for m in catalog if m.id}
    wanted = _msgids()
    assert len(wanted) >= 20
    for msgid in wanted:
        assert translated.get(msgid), f"no Chinese for {msgid!r}"
        assert sorted(re.findall(r"\{\w+\}", msgid)) == sorted(re.findall(r"\{\w+\}", translated[msgid])), msgid
    assert not set(translated) - wanted, "messages nobody asks for"


def test_english_is_the_msgid_and_chinese_comes_from_the_catalog():
    assert gettext_for("en")("You pay {amount}.") == "You pay {amount}."
    assert gettext_for("zh")("You pay {amount}.") == "您需自付 {amount}。"
