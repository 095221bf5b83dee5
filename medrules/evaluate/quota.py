"""Quotas kept per holder (定额包干): ``cap payments at AMOUNT per holder of claim.quota_from, …``.

Chongqing 2017: "定额包干资金可以用于参保人员本人、亲属或指定人门诊就医购药或住院自付费用,在定额包干额度内可全部使用
并且报销比例100%". A quota belongs to an insured person — the *holder* — not to the patient: what a fund
pays under such a cap is drawn on the quotas of the holders the claim names, in the order it names them
(the facts named by ``of``; those not given are skipped; when none is given, the patient's own). Each
holder's quota is ``AMOUNT`` evaluated on the holder's facts (``holder.FIELD`` reads them), less what was
drawn on it in the benefit year, by anyone.

A :class:`QuotaBook` keeps the holders' facts and what was drawn on each quota in each benefit year; it is
shared by the members of a household settled together (:mod:`medrules.household`), so the claims of all of
them draw on the same balances, in date order. A member settled alone has a book of their own: the claim may
name only them.

The fund kernel (:mod:`medrules.evaluate.fund`) calls :func:`quota_room` for the cap (the room is the sum of
the named holders' balances) and :func:`draw_quota` once the payment is rounded (the payment is drawn on the
holders in order, each up to its balance).
"""
from __future__ import annotations

import functools
from decimal import Decimal

import attrs

from medrules.diagnostics import MedrulesError, error
from medrules.evaluate.runtime import benefit_year, year_label
from medrules.source import Span

ZERO = Decimal(0)
OWN, HOUSEHOLD, DESIGNATED = "own", "household", "designated"


@functools.lru_cache(maxsize=256)
def keeps_quotas(plan) -> bool:
    """Whether some fund of the plan has a cap ``per holder`` (the plan is immutable: asked once)."""
    return any(cap.per == "holder" for layer in plan.layers for f in layer.funds for cap in f.payment_caps)


def holder_caps(plan) -> list:
    """The ``per holder`` caps of the plan (ops.PaymentCap), with the fund that states each."""
    return [(f, cap) for layer in plan.layers for f in layer.funds for cap in f.payment_caps if cap.per == "holder"]


@attrs.frozen
class Draw:
    """What one claim drew on one holder's quota."""

    fund: str
    claim: str
    patient: str
    holder: str
    year: str
    amount: Decimal
    left: Decimal  # the holder's balance after it
    relation: str  # own | household | designated


@attrs.define
class QuotaBook:
    """The holders' facts (id → member facts), who belongs to the household (the others were designated by a
    member of it), and what was drawn on each quota in each benefit year."""

    holders: dict  # holder id -> member facts (a dict of values)
    household: frozenset  # the ids of the household's members (the others are designated persons), or a dict
    dated_by: str
    year_starts: tuple
    used: dict = attrs.Factory(dict)  # (cap node id, holder, year label) -> drawn so far
    quotas: dict = attrs.Factory(dict)  # (cap node id, holder, year label) -> the quota (for the household view)
    draws: list = attrs.Factory(list)  # Draw, in the order drawn
    opened: dict = attrs.Factory(dict)  # (cap node id, holder, year label) -> used before the run (an opening value)
    pending: tuple | None = None  # the cap being settled: (its node, rows of (holder, quota, used, room, key))

    @classmethod
    def of_one(cls, program, facts) -> "QuotaBook":
        """A member settled alone: their own quota only (a claim naming another holder is an error)."""
        check_holders(program, {facts.member_id: facts}, alone=True)
        book = cls({facts.member_id: facts.member}, frozenset((facts.member_id,)), program.plan.dated_by,
                   program.plan.top.year_starts)
        book.open(program, facts)
        return book

    @classmethod
    def of(cls, program, members: dict, household: frozenset) -> "QuotaBook":
        """Every person of a household file (id → Facts), ``household``: the ids of its members; each person's
        opening value of the fund's payments is drawn on their own quota before, as for a member alone."""
        check_holders(program, members)
        book = cls({i: f.member for i, f in members.items()}, household, program.plan.dated_by,
                   program.plan.top.year_starts)
        for facts in members.values():
            book.open(program, facts)
        return book

    def open(self, program, facts) -> None:
        """An opening value of a quota fund's payments accumulator (what was paid for the person's care this
        year before their first claim): drawn on their own quota, in the benefit year of their earliest claim."""
        if facts.opening and facts.claims:
            year = self.year_of(min(facts.claims, key=lambda c: c.values[self.dated_by]).values)
            for layer in program.plan.layers:
                for f in layer.funds:
                    acc = f.payments_acc and (f"{layer.prefix}.{f.payments_acc}" if layer.prefix else f.payments_acc)
                    for cap in f.payment_caps:
                        if cap.per == "holder" and acc in facts.opening:
                            key = (id(cap.node), facts.member_id, year)
                            self.used[key] = self.opened[key] = facts.opening[acc]

    def year_of(self, claim: dict) -> str:
        return year_label(*benefit_year(claim[self.dated_by], self.year_starts))

    def relation(self, patient: str, holder: str) -> str:
        if patient == holder:
            return OWN
        if isinstance(self.household, dict):  # a group of households (person -> household id, batch/hexplain.py)
            return HOUSEHOLD if self.household.get(patient, patient) == self.household.get(holder) else DESIGNATED
        return HOUSEHOLD if patient in self.household else DESIGNATED

    def balances(self) -> list[tuple[str, str, str, Decimal, Decimal, Decimal]]:
        """(year, holder, cap node id, quota, drawn, left) for every quota drawn on or looked at."""
        out = []
        for key, quota in self.quotas.items():
            cap, holder, year = key
            drawn = self.used.get(key, ZERO)
            out.append((year, holder, cap, quota, drawn, quota - drawn))
        return out


def holder_ids(cap, claim: dict, member: dict) -> list[str]:
    """The holders a claim names for this cap, in order (those not given skipped; none: the patient)."""
    ids = []
    for fact in cap.holders:
        value = (claim if fact.record == "claim" else member).get(fact.field)
        if value is not None and value != "" and value not in ids:
            ids.append(value)
    return ids or [member.get("id")]


def check_holders(program, members: dict, alone: bool = False) -> None:
    """Every holder a claim names is a person of the facts file: else a located error at the fact."""
    caps = holder_caps(program.plan)
    if not caps:
        return
    if "id" not in program.checked.records.get("member", {}):
        raise MedrulesError(error("quota", "a quota kept per holder needs the member's id to name holders",
                                  caps[0][1].node.span, "declare 'id: text' in 'facts member { … }'"))
    problems = []
    for facts in members.values():
        for claim in facts.claims:
            for _, cap in caps:
                for fact in cap.holders:
                    record = claim.values if fact.record == "claim" else facts.member
                    value = record.get(fact.field)
                    if value is None or value == "" or value in members:
                        continue
                    span = claim.spans.get(fact.field, claim.span) if fact.record == "claim" else Span(facts.file, 1, 1)
                    problems.append(error(
                        "quota", f"claim '{claim.id}' is to be paid from the quota of '{value}' ({fact.node.text}), "
                        f"who is not {'the member of this facts file' if alone else 'a person of this household file'}",
                        span, "settle the claim with the holder's household: a household file lists its 'members' "
                        "(relatives) and the 'designated' persons they let use their quota" if alone else
                        "list the holder in 'members' (a relative) or the patient in 'designated'; ids: "
                        + ", ".join(sorted(members))[:200]))
    if problems:
        raise MedrulesError(problems[:50])


def quota_room(fund, cap, env):
    """The cap ``per holder``: each named holder's quota (AMOUNT on the holder's facts), less what was drawn on
    it this year; returns (Σ quotas, Σ used, Σ room, reads). The rows are kept for :func:`draw_quota`."""
    book = env.quotas
    claim, patient = env.claim, env.member
    year = book.year_of(claim)
    rows, total, used_total, room_total, reads = [], ZERO, ZERO, ZERO, []
    for holder in holder_ids(cap.op, claim, patient):
        facts = book.holders.get(holder)
        if facts is None:
            raise MedrulesError(error("quota", f"claim '{claim.get('id', '?')}' is to be paid from the quota of "
                                      f"'{holder}', who is not a person of these facts", cap.node.span,
                                      "settle it with the holder's household file"))
        env.member = facts  # 'holder.FIELD' reads the holder's facts
        try:
            quota = cap.fn(env)
        finally:
            env.member = patient
        taken = env.take()
        key = (id(cap.node), holder, year)
        book.quotas.setdefault(key, quota)
        used = book.used.get(key, ZERO)
        room = max(ZERO, quota - used)
        rows.append((holder, quota, used, room, key))
        total, used_total, room_total = total + quota, used_total + used, room_total + room
        reads += taken
    book.pending = (cap.node, rows)
    if env.reads is not None:
        env.reads += reads
    return total, used_total, room_total


def draw_quota(fund, env, paid: Decimal, steps: list | None) -> None:
    """The rounded payment drawn on the named holders' quotas, in order, each up to its balance."""
    book = env.quotas
    (node, rows), book.pending = book.pending or (fund.fund, []), None
    claim, patient = env.claim, env.member
    patient_id = patient.get("id")
    year = book.year_of(claim)
    left_to_draw, draws = paid, []
    for holder, quota, used, room, key in rows:
        drawn = min(room, left_to_draw)
        left_to_draw -= drawn
        book.used[key] = used + drawn
        relation = book.relation(patient_id, holder)
        draws.append({"holder": holder, "quota": quota, "used": used, "drawn": drawn, "left": quota - used - drawn,
                      "relation": relation})
        if drawn:
            book.draws.append(Draw(fund.name, claim.get("id", ""), patient_id, holder, year, drawn,
                                   quota - used - drawn, relation))
    if left_to_draw > 0:  # the kernel keeps the payment within the room: never reached
        raise MedrulesError(error("evaluate", f"fund '{fund.name}' would pay {paid} yuan, more than the quotas "
                                  "it draws on hold", fund.fund.span))
    if steps is not None:
        steps.append((_quota_step(), fund.name, node, (), "", patient_id, paid, tuple(draws)))


def _quota_step():
    from medrules.evaluate.trace import QuotaStep
    return QuotaStep
