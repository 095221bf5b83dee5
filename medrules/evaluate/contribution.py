"""The scalar backend for contributions: what a member owes for a year's cover, with a trace.

``assess(program, facts, trace=False) -> Assessment`` settles every contribution of the rulebook's
top layer for the facts' member, following :mod:`medrules.plan.contribution` step by step, one
function per operation:

===================  =================================================================
``settle_applies``   the contribution applies to the member, or the member owes nothing under it
``settle_premium``   the full premium for the year (never negative)
``settle_prorate``   part-year cover: premium × months / 12, rounded as the clause declares
``settle_subsidy``   one subsidy, granted up to what is left of the premium, rounded by the layer
===================  =================================================================

The outcome is its own vocabulary: the member OWES an amount, subsidies PAY FOR the rest; nothing
here is a fund's payment on a claim. Invariants (0 ≤ granted ≤ left, member owes ≥ 0) are checked on
every contribution and fail closed with a located :class:`MedrulesError`.
"""
from __future__ import annotations

import decimal
from decimal import Decimal
from typing import ClassVar

import attrs

from medrules.diagnostics import MedrulesError, error
from medrules.evaluate.compile import Env, compile_expr
from medrules.evaluate.runtime import CONTEXT
from medrules.evaluate.trace import Money, Step, _step
from medrules.plan.arith import ZERO, round_to
from medrules.plan.contribution import ContributionPlan

__all__ = ["Assessment", "ContributionResult", "SubsidyResult", "assess", "CONTRIBUTION_STEP_KINDS"]


# ---------------------------------------------------------------- trace steps
@_step
class ContributionStep(Step):
    kind: ClassVar[str] = "contribution"  # the contribution starts: its title, and whether it applies
    contribution: str
    applies: bool


@_step
class PremiumStep(Step):
    kind: ClassVar[str] = "premium"
    contribution: str
    amount: Money


@_step
class ProrateStep(Step):
    kind: ClassVar[str] = "prorate"
    contribution: str
    applied: bool
    full: Money
    months: int
    raw: Money  # full × months / 12, exact
    amount: Money  # rounded as declared


@_step
class SubsidyStep(Step):
    kind: ClassVar[str] = "subsidy"
    contribution: str
    subsidy: str
    applied: bool
    amount: Money  # what the subsidy's formula gives
    left_before: Money  # what was left of the premium before it
    granted: Money  # min(amount, left_before), rounded, never above left_before


@_step
class OwesStep(Step):
    kind: ClassVar[str] = "owes"
    contribution: str
    premium: Money
    subsidised: Money
    amount: Money


CONTRIBUTION_STEP_CLASSES = (ContributionStep, PremiumStep, ProrateStep, SubsidyStep, OwesStep)
CONTRIBUTION_STEP_KINDS = tuple(c.kind for c in CONTRIBUTION_STEP_CLASSES)


# ---------------------------------------------------------------- results
@attrs.frozen
class SubsidyResult:
    name: str
    granted: Decimal
    node: object


@attrs.frozen
class ContributionResult:
    name: str
    applied: bool
    premium: Decimal  # after any part-year share
    subsidies: tuple[SubsidyResult, ...]
    member_owes: Decimal
    node: object
    steps: tuple[Step, ...] | None

    @property
    def subsidised(self) -> Decimal:
        return sum((s.granted for s in self.subsidies), ZERO)

    def subsidy(self, name: str) -> Decimal:
        """What subsidy ``name`` paid for (0 when it did not apply)."""
        return next((s.granted for s in self.subsidies if s.name == name), ZERO)


@attrs.frozen
class Assessment:
    """What one member owes under a rulebook's contributions, and what is paid for them."""

    rulebook: str
    member_id: str
    contributions: tuple[ContributionResult, ...]

    def contribution(self, name: str) -> ContributionResult:
        for c in self.contributions:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def member_owes(self) -> Decimal:
        return sum((c.member_owes for c in self.contributions), ZERO)

    @property
    def subsidised(self) -> Decimal:
        return sum((c.subsidised for c in self.contributions), ZERO)

    @property
    def premium(self) -> Decimal:
        return sum((c.premium for c in self.contributions), ZERO)


# ---------------------------------------------------------------- settling
@attrs.frozen
class _Compiled:
    plan: ContributionPlan
    applies: object
    premium: object
    prorate_when: object
    subsidies: tuple  # (amount, when) closures per subsidy


def _compile(c: ContributionPlan) -> _Compiled:
    def f(e):
        return compile_expr(e) if e is not None else None

    return _Compiled(c, f(c.applies), f(c.premium.amount), f(c.prorate.when) if c.prorate else None,
                     tuple((f(s.amount), f(s.when)) for s in c.subsidies))


def assess(program, facts, trace: bool = False, household: dict | None = None) -> Assessment:
    """Settle every contribution of the program's rulebook for the facts' member; ``household``: the facts of
    the member's household (:mod:`medrules.contributions.household`), when the rulebook declares some."""
    layer = program.plan.top
    if not layer.contributions:
        raise MedrulesError(error("evaluate", f"rulebook '{layer.id}' states no contributions",
                                  program.checked.rulebook.span,
                                  "a contribution is written 'contribution NAME { premium …; subsidy …: … }'"))
    declared = program.checked.records.get("household")
    if declared and household is None:
        raise MedrulesError(error("facts", "this rulebook reads household facts, and the facts give no household",
                                  next(iter(declared.values())).span,
                                  'give "household": {…} beside "member", or a household file: '
                                  '{"household": {…}, "members": [{…}, …]}'))
    compiled = _compiled_contributions(program)
    with decimal.localcontext(CONTEXT.copy()):
        results = []
        for c in compiled:
            env = Env(facts.member, {}, trace)
            env.household = household or {}
            steps: list | None = [] if trace else None
            results.append(settle_contribution(c, env, layer.rounding, steps))
    return Assessment(program.checked.id, facts.member_id, tuple(results))


_CACHE: dict[int, tuple] = {}


def _compiled_contributions(program) -> tuple[_Compiled, ...]:
    """Compiled once per plan (the plan is frozen; keyed by identity, holding the plan alive)."""
    plan = program.plan
    hit = _CACHE.get(id(plan))
    if hit is None or hit[0] is not plan:
        if len(_CACHE) > 64:
            _CACHE.clear()
        hit = _CACHE[id(plan)] = (plan, tuple(_compile(c) for c in plan.top.contributions))
    return hit[1]


def settle_contribution(c: _Compiled, env: Env, rounding, steps: list | None) -> ContributionResult:
    plan = c.plan
    applies = settle_applies(c, env, steps)
    if not applies:
        return ContributionResult(plan.name, False, ZERO, (), ZERO, plan.node,
                                  tuple(steps) if steps is not None else None)
    premium = settle_premium(c, env, steps)
    if plan.prorate is not None:
        premium = settle_prorate(c, env, premium, steps)
    left = premium
    granted = []
    for i, s in enumerate(plan.subsidies):
        amount = settle_subsidy(c, i, env, left, rounding, steps)
        if amount is not None:
            granted.append(SubsidyResult(s.name, amount, s.node))
            left -= amount
    if left < 0:  # cannot happen: each subsidy is at most what is left
        raise MedrulesError(error("evaluate", f"contribution '{plan.name}': the member would owe {left} yuan",
                                  plan.node.span))
    if steps is not None:
        steps.append(OwesStep(node=plan.node, contribution=plan.name, premium=premium,
                              subsidised=premium - left, amount=left))
    return ContributionResult(plan.name, True, premium, tuple(granted), left, plan.node,
                              tuple(steps) if steps is not None else None)


def settle_applies(c: _Compiled, env: Env, steps: list | None) -> bool:
    result = True if c.applies is None else bool(c.applies(env))
    if steps is not None:
        steps.append(ContributionStep(node=c.plan.applies_node or c.plan.node, reads=env.take(),
                                      contribution=c.plan.name, applies=result))
    return result


def settle_premium(c: _Compiled, env: Env, steps: list | None):
    node = c.plan.premium.node
    amount = c.premium(env)
    if amount < 0:
        raise MedrulesError(error("evaluate", f"contribution '{c.plan.name}': the premium is negative "
                                  f"({amount} yuan)", node.span, "a premium is what the year's cover costs"))
    if steps is not None:
        steps.append(PremiumStep(node=node, reads=env.take(), contribution=c.plan.name, amount=amount))
    return amount


def settle_prorate(c: _Compiled, env: Env, premium, steps: list | None):
    p = c.plan.prorate
    applied = True if c.prorate_when is None else bool(c.prorate_when(env))
    amount = premium
    raw = premium
    if applied:
        from medrules.plan.arith import divide
        raw = divide(premium * p.months, 12)
        amount = round_to(raw, p.quantum, p.mode)
    if steps is not None:
        steps.append(ProrateStep(node=p.node, reads=env.take(), contribution=c.plan.name, applied=applied,
                                 full=premium, months=p.months, raw=raw, amount=amount))
    return amount


def settle_subsidy(c: _Compiled, index: int, env: Env, left, rounding, steps: list | None):
    """One subsidy: None when its condition does not hold, else what it pays for (≤ what is left)."""
    s = c.plan.subsidies[index]
    amount_fn, when_fn = c.subsidies[index]
    applied = True if when_fn is None else bool(when_fn(env))
    amount = amount_fn(env) if applied else ZERO
    if amount < 0:
        raise MedrulesError(error("evaluate", f"subsidy '{s.name}' of contribution '{c.plan.name}' is negative "
                                  f"({amount} yuan)", s.node.span, "a subsidy pays for part of the premium"))
    granted = min(amount, left)
    granted = round_to(granted, rounding.quantum, rounding.mode)
    if granted > left:  # rounding may not carry it above what is left
        granted = round_to(left, rounding.quantum, "down")
    if steps is not None:
        steps.append(SubsidyStep(node=s.node, reads=env.take(), contribution=c.plan.name, subsidy=s.name,
                                 applied=applied, amount=amount, left_before=left, granted=granted))
    return granted if applied else None
