"""medrules: a rules-as-code language for medical-insurance benefits.

The pipeline, one module each::

    parse     text      -> nodes.Rulebook          (medrules.parse)
    check     Rulebook  -> CheckedRulebook          (medrules.check)
    evaluate  Checked   -> Program -> Settlement    (medrules.evaluate)
    explain   Settlement steps -> text / JSON       (medrules.explain)

The public verbs below compose them; ``medrules.cli`` only calls these.
"""
from __future__ import annotations

import sys
import types
from pathlib import Path

__all__ = ["CheckedRulebook", "Diagnostic", "Facts", "MedrulesError", "Program", "Settlement",
           "check", "compile_rulebook", "load", "load_facts", "parse", "parse_file", "resolve_rulebook_path", "settle"]
__version__ = "0.1.0"

# The public names are imported on first use (``medrules --help`` must not build the pipeline).
_LAZY = {"CheckedRulebook": "medrules.check", "Diagnostic": "medrules.diagnostics",
         "MedrulesError": "medrules.diagnostics", "Program": "medrules.evaluate", "Settlement": "medrules.evaluate",
         "compile_rulebook": "medrules.evaluate", "settle": "medrules.evaluate", "Facts": "medrules.facts",
         "load_facts": "medrules.facts", "parse_file": "medrules.parse", "SourceFile": "medrules.source"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'medrules' has no attribute '{name}'")


def check(rulebook, max_errors: int = 50, base=None, readings: dict | None = None):
    """Check a parsed rulebook (:func:`medrules.check.check`); ``readings`` chooses other alternatives."""
    from medrules.check import check as run
    return run(rulebook, max_errors=max_errors, base=base, readings=readings)


def parse(source):
    """Parse one rulebook (:func:`medrules.parse.parse`)."""
    from medrules.parse import parse as run
    return run(source)


class _Package(types.ModuleType):
    """Importing the submodules ``medrules.check`` and ``medrules.parse`` must not replace the verbs
    of the same names (the import system sets the package attribute to the submodule)."""

    def __setattr__(self, name, value):
        if name in ("check", "parse") and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

RULEBOOK_SUFFIX = ".mr"


def resolve_rulebook_path(path: str | Path) -> Path:
    """``rulebooks/quzhou/employee-2012`` and ``…/employee-2012.mr`` name the same rulebook."""
    p = Path(path)
    if not p.exists() and p.suffix != RULEBOOK_SUFFIX and p.with_name(p.name + RULEBOOK_SUFFIX).exists():
        return p.with_name(p.name + RULEBOOK_SUFFIX)
    return p


def load(path: str | Path, read=None, readings: dict[str, str] | None = None) -> Program:
    """Parse, check and compile a rulebook file: do it once, then settle many facts files.

    A supplementary rulebook (``layers on "…" as alias``) loads the rulebook it layers on
    first, relative to its own file. ``read`` turns a path into a SourceFile (the CLI
    passes one that remembers the files, to quote them in diagnostics). ``readings``: the
    alternatives to settle by instead of the rulebook's own choices (``{"cap_axis": "cost"}``;
    ``{"basic.cap_axis": …}`` for the scheme a supplement layers on), see :mod:`medrules.readings`.
    """
    if read is None:
        from medrules.source import SourceFile
        read = SourceFile.read
    return _load(resolve_rulebook_path(path), read, (), dict(readings or {}))


def _resolve(path: Path, read, chain: tuple[Path, ...]):
    """Parse a rulebook and apply it to the rulebook it amends, if any (recursively)."""
    from medrules import amend
    from medrules.diagnostics import MedrulesError, error
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
    from medrules.diagnostics import MedrulesError, error
    from medrules.evaluate import compile_rulebook
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
