"""Typed trace steps: one class per step kind, read by field; the published JSON schema carries
the values of every kind, generated from the classes."""
from __future__ import annotations

import json
from importlib import resources

import attrs

from conftest import load_case, case_files
from medrules.evaluate import settle, trace


def _published() -> dict:
    return json.loads((resources.files("medrules") / "schema" / "explanation-1.schema.json").read_text("utf-8"))


def test_the_published_schema_is_generated_from_the_step_classes():
    steps = _published()["properties"]["claims"]["items"]["properties"]["steps"]["items"]
    assert steps["allOf"] == json.loads(json.dumps(trace.values_schema()))
    assert steps["properties"]["kind"]["enum"] == list(trace.STEP_KINDS)


def test_every_field_of_every_step_class_is_in_the_schema():
    by_kind: dict = {}
    for rule in _published()["properties"]["claims"]["items"]["properties"]["steps"]["items"]["allOf"]:
        kind = rule["if"]["properties"]["kind"]["const"]
        by_kind.setdefault(kind, []).append(rule["then"]["properties"]["values"]["properties"])
    for cls in trace.STEP_CLASSES:
        names = {f.metadata.get("key", f.name) for f in attrs.fields(cls)[len(trace.COMMON):]}
        assert any(names == set(props) for props in by_kind[cls.kind]), cls.__name__


def test_a_settlement_records_typed_steps():
    program, _, facts = load_case(case_files()[0])
    steps = [s for c in settle(program, facts, trace=True).claims for s in c.steps]
    assert steps and all(type(s) in trace.STEP_CLASSES for s in steps)
    band = next(s for s in steps if s.kind == "band")
    assert band.values["from"] == band.from_ and band.values["part"] == band.part  # 'from' is a keyword
