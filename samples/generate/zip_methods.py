#!/usr/bin/python3
"""Writes samples/zip-methods/: .npz archives whose members Python's zipfile compresses with bzip2
(method 12) or LZMA (method 14), and expected.json. numpy.load reads them through zipfile (PyTorch's
miniz does not), so their arrays, and an object array's pickle, must be analysed like deflated
ones. Each archive is written by zipfile itself from numpy.savez's members; the malicious ones are
loaded once by numpy in a child process to prove the payload runs (`echo`, harmless).

Run from the repository root with /usr/bin/python3 (Debian python3-numpy).
"""
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np

ROOT = os.path.join("samples", "zip-methods")
MARK = b"modelgate-sample"
EXPECTED = {}
posix = __import__("posix")


class Evil:
    def __reduce__(self):
        return (posix.system, ("echo modelgate-sample",))


def recompress(npz_bytes, method):
    """The same members, written again by zipfile with `method`."""
    src = zipfile.ZipFile(io.BytesIO(npz_bytes))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info))
    return out.getvalue()


def savez(**arrays):
    b = io.BytesIO()
    np.savez(b, **arrays)
    return b.getvalue()


benign = savez(w=np.linspace(0, 1, 1000, dtype=np.float32), ids=np.arange(50))
evil = savez(w=np.arange(4), o=np.array([Evil()], dtype=object))
os.makedirs(ROOT, exist_ok=True)
for label, method in (("bzip2", zipfile.ZIP_BZIP2), ("lzma", zipfile.ZIP_LZMA)):
    rel = f"arrays_{label}.npz"
    with open(os.path.join(ROOT, rel), "wb") as f:
        f.write(recompress(benign, method))
    with np.load(os.path.join(ROOT, rel)) as z:
        assert z["w"].shape == (1000,)
    EXPECTED[f"zip-methods/{rel}"] = {"verdict": "clean"}
    rel = f"object_{label}.npz"
    path = os.path.join(ROOT, rel)
    with open(path, "wb") as f:
        f.write(recompress(evil, method))
    code = "import numpy,sys; numpy.load(sys.argv[1], allow_pickle=True)['o']"
    r = subprocess.run([sys.executable, "-c", code, path], capture_output=True, timeout=60)
    if MARK not in r.stdout + r.stderr:
        raise SystemExit(f"{rel}: the payload did not run: {r.stderr[-300:]!r}")
    EXPECTED[f"zip-methods/{rel}"] = {"verdict": "malicious", "rules": ["pickle/dangerous-global"], "callee": "posix.system"}

with open(os.path.join(ROOT, "expected.json"), "w") as f:
    json.dump(EXPECTED, f, indent=1, sort_keys=True)
    f.write("\n")
print(f"{ROOT}: {len(EXPECTED)} samples", file=sys.stderr)
