"""Evaluate: settle a member's claims against a compiled rulebook.

Claims are settled in date order (the date the header names, ties in file order);
year-to-date accumulators start at zero in each benefit year, or at the facts
file's opening values in the year of the first claim. The same code path runs
with and without a trace; ``trace=True`` only makes it keep the steps.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

from medrules.diagnostics import MedrulesError, error
from medrules.evaluate.compile import Env, Program, compile_rulebook
from medrules.evaluate.fund import empty_outputs, settle_fund
from medrules.evaluate.runtime import CONTEXT, ZERO, benefit_year, year_label
from medrules.evaluate.trace import SCHEMA_VERSION, Step
from medrules.facts import Claim, Facts

__all__ = ["ClaimResult", "FundResult", "Program", "SCHEMA_VERSION", "Settlement", "Step",
           "compile_rulebook", "settle"]

OUTPUTS = ("paid", "base", "deductible", "payable", "above_cap", "above_ceiling", "remaining")


@attrs.frozen
class FundResult:
    fund: str
    applied: bool
    paid: Decimal
    base: Decimal
    deductible: Decimal
    payable: Decimal
    above_cap: Decimal
    above_ceiling: Decimal
    remaining: Decimal
    excluded_by: object = None  # the Exclude node that stopped payment, if any


@attrs.frozen
class ClaimResult:
    claim: Claim
    date: dt.date
    year: str
    funds: tuple[FundResult, ...]
    total_cost: Decimal
    member_pays: Decimal
    accumulators: dict[str, Decimal]  # after this claim
    steps: tuple[Step, ...] | None

    @property
    def id(self) -> str:
        return self.claim.id

    def fund(self, name: str) -> FundResult:
        return next(f for f in self.funds if f.fund == name)

    @property
    def funds_paid(self) -> Decimal:
        return sum((f.paid for f in self.funds), ZERO)


@attrs.frozen
class Settlement:
    rulebook: str
    member_id: str
    claims: tuple[ClaimResult, ...]

    def claim(self, claim_id: str) -> ClaimResult:
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(claim_id)


def settle(program: Program, facts: Facts, trace: bool = False) -> Settlement:
    with_context = CONTEXT.copy()
    import decimal
    with decimal.localcontext(with_context):
        return _settle(program, facts, trace)


def _settle(program: Program, facts: Facts, trace: bool) -> Settlement:
    header = program.checked.rulebook.header
    accumulators = list(program.checked.accumulators)
    claims = sorted(facts.claims, key=lambda c: (c.values[program.dated_by], c.index))
    check_effective(program, claims)
    acc: dict[str, Decimal] = {}
    env = Env(facts.member, acc, trace)
    results = []
    year = None
    for number, claim in enumerate(claims):
        day = claim.values[program.dated_by]
        steps: list | None = [] if trace else None
        this_year = benefit_year(day, header.year_starts)
        if this_year != year:
            year = this_year
            acc.clear()
            acc.update(dict.fromkeys(accumulators, ZERO))
            if steps is not None:
                steps.append(Step("benefit_year", None, header, {
                    "start": year[0], "end": year[1], "label": year_label(*year)}))
            if number == 0 and facts.opening:
                acc.update(facts.opening)
                if steps is not None:
                    steps.append(Step("opening", None, None, {"values": dict(facts.opening)}))
        env.claim, env.member = claim.values, facts.member  # 'treat' may have replaced them for the last claim
        env.out = {}
        env.take()
        apply_treatments(program, env, steps)
        excluded = excluded_by(program, env, steps)
        funds = []
        for plan in program.funds:
            if excluded is None:
                out = settle_fund(plan, env, program.rounder, steps)
            else:
                out = env.out[plan.fund.name] = empty_outputs() | {"excluded": excluded}
            funds.append(FundResult(plan.fund.name, out["applied"], *(out[k] for k in OUTPUTS), out["excluded"]))
        total = program.total(env)
        paid = sum((f.paid for f in funds), ZERO)
        member = total - paid
        if steps is not None:
            steps.append(Step("total", None, program.total.node, {"amount": total}, env.take()))
            steps.append(Step("member_pays", None, None, {"total": total, "funds": paid, "amount": member}))
        if member < 0:
            raise MedrulesError(error("evaluate", f"claim '{claim.id}': the funds would pay {paid} yuan, more "
                                      f"than its total cost of {total} yuan", program.total.node.span,
                                      "a fund's base should not exceed what is left of the cost"))
        results.append(ClaimResult(claim, day, year_label(*year), tuple(funds), total, member, dict(acc),
                                   tuple(steps) if steps is not None else None))
    return Settlement(program.checked.id, facts.member_id, tuple(results))


def apply_treatments(program: Program, env: Env, steps: list | None) -> None:
    """``treat claim.kind as inpatient when …``: settle the claim as if the fact were different."""
    for node, record, field, value, when in program.treatments:
        if when(env):
            facts = getattr(env, record)
            before, after = facts[field], value(env)
            setattr(env, record, facts | {field: after})  # a copy: the facts themselves never change
            if steps is not None:
                steps.append(Step("treat", None, node, {"fact": f"{record}.{field}", "before": before,
                                                        "after": after}, env.take()))
        else:
            env.take()


def excluded_by(program: Program, env: Env, steps: list | None):
    """The first rulebook-wide exclusion that holds for this claim (no fund pays), or None."""
    for exclusion in program.exclusions:
        if exclusion(env):
            if steps is not None:
                steps.append(Step("exclude", None, exclusion.node, {"all_funds": True}, env.take()))
            return exclusion.node
        env.take()
    return None


def check_effective(program: Program, claims: list[Claim]) -> None:
    header = program.checked.rulebook.header
    problems = []
    for claim in claims:
        day = claim.values[program.dated_by]
        span = claim.spans.get(program.dated_by, claim.span)
        if header.effective_from and day < header.effective_from:
            problems.append(error("facts", f"claim '{claim.id}' is dated {day}, before rulebook "
                                  f"'{header.id}' takes effect ({header.effective_from})", span,
                                  "settle it under the rulebook in force on that date"))
        elif header.effective_to and day > header.effective_to:
            problems.append(error("facts", f"claim '{claim.id}' is dated {day}, after rulebook "
                                  f"'{header.id}' ends ({header.effective_to})", span,
                                  "settle it under the rulebook in force on that date"))
    if problems:
        raise MedrulesError(problems)
