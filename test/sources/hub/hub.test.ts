import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { isModelgateError } from "../../../src/core/errors.js";
import type { ScanReport } from "../../../src/report/schema.js";
import { HEAD_BYTES, TAIL_BYTES } from "../../../src/scan/analyze.js";
import { scan } from "../../../src/scan/engine.js";
import type { HubTarget } from "../../../src/sources/hub/root.js";
import { reportValidator } from "../../helpers/schema.js";
import { type Fault, type MockFile, MockHub, type MockRepo, safetensorsLike } from "./mock-hub.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const ELF = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, ...new Array(56).fill(0)]);
const text = (s: string) => new TextEncoder().encode(s);
const FAST = { retryBaseMs: 1, maxRetryDelayMs: 20, retries: 3 };

let hub: MockHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

async function start(repos: MockRepo[], options: ConstructorParameters<typeof MockHub>[0] = {}): Promise<MockHub> {
  hub = await MockHub.start(repos, options);
  return hub;
}

function repo(files: MockFile[], extra: Partial<MockRepo> = {}): MockRepo {
  return { name: "acme/tiny", refs: { main: A }, commits: { [A]: files }, ...extra };
}

function hubScan(h: MockHub, target: Partial<HubTarget> = {}, signal?: AbortSignal): Promise<ScanReport> {
  return scan(
    { hub: { repo: "acme/tiny", hubUrl: h.url, env: {}, transport: FAST, ...target } },
    { ...(signal === undefined ? {} : { signal }), concurrency: 2 },
  );
}

const file = (r: ScanReport, path: string) => {
  const f = r.files.find((x) => x.path === path);
  if (f === undefined) throw new Error(`no report for ${path}`);
  return f;
};
const cdnBytes = (h: MockHub) => h.bodyBytes((e) => e.server === "cdn");

describe("Hub source: pinned commit", () => {
  it("resolves the branch once and reads every listing and file at that commit, even if the branch moves", async () => {
    const h = await start([
      {
        name: "acme/tiny",
        refs: { main: A },
        commits: {
          [A]: [
            { path: "config.json", content: text('{"model_type":"bert"}') },
            { path: "w.bin", content: text("x".repeat(100)), lfs: true },
          ],
          [B]: [
            { path: "config.json", content: ELF },
            { path: "w.bin", content: ELF, lfs: true },
          ],
        },
      },
    ]);
    const moved = { done: false };
    const report = await scan(
      { hub: { repo: "acme/tiny", hubUrl: h.url, env: {}, transport: FAST } },
      {
        onProgress: (e) => {
          // A push lands as soon as listing starts.
          if (e.phase === "list" && !moved.done) {
            moved.done = true;
            h.setRef("acme/tiny", "main", B);
          }
        },
      },
    );
    expect(report.target).toMatchObject({ kind: "hub", name: "hf://acme/tiny@main" });
    expect(report.target.hub).toMatchObject({ repo: "acme/tiny", revision: "main", commit: A });
    expect(report.verdict).toBe("clean");
    expect(reportValidator()(report).valid).toBe(true);
    const revisionCalls = h.log.filter((e) => e.path.includes("/revision/"));
    expect(revisionCalls.map((e) => e.path)).toEqual(["/api/models/acme/tiny/revision/main"]);
    const later = h.log.filter((e) => e.server === "hub" && !e.path.includes("/revision/"));
    expect(later.length).toBeGreaterThan(0);
    for (const e of later) expect(e.path).toContain(`/${A}`);
  });

  it("follows Link pagination through the whole tree", async () => {
    const files = Array.from({ length: 7 }, (_, i) => ({ path: `d${i % 2}/f${i}.json`, content: text(`{"i":${i}}`) }));
    const h = await start([repo(files)], { pageSize: 2 });
    const report = await hubScan(h);
    expect(report.files.map((f) => f.path)).toEqual(files.map((f) => f.path).sort());
    expect(h.log.filter((e) => e.path.includes("/tree/")).length).toBeGreaterThanOrEqual(4);
    expect(report.complete).toBe(true);
  });

  it("a commit id as revision is checked against what the Hub answers", async () => {
    const h = await start([repo([{ path: "a.json", content: text("{}") }])]);
    const report = await hubScan(h, { revision: A });
    expect(report.target.hub?.commit).toBe(A);
  });

  it("restricts the scan to the given paths; a missing path makes the scan incomplete, never clean", async () => {
    const h = await start([
      repo([
        { path: "sub/a.json", content: text("{}") },
        { path: "sub/deep/b.json", content: text("{}") },
        { path: "other.so", content: ELF },
      ]),
    ]);
    const sub = await hubScan(h, { paths: ["sub"] });
    expect(sub.files.map((f) => f.path)).toEqual(["sub/a.json", "sub/deep/b.json"]);
    expect(sub.verdict).toBe("clean");
    expect(sub.target.name).toBe("hf://acme/tiny@main/sub");
    const missing = await hubScan(h, { paths: ["sub/a.json", "nope.bin"] });
    expect(missing.complete).toBe(false);
    expect(missing.verdict).toBe("invalid");
    expect(file(missing, "nope.bin").findings[0]?.ruleId).toBe("scan/read-error");
  });

  it("paths a git tree cannot hold are not read and make the scan invalid", async () => {
    const h = await start([repo([{ path: "a/../../etc/passwd", content: text("root") }])]);
    const report = await hubScan(h);
    expect(report.verdict).toBe("invalid");
    expect(h.log.some((e) => e.path.includes("/resolve/"))).toBe(false);
  });
});

describe("Hub source: economical reads", () => {
  it("a large safetensors file costs its head and tail reads, counted the same by client and server", async () => {
    const st = safetensorsLike(64, 256 << 20);
    const h = await start([repo([{ path: "model.safetensors", content: st, lfs: true }])]);
    const report = await hubScan(h);
    const f = file(report, "model.safetensors");
    expect(f.format).toBe("safetensors");
    expect(f.integrity).toMatchObject({ status: "partial", algorithm: "sha256" });
    expect(f.sha256).toBeUndefined();
    // The sniffer reads 64 KiB at the start and a zip end record's reach at the end.
    expect(cdnBytes(h)).toBeLessThanOrEqual(HEAD_BYTES + TAIL_BYTES);
    expect(cdnBytes(h) / st.size).toBeLessThan(0.001);
    expect(f.integrity?.bytesFetched).toBe(cdnBytes(h));
    expect(report.target.hub?.bytesTransferred).toBe(h.bodyBytes());
    expect(report.target.hub?.requests).toBe(h.log.length);
    // One resolve (302) then the CDN URL is reused: no second trip through the Hub.
    expect(h.log.filter((e) => e.path.endsWith("/model.safetensors")).length).toBe(1);
    expect(h.log.filter((e) => e.server === "cdn").length).toBe(2);
  });

  it("every range response is 206 with the requested Content-Range", async () => {
    const h = await start([repo([{ path: "m.safetensors", content: safetensorsLike(4, 8 << 20), lfs: true }])]);
    await hubScan(h);
    const ranged = h.log.filter((e) => e.server === "cdn");
    expect(ranged.every((e) => e.status === 206 && e.range !== undefined)).toBe(true);
  });

  it("small files are read whole by the first request and verified against the git blob SHA-1", async () => {
    const body = text('{"architectures":["BertModel"]}');
    const h = await start([repo([{ path: "config.json", content: body }])]);
    const report = await hubScan(h);
    const f = file(report, "config.json");
    const sha1 = createHash("sha1").update(`blob ${body.length}\0`).update(body).digest("hex");
    expect(f.integrity).toEqual({
      status: "verified",
      algorithm: "git-blob-sha1",
      expected: sha1,
      actual: sha1,
      bytesFetched: body.length,
    });
    expect(f.sha256).toBe(createHash("sha256").update(body).digest("hex"));
  });

  it("verify: full reads and verifies every file, in large ranges", async () => {
    const st = safetensorsLike(8, 24 << 20);
    const h = await start([repo([{ path: "model.safetensors", content: st, lfs: true }])]);
    const report = await hubScan(h, { verify: "full" });
    const f = file(report, "model.safetensors");
    expect(f.integrity?.status).toBe("verified");
    expect(f.integrity?.actual).toBe(f.integrity?.expected);
    expect(f.sha256).toBe(f.integrity?.expected);
    expect(cdnBytes(h)).toBeGreaterThanOrEqual(st.size);
    expect(cdnBytes(h)).toBeLessThan(st.size + 256 * 1024);
    expect(h.log.filter((e) => e.server === "cdn").length).toBeLessThan(10);
  });
});

describe("Hub source: integrity", () => {
  const tamper = (bytes: Uint8Array) => {
    const copy = bytes.slice();
    copy[copy.length - 1] = copy[copy.length - 1]! ^ 1;
    return copy;
  };

  it("a tampered LFS file (same size) is a high finding when verified in full", async () => {
    const content = text(`{"weights":"${"w".repeat(5000)}"}`);
    const h = await start([repo([{ path: "w.bin", content, lfs: true, served: tamper(content) }])]);
    const report = await hubScan(h, { verify: "full" });
    const f = file(report, "w.bin");
    expect(f.integrity?.status).toBe("mismatch");
    const finding = f.findings.find((x) => x.ruleId === "hub/integrity-mismatch");
    expect(finding).toMatchObject({ severity: "high", evidence: { check: "sha256" } });
    expect(f.verdict).toBe("malicious");
    expect(report.verdict).toBe("malicious");
  });

  it("a small file read whole is checked without asking: a tampered config.json is caught", async () => {
    const content = text('{"model_type":"bert"}');
    const h = await start([repo([{ path: "config.json", content, served: tamper(content) }])]);
    const report = await hubScan(h);
    const f = file(report, "config.json");
    expect(f.findings.map((x) => x.ruleId)).toContain("hub/integrity-mismatch");
    expect(f.integrity).toMatchObject({ status: "mismatch", algorithm: "git-blob-sha1" });
  });

  it("a served file of another size is caught from Content-Range even when read partially", async () => {
    const st = safetensorsLike(4, 4 << 20);
    const shorter = { size: st.size - 1000, read: (s: number, e: number) => st.read(s, e) };
    const h = await start([repo([{ path: "m.safetensors", content: st, lfs: true, served: shorter }])]);
    const report = await hubScan(h);
    const f = file(report, "m.safetensors");
    expect(f.findings.map((x) => x.ruleId)).toEqual(expect.arrayContaining(["hub/integrity-mismatch"]));
    expect(f.integrity?.status).toBe("mismatch");
    expect(report.verdict).toBe("malicious");
  });
});

describe("Hub source: resolve headers", () => {
  it("an X-Repo-Commit or X-Linked-Etag naming other content is an integrity finding", async () => {
    const content = text("w".repeat(1000));
    for (const [headers, check] of [
      [{ "x-repo-commit": B }, "commit"],
      [{ "x-linked-etag": `"${"e".repeat(64)}"` }, "etag"],
      [{ "x-linked-size": "5" }, "linked-size"],
    ] as const) {
      const h = await start([repo([{ path: "w.bin", content, lfs: true }])], { resolveHeaders: headers });
      const report = await hubScan(h);
      const f = file(report, "w.bin");
      expect(f.findings.find((x) => x.ruleId === "hub/integrity-mismatch")?.evidence?.check).toBe(check);
      expect(f.integrity?.status).toBe("mismatch");
      await h.close();
      hub = undefined;
    }
  });
});

describe("Hub source: misbehaving servers", () => {
  it("a server that ignores Range: small files are taken whole, a large one fails and is never clean", async () => {
    const st = safetensorsLike(4, 48 << 20);
    const h = await start(
      [
        repo([
          { path: "config.json", content: text("{}") },
          { path: "big.safetensors", content: st, lfs: true },
        ]),
      ],
      { ignoreRange: true },
    );
    const report = await hubScan(h);
    expect(file(report, "config.json")).toMatchObject({ verdict: "clean", integrity: { status: "verified" } });
    const big = file(report, "big.safetensors");
    expect(big.verdict).toBe("invalid");
    expect(big.findings[0]).toMatchObject({ ruleId: "scan/read-error" });
    expect(big.findings[0]?.message).toMatch(/ignores Range/);
    expect(report.complete).toBe(false);
    expect(report.verdict).not.toBe("clean");
  });

  it("unknown repository or revision: the scan rejects with INVALID_ARGUMENT", async () => {
    const h = await start([repo([{ path: "a.json", content: text("{}") }])]);
    await expect(hubScan(h, { repo: "acme/none" })).rejects.toSatisfy((e) => isModelgateError(e, "INVALID_ARGUMENT"));
    await expect(hubScan(h, { revision: "nope" })).rejects.toSatisfy((e) => isModelgateError(e, "INVALID_ARGUMENT"));
  });

  it("401 without a token says how to authenticate; the token goes to the Hub, never to the CDN", async () => {
    const files = [
      { path: "a.json", content: text("{}") },
      { path: "w.bin", content: text("weights"), lfs: true },
    ];
    const h = await start([repo(files, { private: true })], { token: "hf_secret" });
    const denied = hubScan(h);
    await expect(denied).rejects.toSatisfy((e) => isModelgateError(e, "NETWORK"));
    await expect(denied).rejects.toThrow(/HF_TOKEN/);
    const report = await hubScan(h, { env: { HF_TOKEN: "hf_secret" } });
    expect(report.verdict).toBe("clean");
    const hubCalls = h.log.filter((e) => e.server === "hub" && e.status !== 401);
    expect(hubCalls.every((e) => e.auth === "Bearer hf_secret")).toBe(true);
    expect(h.log.filter((e) => e.server === "cdn").every((e) => e.auth === undefined)).toBe(true);
  });

  it("429 with Retry-After and 502 are retried; a body cut short is fetched again", async () => {
    let n = 0;
    const fault = (req: { server: string; path: string }): Fault | undefined => {
      n++;
      if (req.path.includes("/tree/") && n < 4) return { status: 429, headers: { "retry-after": "0" } };
      if (req.server === "cdn" && n < 8) return { status: 502 };
      if (req.server === "cdn" && n < 10) return { status: 206, truncateAfter: 100 };
      return undefined;
    };
    const content = text("z".repeat(3000));
    const h = await start([repo([{ path: "w.bin", content, lfs: true }])], { fault });
    const report = await hubScan(h, { transport: { ...FAST, retries: 6 } });
    expect(report.complete).toBe(true);
    expect(file(report, "w.bin").integrity?.status).toBe("verified");
    expect(h.log.filter((e) => e.status === 429).length).toBeGreaterThan(0);
    expect(h.log.filter((e) => e.status === 502).length).toBeGreaterThan(0);
  });

  it("persistent 5xx: listing failure or file failure leave the report incomplete and invalid", async () => {
    const h1 = await start([repo([{ path: "a.json", content: text("{}") }])], {
      fault: (r) => (r.path.includes("/tree/") ? { status: 500 } : undefined),
    });
    const listing = await hubScan(h1);
    expect(listing.complete).toBe(false);
    expect(listing.verdict).toBe("invalid");
    expect(listing.errors[0]?.message).toMatch(/500/);
    await h1.close();
    const h2 = await start([repo([{ path: "w.bin", content: text("w"), lfs: true }])], {
      fault: (r) => (r.server === "cdn" ? { status: 503 } : undefined),
    });
    const reading = await hubScan(h2);
    expect(reading.complete).toBe(false);
    expect(file(reading, "w.bin")).toMatchObject({ verdict: "invalid" });
    expect(h2.log.filter((e) => e.server === "cdn").length).toBe(FAST.retries + 1);
  });

  it("an abort stops a scan stuck on a server that never answers", async () => {
    const h = await start([repo([{ path: "w.bin", content: text("w"), lfs: true }])], {
      fault: (r) => (r.server === "cdn" ? { status: 0, hang: true } : undefined),
    });
    const controller = new AbortController();
    const t0 = Date.now();
    setTimeout(() => controller.abort(), 200);
    const report = await hubScan(h, {}, controller.signal);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(report.complete).toBe(false);
    expect(report.verdict).toBe("invalid");
  });

  it("a request that gets no answer times out and is retried, then the file is invalid", async () => {
    const h = await start([repo([{ path: "w.bin", content: text("w"), lfs: true }])], {
      fault: (r) => (r.server === "cdn" ? { status: 0, hang: true } : undefined),
    });
    const report = await hubScan(h, { transport: { ...FAST, retries: 1, requestTimeoutMs: 100 } });
    expect(file(report, "w.bin").findings[0]?.message).toMatch(/no answer within 100 ms/);
    expect(h.log.filter((e) => e.server === "cdn").length).toBe(2);
  });

  it("bounds HTTP requests in flight across files", async () => {
    const files = Array.from({ length: 12 }, (_, i) => ({
      path: `f${i}.bin`,
      content: text(`w${i}`.repeat(50)),
      lfs: true,
    }));
    const h = await start([repo(files)], { latencyMs: 20 });
    const report = await scan(
      { hub: { repo: "acme/tiny", hubUrl: h.url, env: {}, transport: { ...FAST, maxConnections: 2 } } },
      { concurrency: 8 },
    );
    expect(report.files).toHaveLength(12);
    expect(h.maxConcurrent).toBe(2);
  });
});

describe("Hub source: bytes in flight", () => {
  it("range requests wait for the bytes-in-flight budget", async () => {
    const files = Array.from({ length: 6 }, (_, i) => ({
      path: `f${i}.bin`,
      content: new Uint8Array(200_000).fill(i),
      lfs: true,
    }));
    for (const [budget, most] of [
      [65536, 1],
      [4 * 65536, 4],
    ] as const) {
      const h = await start([repo(files)], { latencyMs: 20 });
      const report = await scan(
        {
          hub: {
            repo: "acme/tiny",
            hubUrl: h.url,
            env: {},
            transport: { ...FAST, maxConnections: 8, maxBytesInFlight: budget },
          },
        },
        { concurrency: 6 },
      );
      expect(report.complete).toBe(true);
      expect(h.maxConcurrent).toBe(most);
      await h.close();
      hub = undefined;
    }
  });
});

describe("Hub source: the Hub's own scan status", () => {
  it("is recorded for information; an upstream flag is an info finding that changes no verdict", async () => {
    const flagged = {
      status: "unsafe",
      pickleImportScan: {
        highestSafetyLevel: "dangerous",
        imports: [{ module: "os", name: "system", safety: "dangerous" }],
      },
    };
    const h = await start([
      repo([{ path: "a.json", content: text("{}"), security: flagged }], {
        securityRepoStatus: { scansDone: true, filesWithIssues: [{ path: "a.json", level: "unsafe" }] },
      }),
    ]);
    const report = await hubScan(h, { securityStatus: true });
    expect(report.target.hub?.securityStatus).toMatchObject({ scansDone: true });
    const f = file(report, "a.json");
    expect(f.findings).toEqual([
      expect.objectContaining({
        ruleId: "hub/upstream-flagged",
        severity: "info",
        evidence: expect.objectContaining({ imports: "os.system" }),
      }),
    ]);
    expect(f.verdict).toBe("clean");
    const safe = await hubScan(h);
    expect(safe.target.hub?.securityStatus).toBeUndefined();
  });
});
