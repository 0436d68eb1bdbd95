#!/usr/bin/python3
"""Writes samples/gguf-bypass/: GGUF chat templates the GGUF analyzer once under-rated. The files
are built with `struct` from the GGUF v3 specification (gguf-py is not installed here), as
llama.cpp's writer lays them out: header, key/values, no tensors.

- array-template.gguf: `tokenizer.chat_template` stored as a one-element string array whose
  template starts after 5,000 spaces. transformers' GGUF loader (`load_gguf_checkpoint`) turns a
  one-element array into the string it holds and uses it as the tokenizer's chat template; modelgate
  kept only 4 KiB of array strings and reported the wrong key type alone (medium).
- array-template-long.gguf: `tokenizer.chat_template.tool_use` as a 100-element string array
  whose last element carries the payload (arrays over 64 elements were not kept at all). No loader
  is known to render it; it is analysed because a template key's value may be rendered whole.
- token-vars.gguf: the template uses the special tokens as attribute names,
  `cycler|attr(bos_token)|attr(eos_token)`, with the vocabulary's BOS/EOS texts `__init__` and
  `__globals__`. llama-cpp-python (< 0.2.72, unsandboxed jinja2) renders with `bos_token` and
  `eos_token` set to those texts and reaches `cycler.__init__.__globals__` (the module's globals,
  `os` included); modelgate analysed the template without the variables (medium).
- token-vars-default.gguf: the same without `tokenizer.ggml.bos_token_id`/`eos_token_id`: for a
  `llama` (SentencePiece) vocabulary llama.cpp uses ids 1 and 2.
- benign-token-vars.gguf: ordinary special tokens and a template printing them (must stay clean).
- benign-array-template.gguf: a benign one-element template array (only the key-type finding).

Payloads are harmless (`echo modelgate-bypass-sample`, or printing the globals). Run from the
repository root with /usr/bin/python3. With `--verify`, each payload is rendered with jinja2 the
way the loader named above does (a plain `jinja2.Environment`), which runs the echo command.
"""
import json
import os
import shutil
import struct
import sys

OUT = os.path.join("samples", "gguf-bypass")
CMD = "echo modelgate-bypass-sample"
LOOP = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SSTI = "{{ cycler.__init__.__globals__.os.popen('" + CMD + "').read() }}"
ATTR_VARS = "{{ cycler|attr(bos_token)|attr(eos_token) }}" + LOOP
STRING, ARRAY, UINT32 = 8, 9, 4
expected = {}
renders = []


def s(b):
    b = b.encode() if isinstance(b, str) else b
    return struct.pack("<Q", len(b)) + b


def kv(key, value):
    if isinstance(value, str):
        return s(key) + struct.pack("<I", STRING) + s(value)
    if isinstance(value, int):
        return s(key) + struct.pack("<I", UINT32) + struct.pack("<I", value)
    return s(key) + struct.pack("<IIQ", ARRAY, STRING, len(value)) + b"".join(s(v) for v in value)


def gguf(pairs):
    return b"GGUF" + struct.pack("<IQQ", 3, 0, len(pairs)) + b"".join(kv(k, v) for k, v in pairs)


def put(path, data):
    full = os.path.join(OUT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)


def expect(case, verdict, rules=(), absent=()):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    expected[f"gguf-bypass/{case}"] = entry


def vocab(tokens, ids=None, model="llama"):
    pairs = [("general.architecture", "llama"), ("tokenizer.ggml.model", model), ("tokenizer.ggml.tokens", tokens)]
    return pairs + sorted((ids or {}).items())


if os.path.isdir(OUT):
    shutil.rmtree(OUT)

BASE = vocab(["<unk>", "<s>", "</s>"], {"tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2})

array_item = " " * 5000 + SSTI + LOOP
put("array-template.gguf", gguf(BASE + [("tokenizer.chat_template", [array_item])]))
expect("array-template.gguf", "malicious", ["template/dunder-access", "gguf/key-type-mismatch"])
renders.append(("array-template.gguf", array_item, "<s>", "</s>", "modelgate-bypass-sample"))

long_items = [LOOP] * 99 + [SSTI]
put("array-template-long.gguf", gguf(BASE + [("tokenizer.chat_template.tool_use", long_items)]))
expect("array-template-long.gguf", "malicious", ["template/dunder-access", "gguf/key-type-mismatch"])

DUNDER_VOCAB = ["<unk>", "__init__", "__globals__", "a", "b"]
put(
    "token-vars.gguf",
    gguf(
        vocab(DUNDER_VOCAB, {"tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2})
        + [("tokenizer.chat_template", ATTR_VARS)]
    ),
)
expect("token-vars.gguf", "malicious", ["template/dunder-access", "template/dunder-string"])
renders.append(("token-vars.gguf", ATTR_VARS, "__init__", "__globals__", "<module 'os'"))

put("token-vars-default.gguf", gguf(vocab(DUNDER_VOCAB) + [("tokenizer.chat_template", ATTR_VARS)]))
expect("token-vars-default.gguf", "malicious", ["template/dunder-access", "template/dunder-string"])

put(
    "benign-token-vars.gguf",
    gguf(
        vocab(["<unk>", "<s>", "</s>", "a"], {"tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2})
        + [("tokenizer.chat_template", LOOP)]
    ),
)
expect("benign-token-vars.gguf", "clean")

put("benign-array-template.gguf", gguf(BASE + [("tokenizer.chat_template", [LOOP])]))
expect(
    "benign-array-template.gguf",
    "suspicious",
    ["gguf/key-type-mismatch"],
    ["template/dunder-access", "template/dynamic-attribute", "template/unparseable"],
)

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")

if "--verify" in sys.argv:
    import jinja2

    env = jinja2.Environment(loader=jinja2.BaseLoader(), trim_blocks=True, lstrip_blocks=True)
    for name, template, bos, eos, want in renders:
        out = env.from_string(template).render(
            messages=[{"role": "user", "content": "hi"}], bos_token=bos, eos_token=eos, add_generation_prompt=True
        )
        assert want in out, (name, out[:300])
        print(f"{name}: rendered, output holds {want!r}")
