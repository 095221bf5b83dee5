"""``medrules translate``: every shipped rulebook, written with Chinese keywords, is the same
rulebook — the same tree, the same checked rulebook, the same settlements of its examples —
and translates back to exactly the text it came from."""
from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules import nodes as n
from medrules.cli import app
from medrules.explain import explain
from medrules.explain.json import explanation_json, settlement_json
from medrules.testing import settle_corpus
from medrules.parse import parse
from medrules.source import SourceFile
from medrules.translate import translate
from test_trace_schema import EXAMPLES

RULEBOOKS = sorted(p for p in (ROOT / "rulebooks").glob("*/*.mr") if p.parent.name != "zh")
ids = {"ids": lambda p: p.relative_to(ROOT / "rulebooks").as_posix()}


@pytest.fixture(scope="module")
def zh_tree(tmp_path_factory):
    """Every shipped rulebook translated, in a copy of the rulebooks folder (amendments and
    supplements name their base by a relative path)."""
    root = tmp_path_factory.mktemp("zh") / "rulebooks"
    root.mkdir()
    (root / ".medrules-root").write_text("", encoding="utf-8")  # as in the shipped folder
    for path in RULEBOOKS:
        target = root / path.relative_to(ROOT / "rulebooks")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(translate(path.read_text(encoding="utf-8"), "zh", str(path)), encoding="utf-8")
    return root


def _zh(zh_tree, path):
    return zh_tree / path.relative_to(ROOT / "rulebooks")


def _settled(program, facts_path) -> dict:
    doc = settlement_json(program, medrules.settle(program, medrules.load_facts(facts_path, program.checked)))
    return {"claims": doc["claims"], "totals": doc["totals"]}


@pytest.mark.parametrize("path", RULEBOOKS, **ids)
def test_translated_rulebook_is_the_same_rulebook(path, zh_tree):
    english = path.read_text(encoding="utf-8")
    chinese = _zh(zh_tree, path).read_text(encoding="utf-8")
    en_tree, zh_tree_ = parse(SourceFile(str(path), english)), parse(SourceFile("zh.mr", chinese))
    assert (en_tree.lang, zh_tree_.lang) == ("en", "zh")
    assert n.shape(zh_tree_) == n.shape(en_tree)
    assert [c.text for c in zh_tree_.comments] == [c.text for c in en_tree.comments]
    assert chinese.count("\n") == english.count("\n"), "lines stay where they were"
    # and back, to the very same text
    assert translate(chinese, "en") == english

    en_program, zh_program = medrules.load(path), medrules.load(_zh(zh_tree, path))
    assert n.shape(zh_program.checked) == n.shape(en_program.checked)
    stem = path.relative_to(ROOT).as_posix()
    examples = [e for e in sorted((ROOT / "examples").glob("*.json"))
                if any(e.name.startswith(prefix + "-") and EXAMPLES[prefix] == stem for prefix in EXAMPLES)]
    for example in examples:
        assert _settled(zh_program, example) == _settled(en_program, example), example.name
        for lang in ("zh", "en"):  # the explanations too: every step, citation and line
            assert _explained(zh_program, example, lang, str(_zh(zh_tree, path).parent)) == \
                _explained(en_program, example, lang, str(path.parent)), example.name


_UNITS = re.compile(r"(\d)[ \t]*(yuan|元|points|个百分点|days|天|months|个月)")


def _explained(program, facts_path, lang: str, folder: str) -> object:
    """The explanation as JSON, without columns (keywords change width), with the rulebooks'
    folder named 'RB', and with units spelt one way (a formula quotes a literal as the rulebook spells it:
    '0 yuan' or '0元')."""
    settlement = medrules.settle(program, medrules.load_facts(facts_path, program.checked), trace=True)
    doc = explanation_json(explain(program, settlement, lang))

    def plain(v):
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items() if k != "col"}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return _UNITS.sub(r"\1 \2", v.replace(folder, "RB")).replace(" 元", " yuan").replace(" 个百分点", " points") \
            .replace(" 天", " days").replace(" 个月", " months") if isinstance(v, str) else v
    return plain(doc)


@pytest.mark.parametrize("facts", sorted((ROOT / "tests" / "corpus").glob("*/*.json")),
                         ids=lambda p: p.relative_to(ROOT / "tests" / "corpus").as_posix())
def test_translated_policy_years_settle_the_corpus_alike(facts, zh_tree):
    """A folder of policy years written in Chinese settles each claim under the same version,
    with the same explanation text (the regression corpus' snapshot format)."""
    english = settle_corpus(ROOT / "rulebooks" / facts.parent.name, facts)
    chinese = settle_corpus(zh_tree / facts.parent.name, facts)
    assert chinese.replace(str(zh_tree), str(ROOT / "rulebooks")) == english


def test_examples_cover_most_rulebooks():
    covered = set(EXAMPLES.values())
    assert len([p for p in RULEBOOKS if p.relative_to(ROOT).as_posix() in covered]) >= 9


def test_translate_command(tmp_path):
    path = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"
    r = CliRunner().invoke(app, ["translate", "--to", "zh", str(path)])
    assert r.exit_code == 0, r.output
    assert "最高支付限额 160_000元" in r.output and "# ---------------------------------------------------------------- A1 门诊统筹" in r.output
    back = CliRunner().invoke(app, ["translate", "--to", "en", "-"], input=r.output)
    assert back.exit_code == 0 and back.output == path.read_text(encoding="utf-8")


def test_translate_command_reports_a_bad_rulebook():
    r = CliRunner().invoke(app, ["translate", "--to", "zh", "-"], input='rulebook "x" {\n  title "a”\n}\n')
    assert r.exit_code == 1
    assert "<stdin>:2:11" in r.output and "Traceback" not in r.output


def test_translation_quotes_chinese_names(tmp_path):
    text = 'facts claim { 就诊日期: date }\nparameter 起付线: money = 300 yuan assumed "x"\n'
    chinese = translate(text, "zh")
    assert chinese == '就诊事实 { 「就诊日期」: date }\n参数 「起付线」: money = 300元 假定 "x"\n'
    assert translate(chinese, "en") == text
    assert json.dumps(n.shape(parse(SourceFile("a", chinese))), default=str) == \
        json.dumps(n.shape(parse(SourceFile("b", text))), default=str)
