#!/usr/bin/python3
"""Writes samples/pandas-statsmodels/: files data scientists publish next to models, made by the real
tools (Debian python3-pandas 1.5, python3-statsmodels, python3-dill), that once scanned as false
positives, and two that must stay malicious:

- pandas/: DataFrame and Series pickles (DataFrame.to_pickle) of several dtypes (object, categorical,
  pytz and dateutil time zones, nullable, interval, period, sparse, MultiIndex, timedelta, object
  scalars: Timestamp, Timedelta, Period, Interval, NaT, NA, offsets) and compressions (gzip, bz2, xz,
  zip): the `pandas` profile allows them (clean).
- pandas/frame.z3.joblib: joblib.dump(DataFrame, compress=3) (clean).
- pandas/object_os_system.pkl: a DataFrame whose object column holds os.system (malicious: pickle
  imports it; pandas itself never calls it, but the name is what an attacker would plant).
- statsmodels/ols.pickle: an OLS results .save(): the results wrappers pickle their docstring as
  `__doc__` in the instance state (no pickle/monkeypatch); statsmodels classes are not allowlisted
  (suspicious, unknown globals).
- dill/: dill data pickles (a dict, a numpy array through dill._dill._create_array, a DataFrame whose
  slices come from dill._dill._load_type('slice')): clean; lambda.dill.pkl: a lambda pickled by value
  (malicious: dill rebuilds code).

Nothing here runs a payload. Run from the repository root with /usr/bin/python3.
"""
import json
import os
import pickle
import shutil
import warnings

warnings.filterwarnings("ignore")

import dateutil.tz
import dill
import joblib
import numpy as np
import pandas as pd
import statsmodels.api as sm

OUT = os.path.join("samples", "pandas-statsmodels")
shutil.rmtree(OUT, ignore_errors=True)
for sub in ("pandas", "statsmodels", "dill"):
    os.makedirs(os.path.join(OUT, sub))
N = 4
expected = {}


def expect(rel, verdict, rules=None, absent=None):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = rules
    if absent:
        entry["absentRules"] = absent
    expected[f"pandas-statsmodels/{rel}"] = entry


CLEAN_ABSENT = ["pickle/unknown-global", "pickle/dangerous-global", "pickle/monkeypatch"]

# ---------------------------------------------------------------- pandas
frames = {
    "basic": pd.DataFrame({"i": np.arange(N), "f": np.linspace(0, 1, N), "b": [True, False] * 2,
                           "o": ["a", 1, None, b"y"]}),
    "categorical": pd.DataFrame({"c": pd.Categorical(list("abab")),
                                 "co": pd.Categorical(list("lmhl"), categories=list("lmh"), ordered=True)}),
    "datetime_tz": pd.DataFrame({"naive": pd.date_range("2020-01-01", periods=N),
                                 "paris": pd.date_range("2020-01-01", periods=N, tz="Europe/Paris"),
                                 "utc": pd.date_range("2020-01-01", periods=N, tz="UTC"),
                                 "offset": pd.date_range("2020-01-01", periods=N, tz=dateutil.tz.tzoffset("X", 3600))}),
    "nullable": pd.DataFrame({"I": pd.array([1, None, 3, 4], dtype="Int64"),
                              "B": pd.array([True, None, False, True], dtype="boolean"),
                              "S": pd.array(["a", None, "c", "d"], dtype="string"),
                              "F": pd.array([1.0, None, 3, 4], dtype="Float64")}),
    "interval_period": pd.DataFrame({"iv": pd.interval_range(0, N),
                                     "p": pd.period_range("2020-01", periods=N, freq="M")}),
    "sparse_timedelta": pd.DataFrame({"sp": pd.arrays.SparseArray([0, 1, 0, 2]),
                                      "td": pd.to_timedelta(np.arange(N), unit="h")}),
    "multiindex": pd.DataFrame({"v": np.arange(N)}, index=pd.MultiIndex.from_product([["x", "y"], [1, 2]])),
    "freq_index": pd.Series(np.arange(N), index=pd.date_range("2021-01-01", periods=N, freq="H", tz="US/Eastern")),
    "object_scalars": pd.Series([pd.Timestamp("2020-01-01", tz="UTC"), pd.Timedelta("1s"), pd.Period("2020Q1"),
                                 pd.Interval(0, 1), pd.NaT, pd.NA, pd.offsets.BDay(2),
                                 pd.offsets.DateOffset(months=2)], dtype=object),
}
writes = [
    ("basic", "basic.p2.pkl", 2, None),
    ("basic", "basic.p5.pkl.gz", 5, {"method": "gzip", "mtime": 0}),
    ("categorical", "categorical.p4.pkl.bz2", 4, "bz2"),
    ("datetime_tz", "datetime_tz.p4.pkl", 4, None),
    ("datetime_tz", "datetime_tz.p2.pkl.xz", 2, "xz"),
    ("nullable", "nullable.p5.pkl.zip", 5, "zip"),
    ("interval_period", "interval_period.p4.pkl", 4, None),
    ("sparse_timedelta", "sparse_timedelta.p3.pkl", 3, None),
    ("multiindex", "multiindex.p4.pkl", 4, None),
    ("freq_index", "freq_index.p5.pkl", 5, None),
    ("object_scalars", "object_scalars.p4.pkl", 4, None),
]
for key, name, proto, comp in writes:
    frames[key].to_pickle(os.path.join(OUT, "pandas", name), protocol=proto, compression=comp or "infer")
    expect(f"pandas/{name}", "clean", absent=CLEAN_ABSENT)
joblib.dump(frames["nullable"], os.path.join(OUT, "pandas", "frame.z3.joblib"), compress=3)
expect("pandas/frame.z3.joblib", "clean", absent=CLEAN_ABSENT)

evil = pd.DataFrame({"a": [1, 2], "o": [os.system, "x"]})
evil.to_pickle(os.path.join(OUT, "pandas", "object_os_system.pkl"), protocol=4)
expect("pandas/object_os_system.pkl", "malicious", rules=["pickle/dangerous-global"])

# ---------------------------------------------------------------- statsmodels
rng = np.random.RandomState(1)
x = rng.randn(12)
data = pd.DataFrame({"x": x, "y": 2 * x + rng.randn(12) * 0.1})
res = sm.OLS(data.y, sm.add_constant(data[["x"]])).fit()
res.save(os.path.join(OUT, "statsmodels", "ols.pickle"), remove_data=True)
expect("statsmodels/ols.pickle", "suspicious", rules=["pickle/unknown-global"],
       absent=["pickle/monkeypatch", "pickle/dangerous-global"])

# ---------------------------------------------------------------- dill
with open(os.path.join(OUT, "dill", "dict.dill.p4.pkl"), "wb") as f:
    dill.dump({"a": 1, "b": [1.5, "x", None], "arr": np.arange(5), "t": (1, 2), "s": {1, 2}}, f, protocol=4)
with open(os.path.join(OUT, "dill", "array.dill.pkl"), "wb") as f:
    dill.dump(np.ones((3, 3)), f)
with open(os.path.join(OUT, "dill", "frame.dill.pkl"), "wb") as f:
    dill.dump(frames["basic"], f)
for name in ("dict.dill.p4.pkl", "array.dill.pkl", "frame.dill.pkl"):
    expect(f"dill/{name}", "clean", absent=CLEAN_ABSENT + ["pickle/dynamic-call"])
with open(os.path.join(OUT, "dill", "lambda.dill.pkl"), "wb") as f:
    dill.dump(lambda v: v * 2, f)
expect("dill/lambda.dill.pkl", "malicious", rules=["pickle/dangerous-global"])

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(OUT) for n in ns)
print(len(expected), "samples,", total, "bytes")
