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
           "check", "compile_rulebook", "load", "load_facts", "parse", "parse_file", "resolve_rulebook_path", "settle"]
__version__ = "0.1.0"

RULEBOOK_SUFFIX = ".mr"


def resolve_rulebook_path(path: str | Path) -> Path:
    """``rulebooks/quzhou/employee-2012`` and ``…/employee-2012.mr`` name the same rulebook."""
    p = Path(path)
    if not p.exists() and p.suffix != RULEBOOK_SUFFIX and p.with_name(p.name + RULEBOOK_SUFFIX).exists():
        return p.with_name(p.name + RULEBOOK_SUFFIX)
    return p


def load(path: str | Path, read=SourceFile.read, readings: dict[str, str] | None = None) -> Program:
    """Parse, check and compile a rulebook file: do it once, then settle many facts files.

    A supplementary rulebook (``layers on "…" as alias``) loads the rulebook it layers on
    first, relative to its own file. ``read`` turns a path into a SourceFile (the CLI
    passes one that remembers the files, to quote them in diagnostics). ``readings``: the
    alternatives to settle by instead of the rulebook's own choices (``{"cap_axis": "cost"}``;
    ``{"basic.cap_axis": …}`` for the scheme a supplement layers on), see :mod:`medrules.readings`.
    """
    return _load(resolve_rulebook_path(path), read, (), dict(readings or {}))


def _resolve(path: Path, read, chain: tuple[Path, ...]):
    """Parse a rulebook and apply it to the rulebook it amends, if any (recursively)."""
    from medrules import amend
    from medrules.diagnostics import error
    try:
        source = read(path)
    except OSError as exc:
        raise MedrulesError(error("io", f"cannot read rulebook '{path}': {exc.strerror}")) from None
    rulebook = parse(source)
    amends = rulebook.header.amends if rulebook.header else None
    if amends is None:
        return rulebook
    base_path = resolve_rulebook_path(path.parent / amends.path)
    if base_path.resolve() in chain + (path.resolve(),):
        raise MedrulesError(error("amendment", f"'{amends.path}' amends itself", amends.span))
    if not base_path.exists():
        raise MedrulesError(error("io", f"the rulebook this one amends does not exist: {base_path}", amends.span,
                                  "the path is relative to this rulebook's file"))
    return amend.apply(_resolve(base_path, read, chain + (path.resolve(),)), rulebook)


def _load(path: Path, read, chain: tuple[Path, ...], readings: dict | None = None) -> Program:
    from medrules.diagnostics import error
    rulebook = _resolve(path, read, chain)
    base = None
    layers = rulebook.header.layers_on if rulebook.header else None
    readings = dict(readings or {})
    below = {}
    if layers is not None:
        below = {k.split(".", 1)[1]: readings.pop(k) for k in list(readings) if k.startswith(layers.alias + ".")}
        base_path = resolve_rulebook_path(path.parent / layers.path)
        if base_path.resolve() in chain or base_path.resolve() == path.resolve():
            raise MedrulesError(error("layering", f"'{layers.path}' layers on itself", layers.span,
                                      "a supplementary rulebook layers on a different scheme"))
        if not base_path.exists():
            raise MedrulesError(error("io", f"the rulebook this one layers on does not exist: {base_path}",
                                      layers.span, "the path is relative to this rulebook's file"))
        base = _load(base_path, read, chain + (path.resolve(),), below)
    return compile_rulebook(check(rulebook, base=base.checked if base else None, readings=readings), base=base)
