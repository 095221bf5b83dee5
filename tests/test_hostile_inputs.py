"""Hostile and careless inputs (issue 13): each class ends in a located diagnostic, never a traceback.

Inputs are the reproducers in tests/hostile/ (from shared/reports/reliability) and small hand-made
variants. Every test goes through the command line's own handler and asserts the diagnostic's code,
line and column (not its wording), and that no internal error (exit 3) escaped.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from medrules.cli import app

HOSTILE = ROOT / "tests" / "hostile"
QZ = str(ROOT / "rulebooks" / "quzhou" / "employee-2012")
FIRST = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error\[(?P<code>[\w-]+)\]", re.M)


def invoke(*args) -> object:
    r = CliRunner().invoke(app, [str(a) for a in args])
    assert r.exit_code != 3, r.output  # never an internal error
    assert "Traceback" not in r.output
    return r


def located(r, file: str | None = None) -> tuple[str, int, int]:
    """The (code, line, col) of the first diagnostic the command printed."""
    assert r.exit_code == 1, r.output
    if r.output.lstrip().startswith("{"):  # --json: the errors are a medrules.errors/1 document
        doc = json.loads(r.output)
        assert doc["schema"] == "medrules.errors/1", r.output
        first = doc["errors"][0]
        where = first["location"]
        if file is not None:
            assert where["file"].endswith(file), r.output
        return first["code"], where["line"], where["col"]
    m = FIRST.search(r.output)
    assert m, r.output
    if file is not None:
        assert m["file"].endswith(file), r.output
    return m["code"], int(m["line"]), int(m["col"])


def facts_file(tmp_path: Path, text: str, name: str = "f.json") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# ---------------------------------------------------------------- facts: JSON text
@pytest.mark.parametrize("name, where", [
    ("b01-bad-escape.json", (1, 21)),  # the backslash of "a\qb": the string starts at col 19, '\' is its 3rd char
    ("b01-raw-tab.json", (1, 21)),  # the tab inside "a<TAB>b"
])
def test_bad_escapes_and_raw_control_characters_are_located(name, where):
    assert located(invoke("run", QZ, HOSTILE / name), name) == ("facts-syntax", *where)


def test_deep_json_is_refused_at_the_bracket_that_goes_too_deep(tmp_path):
    # 'claims': [ opens depth 2; 31 more brackets reach 33 > 32 at the 32nd '[' after the claims one
    head = '{"member": {"id": "M", "category": "working"}, "claims": '
    text = head + "[" * 500 + "]" * 500 + "}"
    code, line, col = located(invoke("run", QZ, facts_file(tmp_path, text)))
    # depth 1 is '{', so the bracket at depth 33 is the 32nd '[': column len(head) + 32
    assert (code, line, col) == ("facts-depth", 1, len(head) + 32)


def test_deep_what_if_value_is_refused():
    r = invoke("explain", QZ, HOSTILE / "facts-min.json", "--what-if", "claim.compliant_cost=" + "[" * 600)
    code, line, col = located(r, "--what-if")
    assert code == "facts-depth" and line == 1 and col == 33  # 32 brackets deep is allowed, the 33rd is not


# ---------------------------------------------------------------- facts: values out of range
@pytest.mark.parametrize("name, where", [
    ("b03-huge-money.json", (2, 87)),  # 10^26 yuan
    ("b09-year-9999.json", (2, 34)),  # a claim dated 9999-06-01 (benefit year 10000)
    ("b04-surrogate.json", (1, 19)),  # member id "\ud800"
    ("b05-markup-claim-id.json", None),  # "[/bold]" is a fine id: settled and shown literally
    ("s02-escape.json", (1, 19)),  # member id with ESC[2J: refused, it would clear the screen
])
def test_facts_values_are_bounded_and_printable(name, where):
    r = invoke("run", QZ, HOSTILE / name)
    if where is None:
        assert r.exit_code == 0 and "[/bold]" in r.output, r.output
    else:
        code, line, col = located(r, name)
        assert code == "facts" and (line, col) == where


def test_a_member_date_before_1900_is_refused():
    # arrears_from "0001-01-01" on line 1: crashed the citizen view's date arithmetic
    code, line, col = located(invoke("explain", QZ, HOSTILE / "b10-date-0001.json", "--view", "citizen"))
    first = (HOSTILE / "b10-date-0001.json").read_text("utf-8").splitlines()[0]
    assert (code, line, col) == ("facts", 1, first.index('"0001') + 1)


def test_nan_count_is_refused():
    r = invoke("run", ROOT / "rulebooks/pingyang/residents-2019", HOSTILE / "b18-count-nan.json")
    assert located(r, "b18-count-nan.json") == ("facts", 11, 24)


@pytest.mark.parametrize("value", ['"Infinity"', '"1e99999"', '"-NaN"', "1e400"])
def test_non_finite_or_huge_counts_are_refused(tmp_path, value):
    facts = json.loads((HOSTILE / "b18-count-nan.json").read_text("utf-8"))
    text = json.dumps(facts, indent=2).replace('"NaN"', value)
    r = invoke("run", ROOT / "rulebooks/pingyang/residents-2019", facts_file(tmp_path, text))
    assert located(r) == ("facts", 11, 24)


def test_what_if_date_out_of_range():
    r = invoke("explain", QZ, HOSTILE / "facts-min.json", "--what-if", "claim.date=9999-12-31")
    assert located(r, "--what-if") == ("facts", 1, 1)


def test_a_long_claim_id_is_refused_quickly(tmp_path):
    facts = {"member": {"id": "M", "category": "working"},
             "claims": [{"id": "x" * 40_000, "date": "2012-03-01", "kind": "outpatient", "compliant_cost": "1.00"}]}
    text = json.dumps(facts)
    r = invoke("explain", QZ, facts_file(tmp_path, text))
    assert located(r) == ("facts", 1, text.index('"xxx') + 1)  # at the id's opening quote


def test_duplicate_claim_ids_across_policy_years():
    r = invoke("run", ROOT / "rulebooks/pingyang", HOSTILE / "v01-dup-ids-across-years.json", "--json")
    assert located(r, "v01-dup-ids-across-years.json") == ("facts", 15, 10)


def test_markup_in_ids_is_printed_as_text(tmp_path):
    facts = {"member": {"id": "[link=https://evil.example/]M[/link]", "category": "working"},
             "claims": [{"id": "[red]C1", "date": "2012-03-01", "kind": "inpatient", "compliant_cost": "1000.00"}]}
    r = invoke("run", QZ, facts_file(tmp_path, json.dumps(facts)))
    assert r.exit_code == 0 and "[red]C1" in r.output and "[link=https://evil.example/]M[/link]" in r.output


# ---------------------------------------------------------------- rulebooks
def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def copy_hostile(tmp_path: Path, name: str) -> Path:
    return write(tmp_path, name, (HOSTILE / name).read_text("utf-8"))


HEADER = ('rulebook "x" {\n  effective from 2012-01-01\n  year starts 01-01 by claim.date\n'
          '  rounding half_up to 0.01 yuan per payment\n}\nsource S { number "n" }\n'
          'facts member { id: text }\nfacts claim { id: text  date: date  cost: money }\n')  # 8 lines


def test_year_starting_on_february_29_is_refused():
    r = invoke("run", HOSTILE / "b06-feb29.mr", HOSTILE / "b06-facts-2013.json")
    assert located(r, "b06-feb29.mr") == ("bad-date", 36, 15)


@pytest.mark.parametrize("quantum, code, col", [
    ("0.000000000000000000000000000001", "bounds", 23),  # finer than 10^-26: refused by size
    ("0.001", "unit", 3),  # finer than the fen
    ("0.05", "unit", 3),  # not a power of ten
])
def test_rounding_quanta_off_the_grid(tmp_path, quantum, code, col):
    text = HEADER.replace("to 0.01 yuan", f"to {quantum} yuan") + \
        'fund f cites S "q" {\n  base claim.cost\n  rate 50%\n}\ntotal cost is claim.cost\n'
    assert located(invoke("check", write(tmp_path, "r.mr", text)), "r.mr") == (code, 4, col)


def test_rounding_quantum_is_taken_by_value(tmp_path):
    # 'to 10 yuan' rounds to tens: 1,234.56 × 50% = 617.28 → 620; 'to 0.010 yuan' is the fen: 617.28
    rule = 'fund f cites S "q" {\n  base claim.cost\n  rate 50%\n}\ntotal cost is claim.cost\n'
    facts = facts_file(tmp_path, json.dumps({"member": {"id": "M"}, "claims": [
        {"id": "C1", "date": "2012-03-01", "cost": "1234.56"}]}))
    for quantum, paid in (("10", "620"), ("0.010", "617.28"), ("1.0", "617")):
        text = HEADER.replace("to 0.01 yuan", f"to {quantum} yuan") + rule
        r = invoke("run", write(tmp_path, "r.mr", text), facts, "--json")
        assert r.exit_code == 0, r.output
        doc = json.loads(r.stdout)
        from decimal import Decimal
        assert Decimal(doc["claims"][0]["funds"][0]["paid"]) == Decimal(paid), (quantum, doc["claims"][0])
        assert Decimal(doc["rulebook"]["rounding"]["quantum"]) == Decimal(quantum)  # the same value …
    r = invoke("show", write(tmp_path, "r.mr", HEADER.replace("to 0.01 yuan", "to 0.010 yuan") + rule))
    assert "to 0.01 yuan" in r.output  # … shown as the fen, not 0.010


@pytest.mark.parametrize("clause, col", [
    ("flat -800 yuan", 8),
    ("rate 50%\n  cap payments at 123.465 yuan per claim", 19),
    ("rate 50%\n  deductible { 0.001 yuan when claim.cost > 5 yuan, otherwise 3 yuan } per claim", 16),
])
def test_negative_and_sub_fen_amounts_are_refused(tmp_path, clause, col):
    text = HEADER + f'fund f cites S "q" {{\n  base claim.cost\n  {clause}\n}}\ntotal cost is claim.cost\n'
    line = 11 + clause.count("\n")
    assert located(invoke("check", write(tmp_path, "r.mr", text)), "r.mr") == ("amount", line, col)


def test_a_payment_cap_off_the_rounding_grid_is_never_exceeded():
    # rounding up to 1 yuan and a cap of 100.5 a year (issue 13: the year paid 101.00).
    # C1 100.00 → 100; C2 3.00: the room is 0.50 and a whole yuan does not fit in it → 0. Year: 100 ≤ 100.5
    r = invoke("run", HOSTILE / "m04-round-up-cap.mr", HOSTILE / "m04.json", "--json")
    assert r.exit_code == 0, r.output
    from decimal import Decimal
    paid = [Decimal(c["funds"][0]["paid"]) for c in json.loads(r.stdout)["claims"]]
    assert paid == [Decimal(100), Decimal(0)]


def test_negative_flat_from_the_issue():
    assert located(invoke("run", HOSTILE / "m02-flat-negative.mr", HOSTILE / "m02.json")) == ("amount", 11, 8)


def test_a_500_term_or_is_refused_where_it_gets_too_deep(tmp_path):
    cond = " or ".join(["claim.cost > 1 yuan"] * 500)
    text = HEADER + f'fund f cites S "q" {{\n  applies when {cond}\n  base claim.cost\n  rate 50%\n}}\n' \
        'total cost is claim.cost\n'
    code, line, col = located(invoke("check", write(tmp_path, "r.mr", text)), "r.mr")
    assert (code, line) == ("too-deep", 10)


@pytest.mark.parametrize("op", ["not ", "-"])
def test_490_nested_unary_operators_are_refused(tmp_path, op):
    expr = ("not " * 490 + "claim.cost > 1 yuan") if op == "not " else ("-" * 490 + "claim.cost")
    clause = f"applies when {expr}" if op == "not " else f"base {expr}"
    text = HEADER + f'fund f cites S "q" {{\n  {clause}\n  base claim.cost\n  rate 50%\n}}\ntotal cost is claim.cost\n'
    code, line, _ = located(invoke("check", write(tmp_path, "r.mr", text)), "r.mr")
    assert (code, line) == ("too-deep", 10)


def test_nesting_within_the_bound_settles(tmp_path):
    # 40 nested 'not' (an even number: the condition itself) — well inside the bound, and it pays:
    # 100.00 × 50% = 50.00
    text = HEADER + ('fund f cites S "q" {\n  applies when ' + "not " * 40 + 'claim.cost > 1 yuan\n'
                     '  base claim.cost\n  rate 50%\n}\ntotal cost is claim.cost\n')
    facts = facts_file(tmp_path, json.dumps({"member": {"id": "M"}, "claims": [
        {"id": "C1", "date": "2012-03-01", "cost": "100.00"}]}))
    r = invoke("explain", write(tmp_path, "r.mr", text), facts, "--lang", "en")
    assert r.exit_code == 0 and "50.00" in r.output, r.output


def test_a_3000_parameter_chain_is_refused_at_the_65th(tmp_path):
    params = ['parameter p0: money = 1 yuan cites S "q"'] + \
        [f'parameter p{i}: money = p{i - 1} cites S "q"' for i in range(1, 3000)]
    text = HEADER + "\n".join(params) + '\nfund f cites S "q" {\n  base claim.cost\n  flat p2999\n}\n' \
        'total cost is claim.cost\n'
    # p64 is defined through p63 … p0: 65 parameters, one more than the bound; it is on line 9 + 64
    assert located(invoke("check", write(tmp_path, "r.mr", text)), "r.mr") == ("too-deep", 73, 1)


@pytest.mark.parametrize("literal", ["9" * 4400 + " days", "10000000000000 yuan"])
def test_huge_literals_are_refused(tmp_path, literal):
    text = HEADER + f'parameter big: {"days" if "days" in literal else "money"} = {literal} cites S "q"\n' \
        'fund f cites S "q" {\n  base claim.cost\n  rate 50%\n}\ntotal cost is claim.cost\n'
    line9 = text.splitlines()[8]
    assert located(invoke("check", write(tmp_path, "r.mr", text)), "r.mr") == ("bounds", 9, line9.index(literal) + 1)


def test_invalid_utf8_in_a_rulebook_is_located(tmp_path):
    p = tmp_path / "r.mr"
    p.write_bytes(HEADER.encode() + b'parameter x: money = 1 yuan cites S "\xe4\xb8q"\n')
    # line 9; the bad byte follows 'parameter x: money = 1 yuan cites S "'
    assert located(invoke("check", p), "r.mr") == ("io", 9, len('parameter x: money = 1 yuan cites S "') + 1)


def test_control_characters_in_a_rulebook_are_refused(tmp_path):
    text = HEADER.replace('number "n"', 'number "\x1b[2Jn"')
    assert located(invoke("check", write(tmp_path, "r.mr", text)), "r.mr") == ("syntax", 6, len('source S { number "') + 1)


# ---------------------------------------------------------------- amends / layers on: confinement
@pytest.mark.parametrize("name", ["s01-amends-passwd.mr", "s01-amends-environ.mr", "h01-amends-dev-zero.mr"])
def test_absolute_references_are_refused_without_reading_them(tmp_path, name):
    r = invoke("check", copy_hostile(tmp_path, name))
    assert located(r, name) == ("confinement", 2, 3)
    assert "root:" not in r.output and "PATH=" not in r.output


@pytest.mark.parametrize("ref", ["../../../../../../etc/passwd", "../outside.mr", "/dev/stdin", "link.mr",
                                 "notes.txt"])
def test_references_leaving_the_root_or_not_rulebooks(tmp_path, ref):
    inner = tmp_path / "inner"
    inner.mkdir()
    write(tmp_path, "outside.mr", HEADER)
    write(inner, "notes.txt", "secret first line\n")
    (inner / "link.mr").symlink_to(tmp_path / "outside.mr")
    p = write(inner, "r.mr", f'rulebook "x" {{\n  amends "{ref}"\n}}\n')
    r = invoke("check", p)
    assert located(r, "r.mr") == ("confinement", 2, 3)
    assert "secret" not in r.output


def test_layers_on_is_confined_too(tmp_path):
    inner = tmp_path / "inner"
    inner.mkdir()
    write(inner, "notes.txt", "secret first line\n")
    p = write(inner, "r.mr", 'rulebook "x" {\n  layers on "notes.txt" as base\n}\n')
    r = invoke("check", p)
    assert located(r, "r.mr") == ("confinement", 2, 3) and "secret" not in r.output


def test_an_explicit_root_lets_a_reference_leave_the_folder(tmp_path):
    inner = tmp_path / "inner"
    inner.mkdir()
    write(tmp_path, "outside.mr", HEADER + 'fund f cites S "q" {\n  base claim.cost\n  rate 50%\n}\n'
                                  'total cost is claim.cost\n')
    p = write(inner, "r.mr", 'rulebook "y" {\n  effective from 2013-01-01\n  amends "../outside.mr"\n}\n')
    assert invoke("check", p, "--root", tmp_path).exit_code == 0


@pytest.mark.parametrize("name, code", [("b12-amends-empty.mr", "amendment"),
                                        ("b13-amends-symlink-loop.mr", "io"), ("b14-long-path.mr", "io")])
def test_empty_looping_and_overlong_references(tmp_path, name, code):
    p = copy_hostile(tmp_path, name)
    (tmp_path / "empty.mr").write_text("")
    os.symlink("loop.mr", tmp_path / "loop.mr")
    assert located(invoke("check", p), name) == (code, 2, 3)


def test_a_device_as_the_rulebook_is_refused_at_once():
    r = invoke("check", "/dev/zero")
    assert r.exit_code == 1 and "device" in r.output


# ---------------------------------------------------------------- diff
def test_diff_reads_facts_against_both_years():
    # the new year adds claim.urgent (default false); the facts file does not state it
    r = invoke("diff", ROOT / "rulebooks/weifang/kuiwen-residents-2011", HOSTILE / "b15-kuiwen-new-fact.mr",
               ROOT / "examples/kuiwen-2011-crosses-cap.json", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["claims"]  # settled under both


# ---------------------------------------------------------------- diagnostics never print raw control characters
def test_a_diagnostic_about_a_raw_escape_prints_it_escaped(tmp_path):
    p = tmp_path / "f.json"
    p.write_bytes(b'{"member": {"id": "a\x1b[2Jb"}, "claims": []}')
    r = invoke("run", QZ, p)
    assert located(r) == ("facts-syntax", 1, 21)
    assert "\x1b" not in r.output


# ---------------------------------------------------------------- resources
def test_what_would_have_paid_is_bounded(tmp_path):
    # 12 unpaid outpatient claims of 0.00: 10 are analysed, the other 2 are named
    claims = [{"id": f"C{i}", "date": f"2012-03-{i + 1:02d}", "kind": "outpatient", "compliant_cost": "0.00"}
              for i in range(12)]
    facts = facts_file(tmp_path, json.dumps({"member": {"id": "M", "category": "working"}, "claims": claims}))
    r = invoke("explain", QZ, facts, "--lang", "en")
    assert r.exit_code == 0, r.output
    assert "2 more unpaid claims not analysed: C10, C11" in r.output


def test_sensitivity_of_one_claim_ignores_the_claims_after_it(monkeypatch):
    """Leaving out later claims changes nothing: the same ranking as re-settling the whole file."""
    from conftest import program_for
    from medrules.analyses import whatif
    from medrules.facts import facts_from_source
    from medrules.source import SourceFile
    program = program_for(ROOT / "rulebooks" / "quzhou" / "employee-2012.mr")
    path = ROOT / "examples" / "quzhou-employee-2012-inpatient-year.json"
    facts = facts_from_source(SourceFile(str(path), path.read_text("utf-8")), program.checked)
    ids = [c.id for c in facts.claims]
    assert len(whatif.upto(program, facts, [ids[1]]).claims) == 2  # C1, C2 of four claims in date order
    bounded = [whatif.sensitivity(program, facts, [cid]) for cid in ids]
    monkeypatch.setattr(whatif, "upto", lambda program, facts, claim_ids: facts)
    assert bounded == [whatif.sensitivity(program, facts, [cid]) for cid in ids]
