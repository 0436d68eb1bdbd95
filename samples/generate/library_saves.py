#!/usr/bin/python3
"""Writes samples/library-saves/: objects data scientists save with pickle and publish (models on the
Hugging Face Hub, graphs and taggers next to notebooks), made by the real libraries (Debian python3-gensim
4.2, python3-networkx 2.8, python3-nltk 3.8, python3-statsmodels 0.13.5), and a few that must not pass:

- networkx/: Graph, DiGraph, MultiGraph, MultiDiGraph and a frozen graph (pickle.dump, protocols 2 and 5):
  clean through the `networkx` profile.
- gensim/: Word2Vec, FastText, Doc2Vec, LdaModel (+ its .state and .id2word sidecars), TfidfModel,
  Dictionary and KeyedVectors .save() files, and the .npy sidecar of a save with sep_limit=0: clean
  through the `gensim` profile.
- nltk/: naive Bayes and decision-tree classifiers, a perceptron tagger, a bigram tagger with backoff
  (pickle.dump): clean through the `nltk` profile.
- statsmodels/ols_np.pickle: an OLS results .save() of numpy data: suspicious, only for
  statsmodels.base.data.ModelData and RegressionResultsWrapper, which the `statsmodels` profile leaves
  out on purpose (ModelData.__setstate__ can evaluate a formula; the wrapper's __getattribute__ fallback
  calls objects of its state).
- statsmodels/pandasdata_formula_eval.pickle: a PandasData whose state asks __setstate__ to rebuild the
  design from a formula carrying a Python call (patsy evaluates it when statsmodels' load_pickle reads
  the file from a function): never clean (suspicious, PandasData is not allowlisted). The call only
  touches a file under /tmp; nothing here runs it.
- gensim/w2v_os_system.model: a Word2Vec .save() whose state also holds os.system: malicious.
- nltk/tagger_eval.pickle: a PerceptronTagger whose state holds builtins.eval("...") called while loading:
  malicious.

Run from the repository root with /usr/bin/python3.
"""
import json
import os
import pickle
import shutil
import warnings

warnings.filterwarnings("ignore")

import networkx as nx
import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.base.data as sm_data
from gensim.corpora import Dictionary
from gensim.models import FastText, LdaModel, TfidfModel, Word2Vec
from gensim.models.doc2vec import Doc2Vec, TaggedDocument
from nltk.classify import DecisionTreeClassifier, NaiveBayesClassifier
from nltk.tag import BigramTagger, DefaultTagger, UnigramTagger
from nltk.tag.perceptron import PerceptronTagger

OUT = os.path.join("samples", "library-saves")
shutil.rmtree(OUT, ignore_errors=True)
for sub in ("networkx", "gensim", "nltk", "statsmodels"):
    os.makedirs(os.path.join(OUT, sub))
expected = {}
CLEAN_ABSENT = ["pickle/unknown-global", "pickle/dangerous-global", "pickle/monkeypatch"]


def expect(rel, verdict, rules=None, absent=None):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = rules
    if absent:
        entry["absentRules"] = absent
    expected[f"library-saves/{rel}"] = entry


def dump(rel, obj, protocol):
    with open(os.path.join(OUT, rel), "wb") as f:
        pickle.dump(obj, f, protocol=protocol)


# ---------------------------------------------------------------- networkx
g = nx.Graph(name="g")
g.add_edge(1, 2, w=1.5)
g.add_edge(2, 3, w=0.5)
dg = nx.DiGraph()
dg.add_edge("a", "b", weight=1.5, label="x")
dg.nodes["a"]["color"] = "red"
mg = nx.MultiGraph()
mg.add_edge(1, 2, key="k1", w=1)
mg.add_edge(1, 2, key="k2", w=2)
mdg = nx.MultiDiGraph(nx.path_graph(3))
for name, obj, proto in (("graph.p2.pkl", g, 2), ("digraph.p5.pkl", dg, 5), ("multigraph.p2.pkl", mg, 2),
                         ("multidigraph.p5.pkl", mdg, 5), ("frozen.p4.pkl", nx.freeze(nx.path_graph(3)), 4)):
    # the cached views (adj, nodes, edges) are pickled when they were used
    _ = obj.adj, obj.nodes, obj.edges
    dump(f"networkx/{name}", obj, proto)
    expect(f"networkx/{name}", "clean", absent=CLEAN_ABSENT)

# ---------------------------------------------------------------- gensim
sents = [["the", "cat", "sat"], ["the", "dog", "ran"], ["a", "cat", "and", "a", "dog"]] * 3
kw = dict(vector_size=4, min_count=1, epochs=1, workers=1, seed=1)
gp = lambda n: os.path.join(OUT, "gensim", n)  # noqa: E731
w2v = Word2Vec(sents, **kw)
w2v.save(gp("w2v.model"))
FastText(sents, bucket=10, **kw).save(gp("fasttext.model"))
Doc2Vec([TaggedDocument(s, [i]) for i, s in enumerate(sents)], **kw).save(gp("d2v.model"))
dct = Dictionary(sents)
dct.save(gp("dictionary.dict"))
bow = [dct.doc2bow(s) for s in sents]
LdaModel(bow, id2word=dct, num_topics=2, passes=1, random_state=1).save(gp("lda.model"))
TfidfModel(bow).save(gp("tfidf.model"))
w2v.wv.save(gp("w2v.kv"))
w2v.wv.save(gp("w2v_sep.kv"), sep_limit=0)
for name in sorted(os.listdir(os.path.join(OUT, "gensim"))):
    expect(f"gensim/{name}", "clean", absent=CLEAN_ABSENT)
w2v.__dict__["callback_hook"] = os.system  # a planted name: pickle imports it (gensim never calls it)
w2v.save(gp("w2v_os_system.model"))
expect("gensim/w2v_os_system.model", "malicious", rules=["pickle/dangerous-global"])

# ---------------------------------------------------------------- nltk
train = [({"len": 3, "first": "a"}, "x"), ({"len": 5, "first": "b"}, "y"), ({"len": 3, "first": "b"}, "x")] * 2
tagged = [[("the", "DT"), ("cat", "NN"), ("sat", "VBD")], [("a", "DT"), ("dog", "NN"), ("ran", "VBD")]]
pt = PerceptronTagger(load=False)
pt.train(tagged, nr_iter=1)
ut = UnigramTagger(tagged, backoff=DefaultTagger("NN"))
for name, obj, proto in (("naivebayes.p2.pickle", NaiveBayesClassifier.train(train), 2),
                         ("decisiontree.p4.pickle", DecisionTreeClassifier.train(train), 4),
                         ("perceptron_tagger.p4.pickle", pt, 4),
                         ("bigram_tagger.p2.pickle", BigramTagger(tagged, backoff=ut), 2)):
    dump(f"nltk/{name}", obj, proto)
    expect(f"nltk/{name}", "clean", absent=CLEAN_ABSENT)


class _Eval:
    def __reduce__(self):
        return (eval, ("__import__('os').system('touch /tmp/library-saves-pwned')",))


pt.__dict__["classes"] = _Eval()
dump("nltk/tagger_eval.pickle", pt, 4)
expect("nltk/tagger_eval.pickle", "malicious", rules=["pickle/dangerous-global"])

# ---------------------------------------------------------------- statsmodels
rng = np.random.RandomState(1)
x = rng.randn(8)
res = sm.OLS(2 * x + rng.randn(8) * 0.1, sm.add_constant(x)).fit()
res.save(os.path.join(OUT, "statsmodels", "ols_np.pickle"), remove_data=True)
expect("statsmodels/ols_np.pickle", "suspicious", rules=["pickle/unknown-global"],
       absent=["pickle/dangerous-global", "pickle/monkeypatch"])
pdata = sm_data.PandasData.__new__(sm_data.PandasData)
pdata.__dict__.update({"restore_design_info": True, "frame": pd.DataFrame({"y": [1.0, 2.0], "x": [1.0, 3.0]}),
                       "formula": "y ~ x + __import__('os').system('touch /tmp/library-saves-pwned')"})
dump("statsmodels/pandasdata_formula_eval.pickle", pdata, 2)
expect("statsmodels/pandasdata_formula_eval.pickle", "suspicious", rules=["pickle/unknown-global"])

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(OUT) for n in ns)
print(len(expected), "samples,", total, "bytes")
