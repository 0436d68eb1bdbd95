/**
 * MLflow reads `MLmodel` by name with `yaml.safe_load`, so every YAML shape PyYAML reads the same
 * way is an MLmodel (flow/JSON, quoted or explicit keys, a document start, indentation); a file so
 * named without flavours is an invalid one. A model's `code` directory (and each folder in it) is
 * put first on `sys.path`: its modules named like standard or known modules replace them.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MLFLOW_LOADERS } from "../../../src/formats/mlflow/analyzer.js";
import { scan } from "../../../src/scan/engine.js";
import { ruleIds, scanOne, scanSample } from "../../helpers/scan.js";

const PYFUNC = { code: "code", data: "data", loader_module: "evil_loader", python_version: "3.11.2" };
const BLOCK = [
  "artifact_path: model",
  "flavors:",
  "  python_function:",
  "    code: code",
  "    data: data",
  "    loader_module: evil_loader",
  "    python_version: 3.11.2",
  "mlflow_version: 2.12.1",
  "",
].join("\n");

const SHAPES: readonly [string, string][] = [
  ["flow (JSON)", `${JSON.stringify({ artifact_path: "model", flavors: { python_function: PYFUNC } })}\n`],
  ["document start + flow", `--- {flavors: {python_function: {code: code, loader_module: evil_loader}}}\n`],
  [
    "indented",
    BLOCK.split("\n")
      .map((l) => (l === "" ? l : `  ${l}`))
      .join("\n"),
  ],
  ["quoted key", BLOCK.replace("flavors:", '"flavors":')],
  ["explicit key", BLOCK.replace("flavors:", "? flavors\n:")],
  ["document start", `---\n${BLOCK}`],
  ["comment first", `# written by hand\n${BLOCK}`],
  [
    "merge key",
    "base: &b\n  loader_module: evil_loader\n  code: code\nflavors:\n  python_function:\n    <<: *b\n    data: data\n",
  ],
  [
    "merge list and alias",
    "a: &a {loader_module: evil_loader}\nb: &b {loader_module: mlflow.sklearn, code: code}\npf: &pf {<<: [*a, *b]}\nflavors: {python_function: *pf}\n",
  ],
];

describe("MLmodel shapes", () => {
  it.each(SHAPES)("%s is read as an MLmodel", async (_shape, text) => {
    const file = await scanOne(Buffer.from(text), "MLmodel");
    expect(file.format).toBe("mlflow");
    expect(ruleIds(file)).toContain("mlflow/custom-loader");
    expect(file.verdict).toBe("malicious");
  });

  it("reports an MLmodel without flavours as invalid", async () => {
    for (const text of ["artifact_path: model\n", "a: 1\n", "[1, 2]\n", "flavor: {}\n"]) {
      const file = await scanOne(Buffer.from(text), "MLmodel");
      expect(file.format).toBe("mlflow");
      expect(ruleIds(file)).toContain("mlflow/invalid-mlmodel");
      expect(file.verdict).toBe("invalid");
    }
  });
});

describe("aliases and merge keys", () => {
  it("lets keys written in the mapping win over merged ones", async () => {
    const text =
      "b: &b {loader_module: evil_loader}\nflavors:\n  python_function:\n    <<: *b\n    loader_module: mlflow.sklearn\n";
    expect(ruleIds(await scanOne(Buffer.from(text), "MLmodel"))).not.toContain("mlflow/custom-loader");
  });

  it("resolves several merge keys as PyYAML does: a later << key wins, within one list an earlier mapping", async () => {
    const later =
      "a: &a {loader_module: mlflow.sklearn}\nb: &b {loader_module: evil_loader, code: code}\nflavors:\n  python_function:\n    <<: *a\n    <<: *b\n";
    expect(ruleIds(await scanOne(Buffer.from(later), "MLmodel"))).toContain("mlflow/custom-loader");
    const list =
      "a: &a {loader_module: evil_loader}\nb: &b {loader_module: mlflow.sklearn}\nflavors:\n  python_function:\n    <<: [*a, *b]\n";
    expect(ruleIds(await scanOne(Buffer.from(list), "MLmodel"))).toContain("mlflow/custom-loader");
    const reversed =
      "a: &a {loader_module: evil_loader}\nb: &b {loader_module: mlflow.sklearn}\nflavors:\n  python_function:\n    <<: *b\n    <<: *a\n";
    expect(ruleIds(await scanOne(Buffer.from(reversed), "MLmodel"))).toContain("mlflow/custom-loader");
  });

  it("stays bounded on an alias bomb", async () => {
    const lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 12; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(", ")}]`,
      );
    lines.push("flavors: {python_function: {loader_module: mlflow.sklearn, extra: *a11}}");
    const file = await scanOne(Buffer.from(`${lines.join("\n")}\n`), "MLmodel");
    expect(file.format).toBe("mlflow");
    expect(file.verdict).not.toBe("clean");
  });
});

describe("MLflow's own pyfunc loaders", () => {
  it.each(["chat_model", "chat_agent", "responses_agent", "code_model"])("mlflow.pyfunc.loaders.%s", async (name) => {
    expect(MLFLOW_LOADERS.has(`mlflow.pyfunc.loaders.${name}`)).toBe(true);
    const text = `flavors:\n  python_function:\n    loader_module: mlflow.pyfunc.loaders.${name}\n    code: null\n`;
    const file = await scanOne(Buffer.from(text), "MLmodel");
    expect(ruleIds(file)).not.toContain("mlflow/custom-loader");
    expect(file.verdict).toBe("clean");
  });
});

describe("code directory modules", () => {
  function model(code: string, files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), "mg-mlflow-code-"));
    writeFileSync(
      join(dir, "MLmodel"),
      `flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n    code: ${code}\n    model_path: model.pkl\n`,
    );
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, ".."), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  }
  const shadows = async (dir: string) =>
    (await scan(dir)).files
      .filter((f) => f.findings.some((x) => x.ruleId === "mlflow/shadowed-module"))
      .map((f) => f.path)
      .sort();

  it("flags modules of the code directory and of the folders in it that replace standard or known ones", async () => {
    const dir = model("code", {
      "code/json.py": "x = 1\n",
      "code/helpers.py": "x = 1\n",
      "code/lib/yaml/__init__.py": "x = 1\n",
      "code/lib/features.py": "x = 1\n",
      "code/deep/er/os.py": "x = 1\n",
      "json.py": "x = 1\n",
    });
    expect(await shadows(dir)).toEqual(["code/json.py", "code/lib/yaml/__init__.py"]);
    const report = await scan(dir);
    expect(report.verdict).toBe("malicious");
  });

  it("a shadowing module past 256 folders of padding is still found, or the model says it was not checked", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 300; i++) files[`code/pad${String(i).padStart(3, "0")}/x.py`] = "x = 1\n";
    files["code/zzz/json.py"] = "x = 1\n";
    const dir = model("code", files);
    const report = await scan(dir);
    const flagged = report.files.some((f) => f.findings.some((x) => x.ruleId === "mlflow/shadowed-module"));
    const budget = report.files
      .find((f) => f.path === "MLmodel")
      ?.findings.some((x) => x.ruleId === "scan/budget-exceeded");
    expect(flagged || budget).toBe(true);
    expect(report.verdict).not.toBe("clean");
  });

  it("flags nothing without a code directory, or for ordinary module names", async () => {
    expect(await shadows(model("null", { "code/json.py": "x = 1\n" }))).toEqual([]);
    expect(await shadows(model("code", { "code/my_features.py": "x = 1\n" }))).toEqual([]);
    expect(await shadows(model("../outside", { "code/json.py": "x = 1\n" }))).toEqual([]);
  });
});

describe("samples", () => {
  it("judges samples/pyc/mlflow", async () => {
    expect((await scanSample("pyc/mlflow/chat_model")).verdict).toBe("clean");
    const pyc = await scanSample("pyc/mlflow/indented_pyc");
    expect(pyc.verdict).toBe("malicious");
    expect(pyc.files.find((f) => f.path === "code/skl_loader.pyc")?.format).toBe("pyc");
    expect((await scanSample("pyc/mlflow/no_flavors")).verdict).toBe("invalid");
  });
});
