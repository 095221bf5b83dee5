"""Test files: expected outcomes a drafter writes by hand beside a rulebook (YAML).

A test file (``*.yaml``, usually in a ``tests/`` folder beside the rulebook) names its rulebook and gives the facts and, per claim, what each
fund is expected to pay (optionally the member's share and the reason a fund was excluded)::

    rulebook: ../employee-2012.mr          # relative to this file
    title: Working member crosses the 60,000 band boundary
    source: 衢政发〔2011〕102号 二
    facts:
      member: {id: QZ-W-0003, category: working}
      claims:
        - {id: C1, date: 2012-03-08, kind: inpatient, compliant_cost: 45000.00}
    expected:
      - claim: C1
        funds: {inpatient_pool: 37296.00}
        member_pays: 7704.00
        excluded: {outpatient_pool: "缴费未满90日"}    # optional: fund -> the exclusion's reason
        working:                                     # the hand arithmetic, kept with the figures
          - "45000.00 - 600.00 = 44400.00 x 84% = 37296.00"
    accumulators_after: {inpatient_cost: 73351.50}   # optional

Several tests may share one file as a list under ``tests:`` (each item shaped as above; a
top-level ``rulebook:`` is inherited). Numbers are read exactly (never as floats); dates stay
text for the facts reader; every value keeps its line and column, so a bad fact or a failed
expectation points into the test file.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import attrs
import yaml

from medrules.diagnostics import MedrulesError, error
from medrules.facts import Located
from medrules.source import SourceFile, Span

SUFFIXES = (".yaml", ".yml")


# ---------------------------------------------------------------- YAML -> Located (exact, positioned)
def _span(file: str, node) -> Span:
    a, b = node.start_mark, node.end_mark
    return Span(file, a.line + 1, a.column + 1, b.line + 1, b.column + 1)


def _located(node, file: str) -> Located:
    if isinstance(node, yaml.MappingNode):
        values, keys = {}, {}
        for k, v in node.value:
            key = str(k.value)
            values[key], keys[key] = _located(v, file), _span(file, k)
        return Located(values, _span(file, node), keys)
    if isinstance(node, yaml.SequenceNode):
        return Located([_located(x, file) for x in node.value], _span(file, node))
    tag = node.tag.rsplit(":", 1)[-1]
    if node.style is None:  # plain scalars: numbers exact, booleans, null; anything else text
        if tag in ("int", "float"):
            try:
                return Located(Decimal(node.value.replace("_", "")), _span(file, node))
            except InvalidOperation:
                pass
        if tag == "bool":
            return Located(node.value.lower() in ("true", "yes", "on"), _span(file, node))
        if tag == "null":
            return Located(None, _span(file, node))
    return Located(node.value, _span(file, node))


def read_yaml(source: SourceFile) -> Located:
    try:
        node = yaml.compose(source.text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        span = Span(source.name, mark.line + 1, mark.column + 1) if mark else None
        raise MedrulesError(error("test-syntax", f"this is not valid YAML: {getattr(exc, 'problem', exc)}", span,
                                  "check the indentation and the quotes just before here")) from None
    if node is None:
        raise MedrulesError(error("test", "the test file is empty", Span(source.name, 1, 1)))
    return _located(node, source.name)


def plain(v: Located):
    """The value without positions (amounts as decimal strings), as a facts file would hold it."""
    if isinstance(v.value, dict):
        return {k: plain(x) for k, x in v.value.items()}
    if isinstance(v.value, list):
        return [plain(x) for x in v.value]
    if isinstance(v.value, Decimal):
        return str(v.value)
    return v.value


# ---------------------------------------------------------------- test cases
@attrs.frozen
class Amount:
    value: Decimal
    span: Span


@attrs.frozen
class ClaimExpectation:
    claim: str
    span: Span
    funds: dict[str, Amount]
    member_pays: Amount | None
    excluded: dict[str, tuple[str, Span]]  # fund ('*' for every fund) -> expected reason
    working: tuple[str, ...]


@attrs.frozen
class OutcomeCase:
    name: str
    file: str
    span: Span
    rulebook: Path
    title: str | None
    facts: Located
    expected: tuple[ClaimExpectation, ...]
    accumulators_after: dict[str, Amount]
    readings: tuple[tuple[str, str], ...] = ()  # settle by these alternatives of the rulebook's readings


_CASE_KEYS = {"name", "rulebook", "title", "source", "facts", "expected", "accumulators_after", "note", "readings"}


def _amount(v: Located, what: str, problems: list) -> Amount | None:
    try:
        if isinstance(v.value, bool):
            raise InvalidOperation
        return Amount(Decimal(str(v.value).replace(",", "").strip()), v.span)
    except (InvalidOperation, ValueError):
        problems.append(error("test", f"{what}: {v.value!r} is not an amount of yuan", v.span,
                              "write amounts as decimal numbers, e.g. 1200.50"))
        return None


def _mapping(v: Located | None, what: str, problems: list) -> dict[str, Located]:
    if v is None:
        return {}
    if not isinstance(v.value, dict):
        problems.append(error("test", f"'{what}' must be a mapping (name: value)", v.span))
        return {}
    return v.value


def _case(item: Located, source: SourceFile, rulebook: Path | None, index: int, problems: list) -> OutcomeCase | None:
    if not isinstance(item.value, dict):
        problems.append(error("test", "a test is a mapping with 'facts' and 'expected'", item.span))
        return None
    top = item.value
    for key, span in (item.keys or {}).items():
        if key not in _CASE_KEYS:
            from medrules.check.context import did_you_mean
            problems.append(error("test", f"'{key}' is not part of a test", span,
                                  did_you_mean(key, _CASE_KEYS) or "expected " + ", ".join(sorted(_CASE_KEYS))))
    if "rulebook" in top:
        rulebook = Path(source.name).parent / str(top["rulebook"].value)
    if rulebook is None:
        problems.append(error("test", "the test does not name its rulebook", item.span,
                              "add 'rulebook: employee-2012.mr' (relative to this file)"))
    for key in ("facts", "expected"):
        if key not in top:
            problems.append(error("test", f"the test has no '{key}'", item.span))
    if "facts" not in top or "expected" not in top or rulebook is None:
        return None
    expected = []
    exp = top["expected"]
    if not isinstance(exp.value, list):
        problems.append(error("test", "'expected' must be a list of claims", exp.span))
        return None
    for e in exp.value:
        m = _mapping(e, "expected", problems)
        if "claim" not in m:
            problems.append(error("test", "each expectation names its 'claim'", e.span))
            continue
        funds = {k: a for k, v in _mapping(m.get("funds"), "funds", problems).items()
                 if (a := _amount(v, f"{m['claim'].value}.{k}", problems)) is not None}
        member = _amount(m["member_pays"], "member_pays", problems) if "member_pays" in m else None
        excluded = {k: (str(v.value), v.span) for k, v in _mapping(m.get("excluded"), "excluded", problems).items()}
        working = m.get("working")
        lines = () if working is None else tuple(str(plain(x)) for x in working.value) \
            if isinstance(working.value, list) else (str(working.value),)
        if not funds and member is None and not excluded:
            problems.append(error("test", f"the expectation for claim {m['claim'].value} checks nothing", e.span,
                                  "give what each fund pays ('funds'), 'member_pays' or 'excluded'"))
            continue
        expected.append(ClaimExpectation(str(m["claim"].value), e.span, funds, member, excluded, lines))
    after = {k: a for k, v in _mapping(top.get("accumulators_after"), "accumulators_after", problems).items()
             if (a := _amount(v, k, problems)) is not None}
    name = str(top["name"].value) if "name" in top else Path(source.name).name.removesuffix(".yaml").removesuffix(
        ".yml") + (f"[{index}]" if index else "")
    title = str(top["title"].value) if "title" in top else None
    readings = tuple(sorted((k, str(v.value)) for k, v in _mapping(top.get("readings"), "readings", problems).items()))
    return OutcomeCase(name, source.name, item.span, rulebook, title, top["facts"], tuple(expected), after, readings)


def read_tests(source: SourceFile) -> list[OutcomeCase]:
    """Every test in one file; raises :class:`MedrulesError` with every problem in it."""
    doc = read_yaml(source)
    problems: list = []
    cases = []
    if isinstance(doc.value, dict) and "tests" in doc.value:
        rulebook = Path(source.name).parent / str(doc.value["rulebook"].value) if "rulebook" in doc.value else None
        items = doc.value["tests"]
        if not isinstance(items.value, list):
            raise MedrulesError(error("test", "'tests' must be a list", items.span))
        for i, item in enumerate(items.value):
            if (c := _case(item, source, rulebook, i + 1, problems)) is not None:
                cases.append(c)
    else:
        if (c := _case(doc, source, None, 0, problems)) is not None:
            cases.append(c)
    if problems:
        raise MedrulesError(problems)
    return cases


def find_test_files(paths: list[Path]) -> list[Path]:
    """Test files named directly, and every ``*.yaml`` / ``*.yml`` under the folders named."""
    found = []
    for p in paths:
        if p.is_dir():
            found += sorted(f for suffix in SUFFIXES for f in p.rglob(f"*{suffix}"))
        else:
            found.append(p)
    return found
