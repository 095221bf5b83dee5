"""Shared fixtures: rulebooks are loaded once per session (parse and check once, settle many times)."""
from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

import medrules
from medrules.source import SourceFile

ROOT = Path(__file__).resolve().parent.parent
# the rulebooks the vector backend settles: every shipped and test rulebook but contributions only (premiums,
# not claims) and those it refuses at load — histories (a list of records per member), membership routing
# (tests/test_membership.py checks the messages); those are settled by the scalar backend only
SCALAR_ONLY = {"employee-continuity", "membership-2020", "integration-2017"}
VECTOR_RULEBOOKS = [p for p in sorted((ROOT / "rulebooks").glob("*/*.mr")) + sorted((ROOT / "tests" / "rulebooks").glob("*.mr"))
                    if not p.stem.startswith("contributions") and p.stem not in SCALAR_ONLY]
# hand-computed cases, as test files beside their rulebook (run by 'medrules test' too)
CASES = ROOT / "rulebooks" / "quzhou" / "tests"

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
    return sorted(CASES.glob("*.yaml"))


def load_case(path: Path) -> tuple[medrules.Program, dict, medrules.Facts]:
    """A case file (a 'medrules test' file): its program, its content as plain data (amounts as
    decimal strings) and its facts validated against the rulebook."""
    from medrules.facts import validate
    from medrules.outcomes.spec import plain, read_tests, read_yaml
    source = SourceFile(path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))
    [case] = read_tests(source)
    program = program_for((ROOT / case.rulebook).resolve(), case.readings)
    return program, plain(read_yaml(source)), validate(case.facts, program.checked, source.name)


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


# ---------------------------------------------------------------- the ledger on SQLite and PostgreSQL
@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request, tmp_path):
    """A fresh, empty ledger database: a SQLite file, and a new database on the PostgreSQL server named by
    MEDRULES_TEST_POSTGRES_URL (skipped, visibly, without it; a failure in CI, where .ci/run starts one)."""
    import os
    import uuid
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite'}"
        return
    admin_url = os.environ.get("MEDRULES_TEST_POSTGRES_URL")
    if not admin_url:
        if os.environ.get("CI"):
            pytest.fail("CI is set but MEDRULES_TEST_POSTGRES_URL is not: .ci/run must start PostgreSQL")
        pytest.skip("PostgreSQL ledger tests: set MEDRULES_TEST_POSTGRES_URL (see .ci/postgres) to run them")
    import sqlalchemy as sa
    admin = sa.create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT")
    name = f"medrules_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield admin_url.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
