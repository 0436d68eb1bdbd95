// A hostile OCI registry (issue 16): a loopback stand-in (node:http) that lies about manifest and
// blob digests, redirects blobs to another origin, serves oversized manifests, nests indexes
// without end, and drip-feeds bytes. Each case must end in a typed error, an `invalid` result,
// nothing cached and no hang; credentials must reach only the registry and its token service.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { TOOL_VERSION } from "../../../src/core/version.js";
import { resolvePolicy } from "../../../src/policy/policy.js";
import type { ScanReport } from "../../../src/report/schema.js";
import { MemoryVerdictCache } from "../../../src/scan/cache.js";
import { scan } from "../../../src/scan/engine.js";
import { MEDIA } from "../../../src/sources/oci/config.js";
import { buildIndex, buildManifest } from "../../../src/sources/oci/push.js";
import type { OciTarget } from "../../../src/sources/oci/root.js";

const text = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const EVIL = text("cos\nsystem\n(S'echo hi'\ntR.");
const CLEAN = new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]);
const FAST = { retries: 1, retryBaseMs: 1, maxRetryDelayMs: 5, requestTimeoutMs: 400 };
const key = (sha256: string) => ({ sha256, toolVersion: TOOL_VERSION, policyHash: resolvePolicy().hash });

interface Logged {
  path: string;
  authorization?: string | undefined;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** A loopback HTTP server whose every request goes to `handler`, logged with its Authorization. */
class Standin {
  readonly log: Logged[] = [];
  readonly #server: Server;
  port = 0;

  constructor(handler: Handler) {
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      this.log.push({ path: url.pathname + url.search, authorization: req.headers.authorization });
      Promise.resolve(handler(req, res, url)).catch(() => res.destroy());
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.#server.listen(0, "127.0.0.1", r));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
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

/** A registry serving documents and blobs by path, with per-path overrides. */
async function registry(content: {
  manifests: Record<string, { bytes: Uint8Array; mediaType: string; digestHeader?: string; contentLength?: number }>;
  blobs: Record<string, Uint8Array>;
  blob?: Handler;
  manifest?: Handler;
  auth?: { user: string; password: string; token: string; realm?: string };
}): Promise<Standin> {
  const s = new Standin(async (req, res, url) => {
    const auth = content.auth;
    if (url.pathname === "/token") {
      const expected =
        auth === undefined ? undefined : `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString("base64")}`;
      if (req.headers.authorization !== expected) return void res.writeHead(401).end();
      return void res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ token: auth?.token }));
    }
    if (auth !== undefined && req.headers.authorization !== `Bearer ${auth.token}`) {
      res.writeHead(401, {
        "www-authenticate": `Bearer realm="${auth.realm ?? `http://${s.host}/token`}",service="test",scope="repository:x:pull"`,
      });
      return void res.end();
    }
    if (url.pathname === "/v2/") return void res.writeHead(200).end("{}");
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
    if (m === null) return void res.writeHead(404).end();
    const ref = decodeURIComponent(m[3]!);
    if (m[2] === "manifests") {
      if (content.manifest !== undefined) return content.manifest(req, res, url);
      const doc = content.manifests[ref];
      if (doc === undefined) return void res.writeHead(404).end();
      res.writeHead(200, {
        "content-type": doc.mediaType,
        "docker-content-digest": doc.digestHeader ?? `sha256:${hex(doc.bytes)}`,
        "content-length": String(doc.contentLength ?? doc.bytes.length),
      });
      return void res.end(doc.bytes);
    }
    if (content.blob !== undefined) return content.blob(req, res, url);
    const blob = content.blobs[ref];
    if (blob === undefined) return void res.writeHead(404).end();
    serveRange(req, res, blob);
  });
  servers.push(s);
  return s.start();
}

function serveRange(req: IncomingMessage, res: ServerResponse, blob: Uint8Array): void {
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
  if (m === null) return void res.writeHead(200, { "content-length": String(blob.length) }).end(blob);
  const start = Number(m[1]);
  const end = Math.min(Number(m[2]), blob.length - 1);
  res.writeHead(206, {
    "content-range": `bytes ${start}-${end}/${blob.length}`,
    "content-length": String(end - start + 1),
  });
  res.end(blob.subarray(start, end + 1));
}

/** Manifest documents of an artifact with these layers, keyed by tag and digest. */
function artifact(layers: Array<{ bytes: Uint8Array; mediaType?: string; title?: string }>, tag = "v1") {
  const built = buildManifest({
    layers: layers.map((l) => ({
      mediaType: l.mediaType ?? "application/octet-stream",
      bytes: l.bytes,
      ...(l.title === undefined ? {} : { title: l.title }),
    })),
  });
  const doc = { bytes: built.bytes, mediaType: built.mediaType };
  const blobs = Object.fromEntries(built.blobs.map((b) => [b.digest, b.bytes]));
  return { built, manifests: { [tag]: doc, [built.digest]: doc }, blobs };
}

const ociScan = (s: Standin, ref: string, target: Partial<OciTarget> = {}, options = {}): Promise<ScanReport> =>
  scan({ oci: { reference: `oci://${s.host}/${ref}`, env: {}, transport: FAST, ...target } }, options);

describe("a registry that lies about a manifest", () => {
  it("a Docker-Content-Digest that is not the digest of the bytes: MALFORMED, invalid, nothing read or cached", async () => {
    const a = artifact([{ bytes: CLEAN, title: "m.pkl" }]);
    const lie = `sha256:${"0".repeat(64)}`;
    const s = await registry({ manifests: { v1: { ...a.manifests.v1!, digestHeader: lie } }, blobs: a.blobs });
    const cache = new MemoryVerdictCache();
    const report = await ociScan(s, "acme/m:v1", {}, { cache });
    expect(report).toMatchObject({ verdict: "invalid", complete: false, target: { kind: "oci" } });
    expect(report.errors[0]?.code).toBe("MALFORMED");
    expect(report.errors[0]?.message).toContain("Docker-Content-Digest");
    expect(s.log.some((l) => l.path.includes("/blobs/"))).toBe(false);
    expect(cache.size).toBe(0);
  });

  it("bytes that do not hash to the digest asked for: MALFORMED", async () => {
    const a = artifact([{ bytes: CLEAN }]);
    const other = artifact([{ bytes: EVIL }]);
    // asked by digest, the registry serves another manifest (and a header that matches those bytes)
    const s = await registry({
      manifests: { [a.built.digest]: other.manifests.v1! },
      blobs: { ...a.blobs, ...other.blobs },
    });
    const report = await ociScan(s, `acme/m@${a.built.digest}`);
    expect(report.verdict).toBe("invalid");
    expect(report.errors[0]).toMatchObject({ code: "MALFORMED" });
    expect(report.errors[0]?.message).toContain(a.built.digest);
  });
});

describe("a registry that lies about a blob", () => {
  it("other bytes of the same size under a layer's digest: remote/integrity-mismatch (high, invalid), never cached", async () => {
    const evil2 = text("cos\nsystem\n(S'echo ho'\ntR.");
    const a = artifact([{ bytes: EVIL, title: "evil.pkl" }]);
    const layerDigest = a.built.blobs[1]!.digest;
    const s = await registry({ manifests: a.manifests, blobs: { ...a.blobs, [layerDigest]: evil2 } });
    const cache = new MemoryVerdictCache();
    const report = await ociScan(s, "acme/m:v1", {}, { cache });
    const file = report.files.find((f) => f.path === "evil.pkl")!;
    const mismatch = file.findings.find((f) => f.ruleId === "remote/integrity-mismatch");
    expect(mismatch?.severity).toBe("high");
    expect(file.integrity).toMatchObject({ status: "mismatch", expected: layerDigest.slice(7), actual: hex(evil2) });
    expect(["invalid", "malicious"]).toContain(file.verdict);
    expect(report.verdict).not.toBe("clean");
    expect(await cache.get(key(layerDigest.slice(7)))).toBeUndefined();
    expect(await cache.get(key(hex(evil2)))).toBeUndefined();
  });

  it("a blob longer than its descriptor says: a typed error, invalid", async () => {
    const a = artifact([{ bytes: CLEAN, title: "c.pkl" }]);
    const s = await registry({
      manifests: a.manifests,
      blobs: { ...a.blobs, [a.built.blobs[1]!.digest]: new Uint8Array([...CLEAN, 0x2e, 0x2e]) },
    });
    const report = await ociScan(s, "acme/m:v1");
    const file = report.files.find((f) => f.path === "c.pkl")!;
    expect(["invalid", "malicious"]).toContain(file.verdict); // a high integrity finding that invalidates
    expect(report.errors, JSON.stringify(report.errors)).toContainEqual(
      expect.objectContaining({ path: "c.pkl", code: "IO" }),
    );
    expect(file.integrity?.status).toBe("mismatch");
    expect(file.findings.map((f) => f.ruleId)).toContain("remote/integrity-mismatch");
    expect(JSON.stringify(file.findings)).toContain("descriptor says");
  });
});

describe("credentials", () => {
  it("go to the registry and its token service only: a blob redirect to another origin carries no Authorization", async () => {
    const a = artifact([{ bytes: CLEAN, title: "c.pkl" }]);
    const layer = a.built.blobs[1]!;
    const storage = new Standin((req, res) => serveRange(req, res, layer.bytes));
    servers.push(storage);
    await storage.start();
    const auth = { user: "robot", password: "s3cret-pass", token: "tok-123456" };
    const s = await registry({
      manifests: a.manifests,
      blobs: a.blobs,
      auth,
      blob: (req, res, url) => {
        if (url.pathname.endsWith(layer.digest))
          return void res.writeHead(307, { location: `http://${storage.host}/store/${layer.digest}?sig=x` }).end();
        serveRange(req, res, a.blobs[url.pathname.split("/").pop()!]!);
      },
    });
    const report = await ociScan(s, "acme/m:v1", { env: { MODELGATE_OCI_AUTH: `${s.host}=robot:s3cret-pass` } });
    expect(report.verdict).toBe("clean");
    expect(report.files.find((f) => f.path === "c.pkl")?.integrity?.status).toBe("verified");
    expect(storage.log.length).toBeGreaterThan(0);
    for (const l of storage.log) expect(l.authorization).toBeUndefined();
    expect(s.log.filter((l) => l.path.startsWith("/token")).every((l) => l.authorization?.startsWith("Basic "))).toBe(
      true,
    );
    expect(s.log.some((l) => l.path.includes("/blobs/") && l.authorization === "Bearer tok-123456")).toBe(true);
    const json = JSON.stringify(report);
    expect(json).not.toContain("s3cret");
    expect(json).not.toContain("tok-123456");
  });

  it("a token service on plain HTTP elsewhere than loopback is refused", async () => {
    const a = artifact([{ bytes: CLEAN }]);
    const s = await registry({
      manifests: a.manifests,
      blobs: a.blobs,
      auth: { user: "u", password: "p", token: "t", realm: "http://auth.example.invalid/token" },
    });
    const report = await ociScan(s, "acme/m:v1", { env: { MODELGATE_OCI_AUTH: `${s.host}=u:p` } });
    expect(report.verdict).toBe("invalid");
    expect(report.errors[0]).toMatchObject({ code: "NETWORK" });
    expect(report.errors[0]?.message).toContain("plain HTTP");
  });
});

describe("budgets and deadlines", () => {
  it("an oversized manifest: BUDGET_EXCEEDED, whether announced or not", async () => {
    const big = { bytes: new Uint8Array(64 << 10).fill(0x20), mediaType: MEDIA.ociManifest };
    const s = await registry({ manifests: { v1: big }, blobs: {} });
    const report = await ociScan(s, "acme/m:v1", { limits: { maxManifestBytes: 16 << 10 } });
    expect(report.verdict).toBe("invalid");
    expect(report.errors[0]).toMatchObject({ code: "BUDGET_EXCEEDED" });
    const chunked = await registry({
      manifests: {},
      blobs: {},
      manifest: (_req, res) => {
        res.writeHead(200, { "content-type": MEDIA.ociManifest });
        res.end(new Uint8Array(64 << 10).fill(0x20));
      },
    });
    const again = await ociScan(chunked, "acme/m:v1", { limits: { maxManifestBytes: 16 << 10 } });
    expect(again.errors[0]).toMatchObject({ code: "BUDGET_EXCEEDED" });
  });

  it("too many layers: BUDGET_EXCEEDED", async () => {
    const a = artifact(Array.from({ length: 5 }, (_, i) => ({ bytes: text(`x${i}`) })));
    const s = await registry({ manifests: a.manifests, blobs: a.blobs });
    const report = await ociScan(s, "acme/m:v1", { limits: { maxLayers: 4 } });
    expect(report.errors[0]).toMatchObject({ code: "BUDGET_EXCEEDED" });
  });

  it("indexes nested deeper than the budget, and an index that refers back to itself", async () => {
    const a = artifact([{ bytes: CLEAN }]);
    const manifests: Record<string, { bytes: Uint8Array; mediaType: string }> = { ...a.manifests };
    let child = { digest: a.built.digest, size: a.built.bytes.length, mediaType: a.built.mediaType };
    for (let i = 0; i < 6; i++) {
      const index = buildIndex([child]);
      manifests[index.digest] = { bytes: index.bytes, mediaType: index.mediaType };
      child = { digest: index.digest, size: index.bytes.length, mediaType: index.mediaType };
    }
    manifests.deep = manifests[child.digest]!;
    const s = await registry({ manifests, blobs: a.blobs });
    const deep = await ociScan(s, "acme/m:deep", { limits: { maxIndexDepth: 3 } });
    expect(deep.verdict).toBe("invalid");
    expect(deep.errors[0]).toMatchObject({ code: "BUDGET_EXCEEDED" });
    expect(s.log.filter((l) => l.path.includes("/manifests/")).length).toBe(4);
    const ok = await ociScan(s, "acme/m:deep", { limits: { maxIndexDepth: 8 } });
    expect(ok.verdict).toBe("clean");

    // "loop": the index names a digest, and the registry answers that digest with the index itself
    const self = `sha256:${"1".repeat(64)}`;
    const loop = buildIndex([{ digest: self, size: 100, mediaType: MEDIA.ociIndex }]);
    const l = await registry({
      manifests: {
        v1: { bytes: loop.bytes, mediaType: loop.mediaType },
        [self]: { bytes: loop.bytes, mediaType: loop.mediaType },
      },
      blobs: {},
    });
    const looped = await ociScan(l, "acme/m:v1");
    expect(looped.verdict).toBe("invalid");
    expect(looped.errors[0]).toMatchObject({ code: "MALFORMED" });
  });

  it("a registry that drips a blob past the request deadline: a typed error within seconds, invalid, not cached", async () => {
    const payload = new Uint8Array(4096).fill(0x2e);
    const a = artifact([{ bytes: payload, title: "slow.bin" }]);
    const s = await registry({
      manifests: a.manifests,
      blobs: a.blobs,
      blob: (req, res, url) => {
        const blob = a.blobs[url.pathname.split("/").pop()!]!;
        if (blob !== payload) return serveRange(req, res, blob);
        res.writeHead(206, {
          "content-range": `bytes 0-${blob.length - 1}/${blob.length}`,
          "content-length": String(blob.length),
        });
        let at = 0;
        const timer = setInterval(() => {
          if (at >= blob.length || res.destroyed) return clearInterval(timer);
          res.write(blob.subarray(at, at + 1));
          at++;
        }, 50);
        res.on("close", () => clearInterval(timer));
      },
    });
    const cache = new MemoryVerdictCache();
    const started = Date.now();
    const report = await ociScan(s, "acme/m:v1", {}, { cache });
    expect(Date.now() - started).toBeLessThan(10_000);
    const file = report.files.find((f) => f.path === "slow.bin")!;
    expect(file.verdict).toBe("invalid");
    const error = report.errors.find((e) => e.path === "slow.bin");
    expect(error?.message, JSON.stringify(report.errors)).toMatch(/no answer within 400 ms/);
    expect(await cache.get(key(hex(payload)))).toBeUndefined();
  });

  it("a manifest dripped past the deadline: NETWORK, invalid", async () => {
    const s = await registry({
      manifests: {},
      blobs: {},
      manifest: (_req, res) => {
        res.writeHead(200, { "content-type": MEDIA.ociManifest });
        const timer = setInterval(() => res.write(" "), 50);
        res.on("close", () => clearInterval(timer));
      },
    });
    const started = Date.now();
    const report = await ociScan(s, "acme/m:v1");
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(report.verdict).toBe("invalid");
    expect(report.errors[0]?.code).toBe("NETWORK");
  });
});

describe("a registry that misbehaves on blob reads (redirects, ranges)", () => {
  /** A registry whose layer blob (a 200 KiB pickle-less blob after a clean pickle) is served by `blob`. */
  async function misbehaving(blob: (req: IncomingMessage, res: ServerResponse, url: URL, bytes: Uint8Array) => void) {
    const big = new Uint8Array(200 << 10);
    big.set(CLEAN);
    const a = artifact([{ bytes: big, title: "big.pkl" }]);
    const layer = a.built.blobs[1]!;
    const s = await registry({
      manifests: a.manifests,
      blobs: a.blobs,
      blob: (req, res, url) => {
        const ref = url.pathname.split("/").pop()!;
        if (ref === layer.digest) return blob(req, res, url, layer.bytes);
        serveRange(req, res, a.blobs[ref]!);
      },
    });
    layerDigest = layer.digest.slice("sha256:".length);
    return { s, layer };
  }

  let layerDigest = "";
  async function expectRejected(s: Standin, message: RegExp, target: Partial<OciTarget> = {}) {
    const cache = new MemoryVerdictCache();
    const t0 = Date.now();
    const report = await ociScan(s, "acme/m:v1", target, { cache });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(report.verdict).toBe("invalid");
    expect(report.complete).toBe(false);
    const file = report.files.find((f) => f.path === "big.pkl")!;
    expect(file.verdict).toBe("invalid");
    expect(JSON.stringify([file.findings, report.errors])).toMatch(message);
    // Only the verified config blob may be cached, never the layer that failed.
    expect(await cache.get(key(layerDigest))).toBeUndefined();
    expect(cache.size).toBeLessThanOrEqual(1);
    return report;
  }

  it("a blob redirect loop ends after 8 hops with a typed error", async () => {
    const { s } = await misbehaving((_req, res, url) => {
      const hop = Number(url.searchParams.get("hop") ?? 0) + 1;
      res.writeHead(307, { location: `${url.pathname}?hop=${hop}` }).end();
    });
    await expectRejected(s, /more than 8 redirects/);
    expect(s.log.filter((l) => l.path.includes("hop=")).length).toBeLessThanOrEqual(2 * 8 * 2);
  });

  it("a blob redirect to a non-HTTP scheme is refused", async () => {
    const { s } = await misbehaving((_req, res) => res.writeHead(302, { location: "file:///etc/passwd" }).end());
    await expectRejected(s, /redirect to a non-HTTP URL/);
  });

  it("ranges answered with other bytes than the blob served whole: caught by default (every blob read whole), partial only with verify: read", async () => {
    // The descriptor's digest is that of a malicious pickle (what `docker pull`/ORAS download
    // whole); every Range request gets a benign pickle of the same size instead.
    const evil = new Uint8Array(4 << 20);
    evil.set(EVIL);
    const benign = new Uint8Array(4 << 20);
    benign.set(CLEAN);
    const a = artifact([{ bytes: evil, title: "big.pkl" }]);
    const layer = a.built.blobs[1]!;
    const s = await registry({
      manifests: a.manifests,
      blobs: a.blobs,
      blob: (req, res, url) => {
        const ref = url.pathname.split("/").pop()!;
        if (ref !== layer.digest) return serveRange(req, res, a.blobs[ref]!);
        if (req.headers.range !== undefined) return serveRange(req, res, benign);
        res.writeHead(200, { "content-length": String(evil.length) }).end(evil);
      },
    });
    const byDefault = await ociScan(s, "acme/m:v1");
    const file = byDefault.files.find((f) => f.path === "big.pkl")!;
    expect(file.integrity?.status).toBe("mismatch");
    expect(file.findings.map((f) => f.ruleId)).toContain("remote/integrity-mismatch");
    expect(byDefault.verdict).not.toBe("clean");
    // Opting into range reads: what was analysed is bound to the digest by the registry's word.
    const read = await ociScan(s, "acme/m:v1", { verify: "read" });
    expect(read.files.find((f) => f.path === "big.pkl")?.integrity?.status).toBe("partial");
  });

  it("a registry that ignores Range for a blob larger than the whole-blob limit: typed error", async () => {
    const { s } = await misbehaving((_req, res, _url, bytes) =>
      res.writeHead(200, { "content-length": String(bytes.length) }).end(bytes),
    );
    await expectRejected(s, /ignores Range requests/, { maxWholeBlobBytes: 64 << 10 });
  });

  it("a registry that ignores Range for a small blob: taken whole once, and verified", async () => {
    const { s, layer } = await misbehaving((_req, res, _url, bytes) =>
      res.writeHead(200, { "content-length": String(bytes.length) }).end(bytes),
    );
    const report = await ociScan(s, "acme/m:v1", { verify: "full" });
    const file = report.files.find((f) => f.path === "big.pkl")!;
    expect(file.integrity).toMatchObject({ status: "verified", actual: layer.digest.slice(7) });
    expect(s.log.filter((l) => l.path.endsWith(layer.digest))).toHaveLength(1);
  });

  it("a Content-Range other than the range asked for: typed error", async () => {
    const { s } = await misbehaving((req, res, _url, bytes) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
      const start = Number(m?.[1] ?? 0) + 1;
      const end = Math.min(Number(m?.[2] ?? 0) + 1, bytes.length - 1);
      res.writeHead(206, {
        "content-range": `bytes ${start}-${end}/${bytes.length}`,
        "content-length": String(end - start + 1),
      });
      res.end(bytes.subarray(start, end + 1));
    });
    await expectRejected(s, /asked for bytes 0-\d+ of a blob, got 1-/);
  });
});

describe("an index: every manifest is scanned, within budgets, none dropped", () => {
  /** A registry serving an index (tag `v1`) over these artifacts, each with its index entry's extras. */
  async function indexOf(
    parts: Array<{ a: ReturnType<typeof artifact>; platform?: Record<string, string>; missing?: boolean }>,
  ) {
    const index = buildIndex(
      parts.map((p) => ({
        digest: p.a.built.digest,
        size: p.a.built.bytes.length,
        mediaType: p.a.built.mediaType,
        ...(p.platform === undefined ? {} : { platform: p.platform as { os: string; architecture: string } }),
      })),
    );
    const manifests: Record<string, { bytes: Uint8Array; mediaType: string }> = {
      v1: { bytes: index.bytes, mediaType: index.mediaType },
    };
    let blobs: Record<string, Uint8Array> = {};
    for (const p of parts) {
      if (p.missing !== true) manifests[p.a.built.digest] = p.a.manifests.v1!;
      blobs = { ...blobs, ...p.a.blobs };
    }
    return { s: await registry({ manifests, blobs }), index };
  }

  it("a malicious manifest anywhere in the index makes the scan malicious; unsafe or clashing platforms name folders by digest", async () => {
    const clean = artifact([{ bytes: CLEAN, title: "m.pkl" }]);
    const evil = artifact([{ bytes: EVIL, title: "m.pkl" }]);
    const other = artifact([{ bytes: text("x"), title: "m.pkl" }]);
    const { s, index } = await indexOf([
      { a: clean, platform: { os: "linux", architecture: "amd64" } },
      { a: evil, platform: { os: "../..", architecture: "amd64" } },
      { a: other, platform: { os: "linux", architecture: "amd64", "os.version": "2" } },
    ]);
    const report = await ociScan(s, "acme/m:v1");
    expect(report.verdict).toBe("malicious");
    expect(report.target.oci).toMatchObject({ digest: index.digest, mediaType: MEDIA.ociIndex });
    const byPath = Object.fromEntries(report.files.map((f) => [f.path, f.verdict]));
    expect(byPath[`sha256-${evil.built.digest.slice(7)}/m.pkl`]).toBe("malicious");
    expect(byPath[`sha256-${clean.built.digest.slice(7)}/m.pkl`]).toBe("clean"); // linux-amd64 twice
    expect(byPath[`sha256-${other.built.digest.slice(7)}/m.pkl`]).toBeDefined();
    expect(Object.keys(byPath).some((p) => p.includes(".."))).toBe(false);
  });

  it("an index entry whose digest is not a sha256 one: unreadable under a folder of its own, never its string", async () => {
    const clean = artifact([{ bytes: CLEAN, title: "m.pkl" }]);
    const index = buildIndex([
      { digest: clean.built.digest, size: clean.built.bytes.length, mediaType: clean.built.mediaType },
      { digest: "../../../etc", size: 10, mediaType: MEDIA.ociManifest },
    ]);
    const s = await registry({
      manifests: { ...clean.manifests, v1: { bytes: index.bytes, mediaType: index.mediaType } },
      blobs: clean.blobs,
    });
    const report = await ociScan(s, "acme/m:v1");
    expect(report.verdict).toBe("invalid");
    expect(report.errors).toContainEqual(
      expect.objectContaining({ path: "sha256-unsupported-1", code: "UNSUPPORTED" }),
    );
    expect(JSON.stringify(report.files.map((f) => f.path))).not.toContain("..");
  });

  it("a manifest served larger than its index entry says: read no further than that size, MALFORMED", async () => {
    const big = artifact([{ bytes: CLEAN, title: "m.pkl" }]);
    const padded = { bytes: new Uint8Array(256 << 10).fill(0x20), mediaType: MEDIA.ociManifest };
    const index = buildIndex([{ digest: big.built.digest, size: 100, mediaType: MEDIA.ociManifest }]);
    const s = await registry({
      manifests: { v1: { bytes: index.bytes, mediaType: index.mediaType }, [big.built.digest]: padded },
      blobs: big.blobs,
    });
    const report = await ociScan(s, "acme/m:v1");
    expect(report.verdict).toBe("invalid");
    expect(report.errors[0]).toMatchObject({ code: "MALFORMED", path: `sha256-${big.built.digest.slice(7)}` });
    expect(report.target.oci?.bytesTransferred ?? 0).toBeLessThan(64 << 10);
  });

  it("a manifest the registry does not have: invalid, named in the errors; the others are still scanned", async () => {
    const clean = artifact([{ bytes: CLEAN, title: "m.pkl" }]);
    const gone = artifact([{ bytes: EVIL, title: "m.pkl" }]);
    const { s } = await indexOf([
      { a: clean, platform: { os: "linux", architecture: "amd64" } },
      { a: gone, platform: { os: "linux", architecture: "arm64" }, missing: true },
    ]);
    const report = await ociScan(s, "acme/m:v1");
    expect(report).toMatchObject({ verdict: "invalid", complete: false });
    expect(report.errors).toContainEqual(expect.objectContaining({ path: "linux-arm64" }));
    expect(report.files.find((f) => f.path === "linux-amd64/m.pkl")?.verdict).toBe("clean");
  });

  it("more manifests, or more manifest bytes, than the budgets: BUDGET_EXCEEDED; an empty index is invalid", async () => {
    const parts = Array.from({ length: 5 }, (_, i) => ({ a: artifact([{ bytes: text(`x${i}`) }]) }));
    const { s } = await indexOf(parts);
    const many = await ociScan(s, "acme/m:v1", { limits: { maxManifests: 4 } });
    expect(many).toMatchObject({ verdict: "invalid", complete: false });
    expect(many.errors[0]).toMatchObject({ code: "BUDGET_EXCEEDED" });
    expect(many.errors[0]?.message).toContain("more than 4 manifests");
    expect(s.log.filter((l) => l.path.includes("/blobs/"))).toHaveLength(0);
    const bytes = parts[0]!.a.built.bytes.length;
    const heavy = await ociScan(s, "acme/m:v1", { limits: { maxManifestTotalBytes: 3 * bytes } });
    expect(heavy.errors[0]).toMatchObject({ code: "BUDGET_EXCEEDED" });
    expect((await ociScan(s, "acme/m:v1")).verdict).toBe("clean");

    const { s: empty } = await indexOf([]);
    const none = await ociScan(empty, "acme/m:v1");
    expect(none.verdict).toBe("invalid");
    expect(none.errors[0]?.message).toContain("lists no manifest");
  });

  it("maxTotalBytes counts the blobs of every manifest together: the blob past it is unreadable, the scan invalid", async () => {
    const one = artifact([{ bytes: new Uint8Array(600).fill(0x20), title: "a.bin" }]);
    const two = artifact([{ bytes: new Uint8Array(600).fill(0x21), title: "b.bin" }]);
    const { s } = await indexOf([
      { a: one, platform: { os: "linux", architecture: "amd64" } },
      { a: two, platform: { os: "linux", architecture: "arm64" } },
    ]);
    const report = await ociScan(s, "acme/m:v1", { limits: { maxTotalBytes: 1000 } });
    expect(report.verdict).toBe("invalid");
    expect(report.errors).toContainEqual(
      expect.objectContaining({ path: "linux-arm64/b.bin", code: "BUDGET_EXCEEDED" }),
    );
  });
});
