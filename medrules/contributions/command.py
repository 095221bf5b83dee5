"""``medrules assess``: the command's body (cli.py holds only a thin wrapper)."""
from __future__ import annotations

from medrules.evaluate import assess
from medrules.explain.contribution import explain_assessment, render_text, to_json


def assess_command(program, facts, lang: str, view: str, as_json: bool) -> str:
    """What the member owes under the rulebook's contributions, explained (text or JSON)."""
    explanation = explain_assessment(program, assess(program, facts, trace=True), lang)
    return to_json(explanation) if as_json else render_text(explanation, view)
