"""medrules.jsonfile: the one-pass facts reader reads what the lark JSON grammar read, at the same places.

The reference below is the lark grammar and transformer the facts reader used before (issue 13: its
tree held ~13 KB per claim). Hypothesis writes JSON documents (and breaks some of them); both readers
must give the same values and spans, or the same diagnostics (code, line, column)."""
from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings, strategies as st
from lark import Lark, Transformer, v_args
from lark.exceptions import UnexpectedInput

from medrules.diagnostics import MedrulesError, error
from medrules.jsonfile import Located, read_located
from medrules.source import SourceFile, Span, unsafe_char

_JSON = r"""
?value: object | array | string | SIGNED_NUMBER -> number | "true" -> true | "false" -> false | "null" -> null
array: "[" [value ("," value)*] "]"
object: "{" [pair ("," pair)*] "}"
pair: string ":" value
string: ESCAPED_STRING
%import common.ESCAPED_STRING
%import common.SIGNED_NUMBER
%import common.WS
%ignore WS
"""
_PARSER = Lark(_JSON, start="value", parser="lalr", propagate_positions=True, maybe_placeholders=False)


@v_args(meta=True)
class _Reference(Transformer):
    def __init__(self, file):
        super().__init__()
        self.file, self.problems = file, []

    def _at(self, meta, value):
        return Located(value, Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column))

    def string(self, meta, c):
        try:
            text = json.loads(c[0])
        except ValueError as exc:
            at = Span(self.file, meta.line, meta.column + getattr(exc, "colno", 1) - 1)
            self.problems.append(error("facts-syntax", f"this is not a valid JSON string: {exc.msg}", at))
            return self._at(meta, "")
        found = unsafe_char(text)
        if found is not None:
            self.problems.append(error("facts", f"this text contains {found[1]}", self._at(meta, None).span))
            return self._at(meta, "")
        return self._at(meta, text)

    def number(self, meta, c):
        return self._at(meta, Decimal(str(c[0])))

    def true(self, meta, c):
        return self._at(meta, True)

    def false(self, meta, c):
        return self._at(meta, False)

    def null(self, meta, c):
        return self._at(meta, None)

    def array(self, meta, c):
        return self._at(meta, list(c))

    def pair(self, meta, c):
        return (c[0], c[1])

    def object(self, meta, c):
        at = self._at(meta, {k.value: v for k, v in c})
        return attrs.evolve(at, keys={k.value: k.span for k, _ in c})


def reference(text: str):
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as exc:
        return ("facts-syntax", getattr(exc, "line", 1), getattr(exc, "column", 1))
    builder = _Reference("f.json")
    doc = builder.transform(tree)
    if builder.problems:
        return [(d.code, d.message, d.span.line, d.span.col) for d in builder.problems]
    return doc


def ours(text: str):
    try:
        return read_located(SourceFile("f.json", text), max_depth=10_000)
    except MedrulesError as exc:
        ds = exc.diagnostics
        if len(ds) == 1 and ds[0].message == "this is not valid JSON":
            return ("facts-syntax", ds[0].span.line, ds[0].span.col)
        return [(d.code, d.message, d.span.line, d.span.col) for d in ds]


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                     st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str).map(Decimal),
                     st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8))
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(st.text(max_size=5), inner, max_size=4)),
                       max_leaves=20)


def _dump(value, indent, ascii_):
    return json.dumps(value, indent=indent, ensure_ascii=ascii_, default=lambda d: float(d) if d.is_finite() else 0)


@settings(max_examples=150, deadline=None)
@given(_values, st.sampled_from([None, 0, 1, 2, "\t"]), st.booleans())
def test_valid_documents_read_the_same(value, indent, ascii_):
    text = _dump(value, indent, ascii_)
    assert ours(text) == reference(text)


@settings(max_examples=200, deadline=None)
@given(_values, st.data())
def test_broken_documents_fail_at_the_same_place(value, data):
    """Delete, insert or replace a character: the same value, or the same error at the same line and column."""
    text = _dump(value, data.draw(st.sampled_from([None, 1])), True)
    at = data.draw(st.integers(0, len(text)))
    change = data.draw(st.sampled_from(["delete", "insert", "replace"]))
    ch = data.draw(st.sampled_from(list('{}[]:,"\\ \n\tx01-+.eEtruefalsn') + ["\x07", "\u2028"]))
    if change == "delete":
        text = text[:at] + text[at + 1:]
    elif change == "insert":
        text = text[:at] + ch + text[at:]
    else:
        text = text[:at] + ch + text[at + 1:]
    assert ours(text) == reference(text)


@pytest.mark.parametrize("text", ['{"a": 1', '{"a": 1,}', '{"a" 1}', "", "  ", '{"a": "x\ny"}', '{"a": tru}',
                                  '{"a": 01}', '{"a": +1.}', '{"a": .5e3}', "[1 2]", '{"a":1}}', '{"a": "\\q"}',
                                  '{"a": "a\tb"}', '{"a":1}\n\n x', '{"a": -}', '{"a": "\\u12"}', '{"a": "abc\\"}',
                                  '{"a": 1e5, "b": -0.00}', '"x"', "[]", "{}", '{"a": [1, {"b": null}], "a": 2}'])
def test_edge_cases_read_the_same(text):
    assert ours(text) == reference(text)


def test_depth_is_refused_at_the_bracket_without_recursion():
    """5,000 nested arrays: refused at the 33rd '[' (column 33), no RecursionError."""
    with pytest.raises(MedrulesError) as info:
        read_located(SourceFile("deep.json", "[" * 5000 + "]" * 5000))
    (d,) = info.value.diagnostics
    assert (d.code, d.span.line, d.span.col) == ("facts-depth", 1, 33)


def test_reading_keeps_no_parse_tree():
    """A facts file of 10,000 claims is read with a peak of traced allocations below 50 MB, 5 KB a claim (its
    values, their spans and the keys' spans: ~3.8 KB measured), where the lark tree took ~13 KB a claim
    (10,000 × 13 KB = 130 MB; issue 13)."""
    code = r"""
import json, tracemalloc
from medrules.jsonfile import read_located
from medrules.source import SourceFile
claims = [{"id": f"C{i}", "date": "2012-03-05", "kind": "inpatient", "institution": "other_designated",
           "compliant_cost": "12345.67", "self_paid": "100.00"} for i in range(10000)]
text = json.dumps({"member": {"id": "M1", "category": "retired"}, "claims": claims}, indent=1)
del claims
source = SourceFile("big.json", text)
tracemalloc.start()
doc = read_located(source)
print(len(doc.value["claims"].value), tracemalloc.get_traced_memory()[1])
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parent.parent)
    count, peak = map(int, done.stdout.split())
    assert count == 10_000
    assert peak < 50 * 2**20
