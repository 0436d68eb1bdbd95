#!/usr/bin/python3
"""Writes samples/torchserve-bypass/: TorchServe model archives whose manifest Python's `json`
reads (so TorchServe imports the handler it names) but modelgate once could not judge or match,
each proven here by an emulated TorchServe load.

torch-model-archiver is not packaged in Debian: the archives are written with zipfile / tarfile in
the archiver's layouts (a zip `.mar`; `--archive-format tgz`, files under `<model>/`;
`--archive-format no-archive`, the model folder itself) with its manifest keys, around the real
torch.jit.save'd model.pt of samples/torchserve/benign/tiny_classifier.mar (run archives15.py first).

Attacks (each ships handler code that TorchServe imports on load):
- deep-manifest.mar: the manifest holds an array nested 600 deep (Python reads up to about 1000;
  modelgate's parser stops at 512), beside `model.handler: handler.py`.
- deep-70-manifest.mar, long-string-manifest.mar, many-values-manifest.mar: a manifest nested 70
  deep, holding a 100 KiB string, or 150,000 values (past modelgate's former 64 / 64 KiB / 100,000).
- oversized-manifest.mar: a manifest padded with whitespace past 2 MiB (Python reads any size).
- deep-manifest.tar.gz: the 600-deep manifest in the archiver's tgz form.
- noarchive-deep/: the same as a no-archive model folder.
- dash-handler.mar: `handler: my-handler.py` with a member `my-handler.py`: importlib imports a
  module whose name is not an identifier.
- namespace-handler.mar: `handler: pkg.mod:handle` with `pkg/mod.py` (no `__init__.py`: a
  namespace package).

Benign controls (no code in the archive, a built-in handler):
- benign-long-string.mar: a 100 KiB string in the manifest: clean, as Python reads it.
- benign-deep-manifest.mar: a manifest nested 600 deep: `invalid` (not judged), never malicious.

The emulated load follows TorchServe's ts/model_loader.py: extract the archive, `json.load` the
manifest, derive the module from `model.handler` (strip `:function`, `.py`, folders), put the model
directory first on sys.path and `importlib.import_module` it. The payload is harmless: importing the
handler creates `torchserve-bypass.marker` in the current directory of a subprocess run in a fresh
temporary directory; every attack must leave it, no control may. Run from the repository root with
/usr/bin/python3.
"""
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

OUT = os.path.join("samples", "torchserve-bypass")
AREA = "torchserve-bypass"
MARKER = "torchserve-bypass.marker"
DATE = (2024, 1, 1, 0, 0, 0)
MTIME = 1704067200
HANDLER = b'''"""Custom TorchServe handler (sample: leaves a marker file when TorchServe imports it)."""
open("torchserve-bypass.marker", "w").close()


class Handler:
    def initialize(self, context):
        pass
'''
expected = {}


def expect(name, verdict, rules=(), absent=()):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    expected[f"{AREA}/{name}"] = entry


def real_model():
    """The real torch.jit.save'd module of samples/torchserve/benign/tiny_classifier.mar (archives15.py)."""
    with zipfile.ZipFile(os.path.join("samples", "torchserve", "benign", "tiny_classifier.mar")) as z:
        return z.read("model.pt")


def model(handler, **extra):
    return {"modelName": "m", "serializedFile": "model.pt", "handler": handler, "modelVersion": "1.0", **extra}


def manifest(handler, before="", after="", **extra):
    """The archiver's manifest; `before` is raw JSON text put first in the root object (a deep or
    large value), `after` raw text after it (whitespace)."""
    body = json.dumps({"createdOn": "01/01/2024 00:00:00", "runtime": "python", "model": model(handler, **extra),
                       "archiverVersion": "0.12.0"})
    if before:
        body = "{" + before + ", " + body[1:]
    return (body + after).encode()


def nested(depth):
    return '"extra": ' + "[" * depth + "]" * depth


def write_mar(name, files, manifest_bytes):
    with zipfile.ZipFile(os.path.join(OUT, name), "w") as z:
        for member, data in [*files, ("MAR-INF/MANIFEST.json", manifest_bytes)]:
            info = zipfile.ZipInfo(member, DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)


def write_tgz(name, model_name, files, manifest_bytes):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for member, data in [*files, ("MAR-INF/MANIFEST.json", manifest_bytes)]:
            info = tarfile.TarInfo(f"{model_name}/{member}")
            info.size = len(data)
            info.mtime = MTIME
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
    with open(os.path.join(OUT, name), "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=MTIME, filename="") as g:
        g.write(raw.getvalue())


def write_dir(name, files, manifest_bytes):
    path = os.path.join(OUT, name)
    shutil.rmtree(path, ignore_errors=True)
    for member, data in [*files, ("MAR-INF/MANIFEST.json", manifest_bytes)]:
        target = os.path.join(path, member)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(data)


# TorchServe's load, emulated (ts/model_loader.py: _load_handler_file and the import it does).
LOADER = r'''
import importlib, json, os, sys, tarfile, zipfile, shutil
src, work = sys.argv[1], sys.argv[2]
if os.path.isdir(src):
    model_dir = os.path.join(work, "model")
    shutil.copytree(src, model_dir)
elif src.endswith(".tar.gz"):
    with tarfile.open(src) as t:
        t.extractall(work)
    model_dir = os.path.join(work, [n for n in os.listdir(work) if os.path.isdir(os.path.join(work, n))][0])
else:
    model_dir = os.path.join(work, "model")
    zipfile.ZipFile(src).extractall(model_dir)
with open(os.path.join(model_dir, "MAR-INF", "MANIFEST.json")) as f:
    manifest = json.load(f)
handler = manifest["model"]["handler"]
module_name = handler.split(":", 1)[0]
if module_name.endswith(".py"):
    module_name = module_name[:-3]
module_name = module_name.split("/")[-1]
sys.path.insert(0, model_dir)
try:
    importlib.import_module(module_name)
except ImportError:
    try:
        importlib.import_module("ts.torch_handler." + module_name)
    except ImportError:
        pass  # no TorchServe installed here: the built-in handler is not what is proven
print("handler", handler)
'''


def loads_handler(name):
    """Runs the emulated load on a sample in a fresh directory; True when the marker appeared."""
    with tempfile.TemporaryDirectory(prefix="torchserve-bypass-") as tmp:
        work = os.path.join(tmp, "extract")
        os.makedirs(work)
        done = subprocess.run([sys.executable, "-c", LOADER, os.path.abspath(os.path.join(OUT, name)), work],
                              cwd=tmp, capture_output=True, timeout=120)
        if done.returncode != 0:
            raise SystemExit(f"{name}: the emulated load failed: {done.stderr.decode()[-400:]}")
        return os.path.exists(os.path.join(tmp, MARKER))


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    pt = real_model()
    code = [("model.pt", pt), ("handler.py", HANDLER)]
    attacks = {
        "deep-manifest.mar": manifest("handler.py", before=nested(600)),
        "deep-70-manifest.mar": manifest("handler.py", before=nested(70)),
        "long-string-manifest.mar": manifest("handler.py", pad="x" * (100 << 10)),
        "many-values-manifest.mar": manifest("handler.py", pad=[0] * 150_000),
        "oversized-manifest.mar": manifest("handler.py", after=" " * ((2 << 20) + 1024)),
    }
    for name, data in attacks.items():
        write_mar(name, code, data)
    write_tgz("deep-manifest.tar.gz", "deep", code, attacks["deep-manifest.mar"])
    write_dir("noarchive-deep", code, attacks["deep-manifest.mar"])
    write_mar("dash-handler.mar", [("model.pt", pt), ("my-handler.py", HANDLER)],
              manifest("my-handler.py"))
    write_mar("namespace-handler.mar", [("model.pt", pt), ("pkg/mod.py", HANDLER)],
              manifest("pkg.mod:handle"))
    for name in [*attacks, "deep-manifest.tar.gz", "noarchive-deep", "dash-handler.mar", "namespace-handler.mar"]:
        if not loads_handler(name):
            raise SystemExit(f"{name}: the emulated TorchServe load did not import the handler")
        expect(name, "malicious", ["torchserve/custom-handler"])

    write_mar("benign-long-string.mar", [("model.pt", pt)],
              manifest("image_classifier", pad="x" * (100 << 10)))
    expect("benign-long-string.mar", "clean", ["torchserve/builtin-handler"], ["torchserve/malformed"])
    write_mar("benign-deep-manifest.mar", [("model.pt", pt)],
              manifest("image_classifier", before=nested(600)))
    expect("benign-deep-manifest.mar", "invalid", ["torchserve/malformed"], ["torchserve/custom-handler"])
    for name in ["benign-long-string.mar", "benign-deep-manifest.mar"]:
        if loads_handler(name):
            raise SystemExit(f"{name}: a control imported archive code")

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {len(expected)} samples to {OUT}")


if __name__ == "__main__":
    main()
