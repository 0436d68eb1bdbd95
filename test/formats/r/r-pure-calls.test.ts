/**
 * Stored model calls that call ordinary functions of R's base packages (session 31): real fits
 * whose `$call` holds `sample(nrow(df), 25)`, `rnorm(100)`, `dist(x)`, `time(x)` or
 * `transform(df, ...)`, and fits made by the recommended packages' fitters (cluster, spatial,
 * lattice), are not dangerous: those functions only compute (src/formats/r/pure-calls.json,
 * generated with R by samples/generate/r_pure_calls.R). A bare name and its `pkg::name` form are
 * judged alike; an export of these packages that acts (reads files, opens devices) stays `high`;
 * a function nobody knows is `medium`. Real samples: samples/generate/r_real_calls.R.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DANGEROUS_CALLS } from "../../../src/formats/r/names.js";
import { isImpureCall, isPureCall } from "../../../src/formats/r/pure.js";
import type { FileReport } from "../../../src/report/schema.js";
import { SAMPLES, scanOne } from "../../helpers/scan.js";
import { T, type XdrBuilder, xdr } from "./build.js";

const sample = (name: string): Promise<FileReport> =>
  scanOne(new Uint8Array(readFileSync(join(SAMPLES, "r-real-calls", name))), name);

const languageFindings = (file: FileReport) => file.findings.filter((f) => f.ruleId === "r/language-call");

/** Writes `fn(args...)`, `fn` bare or `pkg::name`. */
function callOf(b: XdrBuilder, fn: string, ...args: ((b: XdrBuilder) => void)[]): void {
  const m = /^(.+?)(:::?)(.+)$/.exec(fn);
  if (m === null) {
    b.call(fn, ...args);
    return;
  }
  b.int(T.LANG).call(
    m[2]!,
    (c) => c.sym(m[1]!),
    (c) => c.sym(m[3]!),
  );
  for (const arg of args) {
    b.int(T.LIST);
    arg(b);
  }
  b.nil();
}

/** A list holding the stored call `lm(fn(d))`. */
const storedCall = (fn: string, outer = "lm"): Uint8Array =>
  xdr()
    .int(T.VEC)
    .int(1)
    .call(outer, (b) => callOf(b, fn, (c) => c.sym("d")))
    .stream();

/** A list holding the stored call `fitter(d)`. */
const fitterCall = (fitter: string): Uint8Array =>
  xdr()
    .int(T.VEC)
    .int(1)
    .call(fitter, (b) => b.sym("d"))
    .stream();

describe("R stored calls of pure functions of R's base packages (made by R)", () => {
  it("keeps real fits whose call computes its data with base and stats functions clean", async () => {
    for (const name of [
      "lm_sample.rds",
      "lm_base_sample.rds",
      "lm_weights_runif.rds",
      "lm_transform.rds",
      "density_rnorm.rds",
      "density_stats_rnorm.rds",
      "hclust_dist.rds",
      "hclust_ward.rds",
      "arima_xreg_time.rds",
      "kmeans_scale.rds",
    ]) {
      const file = await sample(name);
      expect(languageFindings(file), name).toEqual([]);
      expect(file.verdict, name).toBe("clean");
    }
  });

  it("keeps fits of the recommended packages' fitters clean (cluster, spatial)", async () => {
    for (const name of ["agnes.rds", "pam.rds", "clara.rds", "diana.rds", "fanny.rds", "surf_ls.rds"]) {
      const file = await sample(name);
      expect(languageFindings(file), name).toEqual([]);
      expect(file.verdict, name).toBe("clean");
    }
    // lattice's trellis object ships panel closures: those, not its call, are reported
    expect(languageFindings(await sample("xyplot.rds"))).toEqual([]);
  });

  it("reports a real fit whose call reads a file (utils::read.csv) as high", async () => {
    const file = await sample("lm_read_csv.rds");
    expect(file.verdict).toBe("malicious");
    expect(languageFindings(file).map((f) => f.severity)).toEqual(["high"]);
  });

  it("reports a real fit whose call runs a function of the session as medium", async () => {
    const file = await sample("lm_session_function.rds");
    expect(file.verdict).toBe("suspicious");
    expect(languageFindings(file).map((f) => f.severity)).toEqual(["medium"]);
    expect(languageFindings(file)[0]?.evidence?.callee).toBe("prep");
  });
});

describe("R stored calls: bare and qualified names judged alike", () => {
  it("allows pure functions bare or qualified", async () => {
    for (const fn of ["sample", "base::sample", "rnorm", "stats::rnorm", "dist", "stats::dist", "time", "scale"]) {
      const file = await scanOne(storedCall(fn), "m.rds");
      expect(file.verdict, fn).toBe("clean");
    }
  });

  it("gives a bare name and its qualified form the same verdict", async () => {
    for (const [bare, qualified] of [
      ["sample", "base::sample"],
      ["runif", "stats::runif"],
      ["read.csv", "utils::read.csv"],
      ["postscript", "grDevices::postscript"],
      ["system", "base::system"],
      ["sapply", "base::sapply"],
      ["myprep", "mypkg::myprep"],
    ] as const) {
      const a = await scanOne(storedCall(bare), "m.rds");
      const b = await scanOne(storedCall(qualified), "m.rds");
      expect(b.verdict, qualified).toBe(a.verdict);
    }
  });

  it("keeps acting exports of R's packages high and unknown functions medium", async () => {
    for (const fn of ["read.csv", "utils::write.csv", "postscript", "pdf", "options", "setwd", "stats::optim"]) {
      const file = await scanOne(storedCall(fn), "m.rds");
      expect(file.verdict, fn).toBe("malicious");
    }
    for (const fn of ["myprep", "mypkg::myprep"]) {
      const file = await scanOne(storedCall(fn), "m.rds");
      expect(file.verdict, fn).toBe("suspicious");
      expect(languageFindings(file).map((f) => f.severity)).toEqual(["medium"]);
    }
  });

  it("takes the recommended packages' fitters as the outer function of a call", async () => {
    for (const fitter of ["agnes", "pam", "clara", "diana", "fanny", "surf.ls", "xyplot", "stepfun", "cluster::pam"])
      expect((await scanOne(fitterCall(fitter), "m.rds")).verdict, fitter).toBe("clean");
    // not inside: a fitter in an argument runs with what it is given, as before
    expect((await scanOne(storedCall("pam"), "m.rds")).verdict).toBe("suspicious");
  });
});

describe("R's table of pure functions", () => {
  it("holds no function that runs commands, evaluates, loads or opens anything", () => {
    for (const name of DANGEROUS_CALLS) expect(isPureCall(name), name).toBe(false);
    for (const name of ["get", "assign", "do.call", "match.fun", "lapply", "Reduce", "outer", "options", "cat"])
      expect(isPureCall(name), name).toBe(false);
    for (const name of ["environment<-", "sys.function", "Recall", "parse", "eval", "evalq", "library", "require"])
      expect(isPureCall(name), name).toBe(false);
  });

  it("knows the computations of base and stats, bare or qualified", () => {
    for (const name of ["rnorm", "stats::rnorm", "sample", "base::sample", "dist", "time", "transform", "nrow"])
      expect(isPureCall(name), name).toBe(true);
    for (const name of ["write.csv", "utils::read.csv", "postscript", "png", "Sys.setenv", "setwd"])
      expect(isImpureCall(name), name).toBe(true);
    expect(isImpureCall("myprep")).toBe(false);
  });
});
