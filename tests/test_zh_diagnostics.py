"""Diagnostics in Chinese: for a rulebook written with Chinese keywords, or with --lang zh."""
from __future__ import annotations

import re
from importlib import resources

import pytest
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from conftest import ROOT
from medrules.check import check
from medrules.cli import app
from medrules.diagnostics import MedrulesError
from medrules.lexicon import is_cjk
from medrules.messages import localise
from medrules.parse import parse
from medrules.source import SourceFile

CASES = sorted((ROOT / "tests" / "diagnostics").glob("*.mr"))
HOLE = re.compile(r"\{([a-z_]+)\}")


def _catalog():
    path = resources.files("medrules") / "locale" / "zh" / "LC_MESSAGES" / "diagnostics.po"
    with path.open("rb") as f:
        return read_po(f)


def test_catalog_entries_fill_only_holes_they_have():
    catalog = _catalog()
    assert len(catalog) >= 80
    for m in catalog:
        if m.id:
            assert m.context, m.id
            assert set(HOLE.findall(m.string)) <= set(HOLE.findall(m.id)), m.id
            assert any(is_cjk(ch) for ch in m.string), m.id


def _diagnostics(path):
    try:
        check(parse(SourceFile.read(path)))
    except MedrulesError as exc:
        return exc.diagnostics
    return []


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_every_diagnostic_case_has_a_chinese_message(path):
    for d in _diagnostics(path):
        zh = localise(d, "zh")
        assert (zh.code, zh.span) == (d.code, d.span)
        assert zh.message != d.message and any(is_cjk(ch) for ch in zh.message), d.message
        assert not HOLE.search(zh.message.replace("{ … }", "")), zh.message


BAD_ZH = '规则书 "x" {\n  标题 "起付标准500元”\n}\n'


def test_a_chinese_rulebook_is_diagnosed_in_chinese(tmp_path):
    path = tmp_path / "bad.mr"
    path.write_text(BAD_ZH, encoding="utf-8")
    r = CliRunner().invoke(app, ["check", str(path)])
    assert r.exit_code == 1
    assert f"{path}:2:15: 错误[full-width]: 引号以半角 '\"' 开始,却以全角 '”'(U+201D)结束" in r.output
    assert "提示: 请同样以 '\"' 结束,或改以 '“' 开始" in r.output
    assert "引号从这里开始" in r.output
    assert r.output.rstrip().endswith("1 个错误")  # the labels are Chinese too, the code stays as it is
    r = CliRunner().invoke(app, ["check", "--lang", "en", str(path)])
    assert "closed with a full-width '”' (U+201D)" in r.output
    assert "error[full-width]" in r.output and "hint: " in r.output


def test_lang_zh_for_an_english_rulebook(tmp_path):
    path = tmp_path / "bad.mr"
    path.write_text((ROOT / "tests" / "diagnostics" / "unknown-name.mr").read_text(encoding="utf-8")
                    if (ROOT / "tests" / "diagnostics" / "unknown-name.mr").exists()
                    else 'parameter p: money = 1 yuan assumed "x"\nfund f { base claim.cost rate q }\n',
                    encoding="utf-8")
    english = CliRunner().invoke(app, ["check", str(path)]).output
    chinese = CliRunner().invoke(app, ["check", "--lang", "zh", str(path)]).output
    assert "unknown" in english and "未知" in chinese


def test_syntax_errors_name_chinese_keywords():
    """What the parser expected, in the rulebook's own keywords."""
    (d,) = _diagnostics_of('基金 f {\n  计算基数 claim.cost\n  总计\n}\n')
    zh = localise(d, "zh")
    assert (d.code, d.span.line, d.span.col) == ("syntax", 3, 3)
    assert zh.message == "此处不应出现 '总计'"
    assert "'计算基数'" in zh.hint and "'封顶'" in zh.hint and "'}'" in zh.hint


def _diagnostics_of(text):
    try:
        check(parse(SourceFile("t.mr", text)))
    except MedrulesError as exc:
        return exc.diagnostics
    return []
