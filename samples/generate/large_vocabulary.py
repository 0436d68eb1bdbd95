#!/usr/bin/python3
"""Writes samples/vocabulary/: scikit-learn text models with large vocabularies, saved by joblib and
pickle (Debian python3-sklearn, -joblib, -numpy), and expected.json.

A fitted vectorizer's vocabulary memoises hundreds of thousands of words before the objects after
it first name their modules and attributes; every later use of such a name is a memo GET of an
entry past the pickle engine's detail budget (65,536 entries kept in full, as many more in the far
part). The benign samples must be clean; the malicious one hides `os.system`'s names among the
vocabulary's words (interned strs, so the pickler memoises them there and the global is two memo
GETs), and must be malicious with the callee named.

Run from the repository root with /usr/bin/python3. The corpus is generated (seeded): no data file.
"""
import json
import os
import pickle
import random
import subprocess
import sys
import warnings

warnings.filterwarnings("ignore")

import joblib
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union

ROOT = os.path.join("samples", "vocabulary")
EXPECTED = {}
MARK = b"modelgate-sample"


def path(rel):
    p = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def expect(rel, verdict, rules=(), callee=None):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if callee is not None:
        entry["callee"] = callee
    EXPECTED[f"vocabulary/{rel}"] = entry


def words(n, seed):
    """`n` distinct lowercase pseudo-words (what CountVectorizer's default tokens look like)."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    seen = set()
    out = []
    while len(out) < n:
        w = "".join(rng.choice(letters) for _ in range(rng.randint(3, 9)))
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


def corpus(vocab, docs, tail):
    """Documents using every word of `vocab` once, in order, then `tail` words in the last one."""
    per = -(-len(vocab) // docs)
    out = [" ".join(vocab[i : i + per]) for i in range(0, len(vocab), per)]
    out[-1] += " " + " ".join(tail)
    return out


def loads(rel, runs=False):
    """Loads the sample with joblib in a child CPython; `runs` says whether the payload must run."""
    code = "import joblib,sys; joblib.load(sys.argv[1])"
    r = subprocess.run([sys.executable, "-c", code, path(rel)], capture_output=True, timeout=300)
    ran = MARK in r.stdout or MARK in r.stderr
    if ran != runs or (not runs and r.returncode != 0):
        raise SystemExit(f"{rel}: payload {'did not run' if runs else 'ran'}: {r.stderr[-400:]!r}")


# Names the objects after the vocabulary use (numpy's modules, sklearn's attribute names) are also
# words of the corpus, first seen at its end: the pickler memoises them inside the vocabulary.
NAMES = ["numpy", "dtype", "ndarray", "core", "multiarray", "reconstruct", "int64", "float64", "coef", "classes"]

vocab = words(140_000, 20261207)
texts = corpus(vocab, 1_400, NAMES)
labels = [i % 2 for i in range(len(texts))]

# A text classifier: CountVectorizer -> TfidfTransformer -> LogisticRegression. The vectorizer's
# dtype names numpy.int64 after the vocabulary; each array after it GETs numpy's names.
clf = make_pipeline(CountVectorizer(dtype="int64"), TfidfTransformer(), LogisticRegression(max_iter=20))
clf.fit(texts, labels)
assert len(clf[0].vocabulary_) > 131_072
joblib.dump(clf, path("text_classifier.joblib"), compress=3)
expect("text_classifier.joblib", "clean")
loads("text_classifier.joblib")

# Two vectorizers side by side, plain pickle: the second one's attribute names are memo GETs past
# the budget.
union = make_union(CountVectorizer(), CountVectorizer(analyzer="char_wb", ngram_range=(2, 2))).fit(texts)
with open(path("feature_union.pkl"), "wb") as f:
    pickle.dump(union, f, protocol=4)
expect("feature_union.pkl", "clean")


class Payload:
    """`os.system(...)` on load; its module and name are interned strs the vocabulary also holds."""

    def __reduce__(self):
        return (os.system, ("echo modelgate-sample",))


# The vocabulary holds the interned strs 'posix' and 'system' (as os.system pickles them) past the
# memo's detail budget; the payload's STACK_GLOBAL is two memo GETs of them.
hidden = {sys.intern(w): i for i, w in enumerate(vocab[:135_000])}
hidden[sys.intern(os.system.__module__)] = len(hidden)
hidden[sys.intern("system")] = len(hidden)
joblib.dump({"vocabulary_": hidden, "hook": Payload()}, path("malicious/vocabulary_hook.joblib"), compress=3)
expect("malicious/vocabulary_hook.joblib", "malicious", rules=["pickle/dangerous-global"], callee="posix.system")
loads("malicious/vocabulary_hook.joblib", runs=True)

with open(os.path.join(ROOT, "expected.json"), "w") as f:
    json.dump(EXPECTED, f, indent=1, sort_keys=True)
    f.write("\n")
count = sum(len(files) for _, _, files in os.walk(ROOT))
print(f"{ROOT}: {count} files", file=sys.stderr)
