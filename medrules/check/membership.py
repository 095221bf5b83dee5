"""Membership over time: the scheme each claim is settled under, and what a third party owes back.

* ``insured NAME label under "FILE.mr" when COND because "…" cites …``: the conditions are yes/no,
  read member and claim facts, histories (``any(period, …)``), parameters and enumeration members; the
  names are distinct; a rulebook of memberships routes claims and settles none itself (no funds, no
  total), and its routes name ``.mr`` files (loaded beside it, :mod:`medrules.membership`);
  ``under highest of "A.mr", "B.mr"`` names two or more distinct files (待遇就高不就低);
* ``recover when COND because "…" cites …``: a yes/no condition on the claim, in a rulebook whose funds
  pay (what they paid is what is recoverable);
* each cites a source or is ``assumed``.

One name per provision kind: grammar rule ``insured`` / ``recover``, node :class:`~medrules.nodes.Insured`
/ :class:`~medrules.nodes.Recover`, ``check_insured`` / ``check_recover`` here, plan operation ``Insured`` /
``Recover``, scalar ``settle_insured`` (:mod:`medrules.membership`) / ``settle_recover`` (:mod:`medrules.evaluate`),
trace step ``insured`` / ``recover``, explanation ``step_insured`` / ``step_recover``.
"""
from __future__ import annotations

from medrules import nodes as n
from medrules import units
from medrules.check.citations import _cites, check_citation
from medrules.check.context import Context
from medrules.check.types import _refs, expect

READABLE = ("fact", "param", "enum_member", "history")


def check(ctx: Context) -> None:
    rb = ctx.rulebook
    seen: dict[str, n.Insured] = {}
    for m in rb.memberships:
        if m.name in seen:
            ctx.error("duplicate", f"'insured {m.name}' is defined twice", m.span,
                      "give each scheme its own name", related=(("first defined here", seen[m.name].span),))
        seen.setdefault(m.name, m)
        check_insured(ctx, m)
    if rb.memberships:
        for fund in rb.funds:
            ctx.error("membership", f"a rulebook of memberships routes claims to the schemes' rulebooks; fund "
                      f"'{fund.name}' belongs in one of them", fund.span,
                      "move the fund into the scheme's rulebook and name that file in 'insured … under'")
        if rb.total is not None:
            ctx.error("membership", "a rulebook of memberships does not settle claims itself: each scheme's "
                      "rulebook says what a claim's total cost is", rb.total.span, "remove 'total cost is …'")
    for r in rb.recoveries:
        check_recover(ctx, r)
    if rb.recoveries and not rb.funds:
        ctx.error("recover", "'recover' needs funds that pay: what they paid is what is recoverable",
                  rb.recoveries[0].span, "state it in the rulebook of the scheme that pays first")


def check_insured(ctx: Context, m: n.Insured) -> None:
    expect(ctx, m.when, units.BOOL, "the condition of 'insured'", fund=None)
    _reads_facts_only(ctx, m.when, "the condition of 'insured'")
    for path, span in zip(m.paths, m.path_spans):
        if not path.endswith(".mr"):
            ctx.error("membership", f"'{path}' is not a rulebook file", span,
                      "name the scheme's rulebook by its file, relative to this one, e.g. \"employee-2012.mr\"")
    if m.highest:
        for i, path in enumerate(m.paths):
            if path in m.paths[:i]:
                ctx.error("membership", f"'{path}' is named twice", m.path_spans[i],
                          "'highest of' compares two or more different rulebooks")
    _cited(ctx, m.citation, m.span)


def check_recover(ctx: Context, r: n.Recover) -> None:
    expect(ctx, r.when, units.BOOL, "the condition of 'recover'", fund=None)
    _reads_facts_only(ctx, r.when, "the condition of 'recover'")
    _cited(ctx, r.citation, r.span)


def _reads_facts_only(ctx: Context, e: n.Expr, what: str) -> None:
    for ref in _refs(e):
        res = ctx.resolved.get(ref)
        if res is not None and res.kind not in READABLE:
            ctx.error("membership", f"{what} reads facts, parameters and enumeration members, not '{ref.text}'",
                      ref.span, "a fund's outputs and accumulators belong to the scheme's rulebook")


def _cited(ctx: Context, citation: n.Citation | None, span) -> None:
    if not _cites(citation):
        ctx.error("citation", "this provision does not cite its source", span,
                  "add 'cites SOURCE at \"article\" \"quoted text\"', or 'assumed \"why\"'")
    else:
        check_citation(ctx, citation, span, "this provision")
