#!/usr/bin/python3
"""Writes samples/compressed-streams/: compressed pickles that Python's streaming readers load but
that modelgate once refused to decode (`container/malformed-stream`, the pickle never analysed),
and benign controls written by the real tools.

Attacks (each carries a pickle calling os.system("touch compressed-streams.marker")):
- gzip-truncated.joblib: joblib.dump(compress="gzip") cut before the member's trailer; joblib's
  gzip reader takes a stream that ends early as its end.
- xz-truncated.pkl.xz, bz2-truncated.pkl.bz2, lz4-truncated.pkl.lz4: a pickle compressed by lzma /
  bz2 / lz4.frame, cut short; pickle.load(lzma.open(...)) etc. unpickle what decoded before the
  reader's EOFError.
- xz-trailing-junk.joblib: an xz stream followed by junk (Python's lzma ignores it).
- lzma-two-streams.joblib: an LZMA-alone stream followed by another, the pickle split between them
  (joblib's lzma reader reads one stream after the other; the first part has no STOP).
- xz-then-alone-props0.joblib: the same split over an xz stream and an LZMA-alone stream whose
  properties byte is 0x00 (not xz stream padding: liblzma reads it as the next stream).
- xz-sha256.joblib, xz-x86.joblib, xz-arm.joblib, xz-armthumb.joblib, xz-powerpc.joblib,
  xz-sparc.joblib, xz-ia64.joblib, xz-arm64.joblib, xz-delta.joblib: the `xz` CLI with
  `--check=sha256` or a filter before LZMA2 (all of which Python's lzma decodes).

Benign controls (must stay clean): joblib.dump of a numpy array with compress="xz" and "lzma",
a pickle through `xz` with every filter above and with `--check=sha256`, and two xz streams
concatenated (what `cat a.xz b.xz` makes; Python reads both).

Every attack is loaded with its real loader in a subprocess inside a fresh temporary directory,
and the marker must appear; every control must load without it. Run from the repository root with
/usr/bin/python3 (joblib, numpy, lz4) and xz-utils 5.4+ (`--arm64`).
"""
import bz2
import io
import json
import lzma
import os
import pickle
import shutil
import subprocess
import sys
import tempfile

import joblib
import lz4.frame
import numpy as np

OUT = os.path.join("samples", "compressed-streams")
AREA = "compressed-streams"
MARKER = "compressed-streams.marker"
expected = {}


class Payload:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


PAYLOAD = pickle.dumps(Payload(), protocol=2)
BENIGN = pickle.dumps({"weights": list(range(200)), "name": "benign model"}, protocol=4)

LOADERS = {
    "joblib": "import joblib,sys; joblib.load(sys.argv[1])",
    "xz": "import pickle,lzma,sys; pickle.load(lzma.open(sys.argv[1]))",
    "bz2": "import pickle,bz2,sys; pickle.load(bz2.open(sys.argv[1]))",
    "lz4": "import pickle,lz4.frame,sys; pickle.load(lz4.frame.open(sys.argv[1]))",
}


def loader_for(name):
    if name.endswith(".joblib"):
        return LOADERS["joblib"]
    return LOADERS[name.rsplit(".", 1)[1]]


def runs_payload(name, data):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        subprocess.run([sys.executable, "-c", loader_for(name), path], cwd=tmp, capture_output=True, timeout=60)
        return os.path.exists(os.path.join(tmp, MARKER))


def put(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def attack(name, data, rules):
    if not runs_payload(name, data):
        raise SystemExit(f"{name}: the loader did not run the payload")
    put(name, data)
    expected[f"{AREA}/{name}"] = {"verdict": "malicious", "rules": rules, "callee": "posix.system"}


def control(name, data):
    if runs_payload(name, data):
        raise SystemExit(f"{name}: the control ran something")
    put(name, data)
    expected[f"{AREA}/{name}"] = {
        "verdict": "clean",
        "absentRules": ["container/malformed-stream", "format/unsupported", "format/polyglot"],
    }


def xz_cli(data, *options):
    return subprocess.run(["xz", "-c", "-z", *options], input=data, capture_output=True, check=True).stdout


def joblib_bytes(value, compress):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.joblib")
        joblib.dump(value, path, compress=compress)
        with open(path, "rb") as f:
            return f.read()


# x86 code-like bytes around the pickle so the branch converters have something to convert
CODE = bytes([0xE8, 0x10, 0x00, 0x00, 0x00, 0xEB, 0x00, 0x00, 0x94, 0x48, 0x00, 0x00, 0x01]) * 64
FILTERS = {
    "x86": ["--x86", "--lzma2"],
    "arm": ["--arm", "--lzma2"],
    "armthumb": ["--armthumb", "--lzma2"],
    "powerpc": ["--powerpc", "--lzma2"],
    "sparc": ["--sparc", "--lzma2"],
    "ia64": ["--ia64", "--lzma2"],
    "arm64": ["--arm64", "--lzma2"],
    "delta": ["--delta=dist=4", "--lzma2"],
    "sha256": ["--check=sha256"],
}


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    malformed = ["container/malformed-stream", "pickle/dangerous-global"]

    whole = joblib_bytes(Payload(), "gzip")
    attack("gzip-truncated.joblib", whole[:-8], malformed)
    attack("xz-truncated.pkl.xz", lzma.compress(PAYLOAD + b"\0" * 4096)[:-30], malformed)
    attack("bz2-truncated.pkl.bz2", bz2.compress(PAYLOAD)[:-6], malformed)
    attack("lz4-truncated.pkl.lz4", lz4.frame.compress(PAYLOAD, store_size=False)[:-6], malformed)
    attack("xz-trailing-junk.joblib", lzma.compress(PAYLOAD) + b"junk after the stream", ["pickle/dangerous-global"])
    # the first stream's pickle does not end: the unpickler reads on into the second stream
    first = lzma.compress(PAYLOAD[:10], format=lzma.FORMAT_ALONE)
    second = lzma.compress(PAYLOAD[10:], format=lzma.FORMAT_ALONE)
    attack("lzma-two-streams.joblib", first + second, ["pickle/dangerous-global"])
    # an xz stream, then an LZMA-alone one whose properties byte is 0x00 (lc = lp = pb = 0): not
    # xz stream padding, liblzma's auto decoder reads it as the next stream
    zero_props = [{"id": lzma.FILTER_LZMA1, "lc": 0, "lp": 0, "pb": 0, "dict_size": 1 << 20}]
    tail = lzma.compress(PAYLOAD[10:], format=lzma.FORMAT_ALONE, filters=zero_props)
    attack("xz-then-alone-props0.joblib", lzma.compress(PAYLOAD[:10]) + tail, ["pickle/dangerous-global"])
    for name, options in FILTERS.items():
        attack(f"xz-{name}.joblib", xz_cli(PAYLOAD + CODE, *options), ["pickle/dangerous-global"])

    array = np.arange(1000, dtype=np.float64).reshape(10, 100)
    control("benign-joblib-xz.joblib", joblib_bytes(array, "xz"))
    control("benign-joblib-lzma.joblib", joblib_bytes(array, "lzma"))
    for name, options in FILTERS.items():
        control(f"benign-{name}.pkl.xz", xz_cli(BENIGN, *options))
    control("benign-two-streams.pkl.xz", xz_cli(BENIGN[:40]) + xz_cli(BENIGN[40:], "--check=crc32"))
    control("benign-lz4-frames.pkl.lz4", lz4.frame.compress(BENIGN[:50]) + lz4.frame.compress(BENIGN[50:]))

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
