"""7z samples: archives made by the real 7-Zip (`7z` from Debian's p7zip-full/7zip package).

Run with /usr/bin/python3 (Debian's torch, for the torch.save'd model). Writes samples/sevenzip/**
and samples/sevenzip/expected.json. Covers every coder modelgate decodes (LZMA, LZMA2, Copy,
Deflate, BZip2, BCJ x86/ARM/ARMT/PPC/SPARC, Delta), solid blocks, plain and packed headers,
encryption (content and header), empty files and directories, and the "nullifAI" layout: a
malicious pickle packed with 7z, also under the names `model.bin` and `model.pt`. Damaged
archives (truncated, flipped data byte) are patched from real ones. Payloads are harmless
(`echo pwned`).
"""
import json
import os
import pickle
import random
import shutil
import struct
import subprocess
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "sevenzip")
EXPECTED = {}
SEVEN = shutil.which("7z") or shutil.which("7zz") or shutil.which("7za")
MTIME = 1_700_000_000
PASSWORD = "modelgate-sample"


def expect(rel, verdict, rules=(), callee=None, absent=()):
    entry = {"verdict": verdict, "rules": list(rules)}
    if callee:
        entry["callee"] = callee
    if absent:
        entry["absentRules"] = list(absent)
    EXPECTED["sevenzip/" + rel] = entry


def seven_zip(rel, files, *switches, dirs=()):
    """Packs `files` (name -> bytes) and empty `dirs` with the 7z binary; returns the archive."""
    with tempfile.TemporaryDirectory() as work:
        src = os.path.join(work, "in")
        os.makedirs(src)
        for d in dirs:
            os.makedirs(os.path.join(src, d), exist_ok=True)
        for name, data in files.items():
            path = os.path.join(src, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        for base, subdirs, names in os.walk(src):
            for n in names + subdirs:
                os.utime(os.path.join(base, n), (MTIME, MTIME))
        archive = os.path.join(work, "out.7z")
        names = sorted(os.listdir(src))
        subprocess.run([SEVEN, "a", "-bd", "-y", archive, *switches, *names], cwd=src, check=True,
                       stdout=subprocess.DEVNULL)
        with open(archive, "rb") as f:
            data = f.read()
    write(rel, data)
    return data


def write(rel, data):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def text_files():
    rng = random.Random(7)
    words = ["tensor", "layer", "weight", "bias", "token", "embedding", "attention", "head"]
    config = json.dumps({"architectures": ["TinyModel"], "model_type": "tiny", "hidden_size": 64}, indent=2)
    vocab = "\n".join(f"{w}{i}" for i, w in enumerate(rng.choice(words) for _ in range(400)))
    readme = "# Tiny model\n\n" + " ".join(rng.choice(words) for _ in range(300)) + "\n"
    return {"config.json": config.encode(), "vocab.txt": vocab.encode(), "README.md": readme.encode()}


def branchy(kind, n=6000):
    """Bytes full of the instruction patterns a branch filter converts (not an executable)."""
    rng = random.Random(kind)
    out = bytearray()
    while len(out) < n:
        r = rng.random()
        if kind == "x86":
            if r < 0.3:
                out += bytes([rng.choice([0xE8, 0xE9])]) + struct.pack("<i", rng.randint(-5000, 5000))
            else:
                out += bytes([rng.randint(0, 0x7F)])
        elif kind == "arm":
            out += struct.pack("<I", (0xEB << 24) | rng.randint(0, 0xFFFF)) if r < 0.4 else struct.pack("<I", rng.getrandbits(24))
        elif kind == "armt":
            if r < 0.4:
                off = rng.randint(0, 0x3FFFFF)
                out += struct.pack("<HH", 0xF000 | (off >> 11), 0xF800 | (off & 0x7FF))
            else:
                out += struct.pack("<H", rng.getrandbits(11))
        elif kind == "ppc":
            out += struct.pack(">I", 0x48000001 | (rng.randint(0, 0xFFFF) << 2)) if r < 0.4 else struct.pack(">I", rng.getrandbits(16))
        elif kind == "sparc":
            out += struct.pack(">I", 0x40000000 | rng.randint(0, 0x3FFFF)) if r < 0.4 else struct.pack(">I", rng.getrandbits(16))
    return bytes(out[:n])


def main():
    if SEVEN is None:
        raise SystemExit("7z not found: apt-get install p7zip-full (or 7zip)")
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    texts = text_files()
    one = {"config.json": texts["config.json"]}

    # Coders and header shapes.
    seven_zip("clean_lzma.7z", texts, "-m0=LZMA", "-ms=off")
    expect("clean_lzma.7z", "clean")
    seven_zip("clean_lzma2.7z", one, "-m0=LZMA2")
    expect("clean_lzma2.7z", "clean")
    seven_zip("clean_solid.7z", texts, "-m0=LZMA2", "-ms=on")
    expect("clean_solid.7z", "clean")
    seven_zip("clean_copy_plain_header.7z", texts, "-m0=Copy", "-mhc=off")
    expect("clean_copy_plain_header.7z", "clean")
    seven_zip("clean_deflate.7z", texts, "-m0=Deflate")
    expect("clean_deflate.7z", "clean")
    seven_zip("clean_bzip2.7z", texts, "-m0=BZip2")
    expect("clean_bzip2.7z", "clean")
    floats = struct.pack("<1024f", *[i * 0.25 for i in range(1024)])
    # Well-formed archives whose members are raw floats and machine code: bytes no format accounts
    # for (format/unknown, suspicious); the coders must decode them with matching CRCs.
    decoded = ("format/malformed", "7z/crc-mismatch")
    seven_zip("clean_delta.7z", {"weights.f32": floats}, "-m0=Delta:4", "-m1=LZMA2")
    expect("clean_delta.7z", "suspicious", ["format/unknown"], absent=decoded)
    for kind, method in (("x86", "BCJ"), ("arm", "ARM"), ("armt", "ARMT"), ("ppc", "PPC"), ("sparc", "SPARC")):
        rel = f"clean_{method.lower()}.7z"
        seven_zip(rel, {f"code.{kind}": branchy(kind)}, f"-m0={method}", "-m1=LZMA2")
        expect(rel, "suspicious", ["format/unknown"], absent=decoded)
    seven_zip("clean_empty_entries.7z", {"empty.txt": b"", "data/config.json": texts["config.json"]}, "-m0=LZMA2",
              dirs=("emptydir",))
    expect("clean_empty_entries.7z", "clean")
    seven_zip("unsupported_ppmd.7z", texts, "-m0=PPMd")
    expect("unsupported_ppmd.7z", "invalid", ["format/unsupported"])

    # A real torch.save'd model packed with 7z.
    import io

    import torch

    buf = io.BytesIO()
    torch.manual_seed(0)
    torch.save({"linear.weight": torch.randn(4, 4), "linear.bias": torch.zeros(4)}, buf)
    seven_zip("torch_model.7z", {"model.pt": buf.getvalue()}, "-m0=LZMA2")
    expect("torch_model.7z", "clean")

    # Malicious pickles in 7z: the nullifAI layout, also renamed like a model.
    evil = pickle.dumps(Evil(), protocol=2)
    evil_files = {"data.pkl": evil, "config.json": texts["config.json"]}
    seven_zip("malicious_pickle.7z", evil_files, "-m0=LZMA2", "-ms=on")
    expect("malicious_pickle.7z", "malicious", ["pickle/dangerous-global"], "posix.system")
    data = seven_zip("nullifai/model.bin", {"data.pkl": evil}, "-m0=LZMA2")
    expect("nullifai/model.bin", "malicious", ["pickle/dangerous-global"], "posix.system")
    write("nullifai/model.pt", data)
    expect("nullifai/model.pt", "malicious", ["pickle/dangerous-global"], "posix.system")
    seven_zip("malicious_bcj_delta_chain.7z", {"data.pkl": evil}, "-m0=Delta:2", "-m1=BCJ", "-m2=LZMA")
    expect("malicious_bcj_delta_chain.7z", "malicious", ["pickle/dangerous-global"], "posix.system")

    # Encryption: content only (names visible), and header too (-mhe).
    seven_zip("encrypted_content.7z", texts, "-m0=LZMA2", f"-p{PASSWORD}")
    expect("encrypted_content.7z", "invalid", ["7z/encrypted"])
    seven_zip("encrypted_header.7z", texts, "-m0=LZMA2", f"-p{PASSWORD}", "-mhe=on")
    expect("encrypted_header.7z", "invalid", ["7z/encrypted"], absent=["7z/unreferenced-data"])

    # Damage: a truncated archive, a flipped data byte (CRC), a pickle after the archive.
    whole = seven_zip("truncated.7z", evil_files, "-m0=LZMA2")
    write("truncated.7z", whole[: len(whole) // 2])
    expect("truncated.7z", "invalid", ["format/malformed"])
    stored = bytearray(seven_zip("crc_corrupt.7z", {"config.json": texts["config.json"]}, "-m0=Copy"))
    stored[32 + 20] ^= 0x01  # inside config.json's stored bytes
    write("crc_corrupt.7z", bytes(stored))
    expect("crc_corrupt.7z", "invalid", ["7z/crc-mismatch"])
    clean = seven_zip("trailing_pickle.7z", one, "-m0=LZMA2")
    write("trailing_pickle.7z", clean + evil)
    expect("trailing_pickle.7z", "malicious", ["7z/unreferenced-data", "pickle/dangerous-global"], "posix.system")

    # A bomb: 64 MiB of zeros in a few KB.
    seven_zip("bomb.7z", {"zeros.bin": bytes(64 << 20)}, "-m0=LZMA2", "-mx=9")
    expect("bomb.7z", "malicious", ["container/decompression-bomb"])

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(dict(sorted(EXPECTED.items())), f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
