#!/usr/bin/python3
"""Bound methods in real torch pickles, and attacks on the check that accepts them.

Python pickles a bound method `obj.f` as `builtins.getattr(obj, 'f')`. torch < 2.2 writes such
calls in ordinary checkpoints: OneCycleLR keeps `anneal_func = self._annealing_cos` (or
`_annealing_linear`) in its state_dict, CyclicLR <= 1.12 kept `scale_fn = self._triangular_scale_fn`
(and the other modes), and every `torch.nn.Lazy*` module saved whole holds its `_infer_parameters`
forward pre-hook and its `_lazy_load_hook` load hook. modelgate accepts such a getattr only for an
instance it built of a class of the table this script writes, with a method name the table lists
for that class, and only when nothing may have put that name in the instance's __dict__
(src/formats/pickle/bound.ts).

The table (src/formats/pickle/policy/bound-methods.json) is generated here from the installed
torch (Debian python3-torch 1.13): the real objects below are pickled with a recording pickler and
every getattr(instance, name) pair it writes is kept, after checking that `name` is a plain function
of the class (not a dunder, a property, a static or class method) and that the class looks up and
restores attributes as the check models it (object's __getattribute__ and __new__, no __setstate__
or nn.Module's, which updates __dict__ from a dict).

Samples (samples/torch-bound-methods/):
- onecycle-cos.pt, onecycle-linear-legacy.pt: a training checkpoint dict with the model, optimizer
  and OneCycleLR state_dicts (zip and `_use_new_zipfile_serialization=False`): clean.
- lazy-linear.pt, lazy-conv2d-legacy.pt, lazy-sequential.pt: whole torch.nn.LazyLinear / LazyConv2d
  modules and a Sequential of Lazy modules: clean.
- onecycle-cos-p4.pkl, onecycle-linear-p1.pkl: the scheduler's state_dict written by pickle protocol 4
  (memoised getattr) and 1 (copyreg._reconstructor): clean.
- swalr-cos.pt: SWALR's state_dict, whose anneal_func is a static method (getattr on the class,
  allowed by the torch profile): clean.
- bound-method-called.pkl: the real bound method called inside the pickle: a call of a value that
  has no name (suspicious), getattr itself is not reported.
- attack-*.pkl: getattr(instance, method) constructions where the method name may be shadowed or the
  instance is not what the table describes: malicious (getattr stays a critical resolver).

Run from the repository root: /usr/bin/python3 samples/generate/torch_bound_methods.py
  && npx biome check --write src/formats/pickle/policy samples/torch-bound-methods
"""

import inspect
import io
import json
import os
import pickle
import sys
import types
import warnings

import torch
from torch.optim import lr_scheduler

warnings.filterwarnings("ignore")
OUT = "samples/torch-bound-methods"
AREA = "torch-bound-methods"
TABLE = "src/formats/pickle/policy/bound-methods.json"
# __setstate__ functions that fill __dict__ as nn.Module's does: `__dict__.update(state)`, then set
# attributes of fixed names (hook dicts; _ConvNd's `padding_mode`) when the state lacks them
MODULE_SETSTATES = (torch.nn.Module.__setstate__, torch.nn.modules.conv._ConvNd.__setstate__)
# the names those functions may set (a method of the table must not be one of them)
MODULE_SETSTATE_NAMES = {
    "_forward_pre_hooks", "_state_dict_hooks", "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks",
    "_non_persistent_buffers_set", "_is_full_backward_hook", "padding_mode",
}


def qual(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


# ---------------------------------------------------------------- the table


class Recorder(pickle._Pickler):
    """Records every getattr(instance, name) call the pickler writes (a bound method)."""

    def __init__(self, pairs):
        super().__init__(io.BytesIO(), protocol=2)
        self.pairs = pairs

    def persistent_id(self, obj):
        return None

    def save_reduce(self, func, args, *rest, **kw):
        if func is getattr and len(args) == 2 and isinstance(args[1], str) and not isinstance(args[0], type):
            self.pairs.add((type(args[0]), args[1]))
        return super().save_reduce(func, args, *rest, **kw)


def lazy_modules():
    for name in sorted(dir(torch.nn)):
        cls = getattr(torch.nn, name)
        if isinstance(cls, type) and issubclass(cls, torch.nn.Module) and name.startswith("Lazy"):
            yield cls(3, 3) if "Conv" in name else cls(3) if name == "LazyLinear" else cls()


def schedulers():
    """Every scheduler of torch.optim whose state a checkpoint holds, in each of its modes."""
    model = torch.nn.Linear(2, 2)

    def opt():
        return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    yield lr_scheduler.StepLR(opt(), 2)
    yield lr_scheduler.MultiStepLR(opt(), [2])
    yield lr_scheduler.ConstantLR(opt())
    yield lr_scheduler.LinearLR(opt())
    yield lr_scheduler.ExponentialLR(opt(), 0.9)
    yield lr_scheduler.CosineAnnealingLR(opt(), 5)
    yield lr_scheduler.CosineAnnealingWarmRestarts(opt(), 5)
    yield lr_scheduler.ReduceLROnPlateau(opt())
    for strategy in ("cos", "linear"):
        yield lr_scheduler.OneCycleLR(opt(), 0.1, total_steps=10, anneal_strategy=strategy)
    for mode in ("triangular", "triangular2", "exp_range"):
        s = lr_scheduler.CyclicLR(opt(), 0.01, 0.1, mode=mode)
        # torch <= 1.12 kept the bound method itself (1.13 keeps a WeakMethod, not picklable)
        s.__dict__.pop("_scale_fn_ref", None)
        s.scale_fn = getattr(s, f"_{mode}_scale_fn")
        yield s
    for strategy in ("cos", "linear"):
        yield torch.optim.swa_utils.SWALR(opt(), 0.05, anneal_strategy=strategy)


def setstate_kind(cls):
    """How BUILD fills an instance's __dict__: `dict` (no __setstate__) or `module` (nn.Module's)."""
    fn = getattr(cls, "__setstate__", None)
    if fn is None or fn is getattr(object, "__setstate__", None):
        return "dict"
    if any(fn is known for known in MODULE_SETSTATES):
        return "module"
    return None


def check(cls, name):
    """Why (cls, name) cannot be accepted, or None."""
    if name.startswith("__") and name.endswith("__"):
        return "dunder"
    found = next((k.__dict__[name] for k in cls.__mro__ if name in k.__dict__), None)
    if not isinstance(found, types.FunctionType):
        return f"not a plain function ({type(found).__name__})"
    if cls.__getattribute__ is not object.__getattribute__:
        return "custom __getattribute__"
    if cls.__new__ is not object.__new__:
        return "custom __new__"
    if type(cls) is not type or issubclass(cls, (dict, list, set, tuple)) or "__slots__" in cls.__dict__:
        return "not a plain class"
    if setstate_kind(cls) is None:
        return "custom __setstate__"
    if name in MODULE_SETSTATE_NAMES:
        return "set by nn.Module.__setstate__"
    return None


def build_table():
    pairs = set()
    for obj in [*lazy_modules(), *schedulers()]:
        Recorder(pairs).dump(obj)
        if hasattr(obj, "state_dict") and not isinstance(obj, torch.nn.Module):
            Recorder(pairs).dump(obj.state_dict())
    classes = {}
    for cls, name in sorted(pairs, key=lambda p: (qual(p[0]), p[1])):
        why = check(cls, name)
        if why is not None:
            raise SystemExit(f"{qual(cls)}.{name}: {why}")
        entry = classes.setdefault(qual(cls), {"setstate": setstate_kind(cls), "methods": []})
        entry["methods"].append(name)
    table = {
        "$comment": "Generated by samples/generate/torch_bound_methods.py: the bound methods real torch pickles write as builtins.getattr(instance, name), by class. `setstate` says how BUILD fills the instance's __dict__: `dict` (no __setstate__: the state dict, or (dict, slots) pair, is copied in) or `module` (nn.Module.__setstate__: __dict__.update(state) of a dict, plus its own hook dicts). See src/formats/pickle/bound.ts.",
        "generatedFrom": {"torch": torch.__version__.split("+")[0]},
        "classes": classes,
    }
    with open(TABLE, "w") as f:
        json.dump(table, f, indent=2)
        f.write("\n")
    print(f"wrote {sum(len(e['methods']) for e in classes.values())} methods of {len(classes)} classes to {TABLE}", file=sys.stderr)


# ---------------------------------------------------------------- samples

P = pickle


def s(x):
    b = x.encode()
    return P.BINUNICODE + len(b).to_bytes(4, "little") + b


def g(mod, name):
    return P.GLOBAL + f"{mod}\n{name}\n".encode()


OCL = ("torch.optim.lr_scheduler", "OneCycleLR")
GETATTR = g("builtins", "getattr")


def new(cls=OCL):
    return [g(*cls), P.EMPTY_TUPLE, P.NEWOBJ]


def getattr_of(inst_ops, name_ops):
    return [GETATTR, *inst_ops, *name_ops, P.TUPLE2, P.REDUCE]


def stop(ops, proto=2):
    return P.PROTO + bytes([proto]) + b"".join(ops) + P.STOP


def attacks():
    """Constructions that must stay malicious (each gets getattr(instance, method) past a defence)."""
    evil = g("os", "system")
    out = {}
    # state set before getattr (BUILD puts the name in __dict__): getattr returns the value
    out["attack-state-shadow.pkl"] = stop(
        [*new(), P.EMPTY_DICT, s("_annealing_cos"), evil, P.SETITEM, P.BUILD, P.BINPUT + b"\x00", P.POP]
        + getattr_of([P.BINGET + b"\x00"], [s("_annealing_cos")])
        + [s("touch /tmp/modelgate-bound-pwned"), P.TUPLE1, P.REDUCE]
    )
    # the shadowing key set by the slots half of a (dict, slots) state
    out["attack-slotstate-shadow.pkl"] = stop(
        [*new(), P.NONE, P.EMPTY_DICT, s("_annealing_cos"), evil, P.SETITEM, P.TUPLE2, P.BUILD]
        + [P.BINPUT + b"\x00", P.POP]
        + getattr_of([P.BINGET + b"\x00"], [s("_annealing_cos")])
        + [s("touch /tmp/modelgate-bound-pwned"), P.TUPLE1, P.REDUCE]
    )
    # a harmless first BUILD, then a second one that shadows the method
    out["attack-second-build.pkl"] = stop(
        [*new(), P.EMPTY_DICT, s("total_steps"), P.BININT1 + b"\x01", P.SETITEM, P.BUILD]
        + [P.EMPTY_DICT, s("_annealing_cos"), evil, P.SETITEM, P.BUILD, P.BINPUT + b"\x00", P.POP]
        + getattr_of([P.BINGET + b"\x00"], [s("_annealing_cos")])
        + [s("touch /tmp/modelgate-bound-pwned"), P.TUPLE1, P.REDUCE]
    )
    # nn.Module.__setstate__ runs __dict__.update(state): a list of pairs is a state too
    lazy = ("torch.nn.modules.linear", "LazyLinear")
    out["attack-module-pairs-state.pkl"] = stop(
        [*new(lazy), P.MARK, s("_infer_parameters"), evil, P.TUPLE2, P.LIST, P.BUILD]
        + [P.BINPUT + b"\x00", P.POP]
        + getattr_of([P.BINGET + b"\x00"], [s("_infer_parameters")])
        + [s("touch /tmp/modelgate-bound-pwned"), P.TUPLE1, P.REDUCE]
    )
    # a class not on the table (its method names are the attacker's choice of gadget)
    out["attack-class-not-listed.pkl"] = stop(
        getattr_of(new(("collections", "OrderedDict")), [s("setdefault")])
    )
    # a listed class, a name the table does not hold for it
    out["attack-name-not-listed.pkl"] = stop(
        getattr_of(new(), [s("step")]) + [P.EMPTY_TUPLE, P.REDUCE]
    )
    # the name computed at run time by a call the analysis does not follow
    out["attack-name-computed.pkl"] = stop(
        getattr_of(new(), [g("mylib", "method_name"), P.EMPTY_TUPLE, P.REDUCE])
    )
    # an instance of a class computed at run time (a call's result)
    out["attack-class-unknown.pkl"] = stop(
        getattr_of([g("mylib", "make_class"), P.EMPTY_TUPLE, P.REDUCE, P.EMPTY_TUPLE, P.NEWOBJ], [s("_annealing_cos")])
    )
    # the instance handed to code the analysis does not follow before the lookup (it may set the name)
    out["attack-instance-escaped.pkl"] = stop(
        [*new(), P.BINPUT + b"\x00", g("mylib", "prepare"), P.BINGET + b"\x00", P.TUPLE1, P.REDUCE, P.POP]
        + getattr_of([P.BINGET + b"\x00"], [s("_annealing_cos")])
    )
    # the instance's __dict__ reached through vars() and filled by dict.update before the lookup
    out["attack-vars-update.pkl"] = stop(
        [*new(), P.BINPUT + b"\x00", g("builtins", "dict.update"), g("builtins", "vars"), P.BINGET + b"\x00"]
        + [P.TUPLE1, P.REDUCE, P.EMPTY_DICT, s("_annealing_cos"), evil, P.SETITEM, P.TUPLE2, P.REDUCE, P.POP]
        + getattr_of([P.BINGET + b"\x00"], [s("_annealing_cos")])
        + [s("touch /tmp/modelgate-bound-pwned"), P.TUPLE1, P.REDUCE],
        proto=4,
    )
    # the state a dict subclass (load_build copies its items into __dict__ all the same)
    out["attack-dict-subclass-state.pkl"] = stop(
        [*new(), g("collections", "OrderedDict"), P.EMPTY_TUPLE, P.REDUCE, s("_annealing_cos"), evil, P.SETITEM]
        + [P.BUILD, P.BINPUT + b"\x00", P.POP]
        + getattr_of([P.BINGET + b"\x00"], [s("_annealing_cos")])
        + [s("touch /tmp/modelgate-bound-pwned"), P.TUPLE1, P.REDUCE]
    )
    # a __setstate__ put in __dict__ by a first BUILD (a second BUILD calls it)
    out["attack-setstate-key.pkl"] = stop(
        [*new(), P.EMPTY_DICT, s("__setstate__"), evil, P.SETITEM, P.BUILD, P.BINPUT + b"\x00", P.POP]
        + getattr_of([P.BINGET + b"\x00"], [s("_annealing_cos")])
    )
    # an instance made by calling the class (its __init__ runs with the pickle's arguments)
    out["attack-class-call.pkl"] = stop(
        getattr_of([g(*OCL), P.EMPTY_TUPLE, P.REDUCE], [s("_annealing_cos")])
    )
    return out


def main():
    build_table()
    os.makedirs(OUT, exist_ok=True)
    expected = {}
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for strategy, name, legacy in (("cos", "onecycle-cos.pt", False), ("linear", "onecycle-linear-legacy.pt", True)):
        sched = lr_scheduler.OneCycleLR(opt, 0.1, total_steps=10, anneal_strategy=strategy)
        opt.step()
        sched.step()
        ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict(), "lr_scheduler": sched.state_dict()}
        torch.save(ckpt, os.path.join(OUT, name), _use_new_zipfile_serialization=not legacy)
        expected[f"{AREA}/{name}"] = {"verdict": "clean"}
    sched = lr_scheduler.OneCycleLR(opt, 0.1, total_steps=10)
    with open(os.path.join(OUT, "onecycle-cos-p4.pkl"), "wb") as f:
        pickle.dump(sched.state_dict(), f, protocol=4)
    expected[f"{AREA}/onecycle-cos-p4.pkl"] = {"verdict": "clean"}
    # protocol 1: the scheduler is rebuilt by copyreg._reconstructor(cls, object, None)
    with open(os.path.join(OUT, "onecycle-linear-p1.pkl"), "wb") as f:
        pickle.dump(lr_scheduler.OneCycleLR(opt, 0.1, total_steps=10, anneal_strategy="linear").state_dict(), f, protocol=1)
    expected[f"{AREA}/onecycle-linear-p1.pkl"] = {"verdict": "clean"}
    # SWALR keeps a static method: getattr(SWALR, name) on the class (the torch profile allows it)
    swa = torch.optim.swa_utils.SWALR(opt, 0.05, anneal_strategy="cos")
    torch.save({"swa_scheduler": swa.state_dict()}, os.path.join(OUT, "swalr-cos.pt"))
    expected[f"{AREA}/swalr-cos.pt"] = {"verdict": "clean"}
    torch.save(torch.nn.LazyLinear(3), os.path.join(OUT, "lazy-linear.pt"))
    expected[f"{AREA}/lazy-linear.pt"] = {"verdict": "clean"}
    torch.save(torch.nn.LazyConv2d(3, 3), os.path.join(OUT, "lazy-conv2d-legacy.pt"), _use_new_zipfile_serialization=False)
    expected[f"{AREA}/lazy-conv2d-legacy.pt"] = {"verdict": "clean"}
    # several Lazy modules in one model: each one's hooks are bound while the others are pickled
    net = torch.nn.Sequential(torch.nn.LazyConv1d(4, 3), torch.nn.LazyBatchNorm1d(), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.LazyLinear(2))
    torch.save(net, os.path.join(OUT, "lazy-sequential.pt"))
    expected[f"{AREA}/lazy-sequential.pt"] = {"verdict": "clean"}
    for name, data in attacks().items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        expected[f"{AREA}/{name}"] = {
            "verdict": "malicious",
            "rules": ["pickle/dangerous-global"],
            "callee": "builtins.getattr",
        }
    # the real bound method called inside the pickle: a call of a value that has no name
    with open(os.path.join(OUT, "bound-method-called.pkl"), "wb") as f:
        f.write(stop(getattr_of(new(), [s("_annealing_cos")]) + [P.MARK, P.BININT1 + b"\x01", P.BININT1 + b"\x02", P.BININT1 + b"\x00", P.TUPLE, P.REDUCE]))
    expected[f"{AREA}/bound-method-called.pkl"] = {
        "verdict": "suspicious",
        "rules": ["pickle/dynamic-call"],
        "absentRules": ["pickle/dangerous-global"],
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print(f"wrote {len(expected)} samples to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
