/**
 * Report outputs name the right file whatever its name holds: CycloneDX bom-refs are unique (a
 * file named `evil.pkl#finding:0` is not a finding of `evil.pkl`), SARIF locations point at the
 * file's own path (`a!b.pkl`, `a#b.pkl`), and a verdict restored from the cache names its file in
 * suppressed findings too.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderCycloneDx } from "../../src/report/render/cyclonedx.js";
import { encodePathForUri, renderSarif } from "../../src/report/render/sarif.js";
import type { FileReport, ScanReport } from "../../src/report/schema.js";
import { restoreReport } from "../../src/scan/cache.js";
import { scan } from "../../src/scan/engine.js";
import { cycloneDxValidator } from "../helpers/cyclonedx.js";

/** Protocol 0 `posix.system('true')`. */
const PAYLOAD = Buffer.from("cposix\nsystem\n(S'true'\ntR.", "latin1");
const NAMES = ["evil.pkl", "evil.pkl#finding:0", "a!b.pkl", "a", "a#b.pkl", "c%23d.pkl", "x:y.pkl", "sp ace.pkl"];

let dir: string;
let report: ScanReport;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mg-report-paths-"));
  for (const name of NAMES) await writeFile(join(dir, name), PAYLOAD);
  report = await scan(dir, { signature: false });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const byPath = (path: string): FileReport => {
  const file = report.files.find((f) => f.path === path);
  if (file === undefined) throw new Error(`no file ${path}`);
  return file;
};

/** Decodes what {@link encodePathForUri} wrote (test oracle). */
function decode(text: string): string {
  const bytes: number[] = [];
  let out = "";
  const flush = () => {
    out += Buffer.from(bytes).toString("utf8");
    bytes.length = 0;
  };
  for (let i = 0; i < text.length; ) {
    if (text.startsWith("%u", i)) {
      flush();
      out += String.fromCharCode(Number.parseInt(text.slice(i + 2, i + 6), 16));
      i += 6;
    } else if (text[i] === "%") {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      flush();
      out += text[i];
      i++;
    }
  }
  flush();
  return out;
}

describe("CycloneDX bom-refs", () => {
  it("are unique when a file is named like another file's finding ref", () => {
    expect(byPath("evil.pkl").verdict).toBe("malicious");
    expect(byPath("evil.pkl#finding:0").verdict).toBe("malicious");
    const bom = renderCycloneDx(report);
    const refs = [
      ...bom.components.map((c) => c["bom-ref"]),
      ...(bom.components[0]?.components ?? []).map((c) => c["bom-ref"]),
      ...bom.vulnerabilities.map((v) => v["bom-ref"]),
    ];
    expect(new Set(refs).size).toBe(refs.length);
    // Every vulnerability affects the file it was found in.
    const nameOf = new Map((bom.components[0]?.components ?? []).map((c) => [c["bom-ref"], c.name]));
    for (const file of report.files) {
      for (const finding of file.findings) expect(finding.path.startsWith(file.path)).toBe(true);
    }
    const affected = bom.vulnerabilities.map((v) => nameOf.get(v.affects[0]!.ref));
    expect(affected.filter((n) => n === "evil.pkl#finding:0").length).toBe(
      byPath("evil.pkl#finding:0").findings.length,
    );
    const result = cycloneDxValidator()(bom);
    expect(result.errors).toBe("");
  });

  it("two reports of one Hub revision get distinct model refs", () => {
    const hub = {
      ...report,
      target: { kind: "hub" as const, name: "o/m", hub: { repo: "o/m", commit: "a".repeat(40) } },
    };
    const bom = renderCycloneDx([hub, hub] as ScanReport[]);
    expect(bom.components[0]?.["bom-ref"]).not.toBe(bom.components[1]?.["bom-ref"]);
  });

  it("path encoding is injective and never holds a separator", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (path) => {
        const encoded = encodePathForUri(path);
        expect(encoded).not.toMatch(/[#?:\s]/);
        expect(decode(encoded)).toBe(path);
      }),
      { seed: 20261207, numRuns: 200 },
    );
  });
});

describe("SARIF locations", () => {
  it("point at the file's own path, never at a prefix of it", () => {
    const sarif = renderSarif(report, { uriPrefix: "" });
    const run = sarif.runs[0]!;
    const uris = new Set(run.artifacts?.map((a) => a.location?.uri));
    for (const name of NAMES) expect(uris.has(encodePathForUri(name))).toBe(true);
    const uriOfResult = (path: string) =>
      (run.results ?? [])
        .filter((r) => (r.properties as { path: string }).path === path)
        .map((r) => r.locations?.[0]?.physicalLocation?.artifactLocation?.uri);
    expect(uriOfResult("a!b.pkl")).toEqual(Array(byPath("a!b.pkl").findings.length).fill("a!b.pkl"));
    expect(uriOfResult("a#b.pkl")[0]).toBe("a%23b.pkl");
    expect(uriOfResult("x:y.pkl")[0]).toBe("x%3Ay.pkl");
    expect(uriOfResult("sp ace.pkl")[0]).toBe("sp%20ace.pkl");
  });

  it("an error on a member points at the file holding it", () => {
    const withError: ScanReport = {
      ...report,
      errors: [
        { code: "IO", message: "member unreadable", path: "a!b.pkl!inner/data.pkl" },
        { code: "IO", message: "file unreadable", path: "a!b.pkl" },
      ],
    };
    const notes = renderSarif(withError, { uriPrefix: "models" }).runs[0]!.invocations![0]!.toolExecutionNotifications!;
    const uris = notes.flatMap((n) => n.locations ?? []).map((l) => l.physicalLocation?.artifactLocation?.uri);
    expect(uris.slice(0, 2)).toEqual(["models/a!b.pkl", "models/a!b.pkl"]);
  });
});

describe("restoreReport", () => {
  it("re-paths suppressed findings with the file", () => {
    const stored: FileReport = {
      path: "old/model.pt",
      size: 1,
      format: "pickle",
      formats: ["pickle"],
      verdict: "clean",
      findings: [],
      suppressed: [
        {
          ruleId: "pickle/dangerous-global",
          severity: "critical",
          message: "m",
          path: "old/model.pt!archive/data.pkl",
          suppression: { rule: "pickle/*", path: "**", reason: "r" },
        },
        {
          ruleId: "format/executable",
          severity: "high",
          message: "m",
          path: "old/model.pt",
          suppression: { rule: "format/*", path: "**", reason: "r" },
        },
      ],
    } as FileReport;
    const restored = restoreReport(stored, "new/model.pt", 1);
    expect(restored.suppressed?.map((f) => f.path)).toEqual(["new/model.pt!archive/data.pkl", "new/model.pt"]);
  });
});
