#!/usr/bin/python3
"""Writes samples/bypass/joblib-zfile/: joblib's pre-0.10 `ZF` files under names other than
`.joblib`, and with length fields written differently.

joblib.load takes any file starting with b"ZF" as a `ZF` file, whatever its name: it reads the next
19 bytes (len(hex(2**64))) as the uncompressed length with Python's int(..., 16), skips one space if
one follows (joblib <= 0.8.4 under Python 2 wrote a header one byte wider), and zlib-decompresses
the rest; the pickle in it is then unpickled. int() takes surrounding whitespace, a sign, an
optional 0x/0X prefix, either case and single underscores between digits, so the length can be
written many ways. The length only sizes zlib's first buffer; joblib asserts it afterwards, which
`python -O` skips.

- model.pkl / model.bin / model.dat / model.sav / weights (no extension) / model.joblib: the same
  file, written by joblib's own `write_zfile`, with a posix.system payload: `malicious` under
  every name.
- variants/: the payload with length fields joblib reads but a fixed-layout parser does not (a
  space after the header, right-aligned, no prefix and zero-padded, sign, underscores, tabs and
  newlines, a wrong length under -O).
- benign/model.pkl: a `ZF` file of a plain dict: `clean`.
- benign/zf_notes.txt: text that happens to start with "ZF": not a ZF header, `clean`.
- not-zlib/model.bin: a valid header, then no zlib stream: joblib.load raises; `invalid`, never
  `malicious`.

Payloads are harmless (`echo modelgate-bypass-sample`). Each file is checked with joblib.load itself
(its compat unpickler resolving every global to a recording stub, an audit hook refusing process
creation besides), which proves the payload is really reached; the benign files load for real, and
the broken ones must make joblib.load raise. Deterministic. Run from the repository root with
/usr/bin/python3 (Debian python3-joblib).
"""
import os
import pickle
import shutil
import subprocess
import sys
import warnings
import zlib

warnings.filterwarnings("ignore")

import joblib  # noqa: E402
import joblib.numpy_pickle_compat as compat  # noqa: E402

ROOT = os.path.join("samples", "bypass", "joblib-zfile")
PAYLOAD = "echo modelgate-bypass-sample"
CALLS = []
CHILD = []  # the one command line allowed to start: the `python -O` check below


def _refuse(event, args):  # nothing here may start a process but that check
    if event == "subprocess.Popen" and CHILD and list(args[1]) == CHILD:
        return
    if event in ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen"):
        raise RuntimeError(f"refused {event}{args!r}")


class Evil:
    def __reduce__(self):
        return (os.system, (PAYLOAD,))


RAW = pickle.dumps(Evil(), protocol=2)  # GLOBAL posix.system, REDUCE
assert b"cposix\nsystem\n" in RAW


def path(rel):
    p = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def write(rel, data):
    with open(path(rel), "wb") as f:
        f.write(data)


def zfile(field, data=RAW, space=False):
    """b"ZF", a 19-byte length field, an optional space, the zlib stream of `data`."""
    assert len(field) == 19, field
    return b"ZF" + field + (b" " if space else b"") + zlib.compress(data, 1)


def joblib_reaches(rel, callee="posix.system", args=(PAYLOAD,)):
    """joblib.load(path) with the compat unpickler resolving every global to a recording stub."""
    def stub_class(self, module, name):
        def stub(*a, **kw):
            CALLS.append((f"{module}.{name}", a))
            return 0
        return stub

    CALLS.clear()
    compat.ZipNumpyUnpickler.find_class = stub_class
    try:
        joblib.load(path(rel))
    finally:
        del compat.ZipNumpyUnpickler.find_class
    if (callee, args) not in CALLS:
        raise SystemExit(f"joblib.load({rel}) does not reach {callee}: {CALLS!r}")


def joblib_reaches_optimized(rel):
    """The same under `python -O` (joblib's length assert is skipped), in a child process."""
    code = (
        "import sys, warnings, joblib, joblib.numpy_pickle_compat as c\n"
        "warnings.filterwarnings('ignore')\n"
        "calls = []\n"
        "c.ZipNumpyUnpickler.find_class = lambda self, m, n: (lambda *a: calls.append((m + '.' + n, a)))\n"
        "sys.addaudithook(lambda e, a: (_ for _ in ()).throw(RuntimeError(e)) if e in ('os.system', 'subprocess.Popen') else None)\n"
        f"joblib.load({path(rel)!r})\n"
        f"sys.exit(0 if ('posix.system', ({PAYLOAD!r},)) in calls else 3)\n"
    )
    CHILD[:] = [sys.executable, "-O", "-c", code]
    try:
        rc = subprocess.run(CHILD).returncode
    finally:
        CHILD.clear()
    if rc != 0:
        raise SystemExit(f"joblib.load({rel}) under -O does not reach posix.system")


def joblib_raises(rel):
    try:
        joblib.load(path(rel))
    except Exception:  # noqa: BLE001 - any failure to load is what is wanted
        return
    raise SystemExit(f"joblib.load({rel}) should raise")


sys.addaudithook(_refuse)

if os.path.isdir(ROOT):
    shutil.rmtree(ROOT)
os.makedirs(ROOT)

# ---------------------------------------------------------------- joblib's own writer, any name
names = ("model.pkl", "model.bin", "model.dat", "model.sav", "weights", "model.joblib")
for rel in names:
    with open(path(rel), "wb") as f:
        compat.write_zfile(f, RAW)
    joblib_reaches(rel)
canonical = open(path(names[0]), "rb").read()
assert canonical.startswith(b"ZF" + f"{len(RAW):#x}".ljust(19).encode()), canonical[:21]

# ---------------------------------------------------------------- length fields joblib reads
n = len(RAW)
variants = {
    "space_after_header.pkl": (f"{n:#x}".ljust(19).encode(), True),
    "right_aligned.bin": (f"{n:#x}".rjust(19).encode(), False),
    "zero_padded_upper": (f"{n:X}".rjust(19, "0").encode(), False),
    "sign_underscores.dat": (f"  +0X_{n >> 4:x}_{n & 15:x}".ljust(19).encode(), False),
    "tabs_newlines.pkl": (("\t\n" + f"{n:#x}" + "\r\n\x0b\x0c").ljust(19).encode(), False),
}
for rel, (field, space) in variants.items():
    write(f"variants/{rel}", zfile(field, space=space))
    joblib_reaches(f"variants/{rel}")
# a wrong length: joblib only asserts it after decompressing, and `python -O` drops the assert
write("variants/length_mismatch.pkl", zfile(b"-0".ljust(19)))
joblib_raises("variants/length_mismatch.pkl")  # AssertionError without -O
joblib_reaches_optimized("variants/length_mismatch.pkl")

# ---------------------------------------------------------------- must stay clean / not malicious
BENIGN = pickle.dumps({"n_estimators": 10, "classes": [0, 1]}, protocol=2)
with open(path("benign/model.pkl"), "wb") as f:
    compat.write_zfile(f, BENIGN)
assert joblib.load(path("benign/model.pkl")) == {"n_estimators": 10, "classes": [0, 1]}
write("benign/zf_notes.txt", b"ZFS pool layout notes: mirror of two disks, weekly scrub.\n")
joblib_raises("benign/zf_notes.txt")
# a valid header, then bytes that are no zlib stream (the payload's pickle, uncompressed)
write("not-zlib/model.bin", b"ZF" + f"{n:#x}".ljust(19).encode() + RAW)
joblib_raises("not-zlib/model.bin")

count = sum(len(files) for _, _, files in os.walk(ROOT))
print(f"{ROOT}: {count} samples", file=sys.stderr)
