#!/usr/bin/python3
"""Writes samples/lzma-truncated/: LZMA-alone (.lzma) streams written by Python's lzma module and
cut short. `pickle.load(lzma.open(path))` unpickles what liblzma decoded before the end of the
data and runs the payload before the truncation is noticed; modelgate once dropped the bytes its
decoder held when the input ended (`invalid`, medium only).

- truncated.pkl.lzma: a pickle calling os.system, then 100 kB of zeros, the stream cut in half.
- intact.pkl.lzma: a plain list, whole (must stay clean).

Payloads are harmless (`echo modelgate-bypass-sample`); nothing is executed here. Run from the
repository root with /usr/bin/python3.
"""
import json
import lzma
import os
import pickle

OUT = os.path.join("samples", "lzma-truncated")


class Payload:
    def __reduce__(self):
        return (os.system, ("echo modelgate-bypass-sample",))


os.makedirs(OUT, exist_ok=True)
evil = lzma.compress(pickle.dumps(Payload(), protocol=2) + b"\0" * 100000, format=lzma.FORMAT_ALONE)
with open(os.path.join(OUT, "truncated.pkl.lzma"), "wb") as f:
    f.write(evil[: len(evil) // 2])
with open(os.path.join(OUT, "intact.pkl.lzma"), "wb") as f:
    f.write(lzma.compress(pickle.dumps([1, 2, 3], protocol=2), format=lzma.FORMAT_ALONE))
expected = {
    "lzma-truncated/truncated.pkl.lzma": {
        "verdict": "malicious",
        "rules": ["container/malformed-stream", "pickle/dangerous-global"],
    },
    "lzma-truncated/intact.pkl.lzma": {"verdict": "clean"},
}
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")
