"""Membership over time keeps the architecture: one name per provision kind in five places ('insured',
'recover'), and the functions over a history are known to the checker, both backends' refusal and the
highlighter."""
from __future__ import annotations

import re

import pytest

from conftest import ROOT
from medrules import evaluate, membership, nodes
from medrules.check import membership as check_membership
from medrules.check.types import FUNCTIONS, HISTORY_ARGS
from medrules.evaluate.compile import HISTORY_FUNCTIONS
from medrules.evaluate.trace import STEP_KINDS
from medrules.explain.formula import HISTORY_FUNCTIONS as SHOWN_BRIEFLY
from medrules.explain.steps import Describer
from medrules.highlight import BUILTINS
from medrules.plan import ops

GRAMMAR = (ROOT / "grammar" / "medrules.lark").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind, scalar", [("insured", membership), ("recover", evaluate)])
def test_one_name_in_five_places(kind, scalar):
    assert re.search(rf"^{kind}:", GRAMMAR, re.M), f"grammar rule '{kind}'"
    assert hasattr(nodes, kind.capitalize()), f"node {kind.capitalize()}"
    assert hasattr(check_membership, f"check_{kind}"), f"checker check_{kind}"
    assert hasattr(ops, kind.capitalize()), f"plan operation {kind.capitalize()}"
    assert hasattr(scalar, f"settle_{kind}"), f"scalar backend settle_{kind}"
    assert kind in STEP_KINDS and hasattr(Describer, f"step_{kind}"), f"trace step and explanation '{kind}'"


def test_the_functions_over_a_history_are_the_same_everywhere():
    history = {name for name, sig in FUNCTIONS.items() if sig == "history"}
    assert history == set(HISTORY_ARGS) == set(HISTORY_FUNCTIONS) == set(SHOWN_BRIEFLY)
    assert history <= set(BUILTINS)


def test_the_language_server_knows_histories_and_insured_statements():
    from medrules.lsp.analysis import analyse, hover, symbols
    path = ROOT / "rulebooks" / "tianjin" / "employee-continuity.mr"
    text = path.read_text(encoding="utf-8")
    a = analyse("employee-continuity.mr", text)
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if "any(interruption, claim.date >= month_start(interruption.first_month)" in line)
    found = hover(a, i + 1, lines[i].index("interruption.first_month") + 3)
    assert found is not None and found[0].startswith("**fact** `interruption.first_month`: date")
    router = ROOT / "rulebooks" / "quzhou" / "membership-2020.mr"
    names = [s.name for s in symbols(analyse("membership-2020.mr", router.read_text(encoding="utf-8")))]
    assert "period" in names and "insured stopped" in names
