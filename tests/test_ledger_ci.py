"""The PostgreSQL ledger tests never vanish silently: skipped with their reason on a newcomer's machine,
failed in CI (where .ci/run starts a server and sets MEDRULES_TEST_POSTGRES_URL)."""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT

ONE_TEST = "tests/test_ledger.py::test_the_tables_are_what_the_migrations_build[postgresql]"


def run(env_changes: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "MEDRULES_TEST_POSTGRES_URL")} | env_changes
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", ONE_TEST],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_without_a_server_the_postgresql_tests_are_skipped_visibly():
    r = run({})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 skipped" in r.stdout and "set MEDRULES_TEST_POSTGRES_URL" in r.stdout


def test_in_ci_without_a_server_they_fail():
    r = run({"CI": "1"})
    assert r.returncode == 1 and "1 error" in r.stdout  # the fixture fails: the test is an error, not a skip
    assert "CI is set but MEDRULES_TEST_POSTGRES_URL is not" in r.stdout
