#!/usr/bin/python3
"""Generates src/formats/pickle/policy/protocol-methods.json: for every class the pickle allowlist
profiles name (src/formats/pickle/policy/profiles/*.json, `call` and `new`), the library-owned methods
that the unpickler's own operations, or an allowed callable handed an instance, run on it and that are
not vetted. Read by src/formats/pickle/protocol.ts. Run from the repository root:
    /usr/bin/python3 scripts/pickle/gen_protocols.py && npx biome check --write src/formats/pickle/policy

Two kinds of entries per class:
- `ops`: what SETITEM(S), APPEND(S) and ADDITEMS run on an instance of the class (CPython's _pickle.c):
  SETITEMS `obj[k] = v` (the type's __setitem__); APPEND(S) `getattr(obj, 'extend')(items)`, else
  `getattr(obj, 'append')(item)` per item; ADDITEMS `getattr(obj, 'add')(item)` per item. The getattr
  runs the class's __getattribute__, and its __getattr__ when the name is not found. A method owned by a
  builtin type or by the stdlib containers (`collections`: OrderedDict, defaultdict, Counter, deque,
  UserDict ...) is fine; one the class does not have at all makes pickle raise (nothing runs). Any other
  owner is library code run on pickle data: listed, unless reviewed below (CONTAINER_REVIEWED).
- `protocol` / `getattr` / `compiled`: the protocol methods (PROTOCOL_METHODS) an allowed callable may
  run on an instance it is given (list(x) iterates, str(x) formats, set(x) hashes, Counter(x) reads
  keys/items ...), when library-owned and not vetted: `protocol` when its source opens files or URLs,
  imports (other than a static import of its own library), evaluates or starts processes (the regular
  expression of gen_profiles.py); `getattr` when its only risk is an attribute lookup by a computed name;
  `compiled` when it has no Python source, unless it is C code of the stdlib, numpy or torch
  (COMPILED_VETTED). The engine counts `getattr` and `compiled` only against callables whose behaviour
  it knows (policy/protocol-calls.json). A `collections.abc` mixin (Mapping.keys ...) runs the class's
  own __iter__/__getitem__/__len__/__contains__: it is listed when one of those is.
  The check reads one method's own source, not what it calls.
Classes the profiles name that cannot be imported here are listed under `unresolved`."""
import glob
import importlib
import inspect
import json
import re
import types
import warnings

warnings.filterwarnings("ignore")

PROTOCOL_METHODS = ("__iter__", "__next__", "__len__", "__length_hint__", "__str__", "__repr__", "__format__",
                    "__bytes__", "__fspath__", "__index__", "__int__", "__float__", "__complex__", "__trunc__",
                    "__hash__", "__eq__", "__lt__", "__getitem__", "__contains__", "__bool__", "keys", "items",
                    "values")
PROTOCOL_RISKS = re.compile(
    r"\bopen\s*\(|urlopen|smart_open|\brequests\.|\bsocket\b|\bsubprocess\b|\bos\.[a-z]|\bshutil\.|"
    r"^\s*(?:from\s+\S+\s+)?import\s|__import__|importlib|\beval\s*\(|\bexec\s*\(|\bcompile\s*\(|"
    r"\bloads?\s*\(|Popen|\bsystem\s*\(",
    re.M,
)
# Attribute lookup by a computed name: weaker (most are of names the class fixes, `get_params`), kept apart.
GETATTR_RISK = re.compile(r"getattr\s*\(")
# Owners whose methods are the interpreter's or the stdlib containers' own.
SAFE_OWNERS = {"builtins", "collections", "_collections"}
MIXIN_OWNERS = {"_collections_abc", "collections.abc", "typing"}
MIXIN_PRIMITIVES = ("__iter__", "__getitem__", "__len__", "__contains__")
# Library container methods read in full: they store the item and run nothing of it.
#   nltk FreqDist.__setitem__: super().__setitem__(key, val); self._N = None (resets the cached total)
CONTAINER_REVIEWED = {"nltk.probability.FreqDist.__setitem__"}


def owner_of(cls, name):
    try:
        mro = inspect.getmro(cls)
    except Exception:
        return None
    return next((k for k in mro if name in vars(k)), None)


def owner_module(owner):
    return getattr(owner, "__module__", None) or "?"


def qual(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


# Compiled methods (no Python source) of these roots are C code of the interpreter's stdlib types and of
# numpy's and torch's core types: they compute on the object's own memory and call no Python code of its
# state beyond other protocol methods. Compiled methods of other libraries (Cython) stay unvetted.
COMPILED_VETTED = {"datetime", "decimal", "_decimal", "types", "itertools", "re", "uuid", "numpy", "torch"}
C_DESCRIPTORS = (types.WrapperDescriptorType, types.MethodDescriptorType, types.BuiltinFunctionType,
                 types.ClassMethodDescriptorType, types.GetSetDescriptorType, types.MemberDescriptorType)


def risky_source(owner, name):
    """`source` (its Python source matches PROTOCOL_RISKS), `compiled` (no source, not vetted) or None."""
    fn = vars(owner)[name]
    try:
        src = inspect.getsource(fn)
    except (OSError, TypeError):
        root = owner_module(owner).split(".")[0]
        return None if isinstance(fn, C_DESCRIPTORS) and root in COMPILED_VETTED else "compiled"
    # a static import of the library's own modules (relative or by its root) reads no data: not a risk
    root = owner_module(owner).split(".")[0]
    own = re.compile(rf"^\s*(?:from\s+(?:\.|{re.escape(root)}\b)\S*\s+import\s.*|import\s+{re.escape(root)}\b.*)$", re.M)
    if PROTOCOL_RISKS.search(own.sub("", src)) is not None:
        return "source"
    return "getattr" if GETATTR_RISK.search(src) is not None else None


def protocol_status(cls, name, depth=0):
    """The unvetted library method `name` of `cls` runs (`Owner.name`), or None."""
    owner = owner_of(cls, name)
    if owner is None:
        return None
    mod = owner_module(owner)
    if mod in SAFE_OWNERS:
        return None
    if mod in MIXIN_OWNERS:
        if depth > 0:
            return None
        for prim in MIXIN_PRIMITIVES:
            s = protocol_status(cls, prim, depth + 1)
            if s is not None:
                return s
        return None
    if name == "__hash__" and vars(owner)[name] is None:
        return None  # unhashable: hash() raises
    kind = risky_source(owner, name)
    return None if kind is None else (f"{qual(owner)}.{name}", kind)


def container_method(cls, name):
    """The library method `name` of `cls` pickle would call (`Owner.name`), None when builtin/absent."""
    owner = owner_of(cls, name)
    if owner is None or owner_module(owner) in SAFE_OWNERS | MIXIN_OWNERS:
        return None
    if name == "__getattribute__" and isinstance(vars(owner)[name], types.WrapperDescriptorType):
        return None  # a C type's attribute slot (datetime, numpy scalars, torch tensors): generic lookup
    full = f"{qual(owner)}.{name}"
    return None if full in CONTAINER_REVIEWED else full


def lookup_methods(cls, name):
    """What getattr(obj, name) runs of the library, and whether the class has the name."""
    out = [m for m in (container_method(cls, "__getattribute__"),) if m is not None]
    has = owner_of(cls, name) is not None
    if not has:
        getattr_hook = container_method(cls, "__getattr__")
        if getattr_hook is not None:
            out.append(getattr_hook)
    return out, has


def ops_of(cls):
    ops = {}
    m = container_method(cls, "__setitem__")
    if m is not None:
        ops["SETITEMS"] = [m]
    got, has_extend = lookup_methods(cls, "extend")
    if has_extend:
        m = container_method(cls, "extend")
        ops_append = got + ([m] if m is not None else [])
    else:
        got2, has_append = lookup_methods(cls, "append")
        m = container_method(cls, "append") if has_append else None
        ops_append = got + [x for x in got2 if x not in got] + ([m] if m is not None else [])
    if ops_append:
        ops["APPENDS"] = ops_append
    got, has_add = lookup_methods(cls, "add")
    m = container_method(cls, "add") if has_add else None
    if got or m is not None:
        ops["ADDITEMS"] = got + ([m] if m is not None else [])
    return ops


def resolve(name):
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except Exception:
            continue
        try:
            for p in parts[i:]:
                obj = getattr(obj, p)
            return obj
        except AttributeError:
            return None
    return None


# Modules whose classes are listed too although no built-in profile allows them: what a caller's custom
# profile is likely to allow (the gensim corpus streams gen_profiles.py leaves out: their __iter__ opens
# `self.source`), so that the engine judges them when a policy does.
EXTRA_MODULES = ["gensim.models.word2vec", "gensim.models.doc2vec", "gensim.corpora.textcorpus",
                 "gensim.corpora.mmcorpus"]


def main():
    names = set()
    for path in sorted(glob.glob("src/formats/pickle/policy/profiles/*.json")):
        with open(path) as f:
            doc = json.load(f)
        names.update(doc.get("call", []))
        names.update(doc.get("new", []))
    for modname in EXTRA_MODULES:
        mod = importlib.import_module(modname)
        names.update(qual(o) for o in vars(mod).values() if inspect.isclass(o) and o.__module__ == modname)
    classes, unresolved, versions = {}, [], {}
    for name in sorted(names):
        obj = resolve(name)
        if obj is None:
            unresolved.append(name)
            continue
        if not inspect.isclass(obj):
            continue
        root = name.split(".")[0]
        mod = importlib.import_module(root) if root not in ("builtins",) else None
        if mod is not None and getattr(mod, "__version__", None):
            versions[root] = mod.__version__
        entry = {}
        ops = ops_of(obj)
        if ops:
            entry["ops"] = ops
        kinds = {"source": {}, "getattr": {}, "compiled": {}}
        for method in PROTOCOL_METHODS:
            s = protocol_status(obj, method)
            if s is not None:
                kinds[s[1]][method] = s[0]
        for kind, key in (("source", "protocol"), ("getattr", "getattr"), ("compiled", "compiled")):
            if kinds[kind]:
                entry[key] = kinds[kind]
        if entry:
            classes[name] = entry
    doc = {
        "$comment": "Generated by scripts/pickle/gen_protocols.py from the installed libraries: per allowlisted class, "
        "the library-owned methods not vetted that SETITEM(S)/APPEND(S)/ADDITEMS (`ops`) or an allowed callable "
        "handed an instance (`protocol`: source that may reach I/O, imports or evaluation; `getattr`: source that looks attributes up by computed names; `compiled`: no source to read) run. A class or method not listed runs builtin or vetted code. See "
        "src/formats/pickle/protocol.ts.",
        "generatedFrom": dict(sorted(versions.items())),
        "classes": classes,
        "unresolved": unresolved,
    }
    with open("src/formats/pickle/policy/protocol-methods.json", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(len(classes), "classes with entries,", len(unresolved), "unresolved")


main()
