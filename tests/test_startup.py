"""medrules.startup: the code attrs compiles for medrules' classes, read from the cache, is the code it compiles.

Each run is a fresh interpreter: without the cache (its directory cannot be written), with an empty cache (it
compiles and saves), and with the saved cache (it reads). The generated methods of every attrs class of the
pipeline's modules are fingerprinted (their code objects, nested ones included: bytecode, constants, names,
flags, file name and first line) and must be the same in all three; and in a process of another hash seed (a
hashed class's __hash__ starts from a number attrs derives from the class's name with ``hash``).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FINGERPRINT = r'''
import hashlib, importlib, json, sys, types
import attr, attr._make
import medrules
modules = ["medrules.source", "medrules.diagnostics", "medrules.nodes", "medrules.plan.core", "medrules.plan.ops",
           "medrules.check", "medrules.evaluate", "medrules.explain"]
def canon(code):
    return (code.co_code.hex(), code.co_names, code.co_varnames, code.co_filename, code.co_firstlineno,
            code.co_flags, code.co_argcount, code.co_kwonlyargcount, code.co_qualname,
            tuple(canon(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts))
prints, classes = [], 0
for name in modules:
    for value in sorted(vars(importlib.import_module(name)).items()):
        cls = value[1]
        if isinstance(cls, type) and attr.has(cls) and cls.__module__ == name:
            classes += 1
            for method, f in sorted(vars(cls).items()):
                code = getattr(f, "__code__", None)
                if code is not None and code.co_filename.startswith("<attrs generated"):
                    prints.append((cls.__qualname__, method, canon(code)))
print(json.dumps({"patched": getattr(attr._make._compile_and_eval, "_medrules", False), "classes": classes,
                  "methods": len(prints), "digest": hashlib.sha256(repr(prints).encode()).hexdigest()}))
'''


def run(cache: Path | str, seed: int = 0) -> dict:
    # the seed of str hashes: attrs starts a class's __hash__ from the hash of its name (the cache keeps a placeholder)
    env = dict(os.environ, MEDRULES_CACHE_DIR=str(cache), PYTHONHASHSEED=str(seed))
    done = subprocess.run([sys.executable, "-c", FINGERPRINT], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_cached_code_is_the_compiled_code(tmp_path):
    cache = tmp_path / "cache"
    unwritable = "/proc/medrules-no-cache"  # cannot be created: no cache, attrs left as it is
    plain = run(unwritable)
    assert not plain["patched"] and plain["classes"] > 80 and plain["methods"] > 200

    first = run(cache)  # compiles, and saves at exit
    saved = cache / f"attrs-code-py{sys.version_info[0]}{sys.version_info[1]}.marshal"
    assert first["patched"] and saved.is_file()
    written = saved.stat().st_mtime_ns

    second = run(cache)  # reads: nothing new to compile, so the file is not written again
    assert second["patched"] and saved.stat().st_mtime_ns == written
    assert plain["digest"] == first["digest"] == second["digest"]
    assert plain["methods"] == first["methods"] == second["methods"]
    # another process's hashes: the code read from the cache takes this process's type hashes
    other = run(unwritable, seed=1)
    assert other["digest"] != plain["digest"] and run(cache, seed=1)["digest"] == other["digest"]
    assert saved.stat().st_mtime_ns == written


def test_a_damaged_cache_is_ignored_and_replaced(tmp_path):
    saved = tmp_path / f"attrs-code-py{sys.version_info[0]}{sys.version_info[1]}.marshal"
    saved.write_bytes(b"\x00not marshal at all")
    plain = run("/proc/medrules-no-cache")
    assert run(tmp_path)["digest"] == plain["digest"]
    assert run(tmp_path)["digest"] == plain["digest"]  # now from the replaced file
    assert saved.stat().st_size > 10_000


def test_help_does_not_import_attrs(tmp_path):
    code = ("import sys\nfrom medrules.cli import main\nsys.argv = ['medrules', '--help']\ntry:\n    main()\n"
            "except SystemExit:\n    pass\nassert 'attr' not in sys.modules, 'attrs imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, MEDRULES_CACHE_DIR=str(tmp_path)))
    assert done.returncode == 0, done.stderr
