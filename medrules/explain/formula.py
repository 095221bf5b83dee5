"""Expressions printed back as text, with the values the evaluation read substituted.

``claim.compliant_cost + claim.self_paid`` with reads ``{compliant_cost: 1200, self_paid: 35.5}``
prints as ``1,200.00 + 35.50``; without reads it prints the source form. The
same printer gives a rulebook's formulas their canonical text (a future formatter).
"""
from __future__ import annotations

from decimal import Decimal

from medrules import nodes as n
from medrules.explain.format import Formatter

_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7, "atom": 8}


def source_text(e: n.Expr) -> str:
    return _print(e, {}, None)[0]


HISTORY_FUNCTIONS = ("any", "every", "count", "sum", "latest", "earliest")


def brief_text(e: n.Expr) -> str:
    """The source form with each function over a history shortened to its name and history:
    ``any(interruption, …)`` (the condition is in the rulebook, at the step's line)."""
    text = source_text(e)
    for call in _history_calls(e):
        text = text.replace(source_text(call), f"{call.func}({source_text(call.args[0])}, …)")
    return text


def _history_calls(e):
    if isinstance(e, n.Call) and e.func in HISTORY_FUNCTIONS:
        yield e
        return
    import attrs
    if not attrs.has(type(e)):
        return
    for f in attrs.fields(type(e)):
        v = getattr(e, f.name)
        for x in (v if isinstance(v, tuple) else (v,)):
            if attrs.has(type(x)) and not isinstance(x, (n.Label,)):
                yield from _history_calls(x)


def substituted(e: n.Expr, reads: tuple, fmt: Formatter, types: dict) -> str:
    """``e`` with every name the evaluation read replaced by its value, formatted by unit."""
    values = {}
    for node, value in reads:
        if isinstance(node, (n.Cases, n.Highest)):
            values[id(node)] = ("chosen", value)  # the index of the case that held
        elif isinstance(node, n.Ref):
            t = types.get(node)
            values[id(node)] = fmt.value(value, t.unit) if t is not None and _quantity(value) \
                else fmt.any(value)
    return _print(e, values, fmt)[0]


def _print(e, values: dict, fmt: Formatter | None) -> tuple[str, int]:  # noqa: C901 - one dispatch
    if isinstance(e, n.Literal):
        if fmt is not None and isinstance(e.value, Decimal):
            return fmt.value(e.value, e.type.unit), _PREC["atom"]
        return e.text, _PREC["atom"]
    if isinstance(e, n.Ref):
        if fmt is not None and id(e) in values:
            return values[id(e)], _PREC["atom"]
        return e.text, _PREC["atom"]
    if isinstance(e, n.Unary):
        inner, p = _print(e.operand, values, fmt)
        return "-" + (inner if p >= _PREC["neg"] else f"({inner})"), _PREC["neg"]
    if isinstance(e, n.Binary):
        p = _PREC[e.op]
        left, lp = _print(e.left, values, fmt)
        right, rp = _print(e.right, values, fmt)
        left = left if lp >= p else f"({left})"
        right = right if rp > p or (rp == p and e.op in "+*") else f"({right})"
        op = {"*": "×", "/": "÷", "-": "−"}.get(e.op, e.op) if fmt is not None else e.op
        return f"{left} {op} {right}", p
    if isinstance(e, n.Comparison):
        left, _ = _print(e.left, values, fmt)
        right, _ = _print(e.right, values, fmt)
        return f"{left} {e.op} {right}", _PREC["cmp"]
    if isinstance(e, n.Membership):
        inner, _ = _print(e.operand, values, fmt)
        return f"{inner} {'not in' if e.negated else 'in'} {{{', '.join(e.names)}}}", _PREC["cmp"]
    if isinstance(e, n.Logic):
        if e.op == "not":
            inner, p = _print(e.operands[0], values, fmt)
            return "not " + (inner if p >= _PREC["not"] else f"({inner})"), _PREC["not"]
        p = _PREC[e.op]
        parts = []
        for x in e.operands:
            s, xp = _print(x, values, fmt)
            parts.append(s if xp > p else f"({s})")
        return f" {e.op} ".join(parts), p
    if isinstance(e, n.Call):
        return f"{e.func}({', '.join(_print(a, values, fmt)[0] for a in e.args)})", _PREC["atom"]
    if isinstance(e, (n.Cases, n.Highest)):
        chosen = values.get(id(e))
        if fmt is not None and chosen is not None:  # evaluated: only the case that held matters
            index = chosen[1]
            return _print(e.cases[index].value if index < len(e.cases) else e.otherwise, values, fmt)
        cases = ", ".join(f"{_print(c.value, values, fmt)[0]} when {_print(c.when, values, fmt)[0]}"
                          for c in e.cases)
        word = "highest " if isinstance(e, n.Highest) else ""
        return f"{word}{{ {cases}, otherwise {_print(e.otherwise, values, fmt)[0]} }}", _PREC["atom"]
    raise AssertionError(e)


def _quantity(value) -> bool:
    return isinstance(value, (Decimal, int)) and not isinstance(value, bool)
