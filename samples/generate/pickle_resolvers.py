#!/usr/bin/python3
"""Writes samples/pickle-resolvers/: pickles that reach names through library helpers that look a
name up, through vendored copies of denied libraries, or that set attributes on a class through
torch's `_rebuild_from_type_v2` (an attack review found them reported medium or clean), and the
real files the same helpers make (must stay clean or keep their verdict).

- ufunc-reconstruct-real.pkl: numpy ufuncs as numpy before 1.20 pickled them
  (`numpy.core._ufunc_reconstruct('numpy', 'add')`, numpy's own reducer of that time registered
  with copyreg); loads with the installed numpy (clean).
- ufunc-reconstruct-os.pkl: `_ufunc_reconstruct('os', 'system')('true')` (malicious).
- ufunc-reconstruct-computed.pkl: `_ufunc_reconstruct(str.lower('OS'), 'system')`
  (a computed module name: malicious).
- import-dotted-name.pkl: torch's `_import_dotted_name('os.system')('true')` (malicious).
- vendored-cloudpickle.pkl: joblib's vendored cloudpickle `subimport('os')` (malicious).
- pandas-import-optional.pkl: pandas' `import_optional_dependency('os')` (malicious).
- class-patch.pkl: `_rebuild_from_type_v2(numpy scalar, builtins.type, (dtype('O'), Cls), ({}, state))`
  sets an attribute on torch's OneCycleLR class (checked with the installed torch: malicious).
- tensor-subclass-state.pt: torch.save of a Tensor subclass instance with an instance attribute
  (`_rebuild_from_type_v2` with a dict state on a rebuilt tensor: no monkey-patch).

Run from the repository root: /usr/bin/python3 samples/generate/pickle_resolvers.py
"""
import copyreg
import json
import os
import pickle
import struct
import sys
import types

import numpy
import torch

OUT = os.path.join("samples", "pickle-resolvers")


def s(x):
    b = x.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def g(m, n):
    return b"c" + m.encode() + b"\n" + n.encode() + b"\n"


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def real_ufuncs():
    # numpy < 1.20's reducer (numpy/core/__init__.py of that time): (_ufunc_reconstruct, (module, name))
    def old_reduce(func):
        return numpy.core._ufunc_reconstruct, ("numpy", func.__name__)

    copyreg.pickle(numpy.ufunc, old_reduce)
    try:
        data = pickle.dumps([numpy.add, numpy.multiply, numpy.sqrt], protocol=2)
    finally:
        del copyreg.dispatch_table[numpy.ufunc]
    assert b"_ufunc_reconstruct" in data
    assert pickle.loads(data) == [numpy.add, numpy.multiply, numpy.sqrt]
    write("ufunc-reconstruct-real.pkl", data)


DTYPE_O = g("numpy", "dtype") + s("O8") + b"\x89\x88\x87R" + b"(K\x03" + s("|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb"


def class_patch():
    data = (
        b"\x80\x02"
        + g("torch._tensor", "_rebuild_from_type_v2")
        + b"("
        + g("numpy.core.multiarray", "scalar")
        + g("builtins", "type")
        + b"("
        + DTYPE_O
        + g("torch.optim.lr_scheduler", "OneCycleLR")
        + b"t}}"
        + s("modelgate_sample_marker")
        + s("patched")
        + b"s\x86tR."
    )
    pickle.loads(data)
    assert torch.optim.lr_scheduler.OneCycleLR.modelgate_sample_marker == "patched"
    del torch.optim.lr_scheduler.OneCycleLR.modelgate_sample_marker
    write("class-patch.pkl", data)


class Tagged(torch.Tensor):
    pass


def tensor_subclass():
    t = torch.zeros(3).as_subclass(Tagged)
    t.note = "calibrated"
    # a class of an importable module, as a real project's would be
    mod = types.ModuleType("tagged_tensors")
    mod.Tagged = Tagged
    sys.modules["tagged_tensors"] = mod
    Tagged.__module__ = "tagged_tensors"
    path = os.path.join(OUT, "tensor-subclass-state.pt")
    torch.save(t, path, _use_new_zipfile_serialization=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    real_ufuncs()
    run = s("true")
    write("ufunc-reconstruct-os.pkl", b"\x80\x02" + g("numpy.core", "_ufunc_reconstruct") + b"(" + s("os") + s("system") + b"tR(" + run + b"tR.")
    computed = g("builtins", "str.lower") + b"(" + s("OS") + b"tR"
    write("ufunc-reconstruct-computed.pkl", b"\x80\x04" + g("numpy.core", "_ufunc_reconstruct") + b"(" + computed + s("system") + b"tR(" + run + b"tR.")
    write("import-dotted-name.pkl", b"\x80\x02" + g("torch._utils", "_import_dotted_name") + b"(" + s("os.system") + b"tR(" + run + b"tR.")
    write("vendored-cloudpickle.pkl", b"\x80\x02" + g("joblib.externals.cloudpickle.cloudpickle", "subimport") + b"(" + s("os") + b"tR.")
    write("pandas-import-optional.pkl", b"\x80\x02" + g("pandas.compat._optional", "import_optional_dependency") + b"(" + s("os") + b"tR.")
    class_patch()
    tensor_subclass()
    malicious = {"verdict": "malicious", "rules": ["pickle/dangerous-global"]}
    expected = {
        "pickle-resolvers/ufunc-reconstruct-real.pkl": {"verdict": "clean"},
        "pickle-resolvers/ufunc-reconstruct-os.pkl": {**malicious, "callee": "os.system"},
        "pickle-resolvers/ufunc-reconstruct-computed.pkl": {**malicious, "callee": "builtins.__import__"},
        "pickle-resolvers/import-dotted-name.pkl": {**malicious, "callee": "os.system"},
        "pickle-resolvers/vendored-cloudpickle.pkl": malicious,
        "pickle-resolvers/pandas-import-optional.pkl": malicious,
        "pickle-resolvers/class-patch.pkl": {"verdict": "malicious", "rules": ["pickle/monkeypatch"]},
        "pickle-resolvers/tensor-subclass-state.pt": {
            "verdict": "suspicious",
            "rules": ["pickle/unknown-global"],
            "absentRules": ["pickle/monkeypatch", "pickle/dynamic-call"],
        },
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
