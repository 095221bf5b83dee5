"""medrules run on a large facts file, a claim at a time (medrules/runstream.py, medrules/factstream.py; issue 13):
the output is byte for byte that of the file read whole, and so is every error, whatever the order of the claims,
where the blocks the file is read in fall, and what the file holds."""
from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import medrules
import medrules.factstream as fs
import medrules.runstream as rs
from conftest import ROOT
from medrules.batch.generate import random_members, text_of
from medrules.cli import app
from test_trace_schema import _rulebook_for

QZ = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"
QZ_RESIDENTS = ROOT / "rulebooks" / "quzhou" / "residents-2020.mr"
RULEBOOKS = sorted((ROOT / "rulebooks").glob("*/*.mr"))
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


def run(*args, stream: bool, monkeypatch) -> tuple[int, str]:
    """``medrules run``, the facts file read whole (stream=False) or a claim at a time (stream=True)."""
    monkeypatch.setattr(rs, "STREAM_BYTES", -1 if stream else 1 << 40)
    r = CliRunner().invoke(app, ["run", *map(str, args)])
    assert r.exit_code in (0, 1) and "Traceback" not in r.output, r.output
    return r.exit_code, r.output


def same(monkeypatch, *args) -> tuple[int, str]:
    whole = run(*args, stream=False, monkeypatch=monkeypatch)
    assert run(*args, stream=True, monkeypatch=monkeypatch) == whole
    return whole


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Blocks of 7 bytes, 16 characters read ahead: every token and UTF-8 sequence cut somewhere."""
    monkeypatch.setattr(fs, "BLOCK", 7)
    monkeypatch.setattr(fs, "AHEAD", 16)


def generated(program, count: int, seed: int, shuffle: bool = True) -> dict:
    """One member's facts with ``count`` generated claims (the project's generator), in shuffled order."""
    claims = []
    member = None
    for m, its, *_ in random_members(program.checked, count, seed=seed):  # (a third element: histories)
        member = member or m
        claims += [{k: text_of(v) if not isinstance(v, (bool, frozenset, list)) else
                    (sorted(v) if isinstance(v, frozenset) else v) for k, v in c.items() if v is not None}
                   for c in its]
        if len(claims) >= count:
            break
    claims = claims[:count]
    for i, c in enumerate(claims):
        c["id"] = f"C{i + 1}"
    if shuffle:
        random.Random(seed).shuffle(claims)
    return {"member": {k: text_of(v) if not isinstance(v, (bool, frozenset)) else
                       (sorted(v) if isinstance(v, frozenset) else v) for k, v in member.items() if v is not None},
            "claims": claims}


# ---------------------------------------------------------------- the same output
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_every_example_the_same_streamed(example, as_json, monkeypatch, tiny_blocks):
    """Every shipped example under the rulebook it was written for (and so its errors, under the others)."""
    code, _ = same(monkeypatch, ROOT / _rulebook_for(example), example, *(["--json"] if as_json else []))
    assert code == 0


QUICK = {"quzhou/employee-2012", "pingyang/residents-2019", "quzhou/residents-2020", "veterans/subsidy"}


def _rulebook_params():
    for p in RULEBOOKS:
        name = f"{p.parent.name}/{p.stem}"
        yield pytest.param(p, id=name, marks=() if name in QUICK else pytest.mark.slow)


@pytest.mark.parametrize("rulebook", list(_rulebook_params()))
def test_every_rulebook_generated_claims_the_same_streamed(rulebook, tmp_path, monkeypatch):
    """Generated claims, shuffled, under the shipped rulebooks (all of them with -m slow): text and JSON the same
    as the file read whole."""
    program = medrules.load(rulebook)
    if program.plan.top.total is None:  # contributions only, or membership routing: refused as read whole
        pytest.skip("settles no claims itself")
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(generated(program, 120, seed=len(rulebook.stem)), ensure_ascii=False, indent=1),
                     encoding="utf-8")
    code, _ = same(monkeypatch, rulebook, facts)
    same(monkeypatch, rulebook, facts, "--json")
    assert code in (0, 1)


def test_recoverable_column_from_the_claim_that_has_one(tmp_path, monkeypatch):
    """Quzhou residents 2020 (衢医保联发〔2020〕13号 三): the fund pays first what a third party refuses to pay,
    and the table has a 'recoverable' column only when some claim is; streamed, the same table either way."""
    program = medrules.load(QZ_RESIDENTS)
    doc = generated(program, 40, seed=2)
    for c in doc["claims"]:
        c["third_party"] = "no_third_party"
    facts = tmp_path / "f.json"
    facts.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    without = same(monkeypatch, QZ_RESIDENTS, facts, "--lang", "en")[1]
    doc["claims"][17]["third_party"] = "third_party_refuses"
    facts.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    code, text = same(monkeypatch, QZ_RESIDENTS, facts, "--lang", "en")
    assert code == 0 and "recoverable" in text and "recoverable" not in without


def test_more_rows_than_a_chunk_and_narrow(tmp_path, monkeypatch):
    """350 claims printed 100 rows at a time (four chunks of the table), in a wide and a narrow terminal (where no
    table fits: one block per claim)."""
    from rich.console import Console

    from medrules import cli
    monkeypatch.setattr("medrules.runcmd.CHUNK", 100)
    program = medrules.load(QZ)
    facts = tmp_path / "many.json"
    facts.write_text(json.dumps(generated(program, 350, seed=7)), encoding="utf-8")
    code, text = same(monkeypatch, QZ, facts, "--lang", "en")
    assert code == 0 and text.count("\n") > 350 and "│" in text
    monkeypatch.setattr(cli.out, "_console", Console(width=60))
    code, text = same(monkeypatch, QZ, facts)
    assert code == 0 and "│" not in text


def test_blocks_cut_everywhere(tmp_path, monkeypatch, tiny_blocks):
    """Chinese ids (3-byte UTF-8), a byte-order mark, CRLF lines: blocks of 7 bytes cut them all."""
    doc = generated(medrules.load(QZ), 60, seed=3)
    for c in doc["claims"]:
        c["id"] = "结算单-" + c["id"]
    facts = tmp_path / "zh.json"
    facts.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc, ensure_ascii=False, indent=2).replace("\n", "\r\n")
                      .encode("utf-8"))
    assert same(monkeypatch, QZ, facts)[0] == 0
    assert same(monkeypatch, QZ, facts, "--json")[0] == 0


def test_claims_before_the_member_and_opening_values(tmp_path, monkeypatch, tiny_blocks):
    """The keys in any order; the opening values applied to the first claim in date order (A, not B).

    By hand (衢人社〔2011〕102号 一: 300 deductible a year, outpatient cost counted up to 3,000 a year, 50% at an
    'other designated' institution for a working member): 2,500 counted and the 300 deductible used already;
    A (03-01): min(1,000, 3,000 − 2,500) = 500 counted × 50% = 250.00, the member 750.00; B (06-01): the 3,000
    reached, 0.00, the member 1,000.00."""
    facts = tmp_path / "order.json"
    facts.write_text('{"claims": [\n'
                     ' {"id": "B", "date": "2012-06-01", "kind": "outpatient", "compliant_cost": "1000.00"},\n'
                     ' {"id": "A", "date": "2012-03-01", "kind": "outpatient", "compliant_cost": "1000.00"}],\n'
                     ' "opening": {"outpatient_cost": "2500.00", "outpatient_deductible_used": "300.00"},\n'
                     ' "member": {"id": "M", "category": "working"}}\n', encoding="utf-8")
    code, text = same(monkeypatch, QZ, facts, "--json")
    assert code == 0
    doc = json.loads(text)
    assert [c["id"] for c in doc["claims"]] == ["A", "B"]  # settled and printed in date order
    assert [(c["funds"][0]["paid"], c["member_pays"]) for c in doc["claims"]] == [("250.00", "750.00"),
                                                                                 ("0.00", "1000.00")]
    assert doc["totals"]["funds"]["outpatient_pool"] == "250.00"


# ---------------------------------------------------------------- the same errors
GOOD = ('{"member": {"id": "M", "category": "working"},\n "claims": [\n'
        '  {"id": "C1", "date": "2012-03-01", "kind": "outpatient", "compliant_cost": "100.00"},\n'
        '  {"id": "C2", "date": "2012-04-01", "kind": "inpatient", "compliant_cost": "2000.00"},\n'
        '  {"id": "C3", "date": "2012-02-01", "kind": "inpatient", "compliant_cost": "300.00"}\n ]}\n')
BROKEN = {
    "syntax in a claim": GOOD.replace('"kind": "inpatient", "compliant_cost": "2000.00"', '"kind" "inpatient"'),
    "syntax between claims": GOOD.replace('"100.00"},', '"100.00"}'),
    "ends too soon": GOOD[:150],
    "ends in the list": GOOD[:GOOD.index('  {"id": "C2"')],
    "trailing text": GOOD + "x",
    "bad escape": GOOD.replace('"C2"', '"C\\q2"'),
    "control character": GOOD.replace('"C2"', '"C\t2"'),
    "duplicate ids": GOOD.replace('"C3"', '"C1"'),
    "three times": GOOD.replace('"C3"', '"C1"').replace('"C2"', '"C1"'),
    "bad amount and unknown key": GOOD.replace('"300.00"', '"3x"').replace('"member"', '"membre"'),
    "not an object": '[1, 2, 3]\n',
    "claims not a list": '{"member": {"id": "M", "category": "working"}, "claims": {"a": 1}}',
    "no claims": '{"member": {"id": "M", "category": "working"}}',
    "before the rulebook": GOOD.replace("2012-02-01", "2011-02-01").replace("2012-04-01", "2010-04-01"),
    "too deep": GOOD.replace('"100.00"', '[' * 40 + ']' * 40),
    "a bare word": GOOD.replace('"100.00"', 'tru'),
    "a number cut": GOOD.replace('"100.00"', '1e'),
    "empty file": "",
    "only whitespace": "  \n ",
    "claims twice": GOOD.replace('"member"', '"claims": [], "member"'),
}


@pytest.mark.parametrize("name", BROKEN)
def test_every_error_the_same_streamed(name, tmp_path, monkeypatch, tiny_blocks):
    facts = tmp_path / "bad.json"
    facts.write_text(BROKEN[name], encoding="utf-8")
    whole = run(QZ, facts, stream=False, monkeypatch=monkeypatch)
    streamed = run(QZ, facts, stream=True, monkeypatch=monkeypatch)
    assert streamed[0] == 1
    if name == "claims twice":  # read whole, the later list wins; streamed, it is refused, located
        assert "'claims' is given twice" in streamed[1] and "bad.json:2:" in streamed[1]
        return
    assert whole[0] == 1
    assert streamed == whole
    assert run(QZ, facts, "--json", stream=True, monkeypatch=monkeypatch) == \
        run(QZ, facts, "--json", stream=False, monkeypatch=monkeypatch)


def test_bad_utf8_located_in_the_block_it_is_read_in(tmp_path, monkeypatch, tiny_blocks):
    facts = tmp_path / "latin1.json"
    facts.write_bytes(GOOD.replace('"C2"', '"C\xe92"').encode("latin-1"))
    assert same(monkeypatch, QZ, facts)[0] == 1


EDITS = st.lists(st.tuples(st.integers(0, len(GOOD)), st.integers(0, 3),
                           st.sampled_from(['', '"', ',', '{', '}', '[', ']', ':', ' ', '\n', '0', 'é', '\\', '"C1"',
                                            '2012-13-01'])), min_size=1, max_size=3)


def _mutated_the_same(tmp_path_factory, monkeypatch, edits) -> None:
    """Characters deleted and inserted anywhere in a small facts file: streamed in blocks of 7 bytes, the
    outcome (output or error, exit code) is that of the file read whole."""
    monkeypatch.setattr(fs, "BLOCK", 7)
    monkeypatch.setattr(fs, "AHEAD", 16)
    text = GOOD
    for at, drop, insert in edits:
        at = min(at, len(text))
        text = text[:at] + insert + text[at + drop:]
    facts = tmp_path_factory.mktemp("mut") / "m.json"
    facts.write_text(text, encoding="utf-8")
    whole = run(QZ, facts, stream=False, monkeypatch=monkeypatch)
    streamed = run(QZ, facts, stream=True, monkeypatch=monkeypatch)
    if "'claims' is given twice" not in streamed[1]:
        assert streamed == whole


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_hypothesis_mutated_files_the_same_streamed(tmp_path_factory, monkeypatch, edits):
    _mutated_the_same(tmp_path_factory, monkeypatch, edits)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_hypothesis_mutated_files_the_same_streamed_at_length(tmp_path_factory, monkeypatch, edits):
    _mutated_the_same(tmp_path_factory, monkeypatch, edits)


# ---------------------------------------------------------------- what is kept; the bounds
def test_the_scan_keeps_32_bytes_a_claim(tmp_path):
    """The claims' keys in typed arrays (date, offset, length, line, column, id hash): 32 bytes a claim."""
    program = medrules.load(QZ)
    facts = tmp_path / "f.json"
    facts.write_text(json.dumps(generated(program, 500, seed=11)), encoding="utf-8")
    with open(facts, "rb") as f:
        _, claims = fs.scan(f, str(facts), program)
    assert len(claims) == 500
    assert sum(a.itemsize for a in (claims.ordinal, claims.offset, claims.length, claims.line, claims.col,
                                    claims.ids)) == 32


def test_a_large_file_is_no_longer_refused_at_100000_claims(tmp_path, monkeypatch):
    """The 100,000-claim cap of a file read whole does not apply: 12 claims over a cap of 10 settle."""
    monkeypatch.setattr("medrules.facts.MAX_CLAIMS", 10)
    program = medrules.load(QZ)
    facts = tmp_path / "f.json"
    facts.write_text(json.dumps(generated(program, 12, seed=5)), encoding="utf-8")
    assert run(QZ, facts, stream=False, monkeypatch=monkeypatch)[0] == 1
    code, text = run(QZ, facts, "--json", stream=True, monkeypatch=monkeypatch)
    assert code == 0 and len(json.loads(text)["claims"]) == 12


def test_beyond_the_streaming_bounds_refused_pointing_to_settle(tmp_path, monkeypatch):
    program = medrules.load(QZ)
    facts = tmp_path / "f.json"
    facts.write_text(json.dumps(generated(program, 12, seed=5)), encoding="utf-8")
    monkeypatch.setattr(fs, "MAX_STREAM_CLAIMS", 10)
    code, text = run(QZ, facts, stream=True, monkeypatch=monkeypatch)
    assert code == 1 and "more than 10 claims" in text and "medrules settle" in text and "f.json:1:" in text
    monkeypatch.setattr(fs, "MAX_STREAM_BYTES", 100)
    code, text = run(QZ, facts, stream=True, monkeypatch=monkeypatch)
    assert code == 1 and "medrules settle" in text and "bytes" in text


def test_a_claim_longer_than_the_bound_is_refused_located(tmp_path, monkeypatch):
    monkeypatch.setattr(fs, "MAX_VALUE_CHARS", 120)
    monkeypatch.setattr(fs, "AHEAD", 16)
    monkeypatch.setattr(fs, "BLOCK", 16)
    facts = tmp_path / "f.json"
    facts.write_text(GOOD.replace('"C2"', '"' + "x" * 200 + '"'), encoding="utf-8")
    code, text = run(QZ, facts, stream=True, monkeypatch=monkeypatch)
    assert code == 1 and "longer than 120 characters" in text and "f.json:4:3" in text


def test_a_file_that_does_not_look_like_facts_is_not_quoted(tmp_path, monkeypatch):
    secret = tmp_path / "notes.txt"
    secret.write_text("password=hunter2\n" * 10, encoding="utf-8")
    code, text = run(QZ, secret, stream=True, monkeypatch=monkeypatch)
    assert code == 1 and "does not look like a facts file" in text and "hunter2" not in text


def test_a_file_that_ends_right_after_a_claim_is_reported_where_read_whole(tmp_path_factory, monkeypatch):
    """Found by the hypothesis test after the merge: the file cut just after its last claim's '}' (no ']' and
    '}' to close it). Read whole, the error is at that '}' (the last token); streamed it was at the claim's '{'."""
    _mutated_the_same(tmp_path_factory, monkeypatch, [(322, 3, "")])
