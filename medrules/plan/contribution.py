"""The plan of a contribution: what a member owes for a year's cover, as frozen data.

A layer's ``contributions`` (:class:`ContributionPlan`, in rulebook order) are settled for a member,
not for a claim: they read member facts and parameters only. For each contribution:

1. ``applies`` (None: always): if false the member owes nothing under it (all amounts 0);
2. ``premium``: the full premium P ≥ 0 for the year (negative: a located error);
3. ``prorate`` (None: the whole year): when ``when`` holds (None: always), P becomes
   round(P × months / 12) by the clause's own rounding (``mode``, ``quantum``), months being the whole
   calendar months from ``start`` to ``end``;
4. each ``Subsidy`` in order, when ``when`` holds: its amount S ≥ 0 (negative: a located error) is
   granted up to what is left, granted = min(S, left), rounded by the layer's rounding (never above
   left); left = left − granted. So subsidies never exceed the premium: a subsidised member choosing
   a dearer tier pays the difference;
5. outcome: premium (after prorate), each subsidy granted, ``member_owes`` = left,
   ``subsidised`` = Σ granted (= premium − member_owes).

Amounts are exact (:mod:`medrules.plan.arith`); only steps 3 and 4 round, as declared.
"""
from __future__ import annotations

import attrs

from medrules import nodes as n
from medrules.plan.core import Expr


def _op(cls):
    return attrs.frozen(eq=False)(cls)


@_op
class Premium:
    amount: Expr  # money: the full premium for the year
    node: object


@_op
class Prorate:
    months: int  # whole calendar months covered (start to end)
    when: Expr | None
    mode: str
    quantum: object  # Decimal
    node: object


@_op
class Subsidy:
    name: str
    amount: Expr  # money, granted up to what is left of the premium
    when: Expr | None
    node: object


@_op
class ContributionPlan:
    name: str
    node: object  # the Contribution node
    applies: Expr | None
    applies_node: object
    premium: Premium
    prorate: Prorate | None
    subsidies: tuple[Subsidy, ...]


def lower_contributions(lowerer, rulebook: n.Rulebook) -> tuple[ContributionPlan, ...]:
    """Each contribution of a rulebook, its expressions lowered by the layer's lowerer."""
    out = []
    for c in rulebook.contributions:
        applies = c.clause(n.Applies)
        premium = c.clause(n.Premium)[0]
        prorate = c.clause(n.Prorate)
        p = prorate[0] if prorate else None
        out.append(ContributionPlan(
            name=c.name, node=c,
            applies=lowerer.expr(applies[0].when) if applies else None,
            applies_node=applies[0] if applies else None,
            premium=Premium(lowerer.expr(premium.amount), premium),
            prorate=Prorate(p.end[0] - p.start[0] + 1, lowerer.expr(p.when) if p.when is not None else None,
                            p.mode, p.quantum, p) if p else None,
            subsidies=tuple(Subsidy(s.name, lowerer.expr(s.amount),
                                    lowerer.expr(s.when) if s.when is not None else None, s)
                            for s in c.clause(n.Subsidy)),
        ))
    return tuple(out)
