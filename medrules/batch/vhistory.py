"""Histories on the vector backend: ``any/every/count/sum/latest/earliest(NAME, …)`` over each member's records.

A history (``facts period { … }``, docs/language.md §21) is a list of records per member. In columns it is one
:class:`History` per name: the records of all members, sorted by member (each member's in the order given),
with ``offsets`` saying where each member's records start (``offsets[m]`` to ``offsets[m + 1]``).

A function over a history is evaluated for every claim row of a wave at once, record by record: step k reads
the k-th record of each row's member (a gather by ``offsets[member] + k``), evaluates the condition on a
sub-wave of the rows that have a k-th record and are still undecided, and folds the result in. This is the
scalar backend's loop (:func:`medrules.evaluate.compile._over_history`) turned sideways, and it keeps its
short-circuits exactly: ``any`` stops at a member's first record that holds and ``every`` at the first that
fails (a later record is never read, so a missing optional field of it is no error); ``count`` reads every
record's condition; ``sum``, ``latest`` and ``earliest`` read the value only of the records whose condition
holds; ``latest``/``earliest`` keep the first of equal values and read their ``otherwise`` only for rows where
no record held. The number of steps is the longest history among the rows (a handful in practice); every
step is vectorised over the claims.

Everything stays exact: counts are integers (× 10^4, the count scale), sums add scaled integers, dates are
day numbers.
"""
from __future__ import annotations

import attrs
import numpy as np

from medrules.batch.columns import SCALES, Table, encode_records
from medrules.diagnostics import MedrulesError, error

MEMBER = "__member__"  # a member column the backend adds: each row's member (a row of the members table)


@attrs.frozen
class History:
    """One history's records, all members: ``table`` (sorted by member) and ``offsets`` (n_members + 1)."""

    table: Table
    offsets: np.ndarray

    @staticmethod
    def empty(n_members: int) -> History:
        return History(Table({}), np.zeros(n_members + 1, np.int64))

    @staticmethod
    def of(table: Table, owner: np.ndarray, n_members: int) -> History:
        """Records in any order, ``owner[i]`` the member of record i: sorted by member (stable: a member's
        records keep their order)."""
        owner = np.asarray(owner, np.int64)
        order = np.argsort(owner, kind="stable")
        counts = np.bincount(owner, minlength=n_members) if len(owner) else np.zeros(n_members, np.int64)
        offsets = np.zeros(n_members + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        return History(table.take(order) if len(owner) else table, offsets)


def histories_of(checked, members: list[tuple[dict, list[dict]]], histories: list[dict]) -> dict[str, History]:
    """Validated records (as :mod:`medrules.facts` gives them: ``{name: (record dict, …)}`` per member) as
    columns: one :class:`History` per history the rulebook declares."""
    from medrules.check.types import histories as kinds
    out = {}
    for name in kinds(checked.records):
        records, owner = [], []
        for m, h in enumerate(histories):
            for r in h.get(name, ()):
                records.append(r)
                owner.append(m)
        out[name] = History.of(encode_records(checked, name, records), np.array(owner, np.int64), len(members))
    return out


def over_history(comp, e):
    """The compiled column function of ``any/every/count/sum/latest/earliest(NAME, …)`` (e a plan Call)."""
    from medrules.batch.vector import V, Gathered
    name = e.args[0].value
    func = e.func
    fs = [comp.expr(x) for x in e.args[1:]]
    scale = None
    if func == "count":
        scale = SCALES["count"]
    elif func == "sum":
        scale = fs[0].scale
    elif func in ("latest", "earliest") and fs[0].scale is not None:
        (fs[0], fs[2]), scale = comp.aligned([fs[0], fs[2]])

    def fn(w, m):
        history = w.hist.get(name)
        if history is None:
            raise MedrulesError(error("vector", f"the rulebook reads the history '{name}' but the batch was "
                                      "given no records of it", getattr(e.node, "span", None),
                                      f"give its records: --history {name}=FILE"))
        who = w.member[MEMBER]
        start = history.offsets[who]
        count = history.offsets[who + 1] - start
        n = w.n
        decided = ~m  # rows outside the mask are never read
        if func in ("any", "every"):
            result = np.full(n, func == "every")
        elif func in ("count", "sum"):
            result = np.zeros(n, np.int64)
        else:
            result = np.zeros(n, np.int64)
            found = np.zeros(n, bool)
        k = 0
        while True:
            rows = np.flatnonzero(~decided & (count > k))
            if not len(rows):
                break
            sub = w.subset(rows)
            at = start[rows] + k
            sub.item = sub.item | {name: Gathered(history.table.values, at)}
            sub.given = sub.given | {name: Gathered(history.table.given, at)}
            ones = np.ones(len(rows), bool)
            if func in ("any", "every"):
                held = np.asarray(fs[0](sub, ones), bool) & ones
                hit = held if func == "any" else ~held
                result[rows[hit]] = func == "any"
                decided[rows[hit]] = True
            elif func == "count":
                held = np.asarray(fs[0](sub, ones), bool) & ones
                result[rows] += held.astype(np.int64) * 10 ** scale
            else:
                held = np.asarray(fs[1](sub, ones), bool) & ones
                value = np.broadcast_to(fs[0](sub, held), (len(rows),))
                if func == "sum":
                    result[rows] += np.where(held, value, 0)
                else:
                    best = result[rows]
                    was = found[rows]
                    better = held & (~was | ((value > best) if func == "latest" else (value < best)))
                    result[rows] = np.where(better, value, best)
                    found[rows] = was | held
            bad = sub.error != 0
            if bad.any():  # a record the condition could not read: the claim's member is refused
                w.error[rows[bad]] = np.where(w.error[rows[bad]] == 0, sub.error[bad], w.error[rows[bad]])
                w.failed = True
                decided[rows[bad]] = True
            k += 1
        if func in ("latest", "earliest"):
            other = m & ~found
            if other.any():
                result = np.where(other, np.broadcast_to(fs[2](w, other), (n,)), result)
        return result
    return V(fn, scale, e.node)


# ---------------------------------------------------------------- histories in a batch's input
HISTORY_FILE = "__history"  # the history a row of a facts file's history table belongs to


def declared(checked) -> list[str]:
    """The histories a rulebook declares ('period', 'interruption'), in declaration order."""
    from medrules.check.types import histories
    return list(histories(checked.records))


def history_options(pairs: list[str], checked) -> dict[str, str]:
    """``--history NAME=FILE`` options: history name → file (NAME is the record kind, ``interruption``, or the
    facts file's key, ``interruptions``)."""
    from medrules.check.context import did_you_mean
    from medrules.check.declarations import history_key
    kinds = declared(checked)
    out = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        name = name.strip()
        name = next((k for k in kinds if name in (k, history_key(k))), name)
        if not sep or not path.strip():
            raise MedrulesError(error("history", f"'{pair}' is not NAME=FILE", None,
                                      "write e.g. --history interruption=interruptions.csv"))
        if name not in kinds:
            raise MedrulesError(error("history", f"'{name}' is not a history of '{checked.id}'", None,
                                      did_you_mean(name, kinds) or ("its histories: " + ", ".join(kinds) if kinds
                                                                    else "this rulebook declares no history")))
        out[name] = path.strip()
    return out


def read_histories(files: dict[str, str], claim_paths: list, checked) -> dict:
    """Every history's records as one Arrow table of text (with ``__file`` and ``__row``): from its
    ``--history`` file, and from the facts files (``.json``) among the claim files, which nest them
    (``"interruptions": [{…}, …]``, each row with the file's ``member.id``). A rulebook that declares
    histories needs its records from one of the two, else this is an error (never a silent empty history)."""
    import pyarrow as pa

    from medrules.batch import io
    kinds = declared(checked)
    if not kinds:
        if files:
            raise MedrulesError(error("history", f"'{checked.id}' declares no history: --history is not read",
                                      None, "leave out --history"))
        return {}
    nested = [p for p in claim_paths if io.SUFFIXES.get(p.suffix.lower()) == "facts"]
    out: dict[str, list] = {k: [] for k in kinds}
    for name, path in files.items():
        (p,) = io.expand([path])
        out[name] += list(io.read_batches(p))
    for p in nested:
        for name, table in facts_file_histories(p, kinds).items():
            out[name].append(table)
    missing = [k for k in kinds if k not in files and not nested]
    if missing:
        from medrules.check.declarations import history_key
        raise MedrulesError(error("history", f"'{checked.id}' reads each member's {history_key(missing[0])} "
                                  f"(facts {missing[0]}), and no file gives them", None,
                                  f"give them: --history {missing[0]}=FILE (CSV, Parquet or JSON Lines: a member_id "
                                  "column and the record's fields; a header only if no member has any), or settle "
                                  "facts files (.json) that nest them"))
    return {k: pa.concat_tables([t.cast(pa.schema([(f.name, pa.int64() if f.name == io.ROW else pa.string())
                                                   for f in t.schema])) for t in v], promote_options="permissive")
            for k, v in out.items() if v}


def facts_file_histories(path, kinds: list[str]) -> dict:
    """The history records a facts file nests, one table per history: ``member.id`` and the fields, as text."""
    import json

    import pyarrow as pa

    from medrules.batch import io
    from medrules.check.declarations import history_key
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, OSError) as exc:
        raise MedrulesError(error("io", f"'{path}' is not a facts file: {exc}")) from None
    member = doc.get("member") if isinstance(doc, dict) else None
    member_id = io._text(member.get("id")) if isinstance(member, dict) else None
    out = {}
    for kind in kinds:
        records = doc.get(history_key(kind)) if isinstance(doc, dict) else None
        rows = [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []
        names = sorted({k for r in rows for k in r})
        table = pa.table({"member.id": pa.array([member_id] * len(rows), pa.string())}
                         | {k: pa.array([io._text(r.get(k)) for r in rows], pa.string()) for k in names})
        out[kind] = io.labelled(table, f"{path} ({history_key(kind)})", 1)
    return out


def history_columns(checked, tables: dict, ids, columns: dict[str, str]):
    """The records of the members ``ids`` (a partition's distinct member ids, in member order), validated:
    (``{name: History}``, per member: why one of its records was rejected or None, the rejected records as
    (file, row, member, column, reason) rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from medrules.batch import io
    from medrules.batch.validate import Problems, as_text, validate_record
    n = len(ids)
    held = np.full(n, None, object)
    rejected = []
    out = {}
    for name in declared(checked):
        table = tables.get(name)
        if table is None:
            out[name] = History.empty(n)
            continue
        key = columns.get(f"{name}.member_id") or next(
            (c for c in ("member_id", "member.id", f"{name}.member_id", "id") if c in table.column_names), None)
        if key is None:
            raise MedrulesError(error("history", f"the records of '{name}' have no member id column", None,
                                      f"name it member_id, or map it: --column {name}.member_id=COLUMN"))
        who = np.asarray(pc.fill_null(as_text(table.column(key), key, "text"), "").to_numpy(zero_copy_only=False),
                         object)
        ids = np.asarray(ids, object)
        if n:
            sorter = np.argsort(ids)
            pos = np.minimum(np.searchsorted(ids, who, sorter=sorter), n - 1)
            owner = sorter[pos]
            mine = ids[owner] == who
        else:
            owner, mine = np.zeros(len(who), np.int64), np.zeros(len(who), bool)
        rows = np.flatnonzero(mine)
        part = table.take(pa.array(rows))
        names = {}
        for field in checked.records[name]:
            given = columns.get(f"{name}.{field}")
            if given is not None and given not in part.column_names:
                raise MedrulesError(error("columns", f"there is no column '{given}' (for {name}.{field}) among the "
                                          f"records of '{name}'", None, "columns: " + ", ".join(part.column_names)))
            names[field] = given or next((c for c in (f"{name}.{field}", f"{name}_{field}", field)
                                          if c in part.column_names), None)
        problems = Problems(len(rows))
        values = validate_record(part, checked, name, {f: c for f, c in names.items() if c}, problems)
        owner = owner[rows]
        for i in np.flatnonzero(problems.bad):
            m = owner[i]
            reason = f"{problems.reason[i]}"
            rejected.append((part.column(io.FILE)[i].as_py() if io.FILE in part.column_names else str(name),
                             int(part.column(io.ROW)[i].as_py()) if io.ROW in part.column_names else i + 1,
                             str(ids[m]), problems.column[i] or "", reason))
            if held[m] is None:
                held[m] = f"held back: a record of its history '{name}' was rejected ({reason})"
        out[name] = History.of(values, owner, n)
    return out, held, rejected
