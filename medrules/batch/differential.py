"""The vector backend against the scalar one, claim by claim, fund by fund, to the fen.

Both settle the same members (as :func:`medrules.batch.generate.random_members` gives
them); :func:`differences` lists every amount on which they disagree, and every member
one of them refused and the other settled.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np

import medrules
from medrules.batch.columns import encode_records
from medrules.batch.vector import AUTO, compile_vector, settle_columns, with_paths
from medrules.diagnostics import MedrulesError
from medrules.evaluate import Program
from medrules.facts import Claim, Facts
from medrules.source import Span

_GENERATED = Span("generated", 1, 1)


def as_facts(member: dict, claims: list[dict]) -> Facts:
    """A generated member as the scalar backend takes it (as if read from a facts file)."""
    return Facts("generated", member, str(member["id"]),
                 tuple(Claim(str(c["id"]), i, c, _GENERATED, {}) for i, c in enumerate(claims)), {}, {})


def settle_vector(program: Program, members: list[tuple[dict, list[dict]]], path: str | None = None,
                  chunk: int | None | str = AUTO):
    """``path``: force the fallback (``"waves"``: every fund; ``"layer waves"``: every layer), else the paths
    chosen at load; ``chunk``: claims settled together (``settle_columns``)."""
    vp = compile_vector(program)
    if path is not None:
        vp = with_paths(vp, path)
    rows = [c for _, cs in members for c in cs]
    who = np.array([i for i, (_, cs) in enumerate(members) for _ in cs], np.int64)
    ck = program.checked
    member_table = encode_records(ck, "member", [m for m, _ in members])
    return vp, settle_columns(vp, who, encode_records(ck, "claim", rows), member_table, chunk=chunk)


def differences(program: Program, members: list[tuple[dict, list[dict]]], limit: int = 20,
                path: str | None = None, chunk: int | None | str = AUTO) -> list[str]:
    _, result = settle_vector(program, members, path, chunk)

    def yuan(x) -> Decimal:
        return Decimal(int(x)).scaleb(-result.scale)

    found: list[str] = []
    row = 0
    for member, claims in members:
        rows = range(row, row + len(claims))
        row += len(claims)
        refused = [result.error[i] for i in rows if result.error[i]]
        try:
            settlement = medrules.settle(program, as_facts(member, claims), in_force_only=False)
        except MedrulesError as exc:
            if len(refused) != len(claims):
                found.append(f"{member['id']}: the scalar backend refused ({exc.diagnostics[0].message}), "
                             "the vector backend settled it")
            continue
        if refused:
            found.append(f"{member['id']}: the vector backend refused ({refused[0]}), the scalar backend settled it")
            continue
        by_id = {c.id: c for c in settlement.claims}
        for i, claim in zip(rows, claims):
            expected = by_id[str(claim["id"])]
            pairs = [(f"fund {f.fund}", f.paid, result.funds[f.fund][i]) for f in expected.funds]
            pairs += [(f"accumulator {a}", v, result.accumulators[a][i]) for a, v in expected.accumulators.items()]
            pairs += [("member pays", expected.member_pays, result.member_pays[i]),
                      ("total", expected.total_cost, result.total[i])]
            if result.recoverable is not None:  # 'recover': what the funds paid first
                pairs.append(("recoverable", expected.recoverable, result.recoverable[i]))
            for what, scalar, vector in pairs:
                if scalar != yuan(vector):
                    found.append(f"{claim['id']} {what}: scalar {scalar}, vector {yuan(vector)}")
        if len(found) >= limit:
            break
    return found
