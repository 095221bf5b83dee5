"""The vector backend for contributions: what every member of a table owes, exact to the fen.

The column-wise twin of the scalar backend (:mod:`medrules.evaluate.contribution`), reading the same
plan (:mod:`medrules.plan.contribution`), one function per operation:

===================  =================================================================
``settle_applies``   the contribution applies to the member, or the member owes nothing under it
``settle_premium``   the full premium for the year (never negative: the row is rejected)
``settle_prorate``   part-year cover: round(premium × months / 12), by the clause's own rounding
``settle_subsidy``   one subsidy (a ``highest {…}`` is one subsidy): min(amount, left), rounded by the
                     layer's rounding, never above what is left
===================  =================================================================

Every amount is an int64 at one decimal scale ``S`` fixed when the rulebook is compiled: the largest
number of decimals among the premiums, the subsidies and the two roundings (fen, or finer), so every
operation is exact and every rounding is the scalar backend's (the expressions are those of
:mod:`medrules.batch.vector`). A construct it cannot settle exactly (a division, an amount of more
than 8 decimals) is refused when the rulebook is compiled, at the construct.
"""
from __future__ import annotations

from decimal import Decimal

import attrs
import numpy as np

from medrules.batch.columns import Table
from medrules.batch.vector import LIMIT, V, Compiler, Wave, _refuse, _where, rescale, round_div
from medrules.diagnostics import MedrulesError
from medrules.plan.contribution import ContributionPlan

MAX_SCALE = 8
HINT = "assess the members one at a time with 'medrules assess RULEBOOK FACTS' (the scalar backend)"

__all__ = ["ContributionVector", "ContributionColumns", "compile_contributions", "assess_columns"]


@attrs.frozen
class VSubsidy:
    name: str
    amount: V
    when: V | None


@attrs.frozen
class VContribution:
    plan: ContributionPlan
    applies: V | None
    premium: V
    prorate_when: V | None
    prorate_quantum: int  # at scale S
    subsidies: tuple[VSubsidy, ...]


@attrs.frozen
class ContributionVector:
    """A loaded rulebook's contributions compiled for columns of members."""

    program: object
    contributions: tuple[VContribution, ...]
    scale: int  # S: every amount is an integer number of 10^-S yuan
    quantum: int  # the layer's rounding quantum, at scale S
    mode: str
    reads: frozenset  # (record, field) of every fact read

    def names(self) -> list[str]:
        return [c.plan.name for c in self.contributions]

    def subsidy_names(self) -> list[str]:
        """Every subsidy name, in rulebook order, once (a name may recur across contributions)."""
        out: list[str] = []
        for c in self.contributions:
            out += [s.name for s in c.subsidies if s.name not in out]
        return out


@attrs.frozen
class ContributionColumns:
    """Per contribution: one column per member (amounts at ``scale``); ``error``: '' or why a row failed."""

    applied: dict[str, np.ndarray]
    premium: dict[str, np.ndarray]
    granted: dict[str, dict[str, np.ndarray]]  # contribution -> subsidy -> granted
    owes: dict[str, np.ndarray]
    error: np.ndarray
    scale: int


def _decimals(q: Decimal) -> int:
    return max(0, -q.normalize().as_tuple().exponent)


def compile_contributions(program) -> ContributionVector:
    """The top layer's contributions compiled for columns, or a located MedrulesError naming what cannot be
    settled exactly (at load, never a silent slow path)."""
    layer = program.plan.top
    if not layer.contributions:
        raise _refuse(program.checked.rulebook, "a rulebook without contributions on the premium path",
                      "settle claims with 'medrules settle RULEBOOK CLAIMS' (the rulebook states no contribution)")
    reads: set = set()
    comp = Compiler(layer.checked, 2, reads)

    def expr(e):
        if e is None:
            return None
        try:
            return comp.expr(e)
        except MedrulesError as exc:  # the expression compiler's hint names the claims path
            raise MedrulesError([attrs.evolve(d, hint=HINT) for d in exc.diagnostics]) from None

    compiled = []
    scales = [2, _decimals(layer.rounding.quantum)]
    for c in layer.contributions:
        premium = expr(c.premium.amount)
        subs = tuple(VSubsidy(s.name, expr(s.amount), expr(s.when)) for s in c.subsidies)
        for v, node in [(premium, c.premium.node)] + [(s.amount, p.node) for s, p in zip(subs, c.subsidies)]:
            if v.scale is None or v.scale > MAX_SCALE:
                raise _refuse(node, f"an amount of {v.scale} decimals",
                              f"amounts of at most {MAX_SCALE} decimals are exact in int64; or {HINT}")
            scales.append(v.scale)
        if c.prorate is not None:
            scales.append(_decimals(c.prorate.quantum))
        compiled.append((c, expr(c.applies), premium, expr(c.prorate.when) if c.prorate else None, subs))
    S = max(scales)
    if S > MAX_SCALE:
        raise _refuse(layer.rounding.node, f"amounts of {S} decimals", HINT)

    def at_scale(q: Decimal, node) -> int:
        v = int(q.scaleb(S))
        if Decimal(v).scaleb(-S) != q or v <= 0:
            raise _refuse(node, f"rounding to {q}", HINT)
        return v

    out = tuple(VContribution(c, applies, premium, when,
                              at_scale(c.prorate.quantum, c.prorate.node) if c.prorate else 0, subs)
                for c, applies, premium, when, subs in compiled)
    return ContributionVector(program, out, S, at_scale(layer.rounding.quantum, layer.rounding.node),
                              layer.rounding.mode, frozenset(reads))


class HouseholdWave(Wave):
    """A wave of members that also reads their households' facts (``household.tier``), one row per member."""

    __slots__ = ("household",)

    def __init__(self, n_rows: int, members: Table, household: Table, messages: list):
        super().__init__(n_rows, Table({}), members, {}, messages)
        self.household = household.values
        self.given |= {("household", k): v for k, v in household.given.items()}

    def record(self, name: str) -> dict:
        return self.household if name == "household" else super().record(name)


def assess_columns(cv: ContributionVector, members: Table, household: Table | None = None) -> ContributionColumns:
    """What each member (a row of ``members``; ``household``: their households' facts, row for row) owes under
    each contribution."""
    n = len(members)
    messages: list[str] = []
    w = HouseholdWave(n, members, household if household is not None else Table({}), messages)
    everyone = np.ones(n, bool)
    applied, premium, granted, owes = {}, {}, {}, {}
    for c in cv.contributions:
        name = c.plan.name
        a = settle_applies(c, w, everyone)
        p = settle_premium(c, cv, w, a)
        if c.plan.prorate is not None:
            p = settle_prorate(c, w, a, p)
        left = p.copy()
        granted[name] = {}
        for s in c.subsidies:
            g = settle_subsidy(c, s, cv, w, a, left)
            granted[name][s.name] = g
            left = left - g
        applied[name], premium[name], owes[name] = a, p, left
    errors = np.full(n, "", object)
    failed = w.error > 0
    if failed.any():
        errors[failed] = np.array(messages, dtype=object)[w.error[failed] - 1]
    return ContributionColumns(applied, premium, granted, owes, errors, cv.scale)


def _to_scale(v: V, values: np.ndarray, S: int, w: Wave, mask: np.ndarray) -> np.ndarray:
    return rescale(np.asarray(values, np.int64), S - v.scale, w, mask, v.node)


def settle_applies(c: VContribution, w: Wave, everyone: np.ndarray) -> np.ndarray:
    return everyone.copy() if c.applies is None else np.asarray(c.applies(w, everyone), bool) & everyone


def settle_premium(c: VContribution, cv: ContributionVector, w: Wave, applies: np.ndarray) -> np.ndarray:
    node = c.plan.premium.node
    p = np.where(applies, _to_scale(c.premium, c.premium(w, applies), cv.scale, w, applies), 0)
    negative = applies & (p < 0)
    if negative.any():
        w.fail(negative, f"contribution '{c.plan.name}': the premium is negative at {_where(node)} "
                         "(a premium is what the year's cover costs)")
    large = applies & (p > LIMIT // 4)  # the roundings below double it: keep it well inside int64
    if large.any():
        w.fail(large, f"an amount is too large for exact arithmetic at {_where(node)}")
    return np.where(negative | large, 0, p)


def settle_prorate(c: VContribution, w: Wave, applies: np.ndarray, premium: np.ndarray) -> np.ndarray:
    p = c.plan.prorate
    holds = applies if c.prorate_when is None else np.asarray(c.prorate_when(w, applies), bool) & applies
    large = holds & (premium > LIMIT // 12)
    if large.any():  # P × months must stay exact in int64
        w.fail(large, f"an amount is too large for exact arithmetic at {_where(p.node)}")
        holds = holds & ~large
    q = c.prorate_quantum
    share = round_div(np.where(holds, premium, 0) * p.months, 12 * q, p.mode) * q  # round(P × months / 12)
    return np.where(holds, share, premium)


def settle_subsidy(c: VContribution, s: VSubsidy, cv: ContributionVector, w: Wave, applies: np.ndarray,
                   left: np.ndarray) -> np.ndarray:
    """What one subsidy pays for: min(amount, left) rounded by the layer, never above left; 0 where it does
    not hold."""
    holds = applies if s.when is None else np.asarray(s.when(w, applies), bool) & applies
    if not holds.any():
        return np.zeros(w.n, np.int64)
    amount = np.where(holds, _to_scale(s.amount, s.amount(w, holds), cv.scale, w, holds), 0)
    negative = holds & (amount < 0)
    if negative.any():
        node = next(p.node for p in c.plan.subsidies if p.name == s.name)
        w.fail(negative, f"subsidy '{s.name}' of contribution '{c.plan.name}' is negative at {_where(node)} "
                         "(a subsidy pays for part of the premium)")
    q = cv.quantum
    g = round_div(np.minimum(amount, left), q, cv.mode) * q
    g = np.where(g > left, (left // q) * q, g)  # rounding may not carry it above what is left
    return np.where(holds & ~negative, g, 0)

