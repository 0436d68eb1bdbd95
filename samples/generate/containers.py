"""Container samples: zip (incl. real torch.save archives, tampered), tar and compressed streams.

Run with /usr/bin/python3 (Debian's torch). Writes samples/containers/** and
samples/containers/expected.json. Every archive is made by the real library (zipfile, tarfile,
gzip, zlib, bz2, lzma, torch, the zstd CLI) and then, for anomaly cases, patched at byte level the
way published scanner bypasses did. Bombs are deflated zeros (tiny on disk).
"""
import bz2
import gzip
import io
import json
import lzma
import os
import random
import shutil
import struct
import subprocess
import tarfile
import zipfile
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "containers")
EXPECTED = {}
# Verdicts of the torch samples now that the pickle analyzer is registered: the benign archives are
# clean, the tampered ones suspicious (their zip findings are medium).
PICKLE_VERDICT = "clean"
TAMPERED_VERDICT = "suspicious"


def write(rel, data, verdict, rules=(), absent=()):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    entry = {"verdict": verdict, "rules": list(rules)}
    if absent:
        entry["absentRules"] = list(absent)
    EXPECTED["containers/" + rel] = entry


def make_zip(members, compression=zipfile.ZIP_DEFLATED, comment=b"", **kw):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression, **kw) as z:
        for name, data in members:
            if isinstance(name, zipfile.ZipInfo):
                z.writestr(name, data)
            else:
                z.writestr(name, data)
        z.comment = comment
    return bytearray(buf.getvalue())


def central_records(data):
    """Offsets of every central directory record (PK\\1\\2)."""
    out, i = [], 0
    while True:
        i = data.find(b"PK\x01\x02", i)
        if i < 0:
            return out
        out.append(i)
        i += 4


TEXT = [("notes/readme.txt", b"plain text member\n" * 20), ("config.json", b'{"hidden_size": 8}')]


def zips():
    write("zip/benign.zip", make_zip(TEXT), "clean", absent=["zip/malformed"])
    write("zip/stored.zip", make_zip(TEXT, compression=zipfile.ZIP_STORED), "clean")
    write("zip/comment.zip", make_zip(TEXT, comment=b"made by a test"), "clean", ["zip/comment"])

    # zip64 records (forced), read as usual.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("big/entry.txt", "w", force_zip64=True) as f:
            f.write(b"zip64 member\n" * 10)
    write("zip/zip64-extra.zip", buf.getvalue(), "clean")

    # Written to an unseekable stream: data descriptors (flag bit 3, zeros in the local headers).
    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.buf = io.BytesIO()

        def writable(self):
            return True

        def write(self, b):
            return self.buf.write(b)

    raw = Unseekable()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in TEXT:
            z.writestr(name, data)
    streamed = raw.buf.getvalue()
    assert struct.unpack_from("<H", streamed, 6)[0] & 8, "expected a data descriptor"
    write("zip/streamed.zip", streamed, "clean", absent=["zip/header-mismatch", "zip/unreferenced-data"])

    # Local header name differs from the central one (GHSA-7q5r-7gvp-wc82 technique).
    data = make_zip(TEXT)
    i = data.find(b"notes/readme.txt")  # first occurrence: the local header
    data[i : i + 16] = b"notes/readme.TXT"
    write("zip/name-mismatch.zip", data, "suspicious", ["zip/name-mismatch"])

    # Duplicate names (zipfile warns, writes both).
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = make_zip([("dup.txt", b"first\n"), ("dup.txt", b"second\n")])
    write("zip/duplicate-name.zip", data, "suspicious", ["zip/duplicate-name"])

    # Second central record points at the first member's local header: overlapping entries.
    data = make_zip([("a.txt", b"A" * 64), ("b.txt", b"B" * 64)], compression=zipfile.ZIP_STORED)
    rec = central_records(data)[1]
    struct.pack_into("<I", data, rec + 42, 0)
    write("zip/overlapping.zip", data, "suspicious", ["zip/overlapping-entries", "zip/name-mismatch"])

    # Encryption bit set in both headers: not inspectable.
    data = make_zip(TEXT)
    for rec in central_records(data):
        struct.pack_into("<H", data, rec + 8, struct.unpack_from("<H", data, rec + 8)[0] | 1)
    i = 0
    while (i := data.find(b"PK\x03\x04", i)) >= 0:
        struct.pack_into("<H", data, i + 6, struct.unpack_from("<H", data, i + 6)[0] | 1)
        i += 4
    write("zip/encrypted.zip", data, "invalid", ["zip/encrypted-entry"])

    # Unusual flag bits (GHSA-w8jq-xcqf-f792 technique): bit 13 in the central directory.
    data = make_zip(TEXT)
    rec = central_records(data)[0]
    struct.pack_into("<H", data, rec + 8, struct.unpack_from("<H", data, rec + 8)[0] | 0x2000)
    write("zip/unusual-flags.zip", data, "suspicious", ["zip/unusual-flags", "zip/header-mismatch"])

    # CRC mismatch (declared in both headers, data unchanged).
    data = make_zip(TEXT, compression=zipfile.ZIP_STORED)
    rec = central_records(data)[0]
    struct.pack_into("<I", data, rec + 16, 0xDEADBEEF)
    struct.pack_into("<I", data, 14, 0xDEADBEEF)
    write("zip/crc-mismatch.zip", data, "suspicious", ["zip/crc-mismatch"])

    # Data before the archive (zipfile reads it; PyTorch does not treat it as a zip).
    write("zip/prepended.zip", bytes(64) + make_zip(TEXT), "suspicious", ["zip/prepended-data"])
    # Data after the end record.
    write("zip/trailing.zip", make_zip(TEXT) + b"TRAILING BYTES AFTER THE ARCHIVE", "suspicious", ["zip/trailing-data"])

    # A second end record hidden in the comment.
    data = make_zip(TEXT)
    eocd = bytes(data[data.rfind(b"PK\x05\x06") :])
    data[-2:] = struct.pack("<H", len(eocd))
    data += eocd
    write("zip/multiple-eocd.zip", data, "suspicious", ["zip/multiple-eocd"])

    # End record declares more entries than the directory holds (miniz refuses, zipfile reads).
    data = make_zip(TEXT)
    e = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, e + 8, 5, 5)
    write("zip/count-mismatch.zip", data, "suspicious", ["zip/inconsistent-directory"])
    # Central directory declared longer than the file holds.
    data = make_zip(TEXT)
    e = data.rfind(b"PK\x05\x06")
    struct.pack_into("<I", data, e + 12, struct.unpack_from("<I", data, e + 12)[0] + 1000)
    write("zip/truncated-directory.zip", data, "invalid", ["zip/malformed"])

    # A local entry the central directory does not list (its record removed): PyTorch and zipfile
    # never see it, streaming extractors (Java ZipInputStream) extract it first.
    data = make_zip([("hidden/../../payload.txt", b"streaming readers see me\n")] + TEXT)
    recs = central_records(data)
    first_len = recs[1] - recs[0]
    e = data.rfind(b"PK\x05\x06")
    count, cd_size, cd_off = struct.unpack_from("<HII", data, e + 10)
    del data[recs[0] : recs[1]]
    e -= first_len
    struct.pack_into("<HHII", data, e + 8, count - 1, count - 1, cd_size - first_len, cd_off)
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).namelist() == [n for n, _ in TEXT]
    write("zip/local-only-entry.zip", data, "malicious", ["zip/local-only-entry", "zip/prepended-data",
                                                          "container/path-traversal"])

    # Member names that escape the extraction directory.
    write("zip/traversal.zip", make_zip([("../../evil.txt", b"x\n")]), "malicious", ["container/path-traversal"])
    write("zip/absolute.zip", make_zip([(zipfile.ZipInfo("/etc/cron.d/job"), b"x\n")]), "malicious",
          ["container/path-traversal"])

    # Unix symlink member.
    info = zipfile.ZipInfo("link")
    info.create_system = 3
    info.external_attr = (0o120777 << 16)
    write("zip/symlink.zip", make_zip([(info, b"/etc/passwd")]), "suspicious", ["container/link-member"])

    # Compression methods PyTorch cannot read and Python's zipfile can (modelgate decodes them).
    write("zip/bzip2-method.zip", make_zip(TEXT, compression=zipfile.ZIP_BZIP2), "clean")
    write("zip/lzma-method.zip", make_zip(TEXT, compression=zipfile.ZIP_LZMA), "clean")

    # Deflate bomb: 64 MiB of zeros in ~64 KiB.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("zeros.bin", "w") as f:
            chunk = bytes(1 << 20)
            for _ in range(64):
                f.write(chunk)
    write("zip/bomb.zip", buf.getvalue(), "malicious", ["container/decompression-bomb"])

    # numpy.savez: an .npz (every member .npy). Its members need the NumPy analyzer, which is not
    # on this branch: until then they are format/unsupported (invalid).
    import numpy

    buf = io.BytesIO()
    numpy.savez(buf, weights=numpy.arange(6, dtype=numpy.float32).reshape(2, 3), bias=numpy.zeros(3))
    write("zip/arrays.npz", buf.getvalue(), "clean")


def torch_samples():
    import torch

    state = {"weight": torch.arange(4, dtype=torch.float32), "bias": torch.zeros(2)}
    buf = io.BytesIO()
    torch.save(state, buf, _use_new_zipfile_serialization=True)
    base = bytearray(buf.getvalue())

    def check_loads(data):
        loaded = torch.load(io.BytesIO(bytes(data)))
        assert torch.equal(loaded["weight"], state["weight"]), "torch no longer loads the tampered file"

    # data.pkl is analysed by the pickle analyzer: clean here, suspicious where the zip is tampered.
    write("torch/state-dict.pt", base, PICKLE_VERDICT, absent=["zip/name-mismatch", "zip/crc-mismatch"])

    # Rename data.pkl in the local header only: zipfile refuses, torch loads.
    data = bytearray(base)
    i = data.find(b"/data.pkl")
    data[i : i + 9] = b"/datap.kl"
    check_loads(data)
    try:
        zipfile.ZipFile(io.BytesIO(bytes(data))).read(zipfile.ZipFile(io.BytesIO(bytes(data))).namelist()[0])
        raise AssertionError("zipfile was expected to refuse the mismatched name")
    except zipfile.BadZipFile:
        pass
    write("torch/local-name-mismatch.pt", data, TAMPERED_VERDICT, ["zip/name-mismatch"])

    # Wrong CRC on data.pkl: zipfile raises on read, torch (CRC checks compiled out) loads.
    data = bytearray(base)
    rec = next(r for r in central_records(data) if data[r + 46 : r + 46 + 64].split(b"/")[1].startswith(b"data.pkl"))
    local = struct.unpack_from("<I", data, rec + 42)[0]
    struct.pack_into("<I", data, rec + 16, struct.unpack_from("<I", data, rec + 16)[0] ^ 0xFF)
    struct.pack_into("<I", data, local + 14, struct.unpack_from("<I", data, local + 14)[0] ^ 0xFF)
    check_loads(data)
    write("torch/crc-mismatch.pt", data, TAMPERED_VERDICT, ["zip/crc-mismatch"])

    # TorchScript archive (code/ and constants.pkl next to data.pkl).
    scripted = torch.jit.script(torch.nn.Linear(2, 2))
    buf = io.BytesIO()
    torch.jit.save(scripted, buf)
    write("torch/scripted.pt", buf.getvalue(), PICKLE_VERDICT)

    # Encryption bit set only in the local header: miniz ignores local flags.
    data = bytearray(base)
    struct.pack_into("<H", data, 6, struct.unpack_from("<H", data, 6)[0] | 1)
    check_loads(data)
    write("torch/local-flags.pt", data, TAMPERED_VERDICT, ["zip/header-mismatch"])


def tar_bytes(add, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        add(t)
    return bytearray(buf.getvalue())


def add_file(t, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_700_000_000
    t.addfile(info, io.BytesIO(data))


def add_special(t, name, kind, **kw):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mtime = 1_700_000_000
    for k, v in kw.items():
        setattr(info, k, v)
    t.addfile(info)


def tars():
    def benign(t):
        for name, data in TEXT:
            add_file(t, name, data)

    write("tar/benign.tar", tar_bytes(benign), "clean")
    long = "deep/" + "x" * 120 + "/readme.txt"
    write("tar/pax-long-name.tar", tar_bytes(lambda t: add_file(t, long, b"long\n")), "clean")
    write("tar/gnu-long-name.tar", tar_bytes(lambda t: add_file(t, long, b"long\n"), tarfile.GNU_FORMAT), "clean")
    write("tar/traversal.tar", tar_bytes(lambda t: add_file(t, "../../evil.txt", b"x\n")), "malicious",
          ["container/path-traversal"])
    # an absolute link target: extractall would create a link out of the extraction folder
    write("tar/symlink.tar", tar_bytes(lambda t: add_special(t, "link", tarfile.SYMTYPE, linkname="/etc/passwd")),
          "malicious", ["container/link-member", "container/path-traversal"])
    write("tar/hardlink.tar", tar_bytes(lambda t: (benign(t), add_special(t, "hl", tarfile.LNKTYPE,
                                                                            linkname="config.json"))),
          "suspicious", ["container/link-member"])
    write("tar/fifo.tar", tar_bytes(lambda t: add_special(t, "pipe", tarfile.FIFOTYPE)), "suspicious",
          ["tar/special-member"])
    write("tar/device.tar", tar_bytes(lambda t: add_special(t, "dev", tarfile.CHRTYPE, devmajor=1, devminor=3)),
          "suspicious", ["tar/special-member"])
    dup = "notes/dup.txt"
    write("tar/duplicate.tar", tar_bytes(lambda t: (add_file(t, dup, b"1\n"), add_file(t, dup, b"2\n"))),
          "suspicious", ["tar/duplicate-name"])
    data = tar_bytes(benign, tarfile.USTAR_FORMAT)
    second = 512 + ((len(TEXT[0][1]) + 511) // 512) * 512
    data[second] ^= 0x20  # change the second member's name, keep its checksum
    write("tar/checksum-mismatch.tar", data, "suspicious", ["tar/checksum-mismatch"])
    # pax size record disagreeing with the ustar size: readers that honour pax and readers that
    # do not see different member data.
    def pax_size(t):
        info = tarfile.TarInfo("notes/readme.txt")
        info.size = 64
        info.mtime = 1_700_000_000
        info.pax_headers = {"size": "8"}
        t.addfile(info, io.BytesIO(b"8 bytes!" + b"y" * 56))

    write("tar/pax-size-mismatch.tar", tar_bytes(pax_size), "suspicious", ["tar/header-anomaly"])
    write("tar/trailing.tar", tar_bytes(benign) + b"hidden bytes after the end of the archive\n", "suspicious",
          ["tar/trailing-data"])


def compressed():
    text = b"plain text inside a compressed stream\n" * 50
    write("compressed/text.txt.gz", gzip.compress(text, mtime=0), "clean")
    write("compressed/multi-member.txt.gz", gzip.compress(text, mtime=0) + gzip.compress(text, mtime=0), "clean")
    write("compressed/trailing.txt.gz", gzip.compress(text, mtime=0) + b"data after the gzip stream", "suspicious",
          ["format/polyglot"])
    bad = bytearray(gzip.compress(text, mtime=0))
    bad[20:28] = b"\xff" * 8
    write("compressed/corrupt.txt.gz", bad, "invalid", ["container/malformed-stream"])
    write("compressed/bomb.bin.gz", gzip.compress(bytes(64 << 20), compresslevel=9, mtime=0), "malicious",
          ["container/decompression-bomb"])
    write("compressed/text.txt.zlib", zlib.compress(text), "clean")
    write("compressed/text.txt.bz2", bz2.compress(text), "clean")
    write("compressed/multi-stream.txt.bz2", bz2.compress(text) + bz2.compress(text), "clean")
    bad = bytearray(bz2.compress(text))
    bad[-12] ^= 0x55  # inside the last block: its CRC no longer matches
    write("compressed/corrupt.txt.bz2", bad, "invalid", ["container/malformed-stream"])
    write("compressed/bomb.bin.bz2", bz2.compress(bytes(64 << 20)), "malicious", ["container/decompression-bomb"])
    write("compressed/text.txt.xz", lzma.compress(text), "clean")
    write("compressed/multi-stream.txt.xz", lzma.compress(text) + lzma.compress(text), "clean")
    bad = bytearray(lzma.compress(text))
    bad[40:60] = b"\xff" * 20
    write("compressed/corrupt.txt.xz", bad, "invalid", ["container/malformed-stream"])
    write("compressed/bomb.bin.xz", lzma.compress(bytes(128 << 20)), "malicious", ["container/decompression-bomb"])
    write("compressed/text.txt.lzma", lzma.compress(text, format=lzma.FORMAT_ALONE), "clean")
    bad = bytearray(lzma.compress(text, format=lzma.FORMAT_ALONE))
    bad[-20:-10] = bytes(10)
    write("compressed/corrupt.txt.lzma", bad, "invalid", ["container/malformed-stream"])
    write("compressed/bomb.bin.lzma", lzma.compress(bytes(64 << 20), format=lzma.FORMAT_ALONE), "malicious",
          ["container/decompression-bomb"])
    if shutil.which("zstd"):
        zst = subprocess.run(["zstd", "-q", "-c"], input=text, stdout=subprocess.PIPE, check=True).stdout
        write("compressed/text.txt.zst", zst, "clean")

    paced_streams()

    # Nesting: a zip with a traversal name inside a tar inside gzip.
    inner = bytes(make_zip([("../escape.txt", b"x\n")]))
    tgz = gzip.compress(bytes(tar_bytes(lambda t: add_file(t, "inner.zip", inner))), mtime=0)
    write("compressed/nested.tar.gz", tgz, "malicious", ["container/path-traversal"])


def paced_streams():
    """Streams whose decoding is paced by the reader (the in-house bzip2 and LZMA decoders): many
    blocks whose output outruns their input, the same bytes as gzip for comparison, and a bzip2
    bomb whose 1.5 KB expand to 2 GiB (it must be stopped by the budgets with little memory)."""
    rng = random.Random(20261207)
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(400)]
    lines = []
    size = 0
    while size < 1_500_000:
        line = b" ".join(rng.choice(words) for _ in range(rng.randint(4, 14))) + b"\n"
        lines.append(line)
        size += len(line)
    text = b"".join(lines)
    both = text + text
    write("compressed/blocks.txt.bz2", bz2.compress(text, 1) + bz2.compress(text, 9), "clean")
    write("compressed/blocks.txt.lzma", lzma.compress(both, format=lzma.FORMAT_ALONE), "clean")
    write("compressed/blocks.txt.gz", gzip.compress(both, mtime=0), "clean")
    c = bz2.BZ2Compressor(9)
    out = [c.compress(bytes(64 << 20)) for _ in range(32)]
    out.append(c.flush())
    write("compressed/bomb-2g.bin.bz2", b"".join(out), "malicious", ["container/decompression-bomb"])


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    zips()
    torch_samples()
    tars()
    compressed()
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(EXPECTED, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
