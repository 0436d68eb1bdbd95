import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TOOL_VERSION } from "../../../src/core/version.js";
import { type PolicyOptions, resolvePolicy } from "../../../src/policy/policy.js";
import type { FileReport } from "../../../src/report/schema.js";
import { FileVerdictCache, MemoryVerdictCache, restoreReport, type VerdictCache } from "../../../src/scan/cache.js";
import { scan } from "../../../src/scan/engine.js";
import { reportValidator } from "../../helpers/schema.js";
import { MockHub, type MockRepo, safetensorsLike } from "./mock-hub.js";

const A = "a".repeat(40);
const ELF = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, ...new Array(56).fill(0)]);
const text = (s: string) => new TextEncoder().encode(s);
const FAST = { retryBaseMs: 1, maxRetryDelayMs: 20, retries: 2 };

let hub: MockHub | undefined;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mg-cache-"));
});
afterEach(async () => {
  await hub?.close();
  hub = undefined;
  await rm(dir, { recursive: true, force: true });
});

const st = safetensorsLike(16, 32 << 20);
const REPOS: MockRepo[] = [
  {
    name: "acme/one",
    refs: { main: A },
    commits: {
      [A]: [
        { path: "config.json", content: text('{"a":1}') },
        { path: "model.safetensors", content: st, lfs: true },
        { path: "bin/tool", content: ELF, lfs: true },
      ],
    },
  },
  // Same LFS content in another repository, under the same path and under other names.
  {
    name: "acme/two",
    refs: { main: A },
    commits: {
      [A]: [
        { path: "weights/m.safetensors", content: st, lfs: true },
        { path: "bin/tool", content: ELF, lfs: true },
        { path: "helper.so", content: ELF, lfs: true },
      ],
    },
  },
];

const hubScan = (h: MockHub, repo: string, cache: VerdictCache, extra: { policy?: PolicyOptions } = {}) =>
  scan({ hub: { repo, hubUrl: h.url, env: {}, transport: FAST } }, { cache, ...extra });

describe("verdict cache", () => {
  it("a warm rescan answers what was read whole from the cache, once its bytes are read again and match the oid", async () => {
    hub = await MockHub.start(REPOS);
    const h = hub;
    const cache = new FileVerdictCache(dir);
    const cold = await hubScan(h, "acme/one", cache);
    expect(cold.files.every((f) => f.cached === undefined)).toBe(true);
    const coldLog = h.log.length;
    const warm = await hubScan(h, "acme/one", cache);
    const requests = h.log.slice(coldLog);
    // bin/tool was read whole (its digest computed): it is read whole again to check the oid, and
    // not analysed. model.safetensors was read partially: its result was not cached at all.
    const tool = warm.files.find((f) => f.path === "bin/tool")!;
    expect(tool).toMatchObject({ cached: true, verdict: "malicious", integrity: { status: "verified" } });
    expect(warm.files.find((f) => f.path === "model.safetensors")?.cached).toBeUndefined();
    expect(requests.filter((e) => e.server === "cdn").length).toBeGreaterThan(0);
    const strip = (f: FileReport) => ({ ...f, integrity: undefined, cached: undefined });
    expect(warm.files.map(strip)).toEqual(cold.files.map(strip));
    expect(warm.verdict).toBe(cold.verdict);
    expect(reportValidator()(warm).valid).toBe(true);
  });

  it("trusting the Hub's oids: a warm rescan reads no LFS file again, only the revision and the listing", async () => {
    hub = await MockHub.start(REPOS);
    const h = hub;
    const cache = new FileVerdictCache(dir);
    const trusted = (c: VerdictCache) =>
      scan(
        { hub: { repo: "acme/one", hubUrl: h.url, env: {}, transport: FAST, trustListedDigests: true } },
        { cache: c },
      );
    const cold = await trusted(cache);
    expect(cold.files.every((f) => f.cached === undefined)).toBe(true);
    const coldLog = h.log.length;
    const warm = await trusted(cache);
    const requests = h.log.slice(coldLog);
    // config.json is a git file (no SHA-256 before reading): it is read again, it is tiny.
    expect(requests.filter((e) => e.server === "cdn")).toEqual([]);
    expect(requests.map((e) => e.path.split("/").slice(0, 5).join("/"))).toEqual([
      "/api/models/acme/one",
      "/api/models/acme/one",
      "/acme/one/resolve/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ]);
    const strip = (f: FileReport) => ({ ...f, integrity: undefined, cached: undefined });
    expect(warm.files.map(strip)).toEqual(cold.files.map(strip));
    expect(warm.files.filter((f) => f.cached === true).map((f) => f.path)).toEqual(["bin/tool", "model.safetensors"]);
    // A scan that does not trust the listing never sees what a partial read under trust stored.
    const untrusted = await hubScan(h, "acme/one", cache);
    expect(untrusted.files.find((f) => f.path === "model.safetensors")?.cached).toBeUndefined();
  });

  it("the same content at the same path in another repository is answered from the cache; under another name it is scanned", async () => {
    hub = await MockHub.start(REPOS);
    const h = hub;
    const cache = new MemoryVerdictCache();
    await hubScan(h, "acme/one", cache);
    const two = await hubScan(h, "acme/two", cache);
    // The ELF is read whole to check the oid, and not analysed again.
    const tool = two.files.find((f) => f.path === "bin/tool")!;
    expect(tool).toMatchObject({ cached: true, verdict: "malicious", format: "executable" });
    expect(tool.findings.map((f) => f.path)).toEqual(["bin/tool"]);
    // What a file is taken for depends on its name too (an extension claims a format): the same
    // bytes under another name are another result.
    const helper = two.files.find((f) => f.path === "helper.so")!;
    expect(helper.cached).toBeUndefined();
    expect(helper).toMatchObject({ verdict: "malicious", format: "executable" });
  });

  it("a different policy or version is a miss", async () => {
    hub = await MockHub.start(REPOS);
    const h = hub;
    const cache = new MemoryVerdictCache();
    await hubScan(h, "acme/one", cache);
    const other = await hubScan(h, "acme/one", cache, { policy: { severity: { "format/executable": "low" } } });
    expect(other.files.some((f) => f.cached === true)).toBe(false);
    const key = { sha256: "0".repeat(64), toolVersion: "9.9.9", policyHash: resolvePolicy().hash };
    expect(await cache.get(key)).toBeUndefined();
  });

  it("a tampered file is never cached under the oid it failed to match", async () => {
    const content = text("x".repeat(2000));
    const served = content.slice();
    served[5] = 0x79;
    hub = await MockHub.start([
      { name: "acme/t", refs: { main: A }, commits: { [A]: [{ path: "w.bin", content, lfs: true, served }] } },
    ]);
    const h = hub;
    const cache = new MemoryVerdictCache();
    const report = await hubScan(h, "acme/t", cache);
    expect(report.files[0]?.integrity?.status).toBe("mismatch");
    expect(cache.size).toBe(0);
  });

  it("what the Hub says about one copy (its own scan status) is not cached with the content", async () => {
    const flagged = { status: "unsafe", avScan: { virusFound: true, virusNames: ["Eicar"] } };
    hub = await MockHub.start([
      {
        name: "acme/f",
        refs: { main: A },
        commits: { [A]: [{ path: "x.bin", content: ELF, lfs: true, security: flagged }] },
      },
      { name: "acme/g", refs: { main: A }, commits: { [A]: [{ path: "x.bin", content: ELF, lfs: true }] } },
    ]);
    const cache = new MemoryVerdictCache();
    const first = await scan({ hub: { repo: "acme/f", hubUrl: hub.url, env: {}, securityStatus: true } }, { cache });
    expect(first.files[0]?.findings.map((f) => f.ruleId)).toContain("hub/upstream-flagged");
    const second = await scan({ hub: { repo: "acme/g", hubUrl: hub.url, env: {} } }, { cache });
    expect(second.files[0]).toMatchObject({ cached: true, verdict: "malicious" });
    expect(second.files[0]?.findings.map((f) => f.ruleId)).toEqual(["format/executable"]);
  });

  it("incomplete results are not cached", async () => {
    hub = await MockHub.start(REPOS, { fault: (r) => (r.server === "cdn" ? { status: 503 } : undefined) });
    const h = hub;
    const cache = new MemoryVerdictCache();
    const report = await hubScan(h, "acme/one", cache);
    expect(report.complete).toBe(false);
    expect(cache.size).toBe(1); // config.json only (a git file, served by the Hub itself)
  });

  it("a local scan fills the cache for Hub files with the same SHA-256", async () => {
    await mkdir(join(dir, "local"));
    await writeFile(join(dir, "local", "helper.so"), ELF);
    const cache = new MemoryVerdictCache();
    await scan(join(dir, "local"), { cache, signature: false });
    hub = await MockHub.start(REPOS);
    const h = hub;
    const two = await hubScan(h, "acme/two", cache);
    expect(two.files.find((f) => f.path === "helper.so")?.cached).toBe(true);
  });

  it("corrupt or foreign cache entries are misses, never errors", async () => {
    const cache = new FileVerdictCache(dir);
    const policyHash = resolvePolicy().hash;
    const key = { sha256: "1".repeat(64), toolVersion: TOOL_VERSION, policyHash };
    const report: FileReport = {
      path: "x.bin",
      size: 3,
      format: "unknown",
      formats: ["unknown"],
      verdict: "clean",
      findings: [],
    };
    await cache.set(key, report);
    expect(await cache.get(key)).toEqual(report);
    const [file] = await findFiles(dir);
    await writeFile(file!, "{not json");
    expect(await cache.get(key)).toBeUndefined();
    await writeFile(file!, JSON.stringify({ key: { ...key, sha256: "2".repeat(64) }, report }));
    expect(await cache.get(key)).toBeUndefined();
    await writeFile(file!, JSON.stringify({ key, report: { ...report, verdict: "great" } }));
    expect(await cache.get(key)).toBeUndefined();
    await expect(cache.set({ ...key, sha256: "../../etc" }, report)).rejects.toThrow(/malformed/);
  });

  it("an entry that is a link or a FIFO is a miss, at once (never followed, never waited on)", async () => {
    const cache = new FileVerdictCache(dir);
    const key = { sha256: "3".repeat(64), toolVersion: TOOL_VERSION, policyHash: resolvePolicy().hash };
    const report: FileReport = {
      path: "x",
      size: 1,
      format: "unknown",
      formats: ["unknown"],
      verdict: "clean",
      findings: [],
    };
    await cache.set(key, report);
    const [file] = await findFiles(dir);
    const real = join(dir, "elsewhere.json");
    await rename(file!, real);
    await symlink(real, file!);
    expect(await cache.get(key)).toBeUndefined();
    await rm(file!);
    execFileSync("mkfifo", [file!]);
    const started = Date.now();
    expect(await cache.get(key)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("restoreReport re-paths findings and members", () => {
    const stored: FileReport = {
      path: "a/model.pt",
      size: 10,
      format: "pytorch-zip",
      formats: ["pytorch-zip"],
      verdict: "malicious",
      findings: [
        { ruleId: "pickle/dangerous-global", severity: "critical", message: "m", path: "a/model.pt!archive/data.pkl" },
      ],
      members: [{ path: "a/model.pt!archive/data.pkl", size: 5, format: "pickle", verdict: "malicious" }],
      integrity: { status: "partial", algorithm: "sha256", expected: "0".repeat(64), bytesFetched: 1 },
    };
    const r = restoreReport(stored, "b/other.pt", 10);
    expect(r.findings[0]?.path).toBe("b/other.pt!archive/data.pkl");
    expect(r.members?.[0]?.path).toBe("b/other.pt!archive/data.pkl");
    expect(r.integrity).toBeUndefined();
    expect(r.cached).toBe(true);
  });
});

async function findFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out;
}
