/**
 * The main entry's asynchronous functions are thin wrappers that load their implementation on
 * first call (issue 18, see startup.test.ts for what importing it loads). These tests check that
 * each wrapper hands its arguments and results through unchanged, rejections included, and that
 * the synchronous exports that need zod or the registry are on their subpaths only.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import * as policyEntry from "../../src/entries/policy.js";
import * as reportEntry from "../../src/entries/report.js";
import * as signingEntry from "../../src/entries/signing.js";
import * as main from "../../src/index.js";
import { scan as engineScan } from "../../src/scan/engine.js";
import { SAMPLES } from "../helpers/scan.js";

const dir = mkdtempSync(join(tmpdir(), "mg-main-entry-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stable = (r: main.ScanReport) => ({ ...r, startedAt: "", durationMs: 0, files: r.files.map((f) => ({ ...f })) });

describe("the main entry's lazy wrappers", () => {
  it("scan reports what the engine reports, with the options handed on", async () => {
    const target = join(SAMPLES, "pickle");
    const options: main.ScanOptions = { policy: { disable: ["pickle/unknown-global"] }, hash: false };
    const [viaMain, direct] = await Promise.all([main.scan(target, options), engineScan(target, options)]);
    expect(viaMain.files.length).toBeGreaterThan(3);
    const strip = (r: main.ScanReport) => ({
      ...stable(r),
      files: r.files.map((f) => ({ path: f.path, verdict: f.verdict, rules: f.findings.map((x) => x.ruleId) })),
    });
    expect(strip(viaMain)).toEqual(strip(direct));
    expect(viaMain.files.flatMap((f) => f.findings).some((f) => f.ruleId === "pickle/unknown-global")).toBe(false);
  });

  it("scan rejects bad options as the engine does", async () => {
    await expect(
      main.scan({ bytes: new Uint8Array(1), name: "x" }, { limits: { maxDepth: -1 } }),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("scanMany yields every target, and a break stops the pool", async () => {
    const bytes = (i: number) => ({ bytes: new TextEncoder().encode(`{"n": ${i}}`), name: `c${i}.json` });
    const seen: number[] = [];
    for await (const r of main.scanMany([bytes(0), bytes(1), bytes(2)], { targetConcurrency: 2 })) seen.push(r.index);
    expect(seen.sort()).toEqual([0, 1, 2]);

    let pulled = 0;
    async function* endless() {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield bytes(i);
      }
    }
    for await (const _ of main.scanMany(endless(), { targetConcurrency: 1 })) break;
    expect(pulled).toBeLessThan(10);
  });

  it("scanMany refuses a bad pool size on the first step", async () => {
    const it = main.scanMany([], { targetConcurrency: 0 });
    await expect(it.next()).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("loadPolicyFile and discoverPolicy load, validate and reject as their implementations", async () => {
    const good = join(dir, "good.json");
    writeFileSync(good, JSON.stringify({ disable: ["pickle/unknown-global"] }), { mode: 0o600 });
    await expect(main.loadPolicyFile(good)).resolves.toMatchObject({
      disable: ["pickle/unknown-global"],
      source: good,
    });
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ disable: ["no/such-rule"] }), { mode: 0o600 });
    await expect(main.loadPolicyFile(bad)).rejects.toMatchObject({ code: "POLICY" });
    await expect(main.discoverPolicy("." as never)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("verifyModel and verifyAttestation answer through the wrappers", async () => {
    const model = join(dir, "model");
    writeFileSync(join(dir, "model"), "weights");
    await expect(main.verifyModel(model)).resolves.toMatchObject({ status: "unsigned" });
    const result = await main.verifyAttestation("{", model);
    expect(result.status).toBe("failed");
    await expect(main.signModel(model, { privateKey: "not a key" } as never)).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });
});

describe("the main entry's surface", () => {
  it("exports no synchronous function that needs zod, the registry or Sigstore; the subpaths do", () => {
    const moved = {
      validatePolicy: policyEntry,
      getRule: policyEntry,
      FileReportSchema: reportEntry,
      ScanReportSchema: reportEntry,
      renderSarif: reportEntry,
      renderCycloneDx: reportEntry,
      renderText: reportEntry,
      attest: signingEntry,
    } as const;
    for (const [name, entry] of Object.entries(moved)) {
      expect(name in main, name).toBe(false);
      expect(name in entry, name).toBe(true);
    }
    expect(Object.keys(main).sort()).toEqual([
      "DEFAULT_LIMITS",
      "FileVerdictCache",
      "HubTransport",
      "MemoryVerdictCache",
      "ModelgateError",
      "discoverPolicy",
      "isModelgateError",
      "loadPolicyFile",
      "parseHubUri",
      "resolveHubSettings",
      "scan",
      "scanMany",
      "severityRank",
      "signModel",
      "verifyAttestation",
      "verifyModel",
    ]);
  });
});
