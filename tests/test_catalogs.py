"""Message catalogs (gettext, domain 'explanations'): every message the code asks for is translated, with
the same placeholders, and the catalogs load from the installed package (compiled by Babel at first use)."""
from __future__ import annotations

import ast
import re

from babel.messages.pofile import read_po

from conftest import ROOT
from medrules.explain.i18n import LOCALE_DIR, gettext_for

CALLERS = [ROOT / "medrules" / "explain" / name for name in ("citizen.py", "document.py", "text.py", "words.py", "format.py",
                                                             "steps.py", "contribution.py")] \
    + [ROOT / "medrules" / "analyses" / name for name in ("diff.py", "diff_contrib.py", "whatif.py", "readings.py")] \
    + [ROOT / "medrules" / "cli.py", ROOT / "medrules" / "contributions" / "command.py"] \
    + [ROOT / "medrules" / "household.py", ROOT / "medrules" / "household_analyses.py"]
TABLES = {"WORDS", "WHAT_IF_WORDS", "HEADINGS", "_OUTPUT_WORDS", "_COMPARISONS",  # module tables of English msgids
          "DEDUCTIBLE_PER", "COST_CAP", "PAYMENT_CAP", "ROUNDING_MODES", "DAY_COUNT", "PROVISION_COLUMNS", "CLAIM_COLUMNS",
          "SCENARIOS", "MODES", "MEMBER_COLUMNS", "QUOTA_CAP", "QUOTA_RELATION"}


def _msgids() -> set[str]:
    found = set()
    for path in CALLERS:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in \
                    ("_",) and node.args and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Call) and \
                    getattr(node.func.func, "id", None) == "gettext_for" and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)  # gettext_for(lang)("…")
        for node in tree.body:  # messages kept in a table and passed to _() by value
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) in TABLES for t in node.targets):
                values = node.value.values if isinstance(node.value, ast.Dict) else node.value.elts  # dict or tuple
                found |= {v.value for v in values if isinstance(v, ast.Constant)}
    return found


def test_every_message_is_translated_with_the_same_placeholders():
    with (LOCALE_DIR / "zh" / "LC_MESSAGES" / "explanations.po").open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id: m.string for m in catalog if m.id}
    wanted = _msgids()
    assert len(wanted) >= 20
    for msgid in wanted:
        assert translated.get(msgid), f"no Chinese for {msgid!r}"
        # the same names (a translation may say one twice: "故取不超过该额的 {rounded}:{raw} → {rounded}")
        assert set(re.findall(r"\{\w+\}", msgid)) == set(re.findall(r"\{\w+\}", translated[msgid])), msgid
    assert not set(translated) - wanted, "messages nobody asks for"


def test_english_is_the_msgid_and_chinese_comes_from_the_catalog():
    assert gettext_for("en")("You pay {amount}.") == "You pay {amount}."
    assert gettext_for("zh")("You pay {amount}.") == "您需自付 {amount}。"


def test_the_auditor_steps_and_the_diff_memo_are_worded_in_the_catalog():
    """No inline zh/en branches are left: the auditor's step sentences, the contributions' wording, the diff memo
    and the command line's 'paid nothing' heading all come from the catalog (whole sentences, named placeholders)."""
    wanted = _msgids()
    for msgid in ("Rate {rate}{chosen}: {part} × {applied} = {amount}.", "Band {band} ({axis}): {part} of this claim "
                  "falls in it ({start} → {end}), at {rate}: {amount}.", "half-even", " (the start day is day 1)",
                  "Claims affected: {affected} of {claims}; the funds pay {funds_before} → {funds_after}; members pay "
                  "{member_before} → {member_after}.", "attributed to",
                  "Claim {id} paid nothing; it would have been paid if:"):
        assert msgid in wanted, msgid
    for path in CALLERS[-4:] + [ROOT / "medrules" / "explain" / "steps.py", ROOT / "medrules" / "explain" / "contribution.py"]:
        text = path.read_text(encoding="utf-8")
        assert "self.t(" not in text and 'if lang == "zh"' not in text and "if zh" not in text, path
    zh = gettext_for("zh")
    assert zh("Payment cap {cap} per claim: {before} paid before, {room} left; {raw} is within it.").format(
        cap="3,000.00 元", before="0.00 元", room="3,000.00 元", raw="1.00 元") == \
        "最高支付限额本次 3,000.00 元:此前已支付 0.00 元,尚可支付 3,000.00 元,本次 1.00 元 未超限额。"
