/**
 * Attribute names a template computes without writing them as literals (`dict(globals=1)|list|first`,
 * joins, concatenation), subscripts by keys the analysis cannot evaluate on sandbox-escape gadgets
 * (directly or through an alias made with set/with/for/macro parameters), and gadget callables
 * aliased without being called. The reviewer's template rendered by an unsandboxed
 * `jinja2.Environment` (as llama-cpp-python < 0.2.72 did) ran a command and once scanned clean.
 */
import { describe, expect, it } from "vitest";
import { analyzeTemplate, type TemplateFinding } from "../../../src/formats/template/analyze.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const findings = (t: string): TemplateFinding[] => [...analyzeTemplate(t).findings];
const show = (t: string) => JSON.stringify(findings(t).map((f) => [f.severity ?? "", f.ruleId, f.evidence.name]));
const named = (t: string, rule: string) =>
  findings(t)
    .filter((f) => f.ruleId === rule)
    .map((f) => f.evidence.name);
/** Severity of a finding, the rule default when the finding does not override it. */
const DEFAULTS: Record<string, string> = {
  "template/dunder-access": "critical",
  "template/obfuscated-name": "critical",
  "template/dunder-string": "high",
  "template/private-attribute": "high",
  "template/code-execution-name": "high",
  "template/dynamic-attribute": "medium",
  "template/gadget-reference": "medium",
  "template/external-template": "medium",
  "template/unparseable": "medium",
};
const severityOf = (f: TemplateFinding) => f.severity ?? DEFAULTS[f.ruleId] ?? "?";
const RANK = ["info", "low", "medium", "high", "critical"];
const worst = (t: string) => findings(t).reduce((w, f) => Math.max(w, RANK.indexOf(severityOf(f))), 0);

/** The reviewer's template (the payload only `touch`es a file). */
const REVIEWED =
  "{% set u = dict(_=1)|list|first %}" +
  "{% set g = u*2 ~ dict(globals=1)|list|first ~ u*2 %}" +
  "{% set i = u*2 ~ dict(init=1)|list|first ~ u*2 %}" +
  "{% set o = dict(os=1)|list|first %}{% set p = dict(popen=1)|list|first %}" +
  "{% set c = namespace %}{% set x = c[i][g][o][p]('touch /tmp/x') %}" +
  "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}{% endfor %}" +
  "{% if add_generation_prompt %}<|assistant|>{% endif %}";

describe("the reviewed gadget chain", () => {
  it("is reported as a dunder access through computed names", () => {
    expect(named(REVIEWED, "template/dunder-access"), show(REVIEWED)).toEqual(
      expect.arrayContaining(["__init__", "__globals__"]),
    );
    expect(named(REVIEWED, "template/obfuscated-name"), show(REVIEWED)).toContain("__globals__");
    expect(named(REVIEWED, "template/code-execution-name"), show(REVIEWED)).toContain("os");
    expect(named(REVIEWED, "template/gadget-reference"), show(REVIEWED)).toContain("namespace");
  });

  it("tokenizer_config.json carrying it is malicious", async () => {
    const file = await scanOne(
      new TextEncoder().encode(JSON.stringify({ eos_token: "</s>", chat_template: REVIEWED })),
      "tokenizer_config.json",
    );
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["template/dunder-access", "template/obfuscated-name"]));
    expect(file.verdict).toBe("malicious");
  });

  it("chat_template.jinja carrying it is malicious", async () => {
    const file = await scanOne(new TextEncoder().encode(REVIEWED), "chat_template.jinja");
    expect(file.verdict).toBe("malicious");
  });
});

describe("constant folding of names built without literals", () => {
  const U = "{% set u = dict(_=1)|list|first %}";
  it.each([
    ["dict keys |list|first", `${U}{{ x[u*2 ~ dict(globals=1)|list|first ~ u*2] }}`],
    ["dict keys |first", `${U}{{ x[u ~ u ~ (dict(globals=1)|first) ~ u ~ u] }}`],
    ["dict keys |last", `${U}{{ x[u ~ u ~ (dict(a=1, globals=2)|last) ~ u ~ u] }}`],
    ["dict keys |join", "{{ x[dict(__=1)|join ~ dict(globals=1)|join ~ dict(__=1)|join] }}"],
    ["dict keys |list|join", "{{ x[(dict(__=1, globals=2)|list|join) ~ '__'] }}"],
    ["+ concatenation", `${U}{{ x[u + u + (dict(globals=1)|list|first) + u + u] }}`],
    ["list literal |join", `${U}{{ x[[u, u, dict(globals=1)|first, u, u]|join] }}`],
    ["tuple literal |join", `${U}{{ x[(u, u, dict(globals=1)|first, u, u)|join] }}`],
    ["join method", `${U}{{ x[''.join([u * 2, dict(globals=1)|first, u * 2])] }}`],
    ["list index", `${U}{{ x[u * 2 ~ (dict(globals=1)|list)[0] ~ u * 2] }}`],
    ["keys() method", `${U}{{ x[u * 2 ~ dict(globals=1).keys()|first ~ u * 2] }}`],
    ["object literal keys", `${U}{{ x[u * 2 ~ {'glo': 1}|first ~ 'bals' ~ u * 2] }}`],
    ["|string slice of a dict", `{{ x['__' ~ (dict(globals=1)|string)[2:9] ~ '__'] }}`],
    ["|tojson slice of a dict", `{{ x['__' ~ (dict(globals=1)|tojson)[2:9] ~ '__'] }}`],
    ["|map over keyword names", `{{ x[(dict(__GLOBALS__x=1)|map('lower')|first)[:-1]] }}`],
    ["|upper|lower", `${U}{{ x[(u * 2 ~ (dict(GLOBALS=1)|first) ~ u * 2)|lower] }}`],
    ["|replace", "{{ x[(dict(XXglobalsXX=1)|first)|replace('XX', '__')] }}"],
    ["|format", `${U}{{ x['%s%sglobals%s%s'|format(u, u, u, u)] }}`],
    ["%c of range", "{% set n = range(95, 96)|first %}{{ x['%c%cglobals%c%c'|format(n, n, n, n)] }}"],
    ["for over dict keys", `${U}{% for k in dict(globals=1) %}{{ x[u ~ u ~ k ~ u ~ u] }}{% endfor %}`],
    ["block set", `${U}{% set g %}{{ u }}{{ u }}globals{{ u }}{{ u }}{% endset %}{{ x[g] }}`],
    ["with alias", `${U}{% with g = u * 2 ~ (dict(globals=1)|first) ~ u * 2 %}{{ x[g] }}{% endwith %}`],
    ["attr filter", `${U}{{ x|attr(u * 2 ~ (dict(globals=1)|first) ~ u * 2) }}`],
    ["tuple set", `${U}{% set a, g = 1, u * 2 ~ (dict(globals=1)|first) ~ u * 2 %}{{ x[g] }}`],
  ])("%s spells __globals__", (_label, t) => {
    expect(analyzeTemplate(t).parsed, show(t)).toBe(true);
    expect(named(t, "template/dunder-access"), show(t)).toContain("__globals__");
    expect(worst(t)).toBe(RANK.indexOf("critical"));
  });

  it("a keyword name selected as a subscript key is judged like a literal", () => {
    expect(named("{{ g[dict(os=1)|list|first] }}", "template/code-execution-name")).toContain("os");
    expect(named("{{ g[dict(_private=1)|first] }}", "template/private-attribute")).toContain("_private");
  });
});

describe("subscripts by unevaluable keys on gadget objects", () => {
  const K = "messages[0].content";
  it.each([
    ["namespace", `{{ namespace[${K}] }}`],
    ["cycler", `{{ cycler[${K}] }}`],
    ["joiner", `{{ joiner[${K}] }}`],
    ["lipsum", `{{ lipsum[${K}] }}`],
    ["range", `{{ range[${K}] }}`],
    ["dict", `{{ dict[${K}] }}`],
    ["self", `{{ self[${K}] }}`],
    ["set alias", `{% set c = namespace %}{{ c[${K}] }}`],
    ["set alias of an alias", `{% set a = cycler %}{% set c = a %}{{ c[${K}] }}`],
    ["with alias", `{% with c = lipsum %}{{ c[${K}] }}{% endwith %}`],
    ["for alias", `{% for c in [joiner] %}{{ c[${K}] }}{% endfor %}`],
    ["macro parameter (call argument)", `{% macro m(c) %}{{ c[${K}] }}{% endmacro %}{{ m(namespace) }}`],
    ["macro parameter (keyword argument)", `{% macro m(c) %}{{ c[${K}] }}{% endmacro %}{{ m(c=cycler) }}`],
    ["macro parameter (default)", `{% macro m(c=range) %}{{ c[${K}] }}{% endmacro %}{{ m() }}`],
    ["tuple set", `{% set a, c = 1, namespace %}{{ c[${K}] }}`],
    ["deeper in the chain", `{% set c = namespace %}{{ c.__init__[${K}] }}`],
    ["attr filter", `{% set c = namespace %}{{ c|attr(${K}) }}`],
    ["attr filter on a chain", `{{ (cycler|attr('__init__'))|attr(${K}) }}`],
    ["keys held in unknown variables", "{% set c = namespace %}{{ c[i][g][o][p]('id') }}"],
  ])("%s", (_label, t) => {
    const dynamic = findings(t).filter((f) => f.ruleId === "template/dynamic-attribute");
    expect(dynamic.length, show(t)).toBeGreaterThan(0);
    expect(
      dynamic.some((f) => severityOf(f) === "high"),
      show(t),
    ).toBe(true);
  });

  it("an alias chain of any length and order is followed", () => {
    const chain = Array.from({ length: 300 }, (_, i) => `{% set a${300 - i} = a${299 - i} %}`).join("");
    const t = `${chain}{% set a0 = namespace %}{{ a300[${K}] }}`;
    expect(
      findings(t).some((f) => f.ruleId === "template/dynamic-attribute" && f.severity === "high"),
      show(t),
    ).toBe(true);
  });

  it("an unparseable template still reports a gadget alias", () => {
    const t = `{% trans %}{% endtrans %}{% set c = namespace %}{{ c[${K}] }}`;
    expect(analyzeTemplate(t).parsed).toBe(false);
    expect(named(t, "template/gadget-reference"), show(t)).toContain("namespace");
  });

  it("a key computed from constants the folding cannot evaluate is reported on any object", () => {
    const t =
      "{% set u = (dict(_=1)|urlencode)[0] %}{% set k = u * 2 ~ (dict(class=1)|urlencode)[:5] ~ u * 2 %}{{ messages[k] }}";
    expect(named(t, "template/dynamic-attribute"), show(t)).toContain("constant key");
  });

  it("a literal subscripted by a name, or a key built from text and a variable, is reported", () => {
    // `""[name]` reaches the literal's attributes; `"init"|center(8)|replace(" ", "_") ~ x` builds a
    // name from text the folding does not evaluate plus a template variable (an attack review's)
    const literal = "{% set k = 'cl' ~ messages[99:]|join %}{{ ''[k] }}";
    expect(named(literal, "template/dynamic-attribute"), show(literal)).toContain("literal[…]");
    const built = `{% set k = "init"|center(8)|replace(" ", "_") ~ messages[99:]|join %}{{ messages[k] }}`;
    expect(named(built, "template/dynamic-attribute"), show(built)).toContain("constant key");
    // a variable or a number as key is ordinary
    expect(named("{{ messages[i] }}{{ 'abc'[0] }}{{ x[-1] }}", "template/dynamic-attribute")).toEqual([]);
  });

  it("a subscript by an unknown key on a namespace() instance is reported", () => {
    const t = `{% set ns = namespace(a=1) %}{{ ns[${K}] }}`;
    expect(named(t, "template/dynamic-attribute").length, show(t)).toBeGreaterThan(0);
  });

  it("a subscript by an unknown key on a cycler() instance is reported", () => {
    const t = `{% set c = cycler('a', 'b') %}{{ c[${K}] }}`;
    expect(named(t, "template/dynamic-attribute").length, show(t)).toBeGreaterThan(0);
  });
});

describe("gadget callables aliased without a call", () => {
  it.each([
    ["namespace", "{% set c = namespace %}"],
    ["cycler", "{% set c = cycler %}"],
    ["joiner", "{% set c = joiner %}"],
    ["range", "{% set c = range %}"],
    ["dict", "{% set c = dict %}"],
    ["namespace in a list", "{% set c = [namespace] %}"],
    ["namespace as a macro argument", "{% macro m(a) %}{% endmacro %}{{ m(namespace) }}"],
    ["namespace in with", "{% with c = namespace %}{% endwith %}"],
  ])("%s is reported at medium or above", (name, t) => {
    const refs = findings(t).filter((f) => f.ruleId === "template/gadget-reference");
    expect(refs.length, show(t)).toBeGreaterThan(0);
    expect(
      refs.every((f) => RANK.indexOf(severityOf(f)) >= RANK.indexOf("medium")),
      show(t),
    ).toBe(true);
    expect(refs.map((f) => f.evidence.name)).toContain(name.split(" ")[0]);
  });
});

describe("legitimate uses stay clean", () => {
  it.each([
    [
      "namespace() state",
      "{% set ns = namespace(found=false, idx=0) %}{% for m in messages %}{% set ns.found = true %}{% set ns.idx = loop.index0 %}{% endfor %}{{ ns.found }}",
    ],
    [
      "namespace() member subscripts",
      "{% set ns = namespace(msgs=messages) %}{% for i in range(ns.msgs|length) %}{{ ns.msgs[i]['content'] }}{% endfor %}",
    ],
    [
      "dict() of roles subscripted by a role",
      "{% set prefix = dict(system='<|system|>', user='<|user|>', assistant='<|assistant|>') %}{% for m in messages %}{{ prefix[m.role] ~ m.content }}{% endfor %}",
    ],
    ["iterating dict() keys", "{% for k in dict(system=1, user=2) %}{{ k|string }}{{ k|upper }}{% endfor %}"],
    ["first of a role list", "{% set roles = ['system', 'user'] %}{{ roles|first }}{{ roles|last|string }}"],
    [
      "range loops",
      "{% for i in range(messages|length) %}{{ messages[i]['content'] }}{% endfor %}{{ range(3)|list|join(',') }}",
    ],
    ["dict() merged", "{% set d = dict(a=1) %}{% set d2 = dict(d, b=2) %}{{ d2|tojson }}{{ d[messages[0].role] }}"],
    [
      "macro with data arguments",
      "{% macro render(c) %}{{ c['text'] }}{% endmacro %}{% for m in messages %}{{ render(m.content[loop.index0]) }}{% endfor %}",
    ],
    [
      "loop variable subscripts",
      "{% for tool in tools %}{% for k in tool.parameters.properties %}{{ k }}: {{ tool.parameters.properties[k].type }}{% endfor %}{% endfor %}",
    ],
  ])("%s", (_label, t) => {
    expect(analyzeTemplate(t).parsed, show(t)).toBe(true);
    expect(
      findings(t).filter((f) => severityOf(f) !== "low"),
      show(t),
    ).toEqual([]);
  });

  it("plain cycler()/joiner() calls stay at low severity", () => {
    const t =
      "{% set row = cycler('odd', 'even') %}{% set sep = joiner(', ') %}{% for m in messages %}{{ sep() }}{{ row.next() }}{% endfor %}";
    expect(findings(t).map((f) => severityOf(f))).toEqual(["low", "low"]);
  });
});
