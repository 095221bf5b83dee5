"""Issue 13 re-probed on round 2's inputs (member tables for premiums): what ended in an internal error or an
unlocated message, each now a located error or a rejected row."""
from __future__ import annotations

import pyarrow.csv as pacsv
from typer.testing import CliRunner

from conftest import ROOT
from medrules.cli import app

JIANG = ROOT / "rulebooks" / "jiang" / "contributions-2021.mr"
HEAD = "id,tier,age,student,local,groups,supplementary,new_student\n"
ROW = "A,tier2,65,false,true,low_income,false,false\n"


def settle(tmp_path, text: str | bytes):
    members = tmp_path / "members.csv"
    (members.write_bytes if isinstance(text, bytes) else members.write_text)(text)
    out = tmp_path / "premiums.parquet"
    r = CliRunner().invoke(app, ["settle", str(JIANG), str(members), "--out", str(out), "--no-progress"])
    assert r.exit_code in (0, 1) and "internal error" not in r.output and "Traceback" not in r.output, r.output
    return r, members, out


def test_a_header_name_that_reads_as_a_number_a_date_or_nothing(tmp_path):
    """'NaN', '0001-01-01' or an empty name in the header were read as a float, a date or None (TypeError)."""
    for name in ("NaN", "0001-01-01", "", "Infinity"):
        r, _, out = settle(tmp_path, HEAD.replace("age", name, 1) + ROW)
        # the rulebook's 'age' column is missing: the row is rejected (said), not a crash
        rejects = pacsv.read_csv(str(out) + ".rejects.csv").to_pylist()
        assert "assessed 0 members" in r.output and [x["member"] for x in rejects] == ["A"], r.output


def test_a_number_too_long_for_the_column_is_a_rejected_row(tmp_path):
    """A 40-digit age overflowed the decimal cast (ArrowInvalid); it is a rejected row, the others assessed."""
    r, _, out = settle(tmp_path, HEAD + ROW + "B,tier1," + "1" * 40 + ",false,true,,false,false\n")
    rejects = pacsv.read_csv(str(out) + ".rejects.csv").to_pylist()
    assert [(x["member"], x["row"], x["column"]) for x in rejects] == [("B", 2, "age")]
    assert "assessed 1 member" in r.output


def test_a_row_with_a_field_too_many_is_located(tmp_path):
    """pyarrow names no line: the row whose fields are not the header's is found (line 3 of the file)."""
    r, members, _ = settle(tmp_path, HEAD + ROW + "B,tier1,20,false,true,a,b,false,false\n")
    assert r.exit_code == 1 and f"{members}:3:1: error[io]" in r.output and "Expected 8 columns" in r.output


def test_bad_utf8_in_a_member_table_is_located(tmp_path):
    r, members, _ = settle(tmp_path, (HEAD + ROW).encode() + b"\xff,tier1,20,false,true,,false,false\n")
    assert r.exit_code == 1 and f"{members}:3:1: error[io]" in r.output
