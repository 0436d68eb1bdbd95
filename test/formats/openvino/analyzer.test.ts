import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectIrWeights } from "../../../src/formats/openvino/weights.js";
import { claimForName, startsLikePickle } from "../../../src/registry/claims.js";
import { scan } from "../../../src/scan/engine.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const enc = new TextEncoder();

const layer = (id: number, type: string, version = "opset1", inner = "") =>
  `<layer id="${id}" name="l${id}" type="${type}" version="${version}">${inner}</layer>`;
const ir = (layers: string, edges = "", version = "11", extra = "") =>
  `<?xml version="1.0"?>\n<net name="m" version="${version}"><layers>${layers}</layers><edges>${edges}</edges>${extra}</net>`;
const basic = (mid: string) =>
  ir(
    layer(0, "Parameter", "opset1", '<data shape="1,?,4" element_type="f16"/>') + mid + layer(9, "Result"),
    '<edge from-layer="0" from-port="0" to-layer="9" to-port="0"/>',
  );

describe("OpenVINO IR", () => {
  it("a graph of opset operations is clean, with facts", async () => {
    const file = await scanOne(
      enc.encode(basic(layer(1, "MatMul", "opset1") + layer(2, "ScaledDotProductAttention", "opset13"))),
      "m.xml",
    );
    expect(file.format).toBe("openvino-ir");
    expect(file.verdict).toBe("clean");
    expect(file.facts).toMatchObject({
      "openvino.irVersion": 11,
      "openvino.layers": 4,
      inputs: [{ name: "l0", dtype: "f16", shape: [1, "?", 4] }],
    });
  });

  it("layers outside the standard opsets, nested ones included, are custom-layer", async () => {
    for (const mid of [
      layer(1, "MyOp", "custom_opset"),
      layer(1, "MatMul", "extension"),
      layer(1, "NotAnOp", "opset8"),
      layer(1, "TensorIterator", "opset1", `<body><layers>${layer(0, "Evil", "my_ext")}</layers><edges/></body>`),
    ]) {
      const file = await scanOne(enc.encode(basic(mid)), "m.xml");
      expect(ruleIds(file), mid).toContain("openvino/custom-layer");
      expect(file.verdict).toBe("suspicious");
    }
  });

  it("a native library named in rt_info or an extension attribute is high", async () => {
    for (const extra of [
      '<rt_info><custom value="/opt/libevil.so.1"/></rt_info>',
      '<rt_info><a><b path="C:\\x\\evil.dll"/></a></rt_info>',
    ]) {
      const file = await scanOne(enc.encode(ir(layer(0, "Parameter"), "", "11", extra)), "m.xml");
      expect(ruleIds(file), extra).toContain("openvino/extension-library");
      expect(file.verdict).toBe("malicious");
    }
    const plain = await scanOne(
      enc.encode(ir(layer(0, "Parameter"), "", "11", '<rt_info><x value="a.sofa"/></rt_info>')),
      "m.xml",
    );
    expect(ruleIds(plain)).not.toContain("openvino/extension-library");
  });

  it("broken graphs are invalid", async () => {
    const cases = [
      ir(layer(0, "Parameter") + layer(0, "Result")),
      ir(layer(0, "Parameter"), '<edge from-layer="0" from-port="0" to-layer="7" to-port="0"/>'),
      ir('<layer id="0" name="x" version="opset1"/>'),
      ir(layer(0, "Parameter"), "", "7"),
      `<net version="11"><edges/></net>`,
    ];
    for (const xml of cases) {
      const file = await scanOne(enc.encode(xml), "m.xml");
      expect(file.verdict, xml).toBe("invalid");
      expect(
        ruleIds(file).some((r) => r.startsWith("openvino/")),
        xml,
      ).toBe(true);
    }
    const broken = await scanOne(enc.encode(basic("").replace("</layers>", "")), "m.xml");
    expect(ruleIds(broken)).toContain("xml/malformed");
    expect(broken.verdict).toBe("invalid");
  });

  it("an XXE attempt stays malicious even when the document breaks later", async () => {
    const xml = `<!DOCTYPE net [<!ENTITY x SYSTEM "file:///etc/passwd">]><net version="11"><layers>&x;`;
    const file = await scanOne(enc.encode(xml), "m.xml");
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["xml/external-entity", "xml/malformed"]));
    expect(file.verdict).toBe("malicious");
  });
});

describe("IR weights (.bin beside the .xml)", () => {
  it("is opaque data beside its IR, unknown content otherwise", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mg-ov-"));
    try {
      const bin = await readFile(join(SAMPLES, "openvino/clean/model.bin"));
      await writeFile(join(dir, "model.bin"), bin);
      await writeFile(join(dir, "model.xml"), await readFile(join(SAMPLES, "openvino/clean/model.xml")));
      await writeFile(join(dir, "other.bin"), bin);
      await writeFile(join(dir, "notes.bin"), bin);
      await writeFile(join(dir, "notes.xml"), "<?xml version='1.0'?><notes/>");
      const report = await scan(dir);
      const byPath = new Map(report.files.map((f) => [f.path, f]));
      expect(ruleIds(byPath.get("model.bin")!)).toEqual([]);
      expect(byPath.get("model.bin")?.format).toBe("openvino-weights");
      for (const other of ["other.bin", "notes.bin"]) {
        expect(byPath.get(other)?.format, other).toBe("unknown");
        expect(ruleIds(byPath.get(other)!), other).toEqual(["format/unknown"]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a pickle named model.bin is still read as one", async () => {
    const file = await scanOne(new Uint8Array([...enc.encode("cos\nsystem\n(S'echo x'\ntR."), 0xff]), "model.bin");
    expect(file.verdict).toBe("malicious");
  });
});

describe("the weights candidate never demotes a pickle claim", () => {
  it("agrees with the claims table", () => {
    for (let b = 0; b < 256; b++) {
      const head = new Uint8Array([b, 2, 0, 0]);
      if (!startsLikePickle(head)) continue;
      expect(detectIrWeights({ head, tail: head, size: 4, name: "model.bin" }), `first byte ${b}`).toBeUndefined();
    }
    const head = new Uint8Array([0, 0, 0x80, 0x3f]);
    for (const name of [
      "pytorch_model.bin",
      "pytorch_model-00001-of-00002.bin",
      "training_args.bin",
      "optimizer.bin",
      "scheduler.bin",
      "rng_state.bin",
      "rng_state_3.bin",
      "sub/Pytorch_Model.bin",
      "model.bin",
      "weights.bin",
    ]) {
      const claimed = claimForName(name)?.pickle === true;
      expect(detectIrWeights({ head, tail: head, size: 4, name }) === undefined, name).toBe(claimed);
    }
  });
});
