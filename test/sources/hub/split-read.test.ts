// A CDN that switches files between the reads the analyzers make and the reads that complete the
// digest (`verify: "full"`, or confirming a verdict cache hit): the digest recorded must be the
// digest of the bytes analysed, so the evil file's digest never comes with a clean verdict and no
// result is cached under it that the evil file's own analysis would not give.
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { TOOL_VERSION } from "../../../src/core/version.js";
import { resolvePolicy } from "../../../src/policy/policy.js";
import type { ScanReport } from "../../../src/report/schema.js";
import { contentKeyDigest, MemoryVerdictCache } from "../../../src/scan/cache.js";
import { scan } from "../../../src/scan/engine.js";
import { buildZip } from "../../containers/zip-builder.js";
import { MockHub, type VirtualContent } from "./mock-hub.js";

const A = "a".repeat(40);
const FAST = { retryBaseMs: 1, maxRetryDelayMs: 5, retries: 1 };
/** Small read windows and segment cache: what a large file does with the defaults. */
const SMALL = { minFetch: 16 << 10, maxWindow: 16 << 10, maxCache: 16 << 10 };
const text = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
/** The cache key of `model.pt` with this content (results are bound to the file's path). */
const cacheKey = (sha256: string) => ({
  sha256: contentKeyDigest(sha256, "model.pt"),
  toolVersion: TOOL_VERSION,
  policyHash: resolvePolicy().hash,
});
/** A protocol-0 pickle calling os.system: malicious. */
const EVIL_PKL = text("cos\nsystem\n(S'echo hi'\ntR.");
/** A protocol-0 pickle of a string, exactly as long as EVIL_PKL: clean. */
const BENIGN_PKL = text(`S'${"a".repeat(EVIL_PKL.length - 5)}'\n.`);

/** Two PyTorch-style zips alike but for `data.pkl` near the end, read by a range of its own. */
function twinZips(): { benign: Uint8Array; evil: Uint8Array } {
  const pad = new Uint8Array(100 << 10);
  const make = (pkl: Uint8Array) =>
    buildZip([
      { name: "archive/data/0", data: pad },
      { name: "archive/data.pkl", data: pkl },
    ]);
  const benign = make(BENIGN_PKL);
  const evil = make(EVIL_PKL);
  expect(benign.length).toBe(evil.length);
  expect(Buffer.compare(benign.subarray(0, 90 << 10), evil.subarray(0, 90 << 10))).toBe(0);
  return { benign, evil };
}

const { benign, evil } = twinZips();
const EVIL = hex(evil);
const BENIGN = hex(benign);

let hub: MockHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

/**
 * A Hub listing `model.pt` as the evil zip, whose CDN serves `first` to its first `k` range
 * requests and `then` afterwards (`k` = Infinity: always `first`), and answers requests `failAt`
 * and `failAt + 1` (a request and its retry) with a 500. Each request is answered from one file:
 * the mock reads a body of up to 1 MiB in the same turn as it counts the request.
 */
async function switchingHub(first: Uint8Array, then: Uint8Array, k: number, failAt?: number): Promise<MockHub> {
  let n = 0;
  const served: VirtualContent = {
    size: evil.length,
    read: (start, end) => (n <= k ? first : then).subarray(start, end),
  };
  hub = await MockHub.start(
    [
      {
        name: "acme/split",
        refs: { main: A },
        commits: { [A]: [{ path: "model.pt", content: evil, lfs: true, served }] },
      },
    ],
    {
      fault: (req) => {
        if (req.server !== "cdn") return undefined;
        n++;
        return failAt !== undefined && (n === failAt || n === failAt + 1) ? { status: 500 } : undefined;
      },
    },
  );
  return hub;
}

const hubScan = (h: MockHub, cache: MemoryVerdictCache, verify: "read" | "full") =>
  scan({ hub: { repo: "acme/split", hubUrl: h.url, env: {}, transport: FAST, verify, read: SMALL } }, { cache });

const cdnRequests = (h: MockHub) => h.log.filter((e) => e.server === "cdn").length;

/** The invariant, whatever the switch point. */
async function expectNoCleanEvil(report: ScanReport, cache: MemoryVerdictCache, where: string): Promise<void> {
  const file = report.files.find((f) => f.path === "model.pt")!;
  // The evil file's digest, or any verified digest (the listing pins the evil one), comes with
  // the evil file's verdict.
  if (file.sha256 === EVIL || file.integrity?.status === "verified") {
    expect(["malicious", "invalid"], where).toContain(file.verdict);
  }
  if (file.verdict === "clean") expect(file.integrity?.status, where).not.toBe("verified");
  expect(report.verdict === "clean" && file.sha256 === EVIL, where).toBe(false);
  // Nothing clean is ever cached under the evil digest, and nothing under the benign one (the
  // listing pins the evil digest: a benign digest is a mismatch, never cacheable).
  const cached = await cache.get(cacheKey(EVIL));
  if (cached !== undefined) expect(["malicious", "invalid"], where).toContain(cached.verdict);
  expect(await cache.get(cacheKey(BENIGN)), where).toBeUndefined();
}

describe("Hub CDN switching files between the analysis reads and the completion reads", () => {
  it('verify: "full": a switch at any request never records the evil digest with a clean verdict', async () => {
    const honest = await switchingHub(evil, evil, Number.POSITIVE_INFINITY);
    const truth = await hubScan(honest, new MemoryVerdictCache(), "full");
    expect(truth.files[0]).toMatchObject({ verdict: "malicious", sha256: EVIL, integrity: { status: "verified" } });
    const requests = cdnRequests(honest);
    expect(requests).toBeGreaterThan(3);
    await honest.close();
    hub = undefined;
    let caught = 0;
    for (const [first, then, name] of [
      [benign, evil, "benign then evil"],
      [evil, benign, "evil then benign"],
    ] as const) {
      for (let k = 1; k < requests + 2; k++) {
        const h = await switchingHub(first, then, k);
        const cache = new MemoryVerdictCache();
        const report = await hubScan(h, cache, "full");
        const where = `${name}, switch after ${k} of ${cdnRequests(h)} requests`;
        await expectNoCleanEvil(report, cache, where);
        const file = report.files[0]!;
        if (file.verdict === "invalid") {
          caught++;
          expect(report.complete, where).toBe(false);
          expect(file.findings.map((f) => f.message).join("\n"), where).toMatch(/other bytes/);
          expect(cache.size, where).toBe(0);
        }
        await h.close();
        hub = undefined;
      }
    }
    // Some switch points are only visible as a range that changed between two fetches.
    expect(caught).toBeGreaterThan(0);
  }, 120_000);

  it("confirming a cache hit: a switch at any request never turns the evil file's cached verdict clean", async () => {
    // An honest scan caches the evil file's verdict under its digest; warm rescans confirm the hit
    // by reading the file whole, and fall back to analysing it when the bytes do not match.
    const honest = await switchingHub(evil, evil, Number.POSITIVE_INFINITY);
    const seed = new MemoryVerdictCache();
    const truth = await hubScan(honest, seed, "full");
    expect(truth.files[0]?.verdict).toBe("malicious");
    const entry = await seed.get(cacheKey(EVIL));
    expect(entry?.verdict).toBe("malicious");
    const mark = cdnRequests(honest);
    const warm = await hubScan(honest, seed, "read");
    expect(warm.files[0]).toMatchObject({ cached: true, verdict: "malicious" });
    const requests = cdnRequests(honest) - mark;
    await honest.close();
    hub = undefined;
    for (const verify of ["read", "full"] as const) {
      for (const [first, then, name] of [
        [benign, evil, "benign then evil"],
        [evil, benign, "evil then benign"],
      ] as const) {
        // The confirmation may also fail part-way (a request and its retry answered 500): the
        // analysis then runs on the same source, and the digest is completed after it.
        for (let failAt = 0; failAt <= requests; failAt++) {
          for (let k = 1; k < requests + 8; k++) {
            const h = await switchingHub(first, then, k, failAt === 0 ? undefined : failAt);
            const cache = new MemoryVerdictCache();
            await cache.set(cacheKey(EVIL), entry!);
            const report = await hubScan(h, cache, verify);
            const where = `verify ${verify}, ${name}, fail at ${failAt}, switch after ${k} of ${cdnRequests(h)} requests`;
            await expectNoCleanEvil(report, cache, where);
            expect(report.files[0]?.verdict, where).not.toBe("clean");
            expect(report.verdict, where).not.toBe("clean");
            await h.close();
            hub = undefined;
          }
        }
      }
    }
  }, 120_000);
});
