// `s3://` targets (issue 16) against a loopback S3 stand-in: listing with budgets, ranged reads
// conditioned on the listed ETag, full-object SHA-256 checksums as pinned digests, and a store that
// misbehaves. Every request goes to 127.0.0.1.
import { createHash } from "node:crypto";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { ScanReport } from "../../../src/report/schema.js";
import { MemoryVerdictCache } from "../../../src/scan/cache.js";
import { scan } from "../../../src/scan/engine.js";
import type { ScanOptions } from "../../../src/scan/types.js";
import { parseS3Uri, relativeKey } from "../../../src/sources/s3/config.js";
import type { S3Target } from "../../../src/sources/s3/root.js";
import { type S3Faults, type S3Object, S3Standin } from "../../helpers/s3-standin.js";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const text = (s: string) => new TextEncoder().encode(s);
const EVIL = text("cos\nsystem\n(S'echo hi'\ntR.");
const CLEAN = new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]);

function safetensors(dataSize: number): Uint8Array {
  let header = JSON.stringify({ w: { dtype: "F32", shape: [dataSize / 4], data_offsets: [0, dataSize] } });
  header += " ".repeat((8 - (header.length % 8)) % 8);
  const out = new Uint8Array(8 + header.length + dataSize);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(text(header), 8);
  return out;
}
const BIG = safetensors(4 << 20);

const stores: S3Standin[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});
async function store(objects: Record<string, S3Object>, faults: S3Faults = {}): Promise<S3Standin> {
  const s = await S3Standin.start("models", objects, faults);
  stores.push(s);
  return s;
}

function scanS3(s: S3Standin, prefix: string, target: Partial<S3Target> = {}, options: ScanOptions = {}) {
  return scan(
    {
      s3: {
        bucket: "models",
        prefix,
        pathStyle: true,
        region: "us-east-1",
        credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI" },
        env: { AWS_ENDPOINT_URL_S3: s.endpoint },
        ...target,
      },
    },
    options,
  );
}

function expectInvalid(report: ScanReport, cache: MemoryVerdictCache) {
  expect(report.verdict).toBe("invalid");
  expect(report.complete).toBe(false);
  expect(cache.size).toBe(0);
}

describe("s3:// targets", () => {
  it("lists a prefix, reads a large file with a few ranges, verifies small ones against their checksum", async () => {
    const s = await store({
      "llama/model.safetensors": { content: BIG, versionId: "v1" },
      "llama/evil.pkl": { content: EVIL },
      "llama/notes/readme.pkl": { content: CLEAN, checksum: false },
      "other/x.pkl": { content: EVIL },
    });
    const cache = new MemoryVerdictCache();
    const report = await scanS3(s, "llama/", {}, { cache });
    expect(report.target).toMatchObject({
      kind: "s3",
      name: "s3://models/llama/",
      s3: { bucket: "models", prefix: "llama/", versionIds: { "model.safetensors": "v1" } },
    });
    expect(report.files.map((f) => f.path)).toEqual(["evil.pkl", "model.safetensors", "notes/readme.pkl"]);
    const [evil, model, readme] = report.files;
    expect(evil).toMatchObject({ verdict: "malicious", integrity: { status: "verified", expected: sha256(EVIL) } });
    expect(model).toMatchObject({ verdict: "clean", integrity: { status: "partial", expected: sha256(BIG) } });
    expect(readme).toMatchObject({ verdict: "clean", sha256: sha256(CLEAN) });
    expect(readme?.integrity).toBeUndefined();
    expect(s.bytesSent).toBeLessThan(300 << 10);
    const gets = s.log.filter((r) => r.method === "GET" && !r.query.includes("list-type"));
    expect(gets.length).toBeGreaterThan(0);
    expect(gets.every((r) => typeof r.headers["if-match"] === "string")).toBe(true);
    expect(report.target.s3?.bytesTransferred).toBeGreaterThan(0);
  });

  it("a single object by its key; --verify full reads and verifies every byte", async () => {
    const s = await store({ "llama/model.safetensors": { content: BIG } });
    const cache = new MemoryVerdictCache();
    const report = await scanS3(s, "llama/model.safetensors", { verify: "full" }, { cache });
    expect(report.files).toHaveLength(1);
    expect(report.files[0]).toMatchObject({
      path: "model.safetensors",
      verdict: "clean",
      sha256: sha256(BIG),
      integrity: { status: "verified" },
    });
    expect(cache.size).toBe(1);
  });

  it("a wrong checksum: remote/integrity-mismatch (high), never cached", async () => {
    const s = await store({
      "m/clean.pkl": { content: CLEAN, checksum: createHash("sha256").update("x").digest("base64") },
    });
    const cache = new MemoryVerdictCache();
    const report = await scanS3(s, "m/", {}, { cache });
    expect(report.files[0]).toMatchObject({ verdict: "malicious", integrity: { status: "mismatch" } });
    expect(report.files[0]?.findings).toContainEqual(
      expect.objectContaining({ ruleId: "remote/integrity-mismatch", severity: "high" }),
    );
    expect(cache.size).toBe(0);
  });

  it("an object replaced after it was listed (If-Match fails): the file changed, invalid, nothing cached", async () => {
    const s = await store({ "m/model.safetensors": { content: BIG } }, { replaceAfterGets: 0 });
    const cache = new MemoryVerdictCache();
    const report = await scanS3(s, "m/", { verify: "full" }, { cache });
    expectInvalid(report, cache);
    expect(report.files[0]?.findings.map((f) => f.ruleId)).toContain("scan/file-changed");
  });

  it("endless pagination stops at the page budget: incomplete, what was listed is reported", async () => {
    const s = await store({ "m/a.pkl": { content: CLEAN } }, { endlessPagination: true });
    const cache = new MemoryVerdictCache();
    const report = await scanS3(s, "m/", { listing: { maxPages: 5 } }, { cache });
    expectInvalid(report, cache);
    expect(report.files[0]).toMatchObject({ path: ".", verdict: "invalid" });
    expect(report.errors[0]).toMatchObject({
      code: "BUDGET_EXCEEDED",
      message: expect.stringMatching(/more than 5 pages/),
    });
    expect(s.log.length).toBe(5);
  });

  it("a listing that changes between pages (keys going back) is a typed error", async () => {
    const objects: Record<string, S3Object> = {};
    for (let i = 0; i < 5; i++) objects[`m/${i}.pkl`] = { content: CLEAN };
    const s = await store(objects, { listingGoesBack: true });
    const cache = new MemoryVerdictCache();
    const report = await scanS3(s, "m/", { listing: { pageSize: 2 } }, { cache });
    expect(report.verdict).toBe("invalid");
    expect(report.complete).toBe(false);
    // The objects of the first page were read whole: results keyed by their computed SHA-256 are sound.
    expect(report.files.map((f) => f.path)).toEqual([".", "0.pkl", "1.pkl"]);
    expect(report.files.find((f) => f.path === ".")?.findings[0]?.message).toMatch(/ascending key order/);
  });

  it("a drip-feeding store cannot hold the scan past its deadline", async () => {
    const s = await store({ "m/model.safetensors": { content: BIG } }, { dripMs: 100 });
    const cache = new MemoryVerdictCache();
    const t0 = Date.now();
    const report = await scanS3(s, "m/", {}, { cache, limits: { scanTimeoutMs: 1_500 } });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expectInvalid(report, cache);
  });

  it("a store that ignores Range (200 with the whole object): typed error, invalid, nothing cached", async () => {
    const s = await store({ "m/model.safetensors": { content: BIG } }, { ignoreRange: true });
    const cache = new MemoryVerdictCache();
    const report = await scanS3(s, "m/", {}, { cache });
    expectInvalid(report, cache);
    expect(report.errors.map((e) => `${e.code} ${e.message}`).join("\n")).toMatch(
      /asked for bytes 0-65535\/\d+, got no Content-Range/,
    );
    // The whole body was not read to the end: the transfer stopped at the first misbehaviour.
    expect(s.bytesSent).toBeLessThan(BIG.length * 2);
  });

  it("a store that sends more bytes than the range: typed error, invalid, nothing cached", async () => {
    const s = await store({ "m/evil.pkl": { content: EVIL } }, { extraBytes: true });
    const cache = new MemoryVerdictCache();
    const report = await scanS3(s, "m/", { verify: "full" }, { cache });
    expectInvalid(report, cache);
    expect(report.errors.map((e) => e.message).join("\n")).toMatch(/more than the \d+ bytes of the range/);
  });

  it("--verify full streams the rest: a body cut short mid-range is a typed error, invalid, nothing cached", async () => {
    const s = await store({ "m/model.safetensors": { content: BIG } });
    // A proxy in front of the store that drops the connection half-way through the 3rd ranged GET.
    let gets = 0;
    const proxy = createServer((req, res) => {
      const ranged = req.method === "GET" && req.headers.range !== undefined;
      const cut = ranged && ++gets === 3;
      const upstream = request(`${s.endpoint}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 500, up.headers);
        if (!cut) return void up.pipe(res);
        let sent = 0;
        const half = Number(up.headers["content-length"] ?? 0) >> 1;
        up.on("data", (chunk: Buffer) => {
          if (sent >= half) return;
          sent += chunk.length;
          res.write(chunk, () => sent >= half && res.socket?.destroy());
        });
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    try {
      const cache = new MemoryVerdictCache();
      const report = await scanS3(
        s,
        "m/",
        {
          verify: "full",
          read: { minFetch: 64 << 10, maxWindow: 256 << 10, maxCache: 512 << 10 },
          env: { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` },
        },
        { cache },
      );
      expectInvalid(report, cache);
      expect(report.files[0]!.integrity?.status).not.toBe("verified");
      expect(report.files[0]!.findings).toContainEqual(
        expect.objectContaining({ ruleId: "scan/read-error", evidence: expect.objectContaining({ code: "NETWORK" }) }),
      );
      expect(report.errors.map((e) => e.message).join("\n")).toMatch(/S3 body (failed|ended) after \d+ of \d+ bytes/);
      expect(gets).toBeGreaterThanOrEqual(3);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it("--verify full on a large object: every byte once, streamed in growing ranges, verified against the checksum", async () => {
    const s = await store({ "m/model.safetensors": { content: BIG } });
    const cache = new MemoryVerdictCache();
    const report = await scanS3(
      s,
      "m/",
      { verify: "full", read: { minFetch: 64 << 10, maxWindow: 256 << 10, maxCache: 512 << 10, maxStream: 1 << 20 } },
      { cache },
    );
    expect(report.files[0]).toMatchObject({
      verdict: "clean",
      integrity: { status: "verified", expected: sha256(BIG) },
    });
    const gets = s.log.filter((r) => r.method === "GET" && r.headers.range !== undefined);
    const sizes = gets.map((r) => {
      const [a, b] = /^bytes=(\d+)-(\d+)$/
        .exec(r.headers.range as string)!
        .slice(1)
        .map(Number);
      return b! - a! + 1;
    });
    expect(sizes.reduce((n, x) => n + x, 0)).toBe(BIG.length + 0); // nothing fetched twice
    expect(Math.max(...sizes)).toBe(1 << 20);
    // Response checksums are not validated by the SDK (modelgate hashes every byte itself): only
    // the head asks for the object's checksum, the SHA-256 the bytes are verified against.
    expect(gets.every((r) => r.headers["x-amz-checksum-mode"] === undefined)).toBe(true);
    const heads = s.log.filter((r) => r.method === "HEAD");
    expect(heads).toHaveLength(1);
    expect(heads[0]?.headers["x-amz-checksum-mode"]).toBe("ENABLED");
    expect(cache.size).toBe(1);
  });

  it("redirects are not followed: not to another origin (no signed request leaves), not in a loop, not to http://", async () => {
    const other = await store({ "m/evil.pkl": { content: EVIL } });
    for (const redirectTo of [`${other.endpoint}/models/m/evil.pkl`, "/models/m/?loop=1", "http://127.0.0.1:9/x"]) {
      const s = await store({ "m/evil.pkl": { content: EVIL } }, { redirectTo });
      const cache = new MemoryVerdictCache();
      const t0 = Date.now();
      const report = await scanS3(s, "m/", {}, { cache });
      expectInvalid(report, cache);
      expect(report.errors[0]?.code).toBe("NETWORK");
      expect(Date.now() - t0).toBeLessThan(10_000);
      // The SDK does not follow 3xx: a bounded number of attempts, each answered 307.
      expect(s.log.length).toBeLessThanOrEqual(4);
      expect(s.log.every((r) => r.status === 307)).toBe(true);
      expect(s.log[0]?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
    }
    expect(other.log).toHaveLength(0);
  });

  it("parses s3:// URIs", () => {
    expect(parseS3Uri("s3://models/llama/x")).toEqual({ bucket: "models", prefix: "llama/x" });
    expect(parseS3Uri("s3://models")).toEqual({ bucket: "models", prefix: "" });
    expect(() => parseS3Uri("s3://Bad_Bucket/x")).toThrow(/bucket/);
    expect(relativeKey("llama/x", "llama/x")).toBe("x");
    expect(relativeKey("llama/x/a.bin", "llama/x")).toBe("a.bin");
  });
});
