#!/usr/bin/python3
"""Writes samples/zip-member-prefix/: .npz archives (numpy.savez writes them with Python's
zipfile) whose member is an object array, i.e. a pickle, compressed with bzip2 or LZMA, and whose
compressed stream is corrupted near its end. Python's zipfile streams the member, so
`np.load(path, allow_pickle=True)[name]` unpickles what decoded before the error and runs the
payload before zipfile notices the damage. modelgate analyses that decoded prefix (it once
reported only `container/malformed-stream`, medium, for bzip2 and LZMA members).

- bzip2-late-corrupt.npz, lzma-late-corrupt.npz: the payload (os.system) in the prefix.
- bzip2-intact.npz, lzma-intact.npz: the same archives undamaged, with a plain float array
  (must stay clean).

Payloads are harmless (`echo modelgate-bypass-sample`); nothing is executed here. Run from the
repository root with /usr/bin/python3.
"""
import io
import json
import os
import zipfile

import numpy as np

OUT = os.path.join("samples", "zip-member-prefix")
expected = {}


class Payload:
    def __reduce__(self):
        return (os.system, ("echo modelgate-bypass-sample",))


def npy(array):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def archive(method, data):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        z.writestr("arr_0.npy", data)
    return bytearray(buf.getvalue())


def corrupt_late(zip_bytes):
    """Flips bytes near the end of the first member's compressed data."""
    with zipfile.ZipFile(io.BytesIO(bytes(zip_bytes))) as z:
        info = z.infolist()[0]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    end = start + info.compress_size
    for at in range(end - 1000, end - 950):
        zip_bytes[at] ^= 0xA5
    return bytes(zip_bytes)


def put(name, data, verdict, rules=()):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    expected[f"zip-member-prefix/{name}"] = entry


# An object array: a payload, then 3.6 MB of floats, so the damage is read long after the payload
# ran (bzip2 decodes block by block, 900 kB each; zipfile decodes LZMA as it reads).
evil = np.array([Payload()] + [float(i) for i in range(400000)], dtype=object)
for label, method in (("bzip2", zipfile.ZIP_BZIP2), ("lzma", zipfile.ZIP_LZMA)):
    put(
        f"{label}-late-corrupt.npz",
        corrupt_late(archive(method, npy(evil))),
        "malicious",
        ["pickle/dangerous-global", "container/malformed-stream"],
    )
    put(f"{label}-intact.npz", bytes(archive(method, npy(np.arange(1000, dtype=np.float32)))), "clean")

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")
