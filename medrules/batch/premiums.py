"""Premiums for a population: ``medrules settle`` on a rulebook of contributions.

A rulebook that states contributions (参保缴费) is settled for a MEMBER table, not a claim table: the
same readers (CSV, Parquet, JSON Lines, a facts JSON file or folder), the same column mapping
(``--column member.tier=档次``), the same rejects file and ``--reading``. Each member is assessed on the
vector backend (:mod:`medrules.batch.vector_contrib`); the results hold one row per member and
contribution: the premium (after any part-year share), what each subsidy pays for, the total
subsidised and what the member owes. The summary gives the totals owed and the subsidy totals by
category.

A member row that cannot be assessed (a missing fact, a value of the wrong kind, a duplicate id, a
negative premium) goes to the rejects file with its file, row, column and reason; the others are
assessed.
"""
from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

import medrules
from medrules.batch import io
from medrules.batch.validate import Problems, as_text, validate_record
from medrules.batch.vector_contrib import ContributionVector, assess_columns, compile_contributions
from medrules.diagnostics import MedrulesError, error

REJECT_SCHEMA = pa.schema([("file", pa.string()), ("row", pa.int64()), ("member", pa.string()),
                           ("claim", pa.string()), ("column", pa.string()), ("reason", pa.string())])


@attrs.define
class PremiumSummary:
    members: int = 0
    rejected: int = 0
    premium: Decimal = Decimal(0)
    subsidised: Decimal = Decimal(0)
    owes: Decimal = Decimal(0)
    by_contribution: dict = attrs.Factory(dict)  # contribution -> {"premium", "subsidised", "owes"}
    subsidies: dict = attrs.Factory(dict)  # (contribution, subsidy) -> Decimal granted
    labels: dict = attrs.Factory(dict)  # contribution or (contribution, subsidy) -> title
    reasons: dict = attrs.Factory(dict)
    households: pa.Table | None = None  # household_totals, when the members have household ids
    seconds: float = 0.0


def load_file(rulebook: str | Path, read=None, readings: dict[str, str] | None = None):
    """The loaded rulebook when ``rulebook`` is a file; None for a folder of policy years (settled as claims:
    a folder skips rulebooks of contributions only)."""
    p = Path(rulebook)
    if p.is_dir():
        return None
    kw = {"read": read} if read is not None else {}
    if readings:
        kw["readings"] = dict(readings)
    return medrules.load(p, **kw)


def _vector(program) -> ContributionVector:
    layer = program.plan.top
    if layer.funds or layer.total is not None:
        from medrules.batch.vector import _refuse
        raise _refuse(layer.contributions[0].node, "claims and contributions in one rulebook",
                      "settle the premiums and the claims with two rulebooks (one states contributions only)")
    return compile_contributions(program)


# ---------------------------------------------------------------- reading member tables
def read_members(paths: list[Path]):
    """Member tables in batches; a facts JSON file gives its member (and a household file its members)."""
    for p in paths:
        if io.SUFFIXES[p.suffix.lower()] == "facts":
            yield io.labelled(_facts_members(p), str(p), 1)
        else:
            yield from io.read_batches(p)


def _facts_members(path: Path) -> pa.Table:
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, OSError) as exc:
        raise MedrulesError(error("io", f"'{path}' is not a facts file: {exc}",
                                  hint="check it with: medrules assess RULEBOOK FILE")) from None
    if not isinstance(doc, dict):
        raise MedrulesError(error("io", f"'{path}' is not a facts file: expected a JSON object with 'member'"))
    if "members" in doc:  # a household: its members, each with the household's facts
        members = doc["members"] if isinstance(doc["members"], list) else []
        household = doc.get("household") if isinstance(doc.get("household"), dict) else {}
        rows = [{**{f"household.{k}": v for k, v in household.items()}, **m} for m in members if isinstance(m, dict)]
    else:
        rows = [doc.get("member")] if isinstance(doc.get("member"), dict) else []
    rows = [{(k if k.startswith("household.") else f"member.{k}"): io._text(v) for k, v in r.items()} for r in rows]
    names = sorted({k for r in rows for k in r})
    return pa.table({k: pa.array([r.get(k) for r in rows], pa.string()) for k in names})


# ---------------------------------------------------------------- one table of members
def assess_partition(cv: ContributionVector, table: pa.Table, columns: dict[str, str]) -> tuple[pa.Table, pa.Table]:
    """Assess every member row of ``table``: (results, rejects)."""
    ck = cv.program.checked
    names = io.column_names(table.column_names, ck, columns, kinds=("member", "household"))
    # in a member table a bare 'id' is the member's, and a 'household' column the household's id
    for key, column in ((("member", "id"), "id"), (("household", "id"), "household")):
        if key not in names and column in table.column_names and key[1] in ck.records.get(key[0], {}):
            names[key] = column
    if ("member", "id") not in names:
        raise MedrulesError(error("columns", "no column gives the member id", None,
                                  "name it id, member_id or member.id, or map it: --column member.id=COLUMN"))
    n = table.num_rows
    problems = Problems(n)
    id_column = names[("member", "id")]
    ids = pc.fill_null(as_text(table.column(id_column), "member.id", "text"), "")
    problems.add(np.asarray(pc.equal(ids, "").to_numpy(zero_copy_only=False), bool), id_column,
                 "missing: every member needs an id")
    _duplicate_ids(ids, problems, id_column)
    members = validate_record(table, ck, "member", {f: c for (k, f), c in names.items() if k == "member"}, problems)
    household = validate_record(table, ck, "household", {f: c for (k, f), c in names.items() if k == "household"},
                                problems)
    household_ids = _household_ids(table, names)
    if household_ids is not None:
        _one_household_one_value(table, household_ids, household, names, problems)
    good = np.flatnonzero(~problems.bad)
    result = assess_columns(cv, members.take(good), household.take(good))
    failed = result.error != ""
    if failed.any():
        mask = np.zeros(n, bool)
        mask[good[failed]] = True
        reason = np.full(n, None, object)
        reason[good[failed]] = result.error[failed]
        problems.add(mask, "", reason)
    keep = ~failed
    at = good[keep]
    results = _results(cv, ids.take(pa.array(at)), result, keep,
                       household_ids.take(pa.array(at)) if household_ids is not None else None)
    bad = np.flatnonzero(problems.bad)
    rejects = pa.table({
        "file": table.column(io.FILE).take(pa.array(bad)) if io.FILE in table.column_names else pa.nulls(len(bad), pa.string()),
        "row": table.column(io.ROW).take(pa.array(bad)) if io.ROW in table.column_names else pa.array(bad + 1, pa.int64()),
        "member": ids.take(pa.array(bad)), "claim": pa.array([""] * len(bad), pa.string()),
        "column": pa.array([c or "" for c in problems.column[bad]], pa.string()),
        "reason": pa.array([str(r) for r in problems.reason[bad]], pa.string())}, schema=REJECT_SCHEMA)
    return results, rejects


def _duplicate_ids(ids: pa.Array, problems: Problems, column: str) -> None:
    codes = np.asarray(pc.dictionary_encode(ids).indices.to_numpy(zero_copy_only=False), np.int64)
    _, first = np.unique(codes, return_index=True)
    repeat = np.ones(len(codes), bool)
    repeat[first] = False
    problems.add(repeat, column, "duplicate member id: an earlier row has the same id")


def _household_ids(table: pa.Table, names) -> pa.Array | None:
    column = names.get(("household", "id"))
    if column is None:
        return None
    return pc.fill_null(as_text(table.column(column), "household.id", "text"), "")


def _one_household_one_value(table: pa.Table, ids: pa.Array, household, names, problems: Problems) -> None:
    """The rows of one household (same household.id, not empty) must state its facts alike: where they differ,
    every row of that household is rejected, naming the column and the rows that disagree."""
    codes = np.asarray(pc.dictionary_encode(ids).indices.to_numpy(zero_copy_only=False), np.int64)
    named = np.asarray(pc.not_equal(ids, "").to_numpy(zero_copy_only=False), bool)
    if not named.any():
        return
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    lead = first[inverse]  # each row's household's first row
    rows = table.column(io.ROW).to_numpy() if io.ROW in table.column_names else np.arange(1, table.num_rows + 1)
    for field, values in household.values.items():
        if field == "id" or ("household", field) not in names:
            continue
        given = household.given.get(field)
        differ = named & (values != values[lead])
        if given is not None:
            differ |= named & (given != given[lead])
        if not differ.any():
            continue
        column = names[("household", field)]
        for code in np.unique(codes[differ]):
            at = np.flatnonzero(codes == code)
            shown = ", ".join(str(int(r)) for r in rows[at][:6]) + (", …" if len(at) > 6 else "")
            problems.add(np.isin(np.arange(len(codes)), at), column,
                         f"household '{ids[int(at[0])].as_py()}': its members' rows differ in household.{field} "
                         f"(rows {shown}); a household states it once, for all its members")


def results_schema(cv: ContributionVector) -> pa.Schema:
    money = pa.decimal128(20 + cv.scale, cv.scale)
    household = [("household_id", pa.string())] if "id" in cv.program.checked.records.get("household", {}) else []
    return pa.schema([("member_id", pa.string())] + household + [("rulebook", pa.string()), ("contribution", pa.string()),
                      ("applied", pa.bool_()), ("premium", money)]
                     + [(f"subsidy.{s}", money) for s in cv.subsidy_names()]
                     + [("subsidised", money), ("member_owes", money)])


def _results(cv: ContributionVector, ids: pa.Array, r, keep: np.ndarray, households: pa.Array | None) -> pa.Table:
    """One row per member and contribution: members in input order, each member's contributions in rulebook
    order."""
    names = cv.names()
    k, m = len(names), int(keep.sum())

    def interleave(columns: list[np.ndarray]) -> np.ndarray:
        return np.stack([c[keep] for c in columns], axis=1).reshape(-1) if m else np.zeros(0, columns[0].dtype)

    zero = np.zeros(len(keep), np.int64)
    each = pa.array(np.repeat(np.arange(m), k))
    cols = {"member_id": ids.take(each)}
    if "id" in cv.program.checked.records.get("household", {}):
        cols["household_id"] = households.take(each) if households is not None else pa.array([""] * (m * k))
    cols |= {
            "rulebook": pa.DictionaryArray.from_arrays(pa.array(np.zeros(m * k, np.int32)),
                                                       pa.array([cv.program.checked.id])).cast(pa.string()),
            "contribution": pa.DictionaryArray.from_arrays(pa.array(np.tile(np.arange(k, dtype=np.int32), m)),
                                                           pa.array(names)).cast(pa.string()),
            "applied": pa.array(interleave([r.applied[c] for c in names]), pa.bool_()),
            "premium": io.decimal_column(interleave([r.premium[c] for c in names]), cv.scale)}
    for s in cv.subsidy_names():
        cols[f"subsidy.{s}"] = io.decimal_column(interleave([r.granted[c].get(s, zero) for c in names]), cv.scale)
    subsidised = [r.premium[c] - r.owes[c] for c in names]
    cols["subsidised"] = io.decimal_column(interleave(subsidised), cv.scale)
    cols["member_owes"] = io.decimal_column(interleave([r.owes[c] for c in names]), cv.scale)
    return pa.table(cols, schema=results_schema(cv))


# ---------------------------------------------------------------- a whole run
def assess_files(cv: ContributionVector, paths: list[str | Path], out: str | Path,
                 columns: dict[str, str] | None = None) -> PremiumSummary:
    """The ``medrules settle`` command's work on a rulebook of contributions; returns the summary it prints.

    The member tables are read whole (one row per member: far fewer rows than claims), so a member id is
    unique and a household's rows are checked together across files and batches."""
    started = time.perf_counter()
    files = io.expand(paths)
    writer, rejects_writer = io.Writer(out), io.Writer(Path(str(out) + ".rejects.csv"))
    summary = PremiumSummary()
    _labels(cv, summary)
    try:
        tables = list(read_members(files))
        if tables:
            table = pa.concat_tables(tables, promote_options="permissive")
            results, rejects = assess_partition(cv, table, dict(columns or {}))
            writer.write(results)
            rejects_writer.write(rejects)
            add(summary, cv, results, rejects)
            if "household_id" in results.column_names:
                summary.households = household_totals(results)
    finally:
        writer.close(results_schema(cv))
        rejects_writer.close(REJECT_SCHEMA)
    if summary.households is not None and summary.households.num_rows:
        path = households_path(out)
        pacsv.write_csv(summary.households, path)
    summary.seconds = time.perf_counter() - started
    return summary


def households_path(out: str | Path) -> Path:
    """``premiums.parquet`` → ``premiums.parquet.households.csv``."""
    return Path(str(out) + ".households.csv")


def household_totals(results: pa.Table) -> pa.Table:
    """Per household (rows with a household id): its members, premiums, subsidies and what it owes in all."""
    named = results.filter(pc.not_equal(results.column("household_id"), ""))
    grouped = named.group_by("household_id").aggregate([("member_id", "count_distinct"), ("premium", "sum"),
                                                         ("subsidised", "sum"), ("member_owes", "sum")])
    grouped = grouped.rename_columns({"member_id_count_distinct": "members", "premium_sum": "premium",
                                      "subsidised_sum": "subsidised", "member_owes_sum": "household_owes"})
    return grouped.select(["household_id", "members", "premium", "subsidised", "household_owes"]).sort_by(
        "household_id")


def _labels(cv: ContributionVector, s: PremiumSummary) -> None:
    for c in cv.contributions:
        s.labels[c.plan.name] = c.plan.node.title("zh") if hasattr(c.plan.node, "title") else c.plan.name
        for sub in c.plan.subsidies:
            s.labels[(c.plan.name, sub.name)] = sub.node.label.best("zh") if getattr(sub.node, "label", None) \
                else sub.name


def add(s: PremiumSummary, cv: ContributionVector, results: pa.Table, rejects: pa.Table) -> None:
    s.members += len(pc.unique(results.column("member_id"))) if results.num_rows else 0
    s.rejected += rejects.num_rows
    for reason in rejects.column("reason").to_pylist():
        key = reason.split(":")[0].split(" (")[0]
        s.reasons[key] = s.reasons.get(key, 0) + 1
    for c in cv.contributions:
        rows = results.filter(pc.equal(results.column("contribution"), c.plan.name))
        totals = s.by_contribution.setdefault(c.plan.name, {"premium": Decimal(0), "subsidised": Decimal(0),
                                                            "owes": Decimal(0)})
        for key, column in (("premium", "premium"), ("subsidised", "subsidised"), ("owes", "member_owes")):
            totals[key] += pc.sum(rows.column(column)).as_py() or Decimal(0)
        for sub in c.subsidies:
            key = (c.plan.name, sub.name)
            s.subsidies[key] = s.subsidies.get(key, Decimal(0)) + (pc.sum(rows.column(f"subsidy.{sub.name}")).as_py()
                                                                   or Decimal(0))
    s.premium = sum((t["premium"] for t in s.by_contribution.values()), Decimal(0))
    s.subsidised = sum((t["subsidised"] for t in s.by_contribution.values()), Decimal(0))
    s.owes = sum((t["owes"] for t in s.by_contribution.values()), Decimal(0))


def print_summary(s: PremiumSummary, out: Path, console) -> None:
    from rich.table import Table
    console.print(f"[green]✓[/green] assessed {s.members:,} members in {s.seconds:.1f} s → {out}")
    table = Table(show_header=True, header_style="bold")
    table.add_column("contribution / subsidy")
    table.add_column("yuan", justify="right")
    for name, t in s.by_contribution.items():
        table.add_row(f"[bold]{s.labels.get(name, name)}[/bold] ({name}): premium", f"{t['premium']:,.2f}")
        for (c, sub), granted in s.subsidies.items():
            if c == name:
                table.add_row(f"  subsidy {s.labels.get((c, sub), sub)} ({sub})", f"{granted:,.2f}")
        table.add_row("  members owe", f"{t['owes']:,.2f}")
    table.add_row("[bold]members owe (all contributions)[/bold]", f"{s.owes:,.2f}")
    table.add_row("subsidised (all contributions)", f"{s.subsidised:,.2f}")
    console.print(table)
    if s.households is not None and s.households.num_rows:
        n = s.households.num_rows
        console.print(f"{n:,} household{'s' if n != 1 else ''} → {households_path(out)}")
    if s.rejected:
        console.print(f"[yellow]{s.rejected:,} rows rejected[/yellow] → {out}.rejects.csv")
        for reason, count in sorted(s.reasons.items(), key=lambda kv: -kv[1]):
            console.print(f"  {count:>8,}  {reason}", markup=False)


def settle_premiums_command(program, paths: list[Path], out: Path, members: Path | None, columns: dict[str, str],
                            scheduler: str | None, console, ledger: str | None = None) -> PremiumSummary:
    """``medrules settle`` on a rulebook of contributions: the tables named ARE the member tables."""
    if members is not None:
        raise MedrulesError(error("columns", "'--members' is for claim files: this rulebook states contributions, "
                                  "and the files named are the member tables", None,
                                  f"settle them as: medrules settle RULEBOOK {members} --out RESULTS"))
    if scheduler is not None:
        raise MedrulesError(error("columns", "'--scheduler' is not available for premiums (contributions)", None,
                                  "assess the member tables on this machine (without --scheduler)"))
    if ledger is not None:
        raise MedrulesError(error("columns", "'--ledger' records decisions on claims: this rulebook states "
                                  "contributions, and the ledger has no premiums", None,
                                  "assess the member tables without --ledger"))
    summary = assess_files(_vector(program), paths, out, columns)
    print_summary(summary, out, console)
    return summary


# ---------------------------------------------------------------- the Python API
def assess_table(rulebook, members, columns: dict[str, str] | None = None) -> tuple[pa.Table, pa.Table]:
    """Assess members given as a table (Arrow, pandas, polars or a dict of columns) under a rulebook of
    contributions (a path or a loaded :class:`~medrules.Program`): ``(results, rejects)``."""
    from medrules.batch.run import as_arrow
    program = rulebook if hasattr(rulebook, "plan") else medrules.load(rulebook)
    table = io.labelled(as_arrow(members, "members"), "members", 1)
    return assess_partition(_vector(program), table, dict(columns or {}))
