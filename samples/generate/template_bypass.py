#!/usr/bin/python3
"""Writes samples/template-bypass/: chat templates that reach Python internals with attribute
names no literal spells, which once scanned `clean`:

- dict-keys.gguf: GGUF `tokenizer.chat_template` building `__init__`/`__globals__` from keyword
  names (`dict(globals=1)|list|first`, `'_' = dict(_=1)|list|first`), aliasing `namespace` with
  `{% set c = namespace %}` and calling `c[i][g][o][p](...)` with the keys in variables. An
  unsandboxed `jinja2.Environment` (llama-cpp-python < 0.2.72) runs the command.
- dict-keys-config/: the same template as `chat_template` in tokenizer_config.json.
- dict-keys-jinja/: the same template as chat_template.jinja.
- join-alias.gguf: the names joined from list literals of keyword names (`[u, u, dict(init=1)|first,
  u, u]|join`) through a `{% with %}` alias of `cycler`.
- tojson-keys.gguf: the names cut out of `dict(...)|tojson` output.
- urlencode-keys.gguf: the names cut out of `dict(...)|urlencode`, which the analysis does not fold:
  the subscripts of the `namespace` alias by keys it cannot evaluate are what is reported.
- macro-param.gguf: `namespace` passed to a macro whose parameter is subscripted by `|urlencode` keys.
- legit-builtins.gguf: a benign template using namespace(), dict(), range() and dict keys (must
  stay clean).

Payloads are harmless (`echo modelgate-bypass-sample`); nothing is executed here. Run from the
repository root with /usr/bin/python3.
"""
import json
import os
import shutil
import struct

OUT = os.path.join("samples", "template-bypass")
CMD = "echo modelgate-bypass-sample"
LOOP = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
expected = {}


def gguf(template):
    def s(b):
        b = b.encode() if isinstance(b, str) else b
        return struct.pack("<Q", len(b)) + b

    kvs = [("general.architecture", "llama"), ("tokenizer.chat_template", template)]
    out = b"GGUF" + struct.pack("<I", 3) + struct.pack("<Q", 0) + struct.pack("<Q", len(kvs))
    for k, v in kvs:
        out += s(k) + struct.pack("<I", 8) + s(v)
    return out


def put(path, data):
    full = os.path.join(OUT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def expect(case, verdict, rules=(), absent=()):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    expected[f"template-bypass/{case}"] = entry


if os.path.isdir(OUT):
    shutil.rmtree(OUT)

DICT_KEYS = (
    "{% set u = dict(_=1)|list|first %}"
    "{% set g = u*2 ~ dict(globals=1)|list|first ~ u*2 %}"
    "{% set i = u*2 ~ dict(init=1)|list|first ~ u*2 %}"
    "{% set o = dict(os=1)|list|first %}{% set p = dict(popen=1)|list|first %}"
    "{% set c = namespace %}{% set x = c[i][g][o][p]('" + CMD + "') %}" + LOOP
)
put("dict-keys.gguf", gguf(DICT_KEYS))
expect("dict-keys.gguf", "malicious", ["template/dunder-access", "template/obfuscated-name", "template/gadget-reference"])
put("dict-keys-config/tokenizer_config.json", json.dumps({"eos_token": "</s>", "chat_template": DICT_KEYS}, indent=1) + "\n")
expect("dict-keys-config", "malicious", ["template/dunder-access", "template/obfuscated-name"])
put("dict-keys-jinja/chat_template.jinja", DICT_KEYS)
expect("dict-keys-jinja", "malicious", ["template/dunder-access", "template/obfuscated-name"])

JOIN_ALIAS = (
    "{% set u = dict(_=1)|first %}"
    "{% with c = cycler, i = [u, u, dict(init=1)|first, u, u]|join, g = (u, u, dict(globals=1)|first, u, u)|join %}"
    "{% set x = c[i][g][dict(os=1)|first][dict(popen=1)|first]('" + CMD + "') %}{% endwith %}" + LOOP
)
put("join-alias.gguf", gguf(JOIN_ALIAS))
expect("join-alias.gguf", "malicious", ["template/dunder-access", "template/obfuscated-name", "template/gadget-reference"])

# `{"globals": 1}`[2:9] is "globals": the names are cut out of tojson output.
TOJSON = (
    "{% set u = (dict(_=1)|tojson)[2] %}"
    "{% set g = u*2 ~ (dict(globals=1)|tojson)[2:9] ~ u*2 %}"
    "{% set i = u*2 ~ (dict(init=1)|tojson)[2:6] ~ u*2 %}"
    "{% set c = namespace %}{% set x = c[i][g][(dict(os=1)|tojson)[2:4]][(dict(popen=1)|tojson)[2:7]]('" + CMD + "') %}" + LOOP
)
put("tojson-keys.gguf", gguf(TOJSON))
expect("tojson-keys.gguf", "malicious", ["template/dunder-access", "template/obfuscated-name", "template/gadget-reference"])

# `dict(globals=1)|urlencode` is "globals=1": urlencode is not folded, so the keys stay unknown and
# the subscripts of the `namespace` alias by them are what is reported.
URLENCODE = (
    "{% set u = (dict(_=1)|urlencode)[0] %}"
    "{% set g = u*2 ~ (dict(globals=1)|urlencode)[:7] ~ u*2 %}"
    "{% set i = u*2 ~ (dict(init=1)|urlencode)[:4] ~ u*2 %}"
    "{% set c = namespace %}{% set x = c[i][g][(dict(os=1)|urlencode)[:2]][(dict(popen=1)|urlencode)[:5]]('" + CMD + "') %}" + LOOP
)
put("urlencode-keys.gguf", gguf(URLENCODE))
expect("urlencode-keys.gguf", "malicious", ["template/dynamic-attribute", "template/gadget-reference"])

MACRO = (
    "{% macro run(c, i, g) %}{{ c[i][g][(dict(os=1)|urlencode)[:2]][(dict(popen=1)|urlencode)[:5]]('" + CMD + "').read() }}{% endmacro %}"
    "{% set u = (dict(_=1)|urlencode)[0] %}"
    "{{ run(namespace, u*2 ~ (dict(init=1)|urlencode)[:4] ~ u*2, u*2 ~ (dict(globals=1)|urlencode)[:7] ~ u*2) }}" + LOOP
)
put("macro-param.gguf", gguf(MACRO))
expect("macro-param.gguf", "malicious", ["template/dynamic-attribute", "template/gadget-reference"])

LEGIT = (
    "{% set ns = namespace(system='', count=0) %}"
    "{% set prefix = dict(system='<|system|>', user='<|user|>', assistant='<|assistant|>') %}"
    "{% for k in prefix %}{% set ns.count = ns.count + (k|length) %}{% endfor %}"
    "{% for i in range(messages|length) %}{% set m = messages[i] %}"
    "{% if m['role'] == 'system' %}{% set ns.system = m['content'] %}{% else %}{{ prefix[m['role']] ~ m['content'] ~ eos_token }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ prefix['assistant'] }}{% endif %}"
)
put("legit-builtins.gguf", gguf(LEGIT))
expect("legit-builtins.gguf", "clean")

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
