"""Facts: a JSON file of one member's claims, checked against the rulebook's declarations.

The file is read by :mod:`medrules.jsonfile` so that every value keeps its line and
column: a bad amount in claim 3 is reported at its place in the file, with a caret.
Numbers are read as exact ``Decimal``s, never floats.

Shape (see docs/facts.md)::

    {
      "member":  {"id": "M1", "category": "retired"},
      "opening": {"outpatient_cost": "2800.00"},          # optional year-to-date values
      "claims":  [{"id": "C1", "date": "2012-03-05", ...}]
    }
"""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

import attrs

from medrules import nodes as n
from medrules.check import CheckedRulebook
from medrules.check.context import did_you_mean
from medrules.diagnostics import Diagnostic, MedrulesError, error
from medrules.jsonfile import Located, read_located
from medrules.source import SourceFile, Span, unsafe_char
from medrules.units import Type

# Bounds on what a facts file may hold: each is far beyond a real member's facts, and each keeps
# the arithmetic exact and every date on the calendar (see docs/facts.md).
MAX_DEPTH = 32  # nesting of JSON arrays and objects
MAX_TEXT = 1000  # characters of a text fact
MAX_ID = 200  # characters of an id (member.id, claim.id)
MAX_AMOUNT = Decimal("1e12")  # yuan: a trillion
MAX_COUNT = Decimal("1e9")
MAX_DAYS = 100_000  # days or months as a fact
MAX_CLAIMS = 100_000  # claims of one member in one facts file (memory grows with them; see docs/performance.md)
FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2100, 12, 31)


def unsafe_text(text: str) -> str | None:
    """Why this text cannot be a fact (see :func:`medrules.source.unsafe_char`), or None."""
    found = unsafe_char(text)
    return found[1] if found else None


def read_json(source: SourceFile) -> Located:
    """The file's JSON, every value with its span (:mod:`medrules.jsonfile`: one pass, no parse tree).

    A facts file is one member: at most MAX_CLAIMS claims (or items of any list), refused at the first one
    too many, before the rest is read (issue 13: memory grows with the claims of one member)."""
    return read_located(source, MAX_DEPTH, MAX_CLAIMS, _too_many)


def _too_many(at: Span) -> Diagnostic:
    return error("facts-size", f"this facts file holds more than {MAX_CLAIMS:,} claims (here, the first one too "
                 "many); a facts file is one member's claims, read whole", at,
                 "settle claim files in bulk with 'medrules settle RULEBOOK FILE --out results.parquet' "
                 "(docs/batch.md), or give 'medrules run' one member per line in a JSON Lines file (.jsonl)")


def _check_depth(source: SourceFile) -> None:
    """Refuse arrays and objects nested deeper than MAX_DEPTH, at the bracket that goes too deep
    (one pass over the text, before anything recursive sees it)."""
    depth, in_string, escaped, line, line_start = 0, False, False, 1, 0
    for i, ch in enumerate(source.text):
        if ch == "\n":
            line, line_start = line + 1, i + 1
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise MedrulesError(error("facts-depth", f"arrays and objects are nested more than {MAX_DEPTH} deep",
                                          Span(source.name, line, i - line_start + 1),
                                          "a facts file is a member, an opening and a list of claims"))
        elif ch in "]}":
            depth -= 1


# ---------------------------------------------------------------- validated facts
@attrs.frozen
class Claim:
    id: str
    index: int
    values: dict[str, object]
    span: Span
    spans: dict[str, Span]


@attrs.frozen
class Facts:
    file: str
    member: dict[str, object]
    member_id: str
    claims: tuple[Claim, ...]
    opening: dict[str, Decimal]
    opening_spans: dict[str, Span]
    histories: dict[str, tuple[dict, ...]] = {}  # history name ('period') -> its records, in file order


MAX_HISTORY = 10_000  # records in one history of one member


def load_facts(facts: str | Path | dict, rulebook) -> Facts:
    """Facts checked against a rulebook (a ``Program`` from :func:`medrules.load`, or a checked rulebook).

    ``facts``: a path to a JSON file, a JSON text (a string starting with '{'), or the parsed dict."""
    checked = getattr(rulebook, "checked", rulebook)
    if isinstance(facts, dict):
        try:
            text = json.dumps(facts, ensure_ascii=False, indent=1, default=str)
        except (TypeError, ValueError) as exc:
            raise MedrulesError(error("facts", f"these facts cannot be written as JSON: {exc}")) from None
        return facts_from_source(SourceFile("<facts>", text), checked)
    if isinstance(facts, str) and facts.lstrip().startswith("{"):
        return facts_from_source(SourceFile("<facts>", facts), checked)
    try:
        source = SourceFile.read(facts)
    except FileNotFoundError:
        raise MedrulesError(error("io", f"no such facts file: {facts}")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MedrulesError(error("io", f"cannot read facts file {facts}: {exc}")) from None
    return facts_from_source(source, checked)


def facts_from_source(source: SourceFile, checked: CheckedRulebook) -> Facts:
    return validate(read_json(source), checked, source.name)


def facts_for_both(source: SourceFile, old: CheckedRulebook, new: CheckedRulebook) -> Facts:
    """Facts to settle under two rulebooks (``medrules diff``): checked against both, so a fact that
    only the new year declares is read (or defaulted) too; each claim carries the union of its values."""
    doc = read_json(source)
    before, after = validate(doc, old, source.name), validate(doc, new, source.name)
    claims = tuple(attrs.evolve(a, values=b.values | a.values, spans=b.spans | a.spans)
                   for a, b in zip(before.claims, after.claims))
    return attrs.evolve(before, member=after.member | before.member, claims=claims)


def validate(doc: Located, checked: CheckedRulebook, file: str) -> Facts:
    problems: list[Diagnostic] = []
    member, member_id, histories = head_of(doc, checked, problems)
    top = doc.value
    claims: list[Claim] = []
    items = claims_of(doc, checked, problems)
    if items is not None:
        seen: dict[str, Span] = {}
        for i, item in enumerate(items):
            claim = claim_of(item, i, checked, problems)
            if claim.id in seen:
                problems.append(error("facts", f"claim id '{claim.id}' is used twice", item.span,
                                      related=(("first used here", seen[claim.id]),)))
            seen[claim.id] = item.span
            claims.append(claim)
    opening, opening_spans = opening_of(top, checked, problems)
    if problems:
        raise MedrulesError(problems)
    return Facts(file, member, member_id, tuple(claims), opening, opening_spans, histories)


def head_of(doc: Located, checked: CheckedRulebook, problems: list[Diagnostic]) -> tuple[dict, str, dict]:
    """The member (and its id) and the histories of a facts document, checked, and its top-level keys."""
    if not isinstance(doc.value, dict):
        raise MedrulesError(error("facts", "a facts file is a JSON object with 'member' and 'claims'", doc.span))
    top = doc.value
    from medrules.check.declarations import history_key
    from medrules.check.types import histories as history_kinds
    kinds = {history_key(k): k for k in history_kinds(checked.records)}
    _unknown_keys(doc, {"member", "claims", "opening", *kinds}, "a facts file", problems)
    histories = {k: _history(top.get(key), checked, k, key, problems) for key, k in kinds.items()}
    member, member_id = {}, ""
    if "member" not in top:
        problems.append(error("facts", "the facts file has no 'member'", doc.span,
                              "add \"member\": {…} with the member's declared facts"))
    else:
        member = _record(top["member"], checked, "member", "member", problems)
        member_id = str(member.get("id", ""))
    return member, member_id, histories


def claims_of(doc: Located, checked: CheckedRulebook, problems: list[Diagnostic]) -> list[Located] | None:
    """The items of the document's 'claims', or None when it has none (said, unless the rulebook states
    contributions only) or it is not a list (said)."""
    top = doc.value
    if "claims" not in top:
        if not checked.rulebook.contributions or checked.rulebook.funds:  # contributions only: no claims
            problems.append(error("facts", "the facts file has no 'claims'", doc.span,
                                  "add \"claims\": [ {…}, … ]"))
        return None
    if not isinstance(top["claims"].value, list):
        problems.append(error("facts", "'claims' must be a list", top["claims"].span))
        return None
    return top["claims"].value


def claim_of(item: Located, i: int, checked: CheckedRulebook, problems: list[Diagnostic]) -> Claim:
    """The ``i``-th item of 'claims', checked (its problems added to ``problems``)."""
    values = _record(item, checked, "claim", f"claims[{i}]", problems)
    spans = {k: v.span for k, v in item.value.items()} if isinstance(item.value, dict) else {}
    return Claim(str(values.get("id", i + 1)), i, values, item.span, spans)


def opening_of(top: dict[str, Located], checked: CheckedRulebook,
               problems: list[Diagnostic]) -> tuple[dict[str, Decimal], dict[str, Span]]:
    """The 'opening' block's accumulator values and their spans (empty when there is none)."""
    opening, opening_spans = {}, {}
    if "opening" in top:
        block = top["opening"]
        if not isinstance(block.value, dict):
            problems.append(error("facts", "'opening' must be an object of accumulator values", block.span))
        else:
            known = checked.accumulator_names()
            for name, v in block.value.items():
                if name not in known:
                    problems.append(error("facts", f"'{name}' is not an accumulator of this rulebook",
                                          block.keys[name],
                                          did_you_mean(name, known)
                                          or "opening values are given for declared accumulators"))
                    continue
                amount = _convert(v, Type("money"), checked, f"opening.{name}", problems)
                if amount is not None:
                    opening[name], opening_spans[name] = amount, v.span
    return opening, opening_spans


def _history(block: Located | None, checked: CheckedRulebook, kind: str, key: str,
             problems: list[Diagnostic]) -> tuple[dict, ...]:
    """A history's records (``"periods": [{…}, …]``), each checked like a claim; left out, it is empty."""
    if block is None:
        return ()
    if not isinstance(block.value, list):
        problems.append(error("facts", f"'{key}' must be a list of {kind} records", block.span,
                              f"write \"{key}\": [ {{…}}, … ], one object per {kind}"))
        return ()
    if len(block.value) > MAX_HISTORY:
        problems.append(error("facts", f"'{key}' has {len(block.value):,} records", block.span,
                              f"at most {MAX_HISTORY:,} per member"))
        return ()
    return tuple(_record(item, checked, kind, f"{key}[{i}]", problems) for i, item in enumerate(block.value))


def _unknown_keys(obj: Located, allowed, what: str, problems: list[Diagnostic]) -> None:
    for key, span in (obj.keys or {}).items():
        if key not in allowed:
            problems.append(error("facts", f"'{key}' is not part of {what}", span,
                                  did_you_mean(key, allowed) or "expected " + ", ".join(sorted(allowed))))


def _record(item: Located, checked: CheckedRulebook, kind: str, path: str,
            problems: list[Diagnostic]) -> dict[str, object]:
    fields: dict[str, n.Field] = checked.records.get(kind, {})
    if not isinstance(item.value, dict):
        problems.append(error("facts", f"{path} must be a JSON object", item.span))
        return {}
    _unknown_keys(item, fields, f"the declared {kind} facts", problems)
    values: dict[str, object] = {}
    for name, field in fields.items():
        t = checked.field_types[field]
        optional = field in checked.optional
        if name in item.value and not (optional and item.value[name].value is None):
            v = _convert(item.value[name], t, checked, f"{path}.{name}", problems)
            if v is not None:
                values[name] = v
        elif optional:
            values[name] = None  # declared '= none': left out
        elif field.default is not None:
            values[name] = _default(field.default, checked)
        elif t.unit == "set":
            values[name] = frozenset()  # a set not given is empty: the member is in none of the categories
        else:
            problems.append(error("facts", f"{path} has no '{name}'", item.span,
                                  f"every {kind} needs '{name}' ({t})"))
    return values


def _default(expr: n.Expr, checked: CheckedRulebook) -> object:
    if isinstance(expr, n.Literal):
        return expr.value
    res = checked.resolution(expr)
    if res is not None and res.kind == "enum_member":
        return res.detail
    if res is not None and res.kind == "param":
        return _default(checked.parameter(res.target).value, checked)
    raise MedrulesError(error("facts", "a field's default must be a literal or an enumeration member",
                              expr.span))


_MONEY = re.compile(r"^-?\d+(\.\d{1,2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _convert(v: Located, t: Type, checked: CheckedRulebook, path: str, problems) -> object | None:
    def bad(msg, hint=None):
        problems.append(error("facts", f"{path}: {msg}", v.span, hint))

    x = v.value
    if t.unit == "money":
        text = str(x) if isinstance(x, (str, Decimal)) and not isinstance(x, bool) else None
        if text is None or not _MONEY.match(text.strip()):
            return bad(f"{_show(x)} is not an amount of yuan",
                       "write amounts as decimal strings with at most two decimals, e.g. \"1200.50\"")
        amount = Decimal(text.strip())
        if amount < 0:
            return bad("an amount cannot be negative")
        if amount >= MAX_AMOUNT:
            return bad(f"{_show(x)} is more than any claim can cost", "amounts are below 1,000,000,000,000 yuan")
        return amount
    if t.unit == "date":
        if not isinstance(x, str) or not _DATE.match(x):
            return bad(f"{_show(x)} is not a date", "write dates as \"YYYY-MM-DD\"")
        try:
            day = dt.date.fromisoformat(x)
        except ValueError:
            return bad(f"{_show(x)} is not a calendar date", "write dates as \"YYYY-MM-DD\"")
        if not FIRST_DATE <= day <= LAST_DATE:
            return bad(f"{_show(x)} is outside the years medrules settles",
                       f"dates are from {FIRST_DATE} to {LAST_DATE}")
        return day
    if t.unit == "enum":
        members = [m.name for m in checked.enums[t.enum].members]
        if x in members:
            return x
        return bad(f"{_show(x)} is not one of the {t.enum} values",
                   " ".join(filter(None, [did_you_mean(str(x), members) if len(str(x)) < 100 else None,
                                          "expected " + ", ".join(members)])))
    if t.unit == "set":
        members = [m.name for m in checked.enums[t.enum].members]
        if not isinstance(x, list):
            return bad(f"{_show(x)} is not a list of {t.enum} values", "write e.g. [\"" + members[0] + "\"]")
        unknown = [item.value for item in x if item.value not in members]
        if unknown:
            return bad(f"{_show(unknown[0])} is not one of the {t.enum} values", "expected " + ", ".join(members))
        return frozenset(item.value for item in x)
    if t.unit == "bool":
        return x if isinstance(x, bool) else bad(f"{_show(x)} is not true or false")
    if t.unit == "text":
        if not isinstance(x, (str, Decimal)) or isinstance(x, bool):
            return bad(f"{_show(x)} is not text")
        text = str(x)
        limit = MAX_ID if path.endswith(".id") else MAX_TEXT
        if len(text) > limit:
            return bad(f"this text is {len(text)} characters long", f"{path} is at most {limit} characters")
        return text
    if t.unit in ("days", "months"):
        try:
            value = Decimal(str(x))
        except InvalidOperation:
            value = None
        if value is None or isinstance(x, bool) or not value.is_finite() or value != value.to_integral_value():
            return bad(f"{_show(x)} is not a whole number of {t.unit}")
        if abs(value) > MAX_DAYS:
            return bad(f"{_show(x)} is more {t.unit} than medrules counts", f"at most {MAX_DAYS:,} {t.unit}")
        return int(value)
    if t.unit in ("rate", "points", "relpct"):  # written as in a rulebook: "55%", "5 points"
        text = str(x).strip()
        suffix = {"rate": "%", "points": "points", "relpct": "%"}[t.unit]
        if not isinstance(x, str) or not text.endswith(suffix):
            return bad(f"{_show(x)} is not a {t.unit}", "write it with its unit, e.g. \"55%\"" if suffix == "%"
                       else "write it with its unit, e.g. \"5 points\"")
        try:
            value = Decimal(text[: -len(suffix)].strip())
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or abs(value) > 1000 or value.as_tuple().exponent < -6:
            return bad(f"{_show(x)} is not a {t.unit}", "at most 1000, with at most six decimals, e.g. \"55%\"")
        return value / 100
    if t.unit == "count":
        try:
            value = Decimal(str(x)) if not isinstance(x, (bool, dict, list)) and x is not None else None
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or abs(value) >= MAX_COUNT or value.as_tuple().exponent < -6:
            return bad(f"{_show(x)} is not a number", "a count is a plain number such as 2 or \"2\"")
        return value
    return bad(f"cannot read a {t} from facts")


def _show(x) -> str:
    if isinstance(x, (dict, list)):
        return "an object" if isinstance(x, dict) else "a list"
    if x is None:
        return "null"
    text = str(x)
    return f"'{text[:40]}…'" if len(text) > 41 else f"'{text}'"


# ---------------------------------------------------------------- what-if
@attrs.frozen
class Change:
    """One fact set to another value: ``claim.referred=true`` (for every claim, or the named ones)."""

    record: str  # member | claim
    field: str
    value: object  # converted to the field's type
    text: str  # as the user wrote it


class WrapsChange:
    """A change wrapped with more (whose it is, its JSON value): the wrapped :class:`Change`'s record, field and
    value, read through (``self.change``)."""

    @property
    def record(self) -> str:
        return self.change.record

    @property
    def field(self) -> str:
        return self.change.field

    @property
    def value(self):
        return self.change.value


def parse_change(text: str, checked: CheckedRulebook) -> Change:
    """``member.category=retired``, ``claim.referred=true``, ``claim.compliant_cost=1200.50``."""

    span = Span("--what-if", 1, 1, 1, len(text) + 1)
    name, sep, raw = text.partition("=")
    record, _, field = name.strip().partition(".")
    if not sep or record not in ("member", "claim") or not field:
        raise MedrulesError(error("what-if", f"'{text}' is not FACT=VALUE", span,
                                  "write e.g. --what-if claim.referred=true or --what-if member.category=retired"))
    fields = checked.records.get(record, {})
    if field not in fields:
        raise MedrulesError(error("what-if", f"'{record}.{field}' is not a declared {record} fact", span,
                                  did_you_mean(field, fields) or "facts: " + ", ".join(sorted(fields))))
    raw = raw.strip()
    why = unsafe_text(text)
    if why is not None or len(text) > MAX_TEXT:
        raise MedrulesError(error("what-if", f"'{record}.{field}': the value is too long or contains "
                                  f"{why or 'too much'}", span, "write a plain value, e.g. claim.referred=true"))
    _check_depth(SourceFile("--what-if", raw))
    try:
        value = json.loads(raw, parse_float=Decimal, parse_int=Decimal)
    except ValueError:
        value = raw  # a bare word: an enumeration member, a date, text
    if isinstance(value, list):
        value = [Located(v, span) for v in value]
    problems: list[Diagnostic] = []
    converted = _convert(Located(value, span), checked.field_types[fields[field]], checked, f"{record}.{field}",
                         problems)
    if problems:
        raise MedrulesError(problems)
    return Change(record, field, converted, text)


def with_changes(facts: Facts, changes: list[Change], claim_ids: list[str] | None = None) -> Facts:
    """The same facts with each change applied (claim changes to the named claims, or to all)."""
    member = dict(facts.member)
    claims = []
    for c in changes:
        if c.record == "member":
            member[c.field] = c.value
    for claim in facts.claims:
        values = dict(claim.values)
        for c in changes:
            if c.record == "claim" and (not claim_ids or claim.id in claim_ids):
                values[c.field] = c.value
        claims.append(attrs.evolve(claim, values=values))
    return attrs.evolve(facts, member=member, claims=tuple(claims))
