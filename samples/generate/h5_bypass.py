#!/usr/bin/python3
"""HDF5 structures where a reader that is not the HDF5 library would see another root group than
Keras (h5py) loads: a patched superblock base address with a decoy root object header, a decoy
compact `model_config` beside dense attribute storage, and a superblock behind a user block of
64 KiB or more (past the sniffer's head).

Built from samples/keras/lambda_os_system.h5 (a legacy Keras model whose Lambda layer runs `os.system`
with a harmless `echo`) with h5py and byte patches. Writes samples/h5-bypass/ and its
expected.json. Run with /usr/bin/python3.
"""

import json
import os
import shutil
import struct

import h5py

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "h5-bypass")
SOURCE = os.path.join(ROOT, "keras", "lambda_os_system.h5")
CLEAN = os.path.join(ROOT, "keras", "clean", "sequential_legacy.h5")
SIGNATURE = b"\x89HDF\r\n\x1a\n"
EXPECTED = {}


def expect(rel, verdict, rules=(), absent=()):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    EXPECTED[f"h5-bypass/{rel}"] = entry


def lookup3(data, initval=0):
    """Bob Jenkins' lookup3 `hashlittle`, as HDF5's H5_checksum_lookup3."""

    def rot(x, k):
        return ((x << k) | (x >> (32 - k))) & 0xFFFFFFFF

    length = len(data)
    a = b = c = (0xDEADBEEF + length + initval) & 0xFFFFFFFF
    i = 0
    word = lambda j: data[j] | (data[j + 1] << 8) | (data[j + 2] << 16) | (data[j + 3] << 24)  # noqa: E731
    while length > 12:
        a = (a + word(i)) & 0xFFFFFFFF
        b = (b + word(i + 4)) & 0xFFFFFFFF
        c = (c + word(i + 8)) & 0xFFFFFFFF
        a = (a - c) & 0xFFFFFFFF; a ^= rot(c, 4); c = (c + b) & 0xFFFFFFFF  # noqa: E702
        b = (b - a) & 0xFFFFFFFF; b ^= rot(a, 6); a = (a + c) & 0xFFFFFFFF  # noqa: E702
        c = (c - b) & 0xFFFFFFFF; c ^= rot(b, 8); b = (b + a) & 0xFFFFFFFF  # noqa: E702
        a = (a - c) & 0xFFFFFFFF; a ^= rot(c, 16); c = (c + b) & 0xFFFFFFFF  # noqa: E702
        b = (b - a) & 0xFFFFFFFF; b ^= rot(a, 19); a = (a + c) & 0xFFFFFFFF  # noqa: E702
        c = (c - b) & 0xFFFFFFFF; c ^= rot(b, 4); b = (b + a) & 0xFFFFFFFF  # noqa: E702
        length -= 12
        i += 12
    if length == 0:
        return c
    tail = bytes(data[i:]) + b"\0" * 12
    a = (a + (tail[0] | tail[1] << 8 | tail[2] << 16 | tail[3] << 24)) & 0xFFFFFFFF
    if length >= 5:
        b = (b + (tail[4] | tail[5] << 8 | tail[6] << 16 | tail[7] << 24)) & 0xFFFFFFFF
    if length >= 9:
        c = (c + (tail[8] | tail[9] << 8 | tail[10] << 16 | tail[11] << 24)) & 0xFFFFFFFF
    c ^= b; c = (c - rot(b, 14)) & 0xFFFFFFFF  # noqa: E702
    a ^= c; a = (a - rot(c, 11)) & 0xFFFFFFFF  # noqa: E702
    b ^= a; b = (b - rot(a, 25)) & 0xFFFFFFFF  # noqa: E702
    c ^= b; c = (c - rot(b, 16)) & 0xFFFFFFFF  # noqa: E702
    a ^= c; a = (a - rot(c, 4)) & 0xFFFFFFFF  # noqa: E702
    b ^= a; b = (b - rot(a, 14)) & 0xFFFFFFFF  # noqa: E702
    c ^= b; c = (c - rot(b, 24)) & 0xFFFFFFFF  # noqa: E702
    return c


def copy_h5(src, dst, **kwargs):
    """Copies a Keras .h5 (groups and root attributes) with h5py File options (libver, userblock_size)."""
    pad = kwargs.pop("pad_attributes", 0)
    with h5py.File(src, "r") as s, h5py.File(dst, "w", **kwargs) as d:
        for k in s:
            s.copy(s[k], d, name=k)
        for i in range(pad):
            d.attrs[f"pad{i:02d}"] = "x"
        for k, v in s.attrs.items():
            d.attrs[k] = v


# A version 1 object header with one NIL message: an empty root group.
DECOY_HEADER = struct.pack("<BBHII", 1, 0, 1, 1, 24) + b"\0" * 4 + struct.pack("<HHB3x", 0, 16, 0) + b"\0" * 16


def base_address(rel, source, version):
    """The stored base address moved so that base + root address lands on an appended decoy header.

    HDF5 takes the signature's location as the base (H5Fsuper.c) and adjusts the stored EOF by the
    difference, so the library still opens the real root group."""
    b = bytearray(open(source, "rb").read())
    assert b[:8] == SIGNATURE and b[8] == version
    root_at = 64 if version == 0 else 36
    root = struct.unpack_from("<Q", b, root_at)[0]
    decoy_at = (len(b) + 7) // 8 * 8
    b += b"\0" * (decoy_at - len(b)) + DECOY_HEADER
    fake_base = decoy_at - root
    if version == 0:
        struct.pack_into("<Q", b, 24, fake_base)
        struct.pack_into("<Q", b, 40, len(b) + fake_base)
    else:
        struct.pack_into("<Q", b, 12, fake_base)
        struct.pack_into("<Q", b, 28, len(b) + fake_base)
        struct.pack_into("<I", b, 44, lookup3(bytes(b[:44])))
    with open(os.path.join(OUT, rel), "wb") as f:
        f.write(b)


def root_ohdr_messages(buf):
    root = struct.unpack_from("<Q", buf, 36)[0]
    assert buf[root : root + 4] == b"OHDR"
    flags = buf[root + 5]
    p = root + 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
    width = 1 << (flags & 3)
    size = int.from_bytes(buf[p : p + width], "little")
    p += width
    end = p + size
    header = 4 + (2 if flags & 0x04 else 0)
    msgs = []
    while p + header <= end:
        msgs.append((p, buf[p], struct.unpack_from("<H", buf, p + 1)[0]))
        p += header + msgs[-1][2]
    return root, end, msgs


def dense_decoy(rel, dense):
    """The real attributes in dense storage (12 padding attributes push them there), a decoy compact
    `model_config = {}` written into the root header's NIL space: HDF5 reads dense storage only."""
    buf = bytearray(open(dense, "rb").read())
    root, end, msgs = root_ohdr_messages(buf)
    at, _, size = next(m for m in msgs if m[1] == 0)
    name, value = b"model_config\0", b"{}"
    dtype = bytes([0x13, 0x00, 0, 0]) + struct.pack("<I", len(value))
    body = struct.pack("<BBHHHB", 3, 0, len(name), len(dtype), 4, 0) + name + dtype + bytes([2, 0, 0, 0]) + value
    assert len(body) <= size
    buf[at : at + 4] = bytes([0x0C]) + struct.pack("<H", size) + bytes([0])
    buf[at + 4 : at + 4 + size] = body + b"\0" * (size - len(body))
    struct.pack_into("<I", buf, end, lookup3(bytes(buf[root:end])))
    with open(os.path.join(OUT, rel), "wb") as f:
        f.write(buf)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    tmp = os.path.join(OUT, "tmp.h5")

    base_address("base_address_v0.h5", SOURCE, 0)
    expect("base_address_v0.h5", "malicious", rules=["keras/lambda-layer", "keras/hdf5-base-address"])
    copy_h5(SOURCE, tmp, libver="latest")
    base_address("base_address_v3.h5", tmp, 3)
    expect("base_address_v3.h5", "malicious", rules=["keras/lambda-layer", "keras/hdf5-base-address"])

    copy_h5(SOURCE, tmp, libver="latest", pad_attributes=12)
    dense_decoy("dense_decoy.h5", tmp)
    expect("dense_decoy.h5", "invalid", rules=["format/unsupported"])
    os.remove(tmp)

    for ub in (65536, 1048576):
        copy_h5(SOURCE, os.path.join(OUT, f"userblock_{ub}.h5"), userblock_size=ub)
        expect(f"userblock_{ub}.h5", "malicious", rules=["keras/lambda-layer"], absent=["format/claim-unmet"])
    copy_h5(CLEAN, os.path.join(OUT, "clean_userblock_131072.h5"), userblock_size=131072)
    expect("clean_userblock_131072.h5", "clean")
    copy_h5(CLEAN, os.path.join(OUT, "clean_userblock_4096_v3.h5"), userblock_size=4096, libver="latest")
    expect("clean_userblock_4096_v3.h5", "clean")

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(EXPECTED, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
