"""Vectorised validation: Arrow columns → the column encoding of :mod:`medrules.batch.columns`, and rejects.

Every value is read from its text (a Parquet decimal, integer, date or boolean column is
first written as text, exactly), the way ``medrules run`` reads a facts file: money as
yuan with at most two decimals, never negative; dates ``YYYY-MM-DD`` and real calendar
days; enumeration members by name; rates with their unit (``"55%"``, ``"5 points"``).
A bad value does not stop anything: its row is listed with the column and the reason,
and its member's claims are held back.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from medrules.batch.columns import SCALES, Table, encode_value, enum_members, fields
from medrules.check import CheckedRulebook
from medrules.diagnostics import MedrulesError, error
from medrules.facts import _default

# at most 15 digits before the point: the value, scaled, fits the decimal and int64 it is cast to (a 40-digit
# age is a rejected row, not an internal error: issue 13)
_NUMBER = {"money": r"^-?\d{1,15}(\.\d{1,2})?$", "count": r"^-?\d{1,15}(\.\d{1,4})?$", "days": r"^-?\d{1,15}$",
           "months": r"^-?\d{1,15}$"}
_RATE_UNIT = {"rate": "%", "relpct": "%", "points": "points"}


class Problems:
    """Per row: the first problem found (column and reason), or nothing."""

    def __init__(self, n_rows: int):
        self.column = np.full(n_rows, None, object)
        self.reason = np.full(n_rows, None, object)
        self.bad = np.zeros(n_rows, bool)

    def add(self, rows: np.ndarray, column: str, reason) -> None:
        rows = rows & ~self.bad
        if rows.any():
            self.bad |= rows
            if column is None or isinstance(column, str):
                self.column[rows] = column
            else:
                self.column[rows] = np.asarray(column, object)[rows]
            self.reason[rows] = reason if isinstance(reason, str) else np.asarray(reason, object)[rows]


def as_text(column: pa.ChunkedArray | pa.Array, name: str, unit: str) -> pa.Array:
    """A column as trimmed text; nulls stay null. Floats are refused for exact quantities."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    t = column.type
    if pa.types.is_floating(t) and unit in ("money", "count", "rate", "points", "relpct", "days", "months"):
        raise MedrulesError(error("columns", f"column '{name}' holds binary floating-point numbers ({t}); "
                                  f"a {unit} must be exact", None,
                                  "write amounts as decimal text (\"1200.50\") or a decimal column"))
    if pa.types.is_dictionary(t):
        column = column.dictionary_decode()
    if pa.types.is_timestamp(t):
        column = pc.strftime(column, format="%Y-%m-%d")
    elif not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        column = pc.cast(column, pa.string())
    text = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def native(column, unit: str, name: str, problems: Problems):
    """A typed column (Parquet dates, decimals, integers) read without going through text: (values, present),
    or None when the column is text or does not convert exactly."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    t = column.type
    present = _bool_array(pc.is_valid(column))
    if unit == "date" and (pa.types.is_date(t) or pa.types.is_timestamp(t)):
        days = pc.cast(pc.cast(column, pa.date32()), pa.int32())
        return np.asarray(pc.fill_null(days, 0).to_numpy(zero_copy_only=False), np.int64), present
    if unit in ("money", "count", "days", "months") and (pa.types.is_decimal(t) or pa.types.is_integer(t)):
        values = _fast_number(column, unit, name, problems, present)
        return (values, present) if values is not None else None
    return None


def _bool_array(a) -> np.ndarray:
    return np.asarray(pc.fill_null(a, False).to_numpy(zero_copy_only=False), bool)


def _fast_number(text: pa.Array, unit: str, name: str, problems: Problems, present: np.ndarray):
    """The common case of a clean column: one exact cast of the whole column (None if any value is bad, and
    the row-by-row path then says which and why)."""
    if unit not in ("money", "count", "days", "months"):
        return None
    scale = SCALES[unit]
    try:
        dec = pc.cast(text, pa.decimal128(30, scale))  # refuses more decimals than the scale (data loss)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    values = pc.multiply(dec, pa.scalar(Decimal(10) ** scale, pa.decimal128(scale + 1, 0))) if scale else dec
    out = np.asarray(pc.fill_null(pc.cast(values, pa.int64()), 0).to_numpy(zero_copy_only=False), np.int64)
    if unit == "money":
        problems.add(present & (out < 0), name, "an amount cannot be negative")
    return out


def convert(text: pa.Array, t, checked: CheckedRulebook, name: str, problems: Problems,
            present: np.ndarray) -> np.ndarray:
    """Text → encoded values; rows that do not convert are added to ``problems`` (only where present)."""
    n_rows = len(text)
    unit = t.unit
    fast = _fast_number(text, unit, name, problems, present)
    if fast is not None:
        return fast
    if unit in _NUMBER or unit in _RATE_UNIT:
        body = text
        if unit in _RATE_UNIT:
            suffix = _RATE_UNIT[unit]
            has_unit = _bool_array(pc.ends_with(text, suffix))
            problems.add(present & ~has_unit, name, f"not a {unit}: write it with its unit, e.g. "
                         + ('"55%"' if suffix == "%" else '"5 points"'))
            body = pc.utf8_trim_whitespace(pc.utf8_slice_codeunits(text, 0, -len(suffix)))
            ok = _bool_array(pc.match_substring_regex(body, r"^-?\d+(\.\d{1,4})?$"))
        else:
            ok = _bool_array(pc.match_substring_regex(text, _NUMBER[unit]))
        what = {"money": "an amount of yuan (at most two decimals, e.g. \"1200.50\")",
                "days": "a whole number of days", "months": "a whole number of months",
                "count": "a number (at most four decimals)"}.get(unit, f"a {unit}")
        problems.add(present & ~ok, name, f"not {what}")
        scale = SCALES[unit] - (2 if unit in _RATE_UNIT else 0)  # "55%" is 0.55
        clean = pc.if_else(pa.array(ok), body, pa.scalar(None, pa.string()))
        dec = pc.cast(clean, pa.decimal128(30, max(scale, 0)))
        values = pc.multiply(dec, pa.scalar(Decimal(10) ** scale, pa.decimal128(scale + 1, 0))) if scale else dec
        out = np.asarray(pc.fill_null(pc.cast(values, pa.int64()), 0).to_numpy(zero_copy_only=False), np.int64)
        if unit == "money":
            problems.add(present & ok & (out < 0), name, "an amount cannot be negative")
        return out
    if unit == "date":
        parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
        real = _bool_array(pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), text))  # 2012-02-30 is not a day
        if (present & ~real).any():  # say why, for the rows that are not dates
            shaped = _bool_array(pc.match_substring_regex(text, r"^\d{4}-\d{2}-\d{2}$"))
            problems.add(present & ~shaped, name, "not a date: write \"YYYY-MM-DD\"")
            problems.add(present & shaped & ~real, name, "not a calendar date")
        days = pc.cast(pc.cast(parsed, pa.date32()), pa.int32())
        return np.asarray(pc.fill_null(days, 0).to_numpy(zero_copy_only=False), np.int64)
    if unit == "enum":
        members = enum_members(checked, t.enum)
        index = pc.index_in(text, value_set=pa.array(members))
        known = _bool_array(pc.is_valid(index))
        problems.add(present & ~known, name, f"not one of the {t.enum} values (expected {', '.join(members)})")
        return np.asarray(pc.fill_null(index, 0).to_numpy(zero_copy_only=False), np.int64)
    if unit == "bool":
        lower = pc.utf8_lower(text)
        yes = _bool_array(pc.is_in(lower, value_set=pa.array(["true", "1", "yes"])))
        no = _bool_array(pc.is_in(lower, value_set=pa.array(["false", "0", "no"])))
        problems.add(present & ~yes & ~no, name, "not true or false")
        return yes
    if unit == "set":
        members = enum_members(checked, t.enum)
        stripped = pc.replace_substring_regex(text, r"[\[\]\"' ]", "")
        parts = pc.split_pattern_regex(pc.fill_null(stripped, ""), r"[;,|]")
        lengths = np.asarray(pc.list_value_length(parts).to_numpy(zero_copy_only=False), np.int64)
        flat = pc.list_flatten(parts)
        index = pc.index_in(flat, value_set=pa.array(members))
        empty = _bool_array(pc.equal(flat, ""))
        unknown = ~_bool_array(pc.is_valid(index)) & ~empty
        bits = np.where(empty | unknown, 0, np.left_shift(1, np.asarray(pc.fill_null(index, 0), np.int64)))
        owner = np.repeat(np.arange(n_rows), lengths)
        out = np.zeros(n_rows, np.int64)
        np.bitwise_or.at(out, owner, bits)
        bad = np.zeros(n_rows, bool)
        bad[owner[unknown]] = True
        problems.add(present & bad, name, f"not a list of {t.enum} values (expected {', '.join(members)}, "
                     "separated by ';')")
        return out
    return np.asarray(pc.fill_null(text, "").to_numpy(zero_copy_only=False), object)  # text


def validate_record(table: pa.Table, checked: CheckedRulebook, kind: str, names: dict[str, str],
                    problems: Problems) -> Table:
    """The declared facts of ``kind`` read from ``table`` (``names``: fact → column)."""
    values, given = {}, {}
    n_rows = table.num_rows
    for name, (t, optional) in fields(checked, kind).items():
        field = checked.records[kind][name]
        column = names.get(name)
        typed = native(table.column(column), t.unit, column, problems) if column is not None else None
        if typed is not None:
            encoded, present = typed
        else:
            text = as_text(table.column(column), column, t.unit) if column else pa.nulls(n_rows, pa.string())
            present = _bool_array(pc.is_valid(text))
        if optional:
            given[name] = present
        elif field.default is None and t.unit != "set":
            problems.add(~present, column or f"{kind}.{name}", f"missing: every {kind} needs '{name}' ({t})")
        if typed is None:
            encoded = convert(text, t, checked, column or name, problems, present)
        if field.default is not None and not optional:
            default = _default(field.default, checked)
            encoded = np.where(present, encoded, encode_value(default, t, checked))
        values[name] = encoded
    return Table(values, given)
