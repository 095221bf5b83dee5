"""Eligibility over time: provisions B, F1, F2, G and F3 of shared/domain/provisions.md.

Rulebooks under test (each loaded under its repository-relative name):

* B  — rulebooks/quzhou/employee-2012.mr, the outpatient timing of 门诊统筹暂行办法 第七–九条;
* F1 — rulebooks/cangzhou/yanshan-residents-2017.mr;
* F2 + G — rulebooks/chongqing/residents-2017.mr;
* F3 — rulebooks/qinhuangdao/residents-2017.mr and students-2017-2018.mr.

Every expected amount and every day count is worked out by hand in the docstrings, from the
policy text and the decisions written in each rulebook's header; none is copied from output.

Day counting. The three resident rulebooks count days EXCLUSIVE: the day of payment (birth,
discharge) is day 0, the next day day 1. Month lengths used below (2017 is not a leap year):
Jan 31, Feb 28, Mar 31, Apr 30, May 31, Jun 30, Jul 31, Aug 31, Sep 30, Oct 31, Nov 30, Dec 31.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

import medrules
from conftest import ROOT
from medrules.explain import explain
from medrules.explain.text import render_explanation, to_text
from medrules.facts import facts_from_source
from medrules.source import SourceFile


def _read(path):
    return SourceFile(path.resolve().relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))


def _load(relative):
    return medrules.load(ROOT / relative, read=_read)


@pytest.fixture(scope="module")
def quzhou():
    return _load("rulebooks/quzhou/employee-2012.mr")


@pytest.fixture(scope="module")
def yanshan():
    return _load("rulebooks/cangzhou/yanshan-residents-2017.mr")


@pytest.fixture(scope="module")
def chongqing():
    return _load("rulebooks/chongqing/residents-2017.mr")


@pytest.fixture(scope="module")
def qhd():
    return _load("rulebooks/qinhuangdao/residents-2017.mr")


@pytest.fixture(scope="module")
def students():
    return _load("rulebooks/qinhuangdao/students-2017-2018.mr")


def settle(program, member, *claims, opening=None, trace=False):
    facts = {"member": {"id": "M", **member}, "claims": [{"id": f"C{i}", **c} for i, c in enumerate(claims, 1)]}
    if opening:
        facts["opening"] = opening
    f = facts_from_source(SourceFile("facts.json", json.dumps(facts, ensure_ascii=False)), program.checked)
    return medrules.settle(program, f, trace=trace)


def one(program, member, claim, **kw):
    return settle(program, member, claim, **kw).claims[0]


def reason(claim, lang="zh"):
    """The reason of the rulebook-wide exclusion that stopped every fund, or None."""
    reasons = {f.excluded_by.reason.best(lang) if f.excluded_by is not None else None for f in claim.funds}
    assert len(reasons) == 1, reasons  # a top-level exclusion stops every fund, and only then
    return reasons.pop()


def says_why(program, member, claim, zh, en):
    """An ineligible claim pays 0, and its explanation says why, in both languages."""
    s = settle(program, member, claim, trace=True)
    c = s.claims[0]
    assert c.funds_paid == 0 and c.member_pays == c.total_cost
    assert reason(c, "zh") == zh and reason(c, "en") == en
    en_lines = [line.text for line in explain(program, s, "en").claims[0].lines]
    zh_lines = [line.text for line in explain(program, s, "zh").claims[0].lines]
    assert any(f"Not paid: {en}." in t and "no fund pays" in t for t in en_lines), en_lines
    assert any(f"不予支付:{zh}。" in t and "各基金均不支付" in t for t in zh_lines), zh_lines


def text(program, settlement, lang):
    return to_text(render_explanation(explain(program, settlement, lang)), width=120)


# ============================================================================ B: Quzhou outpatient timing
# A working member's outpatient claim of 500.00 at an ordinary designated institution, alone in its
# year: deductible 300 (per year), then (500 − 300) × 50% = 100.00.
QZ_OUT = {"kind": "outpatient", "compliant_cost": "500.00"}
QZ_FIRST = "首次参保,缴费次月起才享受门诊统筹待遇"
QZ_SUSPENDED = "欠费或中断缴费,次月起暂停享受门诊统筹待遇"
QZ_RESUMED = "中断缴费后续缴,缴费次月起恢复门诊统筹待遇"


@pytest.mark.parametrize("day, paid", [("2012-01-31", "0.00"), ("2012-02-01", "100.00")])
def test_b_first_enrolment_month_after_at_a_month_boundary(quzhou, day, paid):
    """第八条: first payment on 2012-01-31 → benefits from the 1st of the next month, 2012-02-01.
    month_start(2012-01-31 + 1 month) = month_start(2012-02-29) = 2012-02-01.
    Covered: (500 − 300) × 50% = 100.00."""
    c = one(quzhou, {"category": "working", "enrolled_paid_on": "2012-01-31"}, {"date": day, **QZ_OUT})
    assert c.fund("outpatient_pool").paid == Decimal(paid)


@pytest.mark.parametrize("day, paid", [("2012-12-31", "0.00"), ("2013-01-01", "100.00")])
def test_b_first_enrolment_in_december_starts_in_january(quzhou, day, paid):
    """A payment on 2012-12-15: 次月 is January 2013 (month_start(2013-01-15) = 2013-01-01).
    The 2013 claim is the first of benefit year 2013: (500 − 300) × 50% = 100.00."""
    c = one(quzhou, {"category": "working", "enrolled_paid_on": "2012-12-15"}, {"date": day, **QZ_OUT})
    assert c.fund("outpatient_pool").paid == Decimal(paid)


def test_b_first_enrolment_says_why(quzhou):
    says_why(quzhou, {"category": "working", "enrolled_paid_on": "2012-01-31"}, {"date": "2012-01-31", **QZ_OUT},
             QZ_FIRST, "first enrolment: outpatient pooling benefits start in the month after payment")


@pytest.mark.parametrize("day, arrears_paid_on, paid", [
    ("2012-06-30", None, "100.00"),           # arrears began 2012-06-10: June is still covered
    ("2012-07-01", None, "0.00"),             # 次月即暂停: suspended from 2012-07-01
    ("2012-12-31", None, "0.00"),             # and stays suspended while the arrears are unpaid
    ("2012-07-20", "2012-08-15", "0.00"),     # paid in August: July is not restored afterwards
    ("2012-08-01", "2012-08-15", "100.00"),   # 当月即恢复: from 2012-08-01, before the payment day
    ("2012-09-10", "2012-08-15", "100.00"),
])
def test_b_arrears_suspend_and_paying_them_restores_in_the_month_of_payment(quzhou, day, arrears_paid_on, paid):
    """第九条. Arrears from 2012-06-10 → suspended from month_start(2012-07-10) = 2012-07-01.
    Arrears paid 2012-08-15 → restored from month_start(2012-08-15) = 2012-08-01.
    Each claim alone in its year: covered pays (500 − 300) × 50% = 100.00."""
    member = {"category": "working", "arrears_from": "2012-06-10"}
    if arrears_paid_on:
        member["arrears_paid_on"] = arrears_paid_on
    c = one(quzhou, member, {"date": day, **QZ_OUT})
    assert c.fund("outpatient_pool").paid == Decimal(paid)
    if paid == "0.00":
        assert reason(c) == QZ_SUSPENDED


def test_b_suspension_says_why(quzhou):
    says_why(quzhou, {"category": "working", "arrears_from": "2012-06-10"}, {"date": "2012-07-01", **QZ_OUT},
             QZ_SUSPENDED, "contributions in arrears or interrupted: outpatient pooling benefits suspended from the "
                           "next month")


def test_b_a_suspended_claim_does_not_use_the_deductible(quzhou):
    """One year, arrears from 2012-06-10, paid back 2012-08-15:
    C1 2012-06-30: 300 deductible, (500 − 300) × 50% = 100.00;
    C2 2012-07-20: suspended, pays 0 and counts nothing;
    C3 2012-08-01: deductible already used; cost counted 500 → 1,000 (under 3,000): 500 × 50% = 250.00."""
    s = settle(quzhou, {"category": "working", "arrears_from": "2012-06-10", "arrears_paid_on": "2012-08-15"},
               {"date": "2012-06-30", **QZ_OUT}, {"date": "2012-07-20", **QZ_OUT}, {"date": "2012-08-01", **QZ_OUT})
    assert [c.fund("outpatient_pool").paid for c in s.claims] == [Decimal("100.00"), 0, Decimal("250.00")]
    assert s.claims[1].accumulators["outpatient_cost"] == Decimal("500.00")
    assert s.claims[2].accumulators["outpatient_cost"] == Decimal("1000.00")


@pytest.mark.parametrize("day, paid, why", [
    ("2012-05-02", "0.00", QZ_SUSPENDED),   # interrupted from 2012-03-10: suspended from 2012-04-01
    ("2012-06-20", "0.00", QZ_RESUMED),     # resumed 2012-06-15: June itself is still without benefits
    ("2012-07-01", "100.00", None),         # 第八条: from the month after the resumed payment
])
def test_b_resuming_after_an_interruption(quzhou, day, paid, why):
    """第八条 for 中断缴费后续缴 (no back-payment): benefits from month_start(2012-06-15 + 1 month) = 2012-07-01."""
    c = one(quzhou, {"category": "working", "arrears_from": "2012-03-10", "resumed_paid_on": "2012-06-15"},
            {"date": day, **QZ_OUT})
    assert c.fund("outpatient_pool").paid == Decimal(paid)
    assert reason(c) == why


def test_b_inpatient_claims_are_not_affected(quzhou):
    """The 暂行办法 governs 门诊统筹 only. Inpatient 10,600 during arrears: 600 deductible,
    10,000 × 84% = 8,400.00."""
    c = one(quzhou, {"category": "working", "arrears_from": "2012-03-10"},
            {"date": "2012-05-02", "kind": "inpatient", "compliant_cost": "10600.00"})
    assert c.fund("inpatient_pool").paid == Decimal("8400.00")


def test_b_explanation_snapshot(quzhou, snapshot):
    s = settle(quzhou, {"category": "working", "arrears_from": "2012-06-10", "arrears_paid_on": "2012-08-15"},
               {"date": "2012-07-20", **QZ_OUT}, {"date": "2012-08-01", **QZ_OUT}, trace=True)
    assert text(quzhou, s, "zh") == snapshot
    assert text(quzhou, s, "en") == snapshot


# ============================================================================ F1: Yanshan (Cangzhou) 2017
# One fund at the ASSUMED 50%, no deductible: a covered claim of 1,000.00 pays 500.00.
YS_CLAIM = {"compliant_cost": "1000.00"}
YS_MIDYEAR = "年度中途参保,自缴费到账之日起满90日后方可享受待遇"
YS_NEWBORN_LATE = "新生儿出生90日后才办理参保缴费,从缴费次月起享受待遇"


@pytest.mark.parametrize("day, paid", [
    ("2017-03-01", "0.00"),    # day 0, the payment day
    ("2017-05-30", "0.00"),    # day 90: Mar 31 is day 30, Apr 30 day 60, May 30 day 90
    ("2017-05-31", "500.00"),  # day 91: 满90日后
])
def test_f1_mid_year_joiner_day_90_and_day_91(yanshan, day, paid):
    """Paid 2017-03-01 (after the period closed on 2016-12-20). Exclusive count: 03-01 is day 0.
    Covered: 1,000 × 50% = 500.00."""
    c = one(yanshan, {"paid_on": "2017-03-01"}, {"date": day, **YS_CLAIM})
    assert c.fund("pool").paid == Decimal(paid)
    if paid == "0.00":
        assert reason(c) == YS_MIDYEAR


def test_f1_mid_year_says_why(yanshan):
    says_why(yanshan, {"paid_on": "2017-03-01"}, {"date": "2017-05-30", **YS_CLAIM},
             YS_MIDYEAR, "mid-year joiner: covered only 90 full days after the contribution arrived")


@pytest.mark.parametrize("paid_on, day, paid", [
    ("2016-12-20", "2017-01-01", "500.00"),   # last day of the enrolment period: covered all year
    ("2016-12-21", "2017-03-21", "0.00"),     # after it: day 90 (Dec 31 = day 10, Jan 31 = 41, Feb 28 = 69, Mar 21 = 90)
    ("2016-12-21", "2017-03-22", "500.00"),   # day 91
])
def test_f1_the_enrolment_period_closes_on_20_december(yanshan, paid_on, day, paid):
    c = one(yanshan, {"paid_on": paid_on}, {"date": day, **YS_CLAIM})
    assert c.fund("pool").paid == Decimal(paid)


@pytest.mark.parametrize("paid_on, day_count, covered_from_birth", [
    ("2017-05-10", 89, True),
    ("2017-05-11", 90, True),    # "自出生之日起90日内": day 90 is within
    ("2017-05-12", 91, False),
])
def test_f1_newborn_registered_on_day_89_90_91(yanshan, paid_on, day_count, covered_from_birth):
    """Born 2017-02-10 (day 0). Feb 28 is day 18, Mar 31 day 49, Apr 30 day 79, May 10 day 89.
    Within 90 days: covered from birth, so a claim on 2017-02-15 pays 1,000 × 50% = 500.00.
    Day 91: from 次月 = 2017-06-01; the claim of 02-15 and one of 05-31 pay 0, one of 06-01 pays 500.00."""
    member = {"paid_on": paid_on, "born_on": "2017-02-10"}
    s = settle(yanshan, member, {"date": "2017-02-15", **YS_CLAIM}, {"date": "2017-05-31", **YS_CLAIM},
               {"date": "2017-06-01", **YS_CLAIM})
    paid = [c.fund("pool").paid for c in s.claims]
    if covered_from_birth:
        assert paid == [Decimal("500.00")] * 3
    else:
        assert paid == [0, 0, Decimal("500.00")]
        assert reason(s.claims[0]) == reason(s.claims[1]) == YS_NEWBORN_LATE


def test_f1_newborn_late_says_why(yanshan):
    says_why(yanshan, {"paid_on": "2017-05-12", "born_on": "2017-02-10"}, {"date": "2017-05-31", **YS_CLAIM},
             YS_NEWBORN_LATE, "newborn registered more than 90 days after birth: covered from the month after payment")


@pytest.mark.parametrize("member, day, paid", [
    # born 2017-01-15: Jan 31 day 16, Feb 28 day 44, Mar 31 day 75, Apr 15 day 90; 06-30 is far beyond
    ({"born_on": "2017-01-15", "paid_on": "2017-06-30"}, "2017-06-30", "0.00"),
    ({"born_on": "2017-01-15", "paid_on": "2017-06-30"}, "2017-07-01", "500.00"),   # 次月 at a month boundary
    # born 2017-08-01: Aug 31 day 30, Sep 30 day 60, Oct 30 day 90; paid 12-05 → 次月 = 2018-01-01
    ({"born_on": "2017-08-01", "paid_on": "2017-12-05"}, "2017-12-31", "0.00"),
])
def test_f1_newborn_month_after_payment(yanshan, member, day, paid):
    assert one(yanshan, member, {"date": day, **YS_CLAIM}).fund("pool").paid == Decimal(paid)


@pytest.mark.parametrize("assisted, day, paid, why", [
    (True, "2017-05-10", "500.00", None),                     # registered 05-10, no wait
    (True, "2017-05-09", "0.00", "参保登记前不享受待遇"),       # before registration
    (False, "2017-05-10", "0.00", YS_MIDYEAR),                # a paying joiner waits 90 days
])
def test_f1_five_guarantee_and_low_income_members_do_not_wait(yanshan, assisted, day, paid, why):
    c = one(yanshan, {"paid_on": "2017-05-10", "assisted": assisted}, {"date": day, **YS_CLAIM})
    assert c.fund("pool").paid == Decimal(paid)
    assert reason(c) == why


def test_f1_the_rate_is_marked_as_an_assumption(yanshan):
    s = settle(yanshan, {"paid_on": "2016-11-01"}, {"date": "2017-04-01", **YS_CLAIM}, trace=True)
    rate = next(line for line in explain(yanshan, s, "en").claims[0].lines if line.kind == "rate")
    assert rate.citation.assumed and [name for name, _ in rate.assumptions] == ["pool_rate"]


def test_f1_explanation_snapshot(yanshan, snapshot):
    s = settle(yanshan, {"paid_on": "2017-05-12", "born_on": "2017-02-10"},
               {"date": "2017-05-31", **YS_CLAIM}, {"date": "2017-06-01", **YS_CLAIM}, trace=True)
    assert text(yanshan, s, "zh") == snapshot
    assert text(yanshan, s, "en") == snapshot


# ============================================================================ F2 + G: Chongqing 2017
# A tier-1 inpatient claim of 1,100.00 at a level-1 (township) hospital, alone in its year:
# deductible 100, (1,100 − 100) × 80% = 800.00.
CQ_IN = {"kind": "inpatient", "institution": "grassroots_level1", "compliant_cost": "1100.00"}
CQ_JANFEB = "2017年1月、2月参保缴费的,缴清费用的次月1日起享受待遇"
CQ_WAIT = "2017年3月1日后参保缴费的,需等待90日后享受待遇"
CQ_OUTSIDE = "缴费不在2017年度参保缴费期内(2016年9月1日至2017年9月30日)"
CQ_NEWBORN = "新生儿未独立参保缴费,也不能随参保的母亲享受当年待遇"


def cq_paid(c):
    return c.funds_paid


@pytest.mark.parametrize("paid_on, day, paid, why", [
    ("2017-02-28", "2017-02-28", "0.00", CQ_JANFEB),   # paid in February: covered from 03-01
    ("2017-02-28", "2017-03-15", "800.00", None),
    ("2017-03-01", "2017-03-15", "0.00", CQ_WAIT),     # paid on 1 March: the 90-day wait
])
def test_f2_payment_in_february_vs_march(chongqing, paid_on, day, paid, why):
    """Feb payer: 次月1日 = 2017-03-01. March payer: day 14 of the wait on 03-15. Covered: 800.00."""
    c = one(chongqing, {"tier": "tier1", "paid_on": paid_on}, {"date": day, **CQ_IN})
    assert cq_paid(c) == Decimal(paid)
    assert reason(c) == why


@pytest.mark.parametrize("day, paid", [("2017-05-30", "0.00"), ("2017-05-31", "800.00")])
def test_f2_day_90_and_day_91_after_a_march_payment(chongqing, day, paid):
    """Paid 2017-03-01 = day 0: Mar 31 day 30, Apr 30 day 60, May 30 day 90 (waiting), May 31 day 91."""
    assert cq_paid(one(chongqing, {"tier": "tier1", "paid_on": "2017-03-01"}, {"date": day, **CQ_IN})) == Decimal(paid)


def test_f2_waiting_says_why(chongqing):
    says_why(chongqing, {"tier": "tier1", "paid_on": "2017-03-01"}, {"date": "2017-05-30", **CQ_IN},
             CQ_WAIT, "paid from 1 March 2017: covered after a 90-day wait")


@pytest.mark.parametrize("day, paid", [("2017-01-31", "0.00"), ("2017-02-01", "800.00")])
def test_f2_january_payment_at_the_month_boundary(chongqing, day, paid):
    """Paid 2017-01-31: covered from month_start(2017-02-28) = 2017-02-01."""
    assert cq_paid(one(chongqing, {"tier": "tier1", "paid_on": "2017-01-31"}, {"date": day, **CQ_IN})) == Decimal(paid)


@pytest.mark.parametrize("paid_on, day, paid, why", [
    ("2016-12-31", "2017-01-01", "800.00", None),      # collective period 2016-09 to 2016-12: all year
    ("2016-09-01", "2017-01-01", "800.00", None),
    ("2016-08-31", "2017-06-01", "0.00", CQ_OUTSIDE),
    # last day to pay: 2017-09-30; Oct 31 day 31, Nov 30 day 61, Dec 29 day 90, Dec 30 day 91
    ("2017-09-30", "2017-12-29", "0.00", CQ_WAIT),
    ("2017-09-30", "2017-12-30", "800.00", None),
    ("2017-10-01", "2017-12-30", "0.00", CQ_OUTSIDE),
])
def test_f2_payment_periods(chongqing, paid_on, day, paid, why):
    c = one(chongqing, {"tier": "tier1", "paid_on": paid_on}, {"date": day, **CQ_IN})
    assert cq_paid(c) == Decimal(paid)
    assert reason(c) == why


def test_f2_not_enrolled_says_why(chongqing):
    says_why(chongqing, {"tier": "tier1"}, {"date": "2017-06-01", **CQ_IN},
             "未参加2017年度居民医保(无缴费记录)", "not enrolled for 2017: no contribution paid")


@pytest.mark.parametrize("paid_on, day, paid, why", [
    # born 2017-04-10 = day 0: Apr 30 day 20, May 31 day 51, Jun 30 day 81, Jul 8 day 89, Jul 10 day 91
    ("2017-07-08", "2017-04-20", "800.00", None),      # day 89: covered from birth
    ("2017-07-09", "2017-04-20", "800.00", None),      # day 90: still within 90 days
    ("2017-07-10", "2017-04-20", "0.00", CQ_WAIT),     # day 91: an ordinary payment from March on
    # from 07-10: Jul 31 day 21, Aug 31 day 52, Sep 30 day 82, Oct 8 day 90, Oct 9 day 91
    ("2017-07-10", "2017-10-08", "0.00", CQ_WAIT),
    ("2017-07-10", "2017-10-09", "800.00", None),
])
def test_f2_newborn_enrolled_on_day_89_vs_91(chongqing, paid_on, day, paid, why):
    c = one(chongqing, {"tier": "tier1", "born_on": "2017-04-10", "paid_on": paid_on}, {"date": day, **CQ_IN})
    assert cq_paid(c) == Decimal(paid)
    assert reason(c) == why


@pytest.mark.parametrize("born_on, mother_enrolled, paid, why", [
    ("2017-04-10", True, "800.00", None),            # shares the enrolled mother's 2017 benefits from birth
    ("2017-04-10", False, "0.00", CQ_NEWBORN),
    ("2016-12-20", True, "0.00", CQ_NEWBORN),        # 当年 = 2016: no share of the mother's 2017 benefits
])
def test_f2_newborn_not_enrolled_shares_the_mothers_benefits(chongqing, born_on, mother_enrolled, paid, why):
    c = one(chongqing, {"tier": "tier1", "born_on": born_on, "mother_enrolled": mother_enrolled},
            {"date": "2017-04-20", **CQ_IN})
    assert cq_paid(c) == Decimal(paid)
    assert reason(c) == why


CQ_OUT = {"kind": "outpatient", "institution": "other"}


@pytest.mark.parametrize("continuous, expected", [
    (False, ["80.00", "0.00", "0.00"]),    # quota 80: C1 takes it all, nothing is carried
    (True, ["100.00", "30.00", "0.00"]),   # 80 + 50 carried = 130: C1 100, C2 30, C3 nothing left
])
def test_f2_outpatient_quota_with_and_without_roll_over(chongqing, continuous, expected):
    """Outpatient at a non-grassroots institution (no pooling): the quota pays 100% up to its limit.
    Unused 2016 balance 50.00. Claims 100, 30, 10.
    Without 连续参保: limit 80 → C1 min(100, 80) = 80, C2 and C3 0.
    With it: limit 80 + 50 = 130 → C1 100, C2 30 (130 − 100 = 30 left), C3 0."""
    s = settle(chongqing, {"tier": "tier1", "paid_on": "2016-11-01", "continuous": continuous,
                           "quota_balance": "50.00"},
               {"date": "2017-02-01", "compliant_cost": "100.00", **CQ_OUT},
               {"date": "2017-03-01", "compliant_cost": "30.00", **CQ_OUT},
               {"date": "2017-04-01", "compliant_cost": "10.00", **CQ_OUT})
    assert [c.fund("outpatient_quota").paid for c in s.claims] == [Decimal(x) for x in expected]
    assert all(c.fund("outpatient_pool").paid == 0 for c in s.claims)


def test_f2_signed_grassroots_pooling_after_the_quota(chongqing):
    """Signed member at the signed township centre. C1 200: quota 80, pooling (200 − 80) × 60% = 72.00.
    C2 100: quota used up (0), pooling 100 × 60% = 60, but only 100 − 72 = 28.00 is left of the limit.
    C3 50: pooling 0 (limit reached). Member: C1 200 − 152 = 48, C2 100 − 28 = 72, C3 50."""
    grass = {"kind": "outpatient", "institution": "grassroots_level1", "at_signed": True}
    s = settle(chongqing, {"tier": "tier1", "paid_on": "2016-11-01", "signed": True},
               {"date": "2017-02-01", "compliant_cost": "200.00", **grass},
               {"date": "2017-03-01", "compliant_cost": "100.00", **grass},
               {"date": "2017-04-01", "compliant_cost": "50.00", **grass})
    assert [c.fund("outpatient_quota").paid for c in s.claims] == [Decimal("80.00"), 0, 0]
    assert [c.fund("outpatient_pool").paid for c in s.claims] == [Decimal("72.00"), Decimal("28.00"), 0]
    assert [c.member_pays for c in s.claims] == [Decimal("48.00"), Decimal("72.00"), Decimal("50.00")]


def test_f2_unsigned_members_have_a_limit_of_60(chongqing):
    """No signed institution, at a village clinic: C1 200: quota 80, (200 − 80) × 60% (assumed) = 72,
    limited to 60.00."""
    c = one(chongqing, {"tier": "tier1", "paid_on": "2016-11-01"},
            {"date": "2017-02-01", "kind": "outpatient", "institution": "village", "compliant_cost": "200.00"})
    assert c.fund("outpatient_quota").paid == Decimal("80.00") and c.fund("outpatient_pool").paid == Decimal("60.00")


def test_f2_signed_member_elsewhere_gets_no_pooling(chongqing):
    c = one(chongqing, {"tier": "tier1", "paid_on": "2016-11-01", "signed": True},
            {"date": "2017-02-01", "kind": "outpatient", "institution": "village", "compliant_cost": "200.00"})
    assert c.fund("outpatient_quota").paid == Decimal("80.00") and c.fund("outpatient_pool").paid == 0
    assert c.fund("outpatient_pool").excluded_by.reason.zh == "已签约参保人员在非签约基层医疗机构就诊,不享受门诊统筹"


def test_f2_quota_may_pay_the_inpatient_own_share_on_request(chongqing):
    """Inpatient 1,100: subsidy 800; own share of compliant cost 300; quota pays min(300, 80) = 80.00."""
    c = one(chongqing, {"tier": "tier1", "paid_on": "2016-11-01"},
            {"date": "2017-02-01", "quota_for_inpatient": True, **CQ_IN})
    assert c.fund("inpatient_subsidy").paid == Decimal("800.00")
    assert c.fund("outpatient_quota").paid == Decimal("80.00") and c.member_pays == Decimal("220.00")


DELIVERY = {"kind": "delivery", "institution": "grassroots_level1", "compliant_cost": "3000.00"}


INDICATED = {"caesarean": True, "caesarean_indicated": True}


@pytest.mark.parametrize("tier, extra, delivery, inpatient, unindicated", [
    ("tier1", {}, "200.00", "0.00", "0.00"),                          # 顺产: flat 200 per case
    ("tier1", INDICATED, "0.00", "2320.00", "0.00"),                  # (3,000 − 100) × 80%, and no 200
    ("tier2", INDICATED, "0.00", "2465.00", "0.00"),                  # (3,000 − 100) × 85%
    ("tier1", {"caesarean": True}, "0.00", "0.00", "200.00"),        # no indication: the 200 (assumed)
    ("tier1", {"family_planning": False}, "0.00", "0.00", "0.00"),   # outside family planning: nothing
    ("tier1", {"family_planning": False, **INDICATED}, "0.00", "0.00", "0.00"),
])
def test_g_delivery_flat_200_vs_caesarean_with_indication(chongqing, tier, extra, delivery, inpatient, unindicated):
    c = one(chongqing, {"tier": tier, "paid_on": "2016-11-01"}, {"date": "2017-05-01", **DELIVERY, **extra})
    assert c.fund("delivery_subsidy").paid == Decimal(delivery)
    assert c.fund("inpatient_subsidy").paid == Decimal(inpatient)
    assert c.fund("caesarean_subsidy").paid == Decimal(unindicated)


def test_g_delivery_outside_family_planning_says_why(chongqing):
    c = one(chongqing, {"tier": "tier1", "paid_on": "2016-11-01"},
            {"date": "2017-05-01", **DELIVERY, "family_planning": False})
    assert c.funds_paid == 0
    assert c.fund("delivery_subsidy").excluded_by.reason.zh == "不符合计划生育规定的分娩不予补助"


def test_g_caesarean_is_treated_as_inpatient_in_the_explanation(chongqing):
    s = settle(chongqing, {"tier": "tier1", "paid_on": "2016-11-01"},
               {"date": "2017-05-01", **INDICATED, **DELIVERY}, trace=True)
    treat = next(step for step in s.claims[0].steps if step.kind == "treat")
    assert treat.values == {"fact": "claim.kind", "before": "delivery", "after": "inpatient"}


@pytest.mark.parametrize("approved, opening, trauma, inpatient", [
    (False, None, "2000.00", "0.00"),        # (5,100 − 100) × 80% = 4,000, at most 2,000 without the form
    (True, None, "0.00", "4000.00"),         # with the approved form: the ordinary rules
    (False, "69000.00", "1000.00", "0.00"),  # 2,000, but only 70,000 − 69,000 = 1,000 is left of the year
])
def test_g_trauma_at_most_2000_without_approval_form(chongqing, approved, opening, trauma, inpatient):
    c = one(chongqing, {"tier": "tier1", "paid_on": "2016-11-01"},
            {"date": "2017-05-01", "kind": "inpatient", "institution": "grassroots_level1",
             "compliant_cost": "5100.00", "trauma": True, "trauma_approved": approved},
            opening={"inpatient_paid": opening} if opening else None)
    assert c.fund("trauma_subsidy").paid == Decimal(trauma)
    assert c.fund("inpatient_subsidy").paid == Decimal(inpatient)


def test_g_annual_caps_by_tier(chongqing):
    """Tier 1: 100,100 → (100,100 − 100) × 80% = 80,000, capped at 70,000.00.
    Tier 2: C1 110,100 → 110,000 × 85% = 93,500.00; C2 30,100 → 30,000 × 85% = 25,500, but only
    110,000 − 93,500 = 16,500.00 is left."""
    t1 = one(chongqing, {"tier": "tier1", "paid_on": "2016-11-01"},
             {"date": "2017-05-01", **CQ_IN, "compliant_cost": "100100.00"})
    assert t1.fund("inpatient_subsidy").paid == Decimal("70000.00")
    t2 = settle(chongqing, {"tier": "tier2", "paid_on": "2016-11-01"},
                {"date": "2017-05-01", **CQ_IN, "compliant_cost": "110100.00"},
                {"date": "2017-07-01", **CQ_IN, "compliant_cost": "30100.00"})
    assert [c.fund("inpatient_subsidy").paid for c in t2.claims] == [Decimal("93500.00"), Decimal("16500.00")]


def test_g_inpatient_elsewhere_is_not_in_these_sources(chongqing):
    c = one(chongqing, {"tier": "tier1", "paid_on": "2016-11-01"}, {"date": "2017-05-01", **CQ_IN, "institution": "other"})
    assert c.funds_paid == 0
    assert c.fund("inpatient_subsidy").excluded_by.reason.en == "the sources give inpatient rules for level-1 institutions only"


def test_f2_g_explanation_snapshot(chongqing, snapshot):
    s = settle(chongqing, {"tier": "tier1", "paid_on": "2017-02-28", "signed": True},
               {"date": "2017-02-28", **CQ_IN},
               {"date": "2017-03-10", **DELIVERY},
               {"date": "2017-04-10", **INDICATED, **DELIVERY},
               {"date": "2017-05-10", "kind": "outpatient", "institution": "grassroots_level1", "at_signed": True,
                "compliant_cost": "200.00"}, trace=True)
    assert text(chongqing, s, "zh") == snapshot
    assert text(chongqing, s, "en") == snapshot


# ============================================================================ F3: Qinhuangdao residents 2017
# ASSUMED rates: outpatient 50%, chronic outpatient 60%, inpatient 70%; no deductible.
QHD_IN = {"kind": "inpatient", "compliant_cost": "1000.00"}   # covered: 1,000 × 70% = 700.00
QHD_REGULAR = "未在2016年9月1日至12月20日缴纳2017年度医疗保险费"


@pytest.mark.parametrize("paid_on, paid", [("2016-08-31", "0.00"), ("2016-09-01", "700.00"),
                                           ("2016-12-20", "700.00"), ("2016-12-21", "0.00")])
def test_f3_regular_enrolment_period(qhd, paid_on, paid):
    c = one(qhd, {"paid_on": paid_on}, {"date": "2017-03-10", **QHD_IN})
    assert c.funds_paid == Decimal(paid)
    assert reason(c) == (QHD_REGULAR if paid == "0.00" else None)


def test_f3_late_payment_says_why(qhd):
    says_why(qhd, {"paid_on": "2016-12-21"}, {"date": "2017-03-10", **QHD_IN},
             QHD_REGULAR, "the 2017 contribution was not paid between 2016-09-01 and 2016-12-20")


@pytest.mark.parametrize("paid_on, paid", [
    # born 2017-03-01 = day 0: Mar 31 day 30, Apr 30 day 60, May 29 day 89, May 30 day 90, May 31 day 91
    ("2017-05-29", "700.00"), ("2017-05-30", "700.00"), ("2017-05-31", "0.00")])
def test_f3_newborn_within_90_days_of_birth(qhd, paid_on, paid):
    """Covered from birth when enrolled within 90 days (assumed): the claim of 2017-03-10 pays 700.00."""
    c = one(qhd, {"paid_on": paid_on, "born_on": "2017-03-01"}, {"date": "2017-03-10", **QHD_IN})
    assert c.funds_paid == Decimal(paid)
    if paid == "0.00":
        assert reason(c, "en") == "newborn not enrolled within 90 days of birth"


@pytest.mark.parametrize("paid_on, paid", [
    # discharged 2017-06-15 = day 0: Jun 30 day 15, Jul 31 day 46, Aug 31 day 77, Sep 13 day 90, Sep 14 day 91
    ("2017-09-13", "700.00"), ("2017-09-14", "0.00")])
def test_f3_discharged_soldier_within_90_days(qhd, paid_on, paid):
    """Covered from discharge when enrolled within 90 days (assumed): a claim of 2017-07-01, before the
    enrolment, pays 700.00."""
    c = one(qhd, {"paid_on": paid_on, "discharged_on": "2017-06-15"}, {"date": "2017-07-01", **QHD_IN})
    assert c.funds_paid == Decimal(paid)
    if paid == "0.00":
        assert reason(c) == "复转军人未在复转后90日内参保"


def test_f3_one_combined_cap_across_funds(qhd):
    """C1 inpatient 210,000 × 70% = 147,000.00 (under 150,000).
    C2 chronic outpatient 10,000 × 60% = 6,000, but 150,000 − 147,000 = 3,000.00 is left: pays 3,000.00;
    the cost beyond the cap is 10,000 − 3,000 / 60% = 10,000 − 5,000 = 5,000.00.
    C3 outpatient 200 × 50% = 100, nothing left: 0. All three count in one running total: 150,000.00."""
    s = settle(qhd, {"paid_on": "2016-10-01"},
               {"date": "2017-03-01", "kind": "inpatient", "compliant_cost": "210000.00"},
               {"date": "2017-05-01", "kind": "chronic_outpatient", "compliant_cost": "10000.00"},
               {"date": "2017-06-01", "kind": "outpatient", "compliant_cost": "200.00"})
    c1, c2, c3 = s.claims
    assert c1.fund("inpatient_fund").paid == Decimal("147000.00")
    assert c2.fund("chronic_fund").paid == Decimal("3000.00")
    assert c2.fund("chronic_fund").above_cap == Decimal("5000.00")
    assert c3.fund("outpatient_fund").paid == 0
    assert c3.accumulators["fund_paid"] == Decimal("150000.00")
    assert c3.member_pays == Decimal("200.00")


def test_f3_the_rates_are_marked_as_assumptions(qhd):
    s = settle(qhd, {"paid_on": "2016-10-01"}, {"date": "2017-03-01", **QHD_IN}, trace=True)
    rate = next(line for line in explain(qhd, s, "en").claims[0].lines if line.kind == "rate")
    assert [name for name, _ in rate.assumptions] == ["inpatient_rate"]
    assert "⚠ assumed inpatient_rate" in text(qhd, s, "en")


def test_f3_explanation_snapshot(qhd, snapshot):
    s = settle(qhd, {"paid_on": "2016-10-01"},
               {"date": "2017-03-01", "kind": "inpatient", "compliant_cost": "210000.00"},
               {"date": "2017-05-01", "kind": "chronic_outpatient", "compliant_cost": "10000.00"}, trace=True)
    assert text(qhd, s, "zh") == snapshot
    assert text(qhd, s, "en") == snapshot


# ============================================================================ F3: Qinhuangdao students
STUDENT = {"paid_2016_on": "2016-09-15", "paid_2017_on": "2017-09-20"}


def test_f3_student_claims_in_august_and_september_fall_in_two_benefit_periods(students):
    """C1 2017-08-20 inpatient 220,000 × 70% = 154,000 → the 150,000.00 cap of period 2016-09-01/2017-08-31.
    C2 2017-08-31 outpatient 100 × 50% = 50, nothing left in that period: 0.
    C3 2017-09-01 outpatient 100: a new period (starts 09-01), the cap starts again: 50.00."""
    s = settle(students, STUDENT,
               {"date": "2017-08-20", "kind": "inpatient", "compliant_cost": "220000.00"},
               {"date": "2017-08-31", "kind": "outpatient", "compliant_cost": "100.00"},
               {"date": "2017-09-01", "kind": "outpatient", "compliant_cost": "100.00"})
    assert [c.year for c in s.claims] == ["2016-09-01/2017-08-31"] * 2 + ["2017-09-01/2018-08-31"]
    assert [c.funds_paid for c in s.claims] == [Decimal("150000.00"), 0, Decimal("50.00")]
    assert s.claims[2].accumulators["fund_paid"] == Decimal("50.00")


def test_f3_student_period_does_not_restart_on_1_january(students):
    """C1 2017-12-10 inpatient 200,000 × 70% = 140,000.00. C2 2018-01-10 inpatient 20,000 × 70% = 14,000,
    but the period 2017-09-01/2018-08-31 has only 150,000 − 140,000 = 10,000.00 left."""
    s = settle(students, STUDENT,
               {"date": "2017-12-10", "kind": "inpatient", "compliant_cost": "200000.00"},
               {"date": "2018-01-10", "kind": "inpatient", "compliant_cost": "20000.00"})
    assert [c.funds_paid for c in s.claims] == [Decimal("140000.00"), Decimal("10000.00")]


@pytest.mark.parametrize("member", [{"paid_2016_on": "2016-09-15"}, {**STUDENT, "paid_2017_on": "2017-11-02"}])
def test_f3_student_without_this_periods_payment(students, member):
    says_why(students, member, {"date": "2017-09-05", "kind": "outpatient", "compliant_cost": "100.00"},
             "未在2017年9–10月缴纳2017—2018待遇享受期的医疗保险费",
             "no contribution paid in September–October 2017 for the period 2017-09-01 to 2018-08-31")


def test_f3_the_opening_of_a_period_carries_earlier_payments(students):
    """Payments of 2016-09..12 given as the opening fund_paid 149,000: a 2017-02-01 inpatient claim of
    10,000 × 70% = 7,000 gets only 150,000 − 149,000 = 1,000.00."""
    c = one(students, STUDENT, {"date": "2017-02-01", "kind": "inpatient", "compliant_cost": "10000.00"},
            opening={"fund_paid": "149000.00"})
    assert c.funds_paid == Decimal("1000.00")


def test_f3_a_claim_of_the_next_period_is_refused(students):
    with pytest.raises(medrules.MedrulesError) as err:
        settle(students, STUDENT, {"date": "2018-09-01", "kind": "outpatient", "compliant_cost": "100.00"})
    assert "after rulebook 'qinhuangdao/students-2017-2018' ends (2018-08-31)" in str(err.value)


def test_f3_students_explanation_snapshot(students, snapshot):
    """149,800 already paid in the period 2016-09-01/2017-08-31 (opening value).
    C1 2017-08-31 chronic 1,000 × 60% = 600, only 150,000 − 149,800 = 200.00 left; cost within the cap
    200 / 60% = 333.33…, above it 1,000 − 333.33… = 666.67. C2 2017-09-01: new period, 600.00."""
    s = settle(students, STUDENT,
               {"date": "2017-08-31", "kind": "chronic_outpatient", "compliant_cost": "1000.00"},
               {"date": "2017-09-01", "kind": "chronic_outpatient", "compliant_cost": "1000.00"},
               opening={"fund_paid": "149800.00"}, trace=True)
    assert [c.funds_paid for c in s.claims] == [Decimal("200.00"), Decimal("600.00")]
    assert s.claims[0].fund("chronic_fund").above_cap == Decimal("666.67")
    assert text(students, s, "en") == snapshot


# ============================================================================ the shipped examples
EXAMPLES = [
    ("rulebooks/quzhou/employee-2012.mr", "examples/quzhou-employee-2012-outpatient-arrears.json",
     ["100.00", "0.00", "250.00"]),
    ("rulebooks/cangzhou/yanshan-residents-2017.mr", "examples/cangzhou-yanshan-residents-2017-newborn.json",
     ["0.00", "0.00", "500.00"]),
    ("rulebooks/chongqing/residents-2017.mr", "examples/chongqing-residents-2017-year.json",
     ["0.00", "800.00", "200.00", "2320.00", "152.00"]),
    ("rulebooks/qinhuangdao/residents-2017.mr", "examples/qinhuangdao-residents-2017-combined-cap.json",
     ["147000.00", "3000.00", "0.00"]),
    ("rulebooks/qinhuangdao/students-2017-2018.mr", "examples/qinhuangdao-students-2017-2018-two-periods.json",
     ["150000.00", "0.00", "50.00"]),
]


@pytest.mark.parametrize("rulebook, example, funds_paid", EXAMPLES)
def test_the_examples(rulebook, example, funds_paid):
    """The examples repeat cases worked above:
    Quzhou: the arrears year of test_b_a_suspended_claim_does_not_use_the_deductible (100, 0, 250).
    Yanshan: newborn born 2017-02-10, registered 2017-05-12 (day 91): 02-15 and 05-31 nothing, 06-01 500.
    Chongqing (tier 1, paid 2017-02-28, signed): 02-28 nothing (covered from 03-01); inpatient 1,100 → 800;
    normal delivery → 200; indicated caesarean 3,000 → 2,320; signed outpatient 200 → quota 80 + 72 = 152.
    Qinhuangdao residents: the combined cap (147,000, 3,000, 0). Students: August / September (150,000, 0, 50)."""
    program = _load(rulebook)
    path = ROOT / example
    facts = facts_from_source(SourceFile(example, path.read_text(encoding="utf-8")), program.checked)
    s = medrules.settle(program, facts)
    assert [c.funds_paid for c in s.claims] == [Decimal(x) for x in funds_paid]
