"""``medrules fmt``: every shipped rulebook is formatted; formatting keeps the tree and the
comments, is idempotent, and does not depend on the blank space it was given."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import ROOT
from medrules import nodes as n
from medrules.cli import app
from medrules.fmt import format_source
from medrules.parse import parse
from medrules.source import SourceFile
from medrules.translate import translate

SHIPPED = sorted((ROOT / "rulebooks").rglob("*.mr"))
ids = {"ids": lambda p: p.relative_to(ROOT / "rulebooks").as_posix()}


def _tree(text: str) -> n.Rulebook:
    return parse(SourceFile("x.mr", text))


def test_every_shipped_rulebook_is_formatted():
    r = CliRunner().invoke(app, ["fmt", "--check", *(str(p) for p in SHIPPED)])
    assert r.exit_code == 0, r.output
    assert len(SHIPPED) >= 14


@pytest.mark.parametrize("path", SHIPPED, **ids)
def test_formatting_keeps_tree_and_comments_in_both_keyword_sets(path):
    text = path.read_text(encoding="utf-8")
    for version in (text, translate(text, "zh"), translate(text, "en")):
        once = format_source(version)
        assert format_source(once) == once
        before, after = _tree(version), _tree(once)
        assert n.shape(after) == n.shape(before)
        assert [c.text for c in after.comments] == [c.text for c in before.comments]


MESSY = '''

# head
rulebook   "x"{
title "a"|"b"
      effective from 2012-01-01
}
    # about the source
source S{
number "1" issued 2012-01-01 }
enum k { a "A"
b   "B"
   | "bee" }
facts claim { id : text   kind:k cost: money=0 yuan "费用" }


parameter p : money = ( 1 yuan+2 yuan ) * 3 # why
assumed "x"
fund f "F"
cites S at "1" "q"{
base claim.cost
rate {  55% when claim.kind in { a , b },
otherwise 50% }
adjust -5 points
when not claim.cost>min(1 yuan,2 yuan)
        and claim.kind == a
  # inside
}
total cost is claim.cost


'''

# Worked out by hand from the rules in medrules/fmt.py's docstring (and docs/language.md §15.2).
TIDY = '''# head
rulebook "x" {
  title "a" | "b"
  effective from 2012-01-01
}
# about the source
source S {
  number "1"
  issued 2012-01-01
}
enum k {
  a "A"
  b "B"
    | "bee"
}
facts claim {
  id: text
  kind: k
  cost: money = 0 yuan "费用"
}

parameter p: money = (1 yuan + 2 yuan) * 3  # why
  assumed "x"
fund f "F"
    cites S at "1" "q" {
  base claim.cost
  rate { 55% when claim.kind in {a, b},
    otherwise 50% }
  adjust -5 points
      when not claim.cost > min(1 yuan, 2 yuan)
      and claim.kind == a
  # inside
}
total cost is claim.cost
'''


def test_a_messy_rulebook():
    assert format_source(MESSY) == TIDY
    assert n.shape(_tree(TIDY)) == n.shape(_tree(MESSY))


def test_chinese_keywords_and_full_width_punctuation():
    messy = '规则书"x"{标题"a"\n施行自2012-01-01}\n参数 p：money=1元 假定"x"\n基金 f"F"\n引用S条款"1""q"{\n' \
            '计算基数 claim.cost\n支付比例{55％当 claim.cost>1元 时，否则50%}\n最高支付限额3_000元\n}\n'
    tidy = '规则书 "x" {\n  标题 "a"\n  施行自 2012-01-01\n}\n参数 p: money = 1元 假定 "x"\n基金 f "F"\n' \
           '    引用 S 条款 "1" "q" {\n  计算基数 claim.cost\n  支付比例 { 55% 当 claim.cost > 1元 时, 否则 50% }\n' \
           '  最高支付限额 3_000元\n}\n'
    assert format_source(messy) == tidy
    assert n.shape(_tree(tidy)) == n.shape(_tree(messy))


def test_fmt_command_in_place_check_and_stdin(tmp_path):
    path = tmp_path / "messy.mr"
    path.write_text(MESSY, encoding="utf-8")
    r = CliRunner().invoke(app, ["fmt", "--check", str(path)])
    assert r.exit_code == 1 and "not formatted" in r.output
    assert path.read_text(encoding="utf-8") == MESSY, "--check changes nothing"
    r = CliRunner().invoke(app, ["fmt", str(path)])
    assert r.exit_code == 0 and path.read_text(encoding="utf-8") == TIDY
    r = CliRunner().invoke(app, ["fmt", "-"], input=MESSY)
    assert r.exit_code == 0 and r.stdout == TIDY
    r = CliRunner().invoke(app, ["fmt", "--check", "-"], input=TIDY)
    assert r.exit_code == 0


def test_fmt_reports_a_rulebook_that_does_not_parse(tmp_path):
    r = CliRunner().invoke(app, ["fmt", "-"], input="rulebook {\n")
    assert r.exit_code == 1 and "<stdin>:1:10" in r.output and "Traceback" not in r.output


# ---------------------------------------------------------------- the layout does not matter
BASE = (ROOT / "rulebooks" / "quzhou" / "employee-2012.mr").read_text(encoding="utf-8")
_GAP = re.compile(r"(?<=\S)[ \t]+(?=\S)")


def _reshaped(text: str, data) -> str:
    """The same rulebook with other blank space: indentation, gaps between words (never
    removed: some words need one), trailing blanks and extra blank lines."""
    lines = []
    for line in text.splitlines():
        if '"' not in line and "#" not in line:  # leave quoted text and comments as they are
            line = _GAP.sub(lambda m: " " * data.draw(st.integers(1, 3)), line.strip())
        else:
            line = line.strip()
        lines.append(" " * data.draw(st.integers(0, 6)) + line + " " * data.draw(st.integers(0, 2)))
        if not line and data.draw(st.booleans()):
            lines.append("")
    return "\n".join(lines) + "\n" * data.draw(st.integers(1, 3))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_formatting_does_not_depend_on_blank_space(data):
    for text in (BASE, translate(BASE, "zh")):
        shaken = _reshaped(text, data)
        once = format_source(shaken)
        assert once == format_source(text)
        assert format_source(once) == once
        assert n.shape(_tree(once)) == n.shape(_tree(shaken))


_EDITS = list('“”"「」：，（）％＋；{}()#\n \t时当且或5元%,')


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_edit_formats_faithfully_or_is_reported(data):
    """Damage a small rulebook in either keyword set: formatting and translating either report
    a diagnostic or keep the tree (and formatting is then idempotent); never anything else."""
    from medrules.diagnostics import MedrulesError
    from test_zh import CHINESE, ENGLISH
    text = data.draw(st.sampled_from([CHINESE, ENGLISH, MESSY]))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        if data.draw(st.booleans()):
            text = text[:at] + data.draw(st.sampled_from(_EDITS)) + text[at:]
        else:
            text = text[:at] + text[at + data.draw(st.integers(1, 3)):]
    try:
        once = format_source(text)
    except MedrulesError as exc:
        assert all(d.span is None or d.span.line >= 1 for d in exc.diagnostics)
        return
    assert format_source(once) == once
    assert n.shape(_tree(once)) == n.shape(_tree(text))
    for lang in ("zh", "en"):
        assert n.shape(_tree(translate(text, lang))) == n.shape(_tree(text))


def test_windows_line_ends_and_byte_order_mark():
    text = (ROOT / "rulebooks" / "zh" / "quzhou" / "employee-2012.mr").read_text(encoding="utf-8")
    assert format_source(text.replace("\n", "\r\n")) == text
    r = CliRunner().invoke(app, ["fmt", "--check", "-"], input="\ufeff" + text)
    assert r.exit_code == 0, r.output
