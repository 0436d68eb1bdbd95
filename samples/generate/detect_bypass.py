#!/usr/bin/python3
"""Writes samples/detect-bypass/: files whose loader reads them whatever their name or exact byte
layout, but which content detectors requiring a fixed layout once left as `format/unknown` (low,
passing `--fail-on medium`), with benign controls.

msgpack-numpy (written with Debian's python3-msgpack and python3-msgpack-numpy; loaded with
`msgpack.unpackb(data, object_hook=msgpack_numpy.decode)`, which unpickles the data of any map with
`nd` True and kind `O`, at any depth, whatever the file is called):
- msgpack-numpy/object-array.bin, .mpk: a nested state dict holding an object array.
- msgpack-numpy/in-list.bin: the object array inside a top-level list.
- msgpack-numpy/str-keys.bin: the object array with str keys (decoded as bytes with raw=True).
- msgpack-numpy/behind-blob.bin: the object array after a 66 KB binary value (past the sniffed head).
- msgpack-numpy/break-after.bin: the object array, then the reserved byte 0xc1: unpackb unpickles
  the array (object_hook runs as each map completes) before it raises on the byte.
- msgpack-numpy/float-array.bin: a float32 array (must stay clean).

TensorRT (struct-built: TensorRT is not installed; the layout is Ultralytics' export: a 4-byte
little-endian length, JSON metadata, then the engine, read back with `int.from_bytes(f.read(4))`,
`json.loads` and `deserialize_cuda_engine(f.read())`); each engine embeds an ELF image:
- tensorrt/big-metadata.engine: 68 KB of metadata, so the tag lies past the head and the tail.
- tensorrt/spaced-metadata.engine: the JSON object with a leading space and a trailing newline.
- tensorrt/metadata-without-engine.bin: Ultralytics-style metadata with no engine after it (low).

Executables (struct-built: no Mach-O or PE toolchain here):
- executable/universal.dylib, universal64.so: Mach-O universal binaries (0xcafebabe, 0xcafebabf).
- executable/far-pe-tail.dll: a PE whose e_lfanew (128 KiB) points into the sniffed tail.
- executable/far-pe-middle.dll: a PE whose e_lfanew (64 KiB) lies between the head and the tail.
- executable/Hello.class: a Java class file compiled by javac (same magic; must not be an executable).

Torch7 (struct-built with torch.File's binary layout: no Lua Torch here; `torch.load` ignores the
extension and reads any root object):
- torch7/table-function.net, .model: a root table holding a serialized function (Lua source).
- torch7/function-root.bin: a serialized function as the root object.
- torch7/function-behind-string.model: the function after a 66 KB string value.
- torch7/tensor-table.net: a table holding a FloatTensor (must stay clean).
- torch7/int32-array.bin: a raw int32 array opening like a table (numpy tofile; not Torch7).

Scripts (cmd.exe, PowerShell and the Windows Script Host run them by name):
- scripts/run.bat, setup.cmd, install.ps1 (UTF-16 with a BOM, as PowerShell writes), x.vbs,
  json-first.sh (a shell script whose first line is JSON): each is a script (`repo/shell-script`).
- scripts/app.js: a web asset (must stay clean: .js is not treated as a script).

Payloads are harmless (`echo modelgate-bypass-sample`); nothing is executed here. Run from the
repository root with /usr/bin/python3.
"""
import json
import os
import pickle
import shutil
import struct
import subprocess
import tempfile

import msgpack
import msgpack_numpy
import numpy as np

OUT = os.path.join("samples", "detect-bypass")
CMD = "echo modelgate-bypass-sample"
expected = {}


def put(path, data):
    full = os.path.join(OUT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def expect(path, verdict, rules=(), absent=()):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    expected[f"detect-bypass/{path}"] = entry


if os.path.isdir(OUT):
    shutil.rmtree(OUT)


# msgpack-numpy ---------------------------------------------------------------------------------
class Payload:
    def __reduce__(self):
        return (os.system, (CMD,))


def object_array(str_keys=False):
    """The map msgpack_numpy.encode writes for an object array, its data a pickle that runs CMD."""
    evil = {b"nd": True, b"type": "|O", b"kind": b"O", b"shape": (1,), b"data": pickle.dumps(Payload(), protocol=2)}
    return {k.decode(): v for k, v in evil.items()} if str_keys else evil


kernel = msgpack_numpy.encode(np.zeros((2, 2), "float32"))
state = msgpack.packb({"params": {"dense": {"kernel": kernel, "bias": object_array()}}}, use_bin_type=True)
for name in ["object-array.bin", "object-array.mpk"]:
    put(f"msgpack-numpy/{name}", state)
    expect(f"msgpack-numpy/{name}", "malicious", ["msgpack/object-array"], ["format/unknown"])
put("msgpack-numpy/in-list.bin", msgpack.packb([1, "x", [object_array()]], use_bin_type=True))
expect("msgpack-numpy/in-list.bin", "malicious", ["msgpack/object-array"], ["format/unknown"])
put("msgpack-numpy/str-keys.bin", msgpack.packb({"a": [object_array(str_keys=True)]}, use_bin_type=True))
expect("msgpack-numpy/str-keys.bin", "malicious", ["msgpack/object-array"], ["format/unknown"])
behind = msgpack.packb({"blob": b"\0" * 66_000, "w": object_array()}, use_bin_type=True)
put("msgpack-numpy/behind-blob.bin", behind)
expect("msgpack-numpy/behind-blob.bin", "malicious", ["msgpack/object-array"], ["format/unknown"])
broken = msgpack.packb({"w": object_array(), "z": 1}, use_bin_type=True)
assert broken.endswith(b"\x01")
put("msgpack-numpy/break-after.bin", broken[:-1] + b"\xc1")
expect("msgpack-numpy/break-after.bin", "malicious", ["msgpack/object-array", "msgpack/malformed"])
floats = msgpack.packb({"w": np.arange(16, dtype="float32").reshape(4, 4)}, default=msgpack_numpy.encode)
put("msgpack-numpy/float-array.bin", floats)
expect("msgpack-numpy/float-array.bin", "clean")
# The files load as the reviewer's proofs did (the float array decodes; nothing is unpickled here).
assert msgpack.unpackb(floats, object_hook=msgpack_numpy.decode, raw=False)["w"].shape == (4, 4)


# TensorRT --------------------------------------------------------------------------------------
ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 57


def engine(body_bytes):
    return b"ftrt" + struct.pack("<I", 0x00000234) + b"\0" * 56 + ELF + b"\0" * body_bytes


def ultralytics(meta, rest):
    return struct.pack("<I", len(meta)) + meta + rest


big = json.dumps({"names": {str(i): f"class-{i}" for i in range(3100)}, "imgsz": [640, 640]}).encode()
assert len(big) > 65_600, len(big)
put("tensorrt/big-metadata.engine", ultralytics(big, engine(66_000)))
expect("tensorrt/big-metadata.engine", "malicious", ["tensorrt/embedded-library"], ["format/unknown"])
spaced = b" " + json.dumps({"names": {"0": "a"}}).encode() + b"\n"
put("tensorrt/spaced-metadata.engine", ultralytics(spaced, engine(1_000)))
expect("tensorrt/spaced-metadata.engine", "malicious", ["tensorrt/embedded-library"], ["format/unknown"])
put("tensorrt/metadata-without-engine.bin", ultralytics(big, b"\0" * 66_000))
expect("tensorrt/metadata-without-engine.bin", "suspicious", ["tensorrt/no-engine"], ["tensorrt/opaque-engine"])


# Executables -----------------------------------------------------------------------------------
THIN = struct.pack("<IiiIIII", 0xFEEDFACF, 0x01000007, 3, 6, 0, 0, 0) + b"\0" * 4
fat = struct.pack(">II", 0xCAFEBABE, 1) + struct.pack(">iiIII", 0x01000007, 3, 0x1000, len(THIN), 12)
put("executable/universal.dylib", fat.ljust(0x1000, b"\0") + THIN)
expect("executable/universal.dylib", "malicious", ["format/executable"])
fat64 = struct.pack(">II", 0xCAFEBABF, 1) + struct.pack(">iiQQII", 0x01000007, 3, 0x1000, len(THIN), 12, 0)
put("executable/universal64.so", fat64.ljust(0x1000, b"\0") + THIN)
expect("executable/universal64.so", "malicious", ["format/executable"])


def far_pe(lfanew, size):
    image = bytearray(size)
    image[0:2] = b"MZ"
    image[0x3C:0x40] = struct.pack("<I", lfanew)
    image[lfanew : lfanew + 24] = b"PE\0\0" + struct.pack("<HHIIIHH", 0x8664, 0, 0, 0, 0, 0, 0x2022)
    return bytes(image)


put("executable/far-pe-tail.dll", far_pe(0x20000, 0x20000 + 280))
expect("executable/far-pe-tail.dll", "malicious", ["format/executable"])
put("executable/far-pe-middle.dll", far_pe(0x10000, 0x10000 + 65_600))
expect("executable/far-pe-middle.dll", "malicious", ["format/executable"])
with tempfile.TemporaryDirectory() as tmp:
    with open(os.path.join(tmp, "Hello.java"), "w") as f:
        f.write("public class Hello { public static void main(String[] a) { System.out.println(1); } }\n")
    subprocess.run(["javac", "-d", tmp, os.path.join(tmp, "Hello.java")], check=True)
    with open(os.path.join(tmp, "Hello.class"), "rb") as f:
        put("executable/Hello.class", f.read())
expect("executable/Hello.class", "suspicious", ["format/unknown"], ["format/executable"])


# Torch7 ----------------------------------------------------------------------------------------
class T7:
    """torch.File's binary writer (File.lua writeObject): int32 tags, reference ids, strings."""

    def __init__(self):
        self.parts = []
        self.next_id = 0

    def i32(self, v):
        self.parts.append(struct.pack("<i", v))
        return self

    def i64(self, v):
        self.parts.append(struct.pack("<q", v))
        return self

    def raw(self, b):
        self.parts.append(b)
        return self

    def chars(self, s):
        b = s.encode("latin1") if isinstance(s, str) else s
        return self.i32(len(b)).raw(b)

    def string(self, s):
        return self.i32(2).chars(s)

    def table(self, n):
        self.next_id += 1
        return self.i32(3).i32(self.next_id).i32(n)

    def torch(self, cls):
        self.next_id += 1
        return self.i32(4).i32(self.next_id).chars("V 1").chars(cls)

    def function(self, source):
        self.i32(6).chars(source)
        return self.table(0)  # upvalues

    def bytes(self):
        return b"".join(self.parts)


LUA = f'os.execute("{CMD}")'
t = T7().table(1).string("forward").function(LUA)
for name in ["table-function.net", "table-function.model"]:
    put(f"torch7/{name}", t.bytes())
    expect(f"torch7/{name}", "malicious", ["torch7/serialized-function"], ["format/unknown"])
put("torch7/function-root.bin", T7().function(LUA).bytes())
expect("torch7/function-root.bin", "malicious", ["torch7/serialized-function"], ["format/unknown"])
put("torch7/function-behind-string.model", T7().table(2).string("blob").string("x" * 66_000).string("forward").function(LUA).bytes())
expect("torch7/function-behind-string.model", "malicious", ["torch7/serialized-function"], ["format/unknown"])
w = T7().table(1).string("weight").torch("torch.FloatTensor").i32(1).i64(4).i64(1).i64(1)
w.torch("torch.FloatStorage").i64(4).raw(np.arange(4, dtype="<f4").tobytes())
put("torch7/tensor-table.net", w.bytes())
expect("torch7/tensor-table.net", "clean")
labels = np.array([3, 1, 2, 0, 5, 1, 2, 3, 0, 1, 4, 2] * 40, dtype="<i4")
with tempfile.TemporaryDirectory() as tmp:
    labels.tofile(os.path.join(tmp, "a.bin"))
    with open(os.path.join(tmp, "a.bin"), "rb") as f:
        put("torch7/int32-array.bin", f.read())
expect("torch7/int32-array.bin", "suspicious", ["format/unknown"])


# Scripts ---------------------------------------------------------------------------------------
put("scripts/run.bat", f"@echo off\r\n{CMD}\r\n")
expect("scripts/run.bat", "suspicious", ["repo/shell-script"])
put("scripts/setup.cmd", f"{CMD}\r\n")
expect("scripts/setup.cmd", "suspicious", ["repo/shell-script"])
put("scripts/install.ps1", "\ufeff".encode("utf-16-le") + f"Write-Output modelgate-bypass-sample\r\n".encode("utf-16-le"))
expect("scripts/install.ps1", "suspicious", ["repo/shell-script"])
put("scripts/x.vbs", 'CreateObject("WScript.Shell").Run "cmd /c echo modelgate-bypass-sample"\r\n')
expect("scripts/x.vbs", "malicious", ["repo/shell-script", "repo/risky-code"])
put("scripts/json-first.sh", '{"a": 1}\n' + CMD + "\n")
expect("scripts/json-first.sh", "suspicious", ["repo/shell-script"])
put("scripts/app.js", "export function greet(name) {\n  return `hello ${name}`;\n}\n")
expect("scripts/app.js", "clean")

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
