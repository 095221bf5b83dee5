"""``medrules settle CLAIMS --out OUT --ledger URL``: the batch's members recorded in the ledger.

Amounts by hand from rulebooks/quzhou/employee-2012.mr (see tests/test_ledger.py): inpatient 50,000 on
2012-01-15 pays (50,000 − 600) × 84% = 41,496.00; then 30,000 on 2012-05-10 pays 9,400 × 84% + 20,000 × 87%
= 7,896 + 17,400 = 25,296.00. Corrected to 40,000, the first pays 39,400 × 84% = 33,096.00 (−8,400.00)
and the second 19,400 × 84% + 10,000 × 87% = 24,996.00 (−300.00).
"""
from __future__ import annotations

from decimal import Decimal

from typer.testing import CliRunner

from conftest import ROOT
from medrules.cli import app
from medrules.ledger import Ledger

RULEBOOK = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"
HEAD = "member_id,category,claim_id,date,kind,compliant_cost\n"


def settle(tmp_path, csv_text: str, url: str, name: str = "claims.csv"):
    (tmp_path / name).write_text(HEAD + csv_text, encoding="utf-8")
    return CliRunner().invoke(app, ["settle", str(RULEBOOK), str(tmp_path / name), "--out", str(tmp_path / "r.parquet"),
                                    "--no-progress", "--ledger", url])


def test_a_batch_records_its_members_once_and_corrections_as_re_settlements(tmp_path):
    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    rows = ("B1,working,C1,2012-01-15,inpatient,50000.00\n"
            "B1,working,C2,2012-05-10,inpatient,30000.00\n"
            "B2,working,C1,2012-02-01,inpatient,not-a-number\n")  # B2 is rejected by the batch: not recorded
    r = settle(tmp_path, rows, url)
    assert r.exit_code == 0, r.output
    assert "ledger: 1 members, 2 decisions recorded, 0 unchanged" in r.output and "differs" not in r.output
    with Ledger.open(url) as ledger:
        c1, c2 = ledger.member_history("B1")
        assert (c1.paid("inpatient_pool"), c2.paid("inpatient_pool")) == (Decimal("41496.00"), Decimal("25296.00"))
        assert c1.claim_facts == {"id": "C1", "date": "2012-01-15", "kind": "inpatient", "compliant_cost": "50000.00"}
        assert ledger.member_history("B2") == []
    r = settle(tmp_path, rows, url)  # the same run again (e.g. after a crash)
    assert "ledger: 1 members, 0 decisions recorded, 2 unchanged" in r.output
    r = settle(tmp_path, "B1,working,C1,2012-01-15,inpatient,40000.00\n", url, "fix.csv")
    assert r.exit_code == 0, r.output
    with Ledger.open(url) as ledger:
        assert [(a.claim_id, a.amount) for a in ledger.adjustments("B1")] == [("C1", Decimal("-8400.00")),
                                                                             ("C2", Decimal("-300.00"))]
