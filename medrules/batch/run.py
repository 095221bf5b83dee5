"""Settle claim files: read, validate, partition by member, settle on the vector backend, write.

A run reads its input in batches and, when it is large, spills it to member partitions
(Parquet files in a temporary folder, by a hash of the member id), then settles one
partition at a time: memory holds one partition (≈ 5×10^5 claims), whatever the input's size.
Each partition is settled under each rulebook version in force (a policy-year folder), each
claim under the version in force on its date, exactly as ``medrules run`` does it.
"""
from __future__ import annotations

import datetime as dt
import math
import tempfile
import time
from collections import Counter
from pathlib import Path

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import medrules
from medrules.batch import io
from medrules.batch.columns import from_day_number
from medrules.batch.validate import Problems, as_text, convert, native, validate_record
from medrules.batch.vector import VectorProgram, compile_vector, settle_columns
from medrules.diagnostics import MedrulesError, error
from medrules.evaluate import Program
from medrules.evaluate.runtime import add_months, year_label
from medrules.versions import load_set
from medrules.units import Type

PARTITION_ROWS = 500_000  # claims settled at once when the input is spilled to member partitions
REJECT_SCHEMA = pa.schema([("file", pa.string()), ("row", pa.int64()), ("member", pa.string()),
                           ("claim", pa.string()), ("column", pa.string()), ("reason", pa.string())])


@attrs.frozen
class Rulebooks:
    """A rulebook, or a policy-year folder: the versions, each compiled for the vector backend."""

    name: str
    versions: tuple[VectorProgram, ...]

    @property
    def top(self) -> Program:
        return self.versions[0].program

    @property
    def dated_by(self) -> str:
        return self.versions[0].dated_by


def load_rulebooks(path: str | Path, read=None, readings: dict[str, str] | None = None) -> Rulebooks:
    """A rulebook file or a policy-year folder, compiled for the vector backend (refused here, at load, if it
    uses a construct the vector backend cannot settle exactly). ``readings``: alternatives to settle by instead
    of the rulebooks' own choices (see :func:`medrules.load`; in a folder, each applies to the versions that
    declare it)."""
    p = Path(path)
    kw = {"read": read} if read is not None else {}
    if readings:
        kw["readings"] = dict(readings)
    if p.is_dir():
        programs = load_set(p, **kw).versions
    else:
        programs = (medrules.load(p, **kw),)
    return Rulebooks(str(path), tuple(_compiled(q, kw) for q in programs))


def _compiled(program: Program, kw: dict):
    """A version for the vector backend: its program, or a membership's routes (medrules.batch.vmember)."""
    if program.plan.top.memberships:
        from medrules.batch.vmember import compile_membership
        return compile_membership(program, **kw)
    return compile_vector(program)


@attrs.define
class Summary:
    claims: int = 0
    members: int = 0
    rejected: int = 0
    funds: dict = attrs.Factory(dict)  # fund -> Decimal paid
    member_pays: object = 0
    total: object = 0
    reasons: Counter = attrs.Factory(Counter)
    seconds: float = 0.0
    partitions: int = 1

    def add(self, results: pa.Table, rejects: pa.Table, funds: list[str]) -> None:
        self.claims += results.num_rows
        self.members += len(pc.unique(results.column("member_id"))) if results.num_rows else 0
        self.rejected += rejects.num_rows
        for f in funds:
            self.funds[f] = self.funds.get(f, 0) + (pc.sum(results.column(f"paid.{f}")).as_py() or 0)
        self.member_pays += pc.sum(results.column("member_pays")).as_py() or 0
        self.total += pc.sum(results.column("total_cost")).as_py() or 0
        for reason in rejects.column("reason").to_pylist():
            self.reasons[reason.split(":")[0].split(" (")[0]] += 1


# ---------------------------------------------------------------- one partition
def settle_partition(rb: Rulebooks, claims: pa.Table, members: pa.Table | None,
                     columns: dict[str, str], histories: dict | None = None) -> tuple[pa.Table, pa.Table]:
    """Validate and settle the claims of some members (all of each member's claims are here). ``histories``:
    each history's records (:func:`medrules.batch.vhistory.read_histories`), of any members."""
    history_rejects: dict = {}  # (file, row) -> a rejected history record (once, whatever the versions)
    n_rows = claims.num_rows
    problems = Problems(n_rows)
    top = rb.top.checked
    names = io.column_names(claims.column_names, top, columns, members_elsewhere=members is not None)
    if ("member", "id") not in names:
        raise MedrulesError(error("columns", "no column gives the member id", None,
                                  "name it member_id or member.id, or map it: --column member.id=COLUMN"))
    # ids as Arrow text, and as integer codes (hashed in Arrow, never sorted as Python strings)
    member_ids = pc.fill_null(as_text(claims.column(names[("member", "id")]), "member.id", "text"), "")
    member_code, member_names = _codes(member_ids)
    problems.add(_np(pc.equal(member_ids, "")), names[("member", "id")],
                 "missing: every claim needs its member's id")
    if ("claim", "id") in names:
        claim_ids = pc.fill_null(as_text(claims.column(names[("claim", "id")]), "claim.id", "text"), "")
    else:
        claim_ids = pc.binary_join_element_wise(claims.column(io.FILE).combine_chunks(),
                                                pc.cast(claims.column(io.ROW).combine_chunks(), pa.string()), ":")
    claim_code, _ = _codes(claim_ids, values=False)
    _duplicates(member_code << 32 | claim_code, problems, names.get(("claim", "id"), "claim.id"))
    if members is not None:  # two tables: the claims' households may be the members table's (medrules.batch.vgroups)
        from medrules.batch.vgroups import house_lookup, with_households
        claims = with_households(claims, rb, columns, house_lookup(rb, columns, members))
    households = _household_codes(claims, member_code)
    groups = households  # households linked by a named holder are settled as one (medrules.batch.vgroups)
    if households is not None and any(_shares_quotas(vp) for vp in rb.versions):
        from medrules.batch.vgroups import quota_groups
        groups = quota_groups(rb, claims, names, member_ids, households, members, columns)
    date_column = names.get(("claim", rb.dated_by))
    if date_column is None:
        raise MedrulesError(error("columns", f"no column gives claim.{rb.dated_by}, the date that places a claim "
                                  "in a benefit year", None, f"name it {rb.dated_by} or map it: "
                                  f"--column claim.{rb.dated_by}=COLUMN"))
    typed = native(claims.column(date_column), "date", date_column, problems)
    if typed is not None:
        days, present = typed
    else:
        date_text = as_text(claims.column(date_column), date_column, "date")
        present = np.asarray(pc.is_valid(date_text).to_numpy(zero_copy_only=False), bool)
    problems.add(~present, date_column, f"missing: every claim needs its {rb.dated_by}")
    if typed is None:
        days = convert(date_text, Type("date"), top, date_column, problems, present)
    version = _versions(rb, days, problems, date_column)

    results = []
    for v, vp in enumerate(rb.versions):
        rows = np.flatnonzero(version == v)
        if not len(rows):
            continue
        ck = vp.program.checked
        part = claims.take(pa.array(rows))
        sub = Problems(len(rows))
        vnames = io.column_names(part.column_names, ck, columns, members_elsewhere=members is not None)
        claim_table = validate_record(part, ck, "claim", {f: c for (k, f), c in vnames.items() if k == "claim"}, sub)
        shared = households is not None and _shares_quotas(vp)  # quotas shared in a household: medrules.batch.vquota
        if not shared:
            _own_quota_only(vp, claim_table, member_ids.take(pa.array(rows)), vnames, sub)
        unique_codes, first, member_of = np.unique(member_code[rows], return_index=True, return_inverse=True)
        unique = member_names[unique_codes]
        if members is None:  # one table: each member's facts from its first row
            mpart = part.take(pa.array(first))
            mproblems = Problems(len(first))
            member_table = validate_record(mpart, ck, "member", {f: c for (k, f), c in vnames.items()
                                                                 if k == "member"}, mproblems)
            opening = _opening(vp, mpart, vnames, columns, mproblems)  # (a bad opening value rejects the member)
            bad = mproblems.bad[member_of]
            sub.add(bad, mproblems.column[member_of], mproblems.reason[member_of])
        else:
            member_table, opening, missing = _members_for(vp, members, unique, columns, problems_out := [])
            sub.add(missing[member_of], "member.id", "no such member in the members file")
            for index, reason in problems_out:
                sub.add(member_of == index, "member", reason)
        hist = None
        if histories is not None:  # the members' records, validated; a bad record holds its member back
            from medrules.batch.vhistory import history_columns
            hist, held_by, rejected = history_columns(ck, histories, unique, columns)
            for i in np.flatnonzero(held_by != None):  # noqa: E711 - an object array
                sub.add(member_of == i, "", held_by[i])
            history_rejects |= {(f, r): (f, r, m, col, why) for f, r, m, col, why in rejected}
        routed = None
        if getattr(vp, "membership", False):  # each claim under its scheme's rulebook (medrules.batch.vmember)
            from medrules.batch.vmember import settle_routed, settle_target
            routed = settle_routed(vp, part, member_of, claim_table, member_table, hist, sub, lambda t, at: settle_target(
                t, part, at, member_of, unique, members, columns, histories, sub))
        # merge the version's problems into the partition's
        mask = np.zeros(n_rows, bool)
        mask[rows] = sub.bad
        if mask.any():
            col = np.full(n_rows, None, object)
            reason = np.full(n_rows, None, object)
            col[rows], reason[rows] = sub.column, sub.reason
            _add_many(problems, mask, col, reason)
        if shared and not routed:  # each person's opening values and histories their own (batch.vqhistory)
            from medrules.batch.vquota import settle_shared
            result = settle_shared(vp, households[rows], member_of, unique, claim_table, member_table, vnames, sub,
                                   opening, hist, groups[rows], members, columns)
            mask = np.zeros(n_rows, bool)
            mask[rows] = sub.bad
            col, reason = np.full(n_rows, None, object), np.full(n_rows, None, object)
            col[rows], reason[rows] = sub.column, sub.reason
            _add_many(problems, mask, col, reason)
        else:
            result = routed or settle_columns(vp, member_of, claim_table, member_table, opening, hist)
        settled_bad = result.error != ""
        if settled_bad.any():
            mask = np.zeros(n_rows, bool)
            mask[rows[settled_bad]] = True
            reason = np.full(n_rows, None, object)
            reason[rows[settled_bad]] = result.error[settled_bad]
            _add_many(problems, mask, np.full(n_rows, "", object), reason)
        results.append((vp, rows, result))

    # a member with a rejected row: all its claims are held back
    held = np.isin(member_code, member_code[problems.bad]) & ~problems.bad
    problems.add(held, "", "held back: another row of this member was rejected")
    if households is not None and any(_shares_quotas(vp) for vp, _, _ in results):  # they share quotas
        held = np.isin(groups, groups[problems.bad]) & ~problems.bad
        problems.add(held, "", "held back: a row of this household, or of a household sharing its quotas, was "
                     "rejected (their claims share quotas)")
    keep = ~problems.bad
    tables = [_results_table(vp, rows, r, claims, member_ids, claim_ids, days, keep, rb.versions)
              for vp, rows, r in results]
    tables = [t for t in tables if t.num_rows]
    schema = _results_schema(rb)
    out = pa.concat_tables([t.select(schema.names).cast(schema) for t in tables]) if tables else schema.empty_table()
    bad = np.flatnonzero(problems.bad)
    rejects = pa.table({
        "file": claims.column(io.FILE).take(pa.array(bad)),
        "row": claims.column(io.ROW).take(pa.array(bad)),
        "member": member_ids.take(pa.array(bad)), "claim": claim_ids.take(pa.array(bad)),
        "column": pa.array([c or "" for c in problems.column[bad]], pa.string()),
        "reason": pa.array([str(r) for r in problems.reason[bad]], pa.string())}, schema=REJECT_SCHEMA)
    if history_rejects:
        f, r, m, col, why = zip(*history_rejects.values())
        rejects = pa.concat_tables([rejects, pa.table({"file": f, "row": r, "member": m, "claim": [""] * len(f),
                                                       "column": col, "reason": why}, schema=REJECT_SCHEMA)])
    return out, rejects


def _shares_quotas(vp) -> bool:
    from medrules.batch.vquota import holder_facts
    return isinstance(vp, VectorProgram) and bool(holder_facts(vp))


def _household_codes(claims: pa.Table, member_code: np.ndarray) -> np.ndarray | None:
    """Each row's household (a ``household_id`` or ``household`` column; an empty id: a household of one)."""
    column = next((c for c in ("household_id", "household.id", "household") if c in claims.column_names), None)
    if column is None:
        return None
    ids = pc.fill_null(as_text(claims.column(column), column, "text"), "")
    codes = _codes(ids)[0]
    alone = _np(pc.equal(ids, "")).astype(bool)
    return np.where(alone, -1 - member_code, codes)


def _own_quota_only(vp: VectorProgram, claim_table, ids: pa.Array, names, problems: Problems) -> None:
    """A quota kept per holder (docs/language.md §22.2): a row that names the quota of another holder is rejected
    (the claims of a household draw on shared balances in one date order: 'medrules run' settles them)."""
    from medrules.evaluate.quota import holder_caps
    facts = sorted({h.field for _, cap in holder_caps(vp.program.plan) for h in cap.holders if h.record == "claim"})
    if not facts:
        return
    own = np.asarray(ids.to_numpy(zero_copy_only=False), object)
    for name in facts:
        values = claim_table.values[name]
        named = (values != "") & (values != own)
        if name in claim_table.given:
            named &= claim_table.given[name]
        problems.add(named, names.get(("claim", name), f"claim.{name}"),
                     "names the quota of another person: the claims of a household share their quotas in one date "
                     "order; settle the household with 'medrules run RULEBOOK HOUSEHOLD.json'")


def _np(a) -> np.ndarray:
    return np.asarray(a.to_numpy(zero_copy_only=False))


def _codes(text: pa.Array, values: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Text → (an int64 code per row, the distinct values by code when ``values``)."""
    encoded = pc.dictionary_encode(text)
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.int64)
    return codes, np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False), object) if values else None


def _add_many(problems: Problems, mask, column, reason) -> None:
    rows = mask & ~problems.bad
    problems.bad |= rows
    problems.column[rows] = column[rows]
    problems.reason[rows] = reason[rows]


def _duplicates(ids: np.ndarray, problems: Problems, column: str) -> None:
    order = np.argsort(ids, kind="stable")
    s = ids[order]
    repeat = np.zeros(len(ids), bool)
    if len(ids) > 1:
        same = s[1:] == s[:-1]
        repeat[order[1:][same]] = True
    problems.add(repeat, column, "duplicate claim id: an earlier row of this member has the same id")


def _versions(rb: Rulebooks, days: np.ndarray, problems: Problems, column: str) -> np.ndarray:
    version = np.full(len(days), -1, np.int64)
    for v, vp in enumerate(rb.versions):
        h = vp.program.checked.rulebook.header
        inside = np.ones(len(days), bool)
        if h.effective_from:
            inside &= days >= (h.effective_from - from_day_number(0)).days
        if h.effective_to:
            inside &= days <= (h.effective_to - from_day_number(0)).days
        version = np.where((version < 0) & inside, v, version)
    periods = "; ".join(f"{vp.program.checked.id}: {_period(vp)}" for vp in rb.versions)
    problems.add(version < 0, column, f"dated outside every version in force ({periods})")
    return version


def _period(vp: VectorProgram) -> str:
    h = vp.program.checked.rulebook.header
    return f"{h.effective_from} – {h.effective_to}" if h.effective_to else f"from {h.effective_from}"


def _opening(vp: VectorProgram, table: pa.Table, names, columns, problems: Problems) -> dict[str, np.ndarray]:
    """Opening year-to-date values from ``opening.ACC`` columns (money), per member."""
    out = {}
    for acc in vp.accumulator_names():
        column = columns.get(f"opening.{acc}") or next(
            (c for c in (f"opening.{acc}", f"opening_{acc}") if c in table.column_names), None)
        if column is None:
            continue
        text = as_text(table.column(column), column, "money")
        present = np.asarray(pc.is_valid(text).to_numpy(zero_copy_only=False), bool)
        values = convert(text, Type("money"), vp.program.checked, column, problems, present)
        out[acc] = values * 10 ** (vp.money_scale - 2)
    return out


def _members_for(vp: VectorProgram, members: pa.Table, ids: np.ndarray, columns, problems_out: list):
    """Two tables: the members file's rows for these member ids, validated, in the order of ``ids``."""
    ck = vp.program.checked
    names = io.column_names(members.column_names, ck, columns, kinds=("member",))
    key = names.get(("member", "id"))
    if key is None:
        raise MedrulesError(error("columns", "the members file has no member id column", None,
                                  "name it id, member_id or member.id, or map it: --column member.id=COLUMN"))
    all_ids = np.asarray(pc.fill_null(as_text(members.column(key), key, "text"), "")
                         .to_numpy(zero_copy_only=False), object)
    # the first row of each member id in the members file
    uniq, first = np.unique(all_ids, return_index=True)
    pos = np.searchsorted(uniq, ids)
    pos = np.minimum(pos, len(uniq) - 1) if len(uniq) else pos
    found = (uniq[pos] == ids) if len(uniq) else np.zeros(len(ids), bool)
    rows = np.where(found, first[pos] if len(uniq) else 0, 0)
    part = members.take(pa.array(rows)) if members.num_rows else members
    mproblems = Problems(len(ids))
    table = validate_record(part, ck, "member", {f: c for (k, f), c in names.items() if k == "member"}, mproblems)
    opening = _opening(vp, part, names, columns, mproblems)
    bad = mproblems.bad & found
    for i in np.flatnonzero(bad):
        problems_out.append((i, f"{mproblems.reason[i]} (members file row {int(rows[i]) + 1}, "
                                f"column {mproblems.column[i]})"))
    return table, opening, ~found


def _results_schema(rb: Rulebooks) -> pa.Schema:
    vp = rb.versions[0]
    scale = max(v.money_scale for v in rb.versions)
    money = pa.decimal128(20 + scale, scale)
    funds, accs = [], []
    for v in rb.versions:
        funds += [f for f in v.fund_names() if f not in funds]
        accs += [a for a in v.accumulator_names() if a not in accs]
    return pa.schema([("member_id", pa.string()), ("claim_id", pa.string()), (vp.dated_by, pa.date32()),
                      ("year", pa.string()), ("rulebook", pa.string()), ("plan", pa.string())]
                     + [(f"paid.{f}", money) for f in funds]
                     + [("total_cost", money), ("member_pays", money)]
                     + ([("recoverable", money)] if any(v.layers[-1].recoveries for v in rb.versions) else [])
                     + [(f"after.{a}", money) for a in accs]
                     + [x for v in rb.versions if getattr(v, "membership", False) for x in _routed_schema(v, money)])


def _routed_schema(v, money) -> list:
    from medrules.batch.vmember import extra_schema
    return extra_schema(v, money)


_PLAN_HASHES: dict[int, tuple[VectorProgram, str]] = {}


def plan_hash(vp: VectorProgram) -> str:
    """The SHA-256 of the plan that settled a claim (``plan`` column of the results; the ledger's plan_hash):
    ``medrules explain --results`` checks it before explaining a claim of the results."""
    known = _PLAN_HASHES.get(id(vp))
    if known is None or known[0] is not vp:
        from medrules.ledger.sources import plan_fingerprint
        fingerprint = plan_fingerprint(vp.program)
        if getattr(vp, "membership", False):  # the routes and every scheme's plan
            import hashlib
            fingerprint = hashlib.sha256(" ".join([fingerprint] + [plan_fingerprint(t.program)
                                                                   for t in vp.targets]).encode()).hexdigest()
        known = _PLAN_HASHES[id(vp)] = (vp, fingerprint)
    return known[1]


def _results_table(vp: VectorProgram, rows, r, claims, member_ids, claim_ids, days, keep,
                   rb_versions=()) -> pa.Table:
    order = r.order[keep[rows][r.order]]  # settled claims, by member and date
    at = rows[order]
    years = r.year_start[order]
    labels = {}
    for y in np.unique(years):
        start = from_day_number(y)
        labels[y] = year_label(start, add_months(start, 12) - dt.timedelta(days=1))
    label_values = sorted(labels)
    year_index = np.searchsorted(np.array(label_values, np.int64), years).astype(np.int32)
    cols = {"member_id": member_ids.take(pa.array(at)), "claim_id": claim_ids.take(pa.array(at)),
            vp.dated_by: pa.array(days[at].astype("int32"), pa.int32()).cast(pa.date32()),
            "year": pa.DictionaryArray.from_arrays(pa.array(year_index), pa.array([labels[y] for y in label_values]))
            .cast(pa.string()),
            "rulebook": pa.DictionaryArray.from_arrays(pa.array(np.zeros(len(at), np.int32)),
                                                       pa.array([vp.program.checked.id])).cast(pa.string()),
            "plan": pa.DictionaryArray.from_arrays(pa.array(np.zeros(len(at), np.int32)),
                                                   pa.array([plan_hash(vp)])).cast(pa.string())}
    for f, values in r.funds.items():
        cols[f"paid.{f}"] = io.decimal_column(values[order], r.scale)
    cols["total_cost"] = io.decimal_column(r.total[order], r.scale)
    cols["member_pays"] = io.decimal_column(r.member_pays[order], r.scale)
    if r.recoverable is not None:  # 'recover': paid first by the funds, recoverable from a third party
        cols["recoverable"] = io.decimal_column(r.recoverable[order], r.scale)
    elif any(v.layers[-1].recoveries for v in rb_versions):  # a year without the clause: nothing recoverable
        cols["recoverable"] = io.decimal_column(np.zeros(len(order), np.int64), r.scale)
    for a, values in r.accumulators.items():
        cols[f"after.{a}"] = io.decimal_column(values[order], r.scale)
    if getattr(vp, "membership", False):  # the scheme of each claim (medrules.batch.vmember)
        from medrules.batch.vmember import routed_columns
        cols = routed_columns(r, order, cols)
    return pa.table(cols)


# ---------------------------------------------------------------- a whole run
def read_members(path: str | Path | None) -> pa.Table | None:
    if path is None:
        return None
    (p,) = io.expand([path])
    return pa.concat_tables(list(io.read_batches(p)), promote_options="permissive")


def settle_files(rulebook: str | Path | Rulebooks, claim_paths: list[str | Path], out: str | Path, *,
                 members: str | Path | None = None, columns: dict[str, str] | None = None,
                 progress=None, partition_rows: int = PARTITION_ROWS, histories: dict[str, str] | None = None
                 ) -> Summary:
    """The ``medrules settle`` command's work; returns the summary it prints. ``histories``: history name →
    the file of its records (``--history``)."""
    started = time.perf_counter()
    columns = dict(columns or {})
    rb = rulebook if isinstance(rulebook, Rulebooks) else load_rulebooks(rulebook)
    paths = io.expand(claim_paths)
    member_table = read_members(members)
    history_tables = _histories(rb, histories or {}, paths)
    writer = io.Writer(out)
    rejects_writer = io.Writer(rejects_path(out))
    summary = Summary()
    funds = _fund_order(rb)
    n_parts = max(1, math.ceil(io.estimate_rows(paths) / partition_rows))
    summary.partitions = n_parts
    total_rows = io.estimate_rows(paths)
    task = progress.add_task("settling", total=total_rows) if progress is not None else None
    try:
        for part in _partitions(paths, rb, columns, n_parts, member_table):
            results, rejects = settle_partition(rb, part, member_table, columns, history_tables)
            writer.write(results)
            rejects_writer.write(rejects)
            summary.add(results, rejects, funds)
            if progress is not None:
                progress.update(task, advance=part.num_rows)
    finally:
        writer.close(_results_schema(rb))
        rejects_writer.close(REJECT_SCHEMA)
    summary.seconds = time.perf_counter() - started
    return summary


def _histories(rb: Rulebooks, files: dict[str, str], paths: list[Path]) -> dict | None:
    """Each history's records, read whole (None when no version declares a history)."""
    from medrules.batch.vhistory import declared, read_histories
    versions = [v for v in rb.versions if declared(v.program.checked)]
    if not versions:
        read_histories(files, paths, rb.top.checked)  # --history for a rulebook without histories: an error
        return None
    return read_histories(files, paths, versions[-1].program.checked)


def rejects_path(out: str | Path) -> Path:
    """``results.parquet`` → ``results.parquet.rejects.csv``."""
    return Path(str(out) + ".rejects.csv")


def _fund_order(rb: Rulebooks) -> list[str]:
    funds = []
    for v in rb.versions:
        funds += [f for f in v.fund_names() if f not in funds]
    return funds


def _partitions(paths, rb: Rulebooks, columns: dict[str, str], n_parts: int, members: pa.Table | None = None):
    """The input as tables of whole members: all of it at once, or spilled to ``n_parts`` files by member."""
    if n_parts == 1:
        tables = [t for p in paths for t in io.read_batches(p)]
        if tables:
            yield pa.concat_tables(tables, promote_options="permissive")
        return
    with tempfile.TemporaryDirectory(prefix="medrules-settle-") as tmp:
        for path in spill(paths, rb, columns, n_parts, Path(tmp), members):
            yield pq.read_table(path)


def spill(paths, rb: Rulebooks, columns: dict[str, str], n_parts: int, folder: Path,
          members=None, homes: dict | None = None) -> list[Path]:
    """Read the input in batches and write it to ``n_parts`` Parquet files by a hash of the member id (all
    of a member's claims in one file); every column as text, each row with its file and row number.
    ``members``: the members table (or its path), read only when households share quotas. ``homes`` (filled
    when households share quotas): member id -> the key its rows were partitioned by."""
    writers: dict[int, pq.ParquetWriter] = {}
    homes = {} if homes is None else homes  # member id -> household key (medrules.batch.vquota.household_keys)
    groups = lookup = None  # households linked by a named holder: one partition (medrules.batch.vgroups)
    if any(_shares_quotas(vp) for vp in rb.versions):
        from medrules.batch.vgroups import house_lookup, spill_groups, with_households
        members = read_members(members) if isinstance(members, (str, Path)) else members
        lookup = house_lookup(rb, columns, members)
        groups = spill_groups(paths, rb, columns, members, lookup)
    schema = None
    kinds = {io.SUFFIXES[p.suffix.lower()] for p in paths}
    typed = kinds == {"parquet"} and len({pq.read_schema(p) for p in paths}) == 1  # keep decimals and dates
    for p in paths:
        for table in io.read_batches(p):
            if not typed:
                table = table.cast(pa.schema([(f.name, pa.int64() if f.name == io.ROW else pa.string())
                                              for f in table.schema]))
            if lookup is not None:  # the members table's households, written with the claims
                table = with_households(table, rb, columns, lookup)
            if schema is None:
                schema = table.schema
            elif table.schema != schema:
                missing = [f for f in schema if f.name not in table.column_names]
                for f in missing:
                    table = table.append_column(f, pa.nulls(table.num_rows, f.type))
                extra = [c for c in table.column_names if c not in schema.names]
                if extra:
                    raise MedrulesError(error("io", f"'{p}' has columns the first claim file has not: "
                                                    f"{', '.join(extra)}", None,
                                              "give claim files of one layout (or settle them separately)"))
                table = table.select(schema.names)
            names = io.column_names(table.column_names, rb.top.checked, columns, members_elsewhere=True)
            if ("member", "id") not in names:
                raise MedrulesError(error("columns", f"no column of '{p}' gives the member id", None,
                                          "name it member_id or member.id, or map it: --column member.id=COLUMN"))
            ids = np.asarray(pc.fill_null(table.column(names[("member", "id")]), "").to_numpy(
                zero_copy_only=False), object)
            if any(_shares_quotas(vp) for vp in rb.versions):  # a household's claims in one partition
                from medrules.batch.vquota import household_keys
                ids = household_keys(table, ids, homes, p, groups)
            keys = io.member_keys(ids, n_parts)
            for k in np.unique(keys):
                if k not in writers:
                    writers[k] = pq.ParquetWriter(folder / f"part-{k:05d}.parquet", schema)
                writers[k].write_table(table.take(pa.array(np.flatnonzero(keys == k))))
    for w in writers.values():
        w.close()
    if groups:  # a member's records (histories) go where its group's claims went
        homes.update({m: groups.get(k, k) for m, k in homes.items()})
    return [folder / f"part-{k:05d}.parquet" for k in sorted(writers)]


# ---------------------------------------------------------------- the Python API
def as_arrow(data, name: str) -> pa.Table:
    """An Arrow table from an Arrow table, a pandas or polars DataFrame, or a dict of columns."""
    if isinstance(data, pa.Table):
        return data
    if hasattr(data, "to_arrow"):  # polars
        return data.to_arrow()
    if type(data).__module__.startswith("pandas"):
        return pa.Table.from_pandas(data, preserve_index=False)
    try:
        return pa.table(data)
    except (TypeError, ValueError, pa.ArrowInvalid) as exc:
        raise MedrulesError(error("io", f"{name}: expected an Arrow table or a pandas/polars DataFrame ({exc})")
                            ) from None


def settle_table(rulebook, claims, members=None, columns: dict[str, str] | None = None,
                 histories: dict | None = None) -> tuple[pa.Table, pa.Table]:
    """Settle claims given as a table (Arrow, pandas or polars); returns ``(results, rejects)`` as Arrow tables.

    ``rulebook`` is a path (file or policy-year folder), a loaded :class:`~medrules.Program` or
    :class:`Rulebooks`; ``members`` a second table joined on member.id; ``columns`` maps facts to
    columns (``{"claim.compliant_cost": "cost"}``); ``histories`` each history's records as a table (history
    name → a table with a member_id column and the record's fields)."""
    if isinstance(rulebook, Program):
        rb = Rulebooks(rulebook.checked.id, (_compiled(rulebook, {}),))
    elif isinstance(rulebook, Rulebooks):
        rb = rulebook
    else:
        rb = load_rulebooks(rulebook)
    table = io.labelled(as_arrow(claims, "claims"), "claims", 1)
    member_table = io.labelled(as_arrow(members, "members"), "members", 1) if members is not None else None
    history = None
    if histories is not None:
        history = {k: io.labelled(as_arrow(v, k), k, 1) for k, v in histories.items()}
    return settle_partition(rb, table, member_table, dict(columns or {}), history)
