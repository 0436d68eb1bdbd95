#!/usr/bin/python3
"""Writes samples/npy-headers/: .npy files whose headers numpy.load(allow_pickle=True) accepts in
forms numpy never writes, each followed by a pickle that runs `echo` (once scanned `invalid`
while numpy unpickled them), and benign arrays numpy writes itself (must stay clean).

Malicious (header written here, since numpy only writes the canonical form; every file is loaded
with np.load(allow_pickle=True) below and the payload is checked to have run):
- descr spellings whose dtype holds objects: `('O')`, `'object'`, `'i4,O'`, `'(2,)O'`, `'\\x4f'`,
  `[['a','O']]`, `('O',(1,))`, `{'xO': 1}` (dict keys iterated as fields), `'O' ''` (implicit
  concatenation), a comment inside the dict, `1L` shapes (Python 2 suffix numpy filters out);
- shapes numpy ignores for object arrays: `(-1,)`, `(True,)`;
- `\\N{...}` escape (modelgate does not evaluate it; the data is analysed as a pickle anyway);
- a version 2.0 header of 1.2 MiB (numpy reads any size with allow_pickle=True).

Benign (np.save): float, int, bool, complex, datetime, unicode, bytes, structured with padding and
subarrays, fortran order, a version 2.0 header (a structured dtype too large for 1.0), and an object
array of plain Python values.

Payloads are harmless (`echo`). Run from the repository root with /usr/bin/python3.
"""
import json
import os
import pickle
import shutil
import struct
import tempfile

import numpy as np

OUT = os.path.join("samples", "npy-headers")
MARK = os.path.join(tempfile.gettempdir(), "modelgate-npy-headers-sample.log")
expected = {}


class Echo:
    def __init__(self, tag):
        self.tag = tag

    def __reduce__(self):
        return (os.system, (f"echo modelgate-npy-{self.tag} >> {MARK}",))


def raw_npy(name, header, version=1):
    """A .npy file with this header text (aligned as numpy aligns) and an echo pickle as its data."""
    h = header.encode("latin1" if version < 3 else "utf8")
    pre = b"\x93NUMPY" + bytes([version, 0])
    lenfield = 2 if version == 1 else 4
    pad = (64 - (len(pre) + lenfield + len(h) + 1) % 64) % 64
    h = h + b" " * pad + b"\n"
    length = struct.pack("<H" if version == 1 else "<I", len(h))
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(pre + length + h + pickle.dumps(Echo(name.split(".")[0]), protocol=2))


def check_runs(name):
    if os.path.exists(MARK):
        os.remove(MARK)
    np.load(os.path.join(OUT, name), allow_pickle=True)
    with open(MARK) as f:
        assert f"modelgate-npy-{name.split('.')[0]}" in f.read(), name


def expect(name, verdict, rules=()):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    expected[f"npy-headers/{name}"] = entry


if os.path.isdir(OUT):
    shutil.rmtree(OUT)
os.makedirs(OUT)

REST = "'fortran_order': False, 'shape': (1,), }"
MALICIOUS = {
    "paren_descr": "{'descr': ('O'), " + REST,
    "object_word": "{'descr': 'object', " + REST,
    "comma_string": "{'descr': 'i4,O', " + REST,
    "subarray_string": "{'descr': '(2,)O', " + REST,
    "hex_escape": "{'descr': '\\x4f', " + REST,
    "list_field": "{'descr': [['a','O']], " + REST,
    "tuple_descr": "{'descr': ('O',(1,)), " + REST,
    "dict_descr": "{'descr': {'xO': 1}, " + REST,
    "concatenated": "{'descr': 'O' '', " + REST,
    "comment": "{'descr': 'O', # a comment\n " + REST,
    "long_suffix": "{'descr': '|O', 'fortran_order': False, 'shape': (1L,), }",
    "negative_shape": "{'descr': '|O', 'fortran_order': False, 'shape': (-1,), }",
    "bool_shape": "{'descr': '|O', 'fortran_order': False, 'shape': (True,), }",
}
for case, header in MALICIOUS.items():
    raw_npy(f"{case}.npy", header)
    check_runs(f"{case}.npy")
    expect(f"{case}.npy", "malicious", ["numpy/object-array", "pickle/dangerous-global"])

raw_npy("named_escape.npy", "{'descr': '\\N{LATIN CAPITAL LETTER O}', " + REST)
check_runs("named_escape.npy")
expect("named_escape.npy", "malicious", ["numpy/unjudged-header", "pickle/dangerous-global"])

raw_npy("big_header.npy", "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }" + " " * (1200 * 1024), version=2)
check_runs("big_header.npy")
expect("big_header.npy", "malicious", ["numpy/unjudged-header", "pickle/dangerous-global"])
if os.path.exists(MARK):
    os.remove(MARK)

BENIGN = {
    "float64.npy": np.arange(12, dtype="<f8").reshape(3, 4),
    "int16_be.npy": np.arange(6, dtype=">i2"),
    "bool.npy": np.array([True, False]),
    "complex.npy": np.array([1 + 2j], dtype=np.complex64),
    "datetime.npy": np.array(["2024-01-01", "2024-06-30"], dtype="datetime64[ns]"),
    "unicode.npy": np.array(["a", "bcd"]),
    "bytes.npy": np.array([b"ab", b"c"]),
    "structured.npy": np.zeros(3, dtype=np.dtype({"names": ["a", "b"], "formats": ["<i4", ("<f8", (2,))], "offsets": [0, 8], "itemsize": 32})),
    "fortran.npy": np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)),
    "scalar.npy": np.float32(1.5),
    "many_fields_v2.npy": np.zeros(1, dtype=[(f"field_{i:05d}", "<f4") for i in range(3000)]),
    "object_plain.npy": np.array([1, "two", 3.0, None], dtype=object),
}
for name, array in BENIGN.items():
    np.save(os.path.join(OUT, name), array)
    np.load(os.path.join(OUT, name), allow_pickle=True)
    expect(name, "clean", ["numpy/object-array"] if name.startswith("object") else ())

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
