"""CPython's own account of what a pickle imports and calls, without running any of it.

A subclass of the C unpickler (``pickle.Unpickler`` is ``_pickle.Unpickler``, what torch, joblib
and numpy use) whose ``find_class`` records ``(module, name)`` and returns an inert stub instead of
importing anything. Stubs are classes (so NEWOBJ/OBJ/INST accept them) whose metaclass records
every invocation and returns a fresh stub:

* ``call``: the stub was called (REDUCE, OBJ/INST with arguments, a method the unpickler looked up
  on a stub such as ``append``/``extend``/``add``, or ``__setitem__`` for SETITEM(S) on a stub);
* ``new``: ``cls.__new__(cls, *args)`` (NEWOBJ, NEWOBJ_EX, OBJ/INST without arguments);
* ``build``: BUILD found ``__setstate__`` on a stub (the object's ``__setstate__`` would run);
* ``persid``: PERSID/BINPERSID (``persistent_load``).

The one effect CPython would have that changes later opcodes, ``copyreg.add_extension``, is
applied for real (it only fills the extension registry, which is reset between streams), so EXT1/2/4
resolve the way they would in the victim's process.

Protocol (for ``npm run fuzz:diff`` and the slice generator): stdin carries records
``<u32 length LE><bytes>``; for each, one JSON line on stdout:
``{"events": [...], "error": "..."|null, "loads": n}``. Pickles concatenated in one stream are
loaded one after the other, each by a fresh unpickler, until the end or the first error (what
legacy ``torch.load`` does). Run with any CPython >= 3.8; nothing is imported but the stdlib.
"""
import builtins
import copyreg
import io
import json
import pickle
import struct
import sys

MAX_PREVIEW = 200
_MISSING = object()
# attributes of a stub class that stay real (the machinery of classes and of this module)
_REAL_ATTRIBUTES = frozenset({
    "__new__", "__init__", "__call__", "__class__", "__dict__", "__mro__", "__name__", "__qualname__",
    "__module__", "__bases__", "__base__", "__flags__", "__basicsize__", "__itemsize__", "__weakrefoffset__",
    "__dictoffset__", "__abstractmethods__", "__instancecheck__", "__subclasscheck__", "__text_signature__",
    "__doc__", "__annotations__", "__type_params__", "__slots__", "__hash__", "__eq__", "__setitem__",
})
MAX_EVENTS = 10_000


class Recorder:
    def __init__(self):
        self.events = []

    def add(self, event):
        if len(self.events) < MAX_EVENTS:
            self.events.append(event)


def preview(value, depth=0):
    """A short, JSON-safe rendering of an argument (stubs show as their qualified name)."""
    if isinstance(value, StubMeta):
        return "<" + value._mg_name + ">"
    if depth > 4:
        return "…"
    if isinstance(value, (str, int, float, bool)) or value is None:
        text = repr(value)
    elif isinstance(value, (bytes, bytearray)):
        text = repr(bytes(value[:64]))
    elif isinstance(value, (list, tuple)):
        text = ("[" if isinstance(value, list) else "(") + ", ".join(
            preview(v, depth + 1) for v in list(value)[:8]) + ("]" if isinstance(value, list) else ")")
    elif isinstance(value, dict):
        text = "{" + ", ".join(preview(k, depth + 1) + ": " + preview(v, depth + 1)
                               for k, v in list(value.items())[:8]) + "}"
    else:
        text = "<" + type(value).__name__ + ">"
    return text[:MAX_PREVIEW]


class StubMeta(type):
    """Metaclass of the stubs: records invocations instead of performing them."""

    def __call__(cls, *args, **kwargs):
        cls._mg_recorder.add({"op": "call", "callee": cls._mg_name,
                              "args": [preview(a) for a in args[:6]],
                              "kwargs": sorted(kwargs)[:6]})
        effect = EFFECTS.get(cls._mg_name)
        if effect is not None:
            effect(*args, **kwargs)
        return make_stub(cls._mg_recorder, cls._mg_name + "()")

    def __getattribute__(cls, name):
        # Every attribute of a stub is another stub, dunders included (a real class answers
        # __subclasses__ & co. from type), except what the unpickler and this module need.
        if name.startswith("_mg_") or name in _REAL_ATTRIBUTES:
            return type.__getattribute__(cls, name)
        if name == "__setstate__":
            recorder = type.__getattribute__(cls, "_mg_recorder")
            target = type.__getattribute__(cls, "_mg_name")

            def setstate(state):
                recorder.add({"op": "build", "target": target, "state": preview(state)})
            return setstate
        if name == "__getinitargs__":
            # a stub has none, so OBJ/INST without arguments take the __new__ path
            raise AttributeError(name)
        return make_stub(type.__getattribute__(cls, "_mg_recorder"), type.__getattribute__(cls, "_mg_name") + "." + name)

    def __setitem__(cls, key, value):
        cls._mg_recorder.add({"op": "call", "callee": cls._mg_name + ".__setitem__",
                              "args": [preview(key), preview(value)], "kwargs": []})

    def __hash__(cls):
        return id(cls)

    def __eq__(cls, other):
        return cls is other


class StubBase:
    def __new__(cls, *args, **kwargs):
        cls._mg_recorder.add({"op": "new", "callee": cls._mg_name,
                              "args": [preview(a) for a in args[:6]],
                              "kwargs": sorted(kwargs)[:6]})
        return make_stub(cls._mg_recorder, cls._mg_name + ".__new__()")


def make_stub(recorder, name):
    return StubMeta("Stub", (StubBase,), {"_mg_name": name, "_mg_recorder": recorder})


def _add_extension(module, name, code):
    # what copyreg.add_extension does, minus its consistency errors being fatal to the recording
    try:
        copyreg.add_extension(module, name, code)
    except Exception:
        pass


EFFECTS = {"copyreg.add_extension": _add_extension}


class FakeModule:
    """What ``import module`` gives CPython's find_class here: attributes are stubs."""

    def __init__(self, name, recorder):
        self._mg_module = name
        self._mg_recorder = recorder

    def __getattribute__(self, attr):
        if attr.startswith("_mg_") or attr in ("__class__", "__dict__"):
            return object.__getattribute__(self, attr)
        if "." in attr:
            # a real module has no dotted attribute: protocols < 4 fail on dotted names
            raise AttributeError(attr)
        return make_stub(object.__getattribute__(self, "_mg_recorder"), object.__getattribute__(self, "_mg_module") + "." + attr)


class RecordingUnpickler(pickle.Unpickler):
    def __init__(self, file, recorder):
        super().__init__(file)
        self._recorder = recorder

    def find_class(self, module, name):
        # CPython's own find_class does the work (protocol < 3 name mapping, dotted names for
        # protocol >= 4, the audit event), with the import answered by a fake module.
        patched = {}

        def fake_import(mod, globals=None, locals=None, fromlist=(), level=0):
            if mod == "":
                raise ValueError("Empty module name")
            if mod not in patched:
                patched[mod] = sys.modules.get(mod, _MISSING)
            sys.modules[mod] = FakeModule(mod, self._recorder)
            return sys.modules[mod]

        saved_import = builtins.__import__
        builtins.__import__ = fake_import
        try:
            stub = super().find_class(module, name)
        finally:
            builtins.__import__ = saved_import
            for mod, old in patched.items():
                if old is _MISSING:
                    sys.modules.pop(mod, None)
                else:
                    sys.modules[mod] = old
        qualified = stub._mg_name
        mod = next(iter(patched), module)
        self._recorder.add({"op": "import", "module": mod, "name": qualified[len(mod) + 1:]})
        return stub

    def persistent_load(self, pid):
        self._recorder.add({"op": "persid", "pid": preview(pid)})
        return make_stub(self._recorder, "persistent_load()")


def record(data):
    recorder = Recorder()
    registry = (dict(copyreg._extension_registry), dict(copyreg._inverted_registry), dict(copyreg._extension_cache))
    stream = io.BytesIO(data)
    loads = 0
    error = None
    try:
        while stream.tell() < len(data):
            RecordingUnpickler(stream, recorder).load()
            loads += 1
    except RecursionError:
        error = "RecursionError"
    except MemoryError:
        error = "MemoryError"
    except Exception as e:  # every unpickling error, like CPython's caller would see it
        error = type(e).__name__ + ": " + str(e)[:200]
    finally:
        copyreg._extension_registry.clear()
        copyreg._extension_registry.update(registry[0])
        copyreg._inverted_registry.clear()
        copyreg._inverted_registry.update(registry[1])
        copyreg._extension_cache.clear()
        copyreg._extension_cache.update(registry[2])
    return {"events": recorder.events, "error": error, "loads": loads}


def main():
    sys.setrecursionlimit(10_000)
    inp = sys.stdin.buffer
    out = sys.stdout
    while True:
        head = inp.read(4)
        if len(head) < 4:
            break
        (n,) = struct.unpack("<I", head)
        data = inp.read(n)
        out.write(json.dumps(record(data)) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
