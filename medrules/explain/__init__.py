"""Explain: a traced settlement -> explanations a clerk can follow.

:func:`explain` turns every recorded step into a :class:`~medrules.explain.steps.Line`
(sentence, arithmetic, citation, rulebook location) in one language; the renderers
in :mod:`medrules.explain.text` (rich terminal) and :mod:`medrules.explain.json`
(machines) only lay those lines out.
"""
from __future__ import annotations

import attrs

from medrules.evaluate import ClaimResult, Program, Settlement
from medrules.explain.steps import Describer, Line

__all__ = ["ClaimExplanation", "Explanation", "Line", "explain"]


@attrs.frozen
class ClaimExplanation:
    result: ClaimResult
    lines: tuple[Line, ...]


@attrs.frozen
class Explanation:
    program: Program
    settlement: Settlement
    lang: str
    claims: tuple[ClaimExplanation, ...]
    # medrules.analyses.readings.ReadingNote: what another reading would have paid; None when not worked out
    # (the JSON then has no 'readings' on its claims, rather than an empty list that would say "none differ")
    readings: tuple | None = None

    def reading_notes(self, claim_id: str) -> list:
        return [r for r in self.readings or () if r.claim_id == claim_id]


def explain(program: Program, settlement: Settlement, lang: str = "zh",
            claim_ids: list[str] | None = None, readings=None) -> Explanation:
    """``readings``: notes from :func:`medrules.analyses.readings.other_readings` (the explanation says, on each
    claim they concern, what the other reading would have paid)."""
    describer = Describer(program, lang)
    claims = []
    for result in settlement.claims:
        if claim_ids and result.id not in claim_ids:
            continue
        if result.steps is None:
            raise ValueError("explain needs a settlement made with trace=True")
        claims.append(ClaimExplanation(result, tuple(describer.describe(s) for s in result.steps)))
    return Explanation(program, settlement, lang, tuple(claims), None if readings is None else tuple(readings))
