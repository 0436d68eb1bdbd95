// A hostile Hub (issue 13): listings that lie about LFS oids, paginate forever, or carry 100k
// entries padded with junk; servers that drip-feed bytes. None of it may produce a clean verdict
// for bytes that were not read, an endless scan, or memory that grows with the junk.
import { createHash } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { TOOL_VERSION } from "../../../src/core/version.js";
import { resolvePolicy } from "../../../src/policy/policy.js";
import type { ScanReport } from "../../../src/report/schema.js";
import { contentKeyDigest, MemoryVerdictCache, type VerdictCache } from "../../../src/scan/cache.js";
import { scan } from "../../../src/scan/engine.js";
import type { RootEntry, ScanOptions } from "../../../src/scan/types.js";
import { HubRoot, type HubTarget } from "../../../src/sources/hub/root.js";
import { type Fault, MockHub, type MockHubOptions, type MockRepo, safetensorsLike } from "./mock-hub.js";

const A = "a".repeat(40);
const text = (s: string) => new TextEncoder().encode(s);
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const FAST = { retryBaseMs: 1, maxRetryDelayMs: 20, retries: 2 };
/** A protocol-2 pickle of an empty dict: clean. */
const CLEAN = new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]);
/** A protocol-0 pickle calling os.system: malicious. */
const EVIL = text("cos\nsystem\n(S'echo hi'\ntR.");

let hub: MockHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

async function start(repos: MockRepo[], options: MockHubOptions = {}): Promise<MockHub> {
  hub = await MockHub.start(repos, options);
  return hub;
}

const repo = (name: string, files: MockRepo["commits"][string]): MockRepo => ({
  name,
  refs: { main: A },
  commits: { [A]: files },
});

function hubScan(
  h: MockHub,
  name: string,
  options: ScanOptions = {},
  target: Partial<HubTarget> = {},
): Promise<ScanReport> {
  return scan({ hub: { repo: name, hubUrl: h.url, env: {}, transport: FAST, ...target } }, options);
}

/** The cache key of content at a path (the engine binds a result to the file's path too). */
const key = (digest: string, path: string) => ({
  sha256: contentKeyDigest(digest, path),
  toolVersion: TOOL_VERSION,
  policyHash: resolvePolicy().hash,
});
const cdnBytes = (h: MockHub, from = 0) =>
  h.log.slice(from).reduce((n, e) => n + (e.server === "cdn" ? e.bodyBytes : 0), 0);

describe("a listing that lies about an LFS oid", () => {
  it("cannot plant a clean verdict under the oid of other bytes: a partial read is never cached under a listed oid", async () => {
    // acme/liar lists a clean, partially read file under the oid of acme/real's malicious pickle.
    const h = await start([
      repo("acme/liar", [
        { path: "model.safetensors", content: safetensorsLike(4, 4 << 20), lfs: true, sha256: sha256(EVIL) },
      ]),
      repo("acme/real", [{ path: "model.safetensors", content: EVIL, lfs: true }]),
    ]);
    const cache = new MemoryVerdictCache();
    const liar = await hubScan(h, "acme/liar", { cache });
    expect(liar.files[0]).toMatchObject({ verdict: "clean", integrity: { status: "partial" } });
    expect(await cache.get(key(sha256(EVIL), "model.safetensors"))).toBeUndefined();
    expect(cache.size).toBe(0);
    const before = h.log.length;
    const real = await hubScan(h, "acme/real", { cache });
    const evil = real.files[0]!;
    expect(evil.cached).toBeUndefined();
    expect(evil.verdict).toBe("malicious");
    expect(cdnBytes(h, before)).toBeGreaterThanOrEqual(EVIL.length);
  });

  it("cannot borrow the clean verdict of another file's oid: a hit is taken only once the bytes served match it", async () => {
    const h = await start([
      repo("acme/clean", [{ path: "model.pkl", content: CLEAN, lfs: true }]),
      repo("acme/liar", [{ path: "model.pkl", content: EVIL, lfs: true, sha256: sha256(CLEAN) }]),
    ]);
    const cache = new MemoryVerdictCache();
    const clean = await hubScan(h, "acme/clean", { cache });
    expect(clean.files[0]).toMatchObject({ verdict: "clean", integrity: { status: "verified" } });
    expect(await cache.get(key(sha256(CLEAN), "model.pkl"))).toBeDefined();
    const liar = await hubScan(h, "acme/liar", { cache });
    const model = liar.files[0]!;
    expect(model.cached).toBeUndefined();
    expect(model.verdict).toBe("malicious");
    expect(model.integrity?.status).toBe("mismatch");
    expect(model.findings.map((f) => f.ruleId)).toContain("hub/integrity-mismatch");
    // And nothing about the malicious bytes went into the cache under the lie.
    expect(cache.size).toBe(1);
  });

  it("a local scan of the same bytes looks up nothing a Hub listing claimed", async () => {
    const h = await start([
      repo("acme/liar", [
        { path: "model.safetensors", content: safetensorsLike(4, 4 << 20), lfs: true, sha256: sha256(EVIL) },
      ]),
    ]);
    const cache: VerdictCache = new MemoryVerdictCache();
    await hubScan(h, "acme/liar", { cache }, { trustListedDigests: true });
    // Even a caller who trusts the listing only caches the partial read under a derived key.
    expect(await cache.get(key(sha256(EVIL), "model.safetensors"))).toBeUndefined();
    const local = await scan({ bytes: EVIL, name: "model.safetensors" }, { cache });
    expect(local.files[0]).toMatchObject({ verdict: "malicious" });
    expect(local.files[0]?.cached).toBeUndefined();
  });
});

describe("a listing that never ends", () => {
  const files = [{ path: "config.json", content: text("{}") }];

  it("empty pages with a next link forever: the listing stops at its page budget, the scan is incomplete", {
    timeout: 20_000,
  }, async () => {
    const h = await start([repo("acme/endless", files)], {
      tree: ({ cursor }) => ({ items: [], next: String(Number(cursor ?? 0) + 1) }),
    });
    const report = await hubScan(h, "acme/endless", {}, { listing: { maxPages: 50 } });
    const listing = report.files.find((f) => f.path === ".")!;
    expect(listing.findings).toMatchObject([{ ruleId: "scan/budget-exceeded" }]);
    expect(listing.findings[0]?.message).toMatch(/more than 50 pages/);
    expect(report.complete).toBe(false);
    expect(report.verdict).toBe("invalid");
    expect(report.errors).toMatchObject([{ code: "BUDGET_EXCEEDED" }]);
  });

  it("a next link that repeats a page is caught at once", { timeout: 20_000 }, async () => {
    const h = await start([repo("acme/loop", files)], { tree: () => ({ items: [], next: "same" }) });
    const report = await hubScan(h, "acme/loop");
    expect(report.files.find((f) => f.path === ".")?.findings[0]?.message).toMatch(/repeats an earlier page/);
    expect(h.log.filter((e) => e.path.includes("/tree/")).length).toBe(2);
    expect(report.complete).toBe(false);
  });

  it("pages of directories only: the item budget stops it", { timeout: 20_000 }, async () => {
    const h = await start([repo("acme/dirs", files)], {
      tree: ({ cursor }) => {
        const n = Number(cursor ?? 0);
        const items = Array.from({ length: 10 }, (_, i) => ({
          type: "directory",
          oid: "0".repeat(40),
          size: 0,
          path: `d${n}/${i}`,
        }));
        return { items, next: String(n + 1) };
      },
    });
    const report = await hubScan(h, "acme/dirs", {}, { listing: { maxItems: 300 } });
    expect(report.files.find((f) => f.path === ".")?.findings[0]?.message).toMatch(/more than 300 items/);
    expect(report.complete).toBe(false);
  });

  it("a listing slower than its wall-clock budget stops", { timeout: 20_000 }, async () => {
    const h = await start([repo("acme/slow", files)], {
      latencyMs: 50,
      tree: ({ cursor }) => ({ items: [], next: String(Number(cursor ?? 0) + 1) }),
    });
    const t0 = Date.now();
    const report = await hubScan(h, "acme/slow", {}, { listing: { timeoutMs: 500 } });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(report.files.find((f) => f.path === ".")?.findings[0]?.message).toMatch(/did not finish within 500 ms/);
  });

  it("the scan's own deadline ends a listing stuck on a request", { timeout: 20_000 }, async () => {
    const h = await start([repo("acme/stuck", files)], {
      fault: (r) => (r.path.includes("/tree/") ? { status: 0, hang: true } : undefined),
    });
    const t0 = Date.now();
    const report = await hubScan(h, "acme/stuck", { limits: { scanTimeoutMs: 500 } });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(report.complete).toBe(false);
    expect(report.errors).toMatchObject([{ code: "TIMEOUT" }]);
  });
});

describe("a server that drip-feeds bytes", () => {
  const autoMap = (pad: number) =>
    text(`{"auto_map": {"AutoModel": "modeling_x.ModelX"}, "pad": "${"x".repeat(pad)}"}`);
  const module = (size: number) => text(`class ModelX:\n    pass\n${"#".repeat(size)}\n`);
  const resolves = (h: MockHub, name: string) => h.log.filter((e) => e.server === "hub" && e.path.endsWith(`/${name}`));

  it("a file that timed out in the file pass is not fetched again by the repository analyzers", {
    timeout: 20_000,
  }, async () => {
    const drip: Fault = { status: 200, dripMs: 20 };
    const h = await start(
      [
        repo("acme/drip", [
          { path: "config.json", content: autoMap(4000) },
          { path: "modeling_x.py", content: module(10) },
        ]),
      ],
      { fault: (r) => (r.path.endsWith("/config.json") ? drip : undefined) },
    );
    const t0 = Date.now();
    const report = await hubScan(h, "acme/drip", { limits: { fileTimeoutMs: 800 } });
    expect(Date.now() - t0).toBeLessThan(10_000);
    const config = report.files.find((f) => f.path === "config.json")!;
    expect(config.findings.map((f) => f.ruleId)).toContain("scan/timeout");
    expect(resolves(h, "config.json")).toHaveLength(1);
    expect(report.complete).toBe(false);
  });

  it("every read a repository analyzer makes has the file's deadline", { timeout: 20_000 }, async () => {
    let filePassDone = false;
    const h = await start(
      [
        repo("acme/drip2", [
          { path: "config.json", content: autoMap(10) },
          { path: "modeling_x.py", content: module(100_000) },
        ]),
      ],
      { fault: (r) => (filePassDone && r.path.endsWith("/modeling_x.py") ? { status: 200, dripMs: 50 } : undefined) },
    );
    const t0 = Date.now();
    const report = await hubScan(h, "acme/drip2", {
      limits: { fileTimeoutMs: 800 },
      onProgress: (e) => {
        if (e.phase === "done" && e.bytesDone === e.bytesTotal) filePassDone = true;
      },
    });
    expect(Date.now() - t0).toBeLessThan(10_000);
    const py = report.files.find((f) => f.path === "modeling_x.py")!;
    // Read fine in the file pass; the second read (the remote-code analysis) ran out of time.
    expect(py.findings.map((f) => f.ruleId)).toEqual(expect.arrayContaining(["repo/remote-code", "scan/timeout"]));
    expect(py.verdict).toBe("invalid");
    expect(report.complete).toBe(false);
  });
});

/** `global.gc`, from a context that has it. */
function collector(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

describe("a listing of 100 000 files padded with junk", () => {
  it("keeps small state per file, whatever each item carries", { timeout: 120_000 }, async () => {
    const total = 100_000;
    const perPage = 1_000;
    const junk = "j".repeat(300);
    const h = await start([repo("acme/huge", [{ path: "config.json", content: text("{}") }])], {
      tree: ({ cursor }) => {
        const page = Number(cursor ?? 0);
        const items = Array.from({ length: perPage }, (_, i) => {
          const n = page * perPage + i;
          return {
            type: "file",
            oid: n.toString(16).padStart(40, "0"),
            size: 1000,
            path: `weights/shard-${n}.bin`,
            lfs: { oid: n.toString(16).padStart(64, "0"), size: 1000, pointerSize: 134, junk },
            securityFileStatus: { status: "safe", junk, nested: { junk } },
            lastCommit: { id: A, title: junk },
            xetHash: junk,
          };
        });
        return page + 1 < total / perPage ? { items, next: String(page + 1) } : { items };
      },
    });
    const gc = collector();
    const root = await HubRoot.open({
      repo: "acme/huge",
      hubUrl: h.url,
      env: {},
      transport: FAST,
      securityStatus: true,
      maxFiles: 2 * total,
    });
    gc();
    const before = process.memoryUsage().heapUsed;
    const entries: RootEntry[] = [];
    for await (const entry of root.list(new AbortController().signal)) entries.push(entry);
    gc();
    const perFile = (process.memoryUsage().heapUsed - before) / total;
    // The root stays in use (repository analyzers open files through it): its state counts.
    await (await root.open(entries[0]!.path)).close?.();
    expect(entries.length).toBe(total);
    expect(entries.every((e) => e.kind === "file")).toBe(true);
    // Path, size and oid, in the listing's entry and the root's own record (about 200 bytes);
    // none of the 1.5 KB of junk each item carried.
    expect(perFile).toBeLessThan(400);
  });

  it("rejected entries are summarised, not kept one by one", { timeout: 60_000 }, async () => {
    const h = await start([repo("acme/bad", [{ path: "config.json", content: text("{}") }])], {
      tree: ({ cursor }) => {
        const page = Number(cursor ?? 0);
        const items = Array.from({ length: 1_000 }, (_, i) => ({
          type: "file",
          size: 1,
          path: `../escape-${page}-${i}/${"x".repeat(3_000)}`,
        }));
        return page < 9 ? { items, next: String(page + 1) } : { items };
      },
    });
    const report = await hubScan(h, "acme/bad");
    expect(report.files.length).toBeLessThanOrEqual(101);
    expect(report.files.every((f) => f.path.length <= 301)).toBe(true);
    expect(report.files.find((f) => f.path === ".")?.findings[0]?.message).toMatch(
      /more entries of the listing were rejected/,
    );
    expect(report.complete).toBe(false);
  });
});
