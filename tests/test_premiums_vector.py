"""Premiums for a population on the vector backend: the same figures as the scalar ``assess``, fen for fen.

Differential: every shipped rulebook of contributions, members drawn by hypothesis and a seeded corpus,
each assessed by the scalar backend (one facts file each) and by the vector backend (one table); a
member the scalar backend refuses must be a rejected row, and every other member's premium, subsidies
and what they owe must be equal. Hand-worked figures are in test_premiums_settle.py.
"""
from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medrules
from conftest import ROOT
from medrules.batch.columns import enum_members, fields
from medrules.batch.premiums import assess_table
from medrules.batch.vector_contrib import compile_contributions
from medrules.diagnostics import MedrulesError
from medrules.contributions.household import assess_household, load_household_facts
from medrules.source import SourceFile

VECTORISED = ["jiang/contributions-2021.mr", "jiang/contributions-2020.mr", "county-i/contributions.mr",
              "pingyang/contributions-2019.mr", "chongqing/contributions-2017.mr", "anhui/contributions-2021.mr",
              "tianjin/contributions-retirement.mr"]
REFUSED = ["taicang/contributions-retirement.mr"]  # a division ('/ basic_weight'): refused at load


def shipped() -> list[str]:
    """Every shipped rulebook whose top layer states contributions (its own or those of the rulebook it amends)."""
    root = ROOT / "rulebooks"
    candidates = [p for p in root.rglob("*.mr") if "contribution" in p.read_text(encoding="utf-8")]
    return sorted(p.relative_to(root).as_posix() for p in candidates
                  if program(p.relative_to(root).as_posix()).plan.top.contributions)


def test_every_shipped_contribution_rulebook_is_tested_here():
    assert shipped() == sorted(VECTORISED + REFUSED)


_PROGRAMS: dict = {}


def program(name: str):
    if name not in _PROGRAMS:
        _PROGRAMS[name] = medrules.load(ROOT / "rulebooks" / name)  # an 'amends' rulebook is loaded with its base
    return _PROGRAMS[name]


# ---------------------------------------------------------------- members of a rulebook
def value_strategy(t, checked):
    u = t.unit
    if u == "bool":
        return st.booleans()
    if u == "count":
        return st.integers(0, 90).map(str)
    if u == "money":
        return st.one_of(st.integers(0, 200_000).map(lambda f: str(Decimal(f).scaleb(-2))),
                         st.sampled_from(["0", "280", "380", "1234.5"]))
    if u == "date":
        return st.dates(dt.date(2014, 1, 1), dt.date(2022, 12, 31)).map(dt.date.isoformat)
    if u == "enum":
        return st.sampled_from(enum_members(checked, t.enum))
    if u == "set":
        return st.lists(st.sampled_from(enum_members(checked, t.enum)), max_size=4, unique=True)
    if u == "text":
        return st.sampled_from(["", "H1", "H2"])
    raise AssertionError(f"no strategy for {t}")


def member_strategy(checked):
    """A member's facts, and their household's (as 'household.NAME' keys) when the rulebook declares some."""
    parts = {}
    for kind in ("member", "household"):
        for name, (t, optional) in fields(checked, kind).items():
            if name == "id" and kind == "member":
                continue
            s = value_strategy(t, checked)
            has_default = checked.records[kind][name].default is not None
            key = name if kind == "member" else f"household.{name}"
            parts[key] = st.one_of(st.none(), s) if optional or has_default or t.unit == "set" else s
    return st.fixed_dictionaries(parts)


def random_member(checked, rng: random.Random) -> dict:
    """The seeded corpus: the same kinds of values as the strategy, drawn by ``random``."""
    out = {}
    for kind, name, (t, optional) in [("member", k, v) for k, v in fields(checked, "member").items()] + [
            ("household", k, v) for k, v in fields(checked, "household").items()]:
        if name == "id" and kind == "member":
            continue
        u = t.unit
        if (optional or checked.records[kind][name].default is not None) and rng.random() < 0.2:
            continue
        if kind == "household":
            name = f"household.{name}"
        if u == "bool":
            out[name] = rng.random() < 0.5
        elif u == "count":
            out[name] = str(rng.randint(0, 90))
        elif u == "money":
            out[name] = str(Decimal(rng.randint(0, 200_000)).scaleb(-2))
        elif u == "date":
            out[name] = (dt.date(2014, 1, 1) + dt.timedelta(days=rng.randint(0, 3300))).isoformat()
        elif u == "enum":
            out[name] = rng.choice(enum_members(checked, t.enum))
        elif u == "set":
            members = enum_members(checked, t.enum)
            out[name] = rng.sample(members, rng.randint(0, min(3, len(members))))
        elif u == "text":
            out[name] = rng.choice(["", "H1", "H2"])
    return out


def scalar(p, member: dict):
    """(premium, {subsidy: granted}, owes) per contribution, or None when the scalar backend refuses."""
    household = {k[10:]: v for k, v in member.items() if k.startswith("household.")}
    doc = {"member": {k: v for k, v in member.items() if not k.startswith("household.")}}
    if household:
        doc["household"] = household
    try:
        (a,) = assess_household(p, load_household_facts(SourceFile("<m>", json.dumps(doc)), p.checked)).members
    except MedrulesError:
        return None
    return {c.name: (c.applied, c.premium, {s.name: s.granted for s in c.subsidies}, c.member_owes)
            for c in a.contributions}


def as_row(member: dict) -> dict:
    out = {}
    for k, v in member.items():
        if v is None:
            out[k] = None
        elif isinstance(v, bool):
            out[k] = "true" if v else "false"
        elif isinstance(v, list):
            out[k] = ";".join(v)
        else:
            out[k] = str(v)
    return out


def compare(name: str, members: list[dict]) -> tuple[int, int]:
    """(members compared, of them with a subsidy granted)."""
    p = program(name)
    for i, m in enumerate(members):
        m["id"] = f"M{i}"
        if m.get("household.id"):  # one household per member here: households are tested in test_households.py
            m["household.id"] = f"H{i}"
    members_json = [{k: v for k, v in m.items() if v is not None} for m in members]
    rows = [as_row(m) for m in members_json]
    keys = sorted({k for r in rows for k in r})
    table = pa.table({k: pa.array([r.get(k) for r in rows], pa.string()) for k in keys})
    results, rejects = assess_table(p, table)
    rejected = set(rejects.column("member").to_pylist())
    by_member: dict = {}
    for r in results.to_pylist():
        by_member.setdefault(r["member_id"], {})[r["contribution"]] = r
    compared = subsidised = 0
    for m in members_json:
        expected = scalar(p, m)
        if expected is None:
            assert m["id"] in rejected, (name, m)
            continue
        assert m["id"] not in rejected, (name, m, rejects.to_pylist())
        got = by_member[m["id"]]
        for contribution, (applied, premium, subsidies, owes) in expected.items():
            row = got[contribution]
            assert row["applied"] == applied, (name, m, contribution)
            assert row["premium"] == premium, (name, m, contribution, row)
            assert row["member_owes"] == owes, (name, m, contribution, row)
            assert row["subsidised"] == premium - owes
            for s, granted in subsidies.items():
                assert row[f"subsidy.{s}"] == granted, (name, m, contribution, s, row)
            for key, value in row.items():  # a subsidy that did not hold paid nothing
                if key.startswith("subsidy.") and key[8:] not in subsidies:
                    assert value == 0, (name, m, contribution, key)
        compared += 1
        subsidised += any(v[1] != v[3] for v in expected.values())
    return compared, subsidised


def p_has_subsidies(name: str) -> bool:
    return any(c.subsidies for c in program(name).plan.top.contributions)


@pytest.mark.parametrize("name", VECTORISED)
def test_seeded_corpus_agrees_with_the_scalar_backend(name):
    rng = random.Random(f"medrules-premiums-{name}")
    compared, subsidised = compare(name, [random_member(program(name).checked, rng) for _ in range(300)])
    assert compared >= 100  # most drawn members are assessed, not refused
    if p_has_subsidies(name):
        assert subsidised >= 10  # and the subsidy paths are exercised


@pytest.mark.parametrize("name", VECTORISED)
def test_drawn_members_agree_with_the_scalar_backend(name):
    checked = program(name).checked

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(member_strategy(checked), min_size=1, max_size=12))
    def check(members):
        compare(name, [dict(m) for m in members])
    check()


@pytest.mark.parametrize("name", REFUSED)
def test_what_cannot_be_vectorised_is_refused_at_load_where_it_is_written(name):
    with pytest.raises(MedrulesError) as e:
        compile_contributions(program(name))
    d = e.value.diagnostics[0]
    assert d.code == "vector" and d.span is not None and d.span.file.endswith(name)
    text = (ROOT / "rulebooks" / name).read_text(encoding="utf-8").splitlines()
    assert "/" in text[d.span.line - 1]  # the line of the division
