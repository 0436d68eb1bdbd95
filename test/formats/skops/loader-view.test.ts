/**
 * The schema skops would load, found as `skops.io.load` finds it: Python's `zipfile` reads
 * `schema.json` whatever the archive's name and other members, the last copy of a repeated name,
 * and a name cut at its first NUL; `json.loads` of the bytes detects UTF-16/32 and a UTF-8 mark.
 */
import { describe, expect, it } from "vitest";
import { decodeJsonBytes } from "../../../src/core/json-bytes.js";
import { pythonMemberName } from "../../../src/formats/skops/names.js";
import { buildZip } from "../../containers/zip-builder.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

type Node = Record<string, unknown>;
const node = (module: string, cls: string, loader: string, rest: Node = {}): Node => ({
  __class__: cls,
  __module__: module,
  __loader__: loader,
  ...rest,
});
const floatNode = node("builtins", "float", "JsonNode", { content: "1.0" });
const BENIGN = JSON.stringify({
  ...node("sklearn.linear_model._logistic", "LogisticRegression", "ObjectNode", {
    content: node("builtins", "dict", "DictNode", { content: { C: floatNode } }),
  }),
  protocol: 1,
  _skops_version: "0.9.0",
});
const EVIL = JSON.stringify({
  ...node("functools", "partial", "ObjectNode", { content: {} }),
  protocol: 1,
  _skops_version: "0.9.0",
  x: node("os", "system", "FunctionNode", { content: { module_path: "os", function: "system" } }),
});
const dangerous = (rules: string[]) => rules.includes("skops/dangerous-type");

describe("skops schemas as skops.io.load finds them", () => {
  it("judges a skops schema in any zip, whatever its other members and name", async () => {
    const layouts = [
      [
        { name: "schema.json", data: EVIL },
        { name: "notes.txt", data: "hi" },
      ],
      [
        { name: "schema.json", data: EVIL },
        { name: "extra/a.npy", data: "x" },
      ],
      [{ name: "schema.json", data: EVIL }],
    ];
    for (const entries of layouts) {
      for (const name of ["model.bin", "model.zip", "model"]) {
        const file = await scanOne(buildZip(entries), name);
        expect(file.verdict, `${name} ${entries.map((e) => e.name)}`).toBe("malicious");
        expect(dangerous(ruleIds(file))).toBe(true);
      }
    }
  });

  it("leaves zips whose schema.json is no skops tree alone", async () => {
    for (const data of ['{"type": "object", "properties": {}}', "{", '["__loader__"]']) {
      const file = await scanOne(
        buildZip([
          { name: "schema.json", data },
          { name: "notes.txt", data: "hi" },
        ]),
        "data.zip",
      );
      expect(
        ruleIds(file).filter((r) => r.startsWith("skops/")),
        JSON.stringify(ruleIds(file)),
      ).toEqual([]);
      // a broken JSON member is invalid as JSON (repo/invalid-json), not as skops
      if (data !== "{") expect(file.verdict, JSON.stringify(ruleIds(file))).toBe("clean");
    }
    const benign = await scanOne(
      buildZip([
        { name: "schema.json", data: BENIGN },
        { name: "README.txt", data: "hi" },
      ]),
      "model.bin",
    );
    expect(benign.verdict).toBe("clean");
  });

  it("judges the last of repeated schema.json copies (Python's zipfile reads it)", async () => {
    for (const copies of [2, 5, 12]) {
      const entries = [
        ...Array.from({ length: copies - 1 }, () => ({ name: "schema.json", data: BENIGN })),
        { name: "schema.json", data: EVIL },
      ];
      for (const name of ["m.skops", "m.zip"]) {
        const file = await scanOne(buildZip(entries), name);
        expect(dangerous(ruleIds(file)), `${copies} copies in ${name}`).toBe(true);
        expect(file.verdict).toBe("malicious");
      }
    }
  });

  it("reads a name cut at NUL, or flagged as a directory, as Python does", async () => {
    expect(pythonMemberName("schema.json\0evil")).toBe("schema.json");
    for (const name of ["nul.skops", "nul.bin"]) {
      const file = await scanOne(buildZip([{ name: "schema.json\0evil", data: EVIL }]), name);
      expect(dangerous(ruleIds(file)), name).toBe(true);
      expect(file.verdict).toBe("malicious");
      expect(ruleIds(file)).not.toContain("skops/malformed");
    }
    const slash = await scanOne(
      buildZip([
        { name: "schema.json", data: BENIGN },
        { name: "schema.json\0/", data: EVIL },
      ]),
      "m.skops",
    );
    expect(dangerous(ruleIds(slash))).toBe(true);
    const dirBit = await scanOne(buildZip([{ name: "schema.json", data: EVIL, externalAttributes: 0x10 }]), "m.bin");
    expect(dangerous(ruleIds(dirBit))).toBe(true);
  });

  it("decodes the schema as json.loads(bytes) does (UTF-16/32, UTF-8 mark)", async () => {
    const utf16le = new Uint8Array(Buffer.from(EVIL, "utf16le"));
    const marked = new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from(EVIL)]);
    for (const data of [utf16le, marked]) {
      const file = await scanOne(buildZip([{ name: "schema.json", data }]), "m.bin");
      expect(dangerous(ruleIds(file))).toBe(true);
    }
    const be32 = new Uint8Array(4 * 2);
    new DataView(be32.buffer).setUint32(0, 0x7b);
    new DataView(be32.buffer).setUint32(4, 0x7d);
    expect(decodeJsonBytes(be32).text).toBe("{}");
    expect(decodeJsonBytes(new Uint8Array([0xff, 0xfe, 0x7b, 0, 0x7d, 0])).text).toBe("{}");
    expect(decodeJsonBytes(new Uint8Array([0x7b, 0, 0x00, 0xd8, 0x7d, 0])).text).toBe("{\ud800}");
  });
});
