"""``medrules explain RULEBOOK --results RESULTS --claims CLAIMS… --claim ID``: a claim of a batch, explained.

The batch (``medrules settle``, the vector backend) writes one row per claim with the plan that settled it
(``plan``: its SHA-256, see :func:`medrules.batch.run.plan_hash`). To explain one of them:

1. find the claim's row in RESULTS (its member, its rulebook version, its plan);
2. check that RULEBOOK (with the same ``--reading`` choices) lowers to that very plan, else stop: the
   explanation would be of other rules;
3. read that member's rows from the claims input, with ``medrules settle``'s readers and column mapping
   (``--members``, ``--column``, ``--columns``): the claims the batch settled with this version;
4. settle the member on the traced scalar backend (what ``medrules explain`` shows), and
5. check every amount of the row (each fund's payment, the total, what the member pays, the accumulators
   after the claim) against the traced settlement: a difference is a located error, never an explanation
   of amounts the batch did not pay.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import attrs

from medrules.diagnostics import MedrulesError, error


@attrs.frozen
class FromResults:
    """What ``explain`` needs: the version's program, the member's facts, and the row to check against."""

    program: object
    facts: object
    claim: str
    row: dict
    where: str  # 'RESULTS row N'
    source: object = None  # a membership rulebook: the member's facts file, settled by medrules.membership
    settlement: object = None  # quotas shared by households: the person's, settled with the claim's group
    household: str | None = None  # … and the claim's household (medrules.batch.hexplain)


def from_results(rulebook: Path, results: Path, claim_paths: list[Path], claim: str, members: Path | None = None,
                 columns: dict[str, str] | None = None, read=None, readings: dict[str, str] | None = None,
                 histories: dict[str, str] | None = None) -> FromResults:
    from medrules.batch.run import load_rulebooks, plan_hash
    if not claim_paths:
        raise MedrulesError(error("explain", "--results needs the claims input the batch settled: --claims FILE",
                                  None, f"give the claim files of 'medrules settle', e.g. --claims claims.csv "
                                        f"--results {results}"))
    row, number = _row(results, claim)
    rb = load_rulebooks(rulebook, read=read, readings=readings)
    where = f"{results} row {number}"
    vp = next((v for v in rb.versions if v.program.checked.id == row.get("rulebook")), None)
    if vp is None:
        ids = ", ".join(v.program.checked.id for v in rb.versions)
        raise MedrulesError(error("explain", f"{where}: claim '{claim}' was settled by rulebook "
                                  f"'{row.get('rulebook')}', not by {rulebook} ({ids})", None,
                                  "explain it with the rulebook (or policy-year folder) the batch settled"))
    expected = row.get("plan")
    if not expected:
        raise MedrulesError(error("explain", f"{where}: these results do not say which plan settled them (no "
                                  "'plan' column: written by an older medrules)", None,
                                  "settle the claims again to get results that can be explained"))
    got = plan_hash(vp)
    if got != expected:
        raise MedrulesError(error("explain", f"{where}: claim '{claim}' was settled by another plan of "
                                  f"'{vp.program.checked.id}' (plan {expected[:12]}…; {rulebook} gives "
                                  f"{got[:12]}…): the rules, a parameter or a reading differ", None,
                                  "explain with the rulebook and the --reading choices the batch was settled "
                                  "with, or settle again"))
    from medrules.evaluate.quota import keeps_quotas
    if not getattr(vp, "membership", False) and keeps_quotas(vp.program.plan):  # settled with its households
        from medrules.batch.hexplain import household_found
        found = household_found(rb, vp, claim_paths, row, claim, members, columns or {}, histories or {}, where)
        if found is not None:
            _has_claim(found.facts.claims, claim, row, results, claim_paths)
            return found
    doc = _member_document(rb, vp, claim_paths, str(row["member_id"]), members, columns or {})
    _add_histories(doc, vp, claim_paths, str(row["member_id"]), histories or {}, columns or {})
    _has_claim([c.get("id") for c in doc["claims"]], claim, row, results, claim_paths)
    from medrules.facts import facts_from_source
    from medrules.source import SourceFile
    text = json.dumps(doc, ensure_ascii=False, indent=1, default=str)
    source = SourceFile(f"{claim_paths[0]} (member {row['member_id']})", text)
    if getattr(vp, "membership", False):  # settled (and checked) by the scheme of each claim's date
        return FromResults(vp.program, None, claim, row, where, source)
    return FromResults(vp.program, facts_from_source(source, vp.program.checked), claim, row, where)


def _has_claim(claims, claim: str, row: dict, results, claim_paths) -> None:
    if not any(str(getattr(c, "id", c)) == claim for c in claims):
        raise MedrulesError(error("explain", f"claim '{claim}' of member '{row['member_id']}' is in {results} but "
                                  f"not in the claims input ({', '.join(str(p) for p in claim_paths)})", None,
                                  "give the claim files the batch settled"))


def _checked_all(vp) -> list:
    """The rulebooks whose facts a version reads: the rulebook, or a membership's router and schemes."""
    return [vp.program.checked] + [t.program.checked for t in getattr(vp, "targets", ())]


def _add_histories(doc: dict, vp, claim_paths, member_id: str, files: dict[str, str], columns: dict) -> None:
    """The member's history records (from --history files or the facts files that nest them), in order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from medrules.batch import io
    from medrules.batch.vhistory import declared, read_histories
    from medrules.check.declarations import history_key
    with_histories = [ck for ck in _checked_all(vp) if declared(ck)]
    if not with_histories:
        return
    kinds = [k for ck in with_histories for k in declared(ck)]
    files = {next((k for k in kinds if name in (k, history_key(k))), name): f for name, f in files.items()}
    tables = read_histories(files, io.expand(claim_paths), with_histories[-1])
    for ck in with_histories:
        for kind in declared(ck):
            table = tables.get(kind)
            if table is None or history_key(kind) in doc:
                continue
            key = columns.get(f"{kind}.member_id") or next(
                (c for c in ("member_id", "member.id", f"{kind}.member_id", "id") if c in table.column_names), None)
            if key is None:
                continue
            mine = table.filter(pc.equal(pc.cast(table.column(key), pa.string()), member_id)).to_pylist()
            records = []
            for row in mine:
                record = {}
                for field in ck.records[kind]:
                    column = columns.get(f"{kind}.{field}") or next(
                        (c for c in (f"{kind}.{field}", f"{kind}_{field}", field) if c in row), None)
                    if column is not None and row.get(column) not in (None, ""):
                        value = row[column]
                        t = ck.field_types[ck.records[kind][field]]
                        if t.unit == "bool":
                            value = {"true": True, "false": False, "1": True, "0": False}.get(
                                str(value).strip().lower(), value)
                        record[field] = value if t.unit == "bool" else str(value)
                records.append(record)
            doc[history_key(kind)] = records


def _row(results: Path, claim: str) -> tuple[dict, int]:
    """The results row of a claim (and its number, 1 for the first row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from medrules.batch import io
    if not Path(results).exists():
        raise MedrulesError(error("io", f"no such results file: {results}", None,
                                  "give the --out file of 'medrules settle'"))
    try:
        (path,) = io.expand([results])
        batches = list(io.read_batches(path))
        table = pa.concat_tables(batches, promote_options="permissive") if batches else None
    except MedrulesError:
        raise
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
        raise MedrulesError(error("io", f"cannot read the results {results}: {exc}", None,
                                  "give the --out file of 'medrules settle' (.parquet or .csv)")) from None
    if table is None:  # a batch that settled no claim (every row rejected) writes no rows
        raise MedrulesError(error("explain", f"there is no claim '{claim}' in {results}: it has no claims", None,
                                  _rejected(results, claim) or "the batch settled no claim: see its rejects file"))
    if "claim_id" not in table.column_names or "member_id" not in table.column_names:
        raise MedrulesError(error("explain", f"{results} is not a results file of 'medrules settle' (no claim_id "
                                  "and member_id columns)", None, "give the --out file of 'medrules settle'"))
    ids = pc.cast(table.column("claim_id"), pa.string())
    at = pc.indices_nonzero(pc.equal(ids, claim)).to_pylist()
    if not at:
        raise MedrulesError(error("explain", f"there is no claim '{claim}' in {results}", None,
                                  _rejected(results, claim) or f"the file has {table.num_rows:,} claims, e.g. "
                                  + ", ".join(str(x) for x in ids.slice(0, 3).to_pylist())))
    if len(at) > 1:
        who = sorted({str(table.column("member_id")[i].as_py()) for i in at})
        raise MedrulesError(error("explain", f"claim id '{claim}' is in {results} {len(at)} times (members "
                                  f"{', '.join(who[:5])})", None,
                                  "explain it from the member's facts file: medrules explain RULEBOOK FACTS"))
    row = table.slice(at[0], 1).to_pylist()[0]
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()}, at[0] + 1


def _rejected(results: Path, claim: str) -> str | None:
    """Why the batch rejected a claim, from RESULTS.rejects.csv (a hint), if it did."""
    import csv
    path = Path(str(results) + ".rejects.csv")
    if not path.exists():
        return None
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row.get("claim") == claim:
                return (f"the batch rejected it ({path.name}, {row.get('file')} row {row.get('row')}): "
                        f"{row.get('reason')}")
    return None


def _member_document(rb, vp, claim_paths, member_id: str, members, columns: dict[str, str]) -> dict:
    """The member's facts document from the claims input, as the batch read it: the member's rows (in file
    order) whose date puts them under this version."""
    doc = _member_documents(rb, vp, claim_paths, [member_id], members, columns).get(member_id)
    if doc is None:
        raise MedrulesError(error("explain", f"member '{member_id}' has no rows in the claims input "
                                  f"({', '.join(str(p) for p in claim_paths)})", None,
                                  "give the claim files the batch settled"))
    return doc


def _member_documents(rb, vp, claim_paths, member_ids, members, columns: dict[str, str]) -> dict[str, dict]:
    """The facts documents of the members (id → document) that have rows in the claims input, in one pass."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from medrules.batch import io
    from medrules.batch.run import read_members
    from medrules.ledger.batch import _record
    every = _checked_all(vp)  # a membership: the facts of the router and of every scheme
    types = {(kind, name): ck.field_types[field] for ck in reversed(every) for kind, fields in ck.records.items()
             for name, field in fields.items()}
    wanted = pa.array([str(m) for m in member_ids], pa.string())
    docs: dict[str, dict] = {}
    for path in io.expand(claim_paths):
        for table in io.read_batches(path):
            names = {}
            for ck in reversed(every):
                names |= io.column_names(table.column_names, ck, columns, members_elsewhere=members is not None)
            key = names.get(("member", "id"))
            if key is None:
                raise MedrulesError(error("columns", f"no column of '{path}' gives the member id", None,
                                          "name it member_id or member.id, or map it: --column member.id=COLUMN"))
            ids = pc.cast(table.column(key), pa.string())
            mine = table.filter(pc.is_in(ids, value_set=wanted))
            openings = {c: c.split(".", 1)[1] if c.startswith("opening.") else c[len("opening_"):]
                        for c in table.column_names if c.startswith(("opening.", "opening_"))}
            openings |= {column: fact.split(".", 1)[1] for fact, column in columns.items()
                         if fact.startswith("opening.") and column in table.column_names}
            for row, who in zip(mine.to_pylist(), pc.cast(mine.column(key), pa.string()).to_pylist()):
                doc = docs.get(who)
                if doc is None:
                    doc = docs[who] = {"member": _record(row, names, "member", types), "claims": []}
                    opening = {acc: str(row[c]) for c, acc in openings.items() if row.get(c) not in (None, "")}
                    if opening:
                        doc["opening"] = opening
                doc["claims"].append(_record(row, names, "claim", types))
    if members is not None and docs:
        table = read_members(members)
        names = {}
        for ck in reversed(every):
            names |= io.column_names(table.column_names, ck, columns, kinds=("member",))
        key = names.get(("member", "id"))
        if key is not None:
            ids = pc.cast(table.column(key), pa.string())
            mine = table.filter(pc.is_in(ids, value_set=pa.array(list(docs), pa.string())))
            seen: set[str] = set()
            for row, who in zip(mine.to_pylist(), pc.cast(mine.column(key), pa.string()).to_pylist()):
                if who not in seen:  # the member's first row of the members table
                    seen.add(who)
                    docs[who]["member"] = _record(row, names, "member", types)
    for doc in docs.values():
        if len(rb.versions) > 1:  # a policy-year folder: the claims the batch settled under this version
            doc["claims"] = [c for c in doc["claims"] if _version(rb, c.get(rb.dated_by)) is vp]
    return docs


def _version(rb, day):
    try:
        day = dt.date.fromisoformat(str(day)[:10])
    except ValueError:
        return None
    for vp in rb.versions:  # the first version in force on the day, as the batch chooses it
        h = vp.program.checked.rulebook.header
        if (h.effective_from is None or day >= h.effective_from) and (h.effective_to is None or day <= h.effective_to):
            return vp
    return None


def check(found: FromResults, settlement, settled_by: str | None = None) -> None:
    """Every amount of the results row against the traced settlement of the same plan: a difference is an
    error naming the row, the column and both amounts (it would be a defect in one of the backends)."""
    claim = next((c for c in settlement.claims if c.id == found.claim), None)
    if claim is None:
        raise MedrulesError(error("explain", f"{found.where}: claim '{found.claim}' was not settled from the claims "
                                  "input (is it dated outside the rulebook's years?)"))
    pairs = [(f"paid.{f.fund}", f.paid) for f in claim.funds]
    pairs += [("total_cost", claim.total_cost), ("member_pays", claim.member_pays)]
    pairs += [(f"after.{a}", v) for a, v in claim.accumulators.items()]
    if settled_by is not None:  # a membership: the rulebook of the claim's scheme, as the batch chose it
        pairs.append(("settled_by", settled_by))
    problems = []
    for column, amount in pairs:
        if column == "settled_by":
            if found.row.get("settled_by") != amount:
                problems.append(f"settled_by is {found.row.get('settled_by')} in the results, {amount} when "
                                "settled again (traced)")
            continue
        if column not in found.row:
            problems.append(f"the results have no column '{column}'")
            continue
        batch = found.row[column]
        if batch is None or Decimal(str(batch)) != Decimal(amount):
            problems.append(f"{column} is {batch} in the results, {amount} when settled again (traced)")
    if problems:
        raise MedrulesError(error("explain", f"{found.where}: claim '{found.claim}' does not settle to the amounts "
                                  "of the results under the same plan: " + "; ".join(problems), None,
                                  "this is a defect (the vector and scalar backends must agree to the fen): "
                                  "please report it with the rulebook and this member's claims"))
