#!/usr/bin/python3
"""Writes samples/yaml-loaders/: YAML configs whose payload only PyYAML, OmegaConf or Hydra's
reading reveals, and expected.json (found by an attack review).

- *_comment_tag.yaml: a comment ended by CR, NEL, LS or PS (PyYAML breaks lines there; a YAML 1.2
  parser does not), then a python/object/apply tag: yaml.unsafe_load runs it (checked here).
- ls_comment_target.yaml: the same with a Hydra `_target_: os.system` hidden after an LS.
- oc_create_target.yaml: `${oc.create:{_target_: os.system, ...}}` builds the node when the config
  is resolved, before Hydra instantiates it.
- trust_remote_code.yaml: an allowed loader (`AutoModel.from_pretrained`) instantiated with
  `trust_remote_code: true` (not run here: no transformers; it imports the repository's code).
- oc_create_list.yaml: a plain list built by oc.create: reported, not malicious.

The Hydra runs use a stand-in of `hydra.utils.instantiate` (hydra-core is not packaged in Debian):
resolve the config with OmegaConf (Debian python3-omegaconf), then import and call every `_target_`
with its `_args_`, nested nodes first, as hydra 1.3's `instantiate` does. Payloads are `echo`.
Run from the repository root with /usr/bin/python3 (Debian python3-yaml, python3-omegaconf).
"""
import importlib
import io
import json
import os
import subprocess
import sys
import contextlib

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf

ROOT = os.path.join("samples", "yaml-loaders")
MARK = "modelgate-sample"
EXPECTED = {}


def locate(path):
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
            break
        except ImportError:
            continue
    for p in parts[i:]:
        obj = getattr(obj, p)
    return obj


def instantiate(node):
    if isinstance(node, ListConfig):
        return [instantiate(x) for x in node]
    if isinstance(node, DictConfig):
        if "_target_" in node:
            args = [instantiate(a) for a in node.get("_args_", [])]
            kwargs = {k: instantiate(node[k]) for k in node if not str(k).startswith("_")}
            return locate(node["_target_"])(*args, **kwargs)
        return {k: instantiate(node[k]) for k in node}
    return node


def ran(fn):
    """Whether `fn()` makes the payload print (in a child shell: os.system's output is captured)."""
    r, w = os.pipe()
    saved = os.dup(1)
    os.dup2(w, 1)
    try:
        with contextlib.suppress(Exception):
            fn()
    finally:
        os.dup2(saved, 1)
        os.close(w)
    out = os.read(r, 65536).decode(errors="replace")
    os.close(r)
    return MARK in out


def write(rel, text, verdict, rules=(), proof=None):
    path = os.path.join(ROOT, rel)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    if proof is not None and not ran(lambda: proof(path)):
        raise SystemExit(f"{rel}: the payload did not run")
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    EXPECTED[f"yaml-loaders/{rel}"] = entry


def unsafe_load(path):
    with open(path, encoding="utf-8") as f:
        yaml.unsafe_load(f)


def hydra(path):
    cfg = OmegaConf.load(path)
    OmegaConf.resolve(cfg)
    instantiate(cfg)


os.makedirs(ROOT, exist_ok=True)
for name, brk in (("cr", "\r"), ("nel", "\u0085"), ("ls", "\u2028"), ("ps", "\u2029")):
    text = f'model:\n  name: tiny # note{brk}  hook: !!python/object/apply:os.system ["echo {MARK}"]\n'
    write(f"{name}_comment_tag.yaml", text, "malicious", ["yaml/python-tag"], unsafe_load)
write(
    "ls_comment_target.yaml",
    f"model:\n  name: tiny # note\u2028  hook:\u2028    _target_: os.system\u2028    _args_: ['echo {MARK}']\n",
    "malicious",
    ["yaml/hydra-target"],
    hydra,
)
write(
    "oc_create_target.yaml",
    f"model:\n  window: \"${{oc.create:{{_target_: os.system, _args_: ['echo {MARK}']}}}}\"\n",
    "malicious",
    ["yaml/hydra-target", "yaml/custom-resolver"],
    hydra,
)
write(
    "trust_remote_code.yaml",
    "model:\n  _target_: transformers.models.auto.modeling_auto.AutoModel.from_pretrained\n"
    "  pretrained_model_name_or_path: someone/model\n  trust_remote_code: true\n",
    "malicious",
    ["yaml/hydra-target"],
)
write("oc_create_list.yaml", "sizes: \"${oc.create:[1, 2, 3]}\"\n", "suspicious", ["yaml/custom-resolver"])

with open(os.path.join(ROOT, "expected.json"), "w") as f:
    json.dump(EXPECTED, f, indent=1, sort_keys=True)
    f.write("\n")
print(f"{ROOT}: {len(EXPECTED)} samples", file=sys.stderr)
