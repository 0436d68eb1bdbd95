#!/usr/bin/python3
"""Writes samples/pickle-twins/: pickles that reach a denied standard-library module through its
implementation twin (`_pyio` for `io`, `_sqlite3` for `sqlite3`, `_tkinter` for `tkinter` ...) or
through a stdlib module that runs commands, evaluates code, loads native code or writes files and
was once only an unknown global (medium):

- tkinter-tcl-exec.pkl: `_tkinter.TkappType.eval(_tkinter.create(...), "exec echo ...")`: Tcl's
  `exec` runs a command (no display needed).
- pyio-write.pkl: `_pyio.BufferedWriter.write(_pyio.open(path, "wb"), data)` writes a file.
- sqlite-executescript.pkl: `_sqlite3.Connection.executescript(_sqlite3.connect(":memory:"),
  "ATTACH ...")` creates a database file at a path of the pickle's choosing.
- dbm-open.pkl / gdbm-open.pkl: `_dbm.open(path, "c")`, `_gdbm.open(path, "c")` create files.
- lsprof-profiler.pkl: `_lsprof.Profiler(callable)` (cProfile's C twin, calls the timer it is given).
- numpy-ctypeslib.pkl: `numpy.ctypeslib.load_library(name, dir)` loads a shared library.
- mailcap-findmatch.pkl: `mailcap.findmatch(caps, type)` runs the `test` command of a caps entry.
- pipes-template.pkl: `pipes.Template.copy` runs the template's shell pipeline.
- typing-get-type-hints.pkl: `typing.get_type_hints(ns)` evals the string annotations of an
  argparse.Namespace.
- dataclasses-create-fn.pkl: `dataclasses._create_fn` execs source built from its arguments.
- pathlib-posix-write.pkl: `pathlib.PosixPath.write_text(PosixPath(path), text)` (the method reached
  through the concrete class, not `pathlib.Path`).
- benign-numpy-p2.pkl, benign-ordereddict-p2.pkl, benign-path-uuid.pkl: what pickle.dumps writes
  for a numpy array (`_codecs.encode`), an OrderedDict, a PosixPath and a UUID (must stay clean).

Payloads are harmless (`echo modelgate-sample`, paths under /tmp/modelgate-sample*); nothing is
loaded here. Run from the repository root with /usr/bin/python3.
"""
import argparse
import collections
import json
import os
import pathlib
import pickle
import typing
import uuid

import numpy

OUT = os.path.join("samples", "pickle-twins")
ECHO = "echo modelgate-sample"
expected = {}


def sbu(s):
    b = s.encode("utf-8")
    return b"\x8c" + bytes([len(b)]) + b


def glob(module, qualname):
    """Protocol 4 STACK_GLOBAL."""
    return sbu(module) + sbu(qualname) + b"\x93"


def call(fn, *args):
    """fn(*args) as opcodes: fn and each arg are opcode strings."""
    return fn + b"(" + b"".join(args) + b"t" + b"R"


def text(s):
    b = s.encode("utf-8")
    return b"X" + len(b).to_bytes(4, "little") + b


def data(b):
    return b"C" + bytes([len(b)]) + b


NONE, FALSE = b"N", b"\x89"


def raw(body):
    return b"\x80\x04" + body + b"."


def put(name, blob, verdict, rules, callee=None):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(blob)
    want = {"verdict": verdict, "rules": rules}
    if callee is not None:
        want["callee"] = callee
    expected[f"pickle-twins/{name}"] = want


class Reduce:
    """An object whose pickle is fn(*args), written by pickle.dumps itself."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def main():
    os.makedirs(OUT, exist_ok=True)
    bad = ["pickle/dangerous-global"]
    tk = call(glob("_tkinter", "create"), NONE, text("x"), text("Tk"), FALSE, FALSE, FALSE)
    put("tkinter-tcl-exec.pkl", raw(call(glob("_tkinter", "TkappType.eval"), tk, text(f"exec {ECHO}"))),
        "malicious", bad, "_tkinter.TkappType.eval")
    fh = call(glob("_pyio", "open"), text("/tmp/modelgate-sample.bin"), text("wb"))
    put("pyio-write.pkl", raw(call(glob("_pyio", "BufferedWriter.write"), fh, data(b"modelgate-sample"))),
        "malicious", bad, "_pyio.BufferedWriter.write")
    con = call(glob("_sqlite3", "connect"), text(":memory:"))
    script = "ATTACH DATABASE '/tmp/modelgate-sample.db' AS a; CREATE TABLE a.t(x);"
    put("sqlite-executescript.pkl", raw(call(glob("_sqlite3", "Connection.executescript"), con, text(script))),
        "malicious", bad, "_sqlite3.Connection.executescript")
    put("dbm-open.pkl", raw(call(glob("_dbm", "open"), text("/tmp/modelgate-sample-dbm"), text("c"))),
        "malicious", bad, "_dbm.open")
    put("gdbm-open.pkl", raw(call(glob("_gdbm", "open"), text("/tmp/modelgate-sample-gdbm"), text("c"))),
        "malicious", bad, "_gdbm.open")
    put("lsprof-profiler.pkl", raw(call(glob("_lsprof", "Profiler"), glob("time", "time"))),
        "malicious", bad, "_lsprof.Profiler")
    put("numpy-ctypeslib.pkl",
        raw(call(glob("numpy.ctypeslib", "load_library"), text("modelgate-sample.so"), text("/tmp"))),
        "malicious", bad, "numpy.ctypeslib.load_library")
    put("pathlib-posix-write.pkl",
        raw(call(glob("pathlib", "PosixPath.write_text"), call(glob("pathlib", "PosixPath"),
                                                               text("/tmp/modelgate-sample.txt")), text("x"))),
        "malicious", bad, "pathlib.PosixPath.write_text")
    # written by pickle.dumps from real objects
    caps = {"text/plain": [{"view": "cat %s", "test": ECHO}]}
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import mailcap
        import pipes
    put("mailcap-findmatch.pkl", pickle.dumps(Reduce(mailcap.findmatch, caps, "text/plain"), protocol=2),
        "malicious", bad, "mailcap.findmatch")
    template = pipes.Template()
    template.append(ECHO, "--")
    put("pipes-template.pkl",
        pickle.dumps(Reduce(pipes.Template.copy, template, "/dev/null", "/tmp/modelgate-sample.out"), protocol=4),
        "malicious", bad)
    ns = argparse.Namespace(__annotations__={"x": f"__import__('os').system({ECHO!r})"})
    put("typing-get-type-hints.pkl", pickle.dumps(Reduce(typing.get_type_hints, ns), protocol=4),
        "malicious", bad, "typing.get_type_hints")
    import dataclasses
    put("dataclasses-create-fn.pkl",
        pickle.dumps(Reduce(dataclasses._create_fn, "f", [f"x=__import__('os').system({ECHO!r})"], ["pass"]),
                     protocol=2),
        "malicious", bad, "dataclasses._create_fn")
    put("benign-numpy-p2.pkl", pickle.dumps(numpy.arange(6, dtype=numpy.float32), protocol=2), "clean", [])
    put("benign-ordereddict-p2.pkl", pickle.dumps(collections.OrderedDict(a=1, b=[1.5, "x"]), protocol=2),
        "clean", [])
    put("benign-path-uuid.pkl",
        pickle.dumps({"path": pathlib.PurePosixPath("/data/x"), "posix": pathlib.PosixPath("/data/y"),
                      "id": uuid.UUID(int=7)}, protocol=4), "clean", [])
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
