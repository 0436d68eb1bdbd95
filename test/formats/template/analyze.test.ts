import { describe, expect, it } from "vitest";
import { analyzeTemplate } from "../../../src/formats/template/analyze.js";
import { decodePythonEscapes, scanTemplateCode } from "../../../src/formats/template/lexical.js";

const rules = (t: string) => [...new Set(analyzeTemplate(t).findings.map((f) => f.ruleId))].sort();
const names = (t: string, rule: string) =>
  analyzeTemplate(t)
    .findings.filter((f) => f.ruleId === rule)
    .map((f) => f.evidence.name);

/** Benign templates written in the styles real chat templates use. */
const BENIGN: Record<string, string> = {
  chatml:
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  headers:
    "{{- bos_token }}{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}{%- set messages = messages[1:] %}{%- else %}{%- set system_message = '' %}{%- endif %}" +
    "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' + system_message + '<|eot_id|>' }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}",
  tools:
    "{%- set ns = namespace(found=false, last_query_index=messages|length - 1) -%}{%- if tools -%}{{- 'Tools:\\n' }}{%- for tool in tools -%}{{- tool | tojson(indent=2) }}{{- '\\n' }}{%- endfor -%}{%- endif -%}" +
    "{%- for m in messages | selectattr('role', 'equalto', 'user') | list -%}{%- set ns.found = true -%}{%- endfor -%}" +
    "{%- for message in messages -%}{%- if message.tool_calls is defined and message.tool_calls -%}{%- for call in message.tool_calls -%}{{- '<tool_call>' + call.function.name + ':' + (call.function.arguments | tojson) + '</tool_call>' }}{%- endfor -%}" +
    "{%- elif message.role == 'tool' -%}{{- '<tool_response>' + message.content + '</tool_response>' }}{%- else -%}{{- message.content.strip() }}{%- endif -%}{%- if not loop.last -%}{{- '\\n' }}{%- endif -%}{%- endfor -%}",
  macros:
    "{%- macro render(content) -%}{%- if content is string -%}{{- content -}}{%- else -%}{%- for part in content -%}{%- if part.type == 'text' -%}{{- part.text -}}{%- endif -%}{%- endfor -%}{%- endif -%}{%- endmacro -%}" +
    "{%- for message in messages -%}{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}{{- raise_exception('Conversation roles must alternate') -}}{%- endif -%}{{- render(message['content']) -}}{%- endfor -%}",
  generation:
    "{%- for message in messages -%}{%- if message['role'] == 'assistant' -%}{% generation %}{{ message['content'] }}{% endgeneration %}{%- else -%}{{ message['content'] }}{%- endif -%}{%- endfor -%}{{ strftime_now('%d %b %Y') }}",
  items:
    "{% for k, v in metadata.items() %}{{ k ~ '=' ~ v }}{% endfor %}{{ messages | map(attribute='content') | join(' ') }}{{ (messages|first).content.split(' ')[0] }}",
  cycler: "{% set row = cycler('odd', 'even') %}{% for m in messages %}{{ row.next() }}{{ m.content }}{% endfor %}",
  raw: "{% raw %}{{ ''.__class__ }}{% endraw %}{{ messages[0].content }}",
};

describe("analyzeTemplate: benign templates", () => {
  it.each(Object.entries(BENIGN))("%s has no finding above low", (_name, t) => {
    const a = analyzeTemplate(t);
    expect(a.parsed).toBe(true);
    expect(a.findings.filter((f) => f.severity !== "low")).toEqual([]);
  });

  it("reports plain cycler use at low severity only", () => {
    const f = analyzeTemplate(BENIGN.cycler ?? "").findings;
    expect(f.map((x) => [x.ruleId, x.severity])).toEqual([["template/gadget-reference", "low"]]);
  });
});

describe("analyzeTemplate: gadget classes", () => {
  it.each([
    ["attribute chain", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "template/dunder-access", "__subclasses__"],
    ["subscript", "{{ x['__globals__'] }}", "template/dunder-access", "__globals__"],
    ["attr filter", "{{ x|attr('__class__') }}", "template/dunder-access", "__class__"],
    ["map attribute", "{{ x|map(attribute='__class__')|list }}", "template/dunder-access", "__class__"],
    ["dotted attribute", "{{ x|selectattr('__class__.__name__')|list }}", "template/dunder-access", "__name__"],
    ["map attr filter", "{{ x|map('attr', '__dict__')|list }}", "template/dunder-access", "__dict__"],
    ["global dunder", "{{ __builtins__ }}", "template/dunder-access", "__builtins__"],
    ["str.format field", "{{ '{0.__class__}'.format(x) }}", "template/dunder-access", "__class__"],
    ["concatenation", "{{ x|attr('__cla' + 'ss__') }}", "template/obfuscated-name", "__class__"],
    ["tilde", "{% set a = '__glo' ~ 'bals__' %}{{ cycler.__init__[a] }}", "template/obfuscated-name", "__globals__"],
    [
      "percent format filter",
      "{{ x|attr('%c%cclass%c%c'|format(95,95,95,95)) }}",
      "template/obfuscated-name",
      "__class__",
    ],
    ["percent operator", "{{ x|attr('%sclass%s' % ('__', '__')) }}", "template/obfuscated-name", "__class__"],
    ["join", "{{ x|attr(['__', 'class', '__']|join) }}", "template/obfuscated-name", "__class__"],
    ["method join", "{{ x|attr(''.join(['__', 'class__'])) }}", "template/obfuscated-name", "__class__"],
    ["replace", "{{ x|attr('XXclassXX'|replace('XX', '__')) }}", "template/obfuscated-name", "__class__"],
    ["reverse slice", "{{ x|attr('__ssalc__'[::-1]) }}", "template/obfuscated-name", "__class__"],
    ["reverse filter", "{{ x|attr('__ssalc__'|reverse) }}", "template/obfuscated-name", "__class__"],
    ["upper/lower", "{{ x|attr('__CLASS__'|lower) }}", "template/obfuscated-name", "__class__"],
    ["repeat", "{{ x|attr('_' * 2 ~ 'class' ~ '_' * 2) }}", "template/obfuscated-name", "__class__"],
    ["hex escapes", "{{ x['\\x5f\\x5fclass\\x5f\\x5f'] }}", "template/obfuscated-name", "__class__"],
    ["unicode escapes", "{{ x['\\u005f\\u005fclass\\u005f\\u005f'] }}", "template/obfuscated-name", "__class__"],
    ["octal escapes", "{{ x['\\137\\137class\\137\\137'] }}", "template/obfuscated-name", "__class__"],
    ["dict keyword", "{{ dict(__class__=1)|list|first }}", "template/obfuscated-name", "__class__"],
    [
      "loop variable",
      "{% for n in ['__cla', 'ss__'] %}{% endfor %}{{ x[n ~ n] }}",
      "template/obfuscated-name",
      "__class__",
    ],
    [
      "fragments through namespace",
      "{% set ns = namespace(s='') %}{% for p in ['__glo', 'bals__'] %}{% set ns.s = ns.s ~ p %}{% endfor %}{{ y[ns.s] }}",
      "template/obfuscated-name",
      "__globals__",
    ],
    ["staged string", "{% set n = '__subclasses__' %}{{ run(n) }}", "template/dunder-string", "__subclasses__"],
    [
      "private attribute",
      "{{ self._TemplateReference__context }}",
      "template/private-attribute",
      "_TemplateReference__context",
    ],
    ["dynamic attr", "{{ x|attr(messages[0].content) }}", "template/dynamic-attribute", "attr() filter"],
    ["lipsum", "{{ lipsum.__globals__ }}", "template/gadget-reference", "lipsum"],
    ["self", "{{ self }}", "template/gadget-reference", "self"],
    ["request", "{{ request.application }}", "template/gadget-reference", "request"],
    ["config", "{{ config.items() }}", "template/gadget-reference", "config"],
    ["namespace as object", "{{ namespace.__init__ }}", "template/gadget-reference", "namespace"],
    ["os subscript", "{{ g['os'] }}", "template/code-execution-name", "os"],
    ["popen", "{{ x.popen('id').read() }}", "template/code-execution-name", "popen"],
    ["eval", "{{ eval('1') }}", "template/code-execution-name", "eval"],
    ["include", "{% include 'x.jinja' %}", "template/external-template", "include"],
    ["import", "{% import 'x.jinja' as x %}", "template/external-template", "import"],
    ["extends", "{% extends 'base.jinja' %}", "template/external-template", "extends"],
  ])("%s", (_label, t, rule, name) => {
    expect(names(t, rule), JSON.stringify(analyzeTemplate(t).findings)).toContain(name);
  });

  it("flags the CVE-2024-34359 payload with every class it uses", () => {
    const t =
      "{% for x in ().__class__.__base__.__subclasses__() %}{% if \"warning\" in x.__name__ %}{{x()._module.__builtins__['__import__']('os').popen(\"touch /tmp/x\")}}{%endif%}{% endfor %}";
    expect(rules(t)).toEqual(["template/code-execution-name", "template/dunder-access", "template/private-attribute"]);
    expect(analyzeTemplate(t).parsed).toBe(true);
  });

  it("analyses constructs the parser lacks through rewrites (with, do, recursive loops, empty tuples)", () => {
    for (const t of [
      "{% with a = ().__class__ %}{{ a }}{% endwith %}",
      "{% do x.update({'k': ''.__class__}) %}",
      "{% for m in messages recursive %}{{ m.__class__ }}{% endfor %}",
    ]) {
      const a = analyzeTemplate(t);
      expect(a.parsed, t).toBe(true);
      expect(names(t, "template/dunder-access"), t).toContain("__class__");
    }
  });
});

describe("analyzeTemplate: robustness", () => {
  it("falls back to a token scan, reports unparseable, and still finds gadgets", () => {
    const t = "{% trans %}{{ x.__class__ }}{% endtrans %}{{ lipsum }}";
    const a = analyzeTemplate(t);
    expect(a.parsed).toBe(false);
    const r = rules(t);
    expect(r).toContain("template/unparseable");
    expect(r).toContain("template/dunder-access");
    expect(r).toContain("template/gadget-reference");
  });

  it("does not crash or hang on deep nesting, long inputs and garbage", () => {
    const deep = `{{ ${"(".repeat(20000)}1${")".repeat(20000)} }}`;
    expect(rules(deep)).toEqual(["template/unparseable"]);
    const nots = `{{ ${"not ".repeat(5000)} x }}`;
    expect(() => analyzeTemplate(nots)).not.toThrow();
    const ifs = `${"{% if x %}".repeat(3000)}${"{% endif %}".repeat(3000)}`;
    expect(rules(ifs)).toEqual(["template/unparseable"]);
    expect(() => analyzeTemplate("{{ {{ }} }} {% %} {# ")).not.toThrow();
    const big = "{{ x }}".repeat(10);
    expect(analyzeTemplate(big, { maxLength: 20 }).findings.map((f) => f.ruleId)).toEqual(["template/unparseable"]);
  });

  it("stops at the node budget", () => {
    const t = "{{ a }}".repeat(2000);
    expect(analyzeTemplate(t, { maxNodes: 100 }).findings.map((f) => f.evidence.via)).toContain("budget");
  });
});

describe("lexical helpers", () => {
  it("decodes Python escapes as Jinja does and notices needless ones", () => {
    expect(decodePythonEscapes("\\x5f\\u005f\\137\\N{LOW LINE}a\\n")).toEqual({
      value: "____a\n",
      needlessEscape: true,
      exact: true,
    });
    expect(decodePythonEscapes("a\\nb\\'")).toEqual({ value: "a\nb'", needlessEscape: false, exact: true });
    expect(decodePythonEscapes("\\q")).toEqual({ value: "\\q", needlessEscape: false, exact: true });
  });

  it("collects literals from code regions only, skipping comments and raw blocks", () => {
    const scan = scanTemplateCode(
      "text '__class__' {# '__init__' #}{{ 'a' ~ \"b\" }}{% raw %}{{ '__x__' }}{% endraw %}{% set y = 'c' %}",
    );
    expect(scan.literals.map((l) => l.value)).toEqual(["a", "b", "c"]);
    expect(scan.statements).toEqual(["raw", "set"]);
  });
});

describe("analyzeTemplate: cost on hostile input", () => {
  it("does not hang on unterminated statements, raw blocks and huge inputs (regression guard)", () => {
    const M = 1 << 20;
    for (const t of [
      "{% do x ".repeat(M / 8),
      "{% raw %}".repeat(M / 9),
      "{% for x in y %}".repeat(M / 16),
      "{{ '".repeat(M / 4),
      "x".repeat(4 * M),
    ]) {
      const t0 = performance.now();
      analyzeTemplate(t);
      expect(performance.now() - t0).toBeLessThan(5_000);
    }
  });

  it("finds a dunder assembled one character at a time beyond the folding depth", () => {
    const chars = [..."__subclasses__"].map((c) => `'${c}'`);
    const t = `{% set n = ${Array.from({ length: 4 }, () => chars.join(" ~ ")).join(" ~ ")} %}{{ x[n] }}`;
    expect(names(t, "template/obfuscated-name")).toContain("__subclasses__");
  });
});
