"""The architecture, checked: one name per provision kind, and data flows one way."""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from medrules import nodes
from medrules.check import types as check_types
from medrules import evaluate
from medrules.evaluate import kernel as evaluate_kernel
from medrules.evaluate.trace import STEP_KINDS
from medrules.plan import ops as plan_ops
from medrules.explain.steps import Describer

GRAMMAR = (ROOT / "grammar" / "medrules.lark").read_text(encoding="utf-8")

# provision kind -> the trace step it produces (bands produce one 'band' step per band touched)
PROVISIONS = {"applies": "applies", "exclude": "exclude", "treat": "treat", "base": "base",
              "deductible": "deductible", "cap": "cap", "flat": "flat",
              "rate": "rate", "bands": "band", "adjust": "adjust"}


# provision kind -> its operation class(es) in the plan (a cap limits cost or payments: two operations)
OPERATIONS = {"cap": ("CostCap", "PaymentCap")}


@pytest.mark.parametrize("kind", PROVISIONS)
def test_one_name_in_five_places(kind):
    assert re.search(rf"^{kind}:", GRAMMAR, re.M), f"grammar rule '{kind}'"
    assert hasattr(nodes, kind.capitalize()), f"node class {kind.capitalize()}"
    assert hasattr(check_types, f"check_{kind}"), f"checker check_{kind}"
    for op in OPERATIONS.get(kind, (kind.capitalize(),)):
        assert hasattr(plan_ops, op), f"plan operation {op}"
        name = re.sub(r"(?<!^)([A-Z])", r"_\1", op).lower()  # a fund's operations: the kernel's emitters
        assert hasattr(evaluate_kernel, f"emit_{name}") or hasattr(evaluate, f"settle_{name}"), \
            f"scalar backend emit_{name} / settle_{name}"
    assert PROVISIONS[kind] in STEP_KINDS, f"trace step '{PROVISIONS[kind]}'"
    assert hasattr(Describer, f"step_{PROVISIONS[kind]}"), f"explanation step_{PROVISIONS[kind]}"


def test_every_step_kind_can_be_explained():
    for kind in STEP_KINDS:
        assert hasattr(Describer, f"step_{kind}"), kind


def test_keywords_are_declared_once_at_the_top_of_the_grammar():
    block = GRAMMAR.split("// ---------------------------------------------------------------- literals")[0]
    keywords = re.findall(r'^(_?[A-Z_]+): "([a-z ]+)"$', block, re.M)
    assert len(keywords) > 30
    rest = GRAMMAR[len(block):]
    for _, word in keywords:
        assert f'"{word}"' not in rest, f"keyword '{word}' is spelled again outside the keyword block"


# Each stage may import earlier stages only.
STAGES = ["source", "diagnostics", "units", "nodes", "parse", "check", "plan", "facts", "evaluate", "explain", "analyses", "render",
          "cli"]
LATER = {
    "parse": {"check", "facts", "evaluate", "explain", "cli"},
    "check": {"plan", "facts", "evaluate", "explain", "cli"},
    "plan": {"facts", "evaluate", "explain", "cli"},
    "facts": {"evaluate", "explain", "cli"},
    "evaluate": {"analyses", "explain", "cli"},
    "explain": {"analyses", "cli"},
    "analyses": {"cli"},
}


def _imports(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("medrules."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("medrules.")}
    return found


@pytest.mark.parametrize("stage", LATER)
def test_the_pipeline_flows_one_way(stage):
    pkg = ROOT / "medrules"
    files = [pkg / f"{stage}.py"] if (pkg / f"{stage}.py").exists() else list((pkg / stage).rglob("*.py"))
    for f in files:
        bad = _imports(f) & LATER[stage]
        assert not bad, f"{f.relative_to(ROOT)} imports later stage(s) {bad}"


def test_only_the_cli_prints():
    for f in (ROOT / "medrules").rglob("*.py"):
        if f.name in ("cli.py", "__main__.py"):
            continue
        tree = ast.parse(f.read_text(encoding="utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"]
        assert not calls, f"{f.relative_to(ROOT)} calls print()"


def test_the_installed_command_runs_outside_the_repository(tmp_path):
    """The wheel carries its grammar: the console script works from any directory."""
    exe = shutil.which("medrules")
    if exe is None:
        pytest.skip("medrules is not installed as a command")
    rulebook = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"
    r = subprocess.run([exe, "check", str(rulebook)], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "medrules", "--help"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0 and "explain" in r.stdout
