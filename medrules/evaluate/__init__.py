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
from medrules.evaluate.compile import CompiledLayer, Env, Program, compile_rulebook
from medrules.evaluate.quota import QuotaBook, keeps_quotas
from medrules.evaluate.runtime import CONTEXT, ZERO, benefit_year, year_label
from medrules.evaluate.trace import (SCHEMA_VERSION, AccumulateStep, BenefitYearStep, HandoffStep, MemberPaysStep,
                                     OpeningStep, RecoverStep, Step, TreatStep, built)
from medrules.facts import Claim, Facts

__all__ = ["Assessment", "ClaimResult", "FundResult", "Program", "SCHEMA_VERSION", "Settlement", "Step",
           "assess", "compile_rulebook", "settle", "settle_premium",
           "settle_prorate", "settle_subsidy"]

OUTPUTS = ("paid", "base", "deductible", "payable", "above_cap", "above_ceiling", "remaining")
RESULT_FIELDS = ("applied", "paid", "base", "deductible", "payable", "above_cap", "above_ceiling", "remaining",
                 "excluded")  # FundResult's fields after its name, as a fund's outputs hold them


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
    # the trace (None untraced): steps as recorded (tuples, see medrules.evaluate.trace.built) until first read
    _steps: tuple | None = attrs.field(alias="steps", eq=attrs.cmp_using(eq=lambda a, b: _built(a) == _built(b)))
    recoverable: Decimal = ZERO  # paid first by the funds, recoverable from a third party ('recover')
    recovered_by: object = None  # the Recover node that held, if any

    @property
    def steps(self) -> tuple[Step, ...] | None:
        """What the evaluation did, step by step (typed steps, built from the records on first reading)."""
        steps = self._steps
        if steps and any(type(s) is tuple for s in steps):
            steps = _built(steps)
            object.__setattr__(self, "_steps", steps)  # frozen: only the form changes, not the steps
        return steps

    @property
    def id(self) -> str:
        return self.claim.id

    def fund(self, name: str) -> FundResult:
        return next(f for f in self.funds if f.fund == name)

    @property
    def funds_paid(self) -> Decimal:
        return sum((f.paid for f in self.funds), ZERO)


def _built(steps: tuple | None) -> tuple | None:
    return None if steps is None else tuple(map(built, steps))


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


def settle(program: Program, facts: Facts, trace: bool = False, in_force_only: bool = True,
           quotas=None) -> Settlement:
    """Settle a member's claims. ``in_force_only=False`` settles claims outside the rulebook's
    effective period too (``medrules diff`` compares two policy years on the same claims). ``quotas``: the
    quotas kept per holder that the claims draw on (:class:`medrules.evaluate.quota.QuotaBook`, shared by a
    household); by default the member's own."""
    with decimal.localcontext(CONTEXT):  # a copy of CONTEXT, made on entering
        try:
            return _settle(program, facts, trace, in_force_only, quotas)
        except (ArithmeticError, ValueError, RecursionError) as exc:  # the boundary (trust): never a traceback
            raise out_of_range(exc, facts) from None


def out_of_range(exc: Exception, facts: Facts | str) -> MedrulesError:
    """An arithmetic or calendar failure while settling, as the error a user reads (at the facts file, given
    as its Facts or its name)."""
    file = facts if isinstance(facts, str) else facts.file
    return MedrulesError(error(
        "arithmetic", f"these facts take the arithmetic or the calendar out of range "
        f"({type(exc).__name__}: {str(exc)[:80]})", Span(file, 1, 1),
        "check the amounts and dates in the facts file against the rulebook's parameters"))


def _settle(program: Program, facts: Facts, trace: bool, in_force_only: bool = True, quotas=None) -> Settlement:
    return Settlement(program.checked.id, facts.member_id,
                      tuple(settle_claims(program, facts, trace, in_force_only, quotas)))


def settle_claims(program: Program, facts: Facts, trace: bool, in_force_only: bool = True, quotas=None):
    """The member's claims settled one by one, in date order (a generator: a household settles its members'
    claims interleaved by date, :mod:`medrules.household`)."""
    plan = program.plan
    top = plan.top
    if top.total is None and top.memberships:
        raise MedrulesError(error("evaluate", f"rulebook '{top.id}' routes each claim to the rulebook of the scheme the "
                                  "person was insured in: it settles none itself", program.checked.rulebook.span,
                                  "settle and explain its members with 'medrules run' / 'medrules explain' "
                                  "(medrules.membership.settle_membership)"))
    if top.total is None:
        raise MedrulesError(error("evaluate", f"rulebook '{top.id}' states contributions only: it settles no claims",
                                  program.checked.rulebook.span,
                                  "assess what a member owes with 'medrules assess RULEBOOK FACTS'"))
    dated_by = top.dated_by
    claims = sorted(facts.claims, key=lambda c: (c.values[dated_by], c.index))
    if in_force_only:
        check_effective(program, claims)
    yield from settled_claims(program, facts, claims, trace, quotas)


def settled_claims(program: Program, facts: Facts, claims, trace: bool = False, quotas=None):
    """Each claim's result, in turn, as it is settled (``claims``: an iterable in date order; ``facts``: the
    member, its opening values and histories; ``quotas``: as :func:`settle`). Under :data:`CONTEXT`, as
    :func:`settle` runs it (``medrules run`` streams a large file through it, :mod:`medrules.runstream`)."""
    top = program.plan.top
    dated_by = top.dated_by
    layers = program.layers if trace else program.untraced  # the base scheme first, then each supplement
    envs = [Env(facts.member, {}, trace, facts.histories) for _ in layers]
    if quotas is None and keeps_quotas(program.plan):  # 'cap … per holder': by default the member's own quota
        quotas = QuotaBook.of_one(program, facts)
    for env in envs:
        env.quotas = quotas
    opening = split_opening(program, facts.opening)
    year = label = None
    for number, claim in enumerate(claims):
        day = claim.values[dated_by]
        steps: list | None = [] if trace else None
        if year is None or not year[0] <= day <= year[1]:  # a new benefit year (its calendar: once a year)
            year = benefit_year(day, top.year_starts)
            label = year_label(*year)
            for layer, env in zip(layers, envs):
                env.acc.clear()
                env.acc.update(dict.fromkeys((a.name for a in layer.plan.accumulators), ZERO))
                if number == 0:
                    env.acc.update(opening[layer.plan.prefix])
            if steps is not None:
                steps.append(BenefitYearStep.record(node=program.checked.rulebook.header, start=year[0], end=year[1],
                                                    label=label))
                if number == 0 and facts.opening:
                    steps.append(OpeningStep.record(amounts=dict(facts.opening)))
        funds, total, below = [], None, None
        for depth, (layer, env) in enumerate(zip(layers, envs)):
            prefix = layer.plan.prefix
            # the rulebook's own layer records into the claim's steps; a layer below is renamed after
            layer_steps = None if steps is None else [] if prefix else steps
            env.below = below or _NOTHING_BELOW
            if below is not None and layer_steps is not None:
                layer_steps.append(HandoffStep.record(
                    node=layer.checked.rulebook.header.layers_on, from_=layers[depth - 1].plan.id, to=layer.plan.id,
                    total=below["total_cost"], paid=below["paid"], member_pays=below["member_pays"]))
            env.out = {}
            layer_funds, total = settle_claim(layer, env, claim, facts.member, layer_steps)
            if depth + 1 < len(layers):  # only a layer above reads this one's results
                below = layer_outputs(layer, env, layer_funds, total)
            if prefix:
                funds += [attrs.evolve(f, fund=f"{prefix}.{f.fund}") for f in layer_funds]
                if steps is not None:
                    steps += [_qualified(built(s), prefix) for s in layer_steps]
            else:
                funds += layer_funds
        paid = ZERO
        for f in funds:
            paid = paid + f.paid
        member = total - paid
        recovered_by = settle_recover(layers[-1], envs[-1], paid, steps) if layers[-1].recoveries else None
        if steps is not None:
            steps.append((MemberPaysStep, None, None, (), "", total, paid, member))
        if member < 0:
            raise MedrulesError(error("evaluate", f"claim '{claim.id}': the funds would pay {paid} yuan, more "
                                      f"than its total cost of {total} yuan", top.total.node.span,
                                      "a fund's base should not exceed what is left of the cost"))
        if len(envs) == 1:
            accumulators = envs[0].acc.copy()
        else:
            accumulators = {}
            for layer, env in zip(layers, envs):
                prefix = layer.plan.prefix
                accumulators |= {f"{prefix}.{k}": v for k, v in env.acc.items()} if prefix else env.acc
        yield ClaimResult(claim, day, label, tuple(funds), total, member, accumulators,
                          tuple(steps) if steps is not None else None,
                          paid if recovered_by is not None else ZERO, recovered_by)


def settle_recover(layer: CompiledLayer, env: Env, paid: Decimal, steps: list | None):
    """``recover when …``: the first that holds makes what the funds paid on the claim recoverable from the
    liable third party (the funds pay first: 先行支付, then 追偿). Returns its node, or None."""
    for r in layer.recoveries:
        if r.fn(env):
            if steps is not None:
                steps.append(RecoverStep(node=r.node, reads=env.take(), amount=paid))
            return r.node
        env.take()
    return None


def split_opening(program: Program, opening: dict[str, Decimal]) -> dict[str, dict[str, Decimal]]:
    """Opening values by layer prefix: ``basic.inpatient_cost`` belongs to the base scheme."""
    prefixes = [layer.prefix for layer in program.plan.layers]
    out: dict[str, dict[str, Decimal]] = {p: {} for p in prefixes}
    for name, value in opening.items():
        # the longest prefix that names a layer (accumulator names have no dots)
        owner = max((p for p in prefixes if p and name.startswith(p + ".")), key=len, default="")
        out[owner][name[len(owner) + 1:] if owner else name] = value
    return out


def settle_claim(layer: CompiledLayer, env: Env, claim: Claim, member: dict, steps: list | None):
    """One claim under one layer: treatments, exclusions, each fund in order, the total cost."""
    env.claim, env.member = claim.values, member  # 'treat' may have replaced them for the last claim
    if env.reads:
        env.reads = []
    if layer.treatments:
        settle_treat(layer, env, steps)
    return layer.settle(env, steps)  # generated: exclusions, each fund's kernel, the total (evaluate.kernel)


_NOTHING_BELOW: dict = {}  # the base scheme's env.below: read only, never changed


def layer_outputs(layer: CompiledLayer, env: Env, funds: list[FundResult], total) -> dict:
    """What the next layer reads of this one: total_cost / paid / member_pays / FUND.OUTPUT."""
    paid = sum((f.paid for f in funds), ZERO)
    out = {"total_cost": total, "paid": paid, "member_pays": total - paid}
    for fund, outputs in env.out.items():
        out |= {f"{fund}.{k}": v for k, v in outputs.items() if k in OUTPUTS}
    return out


def _qualified(step: Step, prefix: str) -> Step:
    """A step of a lower layer, with its fund and accumulator named as the top rulebook names them."""
    if not prefix:
        return step
    changes = {"fund": f"{prefix}.{step.fund}" if step.fund else None, "layer": prefix}
    if isinstance(step, AccumulateStep):
        changes["accumulator"] = f"{prefix}.{step.accumulator}"
    return attrs.evolve(step, **changes)


def settle_treat(layer: CompiledLayer, env: Env, steps: list | None) -> None:
    """``treat claim.kind as inpatient when …``: settle the claim as if the fact were different."""
    for treat in layer.treatments:
        value, when = treat.fns
        if when(env):
            record, field = treat.op.record, treat.op.field
            facts = getattr(env, record)
            before, after = facts[field], value(env)
            setattr(env, record, facts | {field: after})  # a copy: the facts themselves never change
            if steps is not None:
                steps.append(TreatStep.record(node=treat.node, reads=env.take(), fact=f"{record}.{field}",
                                              before=before, after=after))
        else:
            env.take()


def check_effective(program: Program, claims: list[Claim]) -> None:
    header = program.checked.rulebook.header
    start, end, dated_by = header.effective_from, header.effective_to, program.dated_by
    if start is None and end is None:
        return
    problems = []
    for claim in claims:
        day = claim.values[dated_by]
        if (start is None or day >= start) and (end is None or day <= end):
            continue
        span = claim.spans.get(dated_by, claim.span)
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


# contributions (the premium side) are settled by their own module; re-exported as the public verbs
from medrules.evaluate.contribution import (Assessment, assess, settle_premium, settle_prorate,  # noqa: E402
                                            settle_subsidy)
