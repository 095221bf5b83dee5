"""Check: a parsed rulebook -> :class:`CheckedRulebook`, or every problem at once.

The passes run in order over one :class:`Context`; each reads the frozen tree and
fills side tables (declarations, resolved names, the type of every expression,
folded constants). A ``CheckedRulebook`` exists only when no pass found an error.
"""
from __future__ import annotations

from medrules import nodes as n
from medrules.check import (actionable, amended, bands, citations, contributions, declarations, funds, membership,
                            types)
from medrules.check.context import CheckedRulebook, Context
from medrules.diagnostics import MedrulesError

PASSES = (declarations.check, types.check, funds.check, bands.check, citations.check, contributions.check,
          actionable.check, amended.check, membership.check)

__all__ = ["CheckedRulebook", "PASSES", "check"]


def check(rulebook: n.Rulebook, max_errors: int = 50, base: CheckedRulebook | None = None,
          readings: dict[str, str] | None = None) -> CheckedRulebook:
    """Check a rulebook; ``base`` is the checked rulebook it layers on, if it is a supplement; ``readings``
    chooses other alternatives than the rulebook's own (:mod:`medrules.readings`)."""
    from medrules.readings import select
    rulebook = select(rulebook, readings)
    ctx = Context(rulebook, base=base)
    layers = rulebook.header.layers_on if rulebook.header else None
    if layers is not None and base is None:  # everything else would cascade from this one
        declarations.check_layers(ctx, rulebook.header)
        raise MedrulesError(ctx.diagnostics)
    for run in PASSES:
        run(ctx)
    errors = [d for d in ctx.diagnostics if d.severity == "error"]
    if errors:
        errors.sort(key=lambda d: (d.span.line, d.span.col) if d.span else (0, 0))
        raise MedrulesError(errors[:max_errors])
    import attrs
    return attrs.evolve(ctx.freeze(), warnings=tuple(d for d in ctx.diagnostics if d.severity == "warning"))
