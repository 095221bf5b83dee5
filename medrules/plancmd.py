"""``medrules plan RULEBOOK``: the lowered plan, one operation a line, or (``--source``) the Python source the
scalar backend generates from it (:mod:`medrules.evaluate.kernel`), to read what a settlement runs."""
from __future__ import annotations


def plan_text(program, source: bool = False, traced: bool = True) -> str:
    if not source:
        from medrules.plan import describe
        return describe(program.plan) + "\n"
    from medrules.evaluate.kernel import kernel_source
    return kernel_source(program, traced)
