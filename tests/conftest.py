"""Shared fixtures: rulebooks are loaded once per session (parse and check once, settle many times)."""
from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

import medrules
from medrules.facts import facts_from_source
from medrules.source import SourceFile

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "cases"

# tests/cases/<folder> -> the rulebook its hand-computed cases settle under
CASE_RULEBOOKS = {
    "quzhou-employee-2012": ROOT / "rulebooks" / "quzhou" / "employee-2012.mr",
}


@functools.lru_cache(maxsize=None)
def program_for(path: Path, readings: tuple = ()) -> medrules.Program:
    """Load a rulebook under its repository-relative name, so spans in snapshots are the same everywhere.
    ``readings``: (name, alternative) pairs other than the rulebook's own choices."""
    source = SourceFile(path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))
    return medrules.compile_rulebook(medrules.check(medrules.parse(source), readings=dict(readings)))


def case_files() -> list[Path]:
    return sorted(p for folder in CASE_RULEBOOKS for p in (CASES / folder).glob("*.json"))


def load_case(path: Path) -> tuple[medrules.Program, dict, medrules.Facts]:
    """A case file: its program, the parsed JSON, and its facts validated against the rulebook."""
    case = json.loads(path.read_text(encoding="utf-8"))
    program = program_for(CASE_RULEBOOKS[path.parent.name], tuple(sorted(case.get("readings", {}).items())))
    text = json.dumps(case["facts"], ensure_ascii=False, indent=2)
    facts = facts_from_source(SourceFile(f"{path.parent.name}/{path.name}#facts", text), program.checked)
    return program, case, facts


@pytest.fixture(scope="session")
def quzhou() -> medrules.Program:
    return program_for(CASE_RULEBOOKS["quzhou-employee-2012"])


@pytest.fixture(autouse=True)
def every_explanation_validates(monkeypatch):
    """Every explanation document any test produces must validate against the published schema."""
    import jsonschema
    from importlib import resources

    import medrules.cli
    import medrules.explain.json as explanation_json_module

    schema = json.loads((resources.files("medrules") / "schema" / "explanation-1.schema.json").read_text("utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    original = explanation_json_module.explanation_json

    def validated(e):
        doc = original(e)
        errors = list(validator.iter_errors(json.loads(json.dumps(doc))))
        assert not errors, [f"{list(x.path)}: {x.message}" for x in errors[:3]]
        return doc

    monkeypatch.setattr(explanation_json_module, "explanation_json", validated)
    monkeypatch.setattr(medrules.cli, "explanation_json", validated)
