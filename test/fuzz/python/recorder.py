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
``{"events": [...], "error": "..."|null, "loads": n}``; each event carries ``pos``, the bytes the
unpickler had read when it happened (the end of the opcode, or of the FRAME holding it). Pickles concatenated in one stream are
loaded one after the other, each by a fresh unpickler, until the end or the first error (what
legacy ``torch.load`` does). Run with any CPython >= 3.8; nothing is imported but the stdlib.
"""
import builtins
import copyreg
import io
import json
import pickle
import re
import struct
import sys
import warnings

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
        self.stream = None
        self.load = 0
        # module name -> FakeModule, for the whole stream (a patch made by BUILD stays visible)
        self.modules = {}

    def add(self, event):
        if len(self.events) < MAX_EVENTS:
            # bytes the unpickler had consumed: the end of the opcode (or of its FRAME) that did it
            if self.stream is not None:
                event["pos"] = self.stream.consumed
            event["load"] = self.load
            self.events.append(event)


class CountingStream:
    """A file with read/readline only (no peek), so the C unpickler reads exactly what it uses."""

    def __init__(self, data):
        self._io = io.BytesIO(data)
        self.consumed = 0

    def read(self, n=-1):
        b = self._io.read(n)
        self.consumed += len(b)
        return b

    def readline(self, n=-1):
        b = self._io.readline(n)
        self.consumed += len(b)
        return b


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
        own = type.__getattribute__(cls, "__dict__")
        if name in own:
            # set by BUILD (slot state) or cached: what CPython would find there
            return own[name]
        child = make_stub(type.__getattribute__(cls, "_mg_recorder"), type.__getattribute__(cls, "_mg_name") + "." + name)
        if not (name.startswith("__") and name.endswith("__")):
            # the same attribute is the same object (setting a dunder would change the class's slots)
            type.__setattr__(cls, name, child)
        return child

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


# Calls performed for real: registering an extension code only fills copyreg's registry (reset
# after each stream); its errors (a code or name already taken) end the unpickling as in CPython.
EFFECTS = {"copyreg.add_extension": copyreg.add_extension}


class FakeModule:
    """What ``import module`` gives CPython's find_class here: attributes are stubs."""

    def __init__(self, name, recorder):
        self._mg_module = name
        self._mg_recorder = recorder
        self._mg_attrs = {}

    def __getattribute__(self, attr):
        if attr.startswith("_mg_") or attr in ("__class__", "__dict__"):
            return object.__getattribute__(self, attr)
        if "." in attr:
            # a real module has no dotted attribute: protocols < 4 fail on dotted names
            raise AttributeError(attr)
        attrs = object.__getattribute__(self, "_mg_attrs")
        if attr not in attrs:
            attrs[attr] = make_stub(object.__getattribute__(self, "_mg_recorder"),
                                    object.__getattribute__(self, "_mg_module") + "." + attr)
        return attrs[attr]

    def __setattr__(self, attr, value):
        if attr.startswith("_mg_"):
            object.__setattr__(self, attr, value)
        else:
            object.__getattribute__(self, "_mg_attrs")[attr] = value


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
            if mod not in self._recorder.modules:
                self._recorder.modules[mod] = FakeModule(mod, self._recorder)
            sys.modules[mod] = self._recorder.modules[mod]
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
        mod = next(iter(patched), module)
        if isinstance(stub, StubMeta):
            self._recorder.add({"op": "import", "module": mod, "name": stub._mg_name[len(mod) + 1:]})
        else:
            # a name an earlier BUILD/setattr planted something at: CPython gets that object
            self._recorder.add({"op": "import", "module": mod, "name": name, "patched": preview(stub)})
        return stub

    def persistent_load(self, pid):
        self._recorder.add({"op": "persid", "pid": preview(pid)})
        return make_stub(self._recorder, "persistent_load()")


def _record_reading(data, stream, recorder, position):
    """Loads pickle after pickle from ``stream`` (a new unpickler each) until the end or an error."""
    registry = (dict(copyreg._extension_registry), dict(copyreg._inverted_registry), dict(copyreg._extension_cache))
    loads = 0
    error = None
    try:
        while position() < len(data):
            RecordingUnpickler(stream, recorder).load()
            loads += 1
            recorder.load = loads
    except RecursionError:
        error = "RecursionError"
    except MemoryError:
        error = "MemoryError"
    except Exception as e:  # every unpickling error, like CPython's caller would see it
        # object addresses make records differ between runs
        error = type(e).__name__ + ": " + re.sub(r" at 0x[0-9a-fA-F]+", "", str(e))[:200]
    finally:
        copyreg._extension_registry.clear()
        copyreg._extension_registry.update(registry[0])
        copyreg._inverted_registry.clear()
        copyreg._inverted_registry.update(registry[1])
        copyreg._extension_cache.clear()
        copyreg._extension_cache.update(registry[2])
    return loads, error


def _key(event):
    return (event["op"], event.get("module"), event.get("name"), event.get("callee"), event.get("target"))


def record(data):
    """Both readings of the C unpickler: from a file without ``peek`` (io.BytesIO), which drops the
    rest of a FRAME when a read does not fit in it, and from one with ``peek`` (a real file, or
    ``pickle.loads``), which reads on. Events of the second that the first lacks are appended with
    ``pos`` -1 (unknown) and ``reading`` "peek"."""
    recorder = Recorder()
    counting = CountingStream(data)
    recorder.stream = counting
    loads, error = _record_reading(data, counting, recorder, lambda: counting.consumed)
    events = recorder.events
    peeking = Recorder()
    buffered = io.BufferedReader(io.BytesIO(data))
    _record_reading(data, buffered, peeking, buffered.tell)
    seen = {_key(e) for e in events}
    for e in peeking.events:
        if _key(e) not in seen and len(events) < MAX_EVENTS:
            e["pos"] = -1
            e["reading"] = "peek"
            events.append(e)
            seen.add(_key(e))
    return {"events": events, "error": error, "loads": loads}


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
    # Hostile streams make CPython warn (invalid escapes in protocol-0 STRINGs) and report
    # unraisable errors; neither is an event, and both would flood the fuzz run's stderr.
    warnings.simplefilter("ignore")
    sys.unraisablehook = lambda _unraisable: None
    main()
