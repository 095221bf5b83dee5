"""The plan's operations: one class per provision kind, and the layers and funds that hold them.

Every operation keeps ``node``, the rulebook clause it comes from (its span and citation). The
expressions inside are :mod:`medrules.plan.core` expressions; amounts a provision fixes (band
edges) are already folded to ``Decimal``.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

from medrules.plan.core import Expr


def _op(cls):
    return attrs.frozen(eq=False)(cls)


# ---------------------------------------------------------------- rulebook-wide operations
@_op
class Treat:
    """Settle the claim as if ``record.field`` were ``value`` when ``when`` holds (the facts never change)."""

    record: str
    field: str
    value: Expr
    when: Expr
    node: object


@_op
class Exclude:
    """No payment when ``when`` holds: by every fund of the layer (``all_funds``) or by one fund."""

    when: Expr
    all_funds: bool
    node: object


@_op
class Total:
    """The claim's total cost (what the member pays is this minus the funds' payments)."""

    expr: Expr
    node: object


@_op
class Insured:
    """On a claim's date the person belongs to scheme ``name`` when ``when`` holds (the first that holds);
    the claim is settled under ``paths`` (several: under each, the better paid)."""

    name: str
    when: Expr
    paths: tuple[str, ...]
    highest: bool
    node: object


@_op
class Recover:
    """When ``when`` holds, what the funds paid on the claim is recoverable from a third party."""

    when: Expr
    node: object


@_op
class AccumulatorSlot:
    name: str
    period: str  # year | claim
    node: object


# ---------------------------------------------------------------- fund operations, in kernel order
@_op
class Applies:
    when: Expr
    node: object


@_op
class Base:
    expr: Expr  # money: the amount the fund applies to (never negative)
    node: object


@_op
class Deductible:
    """The first ``amount`` (per year: less what the deductible accumulator already holds) stays with
    the member; ``when`` (None: always) decides whether it is taken on this claim."""

    amount: Expr
    per: str  # year | admission | claim
    when: Expr | None
    node: object


@_op
class CostCap:
    """The fund pays only on the cost axis up to ``amount`` (per year: on the cost accumulator's axis;
    per claim: from where this claim starts)."""

    amount: Expr
    per: str  # year | claim
    node: object


@_op
class Rate:
    expr: Expr  # a rate in [0, 1], before adjustments
    node: object


@_op
class Band:
    lower: Decimal  # folded (a parameter override moves it)
    upper: Decimal | None  # None: unbounded
    rate: Expr
    node: object


@_op
class Bands:
    """Progressive bands on ``on`` (an accumulator: the year's axis) or, when None, on the claim's
    own payable amount from zero."""

    on: str | None
    bands: tuple[Band, ...]
    node: object


@_op
class Flat:
    """A fixed amount per claim, never more than the payable cost (paid at rate 1 for the payment cap)."""

    amount: Expr
    node: object


@_op
class Adjust:
    """Applied to every rate of the fund when ``when`` holds: ``points`` adds, ``relpct`` multiplies by (1 + amount)."""

    kind: str  # points | relpct
    amount: Expr
    when: Expr
    node: object


@_op
class PaymentCap:
    """What the fund pays is at most ``amount`` (per year: less the payments accumulator; per claim: alone;
    per holder: a quota of each insured person named by ``holders``, less what was drawn on it this year,
    :mod:`medrules.evaluate.quota`)."""

    amount: Expr
    per: str  # year | claim | holder
    node: object
    holders: tuple = ()  # per holder: the text facts naming whose quota pays, in order (core.Fact)


@_op
class Rounding:
    """The declared rounding of each payment, by the quantum's value."""

    mode: str  # half_up | half_even | down | up
    quantum: Decimal
    node: object


@_op
class Accumulate:
    role: str  # cost (adds the base) | deductible (adds the deductible taken) | payments (adds the payment)
    accumulator: str
    node: object


@_op
class Cliff:
    """A declared cliff (metadata, not a kernel step: both backends ignore it). Where ``when`` differs
    between two claims, the policy itself lets the one that costs more be paid less; ``medrules
    prove`` exempts such pairs from 'monotone' and cites ``node.citation``."""

    when: Expr
    node: object


PAYS = (Rate, Bands, Flat)
ROLES = ("cost", "deductible", "payments")  # the order a fund accumulates in
OPERATIONS = (Applies, Exclude, Base, Deductible, CostCap, Rate, Bands, Flat, Adjust, PaymentCap, Rounding,
              Accumulate)


@_op
class FundPlan:
    name: str
    node: object  # the Fund node
    applies: Applies | None
    excludes: tuple[Exclude, ...]
    base: Base
    deductible: Deductible | None
    cost_caps: tuple[CostCap, ...]
    pay: Rate | Bands | Flat
    adjusts: tuple[Adjust, ...]
    payment_caps: tuple[PaymentCap, ...]
    rounding: Rounding
    accumulates: tuple[Accumulate, ...]
    cliffs: tuple[Cliff, ...] = ()  # declared cliffs: metadata for prove, not in operations()

    def operations(self) -> tuple:
        """Every operation in the kernel's order."""
        return ((self.applies,) if self.applies else ()) + self.excludes + (self.base,) + \
            ((self.deductible,) if self.deductible else ()) + self.cost_caps + self.adjusts + (self.pay,) + \
            self.payment_caps + (self.rounding,) + self.accumulates

    def accumulator(self, role: str) -> str | None:
        return next((a.accumulator for a in self.accumulates if a.role == role), None)

    @property
    def cost_acc(self) -> str | None:
        return self.accumulator("cost")

    @property
    def payments_acc(self) -> str | None:
        return self.accumulator("payments")

    @property
    def deductible_acc(self) -> str | None:
        return self.accumulator("deductible")


@_op
class Layer:
    """One rulebook of a layered scheme (a supplement settles each claim after the layer below it)."""

    id: str
    prefix: str  # how the top rulebook names this layer: '' for itself, 'basic', 'basic.x' below
    alias: str | None  # how THIS layer names the one below it (None: the bottom layer)
    checked: object  # the CheckedRulebook (its nodes, for explanations)
    accumulators: tuple[AccumulatorSlot, ...]
    treatments: tuple[Treat, ...]
    exclusions: tuple[Exclude, ...]  # rulebook-wide (all_funds=True)
    funds: tuple[FundPlan, ...]
    total: Total | None  # None: a contributions-only rulebook (it settles no claims)
    dated_by: str | None  # the claim field that places a claim in a benefit year
    year_starts: tuple[int, int]  # (month, day)
    day_count: str  # inclusive | exclusive
    rounding: Rounding
    effective_from: dt.date | None
    effective_to: dt.date | None
    parameters: dict  # name -> folded value (overrides applied)
    contributions: tuple = ()  # ContributionPlans (medrules.plan.contribution): what a member owes
    memberships: tuple[Insured, ...] = ()  # a membership rulebook: the scheme of each claim, by its date
    recoveries: tuple[Recover, ...] = ()  # paid first, recoverable from a third party


@_op
class Plan:
    """A lowered rulebook: its layers, the base scheme first and the rulebook itself last."""

    layers: tuple[Layer, ...]
    overrides: dict  # the parameter values it was lowered with (name -> value)

    @property
    def top(self) -> Layer:
        return self.layers[-1]

    @property
    def dated_by(self) -> str:
        return self.top.dated_by
