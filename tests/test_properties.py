"""Property-based tests of the Quzhou employee rulebook (2012) as settled by medrules.

Each test generates one member's benefit year (working or retired, 1–8 claims in 2012
of every kind, institution and size, sometimes with opening year-to-date values) and
checks a law the settlement must obey whatever the numbers are. The opening values are
always *consistent*: they are the accumulators that settling a random earlier part of
the year produced, with zero values sometimes left out.

The laws, one test each:

1. a fund pays between 0 and the cost it applies to; a claim's funds pay at most its
   compliant cost;
2. the yearly limits hold: inpatient fund <= 160,000, critical illness <= 250,000, the
   outpatient fund pays only on cumulative cost between 300 and 3,000;
3. raising a claim's cost does not lower what the funds pay (stated exactly where it is
   true; see the tests for the two ways the outpatient cap makes it false);
4. conservation: member pays + funds pay == compliant cost + self-paid, all in fen;
5. tracing does not change a result;
6. the order of claims in the file does not matter (distinct dates); same-date claims
   keep file order;
7. the accumulators are the sums of what the claims counted and the funds paid;
8. settling a year in two files, the second opening with the first's accumulators,
   gives the same results as settling it in one.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import medrules
from medrules.facts import facts_from_source
from medrules.source import SourceFile

ROOT = Path(__file__).resolve().parents[1]
# immutable: load once. The yearly-limit invariants below are those of the payments reading of 160,000
# (reading cap_axis); the cost reading the rulebook chooses has its own (test_yearly_limits_on_the_cost_axis).
PROGRAM = medrules.load(ROOT / "rulebooks" / "quzhou" / "employee-2012.mr", readings={"cap_axis": "payments"})
COST_PROGRAM = medrules.load(ROOT / "rulebooks" / "quzhou" / "employee-2012.mr")

OUTPUTS = ("paid", "base", "deductible", "payable", "above_cap", "above_ceiling", "remaining")
ACCUMULATORS = ("outpatient_cost", "outpatient_deductible_used", "outpatient_paid",
                "inpatient_cost", "inpatient_paid", "critical_illness_paid")
KINDS = ("outpatient", "inpatient", "family_ward", "special_outpatient")
INPATIENT_SIDE = frozenset({"inpatient", "family_ward", "special_outpatient"})  # 住院 incl. 家庭病房, 特殊病种门诊
INSTITUTIONS = ("grassroots_zero_markup", "other_designated")
ZERO, CENT = Decimal(0), Decimal("0.01")

OUTPATIENT_DEDUCTIBLE, OUTPATIENT_COST_CAP = Decimal(300), Decimal(3000)
INPATIENT_CAP, CRITICAL_CAP = Decimal(160_000), Decimal(250_000)

# About 1 s a test on one core; MEDRULES_PROPERTY_EXAMPLES=5000 runs a deeper search.
SETTINGS = settings(max_examples=int(os.environ.get("MEDRULES_PROPERTY_EXAMPLES", "120")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- generating a year
def money(max_value, min_value=0) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=min_value, max_value=max_value, places=2)


def cost_of(kind: str) -> st.SearchStrategy[Decimal]:
    if kind == "outpatient":  # around the 300 deductible and the 3,000 ceiling
        return st.one_of(money(400), money(3_500), money(3_500, min_value=1_000))
    # small, around the 60,000 band boundary, and large enough for the 160,000 / 250,000 caps
    # (hypothesis favours small numbers, hence the explicit large range)
    return st.one_of(money(1_500), money(80_000), money(400_000), money(400_000, min_value=100_000))


YEAR_2012 = st.dates(dt.date(2012, 1, 1), dt.date(2012, 12, 31))


@st.composite
def claim_values(draw, date: dt.date | None = None, kinds=KINDS) -> dict:
    kind = draw(st.sampled_from(kinds))
    claim = {"date": date if date is not None else draw(YEAR_2012), "kind": kind,
             "compliant_cost": draw(cost_of(kind))}
    if draw(st.booleans()):  # otherwise the declared default, other_designated
        claim["institution"] = draw(st.sampled_from(INSTITUTIONS))
    if draw(st.booleans()):  # otherwise the declared default, 0 yuan
        claim["self_paid"] = draw(money(5_000))
    return claim


@dataclasses.dataclass(frozen=True)
class Year:
    category: str
    claims: tuple[dict, ...]  # in file order, ids C1, C2, …
    opening: dict  # accumulator -> Decimal; {} when the file has no opening
    prefix: tuple[dict, ...] = ()  # the earlier claims whose settlement gave `opening`

    def replace_claim(self, i: int, **changes) -> "Year":
        claims = list(self.claims)
        claims[i] = {**claims[i], **changes}
        return dataclasses.replace(self, claims=tuple(claims))


def with_ids(claims, prefix="C") -> tuple[dict, ...]:
    return tuple({"id": f"{prefix}{i + 1}", **c} for i, c in enumerate(claims))


@st.composite
def years(draw, min_claims=1, max_claims=8, dates="any", opening=True) -> Year:
    """dates: "any" (repeats allowed), "distinct", or "same" (one date for every claim)."""
    category = draw(st.sampled_from(("working", "retired")))
    n = draw(st.integers(min_claims, max_claims))
    if dates == "distinct":
        days = draw(st.lists(YEAR_2012, min_size=n, max_size=n, unique=True))
    elif dates == "same":
        days = [draw(YEAR_2012)] * n
    else:
        days = draw(st.lists(YEAR_2012, min_size=n, max_size=n))
    # a mixed year, or one of outpatient visits only, or of inpatient-side claims only, so
    # that the 3,000 outpatient ceiling and the 160,000 / 250,000 limits are often reached
    kinds = draw(st.sampled_from((KINDS, ("outpatient",), tuple(sorted(INPATIENT_SIDE)))))
    claims = with_ids([draw(claim_values(date=d, kinds=kinds)) for d in days])
    values, prefix = {}, ()
    if opening and draw(st.integers(0, 3)) == 0:  # mostly the year starts from zero
        prefix = with_ids(draw(st.lists(claim_values(), min_size=1, max_size=4)), "P")
        after = settle_claims(category, prefix, {}).claims[-1].accumulators
        values = {k: v for k, v in after.items() if v != 0 or draw(st.booleans())}
        event("opening values")
    return Year(category, claims, values, prefix)


# ---------------------------------------------------------------- settling
def facts_text(category: str, claims, opening: dict) -> str:
    doc = {"member": {"id": "M1", "category": category},
           "claims": [{k: (f"{v:.2f}" if isinstance(v, Decimal) else
                           v.isoformat() if isinstance(v, dt.date) else v) for k, v in c.items()}
                      for c in claims]}
    if opening:
        doc["opening"] = {k: f"{v:.2f}" for k, v in opening.items()}
    return json.dumps(doc, ensure_ascii=False, indent=1)


def settle_claims(category: str, claims, opening: dict, trace: bool = False) -> medrules.Settlement:
    facts = facts_from_source(SourceFile("generated.json", facts_text(category, claims, opening)),
                              PROGRAM.checked)
    return medrules.settle(PROGRAM, facts, trace=trace)


def settle(year: Year, trace: bool = False) -> medrules.Settlement:
    return settle_claims(year.category, year.claims, year.opening, trace)


def payout(result) -> Decimal:
    return sum((f.paid for f in result.funds), ZERO)


def year_payout(settlement) -> Decimal:
    return sum((payout(c) for c in settlement.claims), ZERO)


def amounts(result) -> dict:
    """Everything a claim's settlement states in money (and whether each fund applied)."""
    return {"funds": {f.fund: (f.applied,) + tuple(getattr(f, k) for k in OUTPUTS) for f in result.funds},
            "total_cost": result.total_cost, "member_pays": result.member_pays,
            "accumulators": dict(result.accumulators), "date": result.date, "year": result.year}


def by_id(settlement) -> dict:
    return {c.id: amounts(c) for c in settlement.claims}


def opening_value(year: Year, name: str) -> Decimal:
    return year.opening.get(name, ZERO)


def institution(claim: dict) -> str:
    return claim.get("institution", "other_designated")


def outpatient_rate(claim: dict, category: str) -> Decimal:
    rate = Decimal("0.55") if institution(claim) == "grassroots_zero_markup" else Decimal("0.50")
    return rate + (Decimal("0.05") if category == "retired" else ZERO)


def is_fen(x: Decimal) -> bool:
    return (x / CENT) == (x / CENT).to_integral_value()


def note_caps(settlement) -> None:
    """Let `--hypothesis-show-statistics` show that the limits are reached."""
    acc = settlement.claims[-1].accumulators
    if acc["outpatient_cost"] > OUTPATIENT_COST_CAP:
        event("outpatient cost above 3,000")
    if acc["inpatient_cost"] > 60_000:
        event("inpatient cost above 60,000")
    if acc["inpatient_paid"] == INPATIENT_CAP:
        event("inpatient fund at its 160,000 cap")
    if acc["critical_illness_paid"] == CRITICAL_CAP:
        event("critical illness at its 250,000 cap")


# ---------------------------------------------------------------- 1. a fund pays within its base
@SETTINGS
@given(years())
def test_funds_pay_between_zero_and_their_base(year):
    settlement = settle(year)
    note_caps(settlement)
    for c in settlement.claims:
        for f in c.funds:
            if not f.applied:
                assert all(getattr(f, k) == 0 for k in OUTPUTS), (c.id, f)
                continue
            assert f.base >= 0, (c.id, f)
            assert 0 <= f.paid <= f.base, (c.id, f)
            assert 0 <= f.payable <= f.base, (c.id, f)
            assert f.remaining == f.base - f.paid, (c.id, f)
        assert payout(c) <= c.claim.values["compliant_cost"], c.id
        assert c.member_pays >= c.claim.values["self_paid"], c.id


# ---------------------------------------------------------------- 2. yearly limits
@SETTINGS
@given(years())
def test_yearly_limits_hold(year):
    settlement = settle(year)
    note_caps(settlement)
    results = settlement.claims
    final = results[-1].accumulators  # every claim is in 2012: one benefit year

    # 住院统筹基金最高支付限额16万元; 大病补充医疗保险年度累计最高支付限额25万元 (opening included).
    assert final["inpatient_paid"] <= INPATIENT_CAP
    assert final["critical_illness_paid"] <= CRITICAL_CAP
    assert opening_value(year, "inpatient_paid") + sum(c.fund("inpatient_pool").paid for c in results) \
        <= INPATIENT_CAP
    assert opening_value(year, "critical_illness_paid") + sum(c.fund("critical_illness").paid for c in results) \
        <= CRITICAL_CAP
    # The critical-illness layer pays only above the inpatient fund's limit.
    for c in results:
        if c.fund("critical_illness").paid > 0:
            assert c.accumulators["inpatient_paid"] == INPATIENT_CAP, c.id
        if c.fund("inpatient_pool").above_cap == 0:
            assert c.fund("critical_illness").paid == 0, c.id

    # 门诊统筹: the fund pays only on the part of the year's cumulative outpatient cost that lies
    # between the 300 deductible and the 3,000 ceiling (inclusive): at most 2,700 of cost a year.
    counted_before = opening_value(year, "outpatient_cost")
    room = max(ZERO, OUTPATIENT_COST_CAP - max(counted_before, OUTPATIENT_DEDUCTIBLE))
    outpatient = [c for c in results if c.claim.values["kind"] == "outpatient"]
    assert sum((c.fund("outpatient_pool").payable for c in outpatient), ZERO) <= room
    for c in outpatient:  # and pays exactly its rate on that cost, rounded half-up per payment
        f = c.fund("outpatient_pool")
        rate = outpatient_rate(c.claim.values, year.category)
        assert f.paid == (f.payable * rate).quantize(CENT, ROUND_HALF_UP), c.id
    # Hence the year's outpatient payments are at most (3000 - 300) x 60% = 1,620 -- plus up to
    # half a fen per payment: the rulebook rounds each payment half-up and caps the outpatient
    # COST, not the payments (see test_outpatient_rounding_can_pass_1620 for an example).
    n_outpatient = len(outpatient) + sum(1 for p in year.prefix if p["kind"] == "outpatient")
    assert final["outpatient_paid"] <= (OUTPATIENT_COST_CAP - OUTPATIENT_DEDUCTIBLE) * Decimal("0.60") \
        + Decimal("0.005") * n_outpatient


@SETTINGS
@given(years())
def test_yearly_limits_on_the_cost_axis(year):
    """The reading the rulebook chooses (cap_axis = cost): 160,000 is a point on the year's cumulative inpatient
    cost. The inpatient fund pays only on cost below it (at most (60,000 − a deductible) × 89% + 100,000 × 92%,
    retired rates, < 160,000); the critical-illness layer pays only on cost above it, at 90%."""
    facts = facts_from_source(SourceFile("generated.json", facts_text(year.category, year.claims, year.opening)),
                              COST_PROGRAM.checked)
    results = medrules.settle(COST_PROGRAM, facts).claims
    for c in results:
        inpatient, critical = c.fund("inpatient_pool"), c.fund("critical_illness")
        before = c.accumulators["inpatient_cost"] - (inpatient.base if inpatient.applied else ZERO)
        if before >= INPATIENT_CAP:  # wholly above the limit: the inpatient fund pays nothing
            assert inpatient.paid == 0, c.id
        if critical.paid > 0:  # only on cost above 160,000, at 90% at most, within its own limit
            assert c.accumulators["inpatient_cost"] > INPATIENT_CAP, c.id
            assert critical.paid <= (c.accumulators["inpatient_cost"] - INPATIENT_CAP) * Decimal("0.9") + \
                Decimal("0.005"), c.id
        if inpatient.above_ceiling == 0:
            assert critical.paid == 0, c.id
    assert opening_value(year, "critical_illness_paid") + sum(c.fund("critical_illness").paid for c in results) \
        <= CRITICAL_CAP


def test_outpatient_rounding_can_pass_1620():
    """Not a bug: per-payment half-up rounding lets a retiree's outpatient year reach 1,620.03."""
    claims = [{"date": dt.date(2012, 1, 2), "kind": "outpatient", "institution": "grassroots_zero_markup",
               "compliant_cost": Decimal("2999.93")}]
    claims += [{"date": dt.date(2012, 2, 1 + i), "kind": "outpatient", "institution": "grassroots_zero_markup",
                "compliant_cost": Decimal("0.01")} for i in range(7)]
    settlement = settle_claims("retired", with_ids(claims), {})
    # 2699.93 x 60% = 1619.958 -> 1619.96; 7 x (0.01 x 60% = 0.006 -> 0.01); cost counted 3,000.00
    assert [c.fund("outpatient_pool").paid for c in settlement.claims] == \
        [Decimal("1619.96")] + [Decimal("0.01")] * 7
    assert settlement.claims[-1].accumulators["outpatient_cost"] == Decimal("3000.00")
    assert settlement.claims[-1].accumulators["outpatient_paid"] == Decimal("1620.03")


# ---------------------------------------------------------------- 3. monotonicity
@st.composite
def raised(draw, which="inpatient_side", **kw):
    """A year, the index of one of its claims (of the kind `which` selects), and a raise."""
    year = draw(years(**kw))
    if which == "any":
        pool = list(range(len(year.claims)))
    elif which == "inpatient_side":
        pool = [i for i, c in enumerate(year.claims) if c["kind"] in INPATIENT_SIDE]
    else:
        pool = [i for i, c in enumerate(year.claims) if c["kind"] == "outpatient"]
    if not pool:  # make one claim of the wanted kind rather than discard the example
        i = draw(st.integers(0, len(year.claims) - 1))
        kind = draw(st.sampled_from(sorted(INPATIENT_SIDE))) if which == "inpatient_side" else "outpatient"
        year = year.replace_claim(i, kind=kind)
        pool = [i]
    i = draw(st.sampled_from(pool))
    delta = draw(st.one_of(st.just(CENT), money(1_000), money(300_000)))
    return year, i, delta


def raise_cost(year: Year, i: int, delta: Decimal) -> Year:
    return year.replace_claim(i, compliant_cost=year.claims[i]["compliant_cost"] + delta)


@SETTINGS
@given(raised("inpatient_side"))
def test_raising_an_inpatient_side_cost_never_lowers_the_year_payout(case):
    # Exact: 住院 bands rise along the year's cost and the per-admission deductible is fixed,
    # so more cost earlier moves later cost into dearer bands or past the 160,000 point, where
    # the critical-illness layer pays 90% of it; outpatient claims are independent of it.
    year, i, delta = case
    before, after = settle(year), settle(raise_cost(year, i, delta))
    note_caps(after)
    assert year_payout(after) >= year_payout(before)
    raised_id = year.claims[i]["id"]
    assert payout(after.claim(raised_id)) >= payout(before.claim(raised_id))
    earlier = [c.id for c in before.claims][:[c.id for c in before.claims].index(raised_id)]
    assert [amounts(after.claim(j)) for j in earlier] == [amounts(before.claim(j)) for j in earlier]


@SETTINGS
@given(raised("outpatient"))
def test_raising_the_last_outpatient_cost_never_lowers_the_year_payout(case):
    year, i, delta = case
    before = settle(year)
    order = [c.id for c in before.claims if c.claim.values["kind"] == "outpatient"]
    last = next(j for j, c in enumerate(year.claims) if c["id"] == order[-1])
    after = settle(raise_cost(year, last, delta))
    note_caps(after)
    assert year_payout(after) >= year_payout(before)


@SETTINGS
@given(raised("outpatient"), st.sampled_from(INSTITUTIONS))
def test_raising_an_outpatient_cost_lowers_the_payout_only_by_rounding_at_one_rate(case, where):
    """Raising an outpatient claim's cost can push LATER outpatient cost above the 3,000
    ceiling. At one rate for every outpatient claim the fund's year total of unrounded
    payments cannot fall, so the rounded total falls by less than 1 fen per outpatient claim
    from the raised one on (each half-up rounding moves a payment by at most half a fen):
    at most 0.01 x (that count - 1). With different rates it can fall by far more; that is
    the policy, see test_outpatient_ceiling_displacement_is_policy."""
    year, i, delta = case
    for j, c in enumerate(year.claims):
        if c["kind"] == "outpatient":
            year = year.replace_claim(j, institution=where)
    before, after = settle(year), settle(raise_cost(year, i, delta))
    note_caps(after)
    raised_id = year.claims[i]["id"]
    order = [c.id for c in before.claims if c.claim.values["kind"] == "outpatient"]
    affected = len(order) - order.index(raised_id)
    assert payout(after.claim(raised_id)) >= payout(before.claim(raised_id))  # its own payout: exact
    assert year_payout(after) >= year_payout(before) - CENT * (affected - 1)
    if affected == 1:
        assert year_payout(after) >= year_payout(before)


def test_outpatient_ceiling_displacement_is_policy():
    """Not a bug: a dearer visit at a 50% institution uses up the 3,000 ceiling, so a later
    visit at a 55% grassroots institution is no longer covered (起付标准以下和最高支付限额以上的
    门诊医疗费用由参保个人承担): the year's payout falls from 1,485.00 to 1,350.00."""
    def year_with(first_cost):
        return with_ids([
            {"date": dt.date(2012, 3, 1), "kind": "outpatient", "institution": "other_designated",
             "compliant_cost": Decimal(first_cost)},
            {"date": dt.date(2012, 4, 1), "kind": "outpatient", "institution": "grassroots_zero_markup",
             "compliant_cost": Decimal("2700.00")}])
    cheap = settle_claims("working", year_with("300.00"), {})
    dear = settle_claims("working", year_with("3000.00"), {})
    assert [c.fund("outpatient_pool").paid for c in cheap.claims] == [Decimal("0.00"), Decimal("1485.00")]
    assert [c.fund("outpatient_pool").paid for c in dear.claims] == [Decimal("1350.00"), Decimal("0.00")]
    # and by rounding alone, at one rate: 0.01 + 1350.00 (0.005 -> 0.01, 1349.995 -> 1350.00) becomes
    # 0.01 + 1349.99 when the first visit is raised by one fen (0.01 -> 0.01, 1349.99).
    def small(first_cost):
        return with_ids([
            {"date": dt.date(2012, 3, 1), "kind": "outpatient", "compliant_cost": Decimal("300.00")},
            {"date": dt.date(2012, 3, 2), "kind": "outpatient", "compliant_cost": Decimal(first_cost)},
            {"date": dt.date(2012, 4, 1), "kind": "outpatient", "compliant_cost": Decimal("2699.99")}])
    assert year_payout(settle_claims("working", small("0.01"), {})) == Decimal("1350.01")
    assert year_payout(settle_claims("working", small("0.02"), {})) == Decimal("1350.00")


@SETTINGS
@given(raised("any", min_claims=1, max_claims=1))
def test_raising_the_only_claims_cost_never_lowers_its_payout(case):
    year, i, delta = case
    before, after = settle(year), settle(raise_cost(year, i, delta))
    note_caps(after)
    assert payout(after.claims[0]) >= payout(before.claims[0])
    assert year_payout(after) >= year_payout(before)


# ---------------------------------------------------------------- 4. conservation
@SETTINGS
@given(years())
def test_conservation_in_whole_fen(year):
    settlement = settle(year)
    note_caps(settlement)
    for c in settlement.claims:
        v = c.claim.values
        assert c.total_cost == v["compliant_cost"] + v["self_paid"]
        assert c.member_pays + payout(c) == v["compliant_cost"] + v["self_paid"]
        assert c.member_pays + c.funds_paid == c.total_cost
        money_out = [c.total_cost, c.member_pays, *c.accumulators.values()]
        money_out += [getattr(f, k) for f in c.funds for k in OUTPUTS]
        assert all(is_fen(x) for x in money_out), (c.id, money_out)


# ---------------------------------------------------------------- 5. tracing
@SETTINGS
@given(years())
def test_tracing_does_not_change_results(year):
    plain, traced = settle(year), settle(year, trace=True)
    assert [c.id for c in plain.claims] == [c.id for c in traced.claims]
    assert [amounts(c) for c in plain.claims] == [amounts(c) for c in traced.claims]
    assert all(c.steps is None for c in plain.claims)
    assert all(c.steps for c in traced.claims)


# ---------------------------------------------------------------- 6. order of the file
@SETTINGS
@given(st.data())
def test_file_order_does_not_matter_for_distinct_dates(data):
    year = data.draw(years(dates="distinct"))
    shuffled = dataclasses.replace(year, claims=tuple(data.draw(st.permutations(year.claims))))
    a, b = settle(year), settle(shuffled)
    assert by_id(a) == by_id(b)
    assert [c.id for c in a.claims] == [c.id for c in b.claims]
    assert [c.date for c in a.claims] == sorted(c["date"] for c in year.claims)


@SETTINGS
@given(years(dates="same"))
def test_claims_on_one_date_settle_in_file_order(year):
    assert [c.id for c in settle(year).claims] == [c["id"] for c in year.claims]


# ---------------------------------------------------------------- 7. accumulators
@SETTINGS
@given(years())
def test_accumulators_are_running_sums(year):
    settlement = settle(year)
    note_caps(settlement)
    acc = {k: opening_value(year, k) for k in ACCUMULATORS}
    for c in settlement.claims:
        v = c.claim.values
        if v["kind"] == "outpatient":
            acc["outpatient_cost"] += v["compliant_cost"]
            acc["outpatient_deductible_used"] += c.fund("outpatient_pool").deductible
        else:
            acc["inpatient_cost"] += v["compliant_cost"]
        acc["outpatient_paid"] += c.fund("outpatient_pool").paid
        acc["inpatient_paid"] += c.fund("inpatient_pool").paid
        acc["critical_illness_paid"] += c.fund("critical_illness").paid
        assert c.accumulators == acc, c.id
        # consistent openings: the 300 deductible is used before anything is paid
        assert c.accumulators["outpatient_deductible_used"] == min(OUTPATIENT_DEDUCTIBLE,
                                                                   c.accumulators["outpatient_cost"]), c.id
    final = settlement.claims[-1].accumulators
    claims = [c.claim.values for c in settlement.claims]
    assert final["inpatient_cost"] == opening_value(year, "inpatient_cost") + sum(
        (v["compliant_cost"] for v in claims if v["kind"] in INPATIENT_SIDE), ZERO)
    assert final["outpatient_cost"] == opening_value(year, "outpatient_cost") + sum(
        (v["compliant_cost"] for v in claims if v["kind"] == "outpatient"), ZERO)


# ---------------------------------------------------------------- 8. opening values
@SETTINGS
@given(st.data())
def test_opening_values_continue_the_year(data):
    year = data.draw(years(min_claims=2, dates="distinct", opening=False))
    ordered = sorted(year.claims, key=lambda c: c["date"])
    k = data.draw(st.integers(1, len(ordered) - 1))
    whole = settle(year)
    first = settle_claims(year.category, ordered[:k], {})
    rest = settle_claims(year.category, ordered[k:], dict(first.claims[-1].accumulators))
    assert by_id(whole) == {**by_id(first), **by_id(rest)}
