/**
 * Repeated manifests: extracting an archive writes every copy of `MAR-INF/MANIFEST.json` in turn,
 * so the loader reads the last one. The judged copies are the last ones, and copies (or model
 * directories) past the budget make the scan non-clean instead of being dropped silently.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scan } from "../../../src/scan/engine.js";
import { buildTar } from "../../containers/tar-builder.js";
import { buildZip } from "../../containers/zip-builder.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const manifest = (handler: string) =>
  JSON.stringify({
    runtime: "python",
    archiverVersion: "0.12.0",
    model: { modelName: "m", serializedFile: "model.pt", handler, modelVersion: "1.0" },
  });
const NAME = "MAR-INF/MANIFEST.json";
/** n benign copies, then the one the loader reads: a handler from the environment. */
const copies = (n: number) => [
  ...Array.from({ length: n }, () => manifest("image_classifier")),
  manifest("evil_module:handle"),
];

describe("repeated manifests in an archive", () => {
  it("zip: the last of six copies is judged, and the copies past the budget are reported", async () => {
    const zip = buildZip([{ name: "model.pt", data: "x" }, ...copies(5).map((data) => ({ name: NAME, data }))]);
    const file = await scanOne(zip, "m.mar");
    expect(ruleIds(file)).toContain("torchserve/unknown-handler");
    const f = file.findings.find((x) => x.ruleId === "scan/budget-exceeded");
    expect(f?.evidence?.budget).toBe("torchserve.maxManifests");
    expect(file.verdict).not.toBe("clean");
  });

  it("tar: the last of six copies is judged, and the copies past the budget are reported", async () => {
    const tar = buildTar([{ name: "model.pt", data: "x" }, ...copies(5).map((data) => ({ name: NAME, data }))]);
    const file = await scanOne(tar, "m.tar");
    expect(ruleIds(file)).toContain("torchserve/unknown-handler");
    expect(file.findings.some((x) => x.evidence?.budget === "torchserve.maxManifests")).toBe(true);
  });

  it("a few copies are all judged, with no budget finding", async () => {
    const zip = buildZip([{ name: "model.pt", data: "x" }, ...copies(2).map((data) => ({ name: NAME, data }))]);
    const file = await scanOne(zip, "m.mar");
    expect(ruleIds(file)).toContain("torchserve/unknown-handler");
    expect(file.findings.some((x) => x.evidence?.budget === "torchserve.maxManifests")).toBe(false);
  });
});

describe("model directories past the budget", () => {
  it("a 65th unarchived model directory is reported, not dropped", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mg-ts-dirs-"));
    try {
      for (let i = 0; i < 65; i++) {
        await mkdir(join(dir, `m${String(i).padStart(2, "0")}`, "MAR-INF"), { recursive: true });
        await writeFile(join(dir, `m${String(i).padStart(2, "0")}`, NAME), manifest("image_classifier"));
      }
      const report = await scan(dir);
      const over = report.files.filter((f) =>
        f.findings.some(
          (x) => x.ruleId === "scan/budget-exceeded" && x.evidence?.budget === "torchserve.maxDirectories",
        ),
      );
      expect(over).toHaveLength(1);
      expect(report.verdict).not.toBe("clean");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
