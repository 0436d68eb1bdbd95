import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pytorchLegacyAnalyzer } from "../../../src/formats/pytorch/analyzer.js";
import { scan } from "../../../src/scan/engine.js";
import { SAMPLES } from "../../helpers/scan.js";
import { bytes, fakeContext } from "../pickle/helpers.js";

const sample = (p: string) => new Uint8Array(readFileSync(join(SAMPLES, "pickle", p)));

async function run(data: Uint8Array) {
  const r = fakeContext(data, "pytorch-legacy");
  await pytorchLegacyAnalyzer.analyze(r.ctx);
  return r;
}

describe("legacy PyTorch files", () => {
  it("reads the five pickles and every storage of a real file", async () => {
    const r = await run(sample("torch/state_dict_legacy.pt"));
    expect(r.findings).toEqual([]);
    expect(r.facts).toMatchObject({ tensorCount: 4, parameterCount: 23, dtypes: ["float32"], "pickle.count": 5 });
    expect(r.members.map((m) => m.name)).toHaveLength(4);
    expect(r.members.every((m) => m.opaque)).toBe(true);
    const report = await scan(join(SAMPLES, "pickle", "torch", "checkpoint_legacy.pt"));
    expect(report.files[0]?.verdict).toBe("clean");
    expect(report.files[0]?.facts?.dtypes).toEqual(["bool", "float16", "float32", "int64", "uint8"]);
  });

  it("checks the storage sizes against the pickles", async () => {
    const good = sample("torch/state_dict_legacy.pt");
    const bad = good.slice();
    // the first storage's element count is the 8 bytes right after the keys pickle
    const keysEnd = findStorageStart(good);
    bad[keysEnd] = (bad[keysEnd] as number) + 1;
    expect((await run(bad)).findings.map((f) => f.ruleId)).toContain("pytorch/legacy-layout");
    expect((await run(bytes(good, "extra"))).findings.map((f) => f.ruleId)).toEqual(["pickle/trailing-data"]);
  });

  it("reports missing pickles and a wrong magic number", async () => {
    const good = sample("torch/state_dict_legacy.pt");
    const r = await run(good.subarray(0, 15 + 6)); // magic number and protocol version only
    expect(r.findings.map((f) => f.ruleId)).toContain("pytorch/legacy-layout");
    const magic = await run(sample("malicious/legacy_magic_eval.pt"));
    expect(magic.findings.map((f) => f.ruleId)).toEqual(
      expect.arrayContaining(["pickle/dangerous-global", "pytorch/legacy-layout"]),
    );
  });
});

/** Offset of the first storage: after the fifth STOP. */
function findStorageStart(data: Uint8Array): number {
  // five pickles: walk with the known structure of this small sample (last pickle ends with ']q\x00(X...e.')
  let stops = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0x2e && (data[i + 1] === 0x80 || stops === 4)) {
      stops++;
      if (stops === 5) return i + 1;
    }
  }
  throw new Error("no storages");
}
