"""Claim files in, results out: CSV, Parquet, JSON Lines, and medrules facts JSON (a file or a folder).

Files are read in batches (CSV and Parquet stream; a JSON Lines or facts file is read whole),
each row keeping its file and its row number (1 = the first data row) for the rejects file.
Every column is read as text; :mod:`medrules.batch.validate` gives it its type.
"""
from __future__ import annotations

import csv

import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from medrules.check import CheckedRulebook
from medrules.check.context import did_you_mean
from medrules.diagnostics import MedrulesError, error

FILE, ROW = "__file", "__row"
SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl",
            ".json": "facts"}


def expand(paths: list[str | Path]) -> list[Path]:
    """Files named, and the claim files inside folders named (sorted)."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in SUFFIXES)
            if not found:
                raise MedrulesError(error("io", f"no claim files (CSV, Parquet, JSON Lines, facts JSON) in {p}"))
            out += found
        elif p.exists():
            if p.suffix.lower() not in SUFFIXES:
                raise MedrulesError(error("io", f"'{p}' is not a claim file I can read",
                                          hint="name it .csv, .parquet, .jsonl or .json"))
            out.append(p)
        else:
            raise MedrulesError(error("io", f"cannot read '{p}': no such file or folder"))
    return out


def estimate_rows(paths: list[Path]) -> int:
    total = 0
    for p in paths:
        if SUFFIXES[p.suffix.lower()] == "parquet":
            total += pq.ParquetFile(p).metadata.num_rows
        else:
            total += p.stat().st_size // 60
    return total


def labelled(batch: pa.RecordBatch | pa.Table, file: str, first: int) -> pa.Table:
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    n = table.num_rows
    files = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([file])).cast(pa.string())
    table = table.append_column(FILE, files)
    return table.append_column(ROW, pa.array(np.arange(first, first + n), pa.int64()))


def read_batches(path: Path, batch_rows: int = 500_000) -> Iterator[pa.Table]:
    kind = SUFFIXES[path.suffix.lower()]
    name = str(path)
    try:
        if kind == "csv":
            with open(path, "rb") as f:
                head = f.readline().decode("utf-8-sig")
            # the header's names as text (read by pyarrow, a name such as "NaN" or "2012-01-01" was a number
            # or a date, and an empty one None: an internal error, issue 13)
            names = next(csv.reader([head.rstrip("\r\n")]), [])
            reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 24),
                                    convert_options=pacsv.ConvertOptions(
                                        column_types={c: pa.string() for c in names}, strings_can_be_null=True))
            first = 1
            for batch in reader:
                yield labelled(batch, name, first)
                first += batch.num_rows
        elif kind == "parquet":
            first = 1
            for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
                yield labelled(batch, name, first)
                first += batch.num_rows
        elif kind == "jsonl":
            yield labelled(pajson.read_json(path), name, 1)
        else:
            yield labelled(facts_file_table(path), name, 1)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise MedrulesError(error("io", f"cannot read '{path}': {exc}",
                                  csv_problem_at(path) if kind == "csv" else None)) from None


def csv_problem_at(path: Path):
    """Where a CSV file stops being read (pyarrow's message names no line): the first byte that is not UTF-8,
    or the first row whose number of fields is not the header's. None if neither is found."""
    from medrules.source import Span, position_of
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Span(str(path), *position_of(data, exc.start))
    rows = csv.reader(text.splitlines(keepends=True))
    width = None
    try:
        for row in rows:
            if width is None:
                width = len(row)
            elif row and len(row) != width:
                return Span(str(path), rows.line_num, 1)
    except csv.Error:
        return Span(str(path), rows.line_num, 1)
    return None


def facts_file_table(path: Path) -> pa.Table:
    """A facts JSON file (docs/facts.md) as rows: one per claim, with the member's facts as member.* columns."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, OSError) as exc:
        raise MedrulesError(error("io", f"'{path}' is not a facts file: {exc}",
                                  hint="check it with: medrules run RULEBOOK FILE")) from None
    member = doc.get("member", {}) if isinstance(doc, dict) else {}
    claims = doc.get("claims", []) if isinstance(doc, dict) else []
    rows = []
    for claim in claims if isinstance(claims, list) else []:
        row = {f"member.{k}": _text(v) for k, v in member.items()}
        row |= {f"opening.{k}": _text(v) for k, v in (doc.get("opening") or {}).items()}
        row |= {f"claim.{k}": _text(v) for k, v in (claim.items() if isinstance(claim, dict) else [])}
        rows.append(row)
    names = sorted({k for r in rows for k in r})
    return pa.table({k: pa.array([r.get(k) for r in rows], pa.string()) for k in names})


def _text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return ";".join(map(str, v))
    return str(v)


# ---------------------------------------------------------------- columns → facts
def column_names(schema_names: list[str], checked: CheckedRulebook, given: dict[str, str],
                 kinds=("member", "claim"), members_elsewhere: bool = False) -> dict[tuple[str, str], str]:
    """Which column holds each declared fact: ``given`` (``claim.compliant_cost`` → ``cost``) first, then a
    column named ``claim.compliant_cost`` or ``claim_compliant_cost``, then ``compliant_cost`` when only one
    record declares that name."""
    names = set(schema_names)
    out = {}
    declared = {(k, f) for k in kinds for f in checked.records.get(k, {})}
    for fact, column in given.items():
        record, _, field = fact.partition(".")
        if record == "opening" or (record not in kinds and record in ("member", "claim")):
            continue  # opening values are read with the member's facts; the other table's facts elsewhere
        if members_elsewhere and record == "member" and field != "id" and column not in names:
            continue  # two tables: a member fact mapped to a column of the members file
        if (record, field) not in declared:
            raise MedrulesError(error("columns", f"'{fact}' is not a declared fact", None,
                                      did_you_mean(fact, [f"{k}.{f}" for k, f in declared])
                                      or "name facts as member.FIELD or claim.FIELD"))
        if column not in names:
            raise MedrulesError(error("columns", f"there is no column '{column}' (for {fact})", None,
                                      did_you_mean(column, sorted(names)) or "columns: " + ", ".join(sorted(names))))
        out[(record, field)] = column
    for record, field in sorted(declared):
        if (record, field) in out:
            continue
        for candidate in (f"{record}.{field}", f"{record}_{field}"):
            if candidate in names:
                out[(record, field)] = candidate
                break
        else:
            unique = sum(field in checked.records.get(k, {}) for k in kinds) == 1
            if unique and field in names:
                out[(record, field)] = field
    return out


def member_keys(ids: np.ndarray, partitions: int) -> np.ndarray:
    """A member's partition: crc32 of its id (stable across batches, files and runs)."""
    if partitions == 1:
        return np.zeros(len(ids), np.int64)
    unique, inverse = np.unique(ids.astype(str), return_inverse=True)
    keys = np.array([zlib.crc32(u.encode()) % partitions for u in unique], np.int64)
    return keys[inverse]


# ---------------------------------------------------------------- results out
class Writer:
    """Results to Parquet or CSV by the suffix of ``--out``, appended partition by partition."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in (".parquet", ".pq", ".csv"):
            raise MedrulesError(error("io", f"results go to a .parquet or .csv file, not '{self.path.name}'"))
        self.csv = suffix == ".csv"
        self._writer = None
        self._schema = None

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._schema = table.schema
            self._writer = (pacsv.CSVWriter(self.path, table.schema) if self.csv
                            else pq.ParquetWriter(self.path, table.schema))
        self._writer.write_table(table.cast(self._schema))

    def close(self, schema: pa.Schema | None = None) -> None:
        if self._writer is None and schema is not None:
            self.write(schema.empty_table())
        if self._writer is not None:
            self._writer.close()


def decimal_column(values: np.ndarray, scale: int) -> pa.Array:
    """Integers in units of 10^-scale yuan as an exact decimal column (built from the integers' bytes: a
    decimal128 is the 128-bit integer of its unscaled value)."""
    values = np.asarray(values, np.int64)
    words = np.empty((len(values), 2), np.int64)
    words[:, 0] = values
    words[:, 1] = values >> 63  # the sign, extended to 128 bits
    return pa.Array.from_buffers(pa.decimal128(20 + scale, scale), len(values), [None, pa.py_buffer(words)])
