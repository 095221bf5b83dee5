"""Contributions keep the project's architecture: one name per clause kind in every stage, and
an invariant that holds for any member (hypothesis)."""
from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, program_for
from medrules import nodes as n
from medrules.check import contributions as check_contributions
from medrules.evaluate import assess
from medrules.evaluate import contribution as evaluate_contribution
from medrules.explain.contribution import ContributionDescriber
from medrules.facts import facts_from_source
from medrules.plan import contribution as plan_contribution
from medrules.source import SourceFile

GRAMMAR = (ROOT / "grammar" / "medrules.lark").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", ["premium", "subsidy", "prorate"])
def test_one_name_in_every_stage(kind):
    cls = kind.capitalize()
    assert re.search(rf"^{kind}:", GRAMMAR, re.M), f"grammar rule '{kind}'"
    assert hasattr(n, cls), f"node {cls}"
    assert hasattr(check_contributions, f"check_{kind}"), f"checker check_{kind}"
    assert hasattr(plan_contribution, cls), f"plan operation {cls}"
    assert hasattr(evaluate_contribution, f"settle_{kind}"), f"scalar backend settle_{kind}"
    assert kind in evaluate_contribution.CONTRIBUTION_STEP_KINDS, f"trace step '{kind}'"
    assert hasattr(ContributionDescriber, f"step_{kind}"), f"explanation step_{kind}"


def test_every_contribution_step_kind_can_be_explained():
    for kind in evaluate_contribution.CONTRIBUTION_STEP_KINDS:
        assert hasattr(ContributionDescriber, f"step_{kind}"), kind


GROUPS = ["hardship", "disability_1_2", "entitled", "brave_dependant", "family_planning", "landless",
          "registered_poor", "low_income", "disability_3_4"]


@settings(max_examples=150, deadline=None)
@given(groups=st.lists(st.sampled_from(GROUPS), unique=True), age=st.integers(0, 110),
       tier=st.sampled_from(["tier1", "tier2"]), student=st.booleans(), local=st.booleans(),
       new_student=st.booleans(), supplementary=st.booleans())
def test_the_member_owes_the_premium_less_subsidies_never_less_than_zero(groups, age, tier, student, local,
                                                                         new_student, supplementary):
    program = program_for(ROOT / "rulebooks" / "jiang" / "contributions-2021.mr")
    member = {"id": "P", "groups": groups, "age": age, "tier": tier, "student": student, "local": local,
              "new_student": new_student, "supplementary": supplementary}
    facts = facts_from_source(SourceFile("<p>", json.dumps({"member": member})), program.checked)
    a = assess(program, facts, trace=True)
    from medrules.explain.contribution import explain_assessment, render_text
    for lang in ("zh", "en"):  # every member can be explained, in both views
        e = explain_assessment(program, a, lang)
        assert render_text(e, "citizen") and render_text(e, "auditor")
    for c in a.contributions:
        assert Decimal(0) <= c.member_owes <= c.premium
        assert c.member_owes + c.subsidised == c.premium
    basic = a.contribution("basic")
    # one government subsidy only (就高): never more than the whole tier-2 premium, 380
    assert basic.subsidised <= Decimal(380)
    # 就高: adding a group never makes the member owe more
    if groups:
        fewer = dict(member, groups=groups[:-1])
        f2 = facts_from_source(SourceFile("<p>", json.dumps({"member": fewer})), program.checked)
        assert basic.member_owes <= assess(program, f2).contribution("basic").member_owes
