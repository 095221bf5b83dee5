"""The vector backend against the scalar one, claim by claim, fund by fund, to the fen.

Both settle the same members (as :func:`medrules.batch.generate.random_members` gives
them); :func:`differences` lists every amount on which they disagree, and every member
one of them refused and the other settled.
"""
from __future__ import annotations

from decimal import Decimal

import attrs
import numpy as np

import medrules
from medrules.batch.columns import encode_records
from medrules.batch.vector import AUTO, compile_vector, settle_columns, with_paths
from medrules.diagnostics import MedrulesError
from medrules.evaluate import Program
from medrules.facts import Claim, Facts
from medrules.source import Span

_GENERATED = Span("generated", 1, 1)


def as_facts(member: dict, claims: list[dict], histories: dict | None = None) -> Facts:
    """A generated member as the scalar backend takes it (as if read from a facts file). ``histories``: its
    records, ``{history name: (record, …)}`` (a third element of a generated member, when the rulebook
    declares histories)."""
    return Facts("generated", member, str(member["id"]),
                 tuple(Claim(str(c["id"]), i, c, _GENERATED, {}) for i, c in enumerate(claims)), {}, {},
                 {k: tuple(v) for k, v in (histories or {}).items()})


def histories(members: list[tuple]) -> list[dict]:
    """Each generated member's histories (``{}`` for a ``(member, claims)`` pair)."""
    return [m[2] if len(m) > 2 else {} for m in members]


def settle_vector(program: Program, members: list[tuple[dict, list[dict]]], path: str | None = None,
                  chunk: int | None | str = AUTO):
    """``path``: force the fallback (``"waves"``: every fund; ``"layer waves"``: every layer), else the paths
    chosen at load; ``chunk``: claims settled together (``settle_columns``)."""
    vp = compile_vector(program)
    if path is not None:
        vp = with_paths(vp, path)
    rows = [c for m in members for c in m[1]]
    who = np.array([i for i, m in enumerate(members) for _ in m[1]], np.int64)
    ck = program.checked
    member_table = encode_records(ck, "member", [m[0] for m in members])
    from medrules.batch.vhistory import histories_of
    return vp, settle_columns(vp, who, encode_records(ck, "claim", rows), member_table,
                              histories=histories_of(ck, members, histories(members)), chunk=chunk)


def differences(program: Program, members: list[tuple[dict, list[dict]]], limit: int = 20,
                path: str | None = None, chunk: int | None | str = AUTO) -> list[str]:
    if program.plan.top.memberships:  # each claim under its scheme: the facts of every scheme filled in
        from medrules.batch.generate import fill_targets
        from medrules.batch.vmember import compile_membership
        vm = compile_membership(program)
        if path is not None:
            vm = attrs.evolve(vm, routes=tuple(attrs.evolve(r, targets=tuple(with_paths(t, path) for t in r.targets))
                                               for r in vm.routes))
        members = fill_targets(program.checked, [t.program.checked for t in vm.targets], members)
        return routed_differences(program, members, limit, vm)
    _, result = settle_vector(program, members, path, chunk)

    def yuan(x) -> Decimal:
        return Decimal(int(x)).scaleb(-result.scale)

    found: list[str] = []
    row = 0
    for member, claims, *more in members:
        rows = range(row, row + len(claims))
        row += len(claims)
        refused = [result.error[i] for i in rows if result.error[i]]
        try:
            settlement = medrules.settle(program, as_facts(member, claims, *more), in_force_only=False)
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


# ---------------------------------------------------------------- membership rulebooks
def routed_table(members: list[tuple], checked: list) -> tuple:
    """Generated members of a membership rulebook as medrules settle reads them: one claim table of text
    (``member.F`` and ``claim.F`` columns for every fact any rulebook declares) and one table per history."""
    import pyarrow as pa

    from medrules.batch.columns import fields
    from medrules.check.types import histories as kinds
    types = {}
    for ck in checked:
        for k in ("member", "claim"):
            for name, (t, _) in fields(ck, k).items():
                types.setdefault((k, name), t)
    columns = {f"{k}.{name}": [] for k, name in types}
    for m in members:
        for claim in m[1]:
            for (k, name), t in types.items():
                columns[f"{k}.{name}"].append(_text(t, (m[0] if k == "member" else claim).get(name)))
    history = {}
    for ck in checked:
        for kind in kinds(ck.records):
            rows = [(m[0]["id"], r) for m in members for r in (m[2].get(kind, ()) if len(m) > 2 else ())]
            cols = {"member_id": [str(i) for i, _ in rows]}
            for name, (t, _) in fields(ck, kind).items():
                cols[name] = [_text(t, r.get(name)) for _, r in rows]
            history[kind] = pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()})
    return pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()}), history


def _text(t, value):
    from medrules.batch.generate import text_of
    if value is not None and t.unit in ("rate", "relpct"):
        return f"{value * 100}%"
    if value is not None and t.unit == "points":
        return f"{value * 100} points"
    return text_of(value)


def _facts_json(member: dict, claims: list[dict], histories: dict) -> str:
    import json

    from medrules.check.declarations import history_key

    def plain(v):
        if isinstance(v, frozenset):
            return sorted(v)
        if isinstance(v, (bool, str)) or v is None:
            return v
        return str(v)
    doc = {"member": {k: plain(v) for k, v in member.items() if v is not None},
           "claims": [{k: plain(v) for k, v in c.items() if v is not None} for c in claims]}
    for kind, records in histories.items():
        doc[history_key(kind)] = [{k: plain(v) for k, v in r.items() if v is not None} for r in records]
    return json.dumps(doc, ensure_ascii=False)


def routed_differences(router: Program, members: list[tuple], limit: int = 20, vm=None) -> list[str]:
    """A membership rulebook: ``medrules settle`` (routing and each scheme on the vector backend) against
    :func:`medrules.membership.settle_membership`, claim by claim: the rulebook that settled it, each fund,
    each accumulator, the member's share, the total, what is recoverable; members refused by one and not the
    other. Rates in the facts are written with their unit, so both read the same text."""
    from medrules.batch.run import Rulebooks, settle_table
    from medrules.batch.vmember import compile_membership
    from medrules.membership import load_membership, settle_membership
    from medrules.source import SourceFile
    vm = vm or compile_membership(router)
    ms = load_membership(router)
    table, history = routed_table(members, [router.checked] + [t.program.checked for t in vm.targets])
    results, rejects = settle_table(Rulebooks(router.checked.id, (vm,)), table, histories=history)
    rows = {r["claim_id"]: r for r in results.to_pylist()}
    found: list[str] = []
    for member, claims, *more in members:
        source = SourceFile(f"{member['id']}.json", _facts_json(member, claims, more[0] if more else {}))
        try:
            settlement, used = settle_membership(ms, source)
        except MedrulesError as exc:
            if any(str(c["id"]) in rows for c in claims):
                found.append(f"{member['id']}: the scalar backend refused ({exc.diagnostics[0].message}), "
                             "the vector backend settled it")
            continue
        missing = [str(c["id"]) for c in claims if str(c["id"]) not in rows]
        if missing:
            why = next((r["reason"] for r in rejects.to_pylist() if r["member"] == str(member["id"])), "?")
            found.append(f"{member['id']}: the vector backend refused ({why}), the scalar backend settled it")
            continue
        for c in settlement.claims:
            row = rows[c.id]
            pairs = [("settled by", used[c.id].checked.id, row["settled_by"])]
            pairs += [(f"fund {f.fund}", f.paid, row[f"paid.{f.fund}"]) for f in c.funds]
            pairs += [(f"accumulator {a}", v, row[f"after.{a}"]) for a, v in c.accumulators.items()]
            pairs += [("member pays", c.member_pays, row["member_pays"]), ("total", c.total_cost, row["total_cost"])]
            if "recoverable" in row:
                pairs.append(("recoverable", c.recoverable, row["recoverable"]))
            for what, scalar, vector in pairs:
                if scalar != vector:
                    found.append(f"{c.id} {what}: scalar {scalar}, vector {vector}")
        if len(found) >= limit:
            break
    return found
