"""TorchScript / torch.package samples for samples/torchscript-bypass (torch 1.13).

Each malicious sample's payload only writes /tmp/hts/PWNED_* (torch.save of a one-element tensor,
or open().write in a torch.package module). Run from the repository root:

    /usr/bin/python3 samples/generate/torchscript_bypass.py
"""
import io
import os
import pickle
import sys
import tempfile
import zipfile
from typing import Tuple

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "torchscript-bypass")


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
        torch.save(torch.ones(1), "/tmp/hts/PWNED_setstate")

    def forward(self, x):
        return x


class Plain(torch.nn.Module):
    def forward(self, x):
        return x + 1


def rewrite(src: bytes, edits, drop=(), method=zipfile.ZIP_STORED) -> bytes:
    """Rewrites a zip, editing members by name suffix."""
    zi = zipfile.ZipFile(io.BytesIO(src))
    out = io.BytesIO()
    zo = zipfile.ZipFile(out, "w", method)
    for info in zi.infolist():
        if any(info.filename.endswith(d) for d in drop):
            continue
        data = zi.read(info.filename)
        for suffix, fn in edits.items():
            if info.filename.endswith(suffix):
                data = fn(data)
        zo.writestr(fixed(info.filename), data, compress_type=method)
    zo.close()
    return out.getvalue()


def fixed(name: str) -> zipfile.ZipInfo:
    """A member with a fixed date, so that the samples are reproducible."""
    return zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))


def jit_bytes(module, lite=False) -> bytes:
    if lite:  # torch 1.13 saves for the lite interpreter to a path only
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "m.ptl")
            module._save_for_lite_interpreter(path)
            with open(path, "rb") as f:
                return f.read()
    buf = io.BytesIO()
    torch.jit.save(module, buf)
    return buf.getvalue()


def write(name: str, data: bytes) -> None:
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main() -> None:
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    saver = torch.jit.script(Saver())
    base = jit_bytes(saver)

    # 1. backslash-newline continuations split `torch.save` and `def __setstate__`
    def continuation(eol: bytes):
        def ed(d: bytes) -> bytes:
            d = d.replace(b"torch.save(", b"torch.\\" + eol + b"      save(")
            return d.replace(b"def __setstate__", b"def \\" + eol + b"  __setstate__")

        return ed

    write("continuation.pt", rewrite(base, {"code/__torch__.py": continuation(b"\n")}, drop=(".debug_pkl",)))
    # 2. a 1 MiB comment pushes the code past the source scanner's budget
    write(
        "past_budget.pt",
        rewrite(base, {"code/__torch__.py": lambda d: b"# " + b"A" * (1 << 20) + b"\n" + d}, drop=(".debug_pkl",), method=zipfile.ZIP_DEFLATED),
    )
    # 3. a code member that is not UTF-8
    write(
        "code_not_utf8.pt",
        rewrite(base, {"code/__torch__.py": lambda d: b"# \xff\xfe\n" + d}, drop=(".debug_pkl",)),
    )
    # clean TorchScript with CRLF line endings: still clean
    write("clean_crlf.pt", rewrite(jit_bytes(torch.jit.script(Plain())), {"code/__torch__.py": lambda d: d.replace(b"\n", b"\r\n")}))

    # 4. TorchScript Lite: the operator table in bytecode.pkl, code/ stripped of the call
    lite = jit_bytes(saver, lite=True)
    write("lite.ptl", lite)

    def strip_code(d: bytes) -> bytes:
        import re

        s = d.decode()
        s = s.replace('torch.save(torch.ones([1]), "/tmp/hts/PWNED_setstate")\n', "")
        s = re.sub(r"  def __setstate__.*?return None\n", "", s, flags=re.S)
        return s.encode()

    write("lite_stripped_code.ptl", rewrite(lite, {"code/__torch__.py": strip_code}, drop=(".debug_pkl",)))
    write("lite_clean.ptl", jit_bytes(torch.jit.script(Plain()), lite=True))
    # the flatbuffer form of a Lite module (magic PTMF): modelgate does not read it; the .ptl name's
    # claim is unmet, so it is invalid, never clean (the lite interpreter runs its aten::save)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.ptl")
        saver._save_for_lite_interpreter(path, _use_flatbuffer=True)
        with open(path, "rb") as f:
            write("lite_flatbuffer.ptl", f.read())

    # 5. torch.package: an allowlisted global whose module the archive provides
    from torch.package import PackageExporter

    buf = io.BytesIO()
    with PackageExporter(buf) as e:
        e.extern("torch.**")
        e.save_pickle("model", "model.pkl", {"w": torch.zeros(2)})
    clean_pkg = buf.getvalue()
    write("package_clean.pt", clean_pkg)
    zi = zipfile.ZipFile(io.BytesIO(clean_pkg))
    root = zi.namelist()[0].split("/")[0]
    pk = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01."
    for name, src in (
        ("package_override.pt", b"open('/tmp/hts/PWNED_pkg', 'w').write('x')\nclass OrderedDict(dict):\n    pass\n"),
        (
            "package_override_latin1.pt",
            b"# -*- coding: latin-1 -*-\n# \xff\xfe\nopen('/tmp/hts/PWNED_pkg', 'w').write('x')\n"
            b"class OrderedDict(dict):\n    pass\n",
        ),
    ):
        out = io.BytesIO()
        zo = zipfile.ZipFile(out, "w")
        for i in zi.infolist():
            if i.filename == f"{root}/model/model.pkl":
                zo.writestr(fixed(i.filename), pk)
            elif i.filename == f"{root}/.data/extern_modules":
                zo.writestr(fixed(i.filename), b"torch\n")  # collections is no longer extern
            else:
                zo.writestr(fixed(i.filename), zi.read(i.filename))
        zo.writestr(fixed(f"{root}/collections/__init__.py"), src)
        zo.close()
        write(name, out.getvalue())


if __name__ == "__main__":
    main()
