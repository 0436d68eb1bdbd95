"""Writes test/formats/pickle/data/text-literals.json: what CPython's unpickler makes of the text
arguments of UNICODE (raw-unicode-escape), STRING (quoted, escape-decoded) and BINUNICODE (UTF-8
with surrogatepass), for deterministic pseudo-random lines rich in backslashes, escapes and
truncations. The test (text-literals.test.ts) decodes the same bytes with the engine's decoders.
Run from the repository root with /usr/bin/python3."""
import io
import json
import pickle
import random
import struct
import sys
import warnings

warnings.simplefilter("ignore")  # invalid escapes in STRING lines are the point

rng = random.Random(29)
PIECES = [b"\\", b"\\\\", b"u", b"U", b"x", b"0", b"4", b"1", b"a", b"F", b"g", b"0041", b"00e9", b"d800",
          b"dc00", b"0010ffff", b"00110000", b"0001f600", b"'", b'"', b"n", b"t", b"7", b"377", b"\n"[:0],
          b"\xe9", b"\xff", b"z", b" "]


def line(n):
    return b"".join(rng.choice(PIECES) for _ in range(n))


def text_or_error(f):
    try:
        v = f()
    except Exception as e:  # the unpickler raises: the engine must too
        return {"error": type(e).__name__}
    return {"text": v}


cases = {"unicode": [], "string": [], "binunicode": []}
seen = set()
fixed = [b"\\\\u0041", b"\\u0041", b"\\\\\\u0041", b"\\", b"abc\\", b"\\U00110000", b"\\u00", b"\\uzzzz",
         b"\\x41", b"\\\\\\\\u0041", b"\\U0001F600", b"\\ud800\\udc00", b"\\u00e9\xe9"]
for raw in fixed + [line(rng.randint(1, 10)) for _ in range(600)]:
    raw = raw.replace(b"\n", b"")
    if raw in seen:
        continue
    seen.add(raw)
    cases["unicode"].append({"hex": raw.hex(), **text_or_error(lambda: pickle.loads(b"V" + raw + b"\n."))})
    body = raw.replace(b"'", b"")
    q = b"'" + body + b"'"
    cases["string"].append({"hex": q.hex(), **text_or_error(lambda: pickle.loads(b"S" + q + b"\n.", encoding="latin1"))})
for _ in range(300):
    b = bytes(rng.choice([0x41, 0x80, 0xbf, 0xc3, 0xa9, 0xed, 0xa0, 0xb0, 0xf0, 0x9f, 0x98, 0x80, 0xff, 0xe2, 0x82, 0xac])
              for _ in range(rng.randint(1, 8)))
    cases["binunicode"].append({"hex": b.hex(), **text_or_error(lambda: pickle.loads(b"X" + struct.pack("<I", len(b)) + b + b"."))})

# GET/PUT memo indexes: PyLong_FromString(s, NULL, 10) on the line (underscores, whitespace, NUL)
cases["decimal"] = []
DEC = [b"1", b"_", b"0", b"9", b" ", b"\t", b"+", b"-", b"\x00", b"x", b"\xa0", b"\x0b", b"\x1c"]
seen = set()
for raw in [b"1_0", b"1__0", b"_10", b"10_", b" 10 ", b"+1_0", b"1\x000x", b"0_0", b"1 0", b"\xa01"] + [
        b"".join(rng.choice(DEC) for _ in range(rng.randint(1, 6))) for _ in range(400)]:
    if raw in seen:
        continue
    seen.add(raw)
    u = pickle.Unpickler(io.BytesIO(b"Np" + raw + b"\n."))
    try:
        u.load()
        memo = u.memo.copy()
        cases["decimal"].append({"hex": raw.hex(), "index": next(iter(memo))})
    except Exception as e:
        cases["decimal"].append({"hex": raw.hex(), "error": type(e).__name__})

out = {"source": f"CPython {sys.version.split()[0]} pickle.loads", **cases}
with open("test/formats/pickle/data/text-literals.json", "w") as f:
    json.dump(out, f, indent=0, ensure_ascii=True)
    f.write("\n")
print({k: len(v) for k, v in cases.items()})
