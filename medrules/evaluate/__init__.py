"""Evaluate: settle a member's claims against a compiled rulebook.

Claims are settled in date order (the date the header names, ties in file order);
year-to-date accumulators start at zero in each benefit year, or at the facts
file's opening values in the year of the first claim. The same code path runs
with and without a trace; ``trace=True`` only makes it keep the steps.
"""
from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal

import attrs

from medrules.diagnostics import MedrulesError, error
from medrules.source import Span
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


def settle(program: Program, facts: Facts, trace: bool = False, in_force_only: bool = True) -> Settlement:
    """Settle a member's claims. ``in_force_only=False`` settles claims outside the rulebook's
    effective period too (``medrules diff`` compares two policy years on the same claims)."""
    with decimal.localcontext(CONTEXT.copy()):
        try:
            return _settle(program, facts, trace, in_force_only)
        except (ArithmeticError, ValueError, RecursionError) as exc:  # the boundary (trust): never a traceback
            raise MedrulesError(error(
                "arithmetic", f"these facts take the arithmetic or the calendar out of range "
                f"({type(exc).__name__}: {str(exc)[:80]})", Span(facts.file, 1, 1),
                "check the amounts and dates in the facts file against the rulebook's parameters")) from None


def _settle(program: Program, facts: Facts, trace: bool, in_force_only: bool = True) -> Settlement:
    header = program.checked.rulebook.header
    claims = sorted(facts.claims, key=lambda c: (c.values[program.dated_by], c.index))
    if in_force_only:
        check_effective(program, claims)
    layers = _layers(program)  # the base scheme first, then each supplement on it
    # how the top rulebook names each layer's funds and accumulators: '' for itself, 'basic' below it
    prefixes = [".".join(p.alias for p in layers[depth + 1:][::-1]) for depth in range(len(layers))]
    envs = [Env(facts.member, {}, trace) for _ in layers]
    opening = split_opening(program, facts.opening)
    results = []
    year = None
    for number, claim in enumerate(claims):
        day = claim.values[program.dated_by]
        steps: list | None = [] if trace else None
        this_year = benefit_year(day, header.year_starts)
        if this_year != year:
            year = this_year
            for layer, env in zip(layers, envs):
                env.acc.clear()
                env.acc.update(dict.fromkeys(layer.checked.accumulators, ZERO))
                if number == 0:
                    env.acc.update(opening[layer.checked.id])
            if steps is not None:
                steps.append(Step("benefit_year", None, header, {
                    "start": year[0], "end": year[1], "label": year_label(*year)}))
                if number == 0 and facts.opening:
                    steps.append(Step("opening", None, None, {"values": dict(facts.opening)}))
        funds, total, below = [], None, None
        for depth, (layer, env, prefix) in enumerate(zip(layers, envs, prefixes)):
            layer_steps = [] if steps is not None else None
            if below is not None:
                env.out = {layer.alias: below}
                if layer_steps is not None:
                    layer_steps.append(Step("handoff", None, layer.checked.rulebook.header.layers_on, {
                        "from": layers[depth - 1].checked.id, "to": layer.checked.id,
                        "total": below["total_cost"], "paid": below["paid"], "member_pays": below["member_pays"]}))
            else:
                env.out = {}
            layer_funds, total = settle_claim(layer, env, claim, facts.member, layer_steps)
            if depth + 1 < len(layers):  # only a layer above reads this one's results
                below = layer_outputs(layer, env, layer_funds, total)
            funds += [attrs.evolve(f, fund=f"{prefix}.{f.fund}") if prefix else f for f in layer_funds]
            if steps is not None:
                steps += [_qualified(s, prefix) for s in layer_steps]
        paid = sum((f.paid for f in funds), ZERO)
        member = total - paid
        if steps is not None:
            steps.append(Step("member_pays", None, None, {"total": total, "funds": paid, "amount": member}))
        if member < 0:
            raise MedrulesError(error("evaluate", f"claim '{claim.id}': the funds would pay {paid} yuan, more "
                                      f"than its total cost of {total} yuan", program.total.node.span,
                                      "a fund's base should not exceed what is left of the cost"))
        accumulators = {}
        for env, prefix in zip(envs, prefixes):
            accumulators |= {f"{prefix}.{k}" if prefix else k: v for k, v in env.acc.items()} if prefix else env.acc
        results.append(ClaimResult(claim, day, year_label(*year), tuple(funds), total, member, accumulators,
                                   tuple(steps) if steps is not None else None))
    return Settlement(program.checked.id, facts.member_id, tuple(results))


def _layers(program: Program) -> list[Program]:
    chain = []
    while program is not None:
        chain.append(program)
        program = program.base
    return chain[::-1]


def split_opening(program: Program, opening: dict[str, Decimal]) -> dict[str, dict[str, Decimal]]:
    """Opening values by rulebook: ``basic.inpatient_cost`` belongs to the base scheme."""
    out = {layer.checked.id: {} for layer in _layers(program)}
    layer = program
    for name, value in opening.items():
        target, key = layer, name
        while "." in key and target.base is not None and key.split(".", 1)[0] == target.alias:
            key, target = key.split(".", 1)[1], target.base
        out[target.checked.id][key] = value
    return out


def settle_claim(program: Program, env: Env, claim: Claim, member: dict, steps: list | None):
    """One claim under one rulebook: treatments, exclusions, each fund in order, the total cost."""
    env.claim, env.member = claim.values, member  # 'treat' may have replaced them for the last claim
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
    if steps is not None:
        steps.append(Step("total", None, program.total.node, {"amount": total}, env.take()))
    return funds, total


def layer_outputs(program: Program, env: Env, funds: list[FundResult], total: Decimal) -> dict:
    """What the next layer reads of this one: alias.total_cost / paid / member_pays / FUND.OUTPUT."""
    paid = sum((f.paid for f in funds), ZERO)
    out = {"total_cost": total, "paid": paid, "member_pays": total - paid}
    for fund, outputs in env.out.items():
        if fund in program.checked.funds:
            out |= {f"{fund}.{k}": v for k, v in outputs.items() if k in OUTPUTS}
    return out


def _qualified(step: Step, prefix: str) -> Step:
    """A step of a lower layer, with its fund and accumulator named as the top rulebook names them."""
    if not prefix:
        return step
    values = step.values
    if "accumulator" in values:
        values = values | {"accumulator": f"{prefix}.{values['accumulator']}"}
    return Step(step.kind, f"{prefix}.{step.fund}" if step.fund else None, step.node, values, step.reads,
                layer=prefix)


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
