"""Invariants of the editor-side analyses: the recovering parse and the language server's answers never
raise on any edit of a shipped rulebook; the satisfiability check behind the warnings agrees with brute
force on small random conditions."""
from __future__ import annotations

import itertools
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT
from medrules import nodes as n
from medrules.check.reachability import _Conditions
from medrules.lsp.analysis import analyse, completions, definition, hover, symbols
from medrules.source import Span

TEXT = (ROOT / "rulebooks" / "quzhou" / "employee-2012.mr").read_text(encoding="utf-8")


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_any_edit_gives_diagnostics_or_answers_never_an_exception(data):
    start = data.draw(st.integers(0, len(TEXT) - 1))
    length = data.draw(st.integers(0, 40))
    insert = data.draw(st.sampled_from(["", "{", "}", "%", '"', "rate", "\n", " when ", "yuan", "(", "claim."]))
    text = TEXT[:start] + insert + TEXT[start + length:]
    a = analyse(str(ROOT / "rulebooks" / "quzhou" / "edited.mr"), text)
    assert all(d.code != "internal" for d in a.diagnostics), a.diagnostics
    lines = text.split("\n")
    line = data.draw(st.integers(1, len(lines)))
    col = data.draw(st.integers(1, len(lines[line - 1]) + 1))
    hover(a, line, col)
    definition(a, line, col)
    completions(a, line, col)
    symbols(a)


# ---------------------------------------------------------------- the solver against brute force
S = Span("t.mr", 1, 1)
KINDS = ("a", "b", "c")


class _Fake:
    """Just enough of a checked rulebook: one enum fact, one yes/no fact, one amount fact."""

    def __init__(self, refs):
        from medrules.check.context import Resolved
        from medrules.units import Type
        self.resolved, self.types = {}, {}
        self.enums = {"kind": n.EnumDecl("kind", None, tuple(n.EnumMember(k, None, S) for k in KINDS), S)}
        for r in refs:
            if r.parts == ("claim", "kind"):
                self.resolved[r], self.types[r] = Resolved("fact", "kind", "claim"), Type("enum", "kind")
            elif r.parts == ("claim", "flag"):
                self.resolved[r], self.types[r] = Resolved("fact", "flag", "claim"), Type("bool")
            elif r.parts == ("claim", "cost"):
                self.resolved[r], self.types[r] = Resolved("fact", "cost", "claim"), Type("money")
            else:
                self.resolved[r] = Resolved("enum_member", "kind", r.parts[0])

    def resolution(self, ref):
        return self.resolved.get(ref)


def _atoms():
    kind = st.builds(lambda m, op: n.Comparison(op, n.Ref(("claim", "kind"), S), n.Ref((m,), S), S),
                     st.sampled_from(KINDS), st.sampled_from(["==", "!="]))
    member = st.builds(lambda ms, neg: n.Membership(n.Ref(("claim", "kind"), S), tuple(ms), neg, S),
                       st.lists(st.sampled_from(KINDS), min_size=1, max_size=3, unique=True), st.booleans())
    flag = st.just(n.Ref(("claim", "flag"), S))
    cost = st.builds(lambda op, c: n.Comparison(op, n.Ref(("claim", "cost"), S),
                                                n.Literal(Decimal(c), None, f"{c} yuan", S), S),
                     st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), st.sampled_from([0, 10, 20]))
    return st.one_of(kind, member, flag, cost)


def _conditions():
    return st.recursive(_atoms(), lambda inner: st.one_of(
        st.builds(lambda a, b, op: n.Logic(op, (a, b), S), inner, inner, st.sampled_from(["and", "or"])),
        st.builds(lambda a: n.Logic("not", (a,), S), inner)), max_leaves=6)


def _evaluate(e, kind, flag, cost):
    if isinstance(e, n.Logic):
        if e.op == "not":
            return not _evaluate(e.operands[0], kind, flag, cost)
        values = [_evaluate(x, kind, flag, cost) for x in e.operands]
        return all(values) if e.op == "and" else any(values)
    if isinstance(e, n.Membership):
        return (kind in e.names) != e.negated
    if isinstance(e, n.Ref):
        return flag
    left = kind if e.left.parts == ("claim", "kind") else cost
    right = e.right.parts[0] if isinstance(e.right, n.Ref) else e.right.value
    return {"==": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
            ">": left > right, ">=": left >= right}[e.op]


def _refs(e, out):
    if isinstance(e, n.Ref):
        out.append(e)
    for field in ("operands", "left", "right", "operand"):
        x = getattr(e, field, None)
        for y in (x if isinstance(x, tuple) else (x,) if x is not None else ()):
            _refs(y, out)
    return out


@settings(max_examples=300, deadline=None)
@given(_conditions())
def test_the_solver_agrees_with_brute_force(condition):
    """Amounts are tried at and between the constants (0, 10, 20) and beyond: every region of the
    number line the conditions can tell apart; amounts from facts are never negative."""
    solver = _Conditions(_Fake(_refs(condition, [])))
    costs = [Decimal(x) for x in ("0", "5", "10", "15", "20", "25")]
    brute = any(_evaluate(condition, k, f, c) for k, f, c in itertools.product(KINDS, (True, False), costs))
    assert solver.satisfiable(condition) == brute
