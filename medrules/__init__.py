"""medrules: a rules-as-code language for medical-insurance benefits.

The pipeline, one module each::

    parse     text      -> nodes.Rulebook          (medrules.parse)
    check     Rulebook  -> CheckedRulebook          (medrules.check)
    evaluate  Checked   -> Program -> Settlement    (medrules.evaluate)
    explain   Settlement steps -> text / JSON       (medrules.explain)

The public verbs below compose them; ``medrules.cli`` only calls these.
"""
from __future__ import annotations

from pathlib import Path

from medrules.check import CheckedRulebook, check
from medrules.diagnostics import Diagnostic, MedrulesError
from medrules.evaluate import Program, Settlement, compile_rulebook, settle
from medrules.facts import Facts, load_facts
from medrules.parse import parse, parse_file
from medrules.source import SourceFile

__all__ = ["CheckedRulebook", "Diagnostic", "Facts", "MedrulesError", "Program", "Settlement",
           "check", "compile_rulebook", "load", "load_facts", "parse", "resolve_rulebook_path", "settle"]
__version__ = "0.1.0"

RULEBOOK_SUFFIX = ".mr"


def resolve_rulebook_path(path: str | Path) -> Path:
    """``rulebooks/quzhou/employee-2012`` and ``…/employee-2012.mr`` name the same rulebook."""
    p = Path(path)
    if not p.exists() and p.suffix != RULEBOOK_SUFFIX and p.with_name(p.name + RULEBOOK_SUFFIX).exists():
        return p.with_name(p.name + RULEBOOK_SUFFIX)
    return p


def load(path: str | Path) -> Program:
    """Parse, check and compile a rulebook file: do it once, then settle many facts files."""
    p = resolve_rulebook_path(path)
    try:
        source = SourceFile.read(p)
    except OSError as exc:
        from medrules.diagnostics import error
        raise MedrulesError(error("io", f"cannot read rulebook '{path}': {exc.strerror}")) from None
    return compile_rulebook(check(parse(source)))
