#!/usr/bin/python3
"""Writes samples/pickle-protocol/: pickles in which the unpickler's own operations, or an allowed
callable, run library methods of an allowlisted class on pickled state (src/formats/pickle/protocol.ts,
rule pickle/protocol-method), and benign pickles of the same classes written by the real libraries.

Attacks (real library objects pickled by pickle.dumps, with opcodes appended by hand where no pickler
writes the shape):
- df-setitem-callable-key.pkl: a pandas DataFrame, then SETITEMS {builtins.type: 7} on it.
  pickle.load runs DataFrame.__setitem__, which calls a callable key with the frame
  (`com.apply_if_callable`): `type(df)` runs and becomes a column name. Any name the allowlist lets a
  pickle reference is called that way, with the frame as argument.
- df-setitem-column.pkl: the same DataFrame with SETITEMS {'injected': 1}: DataFrame.__setitem__ runs
  (pandas code: column insertion and its conversions) on a pickled value.
- list-linesentence.pkl: builtins.list(x) where x is a gensim LineSentence made by NEWOBJ (no
  __init__) whose state sets `source`: list() runs LineSentence.__iter__, which opens the source with
  smart_open (a local file here: /etc/hostname; an URL makes an HTTP request).
- modulelist-appends.pkl: a torch nn.ModuleList, then APPENDS [None]: pickle.load calls
  ModuleList.extend (torch code: add_module) with pickled items; the list grows to two entries.
- bunch-appends-extend.pkl: a scikit-learn Bunch given the item 'extend': builtins.type, then APPENDS
  [1]: pickle.load looks `extend` up through Bunch.__getattr__, which returns the item, and calls it
  (`type([1])`): any referenced name is called with the appended items.

Benign (written by the real libraries, must stay clean): a DataFrame, a Series with a categorical and a
MultiIndex, the stdlib containers (OrderedDict, Counter, defaultdict, deque), a scikit-learn Bunch, an
nltk ConditionalFreqDist, dicts keyed by pandas offsets, Timestamps and extension dtypes, a torch
nn.Sequential.
Run from the repository root with /usr/bin/python3; nothing is executed here.
"""
import collections
import io
import json
import os
import pickle
import pickletools

OUT = os.path.join("samples", "pickle-protocol")
expected = {}


def put(name, data, verdict, rules=None, absent=None):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    e = {"verdict": verdict}
    if rules:
        e["rules"] = rules
    if absent:
        e["absentRules"] = absent
    expected[f"pickle-protocol/{name}"] = e


def before_stop(data, extra):
    """The pickle with `extra` opcodes run on the top of the stack before STOP (frames removed)."""
    body = pickletools.optimize(data)
    assert body.endswith(b".")
    return body[:-1] + extra + b"."


def global_op(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def short_str(s):
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


os.makedirs(OUT, exist_ok=True)

# ---------------------------------------------------------------- attacks
import pandas as pd

df = pd.DataFrame({"a": [1, 2, 3]})
frame = pickle.dumps(df, protocol=4)
put("df-setitem-callable-key.pkl",
    before_stop(frame, b"(" + global_op("builtins", "type") + b"K\x07u"),
    "malicious", ["pickle/protocol-method"])
put("df-setitem-column.pkl",
    before_stop(frame, b"(" + short_str("injected") + b"K\x01u"),
    "suspicious", ["pickle/protocol-method"])

# list(LineSentence.__new__(LineSentence) with __dict__ {source, max_sentence_length, limit})
state = (b"}(" + short_str("source") + short_str("/etc/hostname") + short_str("max_sentence_length")
         + b"M\x10'" + short_str("limit") + b"Nu")
line_sentence = global_op("gensim.models.word2vec", "LineSentence") + b")\x81" + state + b"b"
put("list-linesentence.pkl",
    b"\x80\x04" + global_op("builtins", "list") + b"(" + line_sentence + b"tR.",
    "malicious", ["pickle/protocol-method", "pickle/unknown-global"])

import torch

ml = torch.nn.ModuleList([torch.nn.Linear(2, 2)])
put("modulelist-appends.pkl", before_stop(pickle.dumps(ml, protocol=4), b"(Ne"),
    "suspicious", ["pickle/protocol-method"])

from sklearn.utils import Bunch

bunch = pickle.dumps(Bunch(data=[1, 2]), protocol=4)
put("bunch-appends-extend.pkl",
    before_stop(bunch, b"(" + short_str("extend") + global_op("builtins", "type") + b"u(K\x01e"),
    "suspicious", ["pickle/protocol-method"])

# ---------------------------------------------------------------- benign
put("df-benign.pkl", pickle.dumps(df, protocol=5), "clean")
s = pd.Series(pd.Categorical(["x", "y", "x"]),
              index=pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)]))
put("series-benign.pkl", pickle.dumps(s, protocol=4), "clean")
containers = {
    "od": collections.OrderedDict([("a", 1), ("b", [1, 2])]),
    "counter": collections.Counter("abracadabra"),
    "dd": collections.defaultdict(list, {"k": [1, 2]}),
    "deque": collections.deque([1, 2, 3], maxlen=5),
    "set": {1, 2, 3},
    "fs": frozenset({"a", "b"}),
}
put("containers-benign.pkl", pickle.dumps(containers, protocol=2), "clean")

put("bunch-benign.pkl", pickle.dumps(Bunch(data=[1, 2], target_names=["a", "b"]), protocol=4), "clean")

import nltk

cfd = nltk.probability.ConditionalFreqDist([("a", "x"), ("a", "y"), ("b", "x")])
put("nltk-cfd-benign.pkl", pickle.dumps(cfd, protocol=4), "clean")

keyed = {pd.offsets.MonthEnd(): 1, pd.Timestamp("2024-01-01"): 2, pd.offsets.Day(3): 3}
put("pandas-keys-benign.pkl", pickle.dumps(keyed, protocol=4), "clean")
put("dtype-keys-benign.pkl", pickle.dumps({pd.Int64Dtype(): 1, pd.CategoricalDtype(["a"]): 2}, protocol=4), "clean")

buf = io.BytesIO()
torch.save(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU()), buf)
put("sequential-benign.pt", buf.getvalue(), "clean")

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
