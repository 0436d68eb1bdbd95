#!/usr/bin/python3
"""Writes samples/lz4/: real LZ4 frames made by python-lz4 (liblz4), joblib files written with
`compress='lz4'`, and corrupt frames made from real ones, with two manifests:

- samples/lz4/frames.json: for every .lz4 file, what python-lz4 does with it: `LZ4FrameFile(...).read()`
  (what joblib.load reads through: every frame in turn) and `lz4.frame.decompress` (the first frame
  only), each "ok" or the exception; and, when LZ4FrameFile reads it, the length and SHA-256 of
  the content. test/containers/compressed/lz4.test.ts checks modelgate's decoder against it
  without Python.
- samples/lz4/expected.json: what a scan of each file must say (test/samples.test.ts).

Frames: every block maximum (64 KiB to 4 MiB), linked and independent blocks, block and content
checksums on and off, a stored content size, several frames in one file, a skippable frame between
frames, stored (incompressible) blocks and a linked block whose matches reach into a stored one,
an empty stored block, a dictionary id (no dictionary is ever supplied), content large enough for
several blocks. Corrupt ones: header checksum, block checksum, content checksum, truncated
(inside a block and inside the header), declared content size too large and too small, reserved
bits, a block over the maximum, match offsets of 0 and past the start of the output, and garbage
after a frame. joblib: a small scikit-learn model (clean) and an object whose __reduce__ runs
`os.system('echo modelgate-sample')` (malicious; a child Python proves joblib.load runs it).

Deterministic except for python-lz4 itself. Run from the repository root with /usr/bin/python3
(Debian python3-lz4, python3-joblib, python3-sklearn).
"""
import base64
import hashlib
import io
import json
import os
import random
import struct
import subprocess
import sys
import warnings

warnings.filterwarnings("ignore")

import joblib
import lz4.frame as F
import numpy as np
from sklearn.linear_model import LogisticRegression

ROOT = os.path.join("samples", "lz4")
MANIFEST = {}
EXPECTED = {}
PAYLOAD = "echo modelgate-sample"
MARK = b"modelgate-sample"

os.makedirs(ROOT, exist_ok=True)
for name in os.listdir(ROOT):
    if name.endswith((".lz4", ".joblib")):
        os.remove(os.path.join(ROOT, name))

# ------------------------------------------------------------------ xxHash32 (for corrupt variants)
M32 = 0xFFFFFFFF
P1, P2, P3, P4, P5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393


def _rotl(x, r):
    return ((x << r) | (x >> (32 - r))) & M32


def xxh32(data, seed=0):
    n = len(data)
    i = 0
    if n >= 16:
        v = [(seed + P1 + P2) & M32, (seed + P2) & M32, seed & M32, (seed - P1) & M32]
        while i + 16 <= n:
            for k in range(4):
                lane = struct.unpack_from("<I", data, i + 4 * k)[0]
                v[k] = (_rotl((v[k] + lane * P2) & M32, 13) * P1) & M32
            i += 16
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & M32
    else:
        h = (seed + P5) & M32
    h = (h + n) & M32
    while i + 4 <= n:
        h = (_rotl((h + struct.unpack_from("<I", data, i)[0] * P3) & M32, 17) * P4) & M32
        i += 4
    while i < n:
        h = (_rotl((h + data[i] * P5) & M32, 11) * P1) & M32
        i += 1
    h = ((h ^ (h >> 15)) * P2) & M32
    h = ((h ^ (h >> 13)) * P3) & M32
    return h ^ (h >> 16)


# ------------------------------------------------------------------ frame helpers

def header_length(frame):
    flg = frame[4]
    return 7 + (8 if flg & 0x08 else 0) + (4 if flg & 0x01 else 0)


def fix_hc(frame):
    """Recomputes the header checksum of the frame at the start of `frame`."""
    b = bytearray(frame)
    n = header_length(b)
    b[n - 1] = (xxh32(bytes(b[4 : n - 1])) >> 8) & 0xFF
    return bytes(b)


def blocks(frame):
    """(offset of the block header, size, stored) for each block of the first frame, and the EndMark offset."""
    flg = frame[4]
    p = header_length(frame)
    out = []
    while True:
        h = struct.unpack_from("<I", frame, p)[0]
        if h == 0:
            return out, p
        size = h & 0x7FFFFFFF
        out.append((p, size, bool(h >> 31)))
        p += 4 + size + (4 if flg & 0x10 else 0)


def first_match(block):
    """Offset in `block` of the first match offset field, and the output position there."""
    ip = op = 0
    while True:
        token = block[ip]
        ip += 1
        lit = token >> 4
        if lit == 15:
            while True:
                s = block[ip]
                ip += 1
                lit += s
                if s != 255:
                    break
        ip += lit
        op += lit
        if ip >= len(block):
            raise ValueError("no match")
        return ip, op


def python_reads(data):
    """What python-lz4 does with `data`: LZ4FrameFile read, lz4.frame.decompress, decoded content."""
    result = {}
    try:
        content = F.LZ4FrameFile(io.BytesIO(data)).read()
        result["frameFile"] = "ok"
        result["length"] = len(content)
        result["sha256"] = hashlib.sha256(content).hexdigest()
    except Exception as e:  # noqa: BLE001
        result["frameFile"] = f"{type(e).__name__}: {e}"
    try:
        first = F.decompress(data)
        result["decompress"] = "ok"
        result["decompressLength"] = len(first)
        result["decompressSha256"] = hashlib.sha256(first).hexdigest()
    except Exception as e:  # noqa: BLE001
        result["decompress"] = f"{type(e).__name__}: {e}"
    return result


def write(name, data, verdict, rules=(), note=None, **extra):
    with open(os.path.join(ROOT, name), "wb") as f:
        f.write(data)
    entry = python_reads(data)
    if note:
        entry["note"] = note
    entry.update(extra)
    MANIFEST[name] = entry
    exp = {"verdict": verdict}
    if rules:
        exp["rules"] = list(rules)
    EXPECTED[f"lz4/{name}"] = exp
    return entry


def frame(data, **kw):
    return F.compress(data, **kw)


def frame_of_blocks(chunks, **kw):
    """A frame with one block per chunk (auto_flush compresses each call's data as it comes)."""
    c = F.LZ4FrameCompressor(auto_flush=True, **kw)
    out = c.begin() + b"".join(c.compress(x) for x in chunks) + c.flush()
    return out


# ------------------------------------------------------------------ content
rng = random.Random(4)
SENTENCES = [
    "the scanner reads every frame of the file",
    "weights are stored as little-endian floats",
    "a block holds at most its frame's maximum",
    "linked blocks may look back 64 KiB",
    "the header checksum covers FLG and BD",
    "stored blocks are copied as they are",
]
lines = [f"{i:05d} {rng.choice(SENTENCES)} {rng.randrange(10)}\n" for i in range(1400)]
TEXT = "".join(lines).encode()  # ~70 KB: two 64 KiB blocks
assert 64 * 1024 < len(TEXT) < 128 * 1024
# base64 of random bytes: text (a scan of it is clean) that lz4, with no entropy coding, stores
RANDOM = base64.b64encode(bytes(rng.randrange(256) for _ in range(2250)))
SMALL = TEXT[:12000]

VALID = "clean"
BAD = ["container/malformed-stream"]

# ------------------------------------------------------------------ valid frames
write("b4-linked.lz4", frame(TEXT, block_size=F.BLOCKSIZE_MAX64KB, block_linked=True), VALID)
write("b4-independent.lz4", frame(TEXT, block_size=F.BLOCKSIZE_MAX64KB, block_linked=False), VALID)
write(
    "b4-linked-checksums.lz4",
    frame(TEXT, block_size=F.BLOCKSIZE_MAX64KB, block_linked=True, block_checksum=True, content_checksum=True),
    VALID,
)
write(
    "b4-independent-checksums-nosize.lz4",
    frame(TEXT, block_size=F.BLOCKSIZE_MAX64KB, block_linked=False, block_checksum=True, content_checksum=True,
          store_size=False),
    VALID,
)
write("b5.lz4", frame(SMALL, block_size=F.BLOCKSIZE_MAX256KB, content_checksum=True), VALID)
write("b6.lz4", frame(SMALL, block_size=F.BLOCKSIZE_MAX1MB, block_checksum=True), VALID)
write("b7.lz4", frame(SMALL, block_size=F.BLOCKSIZE_MAX4MB, store_size=False), VALID)
write("high-compression.lz4", frame(SMALL, compression_level=F.COMPRESSIONLEVEL_MAX, content_checksum=True), VALID)
# stored (incompressible) blocks, and a linked block whose matches reach back into a stored one
stored = frame_of_blocks([SMALL[:3000], RANDOM, RANDOM[:2000] + SMALL[:3000]], block_size=F.BLOCKSIZE_MAX64KB,
                         block_linked=True, content_checksum=True, block_checksum=True)
assert any(s for _, _, s in blocks(stored)[0]), "no stored block"
write("stored-blocks-linked.lz4", stored, VALID)
stored_ind = frame(RANDOM, block_linked=False, content_checksum=True)
assert all(s for _, _, s in blocks(stored_ind)[0]), "not stored"
write("stored-independent.lz4", stored_ind, VALID)
multi = frame(SMALL) + frame(TEXT[50000:56000], block_linked=False, content_checksum=True)
write("multi-frame.lz4", multi, VALID)
skippable = struct.pack("<II", 0x184D2A53, 11) + b"skip these!"
write("skippable-between.lz4", frame(SMALL) + skippable + frame(SMALL[:5000], content_checksum=True), VALID)
write("skippable-last.lz4", frame(SMALL) + skippable, VALID)
write("empty-content.lz4", frame(b"", content_checksum=True), VALID)
# an empty stored block (0x80000000 is not an EndMark) before the EndMark
base = frame(SMALL, block_checksum=False, content_checksum=True)
_, end = blocks(base)
write("empty-stored-block.lz4", base[:end] + struct.pack("<I", 0x80000000) + base[end:], VALID)
# a dictionary id (python-lz4 writes none; set here): decoded without a dictionary
h = header_length(base)
dict_frame = bytearray(base[: h - 1]) + struct.pack("<I", 0x1234) + b"\0" + base[h:]
dict_frame[4] |= 0x01
write("dict-id.lz4", fix_hc(bytes(dict_frame)), VALID)

# ------------------------------------------------------------------ corrupt frames
chk = frame(SMALL, block_linked=True, block_checksum=True, content_checksum=True)
plain = frame(SMALL, block_linked=True)
((b1, b1size, _),) = blocks(chk)[0]


def flip(data, at, mask=0x01):
    b = bytearray(data)
    b[at] ^= mask
    return bytes(b)


write("bad-header-checksum.lz4", flip(chk, header_length(chk) - 1), "invalid", BAD)
write("bad-block-checksum.lz4", flip(chk, b1 + 4 + b1size), "invalid", BAD)
write("bad-content-checksum.lz4", flip(chk, len(chk) - 1), "invalid", BAD)
write("corrupt-block-data.lz4", flip(chk, b1 + 200, 0xFF), "invalid", BAD)
write("truncated-block.lz4", chk[: b1 + 100], "invalid", BAD)
write("truncated-header.lz4", chk[:10], "invalid", BAD)
write("truncated-checksum.lz4", chk[:-2], "invalid", BAD)
size_at = 6
assert chk[4] & 0x08
bigger = bytearray(chk)
struct.pack_into("<Q", bigger, size_at, len(SMALL) + 1)
write("content-size-larger.lz4", fix_hc(bytes(bigger)), "invalid", BAD)
smaller = bytearray(chk)
struct.pack_into("<Q", smaller, size_at, len(SMALL) - 1)
write("content-size-smaller.lz4", fix_hc(bytes(smaller)), "invalid", BAD)
zero = bytearray(chk)
struct.pack_into("<Q", zero, size_at, 0)
write("content-size-zero.lz4", fix_hc(bytes(zero)), VALID, note="a declared size of 0 is not checked by liblz4")
write("reserved-flg-bit.lz4", fix_hc(flip(plain, 4, 0x02)), "invalid", BAD)
write("reserved-bd-bit.lz4", fix_hc(flip(plain, 5, 0x01)), "invalid", BAD)
write("version-0.lz4", fix_hc(flip(plain, 4, 0x40)), "invalid", BAD)
write("block-id-3.lz4", fix_hc(bytes(plain[:5]) + bytes([0x30]) + plain[6:]), "invalid", BAD)
over = bytearray(plain)
pb1 = blocks(plain)[0][0][0]
struct.pack_into("<I", over, pb1, 64 * 1024 + 1)
write("block-over-maximum.lz4", bytes(over), "invalid", BAD)
# match offsets: 0, and one reaching before the start of the frame's output
blk = plain[pb1 + 4 : pb1 + 4 + blocks(plain)[0][0][1]]
at, op = first_match(blk)
zero_off = bytearray(plain)
struct.pack_into("<H", zero_off, pb1 + 4 + at, 0)
write("offset-zero.lz4", bytes(zero_off), "invalid", BAD,
      note="liblz4 1.9.4 copies zeros for an offset of 0; modelgate refuses it")
past = bytearray(plain)
struct.pack_into("<H", past, pb1 + 4 + at, op + 1)
write("offset-before-output.lz4", bytes(past), "invalid", BAD)
# the second block of a linked frame may reach into the first one; of an independent frame it may not
ind = frame(TEXT, block_linked=False)
(i1, i1size, _), (i2, i2size, _) = blocks(ind)[0][:2]
blk2 = ind[i2 + 4 : i2 + 4 + i2size]
at2, op2 = first_match(blk2)
reach = bytearray(ind)
struct.pack_into("<H", reach, i2 + 4 + at2, op2 + 100)
write("independent-reaches-back.lz4", bytes(reach), "invalid", BAD)
write("garbage-after-frame.lz4", plain + b"garbage after the frame", "suspicious", ["format/polyglot"],
      note="LZ4FrameFile raises on it when read to the end; modelgate reports the bytes as trailing")
write("partial-magic-after-frame.lz4", plain + b"\x04\x22", "suspicious", ["format/polyglot"],
      note="LZ4FrameFile raises on it when read to the end; modelgate reports the bytes as trailing")
write("bad-second-frame.lz4", plain + fix_hc(flip(plain, 4, 0x02)), "invalid", BAD)

# blocks written by hand, where liblz4's parsing limits decide (the same bytes, a sequence shorter
# or longer, and liblz4 goes another way: see decodeLz4Block in src/containers/compressed/lz4.ts)


def hand_frame(*raw_blocks):
    """An independent-blocks frame (64 KiB maximum, no checksums, no size) of compressed blocks."""
    head = fix_hc(struct.pack("<IBBB", 0x184D2204, 0x60, 0x40, 0))
    body = b"".join(struct.pack("<I", len(b)) + b for b in raw_blocks)
    return head + body + struct.pack("<I", 0)


# 14 literals, a match of 4 at offset 1, and an empty last sequence: liblz4's fast loop takes the
# literals (the token is 17 bytes from the end) and accepts the block
write("edge-fast-path.lz4", hand_frame(b"\xe0" + b"abcdefghijklmn" + b"\x01\x00" + b"\x00"), VALID)
# 13 literals: the token is 16 bytes from the end, the safe path takes them as the last literals,
# which they are not: refused
write("edge-short-literals.lz4", hand_frame(b"\xd0" + b"abcdefghijklm" + b"\x01\x00" + b"\x00"), "invalid", BAD)
# one literal then a match: its literals end within 8 bytes of the block's end: refused
write("edge-tiny-match.lz4", hand_frame(b"\x10a\x01\x00\x00"), "invalid", BAD)
# literals only, and a long overlapping match with 5 literals after it
write("edge-overlap.lz4", hand_frame(b"\x1f" + b"z" + b"\x01\x00" + b"\xff\x10" + b"\x50" + b"12345"), VALID)
# a match-length byte run that ends too close to the end of the block
write("edge-match-length-at-end.lz4", hand_frame(b"\x1f" + b"z" + b"\x01\x00" + b"\xff\x10" + b"\x00"), "invalid",
      BAD)

# ------------------------------------------------------------------ joblib


class Evil:
    def __reduce__(self):
        return (os.system, (PAYLOAD,))


def proves(name, runs):
    code = "import joblib,sys; print(repr(joblib.load(sys.argv[1]))[:60])"
    r = subprocess.run([sys.executable, "-c", code, os.path.join(ROOT, name)], capture_output=True, timeout=120)
    ran = MARK in r.stdout or MARK in r.stderr
    if ran != runs or (not runs and r.returncode != 0):
        raise SystemExit(f"{name}: payload {'did not run' if runs else 'ran'} / rc {r.returncode}: {r.stderr[-400:]!r}")


X = np.random.RandomState(0).rand(60, 4)
y = (X[:, 0] > 0.5).astype(int)
model = LogisticRegression().fit(X, y)
for name, obj, verdict, rules, callee, runs in [
    ("logistic.joblib", model, "clean", (), None, False),
    ("evil.joblib", Evil(), "malicious", ("pickle/dangerous-global",), "posix.system", True),
]:
    p = os.path.join(ROOT, name)
    joblib.dump(obj, p, compress="lz4")
    with open(p, "rb") as f:
        assert f.read(4) == b"\x04\x22\x4d\x18"
    proves(name, runs)
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if callee:
        entry["callee"] = callee
    EXPECTED[f"lz4/{name}"] = entry

with open(os.path.join(ROOT, "frames.json"), "w") as f:
    json.dump(MANIFEST, f, indent=1, sort_keys=True)
    f.write("\n")
with open(os.path.join(ROOT, "expected.json"), "w") as f:
    json.dump(EXPECTED, f, indent=1, sort_keys=True)
    f.write("\n")
total = sum(os.path.getsize(os.path.join(ROOT, n)) for n in os.listdir(ROOT))
print(f"samples/lz4: {len(os.listdir(ROOT))} files, {total} bytes", file=sys.stderr)
