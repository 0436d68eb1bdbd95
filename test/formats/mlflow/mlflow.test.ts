import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { MLFLOW_LOADERS, mlmodelFindings } from "../../../src/formats/mlflow/analyzer.js";
import { remoteRequirements } from "../../../src/formats/mlflow/repo-analyzer.js";
import { scan } from "../../../src/scan/engine.js";
import { scanOne, scanSample } from "../../helpers/scan.js";

const doc = (text: string) => (parseAllDocuments(text, { schema: "failsafe" }) as { contents: unknown }[])[0]?.contents;
const ids = (text: string) => mlmodelFindings(doc(text)).findings.map((f) => f.ruleId);

describe("MLmodel", () => {
  it("accepts MLflow's own loader modules", () => {
    expect(MLFLOW_LOADERS.has("mlflow.sklearn")).toBe(true);
    expect(ids("flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n    code: null\n")).toEqual([]);
    expect(
      ids("flavors:\n  python_function:\n    loader_module: mlflow.pyfunc.model\n    python_model: python_model.pkl\n"),
    ).toEqual([]);
  });

  it("reports custom loader modules and shipped code", () => {
    const found = mlmodelFindings(doc("flavors:\n  python_function:\n    loader_module: my_loader\n    code: code\n"));
    expect(found.findings.map((f) => f.ruleId)).toEqual(["mlflow/custom-loader", "mlflow/shipped-code"]);
    expect(found.findings[0]?.evidence).toMatchObject({ loaderModule: "my_loader", code: "code" });
    expect(
      ids("flavors:\n  python_function:\n    loader_module: mlflow.pyfunc.model\n    python_model: model.py\n"),
    ).toEqual(["mlflow/shipped-code"]);
    expect(ids("flavors:\n  python_function:\n    loader_module: mlflow.sklearnx\n")).toEqual(["mlflow/custom-loader"]);
  });

  it("refuses an MLmodel without flavours or loader", () => {
    expect(ids("artifact_path: model\n")).toEqual(["mlflow/invalid-mlmodel"]);
    expect(ids("flavors: [a]\n")).toEqual(["mlflow/invalid-mlmodel"]);
    expect(ids("flavors:\n  python_function:\n    env: conda.yaml\n")).toEqual(["mlflow/invalid-mlmodel"]);
  });

  it("analyses the MLmodel as YAML too", async () => {
    const file = await scanOne(
      Buffer.from('flavors:\n  sklearn: {pickled_model: !!python/object/apply:os.system ["id"]}\n'),
      "MLmodel",
    );
    expect(file.format).toBe("mlflow");
    expect(file.verdict).toBe("malicious");
    expect(file.findings.map((f) => f.ruleId)).toContain("yaml/python-tag");
  });
});

describe("environment files", () => {
  it("finds requirements from outside PyPI", () => {
    const text = [
      "mlflow==2.12.1",
      "# --extra-index-url https://commented.example",
      "--extra-index-url https://pkgs.example.com/simple",
      "-i https://mirror.example/simple",
      "pkg @ git+https://github.com/example/pkg.git@v1",
      "other @ https://example.com/other-1.0.tar.gz",
      "  - git+ssh://git@example.com/x.git#egg=x",
      "scikit-learn>=1.0",
    ].join("\n");
    expect(remoteRequirements(text).map((h) => h.line)).toEqual([3, 4, 5, 6, 7]);
    expect(remoteRequirements("channels:\n- conda-forge\ndependencies:\n- python=3.11\n- pip:\n  - mlflow\n")).toEqual(
      [],
    );
  });

  it("reports them only beside an MLmodel", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mg-mlflow-"));
    writeFileSync(join(dir, "requirements.txt"), "--extra-index-url https://x.example/simple\nfoo\n");
    const plain = await scan(dir);
    expect(plain.files.flatMap((f) => f.findings.map((x) => x.ruleId))).not.toContain("mlflow/remote-requirement");
    writeFileSync(join(dir, "MLmodel"), "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n");
    const model = await scan(dir);
    const req = model.files.find((f) => f.path === "requirements.txt");
    expect(req?.findings.map((x) => x.ruleId)).toContain("mlflow/remote-requirement");
    expect(model.verdict).toBe("suspicious");
  });
});

describe("samples", () => {
  it("passes MLflow's sklearn layout and flags a custom loader", async () => {
    expect((await scanSample("mlflow/benign/sklearn_model")).verdict).toBe("clean");
    const custom = await scanSample("mlflow/malicious/custom_loader");
    expect(custom.verdict).toBe("malicious");
    const mlmodel = custom.files.find((f) => f.path === "MLmodel");
    expect(mlmodel?.findings.find((f) => f.ruleId === "mlflow/custom-loader")?.severity).toBe("high");
  });

  it("reads python_model.pkl: cloudpickle's by-value code is code", async () => {
    const report = await scanSample("mlflow/malicious/pyfunc_os_system");
    const pkl = report.files.find((f) => f.path === "python_model.pkl");
    expect(pkl?.format).toBe("pickle");
    expect(pkl?.verdict).toBe("malicious");
    expect(pkl?.findings.some((f) => String(f.evidence?.callee ?? "").startsWith("cloudpickle."))).toBe(true);
  });
});
