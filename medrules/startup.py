"""Start-up caches: where they live, and the code attrs compiles for medrules' own classes.

attrs creates a class's ``__init__``, ``__eq__``, ``__repr__``, … by writing their Python source and compiling
it when the class is defined; for the ~100 node and plan classes a command imports, that ``compile`` is ~20 ms of
every process (docs/performance.md). :func:`install` lets attrs take the code object from a file in
:func:`cache_dir` when the same source under the same name was compiled before (``marshal`` of what ``compile``
returned, with attrs' own compiler flags: the methods are the same) and saves what it compiled at exit. Only the
classes of medrules' modules are kept, so the file stays the size of medrules. Another attrs than the one this
was written against, or a cache that cannot be read or written, leaves attrs compiling as it does.

It is installed when the package is imported (``medrules/__init__.py``), before any of its classes; attrs is
patched when it is first imported, so a command that never needs attrs (``medrules --help``) does not import it.
"""
from __future__ import annotations

import __future__
import atexit
import marshal
import os
import sys
from types import CodeType

LIMIT = 3_000  # entries; beyond, only what this process used is kept (edits of the classes leave old ones)
SENTINEL = 7_146_118_373_905_521_919  # stands for a class's type hash in cached code (see compile_and_eval)
OWN = " medrules."  # attrs names the code it writes '<attrs generated methods medrules.nodes.Literal>'
ARGUMENTS = ("script", "globs", "locs", "filename")  # attr._make._compile_and_eval's, as written against (attrs 26)


def cache_dir() -> str | None:
    """medrules' cache directory (``$MEDRULES_CACHE_DIR``, else ``$XDG_CACHE_HOME/medrules`` or
    ``~/.cache/medrules``), created if need be; None when it cannot be written."""
    root = os.environ.get("MEDRULES_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "medrules")
    try:
        os.makedirs(root, exist_ok=True)
        if not os.access(root, os.W_OK | os.X_OK):
            return None
    except (OSError, ValueError):
        return None
    return root


def install() -> None:
    """Patch attrs now if it is imported, else when it is (see the module's documentation)."""
    make = sys.modules.get("attr._make")
    if make is not None:
        _patch(make)
    elif not any(isinstance(finder, _WhenImported) for finder in sys.meta_path):
        sys.meta_path.insert(0, _WhenImported())


class _WhenImported:
    """A finder that finds nothing itself: when ``attr._make`` is imported, it lets the ordinary finder find it
    and patches the module once it has run."""

    def find_spec(self, name, path=None, target=None):
        if name != "attr._make":
            return None
        sys.meta_path.remove(self)
        from importlib.machinery import PathFinder
        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _patch(module)
        spec.loader.exec_module = exec_module
        return spec


def _patch(make) -> None:
    try:
        _patch_compile(make)
    except Exception:  # noqa: BLE001 - a cache never stops medrules: attrs then compiles as it does
        pass


def _patch_compile(make) -> None:
    original = getattr(make, "_compile_and_eval", None)
    code = getattr(original, "__code__", None)
    if code is None or code.co_varnames[:len(ARGUMENTS)] != ARGUMENTS or getattr(original, "_medrules", False):
        return
    root = cache_dir()
    if root is None:
        return
    # a code object depends on the source, its name, the compiler flags and Python's version, not attrs' version
    path = os.path.join(root, f"attrs-code-py{sys.version_info[0]}{sys.version_info[1]}.marshal")
    known = _read(path)
    compiled: dict[str, object] = {}
    used: set[str] = set()
    # compile() inherits the caller's __future__ flags: attrs' module's, not this one's
    flags = 0
    for value in vars(make).values():
        if isinstance(value, __future__._Feature):
            flags |= value.compiler_flag

    def compile_and_eval(script, globs, locs=None, filename=""):
        if OWN not in filename:
            return original(script, globs, locs, filename)
        # A hashed class's __hash__ starts from a number attrs derives from the class's name with hash(), which
        # differs from process to process: kept under a placeholder, and the process's number put back.
        type_hash = hash(f"<attrs generated hash {filename.split(' ', 3)[-1]}")
        line = f" {type_hash},\n"  # as attrs writes it, alone on its line in the tuple hashed
        hashed = "def __hash__" in script
        if str(SENTINEL) in script or (hashed and script.count(line) != 1):
            return original(script, globs, locs, filename)  # not the script expected: not cached
        canonical = script.replace(line, f" {SENTINEL},\n") if hashed else script
        key = f"{flags}\n{filename}\n{canonical}"
        used.add(key)
        bytecode = known.get(key) or compiled.get(key)
        if bytecode is None:
            bytecode = compiled[key] = compile(canonical, filename, "exec", flags, True)
        eval(_constant(bytecode, SENTINEL, type_hash) if hashed else bytecode, globs, locs)

    compile_and_eval._medrules = True
    make._compile_and_eval = compile_and_eval
    atexit.register(_save, path, known, compiled, used)


def _constant(code, old: int, new: int):
    """``code`` with the integer constant ``old`` replaced by ``new``, in nested code and tuples too."""
    def swap(value):
        if type(value) is int:
            return new if value == old else value
        if type(value) is tuple:
            return tuple(swap(v) for v in value)
        if isinstance(value, CodeType):
            return value.replace(co_consts=tuple(swap(c) for c in value.co_consts))
        return value
    return swap(code)


def _read(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            known = marshal.load(f)
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return known if isinstance(known, dict) else {}


def _save(path: str, known: dict, compiled: dict, used: set) -> None:
    if not compiled:
        return
    codes = {**known, **compiled}
    if len(codes) > LIMIT:
        codes = {key: codes[key] for key in used}
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "wb") as f:
            marshal.dump(codes, f)
        os.replace(temporary, path)  # whole, or not at all: other processes may be reading it
    except (OSError, ValueError):
        try:
            os.unlink(temporary)
        except OSError:
            pass
