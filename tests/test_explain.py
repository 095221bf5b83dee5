"""Explanations: recorded by the same evaluation, readable, cited, in zh and en."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

import medrules
from conftest import case_files, load_case
from medrules.explain import explain
from medrules.explain.json import explanation_json
from medrules.explain.text import render_explanation, to_text

SNAPSHOT_CASES = ["retiree-outpatient-year", "working-inpatient-band1", "working-crosses-60000",
                  "retiree-crosses-60000", "reaches-cap-into-critical"]


def _case(stem):
    return load_case(next(p for p in case_files() if p.stem == stem))


def _explained(stem, lang="zh"):
    program, case, facts = _case(stem)
    settlement = medrules.settle(program, facts, trace=True)
    return program, settlement, explain(program, settlement, lang)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("stem", SNAPSHOT_CASES)
def test_explanation_text(stem, lang, snapshot):
    _, _, e = _explained(stem, lang)
    assert to_text(render_explanation(e), width=120) == snapshot


def test_explanation_json_snapshot(snapshot):
    _, _, e = _explained("reaches-cap-into-critical", "en")
    assert json.dumps(explanation_json(e), ensure_ascii=False, indent=1) == snapshot


def test_tracing_does_not_change_amounts():
    program, _, facts = _case("reaches-cap-into-critical")
    plain, traced = medrules.settle(program, facts), medrules.settle(program, facts, trace=True)
    for a, b in zip(plain.claims, traced.claims):
        assert a.funds == b.funds and a.member_pays == b.member_pays
    assert all(c.steps is None for c in plain.claims)


@pytest.mark.parametrize("stem", SNAPSHOT_CASES)
def test_every_money_step_cites_its_provision(stem):
    _, _, e = _explained(stem, "en")
    for claim in e.claims:
        for line in claim.lines:
            if line.kind in ("applies", "deductible", "cap", "band", "rate", "adjust", "paid"):
                assert line.citation is not None, (claim.result.id, line.text)
                assert line.citation.assumed or line.citation.quote, line.text
                assert line.span is not None and line.span.line > 0, line.text


@pytest.mark.parametrize("stem", SNAPSHOT_CASES)
def test_paid_lines_agree_with_the_settlement(stem):
    _, s, e = _explained(stem, "en")
    for claim in e.claims:
        paid_lines = [line for line in claim.lines if line.kind == "paid"]
        assert {line.fund for line in paid_lines} == {f.fund for f in claim.result.funds if f.applied}
        for line in paid_lines:
            amount = claim.result.fund(line.fund).paid
            assert f"{amount:,.2f} yuan" in line.text


def test_accumulators_show_before_and_after():
    _, _, e = _explained("working-crosses-60000", "en")
    second = e.claims[1]
    acc = [line for line in second.lines if line.kind == "accumulate" and "inpatient cost" in line.text]
    # 45,000.00 counted by C1, plus C2's 28,351.50
    assert acc[0].formula == "45,000.00 + 28,351.50 = 73,351.50"


def test_the_band_split_is_shown_with_its_arithmetic():
    _, _, e = _explained("working-crosses-60000", "en")
    bands = [line for line in e.claims[1].lines if line.kind == "band"]
    # C2 occupies 45,000 + 600 deductible = 45,600 → 73,351.50 on the year's cost
    assert bands[0].formula == "(60,000.00 − 45,600.00) × 84% = 14,400.00 × 84% = 12,096.00"
    assert bands[1].formula == "(73,351.50 − 60,000.00) × 87% = 13,351.50 × 87% = 11,615.805"


def test_the_cap_split_can_be_checked_by_hand():
    _, _, e = _explained("reaches-cap-into-critical", "en")
    cap = next(line for line in e.claims[1].lines if line.kind == "cap" and line.fund == "inpatient_pool")
    # room 160,000 − 41,496 = 118,504; band 1 took 7,896, leaving 110,608 for the 87% band;
    # 110,608 / 0.87 = 127,135.632…; 170,000 − 127,135.632… = 42,864.37 above the cap
    assert cap.formula == ("160,000.00 − 41,496.00 = 118,504.00; 118,504.00 − 7,896.00 = 110,608.00 ÷ 87% = "
                           "127,135.6321… of cost within the cap; 170,000.00 − 127,135.6321… = 42,864.37")


def test_assumptions_are_shown_as_assumptions():
    _, _, e = _explained("working-inpatient-band1", "en")
    deductible = next(line for line in e.claims[0].lines if line.kind == "deductible")
    assert deductible.citation.assumed
    text = to_text(render_explanation(e), width=200)
    assert "⚠ assumed" in text


def test_explanation_json_is_machine_readable():
    _, s, e = _explained("retiree-outpatient-year", "zh")
    doc = explanation_json(e)
    assert doc["schema"] == "medrules.explanation/1"
    c2 = doc["claims"][1]
    assert c2["funds"][0] == {"fund": "outpatient_pool", "applied": True, "paid": "678.38", "base": "1250.63",
                              "deductible": "120.00", "payable": "1130.63", "above_cap": "0.00",
                              "above_ceiling": "0.00", "remaining": "572.25"}
    rate = next(step for step in c2["steps"] if step["kind"] == "rate")
    assert rate["values"]["rate"] == "0.60" or Decimal(rate["values"]["rate"]) == Decimal("0.60")
    assert rate["citation"]["document"] == "衢政发〔2011〕102号"
    assert rate["source"]["file"].endswith("employee-2012.mr")
    assert {"name": "claim.institution", "value": "grassroots_zero_markup", "from": "fact"} in rate["inputs"]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("stem", SNAPSHOT_CASES)
def test_citizen_view(stem, lang, snapshot):
    from medrules.explain.text import render_citizen
    _, _, e = _explained(stem, lang)
    assert to_text(render_citizen(e), width=120) == snapshot


def test_citizen_view_names_the_limit_reached():
    from medrules.explain.citizen import citizen_view
    _, _, e = _explained("reaches-cap-into-critical", "en")
    c2 = citizen_view(e)[1]
    # band 1: 9,400 × 84%; band 2: 170,000 × 87%; the 160,000 limit left 118,504
    assert c2.sentences[0] == (
        "inpatient pooling fund: 600.00 yuan of the deductible is yours; the rates give 9,400.00 × 84% + "
        "170,000.00 × 87% = 155,796.00 yuan; but only 118,504.00 yuan was left of its limit of 160,000.00 yuan, "
        "so it pays 118,504.00 yuan. (per 衢政发〔2011〕102号 二)")
    assert c2.sentences[1].startswith("supplementary critical-illness insurance: on the 42,864.37 yuan above "
                                      "inpatient pooling fund's limit")
    assert c2.sentences[-1] == "You pay 22,918.07 yuan. (total 180,000.00 − funds 157,081.93)"


@pytest.mark.parametrize("view", ["citizen", "auditor"])
def test_markdown_and_html_documents(view):
    from html.parser import HTMLParser

    from medrules.explain.document import html_page, markdown
    _, _, e = _explained("reaches-cap-into-critical", "zh")
    md = markdown(e, view)
    assert md.startswith("# 医保结算说明") and "22,918.07 元" in md
    page = html_page(e, view)
    assert page.startswith("<!DOCTYPE html>") and 'lang="zh-CN"' in page and "22,918.07 元" in page
    assert "<script" not in page and "http" not in page  # standalone: nothing loaded from elsewhere

    class Balance(HTMLParser):
        def __init__(self):
            super().__init__()
            self.open = []

        def handle_starttag(self, tag, attrs):
            if tag not in ("meta", "br"):
                self.open.append(tag)

        def handle_endtag(self, tag):
            assert self.open and self.open.pop() == tag, tag

    checker = Balance()
    checker.feed(page)
    assert checker.open == []
