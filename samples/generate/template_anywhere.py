#!/usr/bin/python3
"""Writes samples/template-anywhere/: Jinja chat templates in JSON and YAML files that are not
tokenizer_config.json / chat_template.json / processor configs, which once scanned `clean` (only
those file names were searched for templates):

- config-json/config.json: `chat_template` in a model config (the CVE-2024-34359 payload shape:
  `catch_warnings` found through `__subclasses__`, `__builtins__['__import__']('os')`).
- nested-custom/tokenizer_config.json: a benign `chat_template`, and the payload nested under
  `model.custom_chat_template` (the gadget chain `cycler.__init__.__globals__.os.popen`).
- list-shape/serving_config.json: transformers' `[{name, template}]` shape, the `tool_use` template
  spelling `__globals__` with string escapes (`\\x5f\\x5f`).
- prompt-template/prompt_config.json: a `prompt_template` reaching `os` through `lipsum.__globals__`.
- config-yaml/config.yaml: `chat_template` in YAML, through `self._TemplateReference__context`.
- nested-yaml/inference.yaml: `serving.templates[1].template`, names built from keyword names
  (`dict(globals=1)|list|first`): no dunder is spelled.
- loose-json/settings.json, loose-yaml/params.yaml: the payload under keys that do not say
  template (`system_prompt`, `prompt`): a string that renders as Jinja is analysed wherever it is.
- benign-config-json/, benign-config-yaml/, benign-placeholders/: real-looking configs with benign
  chat templates, Hydra interpolations, prompt placeholders (`{{ question }}`, `{{ config.name }}`),
  i18n `{{count}}`, Go templates (`{{ .Prompt }}`) and a GitHub workflow (`${{ runner.os }}`):
  must stay clean, without any finding.

JSON is written with `json`, YAML with `yaml.safe_dump`. Payloads are harmless (`echo
modelgate-template-sample`). The generator proves each malicious template runs its command: it
renders a copy whose command is `touch <temporary file>` with a plain
`jinja2.Environment(loader=BaseLoader(), trim_blocks=True, lstrip_blocks=True)` (as llama-cpp-python
< 0.2.72 rendered chat templates) and checks the file appeared; the benign templates render without
running anything. Run from the repository root with /usr/bin/python3.
"""
import json
import os
import shutil
import tempfile

import jinja2
import yaml

OUT = os.path.join("samples", "template-anywhere")
CMD = "echo modelgate-template-sample"
LOOP = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
expected = {}


def render(template):
    env = jinja2.Environment(loader=jinja2.BaseLoader(), trim_blocks=True, lstrip_blocks=True)
    return env.from_string(template).render(
        messages=[{"role": "user", "content": "hi"}],
        add_generation_prompt=True,
        bos_token="<s>",
        eos_token="</s>",
        raise_exception=lambda m: None,
    )


def prove(template):
    """Renders `template` (its command replaced by `touch <temp file>`) as llama-cpp-python did."""
    with tempfile.TemporaryDirectory() as tmp:
        marker = os.path.join(tmp, "ran")
        render(template.replace(CMD, "touch " + marker))
        if not os.path.exists(marker):
            raise SystemExit("template-anywhere: jinja2 did not run the command of %r" % template[:80])
    return template


def benign(template):
    """Renders a benign template: it must render, and run nothing."""
    render(template)
    return template


def put(path, data):
    full = os.path.join(OUT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        if path.endswith(".json"):
            json.dump(data, f, indent=2)
            f.write("\n")
        elif path.endswith((".yaml", ".yml")):
            yaml.safe_dump(data, f, sort_keys=False, width=4096)
        else:
            f.write(data)


def expect(case, verdict, rules=()):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    expected[f"template-anywhere/{case}"] = entry


if os.path.isdir(OUT):
    shutil.rmtree(OUT)

CVE = prove(
    "{% for c in [].__class__.__base__.__subclasses__() %}{% if c.__name__ == 'catch_warnings' %}"
    "{{ c()._module.__builtins__['__import__']('os').system('" + CMD + "') }}{% endif %}{% endfor %}" + LOOP
)
GADGET = prove("{{ cycler.__init__.__globals__.os.popen('" + CMD + "').read() }}" + LOOP)
HEX = prove("{{ joiner.__init__['\\x5f\\x5fglobals\\x5f\\x5f'].os.popen('" + CMD + "').read() }}" + LOOP)
LIPSUM = prove("{% set o = lipsum.__globals__['os'] %}{{ o.popen('" + CMD + "').read() }}" + LOOP)
SELF = prove("{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('" + CMD + "').read() }}" + LOOP)
DICT_KEYS = prove(
    "{% set u = dict(_=1)|list|first %}"
    "{% set g = u*2 ~ dict(globals=1)|list|first ~ u*2 %}"
    "{% set i = u*2 ~ dict(init=1)|list|first ~ u*2 %}"
    "{% set o = dict(os=1)|list|first %}{% set p = dict(popen=1)|list|first %}"
    "{% set c = namespace %}{% set x = c[i][g][o][p]('" + CMD + "').read() %}" + LOOP
)
BENIGN = benign(
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}<|system|>\n"
    "{{ message['content'] }}{% elif message['role'] == 'user' %}<|user|>\n{{ message['content'] }}"
    "{% else %}<|assistant|>\n{{ message['content'] }}{{ eos_token }}{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
TOOLS = benign(
    "{% set ns = namespace(system='') %}{% for m in messages %}{% if m['role'] == 'system' %}"
    "{% set ns.system = m['content'] %}{% endif %}{% endfor %}{{ ns.system }}" + LOOP
)

MODEL = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 2048,
    "num_attention_heads": 32,
    "num_hidden_layers": 22,
    "vocab_size": 32000,
    "torch_dtype": "bfloat16",
}

put("config-json/config.json", {**MODEL, "chat_template": CVE})
expect("config-json", "malicious", ["template/dunder-access"])

put(
    "nested-custom/tokenizer_config.json",
    {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "tokenizer_class": "LlamaTokenizer",
        "chat_template": BENIGN,
        "model": {"custom_chat_template": GADGET},
    },
)
expect("nested-custom", "malicious", ["template/dunder-access", "template/code-execution-name"])

put(
    "list-shape/serving_config.json",
    {"max_batch_size": 8, "chat_template": [{"name": "default", "template": BENIGN}, {"name": "tool_use", "template": HEX}]},
)
expect("list-shape", "malicious", ["template/dunder-access", "template/obfuscated-name"])

put("prompt-template/prompt_config.json", {"temperature": 0.7, "prompt_template": LIPSUM})
expect("prompt-template", "malicious", ["template/dunder-access"])

put("config-yaml/config.yaml", {"model_name": "tiny-llama", "max_length": 2048, "chat_template": SELF})
expect("config-yaml", "malicious", ["template/private-attribute"])

put(
    "nested-yaml/inference.yaml",
    {"serving": {"port": 8080, "templates": [{"name": "default", "template": BENIGN}, {"name": "tools", "template": DICT_KEYS}]}},
)
expect("nested-yaml", "malicious", ["template/dunder-access", "template/obfuscated-name"])

put("loose-json/settings.json", {"generation": {"max_new_tokens": 256, "system_prompt": GADGET}})
expect("loose-json", "malicious", ["template/dunder-access"])

put("loose-yaml/params.yaml", {"pipeline": {"steps": [{"name": "format", "prompt": DICT_KEYS}]}})
expect("loose-yaml", "malicious", ["template/dunder-access", "template/obfuscated-name"])

put("benign-config-json/config.json", {**MODEL, "chat_template": BENIGN})
put(
    "benign-config-json/generation_config.json",
    {"bos_token_id": 1, "eos_token_id": 2, "max_length": 2048, "prompt": "Answer {{ question }} using {{ context }}."},
)
expect("benign-config-json", "clean")

put(
    "benign-config-yaml/config.yaml",
    {
        "paths": {"root": "/data"},
        "model": {"name": "tiny-llama", "path": "${paths.root}/models/${model.name}"},
        "chat_template": TOOLS,
        "prompt_templates": {"qa": "Question: {{ question }}\nAnswer:", "summary": "Summarise {text} in {n} words."},
        "evaluation": {"prompt": "{{ config.name }} on {{ dataset }} ({{ doc._id }})"},
    },
)
expect("benign-config-yaml", "clean")

put(
    "benign-placeholders/ci.yml",
    {
        "name": "test",
        "on": ["push"],
        "jobs": {
            "test": {
                "runs-on": "${{ matrix.os }}",
                "strategy": {"matrix": {"os": ["ubuntu-latest", "macos-latest"]}},
                "steps": [
                    {"uses": "actions/checkout@v4"},
                    {
                        "uses": "actions/cache@v4",
                        "with": {
                            "path": "~/.cache/pip",
                            "key": "${{ runner.os }}-pip-${{ hashFiles('**/requirements.txt') }}",
                        },
                    },
                    {"run": "pytest", "env": {"TOKEN": "${{ secrets.HF_TOKEN }}"}},
                ],
            }
        },
    },
)
put(
    "benign-placeholders/messages.json",
    {
        "items": "{{count}} items",
        "welcome": "Hello {{ name }}, you have {{ unread }} messages",
        "ollama": "{{ if .System }}<|system|>{{ .System }}{{ end }}{{ .Prompt }}",
        "braces": "use {{ and }} around a name",
    },
)
expect("benign-placeholders", "clean")

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
