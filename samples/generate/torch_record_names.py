"""PyTorch archives whose record names PyTorch's zip reader resolves differently from their stored
spelling, for samples/torch-record-names (torch 1.13).

PyTorchStreamReader takes the archive root from the first entry and looks records up with miniz
ignoring ASCII case, so `archive/DATA.PKL` is `data.pkl` to torch.load / torch.jit.load, and of two
names that differ only in case the loader reads one depending on the entries' order. TorchScript
mobile modules in the flatbuffer format (`PTMF`) are loaded by torch.jit.load under any name.

Each malicious sample's payload only writes /tmp/htrn/PWNED_* (torch.save of a string from a
TorchScript method, or open().write in a torch.package module). Run from the repository root:

    /usr/bin/python3 samples/generate/torch_record_names.py
"""
import io
import json
import os
import tempfile
import zipfile
from typing import Tuple

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "torch-record-names")


class Saver(torch.nn.Module):
    """__setstate__ runs while torch.jit.load / the lite interpreter read the archive."""

    def __init__(self):
        super().__init__()
        self.p = "x"

    @torch.jit.export
    def __getstate__(self) -> Tuple[str, bool]:
        return (self.p, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[str, bool]) -> None:
        self.p = state[0]
        self.training = state[1]
        torch.save("x", "/tmp/htrn/PWNED_setstate")

    def forward(self, x: int) -> int:
        return x + 1


class Plain(torch.nn.Module):
    def forward(self, x: int) -> int:
        return x + 1


def fixed(name: str) -> zipfile.ZipInfo:
    """A member with a fixed date, so that the samples are reproducible."""
    return zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))


def rebuild(src: bytes, rename=None, drop=(), add=(), before=()) -> bytes:
    """Rewrites a zip (stored): renames members by suffix, drops some, adds others (at the end, or
    `before` the rest)."""
    zi = zipfile.ZipFile(io.BytesIO(src))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zo:
        for name, data in before:
            zo.writestr(fixed(name), data)
        for info in zi.infolist():
            name = info.filename
            if any(d in name for d in drop):
                continue
            data = zi.read(name)
            for old, new in (rename or {}).items():
                if name.endswith(old):
                    name = name[: -len(old)] + new
            zo.writestr(fixed(name), data)
        for name, data in add:
            zo.writestr(fixed(name), data)
    return out.getvalue()


def zip_of(entries) -> bytes:
    """A zip (deflated, fixed dates) of `(name, data)` in the given order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zo:
        for name, data in entries:
            zo.writestr(fixed(name), data)
    return out.getvalue()


def jit_bytes(module) -> bytes:
    buf = io.BytesIO()
    torch.jit.save(module, buf)
    return buf.getvalue()


def lite_bytes(module, flatbuffer=False) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:  # torch 1.13 saves for the lite interpreter to a path only
        path = os.path.join(tmp, "m.ptl")
        module._save_for_lite_interpreter(path, _use_flatbuffer=flatbuffer)
        with open(path, "rb") as f:
            return f.read()


def save_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def write(name: str, data: bytes) -> None:
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


EXPECTED = {}


def expect(name: str, verdict: str, rules=(), absent=()) -> None:
    e = {"verdict": verdict}
    if rules:
        e["rules"] = list(rules)
    if absent:
        e["absentRules"] = list(absent)
    EXPECTED[f"torch-record-names/{name}"] = e


RECORD_RULES = ("pytorch/record-case-twin", "pytorch/record-name-case")


def main() -> None:
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    saver = torch.jit.script(Saver())
    plain = torch.jit.script(Plain())

    # benign controls, as torch writes them
    write("clean_checkpoint.pt", save_bytes({"w": torch.zeros(2)}))
    expect("clean_checkpoint.pt", "clean", absent=RECORD_RULES)
    write("clean_script.pt", jit_bytes(plain))
    expect("clean_script.pt", "clean", absent=RECORD_RULES)
    write("clean_lite.ptl", lite_bytes(plain))
    expect("clean_lite.ptl", "clean", absent=RECORD_RULES)

    # 1. lite interpreter: bytecode.pkl stored as BYTECODE.PKL and code/ removed; the lite
    #    interpreter still finds the operator table and runs __setstate__ (aten::save)
    write("lite_BYTECODE.ptl", rebuild(lite_bytes(saver), {"/bytecode.pkl": "/BYTECODE.PKL"}, drop=("/code/", ".debug_pkl")))
    expect("lite_BYTECODE.ptl", "malicious", ("pickle/torchscript-op", "pytorch/record-name-case"))

    # 2. TorchScript whose data.pkl is DATA.PKL: still a TorchScript archive to torch.jit.load
    write("script_DATA_PKL.pt", rebuild(jit_bytes(saver), {"/data.pkl": "/DATA.PKL"}, drop=(".debug_pkl",)))
    expect("script_DATA_PKL.pt", "malicious", ("pickle/torchscript-op", "pytorch/record-name-case"))

    # 3. TorchScript whose code/ folder is CODE/ (no constants.pkl spelled as torch writes it)
    write(
        "script_CODE_dir.pt",
        rebuild(jit_bytes(saver), {"/constants.pkl": "/CONSTANTS.PKL"}, drop=(".debug_pkl",)).replace(b"/code/", b"/CODE/"),
    )
    expect("script_CODE_dir.pt", "malicious", ("pickle/torchscript-op", "pytorch/record-name-case"))

    # 4. a checkpoint with two data.pkl records that differ only in case: which one torch.load
    #    unpickles depends on the number and order of the entries (in this order, DATA.PKL)
    base = zipfile.ZipFile(io.BytesIO(save_bytes({"w": torch.zeros(2)})))
    other = zipfile.ZipFile(io.BytesIO(save_bytes({"twin": torch.zeros(2)})))
    root = base.namelist()[0].split("/")[0]
    twin = other.read(f"{other.namelist()[0].split('/')[0]}/data.pkl")
    entries = [(n, base.read(n)) for n in base.namelist()]  # data.pkl, data/0, version
    entries.insert(2, (f"{root}/DATA.PKL", twin))
    write("checkpoint_case_twin.pt", zip_of(entries))
    expect("checkpoint_case_twin.pt", "malicious", ("pytorch/record-case-twin",))

    # 5. torch.package: .data/ stored as .DATA/, and the archive's collections module overrides the
    #    OrderedDict its pickle names (PackageImporter finds .DATA/extern_modules all the same)
    from torch.package import PackageExporter

    buf = io.BytesIO()
    with PackageExporter(buf) as e:
        e.extern("torch.**")
        e.save_pickle("model", "model.pkl", {"w": torch.zeros(2)})
    pkg = buf.getvalue()
    write("package_clean.pt", pkg)
    expect("package_clean.pt", "clean", absent=RECORD_RULES)
    zi = zipfile.ZipFile(io.BytesIO(pkg))
    proot = zi.namelist()[0].split("/")[0]
    override = (
        b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01.",
        b"open('/tmp/htrn/PWNED_pkg', 'w').write('x')\nclass OrderedDict(dict):\n    pass\n",
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zo:
        for i in zi.infolist():
            name = i.filename.replace(f"{proot}/.data/", f"{proot}/.DATA/")
            data = zi.read(i.filename)
            if i.filename == f"{proot}/model/model.pkl":
                data = override[0]
            elif i.filename == f"{proot}/.data/extern_modules":
                data = b"torch\n"
            zo.writestr(fixed(name), data)
        zo.writestr(fixed(f"{proot}/collections/__init__.py"), override[1])
    write("package_DATA_dir.pt", out.getvalue())
    expect("package_DATA_dir.pt", "malicious", ("pytorch/package-module-override", "pytorch/record-name-case"))

    # 6. torch.package with a module and its case twin (mymod.py, MYMOD.PY): the importer finds the
    #    module by its exact name mymod.py, then reads whichever twin miniz returns (in this order,
    #    MYMOD.PY)
    entries = []
    for i in zi.infolist():
        data = zi.read(i.filename)
        if i.filename == f"{proot}/model/model.pkl":
            data = b"\x80\x02cmymod\nC\nq\x00)\x81q\x01."
        elif i.filename == f"{proot}/.data/extern_modules":
            data = b"torch\n"
        entries.append((i.filename, data))
    entries[1:1] = [
        (f"{proot}/mymod.py", b"class C:\n    pass\n"),
        (f"{proot}/MYMOD.PY", b"open('/tmp/htrn/PWNED_twin', 'w').write('x')\nclass C:\n    pass\n"),
    ]
    write("package_module_twin.pt", zip_of(entries))
    expect("package_module_twin.pt", "malicious", ("pytorch/record-case-twin",))

    # 7. mobile flatbuffer modules (PTMF): loaded by torch.jit.load under any name
    write("mobile_setstate.ff", lite_bytes(saver, flatbuffer=True))
    expect("mobile_setstate.ff", "malicious", ("pytorch/mobile-flatbuffer", "pickle/torchscript-op"))
    write("mobile_plain.bin", lite_bytes(plain, flatbuffer=True))
    expect("mobile_plain.bin", "malicious", ("pytorch/mobile-flatbuffer",))

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(EXPECTED, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
