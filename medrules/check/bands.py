"""Bands: edges are constant amounts, and the bands tile the axis with no gap or overlap.

Bands are written in order: ``up to A: r``, then ``A to B: r``, then ``above B: r``.
Each band starts where the previous one ended.
"""
from __future__ import annotations

from decimal import Decimal

from medrules import nodes as n
from medrules.check.context import Context
from medrules.numbers import amount


def check(ctx: Context) -> None:
    for fund in ctx.rulebook.funds:
        for bands in fund.clause(n.Bands):
            check_bands(ctx, bands)


def check_bands(ctx: Context, bands: n.Bands) -> None:
    previous_upper: Decimal | None = Decimal(0)
    previous: n.Band | None = None
    for i, band in enumerate(bands.bands):
        lower = Decimal(0) if band.lower is None else fold(ctx, band.lower)
        upper = None if band.upper is None else fold(ctx, band.upper)
        if band.lower is not None and lower is None or band.upper is not None and upper is None:
            previous_upper, previous = _UNKNOWN, band  # fold reported it; don't guess at gaps after it
            continue
        if previous_upper is _UNKNOWN:
            pass
        elif previous is not None and previous_upper is None:
            ctx.error("bands", "this band comes after a band that has no upper edge", band.span,
                      "only the last band may be 'above …'",
                      related=(("the open band", previous.span),))
        elif lower != previous_upper:
            gap = lower > previous_upper
            ctx.error("bands", f"bands {'leave a gap' if gap else 'overlap'} between "
                      f"{amount(min(lower, previous_upper))} and {amount(max(lower, previous_upper))} yuan", band.span,
                      f"start this band at {amount(previous_upper)} yuan, where the previous one ends",
                      related=(("previous band", previous.span),) if previous else ())
        if upper is not None and upper <= lower:
            ctx.error("bands", f"this band is empty: it ends at {amount(upper)}, not above where it starts "
                      f"({amount(lower)})",
                      band.span)
        if upper is not None:
            ctx.constants[band.upper] = upper
        if band.lower is not None:
            ctx.constants[band.lower] = lower
        previous_upper, previous = upper, band
    last = bands.bands[-1]
    if last.upper is not None:
        ctx.error("bands", "the last band has an upper edge, so cost above it would fall in no band", last.span,
                  "end with 'above …: RATE' (use 'above …: 0%' to pay nothing above it)")


_UNKNOWN = object()


def _uses_cyclic(ctx: Context, e) -> bool:
    res = ctx.resolved.get(e) if isinstance(e, n.Ref) else None
    if res is not None and res.kind == "param":
        return res.target in ctx.cyclic
    return any(_uses_cyclic(ctx, x) for x in (getattr(e, "left", None), getattr(e, "right", None)) if x)


def fold(ctx: Context, e: n.Expr) -> Decimal | None:
    """A band edge as a constant: literals, parameters, and + - * of those."""
    value = _fold(ctx, e)
    if value is None and not _uses_cyclic(ctx, e):  # a cycle is reported once, where it is
        ctx.error("bands", "a band edge must be a fixed amount (a number of yuan or a parameter)", e.span)
    return value


def _fold(ctx: Context, e: n.Expr, seen: frozenset = frozenset()) -> Decimal | None:
    if isinstance(e, n.Literal) and isinstance(e.value, Decimal):
        return e.value
    if isinstance(e, n.Ref):
        res = ctx.resolved.get(e)
        if res is not None and res.kind == "param" and res.target not in seen:  # cycles: reported by types
            return _fold(ctx, ctx.parameters[res.target].value, seen | {res.target})
        return None
    if isinstance(e, n.Binary):
        left, right = _fold(ctx, e.left, seen), _fold(ctx, e.right, seen)
        if left is None or right is None:
            return None
        return {"+": left + right, "-": left - right, "*": left * right}.get(e.op)
    return None
