"""Every shipped rulebook checks, cites its sources, and is described in docs/rulebooks.md."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules import nodes as n
from medrules.check.citations import PROVISIONS, citation_of
from medrules.cli import app

RULEBOOKS = sorted((ROOT / "rulebooks").glob("*/*.mr"))


def test_there_are_rulebooks_for_every_provision_group():
    ids = {p.relative_to(ROOT / "rulebooks").with_suffix("").as_posix() for p in RULEBOOKS}
    assert len(ids) >= 12
    for place in ("quzhou", "pingyang", "cangzhou", "chongqing", "qinhuangdao", "anji", "weifang", "veterans"):
        assert any(i.startswith(place + "/") for i in ids), place


@pytest.mark.parametrize("path", RULEBOOKS, ids=lambda p: p.relative_to(ROOT / "rulebooks").as_posix())
def test_rulebook_checks_and_every_provision_cites(path):
    program = medrules.load(path)
    rb = program.checked.rulebook
    for fund in rb.funds:
        for clause in fund.clauses:
            if isinstance(clause, PROVISIONS):
                cit = citation_of(fund, clause)
                assert cit is not None and (cit.assumed or (cit.source and cit.quote)), (fund.name, clause.span)
    for p in rb.parameters:
        assert p.citation.assumed or p.citation.quote, p.name
    for top in rb.exclusions + rb.treatments:
        assert top.citation is not None and top.citation.quote, top.span
    assert all(isinstance(s, n.Source) and s.number for s in rb.sources)


def test_docs_rulebooks_md_is_generated_from_the_rulebooks(monkeypatch):
    monkeypatch.chdir(ROOT)
    args = ["catalog", *(p.relative_to(ROOT).as_posix() for p in RULEBOOKS)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert (ROOT / "docs" / "rulebooks.md").read_text(encoding="utf-8") == r.output, \
        "docs/rulebooks.md is out of date: run 'medrules catalog rulebooks/*/*.mr > docs/rulebooks.md'"
