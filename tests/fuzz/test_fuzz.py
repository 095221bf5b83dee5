"""Fuzzing through the command line's handler: 0 internal errors, a file:line:col on every diagnostic.

A brief run is part of the default suite; ``-m slow`` runs longer, and ``benchmarks/fuzz.py
--minutes N`` runs for as long as asked and prints the counts.
"""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medrules
from fuzz_generators import (MEMBERSHIP_EXAMPLES, ROOT, assert_sane, facts_for, generated_rulebooks, mutated_facts, mutated_rulebooks,
                             run_cli)

BRIEF = settings(max_examples=12, deadline=None, database=None, derandomize=True,
                 suppress_health_check=list(HealthCheck))
LONG = settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def write(folder: Path, name: str, text: str) -> Path:
    p = folder / name
    p.write_text(text, encoding="utf-8", errors="surrogatepass")  # a lone surrogate becomes bad UTF-8
    return p


@functools.lru_cache(maxsize=None)
def example_rulebook(example: Path) -> Path:
    from test_trace_schema import _rulebook_for
    if example.parent.name == "membership":  # round 2: histories of periods, routing by scheme, 就高
        return ROOT / MEMBERSHIP_EXAMPLES[example.stem]
    return ROOT / _rulebook_for(example)


def check_rulebook(text: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        assert_sane(run_cli("check", write(Path(d), "r.mr", text)), text[:2000])


def settle_generated(text: str, data) -> None:
    """Check a generated rulebook; if it is consistent, settle and explain facts generated for it."""
    with tempfile.TemporaryDirectory() as d:
        rulebook = write(Path(d), "r.mr", text)
        assert_sane(run_cli("check", rulebook), text)
        try:
            program = medrules.load(rulebook)
        except medrules.MedrulesError:
            return
        facts = write(Path(d), "f.json", data.draw(facts_for(program.checked), label="facts"))
        assert_sane(run_cli("run", rulebook, facts, "--json"), text + facts.read_text("utf-8", "replace"))
        assert_sane(run_cli("explain", rulebook, facts, "--lang", "en"), text)


def run_mutated_facts(example: Path, text: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        facts = write(Path(d), example.name, text)
        rulebook = example_rulebook(example)
        assert_sane(run_cli("run", rulebook, facts), text[:3000])
        assert_sane(run_cli("explain", rulebook, facts, "--format", "json"), text[:3000])


@BRIEF
@given(text=mutated_rulebooks())
def test_mutated_rulebooks(text):
    check_rulebook(text)


@BRIEF
@given(text=generated_rulebooks(), data=st.data())
def test_generated_rulebooks_and_their_facts(text, data):
    settle_generated(text, data)


@BRIEF
@given(case=mutated_facts())
def test_mutated_facts(case):
    run_mutated_facts(*case)


@pytest.mark.slow
@LONG
@given(text=mutated_rulebooks())
def test_mutated_rulebooks_long(text):
    check_rulebook(text)


@pytest.mark.slow
@LONG
@given(text=generated_rulebooks(), data=st.data())
def test_generated_rulebooks_and_their_facts_long(text, data):
    settle_generated(text, data)


@pytest.mark.slow
@LONG
@given(case=mutated_facts())
def test_mutated_facts_long(case):
    run_mutated_facts(*case)
