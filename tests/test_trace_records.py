"""The scalar backend records trace steps as tuples (StepClass, fund, node, reads, layer, *own fields) and
builds the typed steps when they are read: every tuple written in the evaluator has one value per field
of its class, and a recorded step builds into the same step as the class made with keywords."""
from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import attrs

import medrules
from conftest import ROOT, VECTOR_RULEBOOKS
from medrules.evaluate import trace

EVALUATOR = Path(__file__).resolve().parent.parent / "medrules" / "evaluate"


def recorded_tuples(name: str, text: str):
    for node in ast.walk(ast.parse(text)):
        if (isinstance(node, ast.Tuple) and node.elts and isinstance(node.elts[0], ast.Name)
                and getattr(trace, node.elts[0].id, None) in trace.STEP_CLASSES):
            yield name, node.lineno, getattr(trace, node.elts[0].id), len(node.elts) - 1


def test_every_recorded_tuple_has_one_value_per_field():
    found = [t for path in sorted(p for p in EVALUATOR.glob("*.py") if p.name != "trace.py")  # trace.py lists classes
             for t in recorded_tuples(path.name, path.read_text(encoding="utf-8"))]
    assert len(found) >= 1  # what the member pays (the funds' steps and the total are generated: below)
    for file, line, cls, values in found:
        assert values == len(attrs.fields(cls)), f"{file}:{line}: {cls.__name__}"


def test_every_tuple_a_generated_kernel_records_has_one_value_per_field():
    kinds = set()
    for path in VECTOR_RULEBOOKS + [ROOT / "rulebooks" / "tianjin" / "employee-continuity.mr"]:
        for layer in medrules.load(path).layers:
            for file, line, cls, values in recorded_tuples(str(path), layer.source):
                kinds.add(cls)
                assert values == len(attrs.fields(cls)), f"{file}, generated line {line}: {cls.__name__}"
    # every step a fund's kernel records is written by some shipped rulebook's kernel
    assert kinds >= {trace.AppliesStep, trace.ExcludeStep, trace.BaseStep, trace.DeductibleStep, trace.CostCapStep,
                     trace.PaymentCapStep, trace.BandStep, trace.RateStep, trace.FlatStep, trace.AdjustStep,
                     trace.RoundingStep, trace.AccumulateStep, trace.PaidStep, trace.TotalStep}


def test_a_record_builds_the_step_made_with_keywords():
    made = trace.CostCapStep(fund="inpatient", cap=Decimal(160000), per="year", counted_before=Decimal(0),
                             from_=Decimal(600), to=Decimal(1000), point=Decimal(160000), above=Decimal(0))
    recorded = (trace.CostCapStep, "inpatient", None, (), "", "cost", Decimal(160000), "year", Decimal(0),
                Decimal(600), Decimal(1000), Decimal(160000), Decimal(0))
    assert trace.built(recorded) == made
    assert trace.built(trace.CostCapStep.record(fund="inpatient", cap=Decimal(160000), per="year",
                                                counted_before=Decimal(0), from_=Decimal(600), to=Decimal(1000),
                                                point=Decimal(160000), above=Decimal(0))) == made
    assert trace.built(made) is made
