/**
 * MLmodel keys read as PyYAML's safe_load reads them: a `loader_module` or `code` key written as
 * an alias of an anchored scalar is that key; `!!omap` is a list of pairs (not a mapping) for
 * PyYAML; a key that cannot be read is reported.
 */
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { mlmodelFindings } from "../../../src/formats/mlflow/analyzer.js";
import { scanOne } from "../../helpers/scan.js";

const doc = (text: string) => (parseAllDocuments(text, { schema: "failsafe" }) as { contents: unknown }[])[0]?.contents;
const ids = (text: string) => mlmodelFindings(doc(text)).findings.map((f) => f.ruleId);

const ALIAS_LOADER = `artifact_path: model
metadata:
  a: &lm loader_module
  b: &cd code
flavors:
  python_function:
    *cd : code
    data: data
    *lm : evil_loader
    python_version: 3.11.2
mlflow_version: 2.12.1
`;

describe("alias keys in MLmodel", () => {
  it("a loader_module key written as an alias is the custom loader", async () => {
    expect(ids(ALIAS_LOADER)).toEqual(["mlflow/custom-loader", "mlflow/shipped-code"]);
    const file = await scanOne(new TextEncoder().encode(ALIAS_LOADER), "MLmodel");
    expect(file.verdict).toBe("malicious");
  });

  it("flavors written as !!omap are a list for PyYAML: no flavors mapping", () => {
    expect(ids("flavors: !!omap\n  - python_function: {loader_module: evil}\n")).toEqual(["mlflow/invalid-mlmodel"]);
  });

  it("a key that cannot be read is reported (at least medium)", async () => {
    const text = "a: &a [1]\nflavors:\n  python_function:\n    *a : evil\n    loader_module: mlflow.sklearn\n";
    const file = await scanOne(new TextEncoder().encode(text), "MLmodel");
    expect(file.findings.some((f) => f.ruleId === "yaml/malformed" && f.severity === "medium")).toBe(true);
  });
});
