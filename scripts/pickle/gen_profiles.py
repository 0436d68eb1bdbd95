#!/usr/bin/python3
"""Regenerates the library-derived parts of the pickle allowlist profiles
(src/formats/pickle/policy/profiles/{torch,numpy,sklearn,pandas,networkx,gensim,nltk,statsmodels}.json)
from the installed torch, numpy, scikit-learn, pandas, networkx, gensim, nltk and statsmodels (Debian
python3-torch, python3-numpy, python3-sklearn, python3-pandas with python3-tz and python3-dateutil,
python3-networkx, python3-gensim, python3-nltk, python3-statsmodels), merged with hand-curated
names that other versions of those libraries write. Run from the repository root:
    /usr/bin/python3 scripts/pickle/gen_profiles.py && npx biome check --write src/formats/pickle/policy
Every entry is `module.qualname` exactly as a pickle names it. `call` entries may be called
(REDUCE/INST/OBJ); `new` entries may only be referenced or instantiated with NEWOBJ
(cls.__new__, no __init__), which is how pickle rebuilds ordinary class instances."""
import importlib
import inspect
import json
import pkgutil
import re
import warnings

warnings.filterwarnings("ignore")


def qual(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


def write(name, description, call, new, versions):
    # names under <locals> cannot be unpickled (CPython refuses them)
    call = sorted({n for n in call if "<locals>" not in n})
    new = sorted({n for n in new if "<locals>" not in n} - set(call))
    doc = {
        "name": name,
        "description": description,
        "generatedFrom": versions,
        "call": call,
        "new": new,
    }
    with open(f"src/formats/pickle/policy/profiles/{name}.json", "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(name, len(call), "call,", len(new), "new")


def walk(package, skip):
    mods = [package]
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if any(part in skip for part in info.name.split(".")):
            continue
        try:
            mods.append(importlib.import_module(info.name))
        except Exception:
            pass
    return mods


# ---------------------------------------------------------------- torch
import torch
import torch.nn
import torch.optim

t_call = [
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_sparse_csr_tensor",
    "torch._utils._rebuild_device_tensor_from_numpy",
    "torch._utils._rebuild_device_tensor_from_cpu_tensor",
    "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_wrapper_subclass",
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_nested_tensor",
    "torch._utils._rebuild_xla_tensor",
    "torch._utils._rebuild_mlc_tensor",
    "torch._tensor._rebuild_from_type",
    "torch._tensor._rebuild_from_type_v2",
    "torch.serialization._get_layout",
    "torch.storage._load_from_bytes",
    "torch.Size",
    "torch.device",
    "torch.Generator",
    "torch.nn.parameter.Parameter",
    "torch.nn.parameter.Buffer",
    "torch.nn.parameter.UninitializedParameter",
    "torch.nn.parameter.UninitializedBuffer",
]
t_new = ["torch.Tensor", "torch._tensor.Tensor", "torch.storage.TypedStorage", "torch.storage.UntypedStorage",
         "torch.storage._LegacyStorage", "torch.UntypedStorage", "torch.TypedStorage"]
for n in ["float32", "float", "float64", "double", "float16", "half", "bfloat16", "complex32", "chalf", "complex64",
          "cfloat", "complex128", "cdouble", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "short", "int32",
          "int", "int64", "long", "bool", "quint8", "qint8", "qint32", "quint4x2", "quint2x4", "float8_e4m3fn",
          "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2"]:
    t_new.append(f"torch.{n}")
for n in ["strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc", "_mkldnn", "jagged",
          "per_tensor_affine", "per_channel_affine", "per_tensor_symmetric", "per_channel_symmetric",
          "per_channel_affine_float_qparams", "contiguous_format", "channels_last", "channels_last_3d",
          "preserve_format"]:
    t_new.append(f"torch.{n}")
for prefix in ["torch", "torch.cuda"]:
    for s in ["Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool", "ComplexFloat",
              "ComplexDouble", "QInt8", "QUInt8", "QInt32", "QUInt4x2", "QUInt2x4"]:
        t_new.append(f"{prefix}.{s}Storage")
for t in torch._tensor_classes:
    t_new.append(qual(t))
for name in dir(torch.return_types):
    obj = getattr(torch.return_types, name)
    if inspect.isclass(obj) and obj.__module__ == "torch.return_types":
        t_call.append(qual(obj))
for mod in walk(torch.nn.modules, {"tests"}):
    for _, obj in inspect.getmembers(mod, inspect.isclass):
        if issubclass(obj, torch.nn.Module) and obj.__module__.startswith("torch.nn."):
            t_new.append(qual(obj))
for name, obj in inspect.getmembers(torch.nn.functional, inspect.isfunction):
    if not name.startswith("_") and obj.__module__ == "torch.nn.functional":
        t_new.append(qual(obj))
for name in ["relu", "tanh", "sigmoid", "softmax", "log_softmax", "gelu", "silu", "erf", "exp"]:
    t_new.append(f"torch.{name}")
for mod in [torch.optim] + walk(torch.optim, {"tests", "_multi_tensor"}):
    for _, obj in inspect.getmembers(mod, inspect.isclass):
        if obj.__module__.startswith("torch.optim") and (
            issubclass(obj, torch.optim.Optimizer)
            or obj.__module__.startswith("torch.optim.lr_scheduler")
            or issubclass(obj, torch.optim.lr_scheduler._LRScheduler)
        ):
            t_new.append(qual(obj))
# SWALR keeps a static method as its anneal_func: a scheduler state_dict pickles it as
# getattr(SWALR, name) below protocol 4, by its dotted name from 4 (pure arithmetic on a float)
import torch.optim.swa_utils

for name in ["_cosine_anneal", "_linear_anneal"]:
    assert isinstance(inspect.getattr_static(torch.optim.swa_utils.SWALR, name), staticmethod), name
    t_call.append(f"torch.optim.swa_utils.SWALR.{name}")
t_new.append("torch.optim.optimizer._RequiredParameter")
# hook holders a module's hook dicts pickle (lazy modules): plain state, the hook itself is judged on its own
t_new += ["torch.nn.modules.module._WrappedHook", "torch.utils.hooks.RemovableHandle"]
write("torch", "PyTorch tensors, storages, dtypes, layouts, built-in nn modules and optimizers, as torch.save writes them.",
      t_call, t_new, {"torch": torch.__version__})

# ---------------------------------------------------------------- numpy
import numpy
import numpy.random

n_call = []
for core in ["numpy.core", "numpy._core"]:
    n_call += [f"{core}.multiarray._reconstruct", f"{core}.multiarray.scalar", f"{core}.numeric._frombuffer"]
n_call += [
    "numpy.dtype",
    "numpy.ma.core._mareconstruct",
    "numpy.random._pickle.__randomstate_ctor",
    "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random._pickle.__generator_ctor",
]
n_new = ["numpy.ndarray", "numpy.ma.core.MaskedArray", "numpy.matrix", "numpy.recarray", "numpy.record",
         "numpy.matrixlib.defmatrix.matrix", "numpy.core.records.recarray", "numpy.core.records.record",
         "numpy.random.mtrand.RandomState", "numpy.random._generator.Generator"]
for name in ["MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64"]:
    obj = getattr(numpy.random, name, None)
    if obj is not None:
        n_new.append(qual(obj))
for t in set(numpy.sctypeDict.values()):
    # numpy scalar types pickle under the numpy module name (numpy.float64 ...)
    n_call.append(f"numpy.{t.__name__}")
for n in ["float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint64", "uint32", "uint16", "uint8",
          "bool_", "complex64", "complex128", "object_", "str_", "bytes_", "void", "datetime64", "timedelta64",
          "longlong", "ulonglong", "intc", "uintc", "longdouble", "clongdouble", "float_", "int_", "uint"]:
    n_call.append(f"numpy.{n}")
for n in ["Float64DType", "Float32DType", "Float16DType", "Int64DType", "Int32DType", "Int16DType", "Int8DType",
          "UInt64DType", "UInt32DType", "UInt16DType", "UInt8DType", "BoolDType", "Complex64DType", "Complex128DType",
          "ObjectDType", "StrDType", "BytesDType", "VoidDType", "DateTime64DType", "TimeDelta64DType",
          "LongDType", "ULongDType", "LongLongDType", "ULongLongDType", "LongDoubleDType", "CLongDoubleDType",
          "StringDType"]:
    n_new.append(f"numpy.dtypes.{n}")
# ufuncs and functions estimators hold by reference (FunctionTransformer(np.log1p), TransformedTargetRegressor,
# FeatureAgglomeration's pooling_func=np.mean): a ufunc pickles by __name__ under the first module
# pickle's whichmodule finds (numpy.core._multiarray_umath in 1.x; numpy._core._multiarray_umath or numpy in 2.x).
# Reference only; numpy.core._ufunc_reconstruct (numpy < 1.20, an import by name) is never listed.
for u in sorted({getattr(numpy, n).__name__ for n in dir(numpy) if isinstance(getattr(numpy, n), numpy.ufunc)}):
    for mod in ["numpy.core._multiarray_umath", "numpy._core._multiarray_umath", "numpy"]:
        n_new.append(f"{mod}.{u}")
n_new += ["numpy.mean", "numpy.clip"]
write("numpy", "NumPy arrays, dtypes, scalars, masked arrays and random generator states.", n_call, n_new,
      {"numpy": numpy.__version__})

# ---------------------------------------------------------------- sklearn
import sklearn
from sklearn.utils import all_estimators

s_call = []
s_new = []
skip = {"tests", "_testing", "datasets", "externals", "_build_utils", "__check_build", "experimental", "conftest",
        "_show_versions", "setup", "fixes", "_pprint", "_joblib", "parallel", "_config"}
for mod in walk(sklearn, skip):
    for name, obj in vars(mod).items():
        modname = getattr(obj, "__module__", "") or ""
        if not modname.startswith("sklearn.") or modname != mod.__name__:
            continue
        if inspect.isclass(obj):
            if issubclass(obj, BaseException):
                continue
            s_call.append(qual(obj))
        elif callable(obj) and (name.startswith("__pyx_unpickle_") or name == "newObj"):
            s_call.append(f"{mod.__name__}.{name}")
for name, cls in all_estimators():
    s_call.append(qual(cls))
# functions that call getattr(obj, <name from their arguments>): never allowed, even by reference
SKLEARN_RESOLVERS = {"sklearn.metrics._scorer._cached_call", "sklearn.metrics._plot.base._check_classifier_response_method"}
# functions model-selection objects and scorers reference (reference only: never called at load)
for mod in walk(importlib.import_module("sklearn.metrics"), skip):
    for name, obj in vars(mod).items():
        if inspect.isfunction(obj) and obj.__module__ == mod.__name__ and not name.startswith("__"):
            if qual(obj) in SKLEARN_RESOLVERS:
                continue  # getattr by a name from the data: denied (denylist.json, resolver)
            s_new.append(qual(obj))
# scikit-learn models hold SciPy sparse matrices (TfidfVectorizer, OneHotEncoder ...)
import scipy
import scipy.sparse

for name in ["csr_matrix", "csc_matrix", "coo_matrix", "bsr_matrix", "dia_matrix", "dok_matrix", "lil_matrix",
             "csr_array", "csc_array", "coo_array", "bsr_array", "dia_array", "dok_array", "lil_array"]:
    cls = getattr(scipy.sparse, name, None)
    if cls is None:
        continue
    s_new.append(qual(cls))
    short = name.split("_")[0]
    for mod in [f"scipy.sparse.{short}", f"scipy.sparse._{short}"]:
        s_new.append(f"{mod}.{name}")
# score functions and k-means kernels estimators hold by reference (SelectKBest's score_func, BisectingKMeans),
# and SplineTransformer's scipy BSpline (plain __dict__ state)
for name in ["f_classif", "f_regression", "r_regression", "chi2", "f_oneway"]:
    s_new.append(f"sklearn.feature_selection._univariate_selection.{name}")
for name in ["mutual_info_classif", "mutual_info_regression"]:
    s_new.append(f"sklearn.feature_selection._mutual_info.{name}")
s_new += ["sklearn.cluster._kmeans._kmeans_single_lloyd", "sklearn.cluster._kmeans._kmeans_single_elkan",
          "scipy.interpolate._bsplines.BSpline"]
write("sklearn", "scikit-learn estimators and the helper classes their pickles reference (Cython types, losses, trees).",
      s_call, s_new, {"scikit-learn": sklearn.__version__, "scipy": scipy.__version__})

# ---------------------------------------------------------------- pandas
# DataFrame/Series pickles (DataFrame.to_pickle, pickle.dump, joblib.dump) from pandas 1.5 with the
# pytz and dateutil time zones they hold. Vetted against /usr/lib/python3/dist-packages/pandas
# (1.5.3 .py and .pyx sources):
#  new  - the containers, extension arrays, dtypes and indexes below are rebuilt with NEWOBJ and a
#         state: NDFrame.__setstate__ (object.__setattr__ of each key, Flags(self, **flags)),
#         NDArrayBacked.__setstate__ (setattr of each key), Categorical/SparseArray.__setstate__
#         (__dict__.update, np.array([]).__setstate__ of an ndarray state), the dtypes'
#         __setstate__ (plain assignments), BlockManager/SingleBlockManager.__setstate__ (new_block,
#         ensure_index, extract_array: structural). None calls a value from its state. Arrow-backed
#         classes are left out (pyarrow IPC, not installed here to check).
#  call - rebuild functions and classes pickles call, each read in full:
#         _new_Index / _new_DatetimeIndex / _new_IntervalIndex / _new_PeriodIndex: cls.__new__,
#           cls._simple_new or cls.from_arrays of the class argument (itself judged by the policy),
#           issubclass checks, dict moves; no other argument is called
#         _libs.internals._unpickle_block -> blocks.new_block: BlockPlacement, check_ndim,
#           get_block_type(values.dtype), maybe_coerce_values: attribute reads and isinstance
#         BlockManager / SingleBlockManager(blocks, axes): integrity checks, ensure_index
#         __pyx_unpickle_NDArrayBacked / __pyx_unpickle_IntervalMixin: Cython's generated
#           rebuilders (checksum check, Base.__new__(type) of a subtype, field sets, __dict__.update)
#         _libs.sparse.IntIndex / BlockIndex(length, indices...): np.ascontiguousarray, integrity
#         tslibs.offsets classes (BaseOffset subclasses, called by BaseOffset.__reduce__ with their
#           _attributes): ints, bools, np.busdaycalendar, relativedelta; no I/O, no eval
#         PeriodDtype(freq), Period(None, freq, ordinal), Interval(left, right, closed):
#           to_offset string parsing, validation
#         _unpickle_timestamp (tz is typed tzinfo: no zone-name lookup), _timedelta_unpickle,
#           __nat_unpickle (returns the NaT constant)
#         pytz._p -> tzinfo.unpickler -> pytz.timezone(zone): reads the zone file of a name checked
#           against all_timezones_set (acceptable); pytz._UTC returns the utc singleton
#  dateutil: tzutc, tzoffset and tzlocal pickle with NEWOBJ and a plain __dict__ (new); tzfile is
#         left out: its pickle calls tzfile(None, filename), and tzfile(<str>) opens that path.
import dateutil
import dateutil.tz
import pandas
import pytz
from pandas.api.extensions import ExtensionArray, ExtensionDtype
from pandas.core.generic import NDFrame
from pandas.core.internals.managers import BaseBlockManager
import pandas._libs.tslibs.offsets as pd_offsets

p_bases = (ExtensionArray, ExtensionDtype, NDFrame, BaseBlockManager, pandas.Index)
p_skip = {"tests", "_testing", "io", "plotting", "arrow", "string_arrow", "window", "groupby", "strings"}
p_new = ["pandas._libs.missing.NA", "pandas._libs.tslibs.timestamps.Timestamp",
         "pandas._libs.tslibs.timedeltas.Timedelta", "pandas._libs.tslibs.nattype.NaTType",
         "dateutil.tz.tz.tzutc", "dateutil.tz.tz.tzoffset", "dateutil.tz.tz.tzlocal",
         "dateutil.relativedelta.relativedelta"]
p_call = [
    "pandas.core.indexes.base._new_Index",
    "pandas.core.indexes.datetimes._new_DatetimeIndex",
    "pandas.core.indexes.interval._new_IntervalIndex",
    "pandas.core.indexes.period._new_PeriodIndex",
    "pandas._libs.internals._unpickle_block",
    "pandas.core.internals.managers.BlockManager",
    "pandas.core.internals.managers.SingleBlockManager",
    "pandas._libs.arrays.__pyx_unpickle_NDArrayBacked",
    "pandas._libs.interval.__pyx_unpickle_IntervalMixin",
    "pandas._libs.sparse.IntIndex",
    "pandas._libs.sparse.BlockIndex",
    "pandas.core.dtypes.dtypes.PeriodDtype",
    "pandas._libs.tslibs.period.Period",
    "pandas._libs.interval.Interval",
    "pandas._libs.tslibs.timestamps._unpickle_timestamp",
    "pandas._libs.tslibs.timedeltas._timedelta_unpickle",
    "pandas._libs.tslibs.nattype.__nat_unpickle",
    "pytz._p",
    "pytz._UTC",
]
for name, obj in vars(pd_offsets).items():
    if inspect.isclass(obj) and issubclass(obj, pd_offsets.BaseOffset) and obj.__module__ == pd_offsets.__name__:
        if not name.startswith("_"):
            p_call.append(qual(obj))
for pkg in ["pandas.core.arrays", "pandas.core.dtypes", "pandas.core.indexes", "pandas.core.internals"]:
    for mod in walk(importlib.import_module(pkg), p_skip):
        for obj in vars(mod).values():
            if inspect.isclass(obj) and obj.__module__ == mod.__name__ and issubclass(obj, p_bases):
                p_new.append(qual(obj))
p_new += ["pandas.core.frame.DataFrame", "pandas.core.series.Series"]
# the vetted classes only: anything new with a __reduce__/__setstate__ of its own stops the generator
P_REVIEWED = {"NDArrayBacked", "Categorical", "IntervalMixin", "SparseArray", "CategoricalDtype", "DatetimeTZDtype",
              "IntervalDtype", "PeriodDtype", "NDFrame", "BlockManager", "SingleBlockManager", "Index",
              "DatetimeIndex", "IntervalIndex", "MultiIndex", "RangeIndex"}
for n in p_new:
    if not n.startswith("pandas.core."):
        continue
    mod, _, attr = n.rpartition(".")
    cls = getattr(importlib.import_module(mod), attr)
    for hook in ["__reduce__", "__reduce_ex__", "__setstate__"]:
        owner = next((k for k in cls.__mro__ if hook in vars(k)), object)
        if owner.__module__.startswith("pandas"):
            assert owner.__name__ in P_REVIEWED, f"review {owner.__module__}.{owner.__name__}.{hook} ({n})"
write("pandas", "pandas DataFrames and Series as to_pickle, pickle.dump and joblib.dump write them: block managers, "
      "indexes, extension arrays and dtypes, offsets, scalars, and their pytz/dateutil time zones (not dateutil "
      "tzfile, which opens the path it is given).",
      p_call, p_new, {"pandas": pandas.__version__, "pytz": pytz.__version__, "dateutil": dateutil.__version__})


# ---------------------------------------------------------------- library saves (networkx, gensim, nltk, statsmodels)
# Objects these libraries save with pickle (nx graphs, gensim .save(), nltk taggers and classifiers,
# statsmodels results .save()). `new`: the classes defined in the modules walked below, kept only when every
# load-time hook they inherit from the library was read and is in that library's reviewed set:
#   __new__ (NEWOBJ calls it with the pickle's arguments), __reduce__/__reduce_ex__ (what the save writes),
#   __setstate__ (BUILD calls it with the pickle's state), __getattr__/__getattribute__ (BUILD looks
#   __setstate__ up through them). A hook that opens files, imports by name, evaluates text, or calls an
#   attribute of its state (including a method of self looked up after the state was applied: BUILD may
#   have put that name in the instance __dict__) is not reviewed, so its classes are left out.
# Container hooks (append/extend/add/__setitem__) are not load-time hooks of a saved object: only APPENDS/
# SETITEMS written against the instance reach them, which these libraries never write.
# `call`: only the functions and classes real saves call (REDUCE), each read in full (listed per library).
LIB_HOOKS = ("__new__", "__reduce__", "__reduce_ex__", "__setstate__", "__getattr__", "__getattribute__")
# Protocol methods that allowed calls run on an argument (list/tuple/set/dict/str/int/Counter/FreqDist/
# pandas Index iterate, measure, format, hash or index what they are given): a BUILD-populated instance
# handed to one of them runs its class's method on the pickle's state. A library-owned one whose source
# opens files or URLs, imports, evaluates or starts processes leaves its class out (gensim's LineSentence
# and other corpus streams open `self.source` with smart_open in __iter__: a file read or an HTTP request
# at load, found by an attack review); one without Python source (compiled) is left out unless reviewed.
PROTOCOL_METHODS = ("__iter__", "__next__", "__len__", "__str__", "__repr__", "__format__", "__bytes__",
                    "__fspath__", "__index__", "__int__", "__float__", "__hash__", "__eq__", "__getitem__",
                    "__contains__", "__bool__", "keys", "items", "values")
PROTOCOL_RISKS = re.compile(
    r"\bopen\s*\(|urlopen|smart_open|\brequests\.|\bsocket\b|\bsubprocess\b|\bos\.[a-z]|\bshutil\.|"
    r"^\s*(?:from\s+\S+\s+)?import\s|__import__|importlib|\beval\s*\(|\bexec\s*\(|\bcompile\s*\(|"
    r"\bloads?\s*\(|Popen|\bsystem\s*\(|getattr\s*\(",
    re.M,
)


def risky_protocol(owner, name):
    """Whether a library-owned protocol method may reach I/O, imports or evaluation (by its source:
    a method without Python source counts as risky)."""
    try:
        src = inspect.getsource(vars(owner)[name])
    except (OSError, TypeError):
        return True
    return PROTOCOL_RISKS.search(src) is not None


def lib_classes(modules, root, reviewed):
    """The classes defined in `modules` whose library-owned load-time hooks are all in `reviewed`
    (`Owner.hook`); the others are printed and left out."""
    keep, left_out = [], []
    for mod in modules:
        for obj in vars(mod).values():
            if not inspect.isclass(obj) or obj.__module__ != mod.__name__ or issubclass(obj, BaseException):
                continue
            hooks = set()
            for hook in LIB_HOOKS:
                owner = next((k for k in obj.__mro__ if hook in vars(k)), object)
                if owner.__module__.split(".")[0] == root:
                    hooks.add(f"{owner.__qualname__}.{hook}")
            for method in PROTOCOL_METHODS:
                owner = next((k for k in obj.__mro__ if method in vars(k)), object)
                if owner.__module__.split(".")[0] == root and risky_protocol(owner, method):
                    hooks.add(f"{owner.__qualname__}.{method}")
            if hooks - reviewed:
                left_out.append(f"{qual(obj)} ({', '.join(sorted(hooks - reviewed))})")
            else:
                keep.append(qual(obj))
    for name in sorted(left_out):
        print("  left out:", name)
    return keep


def lib_modules(names, skip):
    out = []
    for name in names:
        mod = importlib.import_module(name)
        out += walk(mod, skip) if hasattr(mod, "__path__") else [mod]
    return out


# ---------------------------------------------------------------- networkx
# Graph/DiGraph/MultiGraph/MultiDiGraph pickles (pickle.dump of a graph, frozen graphs too), networkx 2.8.
# Reviewed (networkx/classes/coreviews.py, reportviews.py): AtlasView, UnionAtlas, UnionAdjacency, NodeView,
# NodeDataView, OutEdgeView, InEdgeView, InMultiEdgeView .__setstate__: plain assignments of state keys
# (OutEdgeView-likes also read `self._adjdict.items`, an attribute reference, not a call).
# Left out: OutEdgeDataView/OutMultiEdgeDataView and their subclasses, whose __setstate__ runs
# self.__init__(**state), which calls viewer._graph.nbunch_iter(nbunch) on objects from the state.
# The graph classes have no hooks of their own (NEWOBJ + __dict__ update).
# Reference only: networkx.classes.function.frozen (a frozen graph's mutators; it raises NetworkXError).
import networkx

NX_REVIEWED = {f"{c}.__setstate__" for c in ["AtlasView", "UnionAtlas", "UnionAdjacency", "NodeView", "NodeDataView",
                                             "OutEdgeView", "InEdgeView", "InMultiEdgeView"]}
x_new = lib_classes(lib_modules(["networkx.classes"], {"tests"}), "networkx", NX_REVIEWED)
x_new.append("networkx.classes.function.frozen")
write("networkx", "networkx graphs as pickle.dump writes them: Graph, DiGraph, MultiGraph, MultiDiGraph, their "
      "cached adjacency, node and edge views, frozen graphs.", [], x_new, {"networkx": networkx.__version__})

# ---------------------------------------------------------------- gensim
# Models and vectors as gensim 4.2's SaveLoad.save writes them (Word2Vec, FastText, Doc2Vec, KeyedVectors,
# FastTextKeyedVectors, LdaModel + LdaState, TfidfModel, LsiModel, Dictionary, Phrases ...): NEWOBJ + a
# __dict__ state; large arrays go to .npy sidecars (numpy files, read without allow_pickle).
# Reviewed: RpModel.__setstate__ (self.__dict__ = state; self.freshly_loaded = True); TaggedDocument and
# Heapitem .__new__ (namedtuple: tuple.__new__ of the fields). Not a load-time hook, noted for completeness:
# KeyedVectors.__setitem__ (add_vectors: numpy on the value), Doctag.__eq__ (dataclass field comparison).
# Reference only (what saved models hold): gensim.utils.call_on_class_only (raises AttributeError; the
# instance's shadow of the classmethod `load`), gensim.utils.identity (returns its argument: TfidfModel's
# wlocal), gensim.models.tfidfmodel.df2idf (arithmetic: TfidfModel's wglobal), phrases original_scorer and
# npmi_scorer (arithmetic: Phrases' scoring), builtins.hash (Word2Vec's hashfxn; hashing an object only).
import gensim

GENSIM_MODULES = ["gensim.models.word2vec", "gensim.models.fasttext", "gensim.models.doc2vec",
                  "gensim.models.keyedvectors", "gensim.models.ldamodel", "gensim.models.ldamulticore",
                  "gensim.models.tfidfmodel", "gensim.models.lsimodel", "gensim.models.rpmodel",
                  "gensim.models.logentropy_model", "gensim.models.normmodel", "gensim.models.phrases",
                  "gensim.corpora.dictionary"]
GENSIM_REVIEWED = {"RpModel.__setstate__", "TaggedDocument.__new__", "Heapitem.__new__"}
g_new = lib_classes(lib_modules(GENSIM_MODULES, {"tests"}), "gensim", GENSIM_REVIEWED)
g_new += ["gensim.utils.call_on_class_only", "gensim.utils.identity", "gensim.models.tfidfmodel.df2idf",
          "gensim.models.phrases.original_scorer", "gensim.models.phrases.npmi_scorer", "builtins.hash"]
write("gensim", "gensim models and vectors as SaveLoad.save writes them (Word2Vec, FastText, Doc2Vec, KeyedVectors, "
      "LdaModel, TfidfModel, LsiModel, Dictionary, Phrases ...), with the helper functions they hold.",
      [], g_new, {"gensim": gensim.__version__})

# ---------------------------------------------------------------- nltk
# Taggers, classifiers and probability distributions as pickle.dump writes them (nltk 3.8: the classes of
# nltk.probability, nltk.tag.{api,sequential,perceptron,hmm}, nltk.classify.{api,naivebayes,decisiontree,
# maxent}). Reviewed: ConditionalFreqDist.__reduce__ (writes ConditionalFreqDist() and its items).
# call, each read in full:
#   nltk.probability.FreqDist(samples): Counter.__init__ -> Counter.update(samples): dict.update of a mapping,
#     else counting the iterable's items (hash, __setitem__, which only resets the cached _N); no argument
#     is called (Counter.__reduce__ writes FreqDist(dict))
#   nltk.probability.ConditionalFreqDist(cond_samples=None): defaultdict.__init__(self, FreqDist), then
#     self[cond][sample] += 1 for the pairs given
import nltk

NLTK_MODULES = ["nltk.probability", "nltk.tag.api", "nltk.tag.sequential", "nltk.tag.perceptron", "nltk.tag.hmm",
                "nltk.classify.api", "nltk.classify.naivebayes", "nltk.classify.decisiontree", "nltk.classify.maxent"]
k_new = lib_classes(lib_modules(NLTK_MODULES, {"tests"}), "nltk", {"ConditionalFreqDist.__reduce__"})
k_call = ["nltk.probability.FreqDist", "nltk.probability.ConditionalFreqDist"]
write("nltk", "nltk taggers (sequential, perceptron, HMM), classifiers (naive Bayes, decision tree, maxent) and "
      "frequency/probability distributions as pickle.dump writes them.", k_call, k_new, {"nltk": nltk.__version__})

# ---------------------------------------------------------------- statsmodels
# Models and results as statsmodels 0.13.5's results.save / pickle.dump write them.
# Reviewed: ResultsWrapper.__setstate__ (__dict__.update). Not reviewed: ResultsWrapper.__getattribute__,
# whose fallback for a name the wrapper lacks (APPENDS looks up `extend`/`append` through it) calls
# results.model.data.wrap_output(...), objects of its state; so the *ResultsWrapper classes are left out.
# call: the Cython state-space objects of {s,d,c,z} prefix, read in the upstream v0.13.5 sources
# (_representation/_kalman_filter/_kalman_smoother/_simulation_smoother/_initialization.pyx.in; Debian ships
# the built modules only): each __reduce__ writes cls(*args) + a dict of arrays; __init__ takes typed
# arguments (a {prefix}Statespace, {prefix}KalmanFilter, typed memoryviews, ints, floats), validates shapes
# and allocates arrays; __setstate__ assigns typed fields and re-derives pointers. No argument is called,
# nothing is imported, evaluated or opened.
# Left out:
#   statsmodels.base.data.ModelData and subclasses (PandasData ...): with "restore_design_info" in the
#     state, __setstate__ runs patsy.dmatrices(state["formula"], ...), which evaluates the formula's terms
#     as Python code (a pickle runs a command that way); formula-free saves hold them too, so results
#     pickles stay suspicious until the engine can tell the two states apart
#   the results wrappers (above), NegativeBinomial (__setstate__ calls self._initialize() after the state
#     update), PredictionResults (__getattr__), the classes with a __new__ of their own not reviewed here, and the other Cython types
#   scipy.optimize.OptimizeResult (HoltWinters results): a dict whose __getattr__ reads its items, so the
#     __setstate__ BUILD looks up can be an item the pickle set before it
import statsmodels
import statsmodels.api  # noqa: F401  (registers the model modules)

SM_CYTHON = [("_representation", "Statespace"), ("_kalman_filter", "KalmanFilter"),
             ("_kalman_smoother", "KalmanSmoother"), ("_simulation_smoother", "SimulationSmoother"),
             ("_initialization", "Initialization")]
m_call = [f"statsmodels.tsa.statespace.{mod}.{p}{cls}" for mod, cls in SM_CYTHON for p in "sdcz"]
SM_REVIEWED = {"ResultsWrapper.__setstate__"}
SM_REVIEWED |= {f"{n.rpartition('.')[2]}.{h}" for n in m_call for h in ["__new__", "__reduce__", "__setstate__"]}
m_new = lib_classes(lib_modules(["statsmodels.base", "statsmodels.regression", "statsmodels.discrete",
                                 "statsmodels.genmod", "statsmodels.tsa", "statsmodels.tools", "statsmodels.robust"],
                                {"tests", "sandbox", "conftest", "_testing", "testing"}), "statsmodels", SM_REVIEWED)
m_new = [n for n in m_new if not n.startswith("statsmodels.base.data.")]
write("statsmodels", "statsmodels models and results as results.save and pickle.dump write them, without "
      "statsmodels.base.data's ModelData/PandasData (their __setstate__ evaluates the stored formula).",
      m_call, m_new, {"statsmodels": statsmodels.__version__})
