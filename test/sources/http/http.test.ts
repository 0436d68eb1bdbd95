// `https://` targets (issue 16) against a loopback stand-in: checked range reads, one hashed full
// read when the server does not do ranges, pinned digests, origin-scoped credentials, and servers
// that misbehave. Plain http:// on 127.0.0.1 with `allowHttp` here; real TLS is in tls.test.ts.
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { TOOL_VERSION } from "../../../src/core/version.js";
import { resolvePolicy } from "../../../src/policy/policy.js";
import type { ScanReport } from "../../../src/report/schema.js";
import { contentKeyDigest, MemoryVerdictCache } from "../../../src/scan/cache.js";
import { scan } from "../../../src/scan/engine.js";
import type { ScanOptions } from "../../../src/scan/types.js";
import { parseHeaderEnv, parseTargetUrl, redactUrl } from "../../../src/sources/http/config.js";
import type { HttpTarget } from "../../../src/sources/http/root.js";
import { HttpStandin, type StandinFile } from "../../helpers/http-standin.js";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const text = (s: string) => new TextEncoder().encode(s);
const FAST = { retryBaseMs: 1, maxRetryDelayMs: 20, retries: 1 };
/** A protocol-0 pickle calling os.system: malicious. */
const EVIL = text("cos\nsystem\n(S'echo hi'\ntR.");
/** A protocol-2 pickle of an empty dict: clean. */
const CLEAN = new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]);

/** A valid safetensors file: a small header, then `dataSize` zero bytes. */
function safetensors(dataSize: number): Uint8Array {
  let header = JSON.stringify({ w: { dtype: "F32", shape: [dataSize / 4], data_offsets: [0, dataSize] } });
  header += " ".repeat((8 - (header.length % 8)) % 8);
  const out = new Uint8Array(8 + header.length + dataSize);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(text(header), 8);
  return out;
}
const BIG = safetensors(4 << 20);

const servers: HttpStandin[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function serve(files: Record<string, StandinFile>): Promise<HttpStandin> {
  const s = await HttpStandin.start(files);
  servers.push(s);
  return s;
}

function scanUrl(url: string, target: Partial<HttpTarget> = {}, options: ScanOptions = {}): Promise<ScanReport> {
  return scan({ url: { url, allowHttp: true, env: {}, transport: FAST, ...target } }, options);
}
/** The cache key of a result for this content at this path (results are bound to the file's path). */
const cacheKey = (digest: string, path = "model.safetensors") => ({
  sha256: contentKeyDigest(digest, path),
  toolVersion: TOOL_VERSION,
  policyHash: resolvePolicy().hash,
});

/** Asserts the typed, invalid, incomplete outcome of a misbehaving server, and that nothing was cached. */
async function expectRejected(report: ScanReport, cache: MemoryVerdictCache, rule: string | RegExp) {
  expect(report.verdict).toBe("invalid");
  expect(report.complete).toBe(false);
  const file = report.files[0]!;
  expect(file.verdict).toBe("invalid");
  expect(file.findings.map((f) => f.ruleId)).toContainEqual(expect.stringMatching(rule));
  expect(cache.size).toBe(0);
}

describe("https:// targets: reading", () => {
  it("reads a large safetensors file with a few checked ranges, partial without a pin", async () => {
    const s = await serve({ "/m/model.safetensors": { content: BIG } });
    const report = await scanUrl(s.url("/m/model.safetensors"));
    expect(report.verdict).toBe("clean");
    expect(report.target).toMatchObject({ kind: "url", http: { url: s.url("/m/model.safetensors") } });
    expect(report.target.http?.etag).toMatch(/^"/);
    const file = report.files[0]!;
    expect(file).toMatchObject({ path: "model.safetensors", format: "safetensors", size: BIG.length });
    expect(file.integrity).toBeUndefined();
    expect(file.sha256).toBeUndefined();
    expect(s.bytesSent).toBeLessThan(200 << 10);
    expect(s.log.every((r) => r.status === 206)).toBe(true);
    expect(s.log.slice(1).every((r) => r.headers["if-match"] === report.target.http?.etag)).toBe(true);
  });

  it("with #sha256= every byte is read and verified by default (and cached); verify: read leaves it `partial`", async () => {
    const s = await serve({ "/model.safetensors": { content: BIG } });
    const url = `${s.url("/model.safetensors")}#sha256=${sha256(BIG)}`;
    const byDefault = await scanUrl(url);
    expect(byDefault.files[0]).toMatchObject({ sha256: sha256(BIG), integrity: { status: "verified" } });
    const partial = await scanUrl(url, { verify: "read" });
    expect(partial.files[0]!.integrity).toMatchObject({
      status: "partial",
      algorithm: "sha256",
      expected: sha256(BIG),
    });
    expect(partial.target.http?.sha256).toBe(sha256(BIG));
    expect(partial.target.name).not.toContain("#");
    const cache = new MemoryVerdictCache();
    const full = await scanUrl(url, { verify: "full" }, { cache });
    expect(full.files[0]).toMatchObject({ verdict: "clean", sha256: sha256(BIG), integrity: { status: "verified" } });
    expect(await cache.get(cacheKey(sha256(BIG)))).toBeDefined();
  });

  it("a pin from `pins` (by the file's name) works like #sha256=, and conflicting pins are refused", async () => {
    const s = await serve({ "/evil.pkl": { content: EVIL } });
    const ok = await scanUrl(s.url("/evil.pkl"), {}, { pins: { "evil.pkl": sha256(EVIL) } });
    expect(ok.files[0]).toMatchObject({ verdict: "malicious", integrity: { status: "verified" } });
    await expect(
      scanUrl(`${s.url("/evil.pkl")}#sha256=${"0".repeat(64)}`, {}, { pins: { "evil.pkl": sha256(EVIL) } }),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("a server that ignores Range is read whole once, hashed, and verified", async () => {
    const s = await serve({ "/model.safetensors": { content: BIG, fault: { kind: "ignore-range" } } });
    const report = await scanUrl(`${s.url("/model.safetensors")}#sha256=${sha256(BIG)}`, {
      download: { maxMemoryBytes: 1 << 20 }, // spooled to an unlinked temporary file
    });
    expect(report.files[0]).toMatchObject({ verdict: "clean", sha256: sha256(BIG), integrity: { status: "verified" } });
    expect(s.log.filter((r) => r.status === 200)).toHaveLength(1);
  });

  it("a server without validators is read whole (ranges could mix two versions)", async () => {
    const s = await serve({ "/evil.pkl": { content: EVIL, fault: { kind: "no-validators" } } });
    const report = await scanUrl(s.url("/evil.pkl"));
    expect(report.files[0]).toMatchObject({ verdict: "malicious", sha256: sha256(EVIL) });
    expect(s.log.at(-1)?.headers.range).toBeUndefined();
  });

  it("a wrong digest is a high remote/integrity-mismatch finding (invalidates: malicious by severity), never cached", async () => {
    const s = await serve({ "/clean.pkl": { content: CLEAN } });
    const cache = new MemoryVerdictCache();
    const report = await scanUrl(`${s.url("/clean.pkl")}#sha256=${sha256(text("other"))}`, {}, { cache });
    const file = report.files[0]!;
    expect(file.verdict).toBe("malicious");
    expect(file.integrity).toMatchObject({ status: "mismatch", actual: sha256(CLEAN) });
    expect(file.findings).toContainEqual(
      expect.objectContaining({ ruleId: "remote/integrity-mismatch", severity: "high" }),
    );
    expect(cache.size).toBe(0);
  });
});

/**
 * A range server for `content` (strong ETag) that cuts the body of its `cutAt`th range request
 * half-way (the connection drops); with `flip`, the retry of that range comes with its first byte
 * changed. Returns its URL, the ranges asked for and where the flipped byte is.
 */
async function cuttingServer(content: Uint8Array, cutAt: number, flip = false) {
  const ranges: string[] = [];
  let flipped = -1;
  const server = createServer((req, res) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (m === null) {
      res.writeHead(200, { etag: '"v1"', "content-length": content.length }).end(Buffer.from(content));
      return;
    }
    const n = ranges.push(req.headers.range!);
    const [start, end] = [Number(m[1]), Math.min(Number(m[2]), content.length - 1)];
    res.writeHead(206, {
      etag: '"v1"',
      "content-range": `bytes ${start}-${end}/${content.length}`,
      "content-length": end - start + 1,
    });
    const bytes = Buffer.from(content.subarray(start, end + 1));
    if (n === cutAt) return void res.write(bytes.subarray(0, bytes.length >> 1), () => res.socket?.destroy());
    if (n === cutAt + 1 && flip) {
      bytes[0] = (bytes[0]! ^ 0xff) & 0xff;
      flipped = start;
    }
    res.end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.on("connection", (socket) => closers.push(async () => void socket.destroy()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/m.safetensors`,
    ranges,
    flipped: () => flipped,
  };
}
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});
/** Small windows: the digest is completed by several streamed ranges. */
const SMALL_READS = { minFetch: 64 << 10, maxWindow: 256 << 10, maxCache: 512 << 10, maxStream: 1 << 20 };

describe("https:// targets: full verification by streamed ranges", () => {
  it("a range whose connection drops half-way is fetched again and the digest starts that range over", async () => {
    const { url, ranges } = await cuttingServer(BIG, 4);
    const cache = new MemoryVerdictCache();
    const report = await scanUrl(`${url}#sha256=${sha256(BIG)}`, { verify: "full", read: SMALL_READS }, { cache });
    expect(report.files[0]).toMatchObject({ verdict: "clean", integrity: { status: "verified" } });
    expect(ranges[3]).toBe(ranges[4]); // the cut range, asked for again
    expect(ranges.length).toBeGreaterThan(6);
    expect(await cache.get(cacheKey(sha256(BIG), "m.safetensors"))).toBeDefined();
  });

  it("other bytes on the retry: the digest is of what was sent then, a mismatch, never cached", async () => {
    const { url, flipped } = await cuttingServer(BIG, 4, true);
    const cache = new MemoryVerdictCache();
    const report = await scanUrl(`${url}#sha256=${sha256(BIG)}`, { verify: "full", read: SMALL_READS }, { cache });
    const other = BIG.slice();
    other[flipped()] = (other[flipped()]! ^ 0xff) & 0xff;
    expect(flipped()).toBeGreaterThan(0);
    expect(report.files[0]!.integrity).toMatchObject({ status: "mismatch", actual: sha256(other) });
    expect(report.files[0]!.verdict).not.toBe("clean");
    expect(cache.size).toBe(0);
  });
});

describe("https:// targets: misbehaving servers", () => {
  it("a Content-Range that lies: typed error, invalid, nothing cached", async () => {
    const s = await serve({ "/m.safetensors": { content: BIG, fault: { kind: "lie-content-range" } } });
    const cache = new MemoryVerdictCache();
    const report = await scanUrl(s.url("/m.safetensors"), { verify: "full" }, { cache });
    await expectRejected(report, cache, "scan/read-error");
    expect(report.files[0]!.findings[0]).toMatchObject({
      message: expect.stringMatching(/asked for bytes/),
      evidence: { code: "NETWORK" },
    });
  });

  it("an ETag that changes between requests: the file changed during the scan", async () => {
    const s = await serve({ "/m.safetensors": { content: BIG, fault: { kind: "change-etag", afterRequests: 1 } } });
    const cache = new MemoryVerdictCache();
    const report = await scanUrl(s.url("/m.safetensors"), { verify: "full" }, { cache });
    await expectRejected(report, cache, "scan/file-changed");
  });

  it("content replaced mid-scan (the server honours If-Match): 412, the file changed", async () => {
    const other = safetensors(4 << 20);
    other[100] = 1;
    const s = await serve({
      "/m.safetensors": { content: BIG, fault: { kind: "replace-content", afterRequests: 1, content: other } },
    });
    const cache = new MemoryVerdictCache();
    const report = await scanUrl(s.url("/m.safetensors"), { verify: "full" }, { cache });
    await expectRejected(report, cache, "scan/file-changed");
    expect(s.log.some((r) => r.status === 412)).toBe(true);
  });

  it("extra bytes after the range announced: typed error", async () => {
    const s = await serve({ "/m.safetensors": { content: BIG, fault: { kind: "extra-bytes" } } });
    const cache = new MemoryVerdictCache();
    const report = await scanUrl(s.url("/m.safetensors"), { verify: "full" }, { cache });
    await expectRejected(report, cache, "scan/read-error");
  });

  it("a redirect loop ends after 8 hops with a typed error", async () => {
    const s = await serve({ "/m.bin": { content: EVIL, fault: { kind: "redirect-loop" } } });
    const report = await scanUrl(s.url("/m.bin"), { transport: { retries: 0 } });
    expect(report.files[0]).toMatchObject({ verdict: "invalid" });
    expect(report.errors[0]?.message).toMatch(/more than 8 redirects/);
    expect(s.log.length).toBe(9);
  });

  it("credentials go to their origin only: a redirect to another origin drops them", async () => {
    const cdn = await serve({ "/blob": { content: EVIL } });
    const s = await serve({ "/evil.pkl": { content: EVIL, fault: { kind: "redirect", to: cdn.url("/blob") } } });
    const env = {
      MODELGATE_HTTP_HEADERS: `# comment\n${s.origin}=Authorization: Bearer s3cret\n${s.origin}=X-Api-Key: k3y`,
    };
    const report = await scanUrl(`${s.url("/evil.pkl")}#sha256=${sha256(EVIL)}`, { env });
    expect(report.files[0]).toMatchObject({ verdict: "malicious", integrity: { status: "verified" } });
    expect(s.log[0]?.headers.authorization).toBe("Bearer s3cret");
    expect(s.log[0]?.headers["x-api-key"]).toBe("k3y");
    expect(cdn.log.length).toBeGreaterThan(0);
    expect(cdn.log.every((r) => r.headers.authorization === undefined && r.headers["x-api-key"] === undefined)).toBe(
      true,
    );
    expect(JSON.stringify(report)).not.toMatch(/s3cret|k3y/);
  });

  it("a drip-feeding server cannot hold the scan past its deadline", async () => {
    const s = await serve({ "/m.bin": { content: EVIL, fault: { kind: "drip", intervalMs: 200 } } });
    const cache = new MemoryVerdictCache();
    const t0 = Date.now();
    const report = await scanUrl(s.url("/m.bin"), {}, { cache, limits: { scanTimeoutMs: 1_500 } });
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(report.complete).toBe(false);
    expect(report.verdict).toBe("invalid");
    expect(cache.size).toBe(0);
  });

  it("an error status is a typed error naming the URL without its credentials", async () => {
    const s = await serve({ "/m.bin": { content: EVIL, fault: { kind: "status", status: 403 } } });
    const report = await scanUrl(`${s.url("/m.bin")}?X-Amz-Signature=abcdef&x=1`.replace("http://", "http://u:pw@"));
    expect(report.files[0]?.verdict).toBe("invalid");
    expect(report.errors[0]?.message).toMatch(/HTTP 403/);
    expect(JSON.stringify(report)).not.toMatch(/abcdef|pw@/);
    expect(report.target.name).toContain("X-Amz-Signature=REDACTED");
  });
});

describe("https:// target settings", () => {
  it("plain http:// needs allowHttp; only #sha256= fragments", () => {
    expect(() => parseTargetUrl("http://127.0.0.1/x")).toThrow(/--allow-http/);
    expect(() => parseTargetUrl("ftp://127.0.0.1/x", true)).toThrow(/not an http/);
    expect(() => parseTargetUrl("https://h/x#frag")).toThrow(/sha256/);
    expect(parseTargetUrl(`https://u:p@h/x#sha256=${"A".repeat(64)}`)).toMatchObject({
      sha256: "a".repeat(64),
      basicAuth: `Basic ${Buffer.from("u:p").toString("base64")}`,
    });
  });

  it("MODELGATE_HTTP_HEADERS: origin-scoped entries; bad lines are named, never echoed", () => {
    const m = parseHeaderEnv("https://a.example=Authorization: Bearer x\n\nhttps://a.example:8443/=X-K: y");
    expect(m.get("https://a.example")).toEqual({ authorization: "Bearer x" });
    expect(m.get("https://a.example:8443")).toEqual({ "x-k": "y" });
    expect(() => parseHeaderEnv("https://a.example/path=Authorization: s3cret")).toThrow(/line 1/);
    expect(() => parseHeaderEnv("https://a.example=Range: bytes=0-1")).toThrow(/may not be set/);
    try {
      parseHeaderEnv("nonsense s3cret");
    } catch (error) {
      expect((error as Error).message).not.toContain("s3cret");
    }
  });

  it("redactUrl strips user info, fragments and credential-like query values", () => {
    expect(redactUrl("https://u:p@h/a?token=t&v=1#sha256=00")).toBe("https://h/a?token=REDACTED&v=1");
  });
});
