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

from medrules import startup as _startup  # noqa: E402

_startup.install()  # the methods attrs writes for medrules' classes, compiled once, not in every process

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


ROOT_MARKER = ".medrules-root"


def rulebook_root(path: str | Path) -> Path:
    """The folder a rulebook's ``amends`` and ``layers on`` may refer into: the nearest folder
    holding a ``.medrules-root`` file (e.g. the repository's ``rulebooks/``), else the
    rulebook's own folder."""
    folder = Path(path).absolute().parent
    for candidate in (folder, *folder.parents):
        try:
            if (candidate / ROOT_MARKER).is_file():
                return candidate
        except OSError:
            break
    return folder


def load(path: str | Path, read=None, root: str | Path | None = None,
         readings: dict[str, str] | None = None) -> Program:
    """Parse, check and compile a rulebook file: do it once, then settle many facts files.

    A supplementary rulebook (``layers on "…" as alias``) loads the rulebook it layers on
    first, relative to its own file. ``read`` turns a path into a SourceFile (the CLI
    passes one that remembers the files, to quote them in diagnostics). Rulebooks it
    amends or layers on must be ``.mr`` files under ``root`` (see :func:`rulebook_root`).
    ``readings``: the
    alternatives to settle by instead of the rulebook's own choices (``{"cap_axis": "cost"}``;
    ``{"basic.cap_axis": …}`` for the scheme a supplement layers on), see :mod:`medrules.readings`.
    """
    from medrules.diagnostics import MedrulesError, error
    if read is None:
        from medrules.source import SourceFile
        read = SourceFile.read
    path = resolve_rulebook_path(path)
    base = Path(root) if root is not None else rulebook_root(path)
    try:
        base = base.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise MedrulesError(error("io", f"the rulebook root {root} cannot be used: {_why(exc)}")) from None
    return _load(path, read, (), base, dict(readings or {}))


def _why(exc: Exception) -> str:
    if isinstance(exc, RuntimeError):
        return "a symbolic link loops"
    return getattr(exc, "strerror", None) or type(exc).__name__


def referenced(self_path: Path, ref, root: Path, verb: str) -> Path:
    """The file an ``amends``/``layers on`` reference names, once it is known to be a rulebook under
    the root: relative, no escape by '..' or symbolic links, a regular '.mr' file of bounded size.
    Nothing outside the root is ever opened, so no diagnostic can quote it."""
    from medrules.diagnostics import MedrulesError, error
    from medrules.source import MAX_RULEBOOK_BYTES
    raw = ref.path
    hint = f"name a .mr file by its path relative to this rulebook, inside the rulebook root {root}"
    if not raw or "\0" in raw or Path(raw).is_absolute() or raw.startswith("~"):
        raise MedrulesError(error("confinement", f"a rulebook {verb} a rulebook by a relative path, not '{raw}'",
                                  ref.span, hint))
    try:
        candidate = resolve_rulebook_path(self_path.parent / raw)
        real = candidate.resolve(strict=True)
    except FileNotFoundError:
        raise MedrulesError(error("io", f"the rulebook this one {verb} does not exist: {raw}", ref.span,
                                  "the path is relative to this rulebook's file")) from None
    except (OSError, RuntimeError) as exc:
        raise MedrulesError(error("io", f"the rulebook this one {verb} cannot be found: {_why(exc)}", ref.span,
                                  hint)) from None
    if not real.is_relative_to(root):
        raise MedrulesError(error("confinement", f"'{raw}' is outside the rulebook root {root}", ref.span, hint))
    try:
        info = real.stat()
    except OSError as exc:
        raise MedrulesError(error("io", f"the rulebook this one {verb} cannot be read: {_why(exc)}",
                                  ref.span)) from None
    import stat
    if not stat.S_ISREG(info.st_mode) or real.suffix != RULEBOOK_SUFFIX:
        raise MedrulesError(error("confinement", f"'{raw}' is not a rulebook (.mr) file", ref.span, hint))
    if info.st_size > MAX_RULEBOOK_BYTES:
        raise MedrulesError(error("confinement", f"'{raw}' is larger than {MAX_RULEBOOK_BYTES:,} bytes",
                                  ref.span, "is this the right file?"))
    return candidate


def _read_rulebook(path: Path, read):
    from medrules.diagnostics import MedrulesError, error
    try:
        return read(path)
    except FileNotFoundError:
        raise MedrulesError(error("io", f"no such rulebook file: {path}")) from None
    except (OSError, RuntimeError) as exc:
        raise MedrulesError(error("io", f"cannot read rulebook '{path}': {_why(exc)}")) from None


def _resolve(path: Path, read, chain: tuple[Path, ...], root: Path):
    """Parse a rulebook and apply it to the rulebook it amends, if any (recursively)."""
    from medrules import amend
    from medrules.diagnostics import MedrulesError, error
    rulebook = parse(_read_rulebook(path, read))
    amends = rulebook.header.amends if rulebook.header else None
    if amends is None:
        return rulebook
    base_path = referenced(path, amends, root, "amends")
    if base_path.resolve() in chain + (path.resolve(),):
        raise MedrulesError(error("amendment", f"'{amends.path}' amends itself", amends.span))
    return amend.apply(_resolve(base_path, read, chain + (path.resolve(),), root), rulebook, amends.span)


def _load(path: Path, read, chain: tuple[Path, ...], root: Path, readings: dict | None = None) -> Program:
    from medrules.diagnostics import MedrulesError, error
    from medrules.program import compile_rulebook  # the evaluator loads on first settlement
    rulebook = _resolve(path, read, chain, root)
    base = None
    layers = rulebook.header.layers_on if rulebook.header else None
    readings = dict(readings or {})
    below = {}
    if layers is not None:
        below = {k.split(".", 1)[1]: readings.pop(k) for k in list(readings) if k.startswith(layers.alias + ".")}
        base_path = referenced(path, layers, root, "layers on")
        if base_path.resolve() in chain or base_path.resolve() == path.resolve():
            raise MedrulesError(error("layering", f"'{layers.path}' layers on itself", layers.span,
                                      "a supplementary rulebook layers on a different scheme"))
        base = _load(base_path, read, chain + (path.resolve(),), root, below)
    return compile_rulebook(check(rulebook, base=base.checked if base else None, readings=readings), base=base)
