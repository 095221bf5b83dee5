"""The fund kernel: how one fund settles one claim.

On the fund's cost axis (its year-to-date cost accumulator, or the claim's own
amount from zero when it keeps none) the claim occupies ``[a0, a0 + base]``:

1. ``applies``     — if the condition is false the fund pays nothing;
2. ``base``        — the amount the fund applies to;
3. ``deductible``  — the first part of the claim's segment stays with the member;
4. ``cap`` (cost)  — the fund pays only on the axis up to its cost cap;
5. ``band``/``rate`` with ``adjust`` — the payable part times each rate;
6. ``cap`` (payments) — payments stop where the fund's payment cap is reached; the
   cost beyond that point is the fund's ``above_cap`` output, for a later layer;
7. ``rounding``    — the declared rounding, once per payment;
8. ``accumulate``  — cost, deductible and payments are added to the accumulators.

Steps are recorded only when ``steps`` is a list; the arithmetic is the same either way.
"""
from __future__ import annotations

from decimal import Decimal

from medrules.diagnostics import MedrulesError, error
from medrules.evaluate.compile import Env, FundPlan
from medrules.evaluate.runtime import ZERO, Rounder
from medrules.evaluate.trace import Step

ONE = Decimal(1)


def settle_fund(plan: FundPlan, env: Env, rounder: Rounder, steps: list | None) -> dict[str, Decimal]:
    name = plan.fund.name
    out = empty_outputs()
    env.out[name] = out
    if plan.applies is not None:
        applies = plan.applies(env)
        if steps is not None:
            steps.append(Step("applies", name, plan.applies_node, {"result": applies}, env.take()))
        if not applies:
            return out
    for exclusion in plan.exclusions:
        if exclusion(env):
            out["excluded"] = exclusion.node
            if steps is not None:
                steps.append(Step("exclude", name, exclusion.node, {"all_funds": False}, env.take()))
            return out
        env.take()
    out["applied"] = True

    base = plan.base(env)
    if base < 0:
        raise MedrulesError(error("evaluate", f"fund '{name}' would apply to a negative amount ({base} yuan)",
                                  plan.base_node.span))
    out["base"] = base
    if steps is not None:
        steps.append(Step("base", name, plan.base_node, {"amount": base}, env.take()))
    a0 = env.acc[plan.cost_acc] if plan.cost_acc else ZERO

    taken = deductible(plan, env, base, steps)
    out["deductible"] = taken
    start, end = a0 + taken, a0 + base

    full_end = end
    for node, amount in plan.cost_caps:  # each cost cap ends the payable part at its point
        cap = amount(env)
        point = cap if node.per is None else a0 + cap
        above = max(ZERO, full_end - max(start, point))
        if steps is not None:
            steps.append(Step("cap", name, node, {
                "what": "cost", "cap": cap, "per": node.per or "year", "counted_before": a0,
                "from": start, "to": full_end, "point": point, "above": above}, env.take()))
        end = max(start, min(end, point))
    out["above_ceiling"] = full_end - end if plan.cost_caps else ZERO
    payable = end - start
    out["payable"] = payable

    # (cost, rate) in axis order: what the fund pays on, and at which rate (for the payment cap)
    if plan.flat is not None:
        pieces = flat_pieces(plan, env, payable, steps)
    elif plan.bands:
        pieces = band_pieces(plan, env, a0, start, end, steps)
    else:
        adjust = adjustments(plan, env, steps)
        written = plan.rate(env)
        rate = adjust(written, plan.rate_node)
        pieces = [(payable, rate)]
        if steps is not None:
            steps.append(Step("rate", name, plan.rate_node, {
                "part": payable, "written_rate": written, "rate": rate, "amount": payable * rate}, env.take()))
    raw = sum((part * rate for part, rate in pieces), ZERO)

    paid = raw
    if plan.payment_caps:  # the fund pays up to the tightest of its payment caps
        rooms = []
        for node, amount in plan.payment_caps:
            cap = amount(env)
            before = env.acc[plan.payments_acc] if node.per is None else ZERO
            rooms.append((node, cap, before, max(ZERO, cap - before), env.take()))
        room = min(r[3] for r in rooms)
        above, split = ZERO, None
        if raw > room:
            paid = room
            exact, split = cost_beyond(pieces, room)
            above = rounder(exact)
        out["above_cap"] = above
        if steps is not None:
            binding = next(r for r in rooms if r[3] == room)
            for node, cap, before, own_room, reads in rooms:
                limited = raw > room and node is binding[0]
                steps.append(Step("cap", name, node, {
                    "what": "payments", "cap": cap, "per": node.per or "year", "paid_before": before,
                    "room": own_room, "raw": raw, "limited": limited, "above": above if limited else ZERO,
                    "split": split if limited else None}, reads))

    rounded = rounder(paid)
    if steps is not None:
        steps.append(Step("rounding", name, rounder.node, {"raw": paid, "rounded": rounded}))
    out["paid"] = rounded
    out["remaining"] = base - rounded

    for role, acc, delta in (("cost", plan.cost_acc, base), ("deductible", plan.deductible_acc, taken),
                             ("payments", plan.payments_acc, rounded)):
        if acc is not None:
            before = env.acc[acc]
            env.acc[acc] = before + delta
            if steps is not None:
                steps.append(Step("accumulate", name, None, {
                    "accumulator": acc, "role": role, "before": before, "delta": delta, "after": before + delta}))
    if steps is not None:
        steps.append(Step("paid", name, plan.fund, {"amount": rounded}))
    return out


def flat_pieces(plan: FundPlan, env: Env, payable: Decimal, steps: list | None) -> list:
    """A flat amount per claim (定额包干), never more than the cost it is paid on."""
    amount = plan.flat(env)
    paid = min(amount, payable)
    if steps is not None:
        steps.append(Step("flat", plan.fund.name, plan.flat.node, {"amount": amount, "part": payable, "paid": paid},
                          env.take()))
    return [(paid, ONE)]


def band_pieces(plan: FundPlan, env: Env, a0: Decimal, start: Decimal, end: Decimal, steps: list | None) -> list:
    """The part of the claim's payable segment in each band, at that band's (adjusted) rate."""
    adjust = adjustments(plan, env, steps)
    shift = ZERO if plan.bands_node.on else a0  # bands without 'on' start at the claim's own zero
    pieces = []
    for band in plan.bands:
        lo = band.lower + shift
        hi = None if band.upper is None else band.upper + shift
        part = max(ZERO, (end if hi is None else min(end, hi)) - max(start, lo))
        if part == 0:
            continue
        written = band.rate(env)
        rate = adjust(written, band.node)
        pieces.append((part, rate))
        if steps is not None:
            steps.append(Step("band", plan.fund.name, band.node, {
                "lower": band.lower, "upper": band.upper, "cumulative": plan.bands_node.on is not None,
                # positions on the bands' own axis: the year's total, or this claim's amount from zero
                "from": max(start, lo) - shift, "to": (end if hi is None else min(end, hi)) - shift, "part": part,
                "written_rate": written, "rate": rate, "amount": part * rate}, env.take()))
    return pieces


def empty_outputs() -> dict:
    """A fund's outputs on a claim it does not pay: all zero."""
    return {"paid": ZERO, "base": ZERO, "deductible": ZERO, "payable": ZERO, "above_cap": ZERO,
            "above_ceiling": ZERO, "remaining": ZERO, "applied": False, "excluded": None}


def deductible(plan: FundPlan, env: Env, base: Decimal, steps: list | None) -> Decimal:
    node = plan.deductible
    if node is None:
        return ZERO
    applies = plan.deductible_when(env) if plan.deductible_when is not None else True
    amount = plan.deductible_amount(env)
    used = env.acc[plan.deductible_acc] if node.per == "year" else ZERO
    remaining = max(ZERO, amount - used)
    taken = min(base, remaining) if applies else ZERO
    if steps is not None:
        steps.append(Step("deductible", plan.fund.name, node, {
            "amount": amount, "per": node.per, "applies": applies, "base": base, "used_before": used,
            "remaining": remaining, "taken": taken}, env.take()))
    return taken


def adjustments(plan: FundPlan, env: Env, steps: list | None):
    """Evaluate the fund's adjustments once; return a function that applies them to a rate."""
    active = []
    for a in plan.adjusts:
        on = a.when(env)
        amount = a.amount(env)
        if on:
            active.append((a.kind, amount))
        if steps is not None:
            steps.append(Step("adjust", plan.fund.name, a.node, {
                "applied": on, "kind": a.kind, "amount": amount}, env.take()))

    def apply(rate: Decimal, node) -> Decimal:
        for kind, amount in active:
            rate = rate + amount if kind == "points" else rate * (ONE + amount)
        if not ZERO <= rate <= ONE:
            raise MedrulesError(error("evaluate", f"fund '{plan.fund.name}' would pay at {rate * 100}%, "
                                      "outside 0%–100%", node.span,
                                      "check the adjustments that apply to this rate"))
        return rate

    return apply


def cost_beyond(pieces: list[tuple[Decimal, Decimal]], room: Decimal) -> tuple[Decimal, dict | None]:
    """The cost, walking the pieces in order, beyond the point where payments reach ``room``.

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
        covered = room / rate
        split = {"room": room, "rate": rate, "part": part, "covered": covered, "later": ZERO}
        beyond += part - covered
        room = ZERO
    return beyond, split
