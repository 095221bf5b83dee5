"""Membership routing on the vector backend: each claim settled under the scheme of its date, in columns.

A membership rulebook (``insured NAME under "FILE.mr" when …``, docs/language.md §22) is settled exactly as
:func:`medrules.membership.settle_membership` settles it, a whole batch at once:

1. the ``when`` conditions are evaluated on all claims (the router's member and claim facts and histories),
   in the order written: each claim takes the first route that holds. A claim insured in no scheme, or a
   condition that cannot be read, holds its member back (the scalar backend refuses the member's file);
2. the claims of each rulebook are settled on its vector program, as one batch of their own: a rulebook
   keeps its own year-to-date totals over all the claims settled under it, whichever route sent them (the
   scalar backend settles them as one facts file), each target reads only the facts it declares (validated for the
   claims routed to it: a member's fact a scheme needs is needed only when a claim goes to that scheme), and
   a claim outside the target's effective period holds its member back, as ``medrules run`` refuses it;
3. ``under highest of "A.mr", "B.mr"``: the route's claims are settled under each rulebook, and each claim
   keeps the settlement whose funds pay more in all (ties: the first named), its amounts in
   ``compared.RULEBOOK`` columns.

The results say which route (``scheme``) and which rulebook (``settled_by``) settled each claim; a fund or an
accumulator of another scheme is empty (null) on that claim's row.
"""
from __future__ import annotations

import attrs
import numpy as np
import pyarrow as pa

from medrules.batch.columns import Table
from medrules.batch.vector import (Compiler, Gathered, Result, V, VectorProgram, Wave, benefit_year_start,
                                   compile_vector)


@attrs.frozen
class VRoute:
    name: str  # the 'insured' statement's name
    when: V
    targets: tuple[VectorProgram, ...]
    highest: bool


@attrs.frozen
class VectorMembership:
    """A membership rulebook compiled for the vector backend: its routes, each with its targets' programs.
    It stands where a :class:`~medrules.batch.vector.VectorProgram` stands in a batch (one version)."""

    program: object  # the router's Program
    routes: tuple[VRoute, ...]
    reads: frozenset
    membership = True

    @property
    def plan(self):
        return self.program.plan

    @property
    def dated_by(self) -> str:
        return self.program.plan.dated_by

    @property
    def year_starts(self) -> tuple[int, int]:
        return self.program.plan.top.year_starts

    @property
    def targets(self) -> tuple[VectorProgram, ...]:
        """Every rulebook a claim may be settled under, once each, in the order named."""
        seen: dict[int, VectorProgram] = {}
        for r in self.routes:
            for t in r.targets:
                seen.setdefault(id(t), t)
        return tuple(seen.values())

    @property
    def money_scale(self) -> int:
        return max(t.money_scale for t in self.targets)

    @property
    def layers(self):  # (the last layer's 'recover' clauses: a column when some target has them)
        return (_AnyRecoveries(any(t.layers[-1].recoveries for t in self.targets)),)

    def fund_names(self) -> list[str]:
        return _union(t.fund_names() for t in self.targets)

    def accumulator_names(self) -> list[str]:
        return _union(t.accumulator_names() for t in self.targets)

    def compared(self) -> list[str]:
        """The rulebooks compared under 'highest of' (each gets a ``compared.ID`` column)."""
        return _union([t.program.checked.id for t in r.targets] for r in self.routes if r.highest)

    def describe(self) -> str:
        out = [f"membership {self.program.checked.id}: each claim under the first scheme whose condition holds"]
        for r in self.routes:
            names = ", ".join(t.program.checked.id for t in r.targets)
            out.append(f"route {r.name}: " + (f"the better of {names}" if r.highest else names))
        for t in self.targets:
            out.append(t.describe())
        return "\n".join(out)


@attrs.frozen
class _AnyRecoveries:
    recoveries: tuple


def _union(lists) -> list[str]:
    out: list[str] = []
    for names in lists:
        out += [x for x in names if x not in out]
    return out


def is_membership(vp) -> bool:
    return getattr(vp, "membership", False)


def compile_membership(program, read=None, readings=None) -> VectorMembership:
    """The router's conditions compiled on its facts, and each scheme's rulebook on the vector backend (a
    construct one of them cannot settle is refused here, at load, with its position)."""
    from medrules.membership import load_membership
    from medrules.source import SourceFile
    ms = load_membership(program, read=read or SourceFile.read, readings=readings)
    reads: set = set()
    comp = Compiler(program.checked, 2, reads)
    compiled: dict[int, VectorProgram] = {}
    routes = []
    for r in ms.routes:
        targets = tuple(compiled.setdefault(id(p), compile_vector(p)) for p in r.programs)
        routes.append(VRoute(r.op.name, comp.expr(r.op.when), targets, bool(r.op.highest)))
    return VectorMembership(program, tuple(routes), frozenset(reads))


# ---------------------------------------------------------------- settling a batch's claims
@attrs.frozen
class Routed(Result):
    """A :class:`~medrules.batch.vector.Result` of a membership: also the route and rulebook of each claim,
    the amounts compared under 'highest of', and which funds and accumulators are not the claim's scheme's."""

    scheme: np.ndarray = None  # per claim: the route's name ('' where none)
    settled_by: np.ndarray = None  # per claim: the rulebook's id
    compared: dict = attrs.Factory(dict)  # rulebook id -> what its funds paid (None where not compared)
    absent: dict = attrs.Factory(dict)  # column name (fund or accumulator) -> rows where it is not the scheme's


def settle_routed(vm: VectorMembership, part: pa.Table, member_of: np.ndarray, claims: Table, members: Table,
                  histories, sub, settle_target) -> Routed:
    """Route and settle one batch's claims (``part``: its rows; ``claims``/``members``/``histories``: the
    router's facts, validated). ``settle_target(vp, rows, problems)`` validates and settles the rows ``rows``
    of ``part`` under one rulebook, adding what it rejects to ``sub``, and returns its Result."""
    from medrules.batch.vhistory import MEMBER
    n = len(member_of)
    messages: list[str] = []
    member_values = dict(members.values)
    member_values[MEMBER] = np.arange(len(members), dtype=np.int64)
    w = Wave(n, claims, Table(Gathered(member_values, member_of), Gathered(members.given, member_of)), {}, messages)
    w.hist = histories or {}
    route = np.full(n, -1, np.int64)
    remaining = np.ones(n, bool)
    for i, r in enumerate(vm.routes):  # the first that holds
        if not remaining.any():
            break
        holds = np.asarray(r.when(w, remaining), bool) & remaining & (w.error == 0)
        route[holds] = i
        remaining &= ~holds
    errors = np.full(n, "", object)
    failed = w.error > 0
    errors[failed] = np.array(messages, object)[w.error[failed] - 1]
    nowhere = (route < 0) & ~failed
    if nowhere.any():
        day = claims.values[vm.dated_by]
        from medrules.batch.columns import from_day_number
        tried = ", ".join(r.name for r in vm.routes)
        days, which = np.unique(day[nowhere], return_inverse=True)  # one message a day, not a claim
        said = np.array([f"on {from_day_number(d)} the claim is insured in no scheme of '{vm.program.checked.id}' "
                         f"(its 'insured' statements: {tried}; check the member's histories for that date)"
                         for d in days], object)
        errors[nowhere] = said[which.reshape(-1)]
    funds = {f: np.zeros(n, np.int64) for f in vm.fund_names()}
    accs = {a: np.zeros(n, np.int64) for a in vm.accumulator_names()}
    absent = {**{f"paid.{f}": np.ones(n, bool) for f in funds}, **{f"after.{a}": np.ones(n, bool) for a in accs}}
    total, member_pays = np.zeros(n, np.int64), np.zeros(n, np.int64)
    recoverable = np.zeros(n, np.int64)
    scheme = np.full(n, "", object)
    settled_by = np.full(n, "", object)
    compared = {c: np.zeros(n, np.int64) for c in vm.compared()}
    compared_given = {c: np.zeros(n, bool) for c in compared}
    M = vm.money_scale
    groups: dict[tuple, list[int]] = {}  # by the rulebooks that settle them, as the scalar backend groups
    for i, r in enumerate(vm.routes):
        groups.setdefault((r.highest, *(t.program.checked.id for t in r.targets)), []).append(i)
    for same in groups.values():
        r = vm.routes[same[0]]
        rows = np.flatnonzero(np.isin(route, same))
        if not len(rows):
            continue
        got = [settle_target(t, rows) for t in r.targets]
        paid = [sum((np.asarray(g.funds[f], np.int64) for f in g.funds), np.zeros(len(rows), np.int64))
                * 10 ** (M - g.scale) for g in got]
        best = np.zeros(len(rows), np.int64)
        for k in range(1, len(got)):  # the first of equal payments
            best = np.where(paid[k] > np.choose(best, paid), k, best)
        for k, (t, g) in enumerate(zip(r.targets, got)):
            at = rows[best == k]
            mine = best == k
            up = 10 ** (M - g.scale)
            for f, v in g.funds.items():
                funds[f][at] = v[mine] * up
                absent[f"paid.{f}"][at] = False
            for a, v in g.accumulators.items():
                accs[a][at] = v[mine] * up
                absent[f"after.{a}"][at] = False
            total[at], member_pays[at] = g.total[mine] * up, g.member_pays[mine] * up
            if g.recoverable is not None:
                recoverable[at] = g.recoverable[mine] * up
            settled_by[at] = t.program.checked.id
            bad = g.error != ""
            errors[rows[bad]] = np.where(errors[rows[bad]] == "", g.error[bad], errors[rows[bad]])
            if r.highest:
                compared[t.program.checked.id][rows] = paid[k]
                compared_given[t.program.checked.id][rows] = True
    for i, r in enumerate(vm.routes):
        scheme[route == i] = r.name
    held = errors != ""
    if held.any():  # a member with a claim that could not be settled: all its claims held back
        whole = np.isin(member_of, np.unique(member_of[held])) & ~held
        errors[whole] = "held back: another claim of this member could not be settled"
    dates = claims.values[vm.dated_by]
    order = np.lexsort((np.arange(n), dates, member_of)) if n else np.arange(0)
    for c in compared:
        absent[f"compared.{c}"] = ~compared_given[c]
    return Routed(order, benefit_year_start(dates, vm.year_starts), funds, total, member_pays, accs, errors, M,
                  recoverable if vm.layers[-1].recoveries else None, scheme=scheme, settled_by=settled_by,
                  compared=compared, absent=absent)


def settle_target(t: VectorProgram, part: pa.Table, at: np.ndarray, member_of: np.ndarray, unique: np.ndarray,
                  members: pa.Table | None, columns: dict[str, str], histories, sub) -> Result:
    """The rows ``at`` of ``part`` (the claims routed to one scheme) validated against the scheme's rulebook
    (its claim and member facts, its histories) and settled on its program; what it rejects goes to ``sub``
    at those rows (the member is then held back, as the scalar backend refuses the member's file)."""
    from medrules.batch import io
    from medrules.batch.columns import from_day_number
    from medrules.batch.run import _members_for, _opening, _period
    from medrules.batch.validate import Problems, validate_record
    from medrules.batch.vector import settle_columns
    ck = t.program.checked
    tpart = part.take(pa.array(at))
    names = io.column_names(tpart.column_names, ck, columns, members_elsewhere=members is not None)
    tsub = Problems(len(at))
    claim_table = validate_record(tpart, ck, "claim", {f: c for (k, f), c in names.items() if k == "claim"}, tsub)
    days = claim_table.values[t.dated_by]
    h = ck.rulebook.header
    outside = np.zeros(len(at), bool)
    if h.effective_from:
        outside |= days < (h.effective_from - from_day_number(0)).days
    if h.effective_to:
        outside |= days > (h.effective_to - from_day_number(0)).days
    tsub.add(outside, names.get(("claim", t.dated_by), t.dated_by),
             f"dated outside '{ck.id}' ({_period(t)}), the rulebook of the scheme it is routed to")
    codes, first, local = np.unique(member_of[at], return_index=True, return_inverse=True)
    if members is None:  # one table: each member's facts from its first row routed here
        mpart = tpart.take(pa.array(first))
        mproblems = Problems(len(first))
        member_table = validate_record(mpart, ck, "member", {f: c for (k, f), c in names.items() if k == "member"},
                                       mproblems)
        opening = _opening(t, mpart, names, columns, mproblems)
        tsub.add(mproblems.bad[local], mproblems.column[local], mproblems.reason[local])
    else:
        member_table, opening, missing = _members_for(t, members, unique[codes], columns, problems_out := [])
        tsub.add(missing[local], "member.id", "no such member in the members file")
        for index, reason in problems_out:
            tsub.add(local == index, "member", reason)
    hist = None
    if histories is not None:
        from medrules.batch.vhistory import history_columns
        hist, held_by, _ = history_columns(ck, histories, unique[codes], columns)
        for i in np.flatnonzero(held_by != None):  # noqa: E711 - an object array
            tsub.add(local == i, "", held_by[i])
    if tsub.bad.any():
        n = len(member_of)
        mask = np.zeros(n, bool)
        column, reason = np.full(n, None, object), np.full(n, None, object)
        mask[at], column[at], reason[at] = tsub.bad, tsub.column, tsub.reason
        sub.add(mask, column, reason)
    return settle_columns(t, local, claim_table, member_table, opening, hist)


def extra_schema(vm: VectorMembership, money) -> list[tuple]:
    """The results columns of a membership besides a rulebook's: the scheme and rulebook of each claim, and
    the amounts compared under 'highest of'."""
    return ([("scheme", pa.string()), ("settled_by", pa.string())]
            + [(f"compared.{c}", money) for c in vm.compared()])


def routed_columns(r: Routed, order: np.ndarray, cols: dict) -> dict:
    """The results columns of the claims ``order`` (settled, by member and date): the scheme, the rulebook, the
    compared amounts; a fund or accumulator of another scheme empty (null)."""
    from medrules.batch import io
    out = dict(cols)
    out["scheme"] = pa.array(r.scheme[order].astype(str), pa.string())
    out["settled_by"] = pa.array(r.settled_by[order].astype(str), pa.string())
    for c, values in r.compared.items():
        out[f"compared.{c}"] = io.decimal_column(values[order], r.scale)
    import pyarrow.compute as pc
    for name, absent in r.absent.items():
        if name in out and absent[order].any():
            column = out[name]
            out[name] = pc.if_else(pa.array(absent[order]), pa.scalar(None, column.type), column)
    return out
