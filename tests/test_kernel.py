"""The generated kernels of the scalar backend (medrules.evaluate.kernel).

* Every expression of every shipped rulebook, written as source by the kernel's writer, gives the value
  and records the reads (in order) that its closure (medrules.evaluate.compile, still the reference for
  expressions: treatments, recoveries, membership and contributions run on it) gives, traced and untraced,
  on generated facts and random accumulators and outputs (hypothesis);
* the traced and the untraced kernels (two functions written per fund) settle generated members to the
  same amounts and accumulators, for every shipped rulebook (hypothesis);
* the source runs nothing of the rulebook's text: its module level is functions only, every name it uses
  is the generator's own or bound by it, and every string in it is a name of the plan;
* names in Chinese go through the generator (the same money as the English names);
* ``medrules plan`` prints the plan, and ``--source`` the generated functions.
"""
from __future__ import annotations

import ast
import builtins
import decimal
import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import medrules
from conftest import ROOT, VECTOR_RULEBOOKS
from medrules.batch.differential import as_facts
from medrules.batch.generate import random_members
from medrules.cli import app
from medrules.diagnostics import MedrulesError
from medrules.evaluate import CONTEXT
from medrules.evaluate.compile import Env, compile_expr
from medrules.evaluate.kernel import Module, Writer, kernel_source
from medrules.plan import core, ops
from medrules.source import SourceFile

# every rulebook that settles claims (membership routing settles none itself; contributions are premiums)
SETTLING = [p for p in VECTOR_RULEBOOKS if not re.search(r"^insured ", p.read_text(encoding="utf-8"), re.M)]
OUTPUTS = ("paid", "base", "deductible", "payable", "above_cap", "above_ceiling", "remaining")
_programs: dict = {}
_pairs: dict = {}


def program(path):
    if path not in _programs:
        _programs[path] = medrules.load(path)
    return _programs[path]


def expressions(layer: ops.Layer) -> list:
    """Every core expression of a layer's plan (the roots: each operation's own)."""
    found = []

    def visit(x):
        if isinstance(x, core.EXPRESSIONS):
            found.append(x)
        elif isinstance(x, (tuple, list)):
            for y in x:
                visit(y)
        elif isinstance(x, (ops.Band, ops.Bands)) or type(x) in ops.OPERATIONS or \
                isinstance(x, (ops.Treat, ops.Exclude, ops.Total, ops.Recover)):
            for name in ("when", "expr", "amount", "value", "rate", "bands"):
                if hasattr(x, name):
                    visit(getattr(x, name))

    for fund in layer.funds:
        visit(fund.operations())
    visit(layer.treatments)
    visit(layer.exclusions)
    visit(layer.recoveries)
    if layer.total is not None:
        visit(layer.total)
    return found


def written(e, traced: bool):
    """``e`` written by the kernel's writer as a function of env returning (value, reads recorded)."""
    module = Module("test")
    w = Writer(module, traced)
    w.line("acc, claim, member, out = env.acc, env.claim, env.member, env.out")
    w.line("rd = env.reads")
    rec = w.reads(e)
    value = w.expr(e, rec)
    w.line(f"return {value}, {rec.tuple(w)}")
    module.functions.append("def expr(env):\n" + "\n".join(w.lines) + "\n")
    return module.build()["expr"]


def outcome(fn, env):
    """(value, reads) or the error's message: what the expression did on env."""
    try:
        value, reads = fn(env)
    except MedrulesError as exc:
        return ("error", [d.message for d in exc.diagnostics])
    except (ArithmeticError, ValueError, OverflowError) as exc:  # the settlement's boundary turns these into errors
        return ("error", type(exc).__name__)
    return repr(value), [(id(node), repr(v)) for node, v in reads]  # repr: 1.5 and 1.50 print differently


def env_for(layer: ops.Layer, member: dict, claim: dict, money, traced: bool, histories: dict | None = None) -> Env:
    env = Env(member, {a.name: money() for a in layer.accumulators}, traced,
              {k: tuple(v) for k, v in (histories or {}).items()})
    env.claim = claim
    env.out = {f.name: {o: money() for o in OUTPUTS} for f in layer.funds}
    return env


def names_in(layer: ops.Layer) -> set[str]:
    """Every name the layer's expressions read (facts, accumulators, outputs, the layer below's keys)."""
    found = set()

    def visit(x):
        if isinstance(x, core.Fact):
            found.update((x.record, x.field))
        elif isinstance(x, core.Acc):
            found.add(x.name)
        elif isinstance(x, core.FundOutput):
            found.update((x.fund, x.output))
        elif isinstance(x, core.BaseOutput):
            found.add(x.key)
        for child in core.children(x):
            visit(child)
    for e in expressions(layer):
        visit(e)
    return found


def _below_keys(layer: ops.Layer) -> list[str]:
    found = set()

    def visit(x):
        if isinstance(x, core.BaseOutput):
            found.add(x.key)
        for child in core.children(x):
            visit(child)
    for e in expressions(layer):
        visit(e)
    return sorted(found)


@pytest.mark.parametrize("path", SETTLING, ids=lambda p: p.stem)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6),
       amounts=st.lists(st.decimals(min_value=0, max_value=300_000, places=2), min_size=1, max_size=40))
def test_every_expression_written_as_source_does_what_its_closure_does(path, seed, amounts):
    p = program(path)
    members = random_members(p.checked, 3, seed=seed, max_claims=3)
    for layer in p.plan.layers:
        exprs = expressions(layer)
        below = _below_keys(layer)
        for traced in (True, False):
            key = (path, layer.prefix, traced)
            if key not in _pairs:  # written once per rulebook, run on every example
                _pairs[key] = [(e, written(e, traced), compile_expr(e, traced)) for e in exprs]
            pairs = _pairs[key]
            for member, claims, *histories in members:
                for claim in claims:
                    i = iter(amounts * 1000)
                    env = env_for(layer, member, claim, lambda: next(i), traced, *histories)
                    env.below = {k: next(i) for k in below}
                    for e, generated, closure in pairs:
                        with decimal.localcontext(CONTEXT):
                            env.reads = [] if traced else None
                            got = outcome(generated, env)
                            env.reads = [] if traced else None
                            want = outcome(lambda env: (closure(env), env.take()), env)
                        assert got == want, f"{path.name}: {core.show(e)} (traced={traced})"


def amounts_of(settlement) -> list:
    return repr([(c.id, c.total_cost, c.member_pays, c.recoverable, c.accumulators,  # repr: 1.5 and 1.50 differ
                   [(f.fund, f.applied, f.paid, f.base, f.deductible, f.payable, f.above_cap, f.above_ceiling,
                     f.remaining, id(f.excluded_by)) for f in c.funds]) for c in settlement.claims])


@pytest.mark.parametrize("path", SETTLING, ids=lambda p: p.stem)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6))
def test_the_traced_and_untraced_kernels_settle_alike(path, seed):
    p = program(path)
    for member, claims, *histories in random_members(p.checked, 4, seed=seed):
        facts = as_facts(member, claims, *histories)
        try:
            untraced = amounts_of(medrules.settle(p, facts, in_force_only=False))
        except MedrulesError as exc:
            with pytest.raises(MedrulesError) as again:
                medrules.settle(p, facts, trace=True, in_force_only=False)
            assert str(again.value) == str(exc)
            continue
        traced = medrules.settle(p, facts, trace=True, in_force_only=False)
        assert amounts_of(traced) == untraced
        for c in traced.claims:  # what the trace says each fund paid is what it paid
            paid = [s.amount for s in c.steps if s.kind == "paid"]
            assert paid == [f.paid for f in c.funds if f.applied and f.excluded_by is None]


ALLOWED_BUILTINS = {"min", "max", "tuple", "type", "True", "False", "None"}


@pytest.mark.parametrize("path", SETTLING, ids=lambda p: p.stem)
def test_the_source_runs_nothing_of_the_rulebooks_text(path):
    p = program(path)
    plan_names = {"applied", "paid", "base", "deductible", "payable", "above_cap", "above_ceiling", "remaining",
                  "excluded", "cost", "payments", "year", "claim", "admission", "half_up", "half_even", "down", "up",
                  "member", "household", "points", "relpct", "holder", ""}
    for layer in p.plan.layers:
        plan_names |= {f.name for f in layer.funds} | {a.name for a in layer.accumulators} | names_in(layer)
    for traced in (True, False):
        for layer in (p.layers if traced else p.untraced):
            tree = ast.parse(layer.source)
            assert all(isinstance(x, ast.FunctionDef) for x in tree.body)  # the header is comments only
            assert all(line.startswith("#") for line in layer.source.split("\ndef ")[0].splitlines() if line)
            bound = set(Module("x").names) | {"FundResult"} | {
                name for name in re.findall(r"^# ([KNFQ]\d+)", layer.source, re.M)} | {"quota_room", "draw_quota"}
            for node in ast.walk(tree):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                    local = re.fullmatch(r"v\d+|a0|r_fund_\d+|NA_fund_\d+|fund_\d+|[a-z_]+", node.id)
                    assert node.id in bound or node.id in ALLOWED_BUILTINS or local, node.id
                    if node.id in dir(builtins):
                        assert node.id in ALLOWED_BUILTINS, node.id
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    assert node.value in plan_names, f"{path.name}: string {node.value!r} in the source"
                if isinstance(node, ast.Attribute):  # only these attributes are read or called
                    assert node.attr in {"acc", "claim", "member", "out", "reads", "household", "below", "append",
                                         "clear", "copy", "values", "quantize", "replace", "days",
                                         "quotas", "pending", "take"}, node.attr


def test_names_in_chinese_settle_as_the_english_ones():
    text = (ROOT / "rulebooks" / "quzhou" / "employee-2012.mr").read_text(encoding="utf-8")
    renamed = text
    for old, new in (("outpatient_pool", "门诊统筹"), ("inpatient_pool", "住院统筹"), ("compliant_cost", "合规费用"),
                     ("inpatient_cost", "住院累计"), ("grassroots_zero_markup", "基层零差率")):
        renamed = re.sub(rf"\b{old}\b", new, renamed)
    english = medrules.load(ROOT / "rulebooks" / "quzhou" / "employee-2012.mr")
    chinese = medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile("zh.mr", renamed))))
    assert "'门诊统筹'" in kernel_source(chinese) and "'合规费用'" in kernel_source(chinese)
    members = random_members(english.checked, 30, seed=8)
    for member, claims in members:
        zh_claims = [{("合规费用" if k == "compliant_cost" else k): ("基层零差率" if v == "grassroots_zero_markup" else v)
                      for k, v in c.items()} for c in claims]
        a = medrules.settle(english, as_facts(member, claims))
        b = medrules.settle(chinese, as_facts(member, zh_claims))
        assert [[f.paid for f in c.funds] for c in a.claims] == [[f.paid for f in c.funds] for c in b.claims]
        assert [c.member_pays for c in a.claims] == [c.member_pays for c in b.claims]


def test_plan_prints_the_operations_and_the_source(monkeypatch):
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    plain = runner.invoke(app, ["plan", "rulebooks/quzhou/employee-2012.mr"])
    assert plain.exit_code == 0
    assert "  fund inpatient_pool" in plain.stdout and "bands on inpatient_cost" in plain.stdout
    source = runner.invoke(app, ["plan", "rulebooks/quzhou/employee-2012.mr", "--source"])
    assert source.exit_code == 0
    assert "def fund_1(env, steps):  # fund 'inpatient_pool' (traced)" in source.stdout
    assert "def settle_layer(env, steps)" in source.stdout
    assert "steps.append((BandStep, 'inpatient_pool'" in source.stdout
    untraced = runner.invoke(app, ["plan", "rulebooks/quzhou/employee-2012.mr", "--source", "--untraced"])
    assert untraced.exit_code == 0 and "steps.append" not in untraced.stdout
    missing = runner.invoke(app, ["plan", "rulebooks/quzhou/no-such.mr"])
    assert missing.exit_code == 1 and "Traceback" not in missing.output


def test_plan_of_a_membership_rulebook_refuses_a_schemes_reading_and_says_where_it_applies(monkeypatch):
    # the membership rulebook's plan is its routing; a reading of a scheme (employee-2012.cap_axis) changes
    # only the scheme's plan: refused (it was silently ignored), with the command that shows it
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    r = runner.invoke(app, ["plan", "rulebooks/quzhou/membership-2020.mr", "--reading",
                            "employee-2012.cap_axis=payments"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "error[reading]: --reading employee-2012.cap_axis" in r.output
    assert "medrules plan rulebooks/quzhou/employee-2012.mr --reading cap_axis=payments" in r.output
    scheme = runner.invoke(app, ["plan", "rulebooks/quzhou/employee-2012.mr", "--reading", "cap_axis=payments"])
    assert scheme.exit_code == 0 and "fund inpatient_pool" in scheme.stdout


def test_the_quzhou_kernels_call_no_closure():
    # every expression of Quzhou 2012 (rates by case, month arithmetic on optional dates in its exclusions) is
    # written inline: no F… (closure) is bound in its source
    source = kernel_source(program(ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"))
    assert not re.search(r"^# F\d+", source, re.M)


def test_a_shape_without_a_writer_runs_its_closure():
    # highest { 5 when true, 7 when claim.kind == inpatient, otherwise 1 } on an inpatient claim: both cases hold,
    # 7 is the larger (case 1); the read of claim.kind, then (node, 1), as the closure records them
    kind = core.Fact("claim", "kind", False, node="claim.kind")
    e = core.Highest(((core.Const(True, None), core.Const(Decimal(5), None)),
                      (core.Compare("==", kind, core.Const("inpatient", None), None), core.Const(Decimal(7), None))),
                     core.Const(Decimal(1), None), node="highest")
    for traced in (True, False):
        env = Env({}, {}, traced)
        env.claim = {"kind": "inpatient"}
        assert outcome(written(e, traced), env) == \
            (repr(Decimal(7)), [(id("claim.kind"), repr("inpatient")), (id("highest"), "1")] if traced else [])
