#!/usr/bin/python3
"""Writes samples/zip-flavours/: torch.package archives (torch's own PackageExporter) that also
hold a root `data.pkl`, so they are torch.save zips too (`torch.load` returns that pickle) and
modelgate's primary zip flavour is pytorch-zip. To torch.load, `<root>/data/<key>` is a tensor
storage; to PackageImporter it is a resource or module it unpickles or imports. modelgate once took
the primary flavour's word and only sniffed those members as opaque storages:

- pkg-data-resource.pt: the resource `data/model.pkl` is an os.system pickle (save_pickle);
  `PackageImporter(f).load_pickle("data", "model.pkl")` runs it (modelgate said `clean`).
- pkg-data-loadbytes.pt: the resource `data/model.pkl` hands a torch.save zip (holding the
  os.system pickle) to torch.storage._load_from_bytes; load_pickle runs it (modelgate: `clean`,
  an opaque member's nested payload was not followed).
- pkg-data-module.pt: the package module `data` (`data/__init__.py`) runs os.system on import, and
  `model/model.pkl` instantiates `data.Net`; load_pickle("model", "model.pkl") imports it.
- pkg-data-miniz.pt: the os.system resource deflated as only miniz (PyTorch's zip reader) decodes
  it (288 literal/length codes): opaque members never got the miniz fallback (verdict `invalid`).
  The archive is rewritten with zip_decoders.zip_of (PackageExporter does not deflate).
- pkg-data-benign.pt: the same layout with a benign resource under data/ and a benign module
  pickle (must stay clean).
- pkg-storages-root-datapkl.pt: a state_dict's torch.package (storages under `.data/`) with a root
  data.pkl: torch.load never opens `.data/<key>.storage`, so those stay opaque storages
  (no format/unknown). Its persistent ids are torch.package's (int storage keys), which
  PackageImporter reads, and torch.load too (`f"data/{key}"`): verdict clean, no
  pickle/persistent-id.

The root `data.pkl` is written with the exporter's own PyTorchFileWriter (`zip_file.write_record`),
as `<root>/data.pkl`. Every payload is harmless (`echo modelgate-zip-flavours-sample`); each
malicious archive is loaded here with PackageImporter in a child interpreter and must print it.
Run from the repository root with /usr/bin/python3.
"""
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
import zlib

import torch
from torch.package import PackageExporter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zip_decoders import FIXED, Bits, dynamic_block, stored_block, zip_of  # noqa: E402

OUT = os.path.join("samples", "zip-flavours")
MARKER = "modelgate-zip-flavours-sample"
os.makedirs(OUT, exist_ok=True)
expected = {}


class Payload:
    def __reduce__(self):
        return (os.system, (f"echo {MARKER}",))


ROOT_PICKLE = pickle.dumps({"note": "torch.load reads this"}, protocol=2)
MODULE = f"""import os

os.system("echo {MARKER}")


class Net:
    pass
"""


def export(name, build):
    path = os.path.join(OUT, name)
    with PackageExporter(path) as e:
        e.extern(["torch.**", "posix"], allow_empty=True)
        build(e)
        e.zip_file.write_record("data.pkl", ROOT_PICKLE, len(ROOT_PICKLE))
    # torch.load takes it as a torch.save archive: the root pickle
    assert torch.load(path) == pickle.loads(ROOT_PICKLE), path
    return path


def name_of(path):
    """The archive root PackageExporter gives a file: its base name without the extension."""
    return os.path.splitext(os.path.basename(path))[0]


def loads(path, package, resource):
    """Loads a pickle with PackageImporter in a fresh interpreter; returns what it printed."""
    code = f"from torch.package import PackageImporter; PackageImporter({path!r}).load_pickle({package!r}, {resource!r})"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return run.stdout + run.stderr


def put(name, verdict, rules=(), absent=()):
    want = {"verdict": verdict}
    if rules:
        want["rules"] = list(rules)
    if absent:
        want["absentRules"] = list(absent)
    expected[f"zip-flavours/{name}"] = want


path = export("pkg-data-resource.pt", lambda e: e.save_pickle("data", "model.pkl", Payload()))
assert MARKER in loads(path, "data", "model.pkl")
put("pkg-data-resource.pt", "malicious", ["pickle/dangerous-global"])


class LoadBytes:
    def __reduce__(self):
        inner = io.BytesIO()
        torch.save(Payload(), inner)
        return (torch.storage._load_from_bytes, (inner.getvalue(),))


path = export("pkg-data-loadbytes.pt", lambda e: e.save_pickle("data", "model.pkl", LoadBytes()))
assert MARKER in loads(path, "data", "model.pkl")
put("pkg-data-loadbytes.pt", "malicious", ["pickle/dangerous-global"])


def with_module(e):
    e.save_source_string("data", MODULE, is_package=True)
    e.save_binary("model", "model.pkl", b"\x80\x02cdata\nNet\n)\x81q\x00.")


path = export("pkg-data-module.pt", with_module)
assert MARKER in loads(path, "model", "model.pkl")
put("pkg-data-module.pt", "malicious", ["repo/risky-code"], ["format/extension-mismatch"])

# the resource re-deflated as only miniz decodes it; the other members stay stored
path = export("pkg-data-miniz.pt", lambda e: e.save_pickle("data", "model.pkl", Payload()))
with zipfile.ZipFile(path) as z:
    records = [(i.filename, z.read(i.filename)) for i in z.infolist()]
w = Bits()
dynamic_block(w, 0, FIXED, [5] * 28 + [4] * 2, [256])
stored_block(w, 1, dict(records)[f"{name_of(path)}/data/model.pkl"])
stream = w.done()
try:
    zlib.decompress(stream, -15)
    raise SystemExit("zlib decodes the miniz-only stream")
except zlib.error:
    pass
members = []
for name, data in records:
    packed = stream if name == f"{name_of(path)}/data/model.pkl" else data
    members.append((name, 8 if packed is stream else 0, packed, len(data), zlib.crc32(data)))
with open(path, "wb") as f:
    f.write(zip_of(members))
assert MARKER in loads(path, "data", "model.pkl")
put("pkg-data-miniz.pt", "malicious", ["zip/deflate-miniz-only", "pickle/dangerous-global"])


def benign(e):
    e.save_pickle("data", "labels.pkl", {"labels": ["cat", "dog"]})
    e.save_pickle("model", "model.pkl", {"layers": [3, 2]})


path = export("pkg-data-benign.pt", benign)
assert MARKER not in loads(path, "data", "labels.pkl")
put("pkg-data-benign.pt", "clean")

torch.manual_seed(0)
path = export(
    "pkg-storages-root-datapkl.pt",
    lambda e: e.save_pickle("model", "model.pkl", torch.nn.Linear(3, 2).state_dict()),
)
put("pkg-storages-root-datapkl.pt", "clean", [], ["format/unknown", "pickle/persistent-id"])

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")
print(f"wrote {len(expected)} samples to {OUT}")
