/**
 * The zip-based and compressed samples of samples/pickle/expected.zip.json (PyTorch zip,
 * TorchScript, .npz, pickles holding torch zips, compressed joblib). With the zip container
 * registered they go through the whole engine like test/samples.test.ts; until then each member
 * is read by a minimal zip reader and analysed the way the engine would hand it over (pickle
 * members with the archive's lineage, .npy members through the NumPy analyzer).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { joblibAnalyzer, joblibCompression } from "../../../src/formats/joblib/analyzer.js";
import { numpyAnalyzer } from "../../../src/formats/numpy/analyzer.js";
import { torchscriptCodeAnalyzer } from "../../../src/formats/pickle/analyzer.js";
import { ANALYZERS } from "../../../src/formats/registry.js";
import type { Format, Verdict } from "../../../src/report/schema.js";
import { scan } from "../../../src/scan/engine.js";
import { SAMPLES } from "../../helpers/scan.js";
import { analyze, fakeContext, type LooseFinding, verdictOf, zipMembers } from "./helpers.js";

interface Expectation {
  verdict: Verdict;
  rules?: string[];
  callee?: string;
}

const expected = JSON.parse(readFileSync(join(SAMPLES, "pickle", "expected.zip.json"), "utf8")) as Record<
  string,
  Expectation
>;
const containers = ANALYZERS.some((a) => a.formats.includes("zip"));

/** Findings of a zip archive's members, analysed as the engine would hand them over. */
async function zipFindings(zip: Uint8Array, depth = 0): Promise<LooseFinding[]> {
  const members = zipMembers(zip);
  const names = [...members.keys()];
  const torchscript = names.some((n) => /\/code\//.test(n));
  const isTorch = names.some((n) => n.endsWith("data.pkl"));
  const lineage: Format[] = torchscript ? ["torchscript"] : isTorch ? ["pytorch-zip"] : ["npz"];
  const out: LooseFinding[] = [];
  for (const [name, data] of members) {
    if (name.endsWith(".npy")) {
      const r = fakeContext(data, "numpy", { lineage });
      await numpyAnalyzer.analyze(r.ctx);
      out.push(...r.findings);
    } else if (name.endsWith(".pkl") || name.endsWith(".debug_pkl")) {
      const a = await analyze(data, { context: torchscript ? "torchscript" : "pytorch" });
      out.push(...a.findings);
      for (const e of a.embedded) out.push(...(await zipFindings(await e.source.read(0, e.source.size), depth + 1)));
    } else if (name.endsWith(".py") && torchscript) {
      const r = fakeContext(data, "python", { lineage, name });
      await torchscriptCodeAnalyzer.analyze(r.ctx);
      out.push(...r.findings);
    }
  }
  return out;
}

async function fallbackFindings(path: string, data: Uint8Array): Promise<LooseFinding[]> {
  if (data[0] === 0x50 && data[1] === 0x4b) return zipFindings(data);
  if (path.endsWith(".joblib")) {
    const kind = joblibCompression(data);
    if (kind === "zlib" || kind === "gzip") {
      // what the decompression container hands to the pickle analyzer, and what the joblib
      // analyzer reads itself
      const inner = kind === "zlib" ? inflateSync(data) : gunzipSync(data);
      const viaPickle = await analyze(new Uint8Array(inner), { context: "joblib" });
      const r = fakeContext(data, "joblib");
      await joblibAnalyzer.analyze(r.ctx);
      expect(r.findings.map((f) => f.ruleId).sort()).toEqual(viaPickle.findings.map((f) => f.ruleId).sort());
      return viaPickle.findings;
    }
    const r = fakeContext(data, "joblib");
    await joblibAnalyzer.analyze(r.ctx);
    expect(r.findings.map((f) => f.ruleId)).toEqual(["format/unsupported"]);
    return [];
  }
  const a = await analyze(data);
  const out: LooseFinding[] = [...a.findings];
  for (const e of a.embedded) out.push(...(await zipFindings(await e.source.read(0, e.source.size))));
  return out;
}

describe.each(Object.entries(expected))("%s", (path, want) => {
  it(
    containers ? "scans as expected through the engine" : "scans as expected (members read by a test zip reader)",
    async () => {
      const file = join(SAMPLES, path);
      let findings: LooseFinding[];
      let verdict: Verdict;
      if (containers) {
        const report = await scan(file);
        findings = report.files.flatMap((f) => f.findings);
        verdict = report.files[0]?.verdict ?? "clean";
      } else {
        findings = await fallbackFindings(path, new Uint8Array(readFileSync(file)));
        const compressed = /_(bz2|lzma|xz)\.joblib$/.test(path);
        // without the decompressors, bz2/lzma/xz joblib files are unsupported (invalid), never clean
        verdict = compressed ? "invalid" : verdictOf(findings);
        if (compressed) return;
      }
      const context = JSON.stringify(findings.map((f) => `${f.severity ?? ""} ${f.ruleId} ${f.message}`));
      expect(verdict, context).toBe(want.verdict);
      const ids = new Set(findings.map((f) => f.ruleId));
      for (const r of want.rules ?? []) expect(ids.has(r), `${r} missing: ${context}`).toBe(true);
      if (want.callee !== undefined) {
        expect(
          findings.some((f) => f.evidence?.callee === want.callee),
          context,
        ).toBe(true);
      }
    },
  );
});
