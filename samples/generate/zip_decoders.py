#!/usr/bin/python3
"""Writes samples/zip-decoders/: zip members whose compressed streams real loaders decode while
modelgate once refused them (verdict `invalid`, the payload never analysed):

- bzip2-randomised.pkl.bz2, bzip2-randomised.npz (member method 12): bzip2 "randomised" blocks
  (the pre-0.9.5 block flag libbz2 still undoes): joblib/pickle.load of bz2 files and np.load decode
  them. bzip2-randomised-benign.npz: the same with a float array (must stay clean).
  The randomised streams are made from Python's bz2 output (the block's bytes XOR-ed with the
  randomisation mask, the flag set, the CRCs recomputed) and decoded back with Python's bz2: that
  checks the 512-entry table in src/containers/compressed/bzip2-rand.ts (read from there) against
  libbz2.
- lzma-longer.npz, lzma-shorter.npz: zip LZMA members (method 14) whose stream decodes past, or
  ends before, the declared size: Python's zipfile (np.load) cuts the first, accepts the second.
  lzma-benign.npz: an ordinary zipfile.ZIP_LZMA .npz (must stay clean).
- deflate-*.pt: torch.save checkpoints whose data.pkl is a deflate stream zlib refuses and miniz
  (PyTorch's zip reader) decodes: 288 literal/length codes (hlit288), a one-symbol incomplete code
  (one-symbol), length symbol 286 as a zero-length copy (len286), a distance-0 copy after the
  pickle's STOP (dist30: bytes from uninitialised memory), a failing block after the pickle
  (partial: miniz fails silently and torch unpickles what decoded). Each is checked here: zlib must
  refuse it and torch 1.13's reader must return the pickle (when torch is installed).
- torch-benign.pt: the plain torch.save checkpoint the others start from (must stay clean).
- deflate-prefix.npz: an .npz whose member inflates to an object array's pickle, then 300 kB, then a
  block of the reserved type 3: zlib fails, but only after np.load (zipfile reads the member as a
  stream, pickle reads ahead 128 kB) has unpickled the array.

Payloads are harmless (`echo modelgate-decoders-sample`); nothing is executed here. Run from the
repository root with /usr/bin/python3.
"""
import bz2
import io
import json
import lzma
import os
import pickle
import re
import struct
import zipfile
import zlib

import numpy as np

OUT = os.path.join("samples", "zip-decoders")
RAND_TABLE = os.path.join("src", "containers", "compressed", "bzip2-rand.ts")
expected = {}


class Payload:
    def __reduce__(self):
        return (os.system, ("echo modelgate-decoders-sample",))


def put(name, data, verdict, rules=(), absent=()):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    expected[f"zip-decoders/{name}"] = entry


def zip_of(members):
    """A minimal zip: members are (name, method, compressed bytes, uncompressed size, crc32)."""
    out = bytearray()
    central = bytearray()
    for name, method, comp, usize, crc in members:
        name = name.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 63, 0, method, 0, 0x21, crc, len(comp), usize, len(name), 0)
        out += name + comp
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x031E, 63, 0, method, 0, 0x21, crc, len(comp),
                               usize, len(name), 0, 0, 0, 0, 0x81A40000, offset) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + end)


# ---------------------------------------------------------------- bzip2 randomised blocks

def rand_gaps():
    text = open(RAND_TABLE, encoding="utf8").read()
    body = text[text.index("new Uint16Array([") : text.index("]);")]
    gaps = [int(x) for x in re.findall(r"\d+", body.split("[", 1)[1])]
    assert len(gaps) == 512, len(gaps)
    return gaps


def rand_mask(n, gaps):
    mask = bytearray(n)
    at, i = gaps[0] - 2, 0
    while at < n:
        mask[at] = 1
        i = (i + 1) % 512
        at += gaps[i]
    return mask


def bz_crc(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
            crc &= 0xFFFFFFFF
    return crc ^ 0xFFFFFFFF


def rle1_encode(data):
    """bzip2's first stage: runs of 4 to 255 equal bytes become 4 bytes and a count."""
    out, i = bytearray(), 0
    while i < len(data):
        j = i
        while j < len(data) and j - i < 255 and data[j] == data[i]:
            j += 1
        run = j - i
        out += bytes([data[i]]) * min(run, 4) + (bytes([run - 4]) if run >= 4 else b"")
        i = j
    return bytes(out)


def rle1_decode(data):
    out, same, last = bytearray(), 0, -1
    for b in data:
        if same == 4:  # `b` counts further repeats of `last`
            out += bytes([last]) * b
            same, last = 0, -1
            continue
        out.append(b)
        same = same + 1 if b == last else 1
        last = b
    return bytes(out)


def randomised_bz2(plain, gaps):
    """A one-block bzip2 stream with the randomised flag that decodes to `plain`: the block's bytes
    (after bzip2's first run-length stage) are XOR-ed with the mask and compressed by Python's bz2
    (whose own run-length stage must give them back unchanged), then the flag is set and the CRCs
    are those of `plain`. Returns None when the mask breaks the run-length coding."""
    block = rle1_encode(plain)
    mask = rand_mask(len(block), gaps)
    stored = bytes(a ^ b for a, b in zip(block, mask))
    source = rle1_decode(stored)
    if rle1_encode(source) != stored or len(block) > 800_000:
        return None
    c = bytearray(bz2.compress(source, 9))
    assert c[4:10] == bytes.fromhex("314159265359") and not c[14] & 0x80
    old, new = bz_crc(source), bz_crc(plain)
    assert struct.unpack(">I", c[10:14])[0] == old
    c[10:14] = struct.pack(">I", new)
    c[14] |= 0x80
    # the stream CRC (one block: the block's) follows the end-of-stream magic, not byte-aligned
    bits = "".join(f"{b:08b}" for b in c)
    tail = f"{0x177245385090:048b}{old:032b}"
    at = bits.rindex(tail)
    bits = bits[: at + 48] + f"{new:032b}" + bits[at + 80 :]
    out = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))
    assert bz2.decompress(out) == plain, "libbz2 disagrees with the randomisation table"
    return out


def npy_bytes(array, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def randomised_of(make, gaps):
    """`make(n)` and its randomised bzip2 stream, for the first n whose bytes the mask leaves valid."""
    for n in range(300, 400):
        data = make(n)
        comp = randomised_bz2(data, gaps)
        if comp is not None:
            return data, comp
    raise AssertionError("no size the randomisation mask leaves valid")


def bzip2_samples():
    gaps = rand_gaps()
    words = " ".join(f"w{i:x}" for i in range(700))
    evil = pickle.dumps((words, Payload()), protocol=2)
    put("bzip2-randomised.pkl.bz2", randomised_of(lambda n: pickle.dumps((words[:n * 4], Payload()), protocol=2), gaps)[1], "malicious", ["pickle/dangerous-global"],
        ["format/unsupported", "container/malformed-stream"])

    def evil_npy(n):
        arr = np.empty(2, dtype=object)
        arr[0] = " ".join(f"v{i:x}" for i in range(n))
        arr[1] = Payload()
        return npy_bytes(arr, allow_pickle=True)

    npy, comp = randomised_of(evil_npy, gaps)
    data = zip_of([("x.npy", 12, comp, len(npy), zlib.crc32(npy))])
    assert zipfile.ZipFile(io.BytesIO(data)).read("x.npy") == npy
    put("bzip2-randomised.npz", data, "malicious", ["pickle/dangerous-global"],
        ["format/unsupported", "container/malformed-stream"])

    rng = np.random.default_rng(7)
    benign, comp = randomised_of(lambda n: npy_bytes(rng.random(n)), gaps)
    data = zip_of([("x.npy", 12, comp, len(benign), zlib.crc32(benign))])
    assert zipfile.ZipFile(io.BytesIO(data)).read("x.npy") == benign
    put("bzip2-randomised-benign.npz", data, "clean")


# ---------------------------------------------------------------- zip LZMA members

def zip_lzma(data):
    """A zip LZMA member as zipfile writes it: version, properties size, properties, raw LZMA1."""
    props = lzma._encode_filter_properties({"id": lzma.FILTER_LZMA1})
    comp = lzma.LZMACompressor(lzma.FORMAT_RAW, filters=[lzma._decode_filter_properties(lzma.FILTER_LZMA1, props)])
    return struct.pack("<BBH", 9, 4, len(props)) + props + comp.compress(data) + comp.flush()


def lzma_samples():
    arr = np.empty(1, dtype=object)
    arr[0] = Payload()
    npy = npy_bytes(arr, allow_pickle=True)
    longer = zip_of([("x.npy", 14, zip_lzma(npy + b"J" * 5000), len(npy), zlib.crc32(npy))])
    assert zipfile.ZipFile(io.BytesIO(longer)).read("x.npy") == npy
    put("lzma-longer.npz", longer, "malicious", ["pickle/dangerous-global", "zip/size-mismatch"],
        ["container/malformed-stream"])
    shorter = zip_of([("x.npy", 14, zip_lzma(npy), len(npy) + 5000, zlib.crc32(npy))])
    assert zipfile.ZipFile(io.BytesIO(shorter)).read("x.npy") == npy
    put("lzma-shorter.npz", shorter, "malicious", ["pickle/dangerous-global", "zip/size-mismatch"],
        ["container/malformed-stream"])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_LZMA) as z:
        for name, array in [("w.npy", np.arange(1000, dtype=np.float32)), ("b.npy", np.ones((3, 4)))]:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_LZMA
            z.writestr(info, npy_bytes(array))
    put("lzma-benign.npz", buf.getvalue(), "clean")


# ---------------------------------------------------------------- deflate streams only miniz decodes

class Bits:
    """LSB-first bit writer; Huffman codes go most significant bit first."""

    def __init__(self):
        self.out, self.acc, self.n = bytearray(), 0, 0

    def put(self, value, count):
        for i in range(count):
            self.acc |= ((value >> i) & 1) << self.n
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                self.acc, self.n = 0, 0

    def code(self, code, length):
        for i in range(length - 1, -1, -1):
            self.put((code >> i) & 1, 1)

    def done(self):
        if self.n:
            self.out.append(self.acc)
            self.acc, self.n = 0, 0
        return bytes(self.out)


def canonical(lengths):
    counts = [0] * 16
    for n in lengths:
        counts[n] += 1
    counts[0] = 0
    code, first = 0, [0] * 16
    for n in range(1, 16):
        code = (code + counts[n - 1]) << 1
        first[n] = code
    codes = []
    for n in lengths:
        codes.append(first[n] if n else 0)
        if n:
            first[n] += 1
    return codes


CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
FIXED = [8] * 144 + [9] * 112 + [7] * 24 + [8] * 8


def dynamic_block(w, final, lit, dist, symbols):
    """A dynamic block; symbols are literal/length symbols or (length symbol, distance code) pairs
    (no extra bits)."""
    w.put(final, 1)
    w.put(2, 2)
    w.put(len(lit) - 257, 5)
    w.put(len(dist) - 1, 5)
    cl = [4] * 19  # 13 codes of 4 bits and 6 of 5: a complete code-length code
    for s in (16, 17, 18, 14, 15, 1):
        cl[s] = 5
    w.put(15, 4)
    for s in CL_ORDER:
        w.put(cl[s], 3)
    clc = canonical(cl)
    for n in lit + dist:
        w.code(clc[n], cl[n])
    lc, dc = canonical(lit), canonical(dist)
    for s in symbols:
        if isinstance(s, tuple):
            w.code(lc[s[0]], lit[s[0]])
            w.code(dc[s[1]], dist[s[1]])
        else:
            w.code(lc[s], lit[s])


def stored_block(w, final, data):
    w.put(final, 1)
    w.put(0, 2)
    w.done()
    w.out += struct.pack("<HH", len(data), len(data) ^ 0xFFFF) + data


def torch_base():
    import torch

    buf = io.BytesIO()
    torch.save({"w": torch.zeros(3)}, buf)
    z = zipfile.ZipFile(buf)
    return buf.getvalue(), [(i.filename, z.read(i.filename)) for i in z.infolist()]


def deflate_samples():
    try:
        import torch
    except ImportError:  # the torch check below is skipped
        torch = None
    base, members = torch_base()
    put("torch-benign.pt", base, "clean")
    evil = pickle.dumps({"w": Payload()}, protocol=2)
    dist30 = [5] * 28 + [4] * 2  # complete: 28 five-bit and 2 four-bit codes

    def stream(kind):
        w = Bits()
        if kind == "hlit288":
            dynamic_block(w, 0, FIXED, dist30, [256])
            stored_block(w, 1, evil)
        elif kind == "one-symbol":
            dynamic_block(w, 0, [0] * 256 + [2], [0], [256])
            stored_block(w, 1, evil)
        elif kind == "len286":
            # literals with zero-length copies (symbol 286) between them
            dynamic_block(w, 1, FIXED, dist30, [evil[0], (286, 0)] + list(evil[1:]) + [(287, 3), 256])
        elif kind == "dist30":
            # the pickle, then a 3-byte copy from distance 0 (miniz: uninitialised bytes) after STOP
            dynamic_block(w, 1, FIXED, [5] * 32, list(evil) + [(257, 30), 256])
        elif kind == "partial":
            # the pickle in a stored block, then a block of the reserved type 3: miniz fails there
            stored_block(w, 0, evil)
            w.put(1, 1)
            w.put(3, 2)
        return w.done()

    for kind, size, verdict, rules in [
        ("hlit288", len(evil), "malicious", ["zip/deflate-miniz-only", "pickle/dangerous-global"]),
        ("one-symbol", len(evil), "malicious", ["zip/deflate-miniz-only", "pickle/dangerous-global"]),
        ("len286", len(evil), "malicious", ["zip/deflate-miniz-only", "pickle/dangerous-global"]),
        ("dist30", len(evil) + 3, "malicious", ["zip/member-undecodable", "pickle/dangerous-global"]),
        ("partial", len(evil) + 64, "malicious", ["zip/member-undecodable", "pickle/dangerous-global"]),
    ]:
        comp = stream(kind)
        try:
            zlib.decompress(comp, -15)
            raise AssertionError(f"zlib decodes {kind}")
        except zlib.error:
            pass
        out = []
        for name, data in members:
            if name.endswith("/data.pkl"):
                out.append((name, 8, comp, size, zlib.crc32(evil)))
            else:
                out.append((name, 0, data, len(data), zlib.crc32(data)))
        path = os.path.join(OUT, f"deflate-{kind}.pt")
        put(f"deflate-{kind}.pt", zip_of(out), verdict, rules, ["container/malformed-stream"])
        if torch is not None:
            record = bytes(torch._C.PyTorchFileReader(path).get_record("data.pkl"))
            assert record[: len(evil)] == evil, (kind, record[:40])


def prefix_sample():
    arr = np.empty(1, dtype=object)
    arr[0] = Payload()
    npy = npy_bytes(arr, allow_pickle=True)
    w = Bits()
    stored_block(w, 0, npy)
    # 300 kB of zeros in non-final blocks (a sync flush leaves the stream byte-aligned), then type 3
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    w.out += z.compress(bytes(300000)) + z.flush(zlib.Z_SYNC_FLUSH)
    w.put(1, 1)
    w.put(3, 2)
    data = zip_of([("x.npy", 8, w.done(), len(npy) + 300000, zlib.crc32(npy))])
    with zipfile.ZipFile(io.BytesIO(data)).open("x.npy") as f:
        assert f.read(len(npy)) == npy
        try:
            f.read()
            raise AssertionError("zlib decodes the prefix sample")
        except zlib.error:
            pass
    put("deflate-prefix.npz", data, "malicious", ["container/malformed-stream", "pickle/dangerous-global"])


def main():
    os.makedirs(OUT, exist_ok=True)
    bzip2_samples()
    lzma_samples()
    deflate_samples()
    prefix_sample()
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf8") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
