"""Coverage: which provisions the tests exercised, and which never fired.

Read from the traces of the tests' settlements (nothing is re-evaluated). An item fires when:

=============  ===============================================================
fund           the fund applied to a claim (it was not excluded and its condition held)
applies        its condition held for a claim
exclude        the exclusion stopped payment on a claim (rulebook-wide or a fund's own)
treat          a claim was settled as if the fact were different
deductible     a deductible was taken from a claim
cap            the cap bound: cost above it, or payments limited by it
rate           the rate was applied
case           this case of a choice was the one chosen (``{… when …, otherwise …}``, ``highest``)
band           a part of a claim fell in this band segment
flat           the flat amount was paid
adjust         the adjustment's condition held and it changed the rate
insured        a membership rulebook's statement routed a claim to its scheme (the first that held)
=============  ===============================================================

Only the rulebook's own provisions are counted (not those of a scheme it layers on).
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from medrules import nodes as n
from medrules.check.reachability import expr_text
from medrules.source import Span


@attrs.define
class Item:
    kind: str
    fund: str | None
    label: str
    span: Span
    hits: int = 0


@attrs.frozen
class Coverage:
    rulebook: str
    file: str
    items: tuple[Item, ...]

    @property
    def fired(self) -> int:
        return sum(1 for i in self.items if i.hits)

    @property
    def percent(self) -> Decimal:
        if not self.items:
            return Decimal(100)
        return (Decimal(100) * self.fired / len(self.items)).quantize(Decimal("0.1"))

    def never(self) -> list[Item]:
        return [i for i in self.items if not i.hits]


def _choices(node, out: list) -> None:
    """Every ``cases``/``highest`` expression inside a node, in source order."""
    if isinstance(node, (n.Cases, n.Highest)):
        out.append(node)
    if isinstance(node, (tuple, list)):
        for x in node:
            _choices(x, out)
        return
    if attrs.has(type(node)) and not isinstance(node, (n.Citation, n.Label, Span)):
        for field in attrs.fields(type(node)):
            _choices(getattr(node, field.name), out)


def _text(e) -> str:
    return expr_text(e)


def items_of(rulebook: n.Rulebook) -> dict[int, Item]:
    """The coverage items of a rulebook, keyed by id of their node (cases: by (id, index))."""
    items: dict = {}

    def add(key, kind, fund, label, span):
        items[key] = Item(kind, fund, label, span)

    for m in rulebook.memberships:
        add(id(m), "insured", None, f"insured {m.name} under {', '.join(m.paths)}", m.span)
    for t in rulebook.treatments:
        add(id(t), "treat", None, f"treat {t.target.text} as {_text(t.value)}", t.span)
    for x in rulebook.exclusions:
        add(id(x), "exclude", None, f"exclude: {x.reason.best('zh')}", x.span)
    for f in rulebook.funds:
        add(id(f), "fund", f.name, f.title("zh"), f.span)
        for c in f.clauses:
            if isinstance(c, n.Applies):
                add(id(c), "applies", f.name, f"applies when {_text(c.when)}", c.span)
            elif isinstance(c, n.Exclude):
                add(id(c), "exclude", f.name, f"exclude: {c.reason.best('zh')}", c.span)
            elif isinstance(c, n.Deductible):
                add(id(c), "deductible", f.name, f"deductible {_text(c.amount)} per {c.per}", c.span)
            elif isinstance(c, n.Cap):
                add(id(c), "cap", f.name, f"cap {c.what} at {_text(c.amount)}", c.span)
            elif isinstance(c, n.Rate):
                choice = {n.Cases: "{ … }", n.Highest: "highest { … }"}.get(type(c.expr))  # its cases are items
                add(id(c), "rate", f.name, f"rate {choice or _text(c.expr)}", c.span)
            elif isinstance(c, n.Bands):
                for b in c.bands:
                    lo = _text(b.lower) if b.lower is not None else "0"
                    hi = _text(b.upper) if b.upper is not None else "…"
                    add(id(b), "band", f.name, f"band {lo} – {hi}: {_text(b.rate)}", b.span)
            elif isinstance(c, n.Flat):
                add(id(c), "flat", f.name, f"flat {_text(c.amount)}", c.span)
            elif isinstance(c, n.Adjust):
                add(id(c), "adjust", f.name, f"adjust {_text(c.amount)} when {_text(c.when)}", c.span)
            choices: list = []
            if not isinstance(c, (n.Accumulate,)):
                _choices(c, choices)
            for choice in choices:
                for i, case in enumerate(choice.cases):
                    add((id(choice), i), "case", f.name, f"{_text(case.value)} when {_text(case.when)}", case.span)
                add((id(choice), len(choice.cases)), "case", f.name, f"otherwise {_text(choice.otherwise)}",
                    choice.otherwise.span)
    for p in rulebook.parameters:
        choices = []
        _choices(p.value, choices)
        for choice in choices:
            for i, case in enumerate(choice.cases):
                add((id(choice), i), "case", None, f"{p.name}: {_text(case.value)} when {_text(case.when)}",
                    case.span)
            add((id(choice), len(choice.cases)), "case", None, f"{p.name}: otherwise {_text(choice.otherwise)}",
                choice.otherwise.span)
    return items


def _fires(step) -> bool:
    v = step.values
    if step.kind == "applies":
        return bool(v["result"])
    if step.kind == "deductible":
        return bool(v["applies"]) and v["taken"] > 0
    if step.kind == "cap":
        return v["above"] > 0 or bool(v.get("limited"))
    if step.kind == "adjust":
        return bool(v["applied"])
    return step.kind in ("exclude", "treat", "rate", "band", "flat", "insured")


def coverage(rulebook: n.Rulebook, settlements) -> Coverage:
    """Coverage of one rulebook by traced settlements under it."""
    items = items_of(rulebook)
    funds = {f.name: f for f in rulebook.funds}
    for s in settlements:
        for claim in s.claims:
            for step in claim.steps or ():
                if step.layer:
                    continue
                if step.kind == "base" and step.fund in funds:
                    items[id(funds[step.fund])].hits += 1
                if step.node is not None and id(step.node) in items and _fires(step):
                    items[id(step.node)].hits += 1
                for node, value in step.reads:
                    if isinstance(node, (n.Cases, n.Highest)) and (id(node), value) in items:
                        items[(id(node), value)].hits += 1
    ordered = sorted(items.values(), key=lambda i: (i.span.file, i.span.line, i.span.col))
    return Coverage(rulebook.header.id if rulebook.header else rulebook.file, rulebook.file, tuple(ordered))
