"""The plan: a checked rulebook lowered to frozen data that every backend reads.

    parse -> check -> lower (this package) -> evaluate (scalar backend) / batch (vector backend) -> explain

``lower(checked, overrides=None) -> Plan`` returns plain frozen data (attrs, no closures). A backend
author implements settlement from this docstring, :mod:`medrules.plan.core` (expressions),
:mod:`medrules.plan.ops` (operations), :mod:`medrules.plan.arith` (the arithmetic) and
``docs/arithmetic.md``.

**Plan.** ``plan.layers``: the base scheme first, the rulebook itself last (a supplementary rulebook
``layers on`` another; most plans have one layer). ``plan.overrides``: the parameter values it was
lowered with.

**Layer.** ``accumulators`` (slots, each starting at 0 in every benefit year, or at the facts file's
opening value in the first claim's year), ``treatments``, rulebook-wide ``exclusions``, ``funds`` in
order, ``total`` (the claim's total cost), ``dated_by`` (the claim field that orders claims and places
them in a benefit year starting on ``year_starts`` = (month, day)), ``day_count``, ``rounding``,
``effective_from``/``effective_to``, ``parameters`` (folded values), ``prefix`` (how the top rulebook
names this layer's funds and accumulators: '' or 'basic'), ``alias`` (how it names the layer below).

**Settling one member** (claims sorted by (``dated_by``, file order)). For each claim, for each layer
bottom-up, with that layer's accumulators and the outputs of the layer below (``BaseOutput``:
``total_cost``, ``paid``, ``member_pays``, ``FUND.OUTPUT``):

1. each ``Treat`` in order: when ``when`` holds, the claim (or member) is read as if ``record.field``
   were ``value`` from then on, for this claim only;
2. the first rulebook-wide ``Exclude`` that holds: every fund of the layer pays 0 (outputs all 0);
3. otherwise each ``FundPlan`` in order (:func:`FundPlan.operations` lists them in this order):

   a. ``applies``: if false the fund pays 0 (all outputs 0); then the first fund ``Exclude`` that holds
      does the same;
   b. ``base``: the amount B ≥ 0 (negative: a located error). On the fund's axis (the cost
      accumulator's value a0 before the claim, or 0 when it keeps none) the claim is [a0, a0 + B];
   c. ``deductible``: taken = min(B, max(0, amount − used)) when ``when`` holds (used = the deductible
      accumulator for ``per year``, else 0), else 0; start = a0 + taken, end = a0 + B;
   d. each ``CostCap``: point = amount (per year) or a0 + amount (per claim); above = max(0,
      a0 + B − max(start, point)); end = max(start, min(end, point)). ``above_ceiling`` = (a0 + B) − end
      when the fund has a cost cap; ``payable`` = end − start;
   e. adjustments: each ``Adjust`` whose ``when`` holds applies, in order, to every rate of the fund:
      points add, relpct multiplies by (1 + amount); an adjusted rate outside [0, 1] is a located error;
   f. the pay: ``Rate`` → one piece (payable, rate); ``Bands`` → for each band [lower, upper) shifted by
      a0 when ``on`` is None (the claim's own zero), the part of [start, end] inside it at its rate;
      ``Flat`` → one piece (min(amount, payable), 1). raw = Σ part × rate (exact);
   g. ``PaymentCap``s: room = min over caps of max(0, amount − paid before) (paid before: the payments
      accumulator for per year, 0 per claim); when raw > room the fund pays room and ``above_cap`` is
      the cost beyond the point where the pieces, walked in order, reach room (room ÷ rate: EXACT),
      rounded by the declared rounding;
   h. ``Rounding``: paid = round(payment) on the declared grid (by the quantum's value), and never
      above the room of a payment cap (the largest grid value ≤ room when rounding would cross it);
   i. ``Accumulate`` in the order cost (+B), deductible (+taken), payments (+paid);
   j. outputs: paid, base, deductible, payable, above_cap, above_ceiling, remaining (= B − paid),
      readable by later funds as ``FundOutput``;

4. ``total``; the member pays total − Σ paid (negative: a located error).

Expressions (:mod:`medrules.plan.core`): constants and parameters are values; a ``Fact`` of record
``claim``/``member``, an ``Acc`` of the layer, a ``FundOutput`` of an earlier fund of the layer and a
``BaseOutput`` of the layer below are read from the state above.

**For a columnar backend.** Everything that is not a running total is a column expression: every
core expression that reads no ``Acc`` (and no ``FundOutput``/``BaseOutput`` that depends on one) can be
computed for all claims at once (:func:`facts_read` lists the fact columns). What carries state from a
member's claim to the next is only the layer's accumulators, which the funds change in step (i); the
operations that read them are a per-year ``Deductible`` (used), ``CostCap``/``Bands`` on the cost axis
(a0), ``PaymentCap`` per year (paid before) and any expression with an ``Acc``. A fund whose cost
accumulator is fed only by its base has a0 = the grouped cumulative sum of bases (exclusive); payments
under a cap are a clipped running sum only when rounding cannot cross the room — otherwise settle the
k-th claims of all members together (waves). Amounts follow docs/arithmetic.md exactly.
"""
from __future__ import annotations

from medrules.plan import core, ops
from medrules.plan.core import show
from medrules.plan.lower import lower
from medrules.plan.ops import Layer, Plan

__all__ = ["Layer", "Plan", "core", "describe", "facts_read", "lower", "ops"]


def facts_read(plan: Plan) -> set[tuple[str, str]]:
    """Every (record, field) a plan's expressions read (a vector backend's columns)."""
    import attrs

    found: set[tuple[str, str]] = set()

    def walk(x):
        if isinstance(x, core.Fact):
            found.add((x.record, x.field))
        elif isinstance(x, core.EXPRESSIONS):
            for child in core.children(x):
                walk(child)
        elif isinstance(x, (tuple, list)):
            for y in x:
                walk(y)
        elif attrs.has(type(x)) and type(x).__module__ == ops.__name__:
            for a in attrs.fields(type(x)):
                if a.name not in ("node", "checked"):
                    walk(getattr(x, a.name))

    walk(plan.layers)
    return found


def describe(plan: Plan) -> str:
    """The plan as indented text: one line per operation (what a backend author reads first)."""
    out = []
    for layer in plan.layers:
        out.append(f"layer {layer.id}" + (f" (as {layer.prefix})" if layer.prefix else "") +
                   f": dated by claim.{layer.dated_by}, year starts {layer.year_starts[0]:02}-{layer.year_starts[1]:02}, "
                   f"rounding {layer.rounding.mode} to {layer.rounding.quantum}")
        out += [f"  accumulator {a.name} per {a.period}" for a in layer.accumulators]
        out += [f"  treat {t.record}.{t.field} as {show(t.value)} when {show(t.when)}" for t in layer.treatments]
        out += [f"  exclude when {show(x.when)}" for x in layer.exclusions]
        for fund in layer.funds:
            out.append(f"  fund {fund.name}")
            out += [f"    {_op(o)}" for o in fund.operations()]
            out += [f"    declared cliff when {show(x.when)} (metadata: prove exempts it from monotone)"
                    for x in fund.cliffs]
        if layer.total is not None:
            out.append(f"  total {show(layer.total.expr)}")
        for c in layer.contributions:
            out.append(f"  contribution {c.name}")
            out += [f"    applies when {show(c.applies)}"] if c.applies is not None else []
            out.append(f"    premium {show(c.premium.amount)}")
            if c.prorate is not None:
                p = c.prorate
                out.append(f"    prorate {p.months}/12" + (f" when {show(p.when)}" if p.when else "") +
                           f", rounding {p.mode} to {p.quantum}")
            out += [f"    subsidy {s.name} {show(s.amount)}" + (f" when {show(s.when)}" if s.when else "")
                    for s in c.subsidies]
    return "\n".join(out)


def _op(o) -> str:  # noqa: C901 - one line per operation kind
    if isinstance(o, ops.Applies):
        return f"applies when {show(o.when)}"
    if isinstance(o, ops.Exclude):
        return f"exclude when {show(o.when)}"
    if isinstance(o, ops.Base):
        return f"base {show(o.expr)}"
    if isinstance(o, ops.Deductible):
        return f"deductible {show(o.amount)} per {o.per}" + (f" when {show(o.when)}" if o.when else "")
    if isinstance(o, ops.CostCap):
        return f"cost cap {show(o.amount)} per {o.per}"
    if isinstance(o, ops.Adjust):
        return f"adjust {o.kind} {show(o.amount)} when {show(o.when)}"
    if isinstance(o, ops.Rate):
        return f"rate {show(o.expr)}"
    if isinstance(o, ops.Bands):
        return f"bands on {o.on or 'the claim'}: " + "; ".join(
            f"[{b.lower}, {b.upper if b.upper is not None else '∞'}) {show(b.rate)}" for b in o.bands)
    if isinstance(o, ops.Flat):
        return f"flat {show(o.amount)}"
    if isinstance(o, ops.PaymentCap):
        return f"payment cap {show(o.amount)} per {o.per}"
    if isinstance(o, ops.Rounding):
        return f"rounding {o.mode} to {o.quantum}"
    return f"accumulate {o.role} in {o.accumulator}"
