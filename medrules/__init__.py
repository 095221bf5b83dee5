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


def load(path: str | Path, read=SourceFile.read, root: str | Path | None = None) -> Program:
    """Parse, check and compile a rulebook file: do it once, then settle many facts files.

    A supplementary rulebook (``layers on "…" as alias``) loads the rulebook it layers on
    first, relative to its own file. ``read`` turns a path into a SourceFile (the CLI
    passes one that remembers the files, to quote them in diagnostics). Rulebooks it
    amends or layers on must be ``.mr`` files under ``root`` (see :func:`rulebook_root`).
    """
    path = resolve_rulebook_path(path)
    base = Path(root) if root is not None else rulebook_root(path)
    try:
        base = base.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        from medrules.diagnostics import error
        raise MedrulesError(error("io", f"the rulebook root {root} cannot be used: {_why(exc)}")) from None
    return _load(path, read, (), base)


def _why(exc: Exception) -> str:
    if isinstance(exc, RuntimeError):
        return "a symbolic link loops"
    return getattr(exc, "strerror", None) or type(exc).__name__


def referenced(self_path: Path, ref, root: Path, verb: str) -> Path:
    """The file an ``amends``/``layers on`` reference names, once it is known to be a rulebook under
    the root: relative, no escape by '..' or symbolic links, a regular '.mr' file of bounded size.
    Nothing outside the root is ever opened, so no diagnostic can quote it."""
    from medrules.diagnostics import error
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
    from medrules.diagnostics import error
    try:
        return read(path)
    except FileNotFoundError:
        raise MedrulesError(error("io", f"no such rulebook file: {path}")) from None
    except (OSError, RuntimeError) as exc:
        raise MedrulesError(error("io", f"cannot read rulebook '{path}': {_why(exc)}")) from None


def _resolve(path: Path, read, chain: tuple[Path, ...], root: Path):
    """Parse a rulebook and apply it to the rulebook it amends, if any (recursively)."""
    from medrules import amend
    from medrules.diagnostics import error
    rulebook = parse(_read_rulebook(path, read))
    amends = rulebook.header.amends if rulebook.header else None
    if amends is None:
        return rulebook
    base_path = referenced(path, amends, root, "amends")
    if base_path.resolve() in chain + (path.resolve(),):
        raise MedrulesError(error("amendment", f"'{amends.path}' amends itself", amends.span))
    return amend.apply(_resolve(base_path, read, chain + (path.resolve(),), root), rulebook, amends.span)


def _load(path: Path, read, chain: tuple[Path, ...], root: Path) -> Program:
    from medrules.diagnostics import error
    rulebook = _resolve(path, read, chain, root)
    base = None
    layers = rulebook.header.layers_on if rulebook.header else None
    if layers is not None:
        base_path = referenced(path, layers, root, "layers on")
        if base_path.resolve() in chain or base_path.resolve() == path.resolve():
            raise MedrulesError(error("layering", f"'{layers.path}' layers on itself", layers.span,
                                      "a supplementary rulebook layers on a different scheme"))
        base = _load(base_path, read, chain + (path.resolve(),), root)
    return compile_rulebook(check(rulebook, base=base.checked if base else None), base=base)
