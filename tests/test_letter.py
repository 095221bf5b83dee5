"""The citizen's view and the letter: labels not names, days said of what, amounts on the fen grid,
adjustments with their reason, a summary, the office, the date and how to appeal; Markdown and HTML
from templates, valid and escaped.

tests/rulebooks/letter.mr pays 55% (+5 points for a retired member) up to 1,000 yuan a year, nothing
within 30 days of registration. Facts below (a retired member registered 2020-01-01), by hand:
  A 2020-01-20, 500:    day 20 counted from 2020-01-01 (inclusive) ≤ 30 → not paid; member pays 500.00
  B 2020-03-01, 333.33: 333.33 × 60% = 199.998 → 200.00 (half up to the fen); member pays 133.33
  C 2020-04-01, 1,500:  1,500 × 60% = 900.00, but 1,000 − 200 = 800.00 left → 800.00; member pays 700.00
  in all: cost 2,333.33; funds 200 + 800 = 1,000.00; member 500 + 133.33 + 700 = 1,333.33; limit reached on C.
"""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from markdown_it import MarkdownIt

import medrules
from conftest import ROOT
from medrules.explain import explain
from medrules.explain.citizen import citizen_view
from medrules.explain.document import html_page, letter_for, markdown
from medrules.facts import facts_from_source
from medrules.source import SourceFile
from test_trace_schema import EXAMPLE_FILES, _rulebook_for

RULEBOOK = ROOT / "tests" / "rulebooks" / "letter.mr"
FACTS = {"member": {"id": "M-1", "name": "张三", "category": "retired", "registered_on": "2020-01-01"},
         "claims": [{"id": "A", "date": "2020-01-20", "cost": "500"},
                    {"id": "B", "date": "2020-03-01", "cost": "333.33"},
                    {"id": "C", "date": "2020-04-01", "cost": "1500"}]}
DAY = dt.date(2020, 5, 6)


def _explained(lang, facts=FACTS):
    program = medrules.load(RULEBOOK)
    the_facts = facts_from_source(SourceFile("facts.json", json.dumps(facts, ensure_ascii=False)), program.checked)
    e = explain(program, medrules.settle(program, the_facts, trace=True), lang)
    return e, letter_for(e, the_facts, date=DAY)


def test_citizen_sentences_in_plain_words():
    e, _ = _explained("en")
    a, b, c = citizen_view(e)
    assert a.sentences[0] == ("Not paid: within 30 days of registration (the date of care 2020-01-20 is day 20 counted "
                              "from the registration date 2020-01-01). (per 测试〔2020〕1号 1)")
    assert b.sentences[0] == ("pooled fund: the rates give 333.33 × 60% (55% +5 points because the member category is "
                              "retired) = ≈200.00 yuan, so it pays 200.00 yuan (rounded to the fen). (per 测试〔2020〕1号 2)")
    assert "only 800.00 yuan was left of its limit of 1,000.00 yuan, so it pays 800.00 yuan" in c.sentences[0]
    zh = citizen_view(_explained("zh")[0])
    assert "就诊日期 2020-01-20 是登记日期 2020-01-01起的第 20 天" in zh[0].sentences[0]
    assert "(55% +5 个百分点,因为人员类别为退休)" in zh[1].sentences[0]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_no_internals_in_any_citizen_view(path, lang):
    """Every example of every shipped rulebook: no raw fact names (all the shipped facts have labels), no
    sub-fen amount, no bare 'day N', no rulebook id or the word 规则书."""
    program = medrules.load(ROOT / _rulebook_for(path))
    facts = facts_from_source(SourceFile.read(path), program.checked)
    e = explain(program, medrules.settle(program, facts, trace=True), lang)
    text = "\n".join(s for c in citizen_view(e) for s in (c.heading, *c.sentences))
    assert not re.search(r"\b(member|claim)\.[a-z_]+", text), text
    assert not re.search(r"\d\.\d{3}", text), text  # at most two decimals: fen
    for day in re.finditer(r"(第 \d+ 天|day \d+)", text):
        assert re.search(r"(起的第 \d+ 天|day \d+ counted from)", text[max(0, day.start() - 6):day.end() + 20]), text
    page = html_page(e, "citizen")
    assert "规则书" not in page and program.checked.id not in page and "rulebook" not in page.lower()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_letter_summary_office_date_appeal_and_name(lang):
    e, letter = _explained(lang)
    page = html_page(e, "citizen", letter)
    top = page.split("<section><h2>")[0]  # the summary comes before the first claim
    unit = "元" if lang == "zh" else "yuan"
    for amount in ("2,333.33", "1,000.00", "1,333.33"):
        assert f"{amount} {unit}" in top
    assert ("测试市医疗保障局" if lang == "zh" else "Test City Healthcare Security Bureau") in top
    assert "2020-05-06" in top and "张三" in top and "M-1" in top
    assert re.search(r"<li>(统筹基金|pooled fund) 1,000.00 (元|yuan)(\(结算单 C\)| \(claim C\))</li>", top)
    assert ("12393" in page.split("class=appeal")[1])
    md = markdown(e, "citizen", letter)
    assert "12393" in md and "张三 (M-1)" in md and "**1,333.33" in md


def _escaping_facts():
    facts = json.loads(json.dumps(FACTS))
    facts["member"]["id"] = "<script>alert(1)</script>"
    facts["member"]["name"] = "*[x](javascript:alert(1))* <b>"
    return facts


@pytest.mark.parametrize("view", ["citizen", "auditor"])
def test_facts_never_pass_through_as_markup(view):
    e, letter = _explained("en", _escaping_facts())
    md = markdown(e, view, letter)
    rendered = MarkdownIt("commonmark").render(md)
    assert "<script" not in rendered and "<b>" not in rendered and "javascript:" not in re.sub(
        r"\(javascript:alert\(1\)\)", "", rendered) and "href" not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    page = html_page(e, view, letter)
    assert "<script" not in page and "&lt;script&gt;" in page


def test_markdown_numbered_list_survives_step_ten():
    """The auditor's view of a claim with more than ten steps is one ordered list, with each step's notes
    nested under it (they are indented under '10. ' by four spaces, not three)."""
    path = ROOT / "examples" / "quzhou-employee-2012-inpatient-year.json"
    program = medrules.load(ROOT / _rulebook_for(path))
    facts = facts_from_source(SourceFile.read(path), program.checked)
    e = explain(program, medrules.settle(program, facts, trace=True), "zh", ["C2"])
    steps = len(e.claims[0].lines)
    assert steps > 10
    tokens = MarkdownIt("commonmark").parse(markdown(e, "auditor"))
    ordered = [t for t in tokens if t.type == "ordered_list_open"]
    assert len(ordered) == 1
    depth, items = 0, 0
    for t in tokens:
        if t.type == "ordered_list_open":
            depth += 1
        elif t.type == "ordered_list_close":
            depth -= 1
        elif t.type == "list_item_open" and t.level == 1:
            items += 1
    assert items == steps


def test_an_office_brands_its_letter(tmp_path):
    (tmp_path / "style.css.j2").write_text("body { font-family: 'Office Serif'; }\n", encoding="utf-8")
    e, letter = _explained("zh")
    page = html_page(e, "citizen", letter, template_dir=tmp_path)
    assert "Office Serif" in page and "测试市医疗保障局" in page
    (tmp_path / "letter.html.j2").write_text("<p>{{ office }}: {{ member_name }}</p>\n", encoding="utf-8")
    assert html_page(e, "citizen", letter, template_dir=tmp_path) == "<p>测试市医疗保障局: 张三</p>\n"


def test_cli_template_dir(tmp_path):
    from typer.testing import CliRunner

    from medrules.cli import app
    (tmp_path / "style.css.j2").write_text("/* branded */\n", encoding="utf-8")
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(FACTS, ensure_ascii=False), encoding="utf-8")
    r = CliRunner().invoke(app, ["explain", str(RULEBOOK), str(facts), "--view", "citizen", "--format", "html",
                                 "--template-dir", str(tmp_path)])
    assert r.exit_code == 0 and "/* branded */" in r.output and "测试市医疗保障局" in r.output


@pytest.mark.parametrize("view", ["citizen", "auditor"])
@pytest.mark.parametrize("format_", ["text", "markdown", "html"])
def test_what_if_honours_view_and_format(view, format_):
    """C3 of the retiree outpatient example at a grassroots institution: 1,569.37 counted at 55% + 5 = 60%
    instead of 50% + 5 = 55%: 1,569.37 × 5% = 78.4685 more → 941.62 − 863.15 = 78.47 after rounding each."""
    from typer.testing import CliRunner

    from medrules.cli import app
    r = CliRunner().invoke(app, ["explain", "rulebooks/quzhou/employee-2012.mr",
                                 "examples/quzhou-employee-2012-retiree-outpatient.json", "--what-if",
                                 "claim.institution=grassroots_zero_markup", "--view", view, "--format", format_,
                                 "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "863.15 → 941.62 (+78.47)" in r.output
    steps_shown = "Rate 50% adjusted to 55%" in r.output
    assert steps_shown == (view == "auditor")
    if format_ == "html":
        assert r.output.startswith("<!DOCTYPE html>")
    elif format_ == "markdown":
        assert r.output.startswith("# What if claim.institution=grassroots\\_zero\\_markup?")
        MarkdownIt("commonmark").parse(r.output)


def test_facts_as_a_path_a_json_string_or_a_dict():
    """The retiree outpatient example, three ways: the same settlement (C3: 863.15 from the outpatient pool)."""
    path = ROOT / "examples" / "quzhou-employee-2012-retiree-outpatient.json"
    program = medrules.load(ROOT / "rulebooks" / "quzhou" / "employee-2012.mr")
    text = path.read_text(encoding="utf-8")
    paid = []
    for given in (path, str(path), text, json.loads(text)):
        s = medrules.settle(program, medrules.load_facts(given, program))
        paid.append([(c.id, c.funds_paid) for c in s.claims])
    assert paid[0] == paid[1] == paid[2] == paid[3]
    assert ("C3", __import__("decimal").Decimal("863.15")) in paid[0]


def test_facts_errors_from_a_dict_are_located():
    program = medrules.load(ROOT / "rulebooks" / "quzhou" / "employee-2012.mr")
    with pytest.raises(medrules.MedrulesError) as exc:
        medrules.load_facts({"member": {"id": "X", "category": "pensioner"}, "claims": []}, program)
    d = exc.value.diagnostics[0]
    assert d.span is not None and d.span.file == "<facts>" and d.span.line >= 1


def test_json_errors_are_json():
    from typer.testing import CliRunner

    from medrules.cli import app
    r = CliRunner().invoke(app, ["run", "--json", "rulebooks/quzhou/employee-2012.mr", "nope.json"])
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["schema"] == "medrules.errors/1" and doc["errors"][0]["code"] == "io"
    r = CliRunner().invoke(app, ["explain", "--format", "json", "rulebooks/quzhou/employee-2012.mr",
                                 "tests/rulebooks/letter.mr"])
    doc = json.loads(r.stdout)
    # a rulebook named as the facts file: not .json and not starting with '{', so refused unread (cmdline.py)
    assert doc["errors"][0]["code"] == "io" and doc["errors"][0]["location"]["line"] == 1


def test_suggestions_only_name_facts_a_member_can_change():
    """Yanshan 2017 declares 'actionable member.paid_on': a newborn born 2017-02-10 and registered 2017-05-12
    (day 91, the birth day not counted) is covered from birth if paid by 2017-05-11 (day 90): the claim of
    2017-02-15 then pays 1,000 × 50% = 500.00. Moving the birth date would too, but nobody can: not suggested."""
    from medrules.analyses.whatif import sensitivity
    program = medrules.load(ROOT / "rulebooks" / "cangzhou" / "yanshan-residents-2017.mr")
    facts = medrules.load_facts(ROOT / "examples" / "cangzhou-yanshan-residents-2017-newborn.json", program)
    ranked = sensitivity(program, facts, ["C1"])
    assert ranked and {s.change.record + "." + s.change.field for s in ranked} == {"member.paid_on"}
    assert any(s.change.text == "member.paid_on=2017-05-11" and s.delta == __import__("decimal").Decimal("500.00")
               for s in ranked)


def test_the_citizen_view_suggests_in_labels(monkeypatch):
    """Yanshan 2017, the newborn example: paid by 2017-05-11 the claim of 2017-02-15 pays 1,000 × 50% = 500.00;
    the citizen reads the fact's label, not 'member.paid_on'."""
    from typer.testing import CliRunner

    from medrules.cli import app
    monkeypatch.chdir(ROOT)
    r = CliRunner().invoke(app, ["explain", "rulebooks/cangzhou/yanshan-residents-2017.mr",
                                 "examples/cangzhou-yanshan-residents-2017-newborn.json", "--view", "citizen",
                                 "--claim", "C1"])
    assert r.exit_code == 0, r.output
    assert "缴费到账日期(只登记不缴费者为参保登记日期):2017-05-11: +500.00 元" in r.output
    assert "member." not in r.output
