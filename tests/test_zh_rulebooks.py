"""The reference rulebooks written with Chinese keywords (rulebooks/zh/) are the same rulebooks
as their English originals: the same checked rulebook and the same settlements, worked by hand."""
from __future__ import annotations

from decimal import Decimal

import pytest

import medrules
from conftest import ROOT
from medrules import nodes as n

PAIRS = {
    "zh/quzhou/employee-2012.mr": "quzhou/employee-2012.mr",
    "zh/cangzhou/yanshan-residents-2017.mr": "cangzhou/yanshan-residents-2017.mr",
}


def test_every_chinese_rulebook_is_listed():
    shipped = {p.relative_to(ROOT / "rulebooks").as_posix() for p in (ROOT / "rulebooks" / "zh").rglob("*.mr")}
    assert shipped == set(PAIRS)


@pytest.mark.parametrize(("zh", "en"), PAIRS.items())
def test_same_checked_rulebook(zh, en):
    zh_program, en_program = medrules.load(ROOT / "rulebooks" / zh), medrules.load(ROOT / "rulebooks" / en)
    assert zh_program.checked.rulebook.lang == "zh" and en_program.checked.rulebook.lang == "en"
    assert n.shape(zh_program.checked) == n.shape(en_program.checked)


def _paid(rulebook: str, example: str, fund: str) -> dict[str, Decimal]:
    program = medrules.load(ROOT / "rulebooks" / rulebook)
    settlement = medrules.settle(program, medrules.load_facts(ROOT / "examples" / example, program.checked))
    return {c.id: c.fund(fund).paid for c in settlement.claims}


@pytest.mark.parametrize("rulebook", ["zh/quzhou/employee-2012.mr", "quzhou/employee-2012.mr"])
def test_quzhou_first_admission(rulebook):
    # 衢政发〔2011〕102号 二: working member, first admission of the year, 50,000 compliant cost;
    # assumed deductible 600 per admission; the year's cumulative cost stays under 60,000, so
    # 84%: (50,000 − 600) × 84% = 49,400 × 84% = 41,496.00
    paid = _paid(rulebook, "quzhou-employee-2012-inpatient-year.json", "inpatient_pool")
    assert paid["C1"] == Decimal("41496.00")


@pytest.mark.parametrize("rulebook", ["zh/cangzhou/yanshan-residents-2017.mr", "cangzhou/yanshan-residents-2017.mr"])
def test_yanshan_newborn_registered_late(rulebook):
    # Born 2017-02-10, registered 2017-05-12 (after the period closed 2016-12-20). Days counted
    # exclusive: 02-10 → 05-12 is 18 + 31 + 30 + 12 = 91 days > 90, so benefits start the 1st of
    # the month after payment, 2017-06-01: C1 (02-15) and C2 (05-31) are not paid; C3 (06-01)
    # gets the assumed 50% of 1,000 = 500.00
    paid = _paid(rulebook, "cangzhou-yanshan-residents-2017-newborn.json", "pool")
    assert paid == {"C1": Decimal("0"), "C2": Decimal("0"), "C3": Decimal("500.00")}
