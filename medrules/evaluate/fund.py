"""The fund kernel of the scalar backend: how one fund settles one claim, one function per operation.

On the fund's cost axis (its year-to-date cost accumulator, or the claim's own amount from zero
when it keeps none) the claim occupies ``[a0, a0 + base]``. The operations run in the plan's
order (:meth:`medrules.plan.ops.FundPlan.operations`), each in its own function here:

=====================  ====================================================================
``settle_applies``     if the condition is false the fund pays nothing
``settle_exclude``     a fund exclusion that holds: the fund pays nothing, with the reason
``settle_base``        the amount the fund applies to (never negative)
``settle_deductible``  the first part of the claim's segment stays with the member
``settle_cost_cap``    the fund pays only on the axis up to its cost cap
``settle_adjust``      rate adjustments (points, relative percent), evaluated once
``settle_rate``        the payable part times the (adjusted) rate
``settle_bands``       the part of the payable segment in each band, at its rate
``settle_flat``        a flat amount, never more than the payable part
``settle_payment_cap`` payments stop at the tightest payment cap; the cost beyond is ``above_cap``
``settle_rounding``    the declared rounding, never above a payment cap's room or the base
``settle_accumulate``  cost, deductible and payments are added to the accumulators
=====================  ====================================================================

Steps are recorded only when ``steps`` is a list; the arithmetic is the same either way. A step is
recorded as a tuple, ``(StepClass, fund, node, reads, layer, *the class's own fields in order)`` (the
classes in :mod:`medrules.evaluate.trace`), which costs a tenth of building the object; the typed step
is built when the claim's steps are read (``tests/test_trace_records.py`` checks every tuple's arity). The
settlement's invariants (0 ≤ paid ≤ base, paid within every payment cap's room) are checked here
on every claim and fail closed with a located :class:`MedrulesError`.
"""
from __future__ import annotations

from decimal import Decimal

from medrules.diagnostics import MedrulesError, error
from medrules.evaluate.compile import CompiledFund, Env
from medrules.evaluate.trace import (AccumulateStep, AdjustStep, AppliesStep, BandStep, BaseStep, CostCapStep,
                                     DeductibleStep, ExcludeStep, FlatStep, PaidStep, PaymentCapStep, RateStep,
                                     RoundingStep)
from medrules.evaluate.quota import draw_quota, quota_room
from medrules.plan import ops
from medrules.plan.arith import ONE, ZERO, divide, round_to


def settle_fund(fund: CompiledFund, env: Env, rounding: ops.Rounding, steps: list | None) -> dict:
    """The fund's outputs on this claim (also left in ``env.out`` for later funds), in the order of
    :class:`medrules.evaluate.FundResult`'s fields; a fund that does not apply leaves the shared, all-zero
    :data:`NOT_APPLIED` (never changed)."""
    applies = fund.applies
    if applies is not None and not (settle_applies(fund, env, steps) if steps is not None else applies.fn(env)):
        env.out[fund.name] = NOT_APPLIED  # (untraced, the condition is all settle_applies does)
        return NOT_APPLIED
    for exclusion in fund.excludes:
        if settle_exclude(fund, exclusion, env, steps):
            out = env.out[fund.name] = _EMPTY.copy()
            out["excluded"] = exclusion.node
            return out

    base = settle_base(fund, env, steps)
    cost_acc = fund.cost_acc
    a0 = env.acc[cost_acc] if cost_acc else ZERO

    taken = settle_deductible(fund, env, base, steps) if fund.deductible is not None else ZERO
    start = a0 + taken
    end = full_end = a0 + base
    cost_caps = fund.cost_caps
    if cost_caps:
        for cap in cost_caps:  # each cost cap ends the payable part at its point
            end = settle_cost_cap(fund, cap, env, a0, start, end, full_end, steps)
        above_ceiling = full_end - end
    else:
        above_ceiling = ZERO
    payable = end - start

    # (cost, rate) in axis order: what the fund pays on, and at which rate (for the payment cap)
    pay_kind = fund.pay_kind
    if pay_kind is ops.Rate:  # one piece: its payment is part × rate (an Exact rational mixes in)
        pieces = settle_rate(fund, env, payable, settle_adjust(fund, env, steps) if fund.adjusts else (), steps)
        part, rate = pieces[0]
        raw = ZERO + part * rate
    else:
        if pay_kind is ops.Flat:
            pieces = settle_flat(fund, env, payable, steps)
        else:
            pieces = settle_bands(fund, env, a0, start, end, settle_adjust(fund, env, steps), steps)
        raw = ZERO
        for part, rate in pieces:  # exact (an Exact rational mixes in)
            raw = raw + part * rate

    paid, room, above_cap = raw, None, ZERO
    if fund.payment_caps:
        paid, room, above_cap = settle_payment_cap(fund, env, pieces, raw, rounding, steps)
    rounded = settle_rounding(fund, rounding, paid, room, base, steps)
    if env.quotas is not None and env.quotas.pending is not None:  # 'cap … per holder': drawn on the quotas
        draw_quota(fund, env, rounded, steps)
    settle_accumulate(fund, env, base, taken, rounded, steps)
    if steps is not None:
        steps.append((PaidStep, fund.name, fund.fund, (), "", rounded))
    out = env.out[fund.name] = {"applied": True, "paid": rounded, "base": base, "deductible": taken,
                                "payable": payable, "above_cap": above_cap, "above_ceiling": above_ceiling,
                                "remaining": base - rounded, "excluded": None}
    return out


def settle_applies(fund: CompiledFund, env: Env, steps: list | None) -> bool:
    applies = fund.applies.fn(env)
    if steps is not None:
        steps.append((AppliesStep, fund.name, fund.applies.node, env.take(), "", applies))
    return applies


def settle_exclude(fund: CompiledFund | None, exclusion, env: Env, steps: list | None) -> bool:
    """A fund's exclusion (``fund`` given) or a rulebook-wide one (``fund`` None)."""
    if exclusion.fn(env):
        if steps is not None:
            steps.append((ExcludeStep, fund.name if fund else None, exclusion.node, env.take(), "", fund is None))
        return True
    if env.reads:  # what it read is no step's: dropped
        env.reads = []
    return False


def settle_base(fund: CompiledFund, env: Env, steps: list | None):
    base = fund.base.fn(env)
    if base < 0:
        raise MedrulesError(error("evaluate", f"fund '{fund.name}' would apply to a negative amount ({base} yuan)",
                                  fund.base.node.span))
    if steps is not None:
        steps.append((BaseStep, fund.name, fund.base.node, env.take(), "", base))
    return base


def settle_deductible(fund: CompiledFund, env: Env, base, steps: list | None):
    ded = fund.deductible
    amount_fn, when_fn = ded.fns
    node = ded.node
    applies = when_fn(env) if when_fn is not None else True
    amount = amount_fn(env)
    used = env.acc[fund.deductible_acc] if ded.op.per == "year" else ZERO
    remaining = max(ZERO, amount - used)
    taken = min(base, remaining) if applies else ZERO
    if steps is not None:
        steps.append((DeductibleStep, fund.name, node, env.take(), "", amount, ded.op.per, applies, base, used,
                      remaining, taken))
    return taken


def settle_cost_cap(fund: CompiledFund, cap, env: Env, a0, start, end, full_end, steps: list | None):
    """Where the payable part ends once this cost cap applies."""
    amount = cap.fn(env)
    per_claim = cap.op.per == "claim"
    point = a0 + amount if per_claim else amount
    if steps is not None:
        above = max(ZERO, full_end - max(start, point))
        steps.append((CostCapStep, fund.name, cap.node, env.take(), "", "cost", amount, cap.op.per, a0, start, full_end,
                      point, above))
    return max(start, min(end, point))


def settle_adjust(fund: CompiledFund, env: Env, steps: list | None) -> list:
    """Evaluate the fund's adjustments once; return those that apply, as (kind, amount), for :func:`adjusted`."""
    active = []
    for a in fund.adjusts:
        amount_fn, when_fn = a.fns
        on = when_fn(env)
        amount = amount_fn(env)
        if on:
            active.append((a.op.kind, amount))
        if steps is not None:
            steps.append((AdjustStep, fund.name, a.node, env.take(), "", on, a.op.kind, amount))
    return active


def adjusted(fund: CompiledFund, rate, active: list, node):
    """A rate with the fund's active adjustments applied, in order (points add, relpct multiplies)."""
    for kind, amount in active:
        rate = rate + amount if kind == "points" else rate * (ONE + amount)
    if not ZERO <= rate <= ONE:
        raise MedrulesError(error("evaluate", f"fund '{fund.name}' would pay at {rate * 100}%, "
                                  "outside 0%–100%", node.span,
                                  "check the adjustments that apply to this rate"))
    return rate


def settle_rate(fund: CompiledFund, env: Env, payable, active: list, steps: list | None) -> list:
    written = fund.pay.fn(env)
    rate = adjusted(fund, written, active, fund.pay.node)
    if steps is not None:
        steps.append((RateStep, fund.name, fund.pay.node, env.take(), "", payable, written, rate, payable * rate))
    return [(payable, rate)]


def settle_bands(fund: CompiledFund, env: Env, a0, start, end, active: list, steps: list | None) -> list:
    """The part of the claim's payable segment in each band, at that band's (adjusted) rate."""
    bands = fund.plan.pay
    shift = ZERO if bands.on else a0  # bands without 'on' start at the claim's own zero
    pieces = []
    for band, rate_fn in zip(bands.bands, fund.pay.fns):
        lo = band.lower + shift
        hi = None if band.upper is None else band.upper + shift
        top = end if hi is None else min(end, hi)
        part = max(ZERO, top - max(start, lo))
        if part == 0:
            continue
        written = rate_fn(env)
        rate = adjusted(fund, written, active, band.node)
        pieces.append((part, rate))
        if steps is not None:
            # from/to: positions on the bands' own axis (the year's total, or this claim's amount from zero)
            steps.append((BandStep, fund.name, band.node, env.take(), "", band.lower, band.upper, bands.on is not None,
                          max(start, lo) - shift, top - shift, part, written, rate, part * rate))
    return pieces


def settle_flat(fund: CompiledFund, env: Env, payable, steps: list | None) -> list:
    """A flat amount per claim (定额包干), never more than the cost it is paid on."""
    amount = fund.pay.fn(env)
    paid = min(amount, payable)
    if steps is not None:
        steps.append((FlatStep, fund.name, fund.pay.node, env.take(), "", amount, payable, paid))
    return [(paid, ONE)]


def settle_payment_cap(fund: CompiledFund, env: Env, pieces: list, raw, rounding: ops.Rounding,
                       steps: list | None):
    """The fund pays up to the tightest of its payment caps. Returns (payment, room, above_cap)."""
    rooms = []
    for cap in fund.payment_caps:
        if cap.op.per == "holder":  # a quota of each holder the claim names (定额包干)
            amount, before, own_room = quota_room(fund, cap, env)
            rooms.append((cap.node, amount, before, own_room, env.take()))
            continue
        amount = cap.fn(env)
        before = env.acc[fund.payments_acc] if cap.op.per == "year" else ZERO
        rooms.append((cap.node, amount, before, max(ZERO, amount - before), env.take()))
    room = rooms[0][3] if len(rooms) == 1 else min(r[3] for r in rooms)
    paid, above, split = raw, ZERO, None
    if raw > room:
        paid = room
        exact, split = cost_beyond(pieces, room)
        above = round_to(exact, rounding.quantum, rounding.mode)
    if steps is not None:
        binding = next(r for r in rooms if r[3] == room)
        for node, cap, before, own_room, reads in rooms:
            limited = raw > room and node is binding[0]
            steps.append((PaymentCapStep, fund.name, node, reads, "", "payments", cap, node.per or "year", before,
                          own_room, raw, limited, above if limited else ZERO, split if limited else None))
    return paid, room, above


def settle_rounding(fund: CompiledFund, rounding: ops.Rounding, paid, room, base, steps: list | None) -> Decimal:
    """The declared rounding of the payment. Where rounding would carry it above what the fund may pay
    (a payment cap's room, or the base), it pays the largest amount on the grid within that limit."""
    rounded = round_to(paid, rounding.quantum, rounding.mode)
    limit = base if room is None else min(room, base)
    within = None
    if rounded > limit:
        rounded = within = round_to(limit, rounding.quantum, "down")
    if steps is not None:
        steps.append((RoundingStep, fund.name, rounding.node, (), "", paid, rounded,
                      limit if within is not None else None))
    if not ZERO <= rounded <= base or (room is not None and rounded > room):
        limit_words = f"its payment cap's room of {room} yuan" if room is not None and rounded > room else \
            f"the {base} yuan it applies to"
        raise MedrulesError(error("evaluate", f"fund '{fund.name}' would pay {rounded} yuan, outside 0 to "
                                  f"{limit_words}", fund.fund.span,
                                  "a flat amount, deductible or cap that is negative makes a payment negative"))
    return rounded


def settle_accumulate(fund: CompiledFund, env: Env, base, taken, paid, steps: list | None) -> None:
    acc = env.acc
    for name, role in fund.accumulates:  # cost, deductible, payments
        delta = base if role == "cost" else taken if role == "deductible" else paid
        before = acc[name]
        acc[name] = after = before + delta
        if steps is not None:
            steps.append((AccumulateStep, fund.name, None, (), "", name, role, before, delta, after))


_EMPTY = {"applied": False, "paid": ZERO, "base": ZERO, "deductible": ZERO, "payable": ZERO, "above_cap": ZERO,
          "above_ceiling": ZERO, "remaining": ZERO, "excluded": None}  # FundResult's field order
NOT_APPLIED = _EMPTY.copy()  # shared by every fund that does not apply: never changed


def empty_outputs() -> dict:
    """A fund's outputs on a claim it does not pay: all zero."""
    return _EMPTY.copy()


def cost_beyond(pieces: list, room) -> tuple:
    """The cost, walking the pieces in order, beyond the point where payments reach ``room`` (exact:
    room ÷ rate is a rational, rounded only by the caller).

    Also returns how the piece in which the room ran out was split (for the explanation):
    the room left when that piece began, its rate, its cost, the cost the room covered
    (room / rate) and the cost of later pieces, all of which lies above the cap.
    """
    beyond, split = ZERO, None
    for part, rate in pieces:
        if room <= 0:
            beyond += part
            if split is not None:
                split["later"] += part
            continue
        amount = part * rate
        if amount <= room:
            room -= amount
            continue
        covered = divide(room, rate)
        split = {"room": room, "rate": rate, "part": part, "covered": covered, "later": ZERO}
        beyond += part - covered
        room = ZERO
    return beyond, split
