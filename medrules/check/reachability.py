"""Warnings for provisions that can never take effect (reported, not fatal)."""
from __future__ import annotations

from medrules import nodes as n

_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6}


def expr_text(e, parent: int = 0) -> str:
    """An expression as a drafter writes it (for labels and messages)."""
    if isinstance(e, n.Literal):
        return e.text
    if isinstance(e, n.Ref):
        return e.text
    if isinstance(e, n.Unary):
        return f"{e.op}{expr_text(e.operand, 7)}"
    if isinstance(e, n.Binary):
        p = _PREC[e.op]
        text = f"{expr_text(e.left, p)} {e.op} {expr_text(e.right, p + 1)}"
    elif isinstance(e, n.Comparison):
        p = _PREC["cmp"]
        text = f"{expr_text(e.left, p + 1)} {e.op} {expr_text(e.right, p + 1)}"
    elif isinstance(e, n.Membership):
        p = _PREC["cmp"]
        text = f"{expr_text(e.operand, p + 1)} {'not in' if e.negated else 'in'} {{{', '.join(e.names)}}}"
    elif isinstance(e, n.Logic):
        p = _PREC[e.op]
        if e.op == "not":
            text = f"not {expr_text(e.operands[0], p)}"
        else:
            text = f" {e.op} ".join(expr_text(x, p) for x in e.operands)
    elif isinstance(e, n.Call):
        return f"{e.func}({', '.join(expr_text(a) for a in e.args)})"
    elif isinstance(e, (n.Cases, n.Highest)):
        body = ", ".join(f"{expr_text(c.value)} when {expr_text(c.when)}" for c in e.cases)
        return f"{'highest ' if isinstance(e, n.Highest) else ''}{{ {body}, otherwise {expr_text(e.otherwise)} }}"
    else:
        return type(e).__name__.lower()
    return f"({text})" if p < parent else text


def warnings(ck) -> list:
    return []
