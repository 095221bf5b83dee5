"""``medrules settle … --ledger URL`` on rulebooks with histories and on membership rulebooks: each member's
claims, facts and history records recorded as ``medrules ledger settle`` records them — under the scheme that
settled each claim, with why, and under 'highest of' both amounts — and the batch's amounts agree.

Amounts worked by hand from the rulebooks' figures (as tests/test_batch_routed.py, test_batch_histories.py):
* Quzhou employee scheme (employee-2012.mr): 600 deductible per admission, then 84% (working member);
* Quzhou resident scheme (residents-2020.mr, ILLUSTRATIVE, declared assumed): inpatient 60%, outpatient 50%;
* Qinhuangdao former schemes (ILLUSTRATIVE): urban residents 500 deductible then 60%; NCMS 300 then 55%;
* Tianjin continuity (illustrative 100%): a claim inside an interruption of more than 3 months pays nothing.
"""
from __future__ import annotations

from decimal import Decimal

from typer.testing import CliRunner

from conftest import ROOT
from medrules.cli import app
from medrules.ledger import Ledger
from test_batch_histories import CLAIMS as TIANJIN_CLAIMS
from test_batch_histories import GAPS
from test_batch_routed import CLAIMS, PERIODS, QHD_CLAIMS

QUZHOU = ROOT / "rulebooks" / "quzhou" / "membership-2020.mr"
QHD = ROOT / "rulebooks" / "qinhuangdao-integration" / "integration-2017.mr"
TIANJIN = ROOT / "rulebooks" / "tianjin" / "employee-continuity.mr"
D = Decimal


def settle(tmp_path, rulebook, claims: str, url: str, *extra, history: str | None = None):
    (tmp_path / "claims.csv").write_text(claims, encoding="utf-8")
    args = ["settle", str(rulebook), str(tmp_path / "claims.csv"), "--out", str(tmp_path / "r.parquet"),
            "--no-progress", "--ledger", url, *extra]
    if history is not None:
        name, text = history.split("=", 1)
        (tmp_path / "h.csv").write_text(text, encoding="utf-8")
        args += ["--history", f"{name}={tmp_path / 'h.csv'}"]
    return CliRunner().invoke(app, args)


def test_quzhou_each_claim_recorded_under_its_scheme_with_why(tmp_path):
    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    r = settle(tmp_path, QUZHOU, CLAIMS, url, history="period=" + PERIODS)
    assert r.exit_code == 0, r.output
    # P (4 claims), R, S recorded; T (no period: insured in no scheme) is rejected by the batch, not recorded
    assert "ledger: 3 members, 6 decisions recorded, 0 unchanged" in r.output and "differs" not in r.output
    with Ledger.open(url) as ledger:
        p1, p2, p3, p4 = ledger.member_history("P")
        # P1 (2020-03-10), inside the paid employee period: the employee scheme, working:
        #   (10,000 − 600) × 84% = 7,896.00; the member pays 600 + 1,504 = 2,104.00
        assert (p1.rulebook_id, p1.paid("inpatient_pool"), p1.member_pays) == ("quzhou/employee-2012", D("7896.00"),
                                                                               D("2104.00"))
        assert (p1.membership["scheme"], p1.membership["settled_by"]) == ("employee", "quzhou/employee-2012")
        assert p1.membership["rulebook"]["id"] == "quzhou/membership-2020"
        # P2 (2020-08-10), in arrears before the 7th month: the resident scheme (assumed 60%): 6,000.00, and why:
        #   衢医保联发〔2020〕13号 二 "欠费期间视作资助参加户籍地城乡居民基本医疗保险"
        assert (p2.rulebook_id, p2.paid("resident_pool")) == ("quzhou/residents-2020", D("6000.00"))
        assert p2.membership["scheme"] == "arrears_resident"
        assert p2.membership["citation"]["document"] == "衢医保联发〔2020〕13号"
        assert p2.membership["citation"]["article"] == "二"
        # P3 outpatient 50% × 1,000 = 500.00; P4 (2021-01-05), arrears ended: 50% × 200 = 100.00
        assert (p3.paid("resident_pool"), p4.paid("resident_pool")) == (D("500.00"), D("100.00"))
        assert p4.membership["scheme"] == "arrears_ended"
        [s1] = ledger.member_history("S")  # employee insurance stopped April 2020: resident, 60% × 5,000
        assert (s1.rulebook_id, s1.paid("resident_pool"), s1.membership["scheme"]) == (
            "quzhou/residents-2020", D("3000.00"), "stopped")
        assert ledger.member_history("T") == []
    r = settle(tmp_path, QUZHOU, CLAIMS, url, history="period=" + PERIODS)  # the same run again
    assert r.exit_code == 0 and "ledger: 3 members, 0 decisions recorded, 6 unchanged" in r.output


def test_a_corrected_history_moves_the_claim_between_schemes(tmp_path):
    """P's paid employee period corrected to end in February 2020: P1 (March) is then in the arrears period
    (resident, 60% × 10,000 = 6,000.00): a re-settlement recovering 7,896.00 from the employee fund and
    paying 6,000.00 from the resident fund, caused by the membership change."""
    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    lines = CLAIMS.splitlines()
    p_only = lines[0] + "\n" + next(line for line in lines if ",P1," in line) + "\n"
    assert settle(tmp_path, QUZHOU, p_only, url, history="period=" + PERIODS).exit_code == 0
    corrected = PERIODS.replace("P,employee,2019-01-01,2020-05-01,false\nP,employee,2020-06-01,,true",
                                "P,employee,2019-01-01,2020-02-01,false\nP,employee,2020-03-01,,true")
    r = settle(tmp_path, QUZHOU, p_only, url, history="period=" + corrected)
    assert r.exit_code == 0, r.output
    assert "1 decisions recorded" in r.output and "differs" not in r.output
    with Ledger.open(url) as ledger:
        [p1] = ledger.member_history("P")[-1:]
        assert (p1.rulebook_id, p1.paid("resident_pool"), p1.membership["scheme"]) == (
            "quzhou/residents-2020", D("6000.00"), "arrears_resident")
        moves = sorted((a.fund, a.amount) for a in ledger.adjustments("P"))
        assert moves == [("inpatient_pool", D("-7896.00")), ("resident_pool", D("6000.00"))]
        cause = ledger.adjustments("P")[0].cause
        assert cause["membership"]["before"]["scheme"] == "employee"
        assert cause["membership"]["after"]["scheme"] == "arrears_resident"


def test_qinhuangdao_both_amounts_under_highest_of(tmp_path):
    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    r = settle(tmp_path, QHD, QHD_CLAIMS, url)
    assert r.exit_code == 0, r.output
    assert "ledger: 1 members, 3 decisions recorded" in r.output and "differs" not in r.output
    with Ledger.open(url) as ledger:
        u1, u2, u3 = ledger.member_history("U")

    def paid(d):
        return {u["id"].split("/")[1]: u["funds_paid"] for u in d.membership["under"]}
    # U1 10,000: urban (10,000 − 500) × 60% = 5,700.00 against NCMS (10,000 − 300) × 55% = 5,335.00: urban
    assert paid(u1) == {"urban-residents-2016": "5700.00", "ncms-2016": "5335.00"}
    assert u1.rulebook_id == "qinhuangdao-integration/urban-residents-2016" and u1.membership["highest"]
    # U2 1,000: urban (1,000 − 500) × 60% = 300.00 against NCMS (1,000 − 300) × 55% = 385.00: NCMS
    assert paid(u2) == {"urban-residents-2016": "300.00", "ncms-2016": "385.00"}
    assert (u2.rulebook_id, u2.paid("ncms_pool")) == ("qinhuangdao-integration/ncms-2016", D("385.00"))
    # U3 2,700: 2,200 × 60% = 1,320.00 = 2,400 × 55% = 1,320.00: a tie goes to the first named (urban)
    assert u3.membership["settled_by"] == "qinhuangdao-integration/urban-residents-2016"


def test_tianjin_histories_recorded_with_the_records(tmp_path):
    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    r = settle(tmp_path, TIANJIN, TIANJIN_CLAIMS, url, history="interruption=" + GAPS)
    assert r.exit_code == 0, r.output
    # A, B, D recorded (C's record has an impossible month: rejected by the batch, not recorded)
    assert "ledger: 3 members, 6 decisions recorded" in r.output and "differs" not in r.output
    with Ledger.open(url) as ledger:
        a1, a2, a3 = ledger.member_history("A")
        # A1 inside a 2-month interruption paid in time: continuous, 100% × 1,000 = 1,000.00; A2, A3 inside a
        # 5-month interruption: excluded, 0.00
        assert (a1.paid("reimbursement"), a2.paid("reimbursement"), a3.paid("reimbursement")) == (
            D("1000.00"), D("0.00"), D("0.00"))
        [d1] = ledger.member_history("D")  # no record at all: nothing excludes D1, 250.50
        assert d1.paid("reimbursement") == D("250.50")
        assert ledger.member_history("C") == []
