/**
 * Code reached through text and stored calls (session 29, second round): formula text that stats
 * parses and evaluates, stored calls of functions that are not model fitters, `terms` attributes
 * found by R's partial matching, promises saved forced, and stats' own nls closures. The samples
 * are written by R (samples/generate/r.R); streams R cannot write are built byte by byte.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { textProblem } from "../../../src/formats/r/text.js";
import type { FileReport } from "../../../src/report/schema.js";
import { SAMPLES, scanOne } from "../../helpers/scan.js";
import { HAS_ATTR, HAS_TAG, T, xdr } from "./build.js";

const scanSampleFile = (p: string): Promise<FileReport> =>
  scanOne(new Uint8Array(readFileSync(join(SAMPLES, "r", p))), p.slice(p.lastIndexOf("/") + 1));

const findings = (file: FileReport, rule: string) => file.findings.filter((f) => f.ruleId === rule);

const ALLOWED = new Set(["log", "exp", "poly", "s", "I", "ns", "c", "list", "cbind"]);
const allowed = (name: string): boolean => ALLOWED.has(name);

describe("R text that stats parses into code", () => {
  it("accepts ~ formulas that call allowed functions", () => {
    for (const t of ["y ~ x", "y ~ log(x) + poly(z, 2)", "y ~ s(x, k = 5)", "cbind(a, b) ~ .", ". ~ x", "y ~ x == 1"])
      expect(textProblem(t, allowed, true), t).toBeUndefined();
  });

  it("rejects what formula.character evaluates: blocks, assignments, non-formulas", () => {
    for (const t of ["{system('x')}", "(y ~ x)", "x", "a <- y ~ x", "y ~ x -> a", "a = y ~ x", "?y ~ x", "{ log(1) }"])
      expect(textProblem(t, allowed, true), t).toBeDefined();
  });

  it("finds every way text calls a function that is not allowed", () => {
    const bad = [
      "y ~ system('x')",
      'y ~ "system"("x")',
      "y ~ `system`('x')",
      "y ~ system #c\n ('x')",
      "y ~ base::system('x')",
      "y ~ identity(system)('x')",
      "y ~ list(log)[[1]]('x')",
      "y ~ e$log('x')",
      "y ~ log(do.call)",
      "y ~ \\x73ystem('x')",
      "y ~ sÿstem('x')",
    ];
    for (const t of bad) expect(textProblem(t, allowed, false), t).toBeDefined();
  });

  it("leaves text that calls nothing alone", () => {
    for (const t of ["logit", "REML", "y values must be 0 <= y <= 1", "a == b", "log(x, base = 2)", "log(x)"])
      expect(textProblem(t, allowed, false), t).toBeUndefined();
  });
});

describe("R stored calls and predvars reaching code through text (made by R)", () => {
  const malicious = [
    "lm_predvars_asformula.rds", // list(mpg, as.formula(paste0("{sys", "tem('echo pwned')}")))
    "lm_predvars_formula_text.rds", // list(mpg, formula("{system('echo pwned')}"))
    "lm_predvars_formula_internal.rds", // stats:::formula.character(paste0(...))
    "lm_predvars_partial_name.rds", // attribute predvars_ = postscript(mpg, file = "|echo pwned")
    "lm_call_postscript.rds", // $call = postscript(file = "|echo pwned")
    "lm_call_asformula.rds", // $call = lm(formula = as.formula(paste0(...)))
    "lm_call_reformulate.rds", // $call = lm(formula = reformulate(paste0(...)))
    "lm_call_formula_text.rds", // $call = lm(formula = "{system('echo pwned')}")
    "lm_call_formula_paste.rds", // $call = lm(formula = paste0("{sys", "tem('echo pwned')}"))
  ];
  for (const name of malicious)
    it(`${name} is malicious (r/language-call, high)`, async () => {
      const file = await scanSampleFile(`malicious/${name}`);
      expect(file.verdict).toBe("malicious");
      expect(findings(file, "r/language-call").map((f) => f.severity)).toContain("high");
    });

  it("names the qualified function, never an empty name", async () => {
    const file = await scanSampleFile("malicious/lm_predvars_formula_internal.rds");
    const callees = findings(file, "r/language-call").map((f) => String(f.evidence?.callee ?? ""));
    expect(callees.join(" ")).toContain("formula.character(<computed>)");
    for (const c of callees) for (const part of c.split(", ")) expect(part.trim()).not.toBe("");
  });

  it("keeps fits whose formula is literal text clean", async () => {
    for (const name of ["lm_asformula_literal.rds", "lm_reformulate_literal.rds"]) {
      const file = await scanSampleFile(`benign/${name}`);
      expect(file.verdict, name).toBe("clean");
    }
  });

  it("judges the outermost function of a stored call unless it is a model fitter", async () => {
    const call = (fn: string) =>
      xdr()
        .int(T.VEC)
        .int(1)
        .call(fn, (b) => b.str("x"))
        .stream();
    expect((await scanOne(call("cat"), "m.rds")).verdict).toBe("malicious");
    expect((await scanOne(call("saveRDS"), "m.rds")).verdict).toBe("malicious");
    expect((await scanOne(call("lm"), "m.rds")).verdict).toBe("clean");
    expect((await scanOne(call("lme.formula"), "m.rds")).verdict).toBe("clean");
    // glm(family = "q") fetches q() by name and calls it
    const family = (name: string) =>
      xdr()
        .int(T.VEC)
        .int(1)
        .int(T.LANG)
        .sym("glm")
        .int(T.LIST | HAS_TAG)
        .sym("family")
        .str(name)
        .nil()
        .stream();
    expect((await scanOne(family("q"), "m.rds")).verdict).toBe("malicious");
    expect((await scanOne(family("binomial"), "m.rds")).verdict).toBe("clean");
  });

  it("judges text the walk did not keep whole as unknown (padding past the kept bytes)", async () => {
    const padded = `y ~ x${" ".repeat(300)}+ system('echo pwned')`;
    const call = (write: (b: ReturnType<typeof xdr>) => void) => xdr().int(T.VEC).int(1).call("lm", write).stream();
    const long = await scanOne(
      call((b) => b.str(padded)),
      "m.rds",
    );
    expect(findings(long, "r/language-call").map((f) => String(f.evidence?.callee))).toContain("<text not kept>");
    const many = await scanOne(
      call((b) => b.str("a", "b", "c", "d", "e", "f", "g", "h", "{system('echo pwned')}")),
      "m.rds",
    );
    expect(many.verdict).toBe("malicious");
    const short = await scanOne(
      call((b) => b.str("y ~ x")),
      "m.rds",
    );
    expect(short.verdict).toBe("clean");
  });

  it("takes a contrast given by name to C() for a call of that name", async () => {
    const bytes = xdr()
      .int(T.VEC)
      .int(1)
      .call(
        "C",
        (b) => b.sym("f"),
        (b) => b.str("setwd"),
      )
      .stream();
    expect((await scanOne(bytes, "m.rds")).verdict).toBe("malicious");
  });

  it("treats any attribute whose name starts with predvars as evaluated", async () => {
    // a formula `y ~ x` whose attribute predvarsX = lm(y): a fitter is no exemption there
    const bytes = xdr()
      .int(T.LANG | HAS_ATTR)
      .int(T.LIST | HAS_TAG)
      .sym("predvarsX")
      .call("lm", (b) => b.sym("y"))
      .nil()
      .sym("~")
      .int(T.LIST)
      .sym("y")
      .int(T.LIST)
      .sym("x")
      .nil()
      .stream();
    const file = await scanOne(bytes, "f.rds");
    expect(findings(file, "r/language-call").map((f) => f.evidence?.binding)).toContain("predvarsX");
  });
});

describe("R promises saved forced", () => {
  const promise = (forcedValue: ((b: ReturnType<typeof xdr>) => void) | undefined) => {
    const b = xdr().int(T.VEC).int(1);
    if (forcedValue === undefined)
      b.int(T.PROM | HAS_TAG)
        .int(T.GLOBALENV)
        .int(T.UNBOUND);
    else {
      b.int(T.PROM); // no environment: R drops it once the promise is forced
      forcedValue(b);
    }
    b.call("system", (c) => c.str("echo pwned"));
    return b.stream();
  };

  it("reports a forced promise as info: R returns its value and never evaluates the code", async () => {
    const file = await scanOne(
      promise((b) => b.str("done")),
      "p.rds",
    );
    expect(findings(file, "r/promise").map((f) => f.severity)).toEqual(["info"]);
    expect(findings(file, "r/promise")[0]?.evidence?.forced).toBe(true);
    expect(file.verdict).toBe("clean");
  });

  it("still reports an unforced promise as critical", async () => {
    const file = await scanOne(promise(undefined), "p.rds");
    expect(findings(file, "r/promise").map((f) => f.severity)).toEqual(["critical"]);
  });

  it("judges a forced promise's value where it is (an unforced promise inside is critical)", async () => {
    const file = await scanOne(
      promise((b) =>
        b
          .int(T.PROM | HAS_TAG)
          .int(T.GLOBALENV)
          .int(T.UNBOUND)
          .call("system", (c) => c.str("echo inner")),
      ),
      "p.rds",
    );
    expect(findings(file, "r/promise").map((f) => f.severity)).toContain("critical");
    expect(file.verdict).toBe("malicious");
  });
});

describe("R nls fits (made by R)", () => {
  for (const name of ["nls.rds", "nls_plinear.rds", "nls_selfstart.rds"])
    it(`${name}: stats' nlsModel closures and forced promises are not dangerous`, async () => {
      const file = await scanSampleFile(`benign/${name}`);
      expect(file.verdict).toBe("suspicious");
      expect(findings(file, "r/dangerous-code")).toEqual([]);
      expect(file.findings.filter((f) => f.severity === "critical" || f.severity === "high")).toEqual([]);
    });

  it("a closure with the names of stats' getPars outside namespace:stats stays dangerous", async () => {
    // function() unlist(mget(names(ind), env)) in the global environment
    const bytes = xdr()
      .closure((b) =>
        b.call("unlist", (c) =>
          c.call(
            "mget",
            (d) => d.call("names", (e) => e.sym("ind")),
            (d) => d.sym("env"),
          ),
        ),
      )
      .stream();
    const file = await scanOne(bytes, "c.rds");
    expect(findings(file, "r/dangerous-code")).toHaveLength(1);
  });

  it("a closure in namespace:stats with one more name than stats' getPars stays dangerous", async () => {
    const bytes = xdr()
      .closure(
        (b) =>
          b.call("unlist", (c) =>
            c.call(
              "mget",
              (d) => d.call("names", (e) => e.sym("ind")),
              (d) => d.call("baseenv"),
            ),
          ),
        (b) => b.namespace("stats"),
      )
      .stream();
    const file = await scanOne(bytes, "c.rds");
    expect(findings(file, "r/dangerous-code")).toHaveLength(1);
  });
});
