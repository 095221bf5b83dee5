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
                     skip: set[str] = frozenset(), histories: dict | None = None) -> list[dict]:
    """Each member's facts document from claim files (CSV, Parquet, JSON Lines, facts JSON), in file order.
    The facts are those of every version (a membership rulebook's and its schemes'); ``histories``: each
    history's records as a table (:func:`medrules.batch.vhistory.read_histories`), nested in the documents."""
    import pyarrow as pa

    from medrules.batch import io
    checked = rb.versions[0].program.checked
    columns = dict(columns or {})
    types = {}
    for v in rb.versions:
        ck = v.program.checked
        types |= {(kind, name): ck.field_types[field] for kind, fields in ck.records.items()
                  for name, field in fields.items() if (kind, name) not in types}
    if len(rb.versions) > 1:  # a column of a fact any version declares (each version's own mapping)
        io_names = io.column_names

        def column_names(schema_names, _checked, given, **kw):
            out = {}
            for v in rb.versions:
                ck = v.program.checked
                mine = {f: c for f, c in given.items() if f.startswith("opening.") or (
                    f.partition(".")[0] in ("member", "claim") and f.partition(".")[2] in ck.records.get(f.partition(".")[0], {}))}
                for key, column in io_names(schema_names, ck, mine, **kw).items():
                    out.setdefault(key, column)
            return out
    else:
        column_names = io.column_names
    member_rows: dict[str, dict] = {}
    if members is not None:
        (path,) = io.expand([members])
        table = pa.concat_tables(list(io.read_batches(path)), promote_options="permissive")
        names = column_names(table.column_names, checked, columns, kinds=("member",))
        for row in table.to_pylist():
            record = _record(row, names, "member", types)
            member_rows.setdefault(str(record.get("id", "")), record)
    docs: dict[str, dict] = {}
    for path in io.expand(claim_paths):
        for table in io.read_batches(path):
            names = column_names(table.column_names, checked, columns, members_elsewhere=members is not None)
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
    if histories:
        _nest_histories(rb, docs, histories, columns, types)
    return list(docs.values())


def _nest_histories(rb: Rulebooks, docs: dict, tables: dict, columns: dict[str, str], types: dict) -> None:
    """Each member's history records (``--history`` tables) nested in its document (``"periods": [{…}]``), in
    file order; a member without records gets an empty list (it has none, as the batch read it)."""
    from medrules.check.declarations import history_key
    from medrules.check.types import histories as kinds
    declared: dict[str, object] = {}
    for v in rb.versions:
        for kind in kinds(v.program.checked.records):
            declared.setdefault(kind, v.program.checked)
    for kind, ck in declared.items():
        for name, field in ck.records[kind].items():
            types.setdefault((kind, name), ck.field_types[field])
        table = tables.get(kind)
        for doc in docs.values():
            doc.setdefault(history_key(kind), [])
        if table is None:
            continue
        key = columns.get(f"{kind}.member_id") or next(
            (c for c in ("member_id", "member.id", f"{kind}.member_id", "id") if c in table.column_names), None)
        if key is None:
            continue  # the batch refused the run already (no member id column)
        names = {}
        for field in ck.records[kind]:
            column = columns.get(f"{kind}.{field}") or next(
                (c for c in (f"{kind}.{field}", f"{kind}_{field}", field) if c in table.column_names), None)
            if column is not None:
                names[(kind, field)] = column
        for row in table.to_pylist():
            doc = docs.get(str(row.get(key) or ""))
            if doc is not None:
                doc[history_key(kind)].append(_record(row, names, kind, types))


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
           results=None, on_settled=None, histories: dict | None = None) -> Recorded:
    """Record the members of claim files in the ledger; compare with the batch's results table if given.
    ``histories``: each history's records as a table, as the batch read them."""
    summary = Recorded()
    docs = member_documents(rb, claim_paths, members, columns, skip, histories)

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


def after_batch(url, rulebook, claim_paths, out: Path, members, columns, read, console,
                histories: list[str] = ()) -> Recorded:
    """What ``medrules settle … --ledger URL`` does once the batch has written OUT: record its members.
    ``histories``: the ``--history NAME=FILE`` options, read as the batch read them."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from medrules.batch.run import rejects_path
    from medrules.ledger.sources import load_rulebooks
    from medrules.ledger.store import Ledger
    rb = load_rulebooks(rulebook, read=read)
    tables = _history_tables(rb, histories, claim_paths)
    rejects = rejects_path(out)
    skip = set()
    if rejects.exists() and rejects.stat().st_size:
        skip = {m for m in pacsv.read_csv(rejects).column("member").to_pylist() if m}
    results = pq.read_table(out) if out.suffix.lower() in (".parquet", ".pq") else pacsv.read_csv(out)
    with Ledger.open(url) as ledger:
        summary = record(ledger, rb, claim_paths, members, columns, skip, results, histories=tables)
    console.print(f"ledger: {summary.members:,} members, {summary.recorded:,} decisions recorded, "
                  f"{summary.unchanged:,} unchanged", markup=False)
    for member, message in summary.refused:
        console.print(f"  not recorded: member {member}: {message}", markup=False)
    for member, claim, fund, theirs, ours in summary.differences:
        console.print(f"  differs: member {member} claim {claim} {fund}: batch {theirs}, ledger {ours}",
                      style="bold red", markup=False)
    return summary


def _history_tables(rb: Rulebooks, pairs: list[str], claim_paths) -> dict | None:
    """The records of each history the rulebooks declare, from ``--history`` files and nesting facts files."""
    from medrules.batch import io
    from medrules.batch.vhistory import declared, history_options, read_histories
    checked = next((v.program.checked for v in reversed(rb.versions) if declared(v.program.checked)), None)
    if checked is None:
        return None
    return read_histories(history_options(list(pairs), checked), io.expand(claim_paths), checked)
