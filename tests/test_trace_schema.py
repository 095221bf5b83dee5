"""Every explanation the project can produce validates against the published, versioned schema."""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

import medrules
from conftest import ROOT, case_files, load_case
from medrules.explain import explain
from medrules.explain.json import EXPLANATION_SCHEMA, explanation_json
from medrules.facts import facts_from_source
from medrules.source import SourceFile

SCHEMA = json.loads((resources.files("medrules") / "schema" / "explanation-1.schema.json").read_text("utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

# examples/<prefix>-….json settle under these rulebooks
EXAMPLES = {
    "quzhou-employee-2012": "rulebooks/quzhou/employee-2012.mr",
    "pingyang-2019": "rulebooks/pingyang/residents-2019.mr",
    "anji-2015": "rulebooks/anji/residents-2015.mr",
    "anji-2014": "rulebooks/anji/residents-2014.mr",
    "kuiwen-2011": "rulebooks/weifang/kuiwen-residents-2011.mr",
    "veterans-2011": "rulebooks/veterans/subsidy.mr",
    "cangzhou-yanshan-residents-2017": "rulebooks/cangzhou/yanshan-residents-2017.mr",
    "chongqing-residents-2017": "rulebooks/chongqing/residents-2017.mr",
    "qinhuangdao-residents-2017": "rulebooks/qinhuangdao/residents-2017.mr",
    "qinhuangdao-students-2017-2018": "rulebooks/qinhuangdao/students-2017-2018.mr",
    "tianjin": "rulebooks/tianjin/employee-continuity.mr",
}
EXAMPLE_FILES = sorted((ROOT / "examples").glob("*.json"))


def _rulebook_for(example: Path) -> str:
    matches = [prefix for prefix in EXAMPLES if example.name.startswith(prefix + "-")]
    assert matches, f"{example.name}: add its rulebook to EXAMPLES"
    return EXAMPLES[max(matches, key=len)]


def _validate(doc):
    errors = sorted(VALIDATOR.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_the_schema_is_a_valid_json_schema_and_matches_the_code():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["schema"]["const"] == EXPLANATION_SCHEMA


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", case_files(), ids=lambda p: p.stem)
def test_case_explanations_validate(path, lang):
    program, _, facts = load_case(path)
    _validate(explanation_json(explain(program, medrules.settle(program, facts, trace=True), lang)))


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_explanations_validate(path, lang):
    program = medrules.load(ROOT / _rulebook_for(path))
    facts = facts_from_source(SourceFile.read(path), program.checked)
    _validate(explanation_json(explain(program, medrules.settle(program, facts, trace=True), lang)))


def test_a_broken_document_is_caught():
    program, _, facts = load_case(case_files()[0])
    doc = explanation_json(explain(program, medrules.settle(program, facts, trace=True), "en"))
    doc["claims"][0]["steps"][0]["values"] = {}
    doc["claims"][0]["total_cost"] = 12.5
    assert len(list(VALIDATOR.iter_errors(doc))) >= 2


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_citizen_views(path, lang, snapshot):
    """The citizen's view of every example of every shipped rulebook, in both languages (read before committing)."""
    from medrules.explain.text import render_citizen, to_text

    def read(p):
        return SourceFile(p.resolve().relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8"))
    program = medrules.load(ROOT / _rulebook_for(path), read=read)
    facts = facts_from_source(SourceFile.read(path), program.checked)
    e = explain(program, medrules.settle(program, facts, trace=True), lang)
    assert to_text(render_citizen(e), width=120) == snapshot
