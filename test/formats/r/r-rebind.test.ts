/**
 * Code that runs through routes the allowlist of stored calls missed: Rd `\Sexpr` in any string
 * (printing a bibentry renders it), rebinding an allowed name (`(log = pipe)`, `` `<-`(log, pipe) ``,
 * a function literal's defaults) in stored calls, `terms` attributes and formula text, and glm
 * family `initialize` expressions calling a computed function. The PoCs were checked to run their
 * payload in R 4.2.2 (print, predict, update, anova).
 */
import { describe, expect, it } from "vitest";
import { textProblem } from "../../../src/formats/r/text.js";
import type { FileReport } from "../../../src/report/schema.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";
import { HAS_TAG, T, type XdrBuilder, xdr } from "./build.js";
import { POC } from "./rebind-fixtures.js";

const poc = (name: string): Promise<FileReport> =>
  scanOne(new Uint8Array(Buffer.from(POC[name]!, "base64")), `${name}.rds`);
const worst = (file: FileReport): string => {
  const order = ["info", "low", "medium", "high", "critical"];
  return file.findings.reduce((w, f) => (order.indexOf(f.severity) > order.indexOf(w) ? f.severity : w), "info");
};

describe("Rd code in strings", () => {
  it.each(["p9_bibentry_sexpr", "p10_model_list_with_citation"])("%s: a bibentry note with \\Sexpr", async (name) => {
    const file = await poc(name);
    expect(ruleIds(file)).toContain("r/rd-code");
    expect(["high", "critical"]).toContain(worst(file));
  });

  it.each(["poc_doi", "poc_doi_note"])("%s: a bibentry field closing the string of \\doi's \\Sexpr", async (name) => {
    expect(ruleIds(await poc(name))).toContain("r/rd-code");
  });

  it.each(["citation_base", "citation_utils"])("%s: real citation() objects stay clean", async (name) => {
    const file = await poc(name);
    expect(ruleIds(file)).not.toContain("r/rd-code");
    expect(file.verdict).toBe("clean");
  });

  it("finds \\Sexpr past the bytes the walk keeps, in any string", async () => {
    const long = `${"a".repeat(70_000)}\\Sexpr{system("id")}`;
    const bytes = xdr().int(T.VEC).int(2).str("x").str("y", long).stream();
    expect(ruleIds(await scanOne(bytes, "long.rds"))).toContain("r/rd-code");
    const plain = xdr().int(T.VEC).int(1).str("x", "a \\S expr and \\newline").stream();
    expect(ruleIds(await scanOne(plain, "plain.rds"))).not.toContain("r/rd-code");
  });

  it("reads ASCII streams unescaped (\\134 is a backslash)", async () => {
    const body = "A\n3\n262658\n197888\n5\nUTF-8\n16\n1\n262153\n11\n\\134Sexpr{x}ab\n";
    expect(ruleIds(await scanOne(new TextEncoder().encode(body), "a.rds"))).toContain("r/rd-code");
  });
});

describe("rebinding names in stored code", () => {
  it.each([
    "p1_predvars_rebind",
    "p2_call_naaction_formals",
    "p3_asformula_paren_assign",
    "p4_glm_family_closure",
    "p5_predvars_eqassign",
    "p7_lm_formula_text_paren_assign",
    "p8_predvars_brace",
  ])("%s is high", async (name) => {
    const file = await poc(name);
    expect(ruleIds(file)).toContain("r/language-call");
    expect(["high", "critical"]).toContain(worst(file));
  });
});

describe("glm family initialize expressions", () => {
  it("p6: a computed function in initialize is high", async () => {
    const file = await poc("p6_glm_family_initialize_computed");
    expect(ruleIds(file)).toContain("r/language-call");
    expect(["high", "critical"]).toContain(worst(file));
  });
});

describe("binding in R text", () => {
  const allowed = (name: string): boolean => ["log", "exp", "poly", "I", "list"].includes(name);
  it.each([
    ["y ~ x + (log = pipe) + log('a', 'r')", true],
    ["y ~ x + {log = exp; x}", true],
    ["y ~ x + (function(log) log(x))(1)", true],
    ["y ~ I(log <- exp)", true],
    ["log = exp", false],
    ["list(y, (log = exp))", false],
  ])("%s binds a name", (text, formula) => {
    expect(textProblem(text, allowed, formula)).toMatch(/binds|function|block/);
  });
  it.each([
    ["y ~ log(x, base = 2) + poly(x, degree = 2)", true],
    ["y ~ x[x >= 1] + I(x == 2)", true],
    ["y values must be 0 <= y <= 1", false],
  ])("%s binds nothing", (text, formula) => {
    expect(textProblem(text, allowed, formula)).toBeUndefined();
  });
});

describe("the classes behind the PoCs, built by hand", () => {
  const scan = (b: XdrBuilder) => scanOne(b.stream(), "x.rds");
  /** `lm(y ~ <rhs>, <tag> = <value>)` as a top-level call. */
  const lmCall = (rhs: (b: XdrBuilder) => void, tag: string, value: (b: XdrBuilder) => void): XdrBuilder => {
    const b = xdr().int(T.LANG).sym("lm").int(T.LIST);
    b.call("~", (x) => x.sym("y"), rhs);
    b.int(T.LIST | HAS_TAG).sym(tag);
    value(b);
    return b.nil();
  };
  const expr = (...items: ((b: XdrBuilder) => void)[]): XdrBuilder => {
    const b = xdr().int(20).int(items.length);
    for (const item of items) item(b);
    return b;
  };
  const assign = (name: string, value: (b: XdrBuilder) => void) => (b: XdrBuilder) => {
    b.call("<-", (x) => x.sym(name), value);
  };

  it("a function that reaches files or commands named as a value in a stored call", async () => {
    const file = await scan(
      lmCall(
        (b) => b.sym("x"),
        "na.action",
        (b) => b.sym("source"),
      ),
    );
    expect(ruleIds(file)).toContain("r/language-call");
    // a column called `load` in the formula is a variable
    const column = await scan(
      lmCall(
        (b) => b.sym("load"),
        "weights",
        (b) => b.sym("w"),
      ),
    );
    expect(ruleIds(column)).not.toContain("r/language-call");
  });

  it("a for loop or a <<- in predvars-like lists binds a name", async () => {
    const loop = xdr().call(
      "list",
      (b) => b.sym("y"),
      (b) =>
        b.call(
          "for",
          (x) => x.sym("log"),
          (x) => x.sym("z"),
          (x) => x.sym("x"),
        ),
    );
    expect(ruleIds(await scan(loop))).toContain("r/language-call");
    const superAssign = xdr().call(
      "list",
      (b) => b.sym("y"),
      (b) =>
        b.call(
          "<<-",
          (x) => x.sym("z"),
          (x) => x.sym("x"),
        ),
    );
    expect(ruleIds(await scan(superAssign))).toContain("r/language-call");
  });

  it("expression vectors: family initialize locals pass, rebinding or computed calls do not", async () => {
    const benign = expr(
      assign("n", (b) =>
        b.call(
          "rep.int",
          (x) => x.int(T.REAL).int(1).raw(0x3f, 0xf0, 0, 0, 0, 0, 0, 0),
          (x) => x.sym("nobs"),
        ),
      ),
      assign("mustart", (b) => b.sym("y")),
    );
    expect(ruleIds(await scan(benign))).not.toContain("r/language-call");
    const rebind = expr(
      assign("log", (b) => b.sym("exp")),
      (b) => b.call("log", (x) => x.str("cmd")),
    );
    expect(ruleIds(await scan(rebind))).toContain("r/language-call");
    const computed = expr((b) =>
      b
        .int(T.LANG)
        .call("f", (x) => x.str("a"))
        .int(T.LIST)
        .str("cmd")
        .nil(),
    );
    expect(ruleIds(await scan(computed))).toContain("r/language-call");
  });
});
