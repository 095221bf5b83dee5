"""Amendments: an amended value still quoted by a clause the amendment leaves unchanged (a warning).

A 2025 amendment restates ``deductible_amount = 600 yuan`` with its own citation, but the inherited
clause ``deductible deductible_amount per admission cites … "起付标准500元"`` still quotes the 2024
figure. The explanation shows the parameter's citation beside the number (explain/steps.py); the
drafter is told here that the clause's words now disagree with the value it reads.
"""
from __future__ import annotations

import re
from decimal import Decimal

import attrs

from medrules import nodes as n
from medrules.check.context import Context
from medrules.diagnostics import Diagnostic
from medrules.numbers import amount

_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(万)?\s*元")


def _refs(node) -> set[str]:
    found = set()
    if isinstance(node, n.Ref):
        found.add(node.text)
    if attrs.has(type(node)):
        for field in attrs.fields(type(node)):
            value = getattr(node, field.name)
            for item in value if isinstance(value, tuple) else (value,):
                if attrs.has(type(item)) and not isinstance(item, (n.Citation, n.Label)):
                    found |= _refs(item)
    return found


def _quoted_amounts(quote: str) -> list[Decimal]:
    return [Decimal(m.group(1)) * (10_000 if m.group(2) else 1) for m in _AMOUNT.finditer(quote)]


def check(ctx: Context) -> None:
    rb = ctx.rulebook
    if rb.header is None or rb.header.amends is None:
        return
    restated = {p.name: p for p in rb.parameters if p.span.file == rb.file and isinstance(p.value, n.Literal)
                and isinstance(p.value.value, Decimal)}
    if not restated:
        return
    for fund in rb.funds:
        for clause in fund.clauses:
            cit = getattr(clause, "citation", None)
            if clause.span.file == rb.file or cit is None or not cit.quote:
                continue
            for name in _refs(clause) & set(restated):
                p = restated[name]
                quoted = _quoted_amounts(cit.quote)
                if quoted and p.value.value not in quoted:
                    ctx.diagnostics.append(Diagnostic(
                        "amended-quote", f"'{name}' is now {amount(p.value.value)} yuan, but this clause, inherited "
                        f"unchanged, still quotes “{cit.quote}”", cit.span,
                        "restate the clause with the new document's words (the explanation shows the parameter's "
                        "own citation beside its value)", "warning", (("restated here", p.span),)))
