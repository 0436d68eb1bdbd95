/**
 * Constant folding compared with Python: the value jinja2 3.1 computes for each expression
 * (`{{ (EXPR)|string }}`, computed once with /usr/bin/python3 and pasted here; `null` where Jinja
 * raises). The folding must give exactly that value or none at all (unknown): a different value
 * hides the name Jinja builds (`'{:_>2}'.format('')` is `__`, not `''`).
 */
import { describe, expect, it } from "vitest";
import { analyzeTemplate, foldExpression } from "../../../src/formats/template/analyze.js";

/** [expression, Python's str() of its value or null when Jinja raises]. */
const FOLD_CASES: readonly (readonly [string, string | null])[] = [
  ["'{:_>2}'.format('')", "__"],
  ["'{!r}'.format('a')", "'a'"],
  ["'{:>5.2}'.format('abcdef')", "   ab"],
  ["'{:^6}'.format('os')", "  os  "],
  ["'{0}{1}'.format('a', 1)", "a1"],
  ["'{:d}'.format(5)", "5"],
  ["'{0}'.format('a', 'b')", "a"],
  ["'{:g>1}lobals'.format('')", "globals"],
  ["'-__-'|trim('-')", "__"],
  ["'x-os'.strip('x-')", "os"],
  ["'  os  '.lstrip()", "os  "],
  ["'\\x1cos\\x1c'|trim", "os"],
  ["'\\x1cos\\x1c'.strip()", "os"],
  ["'aaglobalsaa'.replace('a','_',2)", "__globalsaa"],
  ["'aXa'|replace('a','_',1)", "_Xa"],
  ["'aXa'|replace('a','_',count=1)", "_Xa"],
  ["'abc'.replace('', '_')", "_a_b_c_"],
  ["'a b  c '.split(None, 1)", "['a', 'b  c ']"],
  ["'a,b,c'.split(',', 1)", "['a', 'b,c']"],
  ["' a b '.split()", "['a', 'b']"],
  ["['b','A','a']|sort", "['A', 'a', 'b']"],
  ["['b','A','a']|sort(true)", "['b', 'A', 'a']"],
  ["['b','A','a']|sort(reverse=true)", "['b', 'A', 'a']"],
  ["['b','A','a']|sort(case_sensitive=true)", "['A', 'a', 'b']"],
  ["['a','A']|unique|list", "['a']"],
  ["['a','A']|unique(true)|list", "['a', 'A']"],
  ["{'a': 1}|tojson(indent=2)", '{\n  "a": 1\n}'],
  ["{'b': 1, 'a': 2}|tojson", '{"a": 2, "b": 1}'],
  ["'95.0'|int", "95"],
  ["'x'|int", "0"],
  ["'1_0'|int", "10"],
  ["1.0 ~ ''", "1.0"],
  ["(0.5 + 0.5) ~ ''", "1.0"],
  ["0.25 ~ ''", "0.25"],
  ["2.5 * 2", "5.0"],
  ["'%5s' % 'os'", "   os"],
  ["'%-4s|' % 'os'", "os  |"],
  ["'%.2s' % 'osx'", "os"],
  ["'%(a)s%(a)s' % {'a': '_'}", "__"],
  ["'%s' % ['os']", "['os']"],
  ["'%s%s' % ('_', '_')", "__"],
  ["'%c%c' % (95, 95)", "__"],
  ["'%x' % 255", "ff"],
  ["'%05d' % 3", "00003"],
  ["'%s'|format('os')", "os"],
  ["'%(a)s'|format(a='os')", "os"],
  ["('_',)|string", "('_',)"],
  ["(('_',)|string) ~ 'x'", "('_',)x"],
  ["('a', 'b') ~ ''", "('a', 'b')"],
  ["dict(a=1).keys()|string", "dict_keys(['a'])"],
  ["range(3)|string", "range(0, 3)"],
  ["range(3)|list|string", "[0, 1, 2]"],
  ["{'_':1, '_':2}|list|join", "_"],
  ["'x{% generation %}__'[17:19]", "__"],
  ["'os'|title", "Os"],
  ["'os_popen'|title", "Os_popen"],
  ["'os_popen'.title()", "Os_Popen"],
  ["'oS'|capitalize", "Os"],
  ["'{% raw %}' ~ ''", "{% raw %}"],
  ["'\\ä' ~ ''", "\\xe4"],
  ["'abc'[-1]", "c"],
  ["'😀x'[1]", "x"],
  ["'😀x'|length", "2"],
  ["['a', 'b']|join('-')", "a-b"],
  ["['a', 1]|join", "a1"],
  ["[1, 2]|join(none)", "1None2"],
  ["'a' ~ none", "aNone"],
  ["'a' ~ true", "aTrue"],
  ["{'a': 'b'}|string", "{'a': 'b'}"],
  ["{'a': \"it's\"}|string", "{'a': \"it's\"}"],
  ["['\\n']|string", "['\\n']"],
  ["{'k': 'os'}.get('k')", "os"],
  ["{'k': 'os'}.get('z', 'd')", "d"],
  ["dict(a='x').a", "x"],
  ["'ab'*2", "abab"],
  ["'ab'*-1", ""],
  ["[1,2]+[3]", "[1, 2, 3]"],
  ["(1,)+(2,)", "(1, 2)"],
  ["'aXbXc'.split('X')", "['a', 'b', 'c']"],
  ["'AbC'|lower", "abc"],
  ["'os'|upper", "OS"],
  ["['a','b']|first", "a"],
  ["['a','b']|last", "b"],
  ["'abc'|list|string", "['a', 'b', 'c']"],
  ["{'a':1,'b':2}|dictsort|string", "[('a', 1), ('b', 2)]"],
  ["{'a':1}|items|list|string", "[('a', 1)]"],
  ["'<a>'|e", "&lt;a&gt;"],
  ["'x'|string|length", "1"],
  ["'abc'[::-1]", "cba"],
  ["'abcdef'[1:5:2]", "bd"],
  ["('a','b','c')[1:]|string", "('b', 'c')"],
  ["'{0.x}'.format('a')", null],
  ["'{}{}'.format('_')", null],
  ["'{{}}'.format()", "{}"],
  ["'%%s' % ()", "%s"],
  ["'%s' % ('a',)", "a"],
];

/** Cases the folding must model exactly (not leave unknown). */
const KNOWN = new Set([
  "'{:_>2}'.format('')",
  "'{!r}'.format('a')",
  "'{:>5.2}'.format('abcdef')",
  "'{:^6}'.format('os')",
  "'{:g>1}lobals'.format('')",
  "'-__-'|trim('-')",
  "'x-os'.strip('x-')",
  "'  os  '.lstrip()",
  "'\\x1cos\\x1c'|trim",
  "'aaglobalsaa'.replace('a','_',2)",
  "'aXa'|replace('a','_',1)",
  "'aXa'|replace('a','_',count=1)",
  "'abc'.replace('', '_')",
  "'a b  c '.split(None, 1)",
  "'a,b,c'.split(',', 1)",
  "['b','A','a']|sort(true)",
  "['b','A','a']|sort(reverse=true)",
  "['b','A','a']|sort(case_sensitive=true)",
  "['a','A']|unique(true)|list",
  "'95.0'|int",
  "'%5s' % 'os'",
  "'%.2s' % 'osx'",
  "'%(a)s%(a)s' % {'a': '_'}",
  "'%s' % ['os']",
  "'%(a)s'|format(a='os')",
  "{'_':1, '_':2}|list|join",
  "'x{% generation %}__'[17:19]",
  "'os_popen'|title",
  "'os_popen'.title()",
  "'\\ä' ~ ''",
  "'😀x'[1]",
  "[1, 2]|join(none)",
  "{'a': \"it's\"}|string",
  "{'k': 'os'}.get('z', 'd')",
]);

describe("constant folding agrees with Python", () => {
  it.each(FOLD_CASES)("%s", (expression, python) => {
    const folded = foldExpression(expression);
    if (folded !== undefined) expect(folded).toEqual([python]);
    if (KNOWN.has(expression)) expect(folded).toEqual([python]);
  });

  it("the known cases are in the table", () => {
    const table = new Set(FOLD_CASES.map(([e]) => e));
    expect([...KNOWN].filter((e) => !table.has(e))).toEqual([]);
  });
});

const dunders = (t: string) =>
  analyzeTemplate(t)
    .findings.filter((f) => f.ruleId === "template/dunder-access")
    .map((f) => f.evidence.name);

describe("arguments the folding once ignored", () => {
  it.each([
    ["format spec", "{% set u = '{:_>2}'.format('') %}{{ raise_exception|attr(u ~ 'globals' ~ u) }}"],
    ["strip characters", "{% set u = '-__-'|trim('-') %}{{ raise_exception|attr(u ~ 'x-globals'.strip('x-') ~ u) }}"],
    ["replace count", "{{ raise_exception|attr('aaglobals'.replace('a', '_', 2) ~ '__') }}"],
    ["percent precision", "{{ raise_exception|attr('%.2s' % '__x' ~ 'globals' ~ '%.2s' % '__x') }}"],
    ["percent mapping", "{{ raise_exception|attr('%(u)sglobals%(u)s' % {'u': '__'}) }}"],
    [
      "duplicate dict keys",
      "{% set u = {'_': 1, '_': 2}|list|join %}{{ raise_exception|attr(u ~ u ~ 'globals' ~ u ~ u) }}",
    ],
    [
      "split maxsplit",
      "{% set p = 'x y __'.split(None, 1) %}{{ raise_exception|attr(p[1][2:4] ~ 'globals' ~ p[1][2:4]) }}",
    ],
  ])("%s: the name Python computes is reported", (_label, t) => {
    expect(dunders(t)).toContain("__globals__");
  });

  it.each([
    [
      "str() of a tuple",
      "{% set t = (('_', 'x')|string) %}{{ raise_exception|attr(t[2] ~ t[2] ~ 'globals' ~ t[2] ~ t[2]) }}",
    ],
    ["str() of a float", "{% set f = 1.0 ~ '' %}{{ raise_exception|attr(f ~ 'globals') }}"],
    ["a reversed iterator", "{% set r = ['_', 'x']|reverse|string %}{{ raise_exception|attr(r[14] ~ 'globals') }}"],
    ["tojson with indent", "{% set j = {'__globals__': 1}|tojson(indent=1) %}{{ raise_exception|attr(j[5:16]) }}"],
    [
      "an iterator used twice",
      "{% set it = ['__', 'x']|reverse %}{% set a = it|first %}{% set b = it|first %}{{ raise_exception|attr(b ~ 'globals' ~ b) }}",
    ],
  ])("%s: an unmodelled value is unknown, so the attribute is reported", (_label, t) => {
    const found = analyzeTemplate(t).findings;
    const rules = found.map((f) => f.ruleId);
    expect(rules.includes("template/dunder-access") || rules.includes("template/dynamic-attribute")).toBe(true);
    expect(
      found.some((f) => f.ruleId === "template/dynamic-attribute" && f.severity === "high") ||
        rules.includes("template/dunder-access"),
    ).toBe(true);
  });

  it("a list of alternatives is not folded from its first alternative alone", () => {
    const t = "{% set u = 'x' if messages else '_' %}{{ raise_exception|attr([u, u, 'globals', u, u]|join) }}";
    const found = analyzeTemplate(t).findings;
    expect(found.some((f) => f.ruleId === "template/dynamic-attribute" && f.severity === "high")).toBe(true);
  });

  it("more alternatives than the folding follows are unknown, not cut to the first sixteen", () => {
    const parts = Array.from({ length: 5 }, (_, i) => `{% set a${i} = 'a' if x${i} else 'b' %}`).join("");
    const t = `${parts}{% set k = a0 ~ a1 ~ a2 ~ a3 ~ a4 %}{{ raise_exception|attr(k ~ '_') }}`;
    const found = analyzeTemplate(t).findings;
    expect(found.some((f) => f.ruleId === "template/dynamic-attribute" && f.severity === "high")).toBe(true);
  });
});

describe("literal values", () => {
  it("a backslash before a non-ASCII character escapes Python's backslashreplace text", () => {
    expect(foldExpression("'\\ä' ~ ''")).toEqual(["\\xe4"]);
  });

  it("newlines in a literal are normalised as Jinja does", () => {
    expect(foldExpression("'a\r\nb' ~ ''")).toEqual(["a\nb"]);
  });
});
