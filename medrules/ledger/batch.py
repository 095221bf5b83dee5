"""``medrules settle … --ledger URL``: the claims a batch settled, recorded in the ledger, member by member.

The batch settles on the vector backend (no trace). To record decisions that can be explained later,
each member's rows are turned back into a facts document (the values as given: the files' text) and
settled into the ledger on the traced path, one transaction and one idempotency key per member
(``Ledger.record_batch``): a run killed part-way and run again records each member once. Members the
batch rejected or held back (see OUT.rejects.csv) are not recorded. Each recorded claim is compared
with the batch's own result: a difference is reported (it would be a defect in one of the backends).
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import attrs

from medrules.diagnostics import MedrulesError
from medrules.ledger.sources import Rulebooks


@attrs.define
class Recorded:
    members: int = 0
    recorded: int = 0  # decisions this run added
    unchanged: int = 0
    refused: list = attrs.Factory(list)  # (member id, first diagnostic message)
    differences: list = attrs.Factory(list)  # (member, claim, fund, batch amount, ledger amount)


def member_documents(rb: Rulebooks, claim_paths, members: Path | None = None, columns: dict[str, str] | None = None,
                     skip: set[str] = frozenset()) -> list[dict]:
    """Each member's facts document from claim files (CSV, Parquet, JSON Lines, facts JSON), in file order."""
    import pyarrow as pa

    from medrules.batch import io
    checked = rb.versions[0].program.checked
    columns = dict(columns or {})
    types = {(kind, name): checked.field_types[field] for kind, fields in checked.records.items()
             for name, field in fields.items()}
    member_rows: dict[str, dict] = {}
    if members is not None:
        (path,) = io.expand([members])
        table = pa.concat_tables(list(io.read_batches(path)), promote_options="permissive")
        names = io.column_names(table.column_names, checked, columns, kinds=("member",))
        for row in table.to_pylist():
            record = _record(row, names, "member", types)
            member_rows.setdefault(str(record.get("id", "")), record)
    docs: dict[str, dict] = {}
    for path in io.expand(claim_paths):
        for table in io.read_batches(path):
            names = io.column_names(table.column_names, checked, columns, members_elsewhere=members is not None)
            openings = {c: c.split(".", 1)[1] if c.startswith("opening.") else c[len("opening_"):]
                        for c in table.column_names if c.startswith(("opening.", "opening_"))}
            openings |= {column: fact.split(".", 1)[1] for fact, column in columns.items()
                         if fact.startswith("opening.") and column in table.column_names}
            for row in table.to_pylist():
                member = _record(row, names, "member", types)
                member_id = str(member.get("id") or "")
                if not member_id or member_id in skip:
                    continue
                doc = docs.get(member_id)
                if doc is None:
                    doc = docs[member_id] = {"member": member_rows.get(member_id, member), "claims": []}
                    opening = {acc: row[c] for c, acc in openings.items() if row.get(c) not in (None, "")}
                    if opening:
                        doc["opening"] = opening
                doc["claims"].append(_record(row, names, "claim", types))
    return list(docs.values())


def _record(row: dict, names: dict, kind: str, types: dict) -> dict:
    out = {}
    for (k, field), column in names.items():
        if k != kind or row.get(column) in (None, ""):
            continue
        value = row[column]
        t = types.get((kind, field))
        if t is not None and t.unit == "bool":
            value = {"true": True, "false": False, "1": True, "0": False}.get(str(value).strip().lower(), value)
        elif t is not None and t.unit == "set":
            value = [x.strip() for x in str(value).split(";") if x.strip()]
        else:
            value = str(value)
        out[field] = value
    return out


def record(ledger, rb: Rulebooks, claim_paths, members=None, columns=None, skip=frozenset(),
           results=None, on_settled=None) -> Recorded:
    """Record the members of claim files in the ledger; compare with the batch's results table if given."""
    summary = Recorded()
    docs = member_documents(rb, claim_paths, members, columns, skip)

    def refused(doc, exc: MedrulesError):
        summary.refused.append((doc["member"].get("id"), exc.diagnostics[0].message))

    def settled(doc, decisions):
        summary.members += 1
        summary.recorded += sum(d.recorded for d in decisions)
        summary.unchanged += sum(not d.recorded for d in decisions)
        if on_settled is not None:
            on_settled(doc, decisions)

    decided = ledger.record_batch(rb, docs, on_error=refused, on_settled=settled)
    if results is not None:
        summary.differences = compare(results, decided)
    return summary


def compare(results, decided) -> list[tuple]:
    """Claims whose amount differs between the batch (vector backend) and the ledger (scalar, traced), for
    members whose claims in the ledger are those of the batch."""
    batch = {}
    for row in results.to_pylist():
        for key, value in row.items():
            if key.startswith("paid.") and value is not None:
                batch[(row["member_id"], row["claim_id"], key[5:])] = Decimal(str(value))
    claims_in_batch: dict[str, set] = {}
    for member, claim, _ in batch:
        claims_in_batch.setdefault(member, set()).add(claim)
    out = []
    for decisions in decided:
        if not decisions or {d.claim_id for d in decisions} != claims_in_batch.get(decisions[0].member_id):
            continue  # the ledger also holds claims of this member the batch did not see: not comparable
        for d in decisions:
            for f in d.funds:
                theirs = batch.get((d.member_id, d.claim_id, f.fund))
                if theirs is not None and theirs != f.paid:
                    out.append((d.member_id, d.claim_id, f.fund, theirs, f.paid))
    return out


def after_batch(url, rulebook, claim_paths, out: Path, members, columns, read, console) -> Recorded:
    """What ``medrules settle … --ledger URL`` does once the batch has written OUT: record its members."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from medrules.batch.run import rejects_path
    from medrules.ledger.sources import load_rulebooks
    from medrules.ledger.store import Ledger
    rb = load_rulebooks(rulebook, read=read)
    rejects = rejects_path(out)
    skip = set()
    if rejects.exists() and rejects.stat().st_size:
        skip = {m for m in pacsv.read_csv(rejects).column("member").to_pylist() if m}
    results = pq.read_table(out) if out.suffix.lower() in (".parquet", ".pq") else pacsv.read_csv(out)
    with Ledger.open(url) as ledger:
        summary = record(ledger, rb, claim_paths, members, columns, skip, results)
    console.print(f"ledger: {summary.members:,} members, {summary.recorded:,} decisions recorded, "
                  f"{summary.unchanged:,} unchanged", markup=False)
    for member, message in summary.refused:
        console.print(f"  not recorded: member {member}: {message}", markup=False)
    for member, claim, fund, theirs, ours in summary.differences:
        console.print(f"  differs: member {member} claim {claim} {fund}: batch {theirs}, ledger {ours}",
                      style="bold red", markup=False)
    return summary
