/**
 * Real-tool corpus for false positives: what scikit-learn and joblib write for benign estimators
 * that reference library functions (numpy ufuncs, np.mean, univariate score functions, k-means
 * kernels) or scipy's BSpline is clean (samples/real-estimators, from
 * samples/generate/real_estimators.py). The allowances are reference-only (`new`), so a pickle that
 * calls one of these functions, or hands an estimator a function that is not on the list, is still
 * judged; scipy.stats generators (their __setstate__ exec()s a string from the state) and bound
 * methods (`Class().method`, which an instance's own state can shadow) stay off the lists.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BUILTIN_PROFILES } from "../../../src/formats/pickle/policy/index.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const DIR = join(SAMPLES, "real-estimators");
const sample = (name: string) => scanOne(new Uint8Array(readFileSync(join(DIR, name))), name);
const enc = new TextEncoder();
const sbu = (s: string) => [0x8c, enc.encode(s).length, ...enc.encode(s)];
/** Protocol 4: `module.name` called with one string argument (or instantiated with NEWOBJ). */
const pickleOf = (module: string, name: string, use: "new" | "call", arg = "x") =>
  new Uint8Array([
    0x80,
    4,
    ...sbu(module),
    ...sbu(name),
    0x93,
    ...(use === "new" ? [0x29, 0x81] : [...sbu(arg), 0x85, 0x52]),
    0x2e,
  ]);
/** Protocol 2: `sklearn.preprocessing._function_transformer.FunctionTransformer` whose func is `module.name`. */
const transformerWith = (module: string, name: string) =>
  new Uint8Array([
    0x80,
    2,
    ...enc.encode("csklearn.preprocessing._function_transformer\nFunctionTransformer\n"),
    0x29,
    0x81,
    0x7d,
    ...sbu("func"),
    ...enc.encode(`c${module}\n${name}\n`),
    0x73,
    0x62,
    0x2e,
  ]);

describe("real sklearn/joblib estimators that reference functions", () => {
  it.each([
    "ft-log1p-pipeline.pkl",
    "ft-log1p-pipeline.joblib",
    "ft-abs-sqrt.pkl",
    "column-transformer-log1p.pkl",
    "ttr-log1p.joblib",
    "select-kbest-f-classif.pkl",
    "select-kbest-chi2.joblib",
    "select-percentile-mi.pkl",
    "feature-agglomeration.pkl",
    "bisecting-kmeans.joblib",
    "spline-transformer.pkl",
  ])("%s is clean", async (name) => {
    const file = await sample(name);
    expect(file.findings.filter((f) => f.severity !== "info")).toEqual([]);
    expect(file.verdict).toBe("clean");
  });

  it("lists the functions as reference-only, not callable", () => {
    const numpy = BUILTIN_PROFILES.numpy;
    const sklearn = BUILTIN_PROFILES.sklearn;
    for (const n of ["numpy.core._multiarray_umath.log1p", "numpy._core._multiarray_umath.expm1", "numpy.mean"]) {
      expect(numpy?.new).toContain(n);
      expect(numpy?.call).not.toContain(n);
    }
    expect(sklearn?.new).toContain("sklearn.feature_selection._univariate_selection.f_classif");
    expect(sklearn?.call).not.toContain("sklearn.feature_selection._univariate_selection.f_classif");
    const all = Object.values(BUILTIN_PROFILES).flatMap((p) => [...p.call, ...p.new, ...(p.prefixes ?? [])]);
    expect(all.filter((n) => n.includes("()"))).toEqual([]);
    expect(all.filter((n) => n.startsWith("scipy.stats."))).toEqual([]);
    expect(
      all.filter((n) => /_ufunc_reconstruct|numpy\.(load|fromfile|vectorize|frompyfunc|apply_along_axis)$/.test(n)),
    ).toEqual([]);
  });

  it.each([
    ["numpy.core._multiarray_umath", "log1p"],
    ["numpy", "mean"],
    ["sklearn.feature_selection._univariate_selection", "chi2"],
    ["sklearn.cluster._kmeans", "_kmeans_single_lloyd"],
  ])("a pickle that calls %s.%s is not clean", async (module, name) => {
    const file = await scanOne(pickleOf(module, name, "call"), "call.pkl");
    expect(file.verdict).not.toBe("clean");
    expect(ruleIds(file)).toContain("pickle/unknown-global");
  });

  it("numpy's old ufunc reconstructor (an import by name) is not allowed", async () => {
    const file = await scanOne(pickleOf("numpy.core", "_ufunc_reconstruct", "call", "os"), "ufunc.pkl");
    expect(file.verdict).not.toBe("clean");
  });
});

describe("estimators that import code stay flagged", () => {
  it("FunctionTransformer(func=os.system) is malicious", async () => {
    const file = await sample("ft-os-system.pkl");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("pickle/dangerous-global");
  });

  it("FunctionTransformer(func=eval) written by joblib is malicious", async () => {
    const file = await sample("ft-eval.joblib");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("pickle/dangerous-global");
  });

  it("FunctionTransformer with a user function is not clean", async () => {
    const file = await sample("ft-user-function.pkl");
    expect(file.verdict).toBe("suspicious");
    expect(ruleIds(file)).toContain("pickle/unknown-global");
  });

  it.each([
    ["posix", "system", "malicious"],
    ["builtins", "exec", "malicious"],
    ["numpy", "load", "malicious"],
    ["numpy", "vectorize", "suspicious"],
  ])("FunctionTransformer(func=%s.%s) is %s", async (module, name, verdict) => {
    const file = await scanOne(transformerWith(module, name), "ft.pkl");
    expect(file.verdict).toBe(verdict);
  });

  it("a scipy.stats generator whose state carries code for exec() is code execution", async () => {
    const file = await sample("scipy-norm-gen-exec.pkl");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("pickle/dangerous-global");
  });

  it("a method name shadowed by the instance's state (getattr chain to os.system) is malicious", async () => {
    const file = await sample("method-shadow.pkl");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("pickle/dangerous-global");
  });
});
