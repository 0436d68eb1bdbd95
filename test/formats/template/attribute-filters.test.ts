/**
 * Two bypasses of the template analysis (review 3, PoCs g1, g4, i5): attribute names handed to
 * filters other than `attr` (`groupby`, `sort`, `sum` ... directly or dispatched by `map("…")`),
 * which Jinja's `make_attrgetter` walks segment by segment with getattr; and constant folding that
 * used JavaScript's whitespace (`"1\ufeff"|int` is 0 in Python, was 1 here) or Unicode case tables.
 */
import { describe, expect, it } from "vitest";
import { analyzeTemplate, foldExpression } from "../../../src/formats/template/analyze.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const rules = (t: string) => analyzeTemplate(t).findings.map((f) => f.ruleId);
const SEVERE = ["template/dunder-access", "template/dynamic-attribute", "template/private-attribute"];
const flagged = (t: string) => rules(t).some((r) => SEVERE.includes(r));

/** The reviewer's PoCs (each runs `touch` under plain jinja2 rendering). */
const G1 = `{%- macro m() %}{% endmacro -%}
{%- set p = "<b>_</b>func.<b>_</b>_globals_<b>_</b>.environment.globals.cycler.<b>_</b>_init_<b>_</b>.<b>_</b>_globals_<b>_</b>.os.popen"|striptags -%}
{%- set f = [[m]]|map("groupby", p)|first|first|first -%}
{{ f("touch /tmp/rv3-tmpl/pwned").read() }}
`;
const G4 = `{%- macro m() %}{% endmacro -%}
{%- set a = "a<i></i>ttr"|striptags -%}
{%- set u = "<b>_</b>_"|striptags -%}
{%- set g = [m]|map(a, "<b>_</b>func"|striptags)|map(a, u ~ "globals" ~ u)|map(attribute="environment.globals.lipsum")|map(a, u ~ "globals" ~ u)|first -%}
{%- set p = [[g]]|map("groupby", "o<i></i>s.po<i></i>pen"|striptags)|first|first|first -%}
{{ p("touch /tmp/rv3-tmpl/pwned").read() }}
`;
const I5 = `{%- macro m() %}{% endmacro -%}
{%- set n = "1\\ufeff"|int -%}
{%- set g = m|attr("_qfquqnqc"[[0, 1][n]::[2, 1][n]])|attr("_q_qgqlqoqbqaqlqsq_q_"[[0, 1][n]::[2, 1][n]]) -%}
{%- set e = g["eqnqvqiqrqoqnqmqeqnqt"[[0, 1][n]::[2, 1][n]]].globals["lqiqpqsquqm"[[0, 1][n]::[2, 1][n]]]|attr("_q_qgqlqoqbqaqlqsq_q_"[[0, 1][n]::[2, 1][n]]) -%}
{{ (e["oqs"[[0, 1][n]::[2, 1][n]]]|attr("pqoqpqeqn"[[0, 1][n]::[2, 1][n]]))("touch /tmp/rv3-tmpl/pwned").read() }}
{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}{% endfor %}
`;

describe("review 3 PoCs are not clean", () => {
  it.each([
    ["g1: map('groupby', dotted path)", G1],
    ["g4: map(unfolded filter name, …)", G4],
    ["i5: '1\\ufeff'|int used as a slice index", I5],
    ["i5 with a raw U+FEFF", I5.replace("\\ufeff", "\ufeff")],
  ])("%s", async (_label, text) => {
    const file = await scanOne(bytes(text), "chat_template.jinja");
    // each walks attributes of a macro (a gadget) by a name the analysis cannot resolve: high
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file).some((r) => SEVERE.includes(r))).toBe(true);
  });
});

const P = `{% macro m() %}{% endmacro %}{% set p = "x"|striptags %}`;

describe("every filter that takes an attribute name has it judged", () => {
  it.each([
    ["groupby positional", "{{ [[m]]|groupby('__class__') }}"],
    ["groupby keyword", "{{ [[m]]|groupby(attribute='a.__globals__') }}"],
    ["sort positional", "{{ [m]|sort(false, false, '__class__') }}"],
    ["sort keyword", "{{ [m]|sort(attribute='__class__') }}"],
    ["unique positional", "{{ [m]|unique(false, '__init__.__globals__') }}"],
    ["min positional", "{{ [m]|min(false, '__class__') }}"],
    ["max keyword", "{{ [m]|max(attribute='__class__') }}"],
    ["join positional", "{{ [m]|join(',', '__class__') }}"],
    ["join keyword", "{{ [m]|join(attribute='__class__') }}"],
    ["sum positional", "{{ [m]|sum('__class__') }}"],
    ["sum keyword", "{{ [m]|sum(attribute='__class__') }}"],
    ["selectattr", "{{ [m]|selectattr('a.__globals__') }}"],
    ["rejectattr", "{{ [m]|rejectattr('__class__', 'defined') }}"],
    ["map attribute", "{{ [m]|map(attribute='x.__globals__') }}"],
    ["attr keyword", "{{ m|attr(name='__class__') }}"],
    ["map dispatching to groupby", "{{ [[m]]|map('groupby', '__globals__') }}"],
    ["map dispatching to sort by keyword", "{{ [[m]]|map('sort', attribute='__class__') }}"],
    ["nested map", "{{ [[[m]]]|map('map', 'groupby', '__class__') }}"],
    ["nested map attribute", "{{ [[m]]|map('map', attribute='__class__') }}"],
    ["map dispatching to sum", "{{ [[m]]|map('sum', '__class__') }}"],
    ["map to an unknown filter", "{{ [m]|map('nosuch', '__class__') }}"],
    ["select('attr')", "{{ [m]|select('attr', '__class__') }}"],
    ["map with an unfolded filter name", "{{ [m]|map(p, '__class__') }}"],
    ["map with an unfolded filter name, keyword", "{{ [m]|map(p, name='__class__') }}"],
    ["map with an unfolded filter name, later argument", "{{ [m]|map(p, false, false, 'a.__globals__') }}"],
    ["reject with an unfolded test name", "{{ [m]|reject(p, '__class__') }}"],
  ])("%s: a dunder is reported", (_label, body) => {
    expect(rules(P + body)).toContain("template/dunder-access");
  });

  it.each([
    ["groupby", "{{ [[m]]|groupby(p) }}"],
    ["sort", "{{ [m]|sort(false, false, p) }}"],
    ["sum", "{{ [m]|sum(p) }}"],
    ["unique", "{{ [m]|unique(attribute=p) }}"],
    ["min", "{{ [m]|min(false, p) }}"],
    ["join", "{{ [m]|join('', p) }}"],
    ["map('groupby')", "{{ [[m]]|map('groupby', p) }}"],
    ["map('selectattr')", "{{ [[m]]|map('selectattr', p) }}"],
    ["map('map', 'sort', …)", "{{ [[[m]]]|map('map', 'sort', false, false, p) }}"],
    ["map with an unfolded filter name", "{{ [m]|map(p, p) }}"],
    ["map with an unfolded filter name and keyword", "{{ [m]|map(p, name=p) }}"],
    ["reject with an unfolded test name", "{{ [m]|reject(p, p) }}"],
  ])("%s with a computed name: dynamic-attribute", (_label, body) => {
    const found = analyzeTemplate(P + body).findings.filter((f) => f.ruleId === "template/dynamic-attribute");
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((f) => f.severity === undefined || f.severity !== "low")).toBe(true);
  });

  it.each([
    "{{ messages|selectattr('role', 'equalto', 'system')|list }}",
    "{{ messages|map(attribute='content')|join('\\n') }}",
    "{{ messages|map('trim')|list }}",
    "{{ messages|map('replace', bos_token, '')|list }}",
    "{{ messages|select('equalto', bos_token)|list }}",
    "{{ messages|rejectattr('role', 'in', ['system', 'tool'])|list }}",
    "{{ tools|sort(attribute='function.name')|map(attribute='function.name')|join(', ') }}",
    "{{ messages|groupby('role')|list }}",
    "{{ messages|sum(attribute='tokens') }}",
    "{{ messages|map('map', attribute='text')|list }}",
  ])("benign use stays clean: %s", (t) => {
    expect(flagged(t)).toBe(false);
  });
});

/** [expression, the str() jinja2 3.1 under Python 3.11 computes]: a fold gives this or nothing. */
const PYTHON: readonly (readonly [string, string])[] = [
  ["'1\\ufeff'|int", "0"],
  ["'1\ufeff'|int", "0"],
  ["'1\\x1c'|int", "0"],
  ["'\\x851'|int", "1"],
  ["' 12\\n'|int", "12"],
  ["'\\u1c89'|lower", "\u1c89"],
  ["'\\u1c8a'|upper", "\u1c8a"],
  ["'\\u1c89'.lower()", "\u1c89"],
  ["['\\u1c8a','\\u1c89']|sort|first", "\u1c89"],
  ["['\\u1c89', '\\u1c8a']|unique|list|length", "2"],
  ["'a\\x1cb'|title", "A\x1cB"],
  ["'a\\x1cb'.title()", "A\x1cB"],
];

describe("folding never uses JavaScript's whitespace or Unicode case tables", () => {
  it.each(PYTHON)("%s", (expression, python) => {
    const folded = foldExpression(expression);
    if (folded !== undefined) expect(folded).toEqual([python]);
  });

  it("ASCII cases still fold", () => {
    expect(foldExpression("' 12\\n'|int")).toEqual(["12"]);
    expect(foldExpression("'x'|int")).toEqual(["0"]);
    expect(foldExpression("'AbC'|lower")).toEqual(["abc"]);
    expect(foldExpression("['b','A','a']|sort|join")).toEqual(["Aab"]);
  });
});
