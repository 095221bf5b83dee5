"""The vector backend settles the sorted claims in chunks of whole members (``settle_columns(chunk=…)``): a
member's claims depend on no other member's, so the results are the same as settling all claims at once, and
the same as the scalar backend's, to the fen, whatever the chunk size."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medrules
from conftest import ROOT, VECTOR_RULEBOOKS
from medrules.batch.columns import encode_records
from medrules.batch.differential import differences
from medrules.batch.generate import random_members
from medrules.batch.columns import Table
from medrules.batch.vector import (CHUNK, Wave, _cuts, _in_order, _multiply_rows, chunk_for, compile_vector,
                                     settle_columns, with_paths)

QUZHOU = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"


def _name(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


def test_chunks_are_cut_between_members():
    # members 0 0 0 | 1 1 | 2 | 3 3 3 3 (rows 0–9), chunks of about 3 claims: the rows wanted are 3, 6 and 9;
    # each cut moves back to the first claim of the member holding the row: row 3 (member 1 starts there),
    # row 6 (member 3 starts there) and row 6 again for row 9 (inside member 3): cuts at 3 and 6
    who = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3])
    assert _cuts(who, 3).tolist() == [0, 3, 6, 10]
    # a member with more claims than a chunk is not split: rows 2 and 4 are inside member 0 (rows 0–4), which
    # starts at row 0: no cut, one chunk of all six claims
    assert _cuts(np.array([0, 0, 0, 0, 0, 1]), 2).tolist() == [0, 6]
    # rows 2 and 4 of 0 0 1 1 1 2: member 1 starts at 2, row 4 is inside member 1: one cut, at row 2
    assert _cuts(np.array([0, 0, 1, 1, 1, 2]), 2).tolist() == [0, 2, 6]
    # no chunking, or fewer claims than a chunk: one chunk
    assert _cuts(who, None).tolist() == [0, 10]
    assert _cuts(who, 10).tolist() == [0, 10]
    assert _cuts(np.array([], np.int64), 4).tolist() == [0, 0]


@pytest.mark.parametrize("path", VECTOR_RULEBOOKS, ids=_name)
def test_small_chunks_equal_the_scalar_backend(path):
    # chunks of ~7 claims: most members in a chunk of their own or with one or two others
    program = medrules.load(path)
    members = random_members(program.checked, 150, seed=23)
    assert differences(program, members, chunk=7) == []


def _columns(program, members):
    claims = [c for _, cs in members for c in cs]
    who = np.array([i for i, (_, cs) in enumerate(members) for _ in cs], np.int64)
    return who, encode_records(program.checked, "claim", claims), encode_records(program.checked, "member",
                                                                                  [m for m, _ in members])


_PAYMENTS: list = []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2 ** 32 - 1), size=st.integers(1, 15), claims=st.integers(1, 30),
       chunk=st.integers(1, 60))
def test_any_chunk_size_equals_the_scalar_backend_under_quzhous_payments_reading(seed, size, claims, chunk):
    # yearly payment caps of 160,000 and 250,000 reached often (clipped running sums), any cut between members
    if not _PAYMENTS:
        _PAYMENTS.append(medrules.load(QUZHOU, readings={"cap_axis": "payments"}))
    members = random_members(_PAYMENTS[0].checked, size, seed=seed, max_claims=claims)
    assert differences(_PAYMENTS[0], members, chunk=chunk) == []


@pytest.mark.parametrize("chunk", [1, 5, 64])
def test_chunked_equals_all_at_once_with_opening_values_and_unsorted_claims(chunk):
    # the payments reading of Quzhou: yearly caps reached often; opening year-to-date values per member; the
    # claims given in reverse (so they are sorted, settled in chunks, and put back in the input's order)
    program = medrules.load(QUZHOU, readings={"cap_axis": "payments"})
    vp = compile_vector(program)
    who, claims, members = _columns(program, random_members(program.checked, 80, seed=5, max_claims=12))
    back = np.arange(len(who))[::-1].copy()
    claims = type(claims)({k: v[back] for k, v in claims.values.items()}, {k: v[back] for k, v in claims.given.items()})
    who = who[back]
    rng = np.random.default_rng(3)
    opening = {"inpatient_paid": rng.integers(0, 160_000, len(members.values["id"])) * 100,  # whole yuan: on grid
               "inpatient_cost": rng.integers(0, 10_000_000, len(members.values["id"]))}
    whole = settle_columns(vp, who, claims, members, opening, chunk=None)
    part = settle_columns(vp, who, claims, members, opening, chunk=chunk)
    assert whole.funds.keys() == part.funds.keys() and whole.accumulators.keys() == part.accumulators.keys()
    for k in whole.funds:
        assert np.array_equal(whole.funds[k], part.funds[k]), k
    for k in whole.accumulators:
        assert np.array_equal(whole.accumulators[k], part.accumulators[k]), k
    assert np.array_equal(whole.total, part.total) and np.array_equal(whole.member_pays, part.member_pays)
    assert np.array_equal(whole.order, part.order) and np.array_equal(whole.error, part.error)
    assert whole.funds["inpatient_pool"].any() and whole.funds["critical_illness"].any()  # caps reached


def test_a_refused_member_in_one_chunk_holds_back_only_its_own_claims():
    # a negative cost makes the fund's base negative: that member is refused, in whichever chunk it falls;
    # the other members are settled as if it were not there
    program = medrules.load(QUZHOU)
    vp = compile_vector(program)
    members = random_members(program.checked, 40, seed=9, max_claims=4)
    who, claims, member_table = _columns(program, members)
    bad_member = int(who[len(who) // 2])
    rows = np.flatnonzero(who == bad_member)
    cost = claims.values["compliant_cost"].copy()
    cost[rows[0]] = -100
    claims = type(claims)(claims.values | {"compliant_cost": cost}, claims.given)
    whole = settle_columns(vp, who, claims, member_table, chunk=None)
    for chunk in (1, 3, 10):
        part = settle_columns(vp, who, claims, member_table, chunk=chunk)
        assert part.error.tolist() == whole.error.tolist()
        assert sorted(np.flatnonzero(part.error != "").tolist()) == rows.tolist()
        ok = who != bad_member
        for k in whole.funds:
            assert np.array_equal(whole.funds[k][ok], part.funds[k][ok])


def test_chunks_by_default_only_when_every_fund_takes_running_sums():
    # waves repeat a Python loop over each member's k-th claim in every chunk: all claims at once there
    quzhou = compile_vector(medrules.load(QUZHOU, readings={"cap_axis": "payments"}))
    assert chunk_for(quzhou) == CHUNK == 32_768
    assert chunk_for(with_paths(quzhou, "waves")) is None
    assert chunk_for(with_paths(quzhou, "layer waves")) is None
    pingyang = compile_vector(medrules.load(ROOT / "rulebooks" / "pingyang" / "residents-2019.mr"))
    assert chunk_for(pingyang) is None  # its inpatient fund waves


def test_claims_in_order_are_told_from_claims_out_of_order_a_slice_at_a_time():
    # (member, day) pairs; slices of 2 rows overlapping by one, so a decrease across a slice's edge is seen
    member = np.array([0, 0, 1, 1, 1, 2])
    day = np.array([5, 7, 1, 1, 9, 3])
    assert _in_order(member, day, 0, step=2)
    assert not _in_order(member, np.array([5, 7, 1, 9, 2, 3]), 0, step=2)  # day 9 then 2 within member 1 (rows 3, 4)
    assert not _in_order(np.array([0, 1, 0]), np.array([1, 1, 1]), 0, step=2)  # member 1 before member 0


def test_a_product_too_large_on_a_subset_refuses_that_row_of_the_wave():
    # rows 1 and 3 of a wave of 5: 2^40 × 2^30 = 2^70 is beyond 2^62 (row 1); 3 × 1 is not (row 3)
    w = Wave(5, Table({}, {}), Table({}, {}), {}, [])
    got = _multiply_rows(w, np.array([1, 3]), np.array([2 ** 40, 3], np.int64), np.array([2 ** 30, 1], np.int64), None)
    assert got[1] == 3
    assert w.error.tolist() == [0, 1, 0, 0, 0]
    assert w.messages == ["an amount is too large for exact arithmetic at the rulebook"]
