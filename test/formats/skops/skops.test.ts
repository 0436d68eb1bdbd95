import { describe, expect, it } from "vitest";
import { parseStrictJson } from "../../../src/core/json.js";
import { analyzeSchema } from "../../../src/formats/skops/schema.js";
import { isTrusted, KNOWN_LOADERS } from "../../../src/formats/skops/trust.js";
import { zipFlavor } from "../../../src/registry/catalog.js";
import { buildZip } from "../../containers/zip-builder.js";
import { ruleIds, scanOne, scanSample } from "../../helpers/scan.js";

type Node = Record<string, unknown>;
const node = (module: string, cls: string, loader: string, rest: Node = {}): Node => ({
  __class__: cls,
  __module__: module,
  __loader__: loader,
  ...rest,
});
const json = (v: unknown): Node => node("builtins", "str", "JsonNode", { content: JSON.stringify(v), is_json: true });
const dict = (content: Record<string, Node>): Node =>
  node("builtins", "dict", "DictNode", {
    content,
    key_types: node("builtins", "list", "ListNode", {
      content: Object.keys(content).map(() => node("builtins", "str", "TypeNode")),
    }),
  });
const estimator = (attrs: Record<string, Node>): Node =>
  node("sklearn.linear_model._logistic", "LogisticRegression", "ObjectNode", { content: dict(attrs) });
const root = (n: Node): Node => ({ ...n, protocol: 2, _skops_version: "0.10.0" });

const judge = (schema: unknown, members: string[] = []) =>
  analyzeSchema(parseStrictJson(JSON.stringify(schema)).value, new Set(members));
const rules = (schema: unknown, members: string[] = []) => judge(schema, members).findings.map((f) => f.ruleId);

describe("trusted set", () => {
  it("restates skops' defaults per loader", () => {
    expect(isTrusted("ObjectNode", "sklearn.linear_model._logistic.LogisticRegression")).toBe(true);
    expect(isTrusted("NdArrayNode", "numpy.ndarray")).toBe(true);
    expect(isTrusted("TypeNode", "builtins.str")).toBe(true);
    expect(isTrusted("FunctionNode", "numpy.add")).toBe(true);
    expect(isTrusted("DictNode", "builtins.dict")).toBe(true);
    // trusted for its own loader only
    expect(isTrusted("FunctionNode", "sklearn.linear_model._logistic.LogisticRegression")).toBe(false);
    expect(isTrusted("PartialNode", "functools.partial")).toBe(false);
    expect(isTrusted("MethodNode", "builtins.str")).toBe(false);
    // private module paths move between releases; the subpackage and class decide
    expect(isTrusted("ObjectNode", "sklearn.linear_model._logistic_v2.LogisticRegression")).toBe(true);
    expect(isTrusted("ObjectNode", "sklearn.utils._x.LogisticRegression")).toBe(false);
    for (const loader of ["ObjectNode", "NdArrayNode", "FunctionNode", "TypeNode", "SparseMatrixNode", "MethodNode"]) {
      expect(KNOWN_LOADERS.has(loader)).toBe(true);
    }
  });
});

describe("analyzeSchema", () => {
  it("a trusted estimator with arrays present has no finding", () => {
    const schema = root(
      estimator({
        C: json(1),
        coef_: node("numpy", "ndarray", "NdArrayNode", { type: "numpy", file: "1.npy" }),
      }),
    );
    const result = judge(schema, ["schema.json", "1.npy"]);
    expect(result.findings).toEqual([]);
    expect(result.facts).toMatchObject({
      architecture: "sklearn.linear_model._logistic.LogisticRegression",
      "skops.protocol": 2,
      toolVersions: { skops: "0.10.0" },
    });
  });

  it("code-capable types are critical, wherever they hide", () => {
    const cases: Node[] = [
      node("os", "system", "FunctionNode"),
      node("builtins", "eval", "TypeNode"),
      node("builtins", "exec", "FunctionNode"),
      node("subprocess", "Popen", "ListNode", { content: [json("id")] }),
      node("builtins", "getattr", "FunctionNode"),
      node("operator", "methodcaller", "OperatorFuncNode", { attrs: json(["system"]) }),
      node("posix", "system", "ConstructorFromReduceNode", { content: json(["id"]) }),
    ];
    for (const bad of cases) {
      const result = judge(root(estimator({ hook: bad })));
      const finding = result.findings.find((f) => f.ruleId === "skops/dangerous-type");
      expect(finding, JSON.stringify(bad)).toBeDefined();
      expect(finding?.severity).toBe("critical");
    }
    // a key type is called on every key of the dict
    const keyTypes = dict({ "__import__('os').system('id')": json(1) });
    (keyTypes.key_types as Node).content = [node("builtins", "eval", "TypeNode")];
    expect(rules(root(estimator({ extra: keyTypes })))).toContain("skops/dangerous-type");
  });

  it("functools.partial is untrusted and its denylisted func is critical", () => {
    const partial = node("functools", "partial", "PartialNode", {
      content: { func: node("os", "system", "FunctionNode"), args: json([]), kwds: json({}), namespace: json({}) },
    });
    const found = judge(root(estimator({ p: partial }))).findings;
    expect(found.map((f) => f.ruleId).sort()).toEqual(["skops/dangerous-type", "skops/untrusted-type"]);
    expect(found.find((f) => f.ruleId === "skops/dangerous-type")?.evidence?.callee).toBe("os.system");
  });

  it("a MethodNode is judged by its owner and method", () => {
    const method = node("builtins", "str", "MethodNode", {
      content: { func: "__reduce_ex__", obj: node("builtins", "str", "ObjectNode") },
    });
    expect(rules(root(estimator({ m: method })))).toContain("skops/dangerous-type");
    const harmless = node("sklearn.linear_model._logistic", "LogisticRegression", "MethodNode", {
      content: { func: "predict", obj: estimator({}) },
    });
    expect(rules(root(estimator({ m: harmless })))).toEqual(["skops/untrusted-type"]);
  });

  it("classes outside the trusted set are medium", () => {
    const found = judge(root(node("mypackage.models", "Custom", "ObjectNode", { content: dict({ a: json(1) }) })));
    expect(found.findings.map((f) => [f.ruleId, f.severity ?? "default"])).toEqual([
      ["skops/untrusted-type", "default"],
    ]);
    expect(found.facts["skops.untrustedTypes"]).toEqual(["mypackage.models.Custom"]);
  });

  it("unknown loaders are high; their names are still checked against the denylist", () => {
    expect(rules(root(estimator({ x: node("sklearn.base", "BaseEstimator", "EvalNode") })))).toEqual([
      "skops/unknown-loader",
    ]);
    expect(rules(root(estimator({ x: node("os", "system", "EvalNode") }))).sort()).toEqual([
      "skops/dangerous-type",
      "skops/unknown-loader",
    ]);
  });

  it("names of JsonNode, SliceNode and CachedNode are not used and not judged", () => {
    const schema = root(
      estimator({
        a: node("os", "system", "JsonNode", { content: "1", is_json: true }),
        b: node("builtins", "slice", "SliceNode", { content: { start: 0, stop: 1, step: null } }),
        c: { __loader__: "CachedNode", __module__: null, __class__: null, __id__: 3 },
      }),
    );
    expect(rules(schema)).toEqual([]);
  });

  it("missing files and broken nodes make the file invalid", () => {
    expect(
      rules(root(estimator({ w: node("numpy", "ndarray", "NdArrayNode", { type: "numpy", file: "9.npy" }) }))),
    ).toEqual(["skops/missing-file"]);
    expect(rules(root(estimator({ w: node("numpy", "ndarray", "NdArrayNode", { file: 3 }) })))).toEqual([
      "skops/malformed",
    ]);
    expect(rules([])).toEqual(["skops/malformed"]);
    expect(rules(estimator({}))).toEqual(["skops/malformed"]); // no protocol
    expect(rules(root(estimator({ x: { __module__: "os", __class__: "system" } })))).toEqual(["skops/malformed"]);
    expect(rules(root(estimator({ x: node("os", "x", "OperatorFuncNode") })))).toContain("skops/malformed");
  });

  it("walks deep trees without recursion", () => {
    let inner: Node = json(1);
    for (let i = 0; i < 150; i++) inner = dict({ k: inner });
    inner.content = { k: node("os", "system", "FunctionNode") };
    const value = parseStrictJson(JSON.stringify(root(estimator({ deep: inner }))), { maxDepth: 1000 }).value;
    expect(analyzeSchema(value, new Set()).findings.map((f) => f.ruleId)).toContain("skops/dangerous-type");
  });

  it("caps repeated findings", () => {
    const many: Record<string, Node> = {};
    for (let i = 0; i < 100; i++) many[`k${i}`] = node("mypkg", `C${i}`, "ObjectNode");
    const found = judge(root(estimator(many))).findings;
    expect(found.length).toBe(21);
    expect(found.at(-1)?.evidence?.occurrences).toBe(100);
  });
});

describe("skops archives", () => {
  it("the zip flavour needs schema.json and only skops members beside it", () => {
    expect(zipFlavor(["schema.json", "1.npy", "2.npz", "3.bin"]).format).toBe("skops");
    expect(zipFlavor(["schema.json", "1.npy", "evil.pkl"]).format).toBe("zip");
    expect(zipFlavor(["schema.json", "dir/1.npy"]).format).toBe("zip");
  });

  it("the benign LogisticRegression is clean, its arrays read as NumPy", async () => {
    const report = await scanSample("skops/benign/logistic_regression.skops");
    const file = report.files[0]!;
    expect(file.format).toBe("skops");
    expect(file.verdict).toBe("clean");
    expect(file.members?.filter((m) => m.format === "numpy").length).toBe(4);
  });

  it("a FunctionNode for os.system is malicious", async () => {
    const report = await scanSample("skops/malicious/function_os_system.skops");
    expect(report.files[0]!.verdict).toBe("malicious");
    expect(report.files[0]!.findings.some((f) => f.evidence?.callee === "os.system" && f.severity === "critical")).toBe(
      true,
    );
  });

  it("a .skops with a foreign member is still judged as skops, and its claim is unmet", async () => {
    const schema = JSON.stringify(root(estimator({ f: node("os", "system", "FunctionNode") })));
    const file = await scanOne(
      buildZip([
        { name: "schema.json", data: schema },
        { name: "notes.txt", data: "hi" },
      ]),
      "model.skops",
    );
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["format/claim-unmet", "skops/dangerous-type"]));
    expect(file.verdict).toBe("malicious");
  });

  it("a .skops without schema.json or with broken JSON is invalid", async () => {
    const none = await scanOne(buildZip([{ name: "1.npy", data: "x" }]), "m.skops");
    expect(none.verdict).toBe("invalid");
    expect(ruleIds(none)).toContain("skops/malformed");
    const broken = await scanOne(buildZip([{ name: "schema.json", data: "{" }]), "m.skops");
    expect(broken.verdict).toBe("invalid");
    expect(ruleIds(broken)).toContain("skops/malformed");
  });
});
