// Attacks on the remote sources (https://, s3://, oci://, oci-layout:) and on scan attestations,
// written by someone who has read the code. Each test states what a correct gate does; the servers
// are loopback stand-ins (node:http, the S3 stand-in) that lie in the ways a hostile origin can.
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/run.js";
import { TOOL_VERSION } from "../../src/core/version.js";
import { attest } from "../../src/integrity/attest/sign.js";
import { SCAN_EXTENSION_KEY } from "../../src/integrity/attest/statement.js";
import { verifyAttestation } from "../../src/integrity/attest/verify.js";
import { IN_TOTO_PAYLOAD_TYPE } from "../../src/integrity/oms/bundle.js";
import { createBundleSigner } from "../../src/integrity/oms/dsse.js";
import { resolvePolicy } from "../../src/policy/policy.js";
import { MemoryVerdictCache } from "../../src/scan/cache.js";
import { scan } from "../../src/scan/engine.js";
import { parseTargetUrl, redactUrl } from "../../src/sources/http/config.js";
import { RangeReader } from "../../src/sources/http/range-reader.js";
import { MEDIA } from "../../src/sources/oci/config.js";
import { buildManifest } from "../../src/sources/oci/push.js";
import { buildZip } from "../containers/zip-builder.js";
import { fakeIO } from "../helpers/cli.js";
import { fifoScratch } from "../helpers/fifo.js";
import { S3Standin } from "../helpers/s3-standin.js";

const text = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const FAST = { retries: 1, retryBaseMs: 1, maxRetryDelayMs: 5, requestTimeoutMs: 2_000 };
/** Small read windows and segment cache (public options): what a large file does with the defaults. */
const SMALL = { minFetch: 16 << 10, maxWindow: 16 << 10, maxCache: 16 << 10 };
const cacheKey = (sha256: string) => ({ sha256, toolVersion: TOOL_VERSION, policyHash: resolvePolicy().hash });
/** A protocol-0 pickle calling os.system: malicious. */
const EVIL = text("cos\nsystem\n(S'echo hi'\ntR.");
/** A protocol-0 pickle of a string, exactly as long as EVIL: clean. */
const BENIGN = text(`S'${"a".repeat(EVIL.length - 5)}'\n.`);

const tmp = mkdtempSync(join(tmpdir(), "mg-attacks-"));
const fifos = fifoScratch("mg-attacks-fifo-");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** A loopback server whose every request goes to `handler`, logged with its headers. */
class Standin {
  readonly log: Array<{ path: string; headers: IncomingMessage["headers"] }> = [];
  readonly #server: Server;
  port = 0;
  constructor(handler: Handler) {
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      this.log.push({ path: url.pathname + url.search, headers: req.headers });
      Promise.resolve(handler(req, res, url)).catch(() => res.destroy());
    });
  }
  async start(): Promise<this> {
    await new Promise<void>((r) => this.#server.listen(0, "127.0.0.1", r));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }
  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((r) => this.#server.close(() => r()));
  }
}
const servers: Standin[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});
async function serve(handler: Handler): Promise<Standin> {
  const s = await new Standin(handler).start();
  servers.push(s);
  return s;
}

/** Answers a `Range` request from `content` with a strong ETag (or 200 without Range). */
function range(req: IncomingMessage, res: ServerResponse, content: Uint8Array, etag = '"v1"'): void {
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
  if (m === null) return void res.writeHead(200, { etag, "content-length": content.length }).end(content);
  const start = Number(m[1]);
  const end = Math.min(Number(m[2]), content.length - 1);
  res.writeHead(206, {
    etag,
    "content-range": `bytes ${start}-${end}/${content.length}`,
    "content-length": end - start + 1,
  });
  res.end(content.subarray(start, end + 1));
}

/**
 * Two PyTorch-style zips with the same first 200 KiB (a stored padding member) and a different
 * `data.pkl` near the end: the analyzers read the tail by a range of its own.
 */
function twinZips(): { benign: Uint8Array; evil: Uint8Array } {
  const pad = new Uint8Array(100 << 10);
  const make = (pkl: Uint8Array) =>
    buildZip([
      { name: "archive/data/0", data: pad },
      { name: "archive/data.pkl", data: pkl },
    ]);
  const benign = make(BENIGN);
  const evil = make(EVIL);
  expect(benign.length).toBe(evil.length);
  expect(Buffer.compare(benign.subarray(0, 90 << 10), evil.subarray(0, 90 << 10))).toBe(0);
  return { benign, evil };
}

/**
 * A server that serves `first` to the first `k` requests and `then` afterwards: some of what the
 * analysis reads, and some of what completes the hash, come from different files.
 */
function splitServer(first: Uint8Array, then: Uint8Array, k: number): Handler {
  let n = 0;
  return (req, res) => range(req, res, ++n <= k ? first : then);
}

describe("https://: is the analysed content the verified content?", () => {
  it("a server switching files between the analysis reads and the hash reads never gets the evil digest a lower verdict", async () => {
    const { benign, evil } = twinZips();
    const honest = await serve((req, res) => range(req, res, evil));
    const truth = await scan({ url: { url: `${honest.origin}/model.pt`, allowHttp: true, env: {}, read: SMALL } });
    expect(truth.files[0]!.verdict).toBe("malicious");
    const requests = honest.log.length + 4;
    for (const [first, then] of [
      [evil, benign],
      [benign, evil],
    ] as const) {
      for (let k = 1; k <= requests; k++) {
        const s = await serve(splitServer(first, then, k));
        const cache = new MemoryVerdictCache();
        const url = `${s.origin}/model.pt#sha256=${hex(evil)}`;
        const report = await scan(
          { url: { url, allowHttp: true, env: {}, transport: FAST, verify: "full", read: SMALL } },
          { cache },
        );
        const file = report.files[0]!;
        const where = `switch after ${k} requests`;
        // Whatever digest is recorded is the digest of the bytes analysed: the evil file's digest
        // always comes with the evil file's verdict.
        if (file.sha256 === hex(evil) || file.integrity?.status === "verified") {
          expect(["malicious", "invalid"], where).toContain(file.verdict);
        }
        if (file.sha256 === hex(benign)) expect(file.integrity?.status, where).toBe("mismatch");
        const cached = await cache.get(cacheKey(hex(evil)));
        if (cached !== undefined) expect(["malicious", "invalid"], where).toContain(cached.verdict);
        expect(await cache.get(cacheKey(hex(benign))), where).toBeUndefined();
      }
    }
  }, 120_000);

  it("RangeReader: a refetch after eviction that differs from what was hashed is not verified", async () => {
    const a = new Uint8Array(64).fill(1);
    const b = new Uint8Array(64).fill(2);
    let calls = 0;
    const reader = new RangeReader({
      size: 64,
      // The first fetch of a byte serves `a`, any later one `b`.
      fetch: (start, end) => Promise.resolve((calls++ === 0 ? a : b).slice(start, end)),
      signal: new AbortController().signal,
      bytesFetched: () => 0,
      options: { minFetch: 32, maxWindow: 32, maxCache: 32 },
    });
    const head = await reader.read(0, 32); // hashed (a)
    expect(head[0]).toBe(1);
    await reader.read(32, 32).catch(() => undefined); // evicts the head
    // Refetched after eviction: bytes other than those hashed are never handed to the analysis.
    await expect(reader.read(0, 32)).rejects.toThrow(/other bytes/);
    const state = await reader.digest(true).catch((e: unknown) => e);
    if (!(state instanceof Error))
      expect((state as { sha256?: string }).sha256).not.toBe(hex(new Uint8Array(64).fill(2)));
  });

  it("a pinned partial read is never cached; a clean verdict seeded under the pin is not taken for other bytes", async () => {
    const { benign, evil } = twinZips();
    const s = await serve((req, res) => range(req, res, evil));
    const cache = new MemoryVerdictCache();
    const pinned = `${s.origin}/model.pt#sha256=${hex(evil)}`;
    // verify "read" with small windows: the analysis does not necessarily read every byte.
    const partial = await scan(
      { url: { url: pinned, allowHttp: true, env: {}, transport: FAST, read: SMALL } },
      { cache },
    );
    if (partial.files[0]!.integrity?.status === "partial") expect(cache.size).toBe(0);
    // A clean result planted under the digest the URL claims is used only for bytes that hash to it.
    const seeded = new MemoryVerdictCache();
    const clean = await scan({
      url: {
        url: `${(await serve((q, r) => range(q, r, benign))).origin}/m.pt`,
        allowHttp: true,
        env: {},
        verify: "full",
      },
    });
    expect(clean.files[0]!.verdict).toBe("clean");
    await seeded.set(cacheKey(hex(benign)), clean.files[0]!);
    const liar = await scan(
      { url: { url: `${s.origin}/model.pt#sha256=${hex(benign)}`, allowHttp: true, env: {}, transport: FAST } },
      { cache: seeded },
    );
    expect(liar.files[0]!.cached ?? false).toBe(false);
    expect(liar.files[0]!.verdict).toBe("malicious");
  });

  it("Content-Encoding: gzip on the first (206) range is refused, not silently decoded", async () => {
    const s = await serve((_req, res) => {
      const body = gzipSync(Buffer.from(BENIGN));
      res.writeHead(206, {
        etag: '"v1"',
        "content-encoding": "gzip",
        "content-range": `bytes 0-${EVIL.length - 1}/${EVIL.length}`,
        "content-length": body.length,
      });
      res.end(body);
    });
    const report = await scan({ url: { url: `${s.origin}/x.pkl`, allowHttp: true, env: {}, transport: FAST } });
    expect(report.verdict).not.toBe("clean");
    expect(report.files[0]?.verdict ?? "invalid").toBe("invalid");
  });

  it("an ETag that flips between the probe and a later range is scan/file-changed", async () => {
    const { evil } = twinZips();
    let n = 0;
    const s = await serve((req, res) => range(req, res, evil, n++ === 0 ? '"v1"' : '"v2"'));
    const cache = new MemoryVerdictCache();
    const report = await scan(
      { url: { url: `${s.origin}/model.pt`, allowHttp: true, env: {}, transport: FAST } },
      { cache },
    );
    expect(report.files[0]!.verdict).toBe("invalid");
    expect(report.files[0]!.findings.map((f) => f.ruleId)).toContain("scan/file-changed");
    expect(cache.size).toBe(0);
  });
});

describe("https://: credentials", () => {
  it("a 302 to the same host on another port (another origin) carries no credentials", async () => {
    const other = await serve((req, res) => range(req, res, BENIGN));
    const first = await serve((_req, res) => void res.writeHead(302, { location: `${other.origin}/x.pkl` }).end());
    const report = await scan({
      url: {
        url: `http://user:hunter2@127.0.0.1:${first.port}/x.pkl`,
        allowHttp: true,
        transport: FAST,
        env: { MODELGATE_HTTP_HEADERS: `${first.origin}=X-Api-Key: sekrit` },
      },
    });
    expect(first.log[0]?.headers.authorization).toMatch(/^Basic /);
    expect(first.log[0]?.headers["x-api-key"]).toBe("sekrit");
    expect(other.log.length).toBeGreaterThan(0);
    for (const r of other.log) {
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers["x-api-key"]).toBeUndefined();
    }
    expect(JSON.stringify(report)).not.toMatch(/hunter2|sekrit/);
  });

  it("a 302 from 127.0.0.1 to localhost (same port: another origin) carries no credentials", async () => {
    let n = 0;
    const s2 = await serve((req, res) => {
      if (n++ === 0) return void res.writeHead(302, { location: `http://localhost:${s2.port}/x.pkl` }).end();
      range(req, res, BENIGN);
    });
    await scan({
      url: {
        url: `http://127.0.0.1:${s2.port}/x.pkl`,
        allowHttp: true,
        transport: FAST,
        env: { MODELGATE_HTTP_HEADERS: `http://127.0.0.1:${s2.port}=Authorization: Bearer tok` },
      },
    });
    expect(s2.log[0]?.headers.authorization).toBe("Bearer tok");
    expect(s2.log.slice(1).every((r) => r.headers.authorization === undefined)).toBe(true);
  });

  it("error messages and target.http.url never show user info, signed-query values or fragments", async () => {
    const s = await serve((_req, res) => void res.writeHead(403).end("denied"));
    const url = `http://bob:pa55w0rd@127.0.0.1:${"PORT"}/m.bin?X-Amz-Signature=abc123sig&X-Amz-Credential=AKIAXYZ&sig=azsig&token=t0k&plain=ok`;
    const report = await scan({
      url: { url: url.replace("PORT", String(s.port)), allowHttp: true, transport: FAST, env: {} },
    });
    const json = JSON.stringify(report);
    for (const secret of ["pa55w0rd", "bob", "abc123sig", "AKIAXYZ", "azsig", "t0k"])
      expect(json).not.toContain(secret);
    expect(report.target.http?.url).toContain("plain=ok");
    expect(report.verdict).toBe("invalid");
    expect(redactUrl("https://h/x?Signature=s1&Key-Pair-Id=k1&Policy=p#sha256=00")).not.toMatch(/s1|k1/);
  });

  it("#sha256= fragments: uppercase is the same digest; extra parameters, two fragments or other names are refused", () => {
    const d = "AB".repeat(32);
    expect(parseTargetUrl(`https://h/x#sha256=${d}`).sha256).toBe(d.toLowerCase());
    for (const bad of [
      `https://h/x#sha256=${d}&x=1`,
      `https://h/x#sha256=${d}#sha256=${"00".repeat(32)}`,
      `https://h/x#SHA256=${d}`,
      `https://h/x#sha256=${d.slice(2)}`,
      `https://h/x#sha256%3D${d}`,
      `https://h/x#sha512=${d}`,
    ]) {
      expect(() => parseTargetUrl(bad), bad).toThrow(/fragment/);
    }
  });
});

describe("s3://: checksums and ETags", () => {
  it("a ChecksumSHA256 the object does not have is never trusted without reading every byte", async () => {
    const { evil } = twinZips();
    const s3 = await S3Standin.start("bucket", {
      "m/model.pt": { content: evil, checksum: Buffer.from(hex(BENIGN), "hex").toString("base64") },
    });
    try {
      const cache = new MemoryVerdictCache();
      const report = await scan(
        {
          s3: {
            bucket: "bucket",
            prefix: "m/",
            pathStyle: true,
            endpoint: s3.endpoint,
            region: "us-east-1",
            credentials: { accessKeyId: "a", secretAccessKey: "b" },
            transport: FAST,
            env: {},
          },
        },
        { cache },
      );
      const file = report.files[0]!;
      expect(file.verdict).toBe("malicious");
      expect(file.sha256 === hex(BENIGN)).toBe(false);
      expect(await cache.get(cacheKey(hex(BENIGN)))).toBeUndefined();
      expect(file.integrity?.status ?? "partial").not.toBe("verified");
    } finally {
      await s3.close();
    }
  });
});

/** A registry serving one artifact by tag and digest, with a per-request override. */
async function ociRegistry(
  built: ReturnType<typeof buildManifest>,
  options: { blob?: Handler; auth?: { realm: string; token: string; user: string; password: string } } = {},
): Promise<Standin> {
  const blobs = new Map(built.blobs.map((b) => [b.digest, b.bytes]));
  return serve(async (req, res, url) => {
    const auth = options.auth;
    if (auth !== undefined && req.headers.authorization !== `Bearer ${auth.token}`) {
      res.writeHead(401, { "www-authenticate": `Bearer realm="${auth.realm}",service="t"` });
      return void res.end();
    }
    if (url.pathname === "/v2/") return void res.writeHead(200).end("{}");
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
    if (m === null) return void res.writeHead(404).end();
    const ref = decodeURIComponent(m[3]!);
    if (m[2] === "manifests") {
      if (ref !== "v1" && ref !== built.digest) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": built.mediaType, "content-length": built.bytes.length });
      return void res.end(built.bytes);
    }
    if (options.blob !== undefined) return options.blob(req, res, url);
    const blob = blobs.get(ref);
    if (blob === undefined) return void res.writeHead(404).end();
    range(req, res, blob);
  });
}

const ociScan = (host: string, extra: object = {}, cache?: MemoryVerdictCache) =>
  scan({ oci: { reference: `oci://${host}/acme/m:v1`, transport: FAST, env: {}, ...extra } }, cache ? { cache } : {});

describe("oci://: manifests, blobs, credentials", () => {
  it("a 'safetensors' layer holding a pickle is analysed as a pickle (malicious)", async () => {
    const built = buildManifest({
      layers: [{ mediaType: MEDIA.dockerSafetensors, bytes: EVIL, title: "model.safetensors" }],
    });
    const r = await ociRegistry(built);
    const report = await ociScan(r.host);
    const layer = report.files.find((f) => f.path === "model.safetensors")!;
    expect(layer.verdict).toBe("malicious");
  });

  it("titles with .., absolute paths, backslashes, NUL or ! are not used as paths; ./a is cleaned to a", async () => {
    const titles = ["../escape.pkl", "/etc/passwd", "a\\b.pkl", "nul\u0000.pkl", "x!y.pkl", "a/../../b", "./a"];
    const built = buildManifest({
      layers: titles.map((title, i) => ({ mediaType: "application/octet-stream", bytes: text(`layer ${i}\n`), title })),
    });
    const r = await ociRegistry(built);
    const report = await ociScan(r.host);
    // ORAS writes `./a` as `a` (the title cleaned); every other title stays a digest path
    const paths = report.files.map((f) => f.path);
    expect(paths.filter((p) => p === "a")).toHaveLength(1);
    for (const p of paths.filter((x) => x !== "a")) expect(p).toMatch(/^blobs\/sha256\/[0-9a-f]{64}(-\d+)?$/);
  });

  it("a blob redirected to file:// or another scheme is not followed", async () => {
    const built = buildManifest({ layers: [{ mediaType: "application/octet-stream", bytes: BENIGN, title: "x.pkl" }] });
    for (const to of ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:text/plain,hi"]) {
      const r = await ociRegistry(built, { blob: (_q, res) => void res.writeHead(307, { location: to }).end() });
      const cache = new MemoryVerdictCache();
      const report = await ociScan(r.host, {}, cache);
      expect(report.files.find((f) => f.path === "x.pkl")?.verdict).toBe("invalid");
      expect(cache.size).toBe(0);
    }
  });

  it("a descriptor with a huge size is a budget problem, not a read of the whole registry", async () => {
    const built = buildManifest({ layers: [{ mediaType: "application/octet-stream", bytes: BENIGN, title: "x.pkl" }] });
    const doc = JSON.parse(new TextDecoder().decode(built.bytes));
    doc.layers[0].size = Number.MAX_SAFE_INTEGER;
    const bytes = text(JSON.stringify(doc));
    const lying = { ...built, bytes, digest: `sha256:${hex(bytes)}` };
    const r = await ociRegistry(lying);
    const report = await ociScan(r.host);
    const x = report.files.find((f) => f.path === "x.pkl");
    expect(x?.verdict).toBe("invalid");
    expect(report.complete).toBe(false);
  });

  it("the registry's token goes to the registry only; a blob redirected elsewhere gets nothing", async () => {
    const built = buildManifest({ layers: [{ mediaType: "application/octet-stream", bytes: BENIGN, title: "x.pkl" }] });
    const blob = built.blobs[1]!.bytes;
    const storage = await serve((req, res) => range(req, res, blob));
    const realm = await serve(
      (_req, res) => void res.writeHead(200, { "content-type": "application/json" }).end('{"token":"T0KEN"}'),
    );
    const r = await ociRegistry(built, {
      auth: { realm: `${realm.origin}/token`, token: "T0KEN", user: "u", password: "p" },
      blob: (_q, res) => void res.writeHead(307, { location: `${storage.origin}/blob` }).end(),
    });
    const report = await ociScan(r.host, { credentials: { username: "u", password: "p" } });
    expect(report.files.find((f) => f.path === "x.pkl")?.verdict).toBe("clean");
    expect(realm.log.every((l) => l.headers.authorization === `Basic ${Buffer.from("u:p").toString("base64")}`)).toBe(
      true,
    );
    expect(storage.log.length).toBeGreaterThan(0);
    expect(storage.log.every((l) => l.headers.authorization === undefined)).toBe(true);
    expect(JSON.stringify(report)).not.toMatch(/T0KEN|dTpw/);
  });

  it("a clean verdict seeded under a layer's descriptor digest is not taken when the registry serves other bytes", async () => {
    const built = buildManifest({ layers: [{ mediaType: "application/octet-stream", bytes: BENIGN, title: "x.pkl" }] });
    const layer = built.blobs[1]!;
    const honest = await ociRegistry(built);
    const first = await ociScan(honest.host);
    const cleanFile = first.files.find((f) => f.path === "x.pkl")!;
    expect(cleanFile.verdict).toBe("clean");
    const cache = new MemoryVerdictCache();
    await cache.set(cacheKey(layer.digest.slice(7)), cleanFile);
    const liar = await ociRegistry(built, { blob: (req, res) => range(req, res, EVIL) });
    const report = await ociScan(liar.host, {}, cache);
    const x = report.files.find((f) => f.path === "x.pkl")!;
    expect(x.cached ?? false).toBe(false);
    expect(x.verdict).toBe("malicious");
    expect(x.findings.map((f) => f.ruleId)).toContain("remote/integrity-mismatch");
  });

  it("a blob redirected to a signed storage URL that fails never prints the signature", async () => {
    const built = buildManifest({ layers: [{ mediaType: "application/octet-stream", bytes: BENIGN, title: "x.pkl" }] });
    const storage = await serve((_req, res) => void res.writeHead(503).end());
    const r = await ociRegistry(built, {
      blob: (_q, res) =>
        void res
          .writeHead(307, { location: `${storage.origin}/b?X-Amz-Signature=SECRETSIG&X-Amz-Security-Token=SECRETTOK` })
          .end(),
    });
    const report = await ociScan(r.host);
    expect(report.files.find((f) => f.path === "x.pkl")?.verdict).toBe("invalid");
    expect(JSON.stringify(report)).not.toMatch(/SECRETSIG|SECRETTOK/);
  });

  it("image layout: a symlinked blob or index.json is not read", async () => {
    const built = buildManifest({ layers: [{ mediaType: "application/octet-stream", bytes: EVIL, title: "x.pkl" }] });
    const dir = join(tmp, `layout-${Date.now()}`);
    mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
    writeFileSync(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(join(dir, "blobs", "sha256", built.digest.slice(7)), built.bytes);
    const outside = join(tmp, `outside-${Date.now()}`);
    mkdirSync(outside);
    for (const b of built.blobs) {
      writeFileSync(join(outside, b.digest.slice(7)), b.bytes);
      symlinkSync(join(outside, b.digest.slice(7)), join(dir, "blobs", "sha256", b.digest.slice(7)));
    }
    const index = {
      schemaVersion: 2,
      manifests: [{ mediaType: built.mediaType, digest: built.digest, size: built.bytes.length }],
    };
    writeFileSync(join(outside, "index.json"), JSON.stringify(index));
    symlinkSync(join(outside, "index.json"), join(dir, "index.json"));
    const viaLink = await scan({ oci: { reference: `oci-layout:${dir}` } });
    expect(viaLink.verdict).toBe("invalid");
    rmSync(join(dir, "index.json"));
    writeFileSync(join(dir, "index.json"), JSON.stringify(index));
    const report = await scan({ oci: { reference: `oci-layout:${dir}` } });
    for (const f of report.files) expect(f.verdict).toBe("invalid");
    expect(report.verdict).not.toBe("clean");
  });
});

// ---------------------------------------------------------------------------------------------
// Attestations
// ---------------------------------------------------------------------------------------------

const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const publicKey = String(keys.publicKey.export({ type: "spki", format: "pem" }));
const privateKey = String(keys.privateKey.export({ type: "pkcs8", format: "pem" }));
const signer = createBundleSigner({ privateKey });
let modelCount = 0;
function model(content = "# a model\n"): string {
  const dir = join(tmp, `model-${modelCount++}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "README.md"), content);
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "bert" }));
  return dir;
}
type Bundle = { dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string }[] } };
/** Signs an arbitrary statement (as a hostile signer with our key, or to test the parser). */
const signed = (statement: unknown, payloadType = IN_TOTO_PAYLOAD_TYPE, raw?: string) =>
  signer.sign(payloadType, Buffer.from(raw ?? JSON.stringify(statement), "utf8"));

describe("attestations", () => {
  it("subject names with .. or absolute paths, and duplicate subjects, fail at statement", async () => {
    const dir = model();
    const { statement } = attest(await scan(dir), signer);
    for (const name of ["../README.md", "/etc/passwd", "a/../README.md", "C:/x", "a\\b"]) {
      const s = structuredClone(statement) as unknown as { subject: { name: string }[] };
      s.subject[0]!.name = name;
      const r = await verifyAttestation(signed(s), dir, { publicKey });
      expect(r.failedStage, name).toBe("statement");
    }
    const dup = structuredClone(statement) as unknown as { subject: unknown[] };
    dup.subject.push(dup.subject[0]);
    expect((await verifyAttestation(signed(dup), dir, { publicKey })).failedStage).toBe("statement");
  });

  it("an attestation of another target with the same file names fails at subjects", async () => {
    const a = model("# a\n");
    const b = model("# b, same names\n");
    const { bundle } = attest(await scan(a), signer);
    const r = await verifyAttestation(bundle, b, { publicKey });
    expect(r.failedStage).toBe("subjects");
  });

  it("a timeVerified in the future fails even with a generous maxAge", async () => {
    const dir = model();
    const { statement } = attest(await scan(dir), signer);
    const s = structuredClone(statement) as unknown as { predicate: { timeVerified: string } };
    s.predicate.timeVerified = new Date(Date.now() + 24 * 3600e3).toISOString();
    const r = await verifyAttestation(signed(s), dir, { publicKey, maxAge: 3600e3 });
    expect(r.failedStage).toBe("requirements");
  });

  it("a payloadType other than in-toto fails; a signature over another payload fails", async () => {
    const dir = model();
    const { statement, bundle } = attest(await scan(dir), signer);
    expect((await verifyAttestation(signed(statement, "application/json"), dir, { publicKey })).status).toBe("failed");
    const swapped = structuredClone(bundle) as unknown as Bundle;
    const other = structuredClone(statement) as unknown as { predicate: { timeVerified: string } };
    other.predicate.timeVerified = "2020-01-01T00:00:00Z";
    swapped.dsseEnvelope.payload = Buffer.from(JSON.stringify(other)).toString("base64");
    expect((await verifyAttestation(swapped as never, dir, { publicKey })).failedStage).toBe("signature");
    // The payloadType is covered by the signature too (DSSE PAE).
    const retyped = structuredClone(bundle) as unknown as Bundle;
    retyped.dsseEnvelope.payloadType = "application/vnd.in-toto+json ";
    expect((await verifyAttestation(retyped as never, dir, { publicKey })).status).toBe("failed");
  });

  it("PASSED with a malicious verdict in the extension fails at statement; requirePassed rejects FAILED", async () => {
    const dir = model();
    const { statement } = attest(await scan(dir), signer);
    const s = structuredClone(statement) as unknown as Record<string, Record<string, Record<string, unknown>>>;
    s.predicate![SCAN_EXTENSION_KEY]!.verdict = "malicious";
    expect((await verifyAttestation(signed(s), dir, { publicKey, requirePassed: true })).failedStage).toBe("statement");
  });

  it("a required policy digest is compared exactly (no prefix, case-insensitive hex only)", async () => {
    const dir = model();
    const report = await scan(dir);
    const { bundle } = attest(report, signer);
    const hash = report.policy?.hash ?? "";
    expect((await verifyAttestation(bundle, dir, { publicKey, policyDigest: hash.toUpperCase() })).status).toBe(
      "verified",
    );
    for (const bad of [`sha256:${hash}`, hash.slice(0, 32), "", ` ${hash}`]) {
      expect((await verifyAttestation(bundle, dir, { publicKey, policyDigest: bad })).status, bad).toBe("failed");
    }
  });

  it("JSON duplicate keys in the payload fail (first-wins and last-wins parsers would disagree)", async () => {
    const dir = model();
    const { statement } = attest(await scan(dir), signer);
    const json = JSON.stringify(statement);
    const raw = json.replace(
      '"verificationResult":"PASSED"',
      '"verificationResult":"FAILED","verificationResult":"PASSED"',
    );
    expect(raw).not.toBe(json);
    expect(
      (await verifyAttestation(signed(undefined, IN_TOTO_PAYLOAD_TYPE, raw), dir, { publicKey })).failedStage,
    ).toBe("statement");
  });

  it("scan --attest refuses a symlink, a FIFO, or a path inside the target (also through a linked folder)", async () => {
    const dir = model();
    const keyFile = join(tmp, "attest.key.pem");
    writeFileSync(keyFile, privateKey);
    const run = (out: string) => runCli(["scan", dir, "--attest", out, "--attest-key", keyFile], fakeIO());
    const victim = join(tmp, `victim-${modelCount}`);
    writeFileSync(victim, "do not overwrite");
    const link = join(tmp, `link-${modelCount}.json`);
    symlinkSync(victim, link);
    expect(await run(link)).toBe(2);
    expect(readFileSync(victim, "utf8")).toBe("do not overwrite");
    const fifo = join(fifos.dir, `fifo-${modelCount}`);
    fifos.mkfifo(fifo);
    expect(await run(fifo)).toBe(2);
    expect(await run(join(dir, "att.json"))).toBe(2);
    const alias = join(tmp, `alias-${modelCount}`);
    symlinkSync(dir, alias);
    expect(await run(join(alias, "att.json"))).toBe(2);
    expect(() => readFileSync(join(dir, "att.json"))).toThrow();
  });
});
