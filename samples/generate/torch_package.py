#!/usr/bin/python3
"""Writes samples/torch-package/: torch.package archives made by torch's own PackageExporter.

- linear.pt: an nn.Linear saved with torch extern (nothing interned): a clean archive.
- state_dict.pt: a state dict (tensors and an OrderedDict) saved the same way.
- interned_module.pt: a model whose class lives in a module the archive ships (`netlib/net.py`,
  interned): PackageImporter imports that code from the archive on load_pickle.
- reduce_package.pt: an object whose `__reduce_package__` names a function of an interned module;
  PackageImporter's persistent_load calls it with the importer on load_pickle, and it runs a
  command (`echo modelgate-torch-package-sample`).

The script loads each archive with PackageImporter to prove what it does. Run from the repository
root with /usr/bin/python3 (Debian's python3-torch).
"""
import json
import os
import subprocess
import sys
import tempfile

import torch
from torch.package import PackageExporter, PackageImporter

OUT = os.path.join("samples", "torch-package")
os.makedirs(OUT, exist_ok=True)
expected = {}

NET = '''import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x).relu()
'''

HOOK = '''import os


def rebuild(importer, value):
    os.system("echo modelgate-torch-package-sample")
    return value


class Hooked:
    def __init__(self, value):
        self.value = value

    def __reduce_package__(self, exporter):
        return (rebuild, (self.value,))
'''


def export(name, obj, intern=(), modules=None):
    path = os.path.join(OUT, name)
    with PackageExporter(path) as e:
        e.extern("torch.**")
        for pattern in intern:
            e.intern(pattern)
        e.save_pickle("model", "model.pkl", obj)
    return path


def check_runs(path, marker):
    """Loads the archive in a fresh interpreter and returns its output."""
    code = f"from torch.package import PackageImporter; PackageImporter({path!r}).load_pickle('model', 'model.pkl')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert (marker in out), out
    return out


torch.manual_seed(0)
export("linear.pt", torch.nn.Linear(3, 2))
assert isinstance(PackageImporter(os.path.join(OUT, "linear.pt")).load_pickle("model", "model.pkl"), torch.nn.Linear)
expected["torch-package/linear.pt"] = {"verdict": "clean"}

export("state_dict.pt", torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1)).state_dict())
expected["torch-package/state_dict.pt"] = {"verdict": "clean"}

with tempfile.TemporaryDirectory() as tmp:
    os.makedirs(os.path.join(tmp, "netlib"))
    with open(os.path.join(tmp, "netlib", "__init__.py"), "w") as f:
        f.write("")
    with open(os.path.join(tmp, "netlib", "net.py"), "w") as f:
        f.write(NET)
    with open(os.path.join(tmp, "hooklib.py"), "w") as f:
        f.write(HOOK)
    sys.path.insert(0, tmp)
    import hooklib
    from netlib.net import Net

    export("interned_module.pt", Net(), intern=["netlib.**"])
    expected["torch-package/interned_module.pt"] = {"verdict": "suspicious", "rules": ["repo/python-file"]}

    path = export("reduce_package.pt", {"w": hooklib.Hooked(torch.zeros(2))}, intern=["hooklib"])
    expected["torch-package/reduce_package.pt"] = {"verdict": "malicious", "rules": ["repo/risky-code"], "callee": "hooklib.rebuild"}
sys.path.pop(0)
print(check_runs(path, "modelgate-torch-package-sample").strip())

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")
