// `https://` targets over real TLS (issue 16): the stand-in serves certificates made at test time
// with openssl (tls-certs.ts). A private CA is trusted through NODE_EXTRA_CA_CERTS (Node's own
// setting, read at start-up: a child CLI process here); a certificate that is not trusted,
// expired or for another host name is a typed error, an `invalid` file, and nothing sent or
// cached. Redirects never downgrade to plain HTTP, and credentials never follow a redirect to
// another origin.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ScanReport } from "../../../src/report/schema.js";
import { MemoryVerdictCache } from "../../../src/scan/cache.js";
import { scan } from "../../../src/scan/engine.js";
import type { ScanOptions } from "../../../src/scan/types.js";
import type { HttpTarget } from "../../../src/sources/http/root.js";
import { SOURCE_CLI } from "../../helpers/cli.js";
import { HttpStandin, type StandinFile, type StandinOptions } from "../../helpers/http-standin.js";
import { hasOpenssl, makeTestCerts, type TestCerts } from "./tls-certs.js";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const text = (s: string) => new TextEncoder().encode(s);
const FAST = { retryBaseMs: 1, maxRetryDelayMs: 20, retries: 2 };
/** A protocol-0 pickle calling os.system: malicious. */
const EVIL = text("cos\nsystem\n(S'echo hi'\ntR.");
/** A protocol-2 pickle of an empty dict: clean. */
const CLEAN = new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]);

let certs: TestCerts;
const servers: HttpStandin[] = [];
beforeAll(async () => {
  if (hasOpenssl) certs = await makeTestCerts();
}, 60_000);
afterAll(async () => {
  if (certs !== undefined) await rm(certs.dir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function serve(files: Record<string, StandinFile>, options: StandinOptions = {}): Promise<HttpStandin> {
  const s = await HttpStandin.start(files, options);
  servers.push(s);
  return s;
}
function scanUrl(url: string, target: Partial<HttpTarget> = {}, options: ScanOptions = {}): Promise<ScanReport> {
  return scan({ url: { url, env: {}, transport: FAST, ...target } }, options);
}

/** The typed, invalid, incomplete outcome of a refused connection; nothing cached. */
function expectRefused(report: ScanReport, cache: MemoryVerdictCache, message: RegExp) {
  expect(report.verdict).toBe("invalid");
  expect(report.complete).toBe(false);
  expect(report.files[0]?.verdict).toBe("invalid");
  expect(report.errors.map((e) => `${e.code} ${e.message}`).join("\n")).toMatch(message);
  expect(report.errors.every((e) => e.code === "NETWORK")).toBe(true);
  expect(cache.size).toBe(0);
}

describe.skipIf(!hasOpenssl)("https:// with a certificate this process does not trust", () => {
  for (const which of ["selfSigned", "good"] as const) {
    it(`${which === "good" ? "a private CA's leaf (CA not trusted)" : "a self-signed leaf"}: typed error, invalid, no request or credential sent, nothing cached`, async () => {
      const s = await serve({ "/m.pkl": { content: CLEAN } }, { tls: certs[which] });
      const cache = new MemoryVerdictCache();
      const env = { MODELGATE_HTTP_HEADERS: `${s.origin}=Authorization: Bearer s3cret` };
      const t0 = Date.now();
      const report = await scanUrl(`${s.url("/m.pkl")}#sha256=${sha256(CLEAN)}`, { env }, { cache });
      expectRefused(
        report,
        cache,
        which === "good"
          ? /TLS certificate rejected \(UNABLE_TO_VERIFY_LEAF_SIGNATURE/
          : /TLS certificate rejected \(DEPTH_ZERO_SELF_SIGNED_CERT/,
      );
      expect(report.errors[0]?.message).toMatch(/NODE_EXTRA_CA_CERTS/);
      // The handshake failed: no HTTP request (and no header) ever reached the server; not retried.
      expect(s.log).toHaveLength(0);
      expect(report.target.http?.requests).toBe(1);
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(JSON.stringify(report)).not.toMatch(/s3cret/);
    });
  }
});

describe.skipIf(!hasOpenssl)("https:// from the CLI with NODE_EXTRA_CA_CERTS naming a private CA", () => {
  /** Runs `modelgate scan` from the sources in a child process (async: the stand-ins live in this one). */
  function cli(args: string[], env: Record<string, string>): Promise<{ status: number; out: string; err: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [...SOURCE_CLI, "scan", ...args],
        { env: { PATH: process.env.PATH ?? "", HOME: tmpdir(), ...env }, encoding: "utf8", timeout: 90_000 },
        (error, out, err) => resolve({ status: error === null ? 0 : Number(error.code ?? 1), out, err }),
      );
    });
  }

  it("a trusted leaf is scanned and verified (and cached); expired or wrong-host leaves are invalid and never cached", {
    timeout: 120_000,
  }, async () => {
    const files = { "/evil.pkl": { content: EVIL }, "/clean.pkl": { content: CLEAN } };
    const good = await serve(files, { tls: certs.good });
    const expired = await serve(files, { tls: certs.expired });
    const wrongHost = await serve(files, { tls: certs.wrongHost });
    const cacheDir = await mkdtemp(join(tmpdir(), "mg-tls-cache-"));
    try {
      const pin = `#sha256=${sha256(CLEAN)}`;
      const targets = [good, expired, wrongHost].map((s) => `${s.url("/clean.pkl")}${pin}`);
      const r = await cli([...targets, "--format", "json", "--verify", "full", "--cache-dir", cacheDir], {
        NODE_EXTRA_CA_CERTS: certs.caFile,
      });
      expect(r.err).not.toMatch(/Error: |at .*\.ts:\d+/);
      const reports = JSON.parse(r.out) as ScanReport | ScanReport[] | { reports: ScanReport[] };
      const list: ScanReport[] = Array.isArray(reports)
        ? reports
        : "reports" in reports
          ? reports.reports
          : [reports as ScanReport];
      const byUrl = (s: HttpStandin) => list.find((x) => x.target.http?.url === s.url("/clean.pkl"))!;
      expect(byUrl(good).errors).toEqual([]);
      expect(byUrl(good)).toMatchObject({ verdict: "clean", complete: true });
      expect(byUrl(good).files[0]?.integrity).toMatchObject({ status: "verified", actual: sha256(CLEAN) });
      expect(good.log.length).toBeGreaterThan(0);
      for (const [s, reason] of [
        [expired, /CERT_HAS_EXPIRED/],
        [wrongHost, /ERR_TLS_CERT_ALTNAME_INVALID/],
      ] as const) {
        const report = byUrl(s);
        expect(report).toMatchObject({ verdict: "invalid", complete: false });
        expect(report.files[0]?.verdict).toBe("invalid");
        expect(report.errors.map((e) => e.message).join("\n")).toMatch(reason);
        expect(s.log).toHaveLength(0);
      }
      expect(r.status).not.toBe(0);
      // Only the verified clean file is in the verdict cache.
      const cached = await readdir(cacheDir, { recursive: true });
      expect(cached.filter((f) => f.endsWith(".json"))).toHaveLength(1);

      // Without NODE_EXTRA_CA_CERTS the same good server is not trusted.
      const untrusted = await cli([targets[0]!, "--format", "json"], {});
      expect(JSON.parse(untrusted.out)).toMatchObject({ verdict: "invalid" });
      expect(untrusted.out).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!hasOpenssl)("https:// redirects (the private CA trusted in this process)", () => {
  let original: string[] = [];
  beforeAll(() => {
    original = tls.getCACertificates("default");
    tls.setDefaultCACertificates([...original, certs.ca]);
  });
  afterAll(() => {
    tls.setDefaultCACertificates(original);
  });

  it("a trusted server is read and verified", async () => {
    const s = await serve({ "/evil.pkl": { content: EVIL } }, { tls: certs.good });
    const report = await scanUrl(`${s.url("/evil.pkl")}#sha256=${sha256(EVIL)}`);
    expect(report.files[0]).toMatchObject({ verdict: "malicious", integrity: { status: "verified" } });
    expect(report.target.http?.url.startsWith("https://127.0.0.1:")).toBe(true);
  });

  it("a redirect from https:// to http:// is refused, even with allowHttp; nothing reaches the http server", async () => {
    const plain = await serve({ "/blob": { content: CLEAN } });
    const s = await serve(
      { "/m.pkl": { content: CLEAN, fault: { kind: "redirect", to: plain.url("/blob") } } },
      { tls: certs.good },
    );
    const env = { MODELGATE_HTTP_HEADERS: `${s.origin}=Authorization: Bearer s3cret` };
    for (const allowHttp of [false, true]) {
      const cache = new MemoryVerdictCache();
      const report = await scanUrl(`${s.url("/m.pkl")}#sha256=${sha256(CLEAN)}`, { env, allowHttp }, { cache });
      expectRefused(report, cache, /redirect from HTTPS to plain HTTP refused/);
    }
    expect(plain.log).toHaveLength(0);
    expect(s.log.every((r) => r.headers.authorization === "Bearer s3cret")).toBe(true);
  });

  it("credentials are not sent to another host after an https -> https redirect", async () => {
    // Same certificate, another origin: https://localhost:PORT2.
    const cdn = await serve({ "/blob": { content: EVIL } }, { tls: certs.good, host: "localhost" });
    const s = await serve(
      { "/evil.pkl": { content: EVIL, fault: { kind: "redirect", to: cdn.url("/blob") } } },
      { tls: certs.good },
    );
    const env = {
      MODELGATE_HTTP_HEADERS: `${s.origin}=Authorization: Bearer s3cret\n${s.origin}=X-Api-Key: k3y`,
    };
    const report = await scanUrl(`https://user:pw@${s.url("/evil.pkl").slice(8)}#sha256=${sha256(EVIL)}`, {
      env,
      headers: { "X-Extra": "x3" },
    });
    expect(report.files[0]).toMatchObject({ verdict: "malicious", integrity: { status: "verified" } });
    expect(s.log[0]?.headers["x-api-key"]).toBe("k3y");
    expect(s.log[0]?.headers.authorization).toMatch(/^(Bearer s3cret|Basic )/);
    expect(cdn.log.length).toBeGreaterThan(0);
    for (const r of cdn.log) {
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers["x-api-key"]).toBeUndefined();
      expect(r.headers["x-extra"]).toBeUndefined();
    }
    expect(JSON.stringify(report)).not.toMatch(/s3cret|k3y|x3|user:pw/);
  });
});
