"""medrules run in bounded memory (medrules/runcmd.py, issue 13): the same output, printed in pieces;
JSON Lines member by member; a facts file too large refused, located; out of memory said, not traced."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules.batch.generate import random_members, text_of
from medrules.cli import app
from medrules.explain.json import settlement_json
from medrules.explain.text import render_settlement
from medrules.facts import facts_from_source
from medrules.runcmd import print_table, write_settlement_json
from medrules.source import SourceFile

QZ = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"
EXAMPLES = [ROOT / "examples" / name for name in ("quzhou-employee-2012-inpatient-year.json",
                                                  "quzhou-employee-2012-outpatient-arrears.json",
                                                  "quzhou-employee-2012-retiree-outpatient.json")]


def invoke(*args, input=None):
    r = CliRunner().invoke(app, [str(a) for a in args], input=input)
    assert r.exit_code != 3 and "Traceback" not in r.output, r.output
    return r


@pytest.fixture(scope="module")
def program():
    return medrules.load(QZ)


@pytest.fixture(scope="module")
def many(program):
    """One member with 350 generated claims (all kinds of care, caps reached), settled."""
    checked = program.checked
    claims = []
    for member, its in random_members(checked, 120, seed=13):
        for c in its:
            claims.append({k: text_of(v) for k, v in c.items() if v is not None})
    claims = claims[:350]
    for i, c in enumerate(claims):
        c["id"] = f"C{i + 1}"
    doc = {"member": {"id": "M1", "category": "retired"}, "claims": claims}
    facts = facts_from_source(SourceFile("many.json", json.dumps(doc)), checked)
    return medrules.settle(program, facts)


@pytest.mark.parametrize("options", [dict(width=160), dict(width=160, force_terminal=True), dict(width=60),
                                     dict(width=60, force_terminal=True)],
                         ids=["table", "table-terminal", "stacked", "stacked-terminal"])
def test_the_table_in_pieces_is_the_table(program, many, options):
    """Rendered 100 rows at a time (and at 60 columns, where no table fits, claim by claim): the same text,
    styles included, as rich printing the whole table at once."""
    table = render_settlement(program, many, "en")
    whole, pieces = io.StringIO(), io.StringIO()
    Console(file=whole, **options).print(table)
    print_table(Console(file=pieces, **options), table, chunk=100)
    assert len(table.rows) == 350
    assert pieces.getvalue() == whole.getvalue()


def test_the_json_claim_by_claim_is_the_document(program, many):
    written = io.StringIO()
    write_settlement_json(program, many, written.write)
    assert written.getvalue() == json.dumps(settlement_json(program, many), ensure_ascii=False, indent=2) + "\n"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_the_examples_json_unchanged(program, example):
    result = medrules.settle(program, facts_from_source(SourceFile.read(example), program.checked))
    written = io.StringIO()
    write_settlement_json(program, result, written.write)
    assert written.getvalue() == json.dumps(settlement_json(program, result), ensure_ascii=False, indent=2) + "\n"


def _lines_file(tmp_path: Path, docs: list[str]) -> Path:
    path = tmp_path / "members.jsonl"
    path.write_text("".join(d + "\n" for d in docs), encoding="utf-8")
    return path


def test_json_lines_member_by_member_as_each_file(tmp_path):
    """Three members, one per line (and a blank line): the same tables as 'run' on each member's own file, in
    order; with --json, one settlement document per line, each the document 'run --json' prints for that file."""
    docs = [json.dumps(json.loads(p.read_text(encoding="utf-8")), ensure_ascii=False) for p in EXAMPLES]
    path = _lines_file(tmp_path, [docs[0], "", docs[1], docs[2]])
    text = invoke("run", QZ, path, "--lang", "en")
    assert text.exit_code == 0, text.output
    singles = [invoke("run", QZ, p, "--lang", "en") for p in EXAMPLES]
    assert text.output == "".join(r.output for r in singles)
    as_json = invoke("run", QZ, path, "--json")
    assert as_json.exit_code == 0
    lines = as_json.output.splitlines()
    assert len(lines) == 3
    assert [json.loads(line) for line in lines] == [json.loads(invoke("run", QZ, p, "--json").output)
                                                    for p in EXAMPLES]


def test_json_lines_errors_name_the_line_and_quote_it(tmp_path):
    good = json.dumps(json.loads(EXAMPLES[0].read_text(encoding="utf-8")), ensure_ascii=False)
    bad = '{"member": {"id": "M9", "category": "retird"}, "claims": []}'
    path = _lines_file(tmp_path, [good, good.replace('"QZ', '"QZ2'), bad])
    r = invoke("run", QZ, path)
    assert r.exit_code == 1
    # line 3 of the file; '{"member": ' (11) + '{"id": "M9", ' (13) + '"category": ' (12) = 36 characters before
    # the value, which starts at column 37
    assert f"{path}:3:37: error[facts]" in r.output
    assert '"category": "retird"' in r.output  # the line is quoted: it is the user's facts


def test_json_lines_syntax_error_on_its_line(tmp_path):
    path = _lines_file(tmp_path, ['{"member": {"id": "M1" "category": "retired"}, "claims": []}'])
    r = invoke("run", QZ, path)
    # the missing comma: reading stops at the string "category", column 24 of line 1
    assert r.exit_code == 1 and f"{path}:1:24: error[facts-syntax]" in r.output


def test_too_many_claims_are_refused_at_the_first_one_too_many(tmp_path, monkeypatch):
    """With the bound at 3 claims, the 4th claim's opening brace (line 6, column 3) is where reading stops."""
    import medrules.facts as facts_module
    monkeypatch.setattr(facts_module, "MAX_CLAIMS", 3)
    claims = ",\n".join('  {"id": "C%d", "date": "2012-03-0%d", "kind": "outpatient", '
                        '"institution": "other_designated", "compliant_cost": "100.00", "self_paid": "0.00"}' % (i, i)
                        for i in range(1, 6))
    path = tmp_path / "five.json"
    path.write_text('{"member": {"id": "M1", "category": "working"},\n "claims": [\n' + claims + "\n]}\n")
    r = invoke("run", QZ, path)
    assert r.exit_code == 1
    assert f"{path}:6:3: error[facts-size]" in r.output and "medrules settle" in r.output


def test_out_of_memory_is_said_in_one_line_not_traced(monkeypatch):
    import medrules.runcmd

    def exhausted(*args, **kwargs):
        raise MemoryError()
    monkeypatch.setattr(medrules.runcmd, "run_command", exhausted)
    r = invoke("run", QZ, EXAMPLES[0])
    assert r.exit_code == 1 and "error[memory]" in r.output and "medrules settle" in r.output


def test_a_facts_file_over_the_size_bound_is_refused_before_reading(tmp_path):
    """A (sparse) file one byte over 64 MiB: refused from its size by explain, pointing to 'medrules settle';
    run reads it a claim at a time (medrules/runstream.py) and stops at its first character, not JSON."""
    from medrules.source import MAX_FACTS_BYTES
    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.truncate(MAX_FACTS_BYTES + 1)
    r = invoke("explain", QZ, big)
    assert r.exit_code == 1 and f"{big}:1:1: error[facts-size]" in r.output and "medrules settle" in r.output
    assert f"{MAX_FACTS_BYTES + 1:,} bytes" in r.output
    r = invoke("run", QZ, big)
    assert r.exit_code == 1 and f"{big}:1:1: error[facts-syntax]" in r.output
