/**
 * Templates the analysis once read differently from Jinja and scanned clean while a plain
 * `jinja2.Environment` (llama-cpp-python < 0.2.72) ran their command: `{% raw %}` found inside a
 * comment or a string literal (real code deleted), statement heads whose expression was dropped
 * (`{% autoescape EXPR %}`), literals the parser's preprocessing changed (`{% generation %}` inside
 * a string), text whose value depends on `trim_blocks`, and subscript keys taken from template
 * text (macro output, `caller()`, block `set`). The samples in samples/template-bypass/ prove each
 * payload runs with jinja2.
 */
import { describe, expect, it } from "vitest";
import { analyzeTemplate, type TemplateFinding } from "../../../src/formats/template/analyze.js";
import { scanTemplateCode } from "../../../src/formats/template/lexical.js";

const PAYLOAD = "cycler.__init__.__globals__.os.popen('touch /tmp/x').read()";
const findings = (t: string): TemplateFinding[] => [...analyzeTemplate(t).findings];
const has = (t: string, rule: string, name?: string) =>
  findings(t).some((f) => f.ruleId === rule && (name === undefined || f.evidence.name === name));
const high = (t: string) =>
  findings(t).some(
    (f) =>
      ["template/dunder-access", "template/obfuscated-name"].includes(f.ruleId) ||
      (f.ruleId === "template/dynamic-attribute" && f.severity === "high"),
  );

describe("the parser reads the regions Jinja's lexer reads", () => {
  it.each([
    ["raw opener in a comment", `{# {% raw %} #}{{ ${PAYLOAD} }}{# {% endraw %} #}`],
    ["raw opener in a string literal", `{{ '{% raw %}' }}{{ ${PAYLOAD} }}{{ '{% endraw %}' }}`],
    ["raw opener in a statement's string", `{% set a = "{% raw %}" %}{{ ${PAYLOAD} }}{% set b = "{% endraw %}" %}`],
    ["raw opener in a comment, with trim signs", `{#- {%- raw -%} -#}{{- ${PAYLOAD} -}}{#- {%- endraw -%} -#}`],
    [
      "a real raw block before a commented one",
      `{% raw %}x{% endraw %}{# {% raw %} #}{{ ${PAYLOAD} }}{# {% endraw %} #}`,
    ],
    ["a statement end inside a string", `{% set x = '%}' %}{{ ${PAYLOAD} }}`],
    ["an expression end inside nested braces", `{{ {'a': {'b': 1}} ~ ${PAYLOAD} }}`],
  ])("%s", (_label, t) => {
    expect(has(t, "template/dunder-access", "__globals__")).toBe(true);
    expect(has(t, "template/code-execution-name", "popen")).toBe(true);
  });

  it("a raw block is still inert", () => {
    const t = "{% raw %}{{ ''.__class__ }}{% endraw %}{{ messages[0].content }}";
    expect(findings(t)).toEqual([]);
  });

  it("scans regions as Jinja does: comments, raw blocks, balanced braces", () => {
    const scan = scanTemplateCode("a{# {% raw %} #}{{ {'k': {'j': 1}} }}{%- raw -%} {{ x }} {%- endraw %}b");
    expect(scan.regions.map((r) => r.kind)).toEqual(["text", "comment", "expr", "raw", "text"]);
    const raw = scan.regions[3];
    expect(raw?.kind === "raw" ? raw.content : undefined).toBe("{{ x }}");
  });
});

describe("statements whose expression Jinja evaluates", () => {
  it.each([
    ["autoescape", `{% autoescape ${PAYLOAD} %}{% endautoescape %}`],
    ["autoescape with a body", `{% autoescape ${PAYLOAD} is none %}{{ messages[0].content }}{% endautoescape %}`],
    ["include", `{% include ${PAYLOAD} %}`],
    ["include ignore missing", `{% include ${PAYLOAD} ignore missing with context %}`],
    ["import", `{% import ${PAYLOAD} as m %}`],
    ["from import", `{% from ${PAYLOAD} import a, b as c %}`],
    ["extends", `{% extends ${PAYLOAD} %}`],
    ["print", `{% print ${PAYLOAD} %}`],
    ["with", `{% with x = ${PAYLOAD} %}{{ x }}{% endwith %}`],
    ["block", `{% block b scoped %}{{ ${PAYLOAD} }}{% endblock %}`],
  ])("%s", (_label, t) => {
    const a = analyzeTemplate(t);
    expect(a.parsed).toBe(true);
    expect(a.findings.some((f) => f.ruleId === "template/dunder-access" && f.evidence.name === "__globals__")).toBe(
      true,
    );
  });

  it("a for loop's filter is parsed and analysed", () => {
    const ok =
      "{%- for tool in tools %}{%- for key, val in tool.items() if key != \"return\" %}{{ key ~ '=' ~ val|tojson }}{%- endfor %}{%- endfor %}" +
      "{% for m in messages if m.role != 'system' recursive %}{{ m.content }}{% endfor %}";
    expect(analyzeTemplate(ok)).toEqual({ findings: [], parsed: true });
    const evil = `{% for m in messages if ${PAYLOAD} %}{{ m.content }}{% endfor %}`;
    expect(has(evil, "template/dunder-access", "__globals__")).toBe(true);
    expect(analyzeTemplate(evil).parsed).toBe(true);
  });

  it("an autoescape expression with no literal dunder is still folded", () => {
    const t = "{% autoescape raise_exception|attr('__glo' ~ 'bals__') %}{% endautoescape %}";
    expect(has(t, "template/dunder-access", "__globals__")).toBe(true);
  });
});

describe("string literals have the values Python decodes", () => {
  it("a {% generation %} inside a string literal stays in its value", () => {
    const t =
      "{% set a = 'x{% generation %}__' %}{% set u = a[17:19] %}" +
      "{% set g = 'x{% generation %}globals' %}{{ raise_exception|attr(u ~ g[17:] ~ u) }}";
    expect(has(t, "template/dunder-access", "__globals__")).toBe(true);
  });

  it("real {% generation %} markers are still dropped", () => {
    const t =
      "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% endif %}{% endfor %}";
    expect(analyzeTemplate(t)).toEqual({ findings: [], parsed: true });
  });

  it("a \\N{…} escape whose name is not known here makes the template unparseable", () => {
    const t = "{{ raise_exception|attr('\\N{KELVIN SIGN}'|lower) }}";
    expect(has(t, "template/unparseable", "escape")).toBe(true);
    expect(has("{{ x['\\N{LOW LINE}'] }}", "template/unparseable")).toBe(false);
  });
});

describe("text whose value depends on whitespace control", () => {
  it("a block set's text is checked as trim_blocks renders it", () => {
    const t =
      "{% set u %}\n__{% endset %}{% set g %}\nglobals{% endset %}{{ (raise_exception|attr(u ~ g ~ u))|length }}";
    expect(has(t, "template/dunder-access", "__globals__")).toBe(true);
  });

  it("and as lstrip_blocks renders it", () => {
    const t = "{% set e %}\n  {% endset %}{{ raise_exception|attr(dict(_=1)|first ~ '_' ~ e ~ 'globals' ~ '__') }}";
    expect(has(t, "template/dunder-access", "__globals__")).toBe(true);
  });
});

describe("newlines and whitespace as Jinja's lexer reads them", () => {
  it.each([
    ["\\r\\n", "\r\n"],
    ["a lone \\r", "\r"],
  ])("a block set after %s is checked as its normalised text", (_label, nl) => {
    const t = `{% set u %}${nl}__{% endset %}{{ raise_exception|attr(u ~ 'globals' ~ u) }}`;
    expect(has(t, "template/dunder-access", "__globals__")).toBe(true);
  });

  it("whitespace-control signs strip the text next to them before the parser sees it", () => {
    const t = "{% set u %}__   \n  {%- endset %}{{ raise_exception|attr(u ~ 'globals' ~ u) }}";
    expect(has(t, "template/dunder-access", "__globals__")).toBe(true);
  });

  it("braces in code are not taken for delimiters", () => {
    const t = `{% set d = {'a': {'b': 1}} %}{{ {'k': {'j': 2}}|length ~ ${PAYLOAD} }}`;
    expect(has(t, "template/dunder-access", "__globals__")).toBe(true);
    expect(analyzeTemplate(t).parsed).toBe(true);
  });

  it.each([
    ["text", `a${" ".repeat(150_000)}b`],
    ["a string literal", `{{ '${" ".repeat(150_000)}' }}`],
    ["a raw block", `{% raw %}${" ".repeat(150_000)}{% endraw %}`],
    ["code", `{{ a${" ".repeat(150_000)}}}`],
  ])("a long whitespace run in %s is analysed in linear time", (_label, t) => {
    const start = performance.now();
    analyzeTemplate(t);
    expect(performance.now() - start).toBeLessThan(5_000);
  });
});

describe("subscript keys taken from template text", () => {
  it.each([
    [
      "macro output",
      "{% macro a() %}__class__{% endmacro %}{% macro b() %}__base__{% endmacro %}{% macro c() %}__subclasses__{% endmacro %}" +
        "{% for m in messages %}{{ m.content[a()][b()][c()]()|length }}{% endfor %}",
    ],
    [
      "block set with control flow",
      "{% set k %}{% if true %}__class__{% endif %}{% endset %}{% for m in messages %}{{ m.content[k] }}{% endfor %}",
    ],
    [
      "caller()",
      "{% macro m() %}{{ messages[0].content[caller()] }}{% endmacro %}{% call m() %}__class__{% endcall %}",
    ],
    ["the text of a function", "{{ messages[0].content[(raise_exception|string)[10:18]] }}"],
  ])("%s", (_label, t) => {
    expect(has(t, "template/dynamic-attribute")).toBe(true);
  });
});

describe("the token-level scan runs on parsed templates too", () => {
  it("reports what it sees in code regions, without taking locals for globals", () => {
    const t = "{% set config = {'a': 1} %}{{ config.a }}{{ tojson(indent=2) }}";
    expect(analyzeTemplate(t)).toEqual({ findings: [], parsed: true });
  });

  it("reports gadgets the template does not bind", () => {
    expect(has("{{ lipsum }}", "template/gadget-reference", "lipsum")).toBe(true);
  });
});

describe("payloads with nothing left for the scanner are still reported", () => {
  it("all are high or critical", () => {
    for (const t of [
      `{# {% raw %} #}{{ ${PAYLOAD} }}{# {% endraw %} #}`,
      `{% autoescape ${PAYLOAD} %}{% endautoescape %}`,
    ]) {
      expect(high(t)).toBe(true);
    }
  });
});
