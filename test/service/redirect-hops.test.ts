// Redirects of the scan service's remote fetches (review s29): `--allow-remote` checks the target
// a client submits, and every request of the scan, each redirect hop included, must stay where
// the operator allowed. An https:// target may redirect within its own origin or under a prefix;
// an hf:// target may reach its CDN on another host, never localhost or an internal IP literal the
// prefixes do not name. A refused hop is never fetched and is not retried. The worker checks a
// queued target again. Real loopback servers: TLS with a test CA (tls-certs.ts) trusted in this
// process, and the mock Hub.
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ScanReport } from "../../src/report/schema.js";
import { DEFAULT_CAPS, runScanJob } from "../../src/service/job.js";
import { hopCheck, isInternalHost, parseRemotePrefix } from "../../src/service/remote-allow.js";
import { startServer } from "../../src/service/server.js";
import type { ScanJobData } from "../../src/service/types.js";
import { HubTransport } from "../../src/sources/http/transport.js";
import { HttpStandin, type StandinFile, type StandinOptions } from "../helpers/http-standin.js";
import { hasOpenssl, makeTestCerts, type TestCerts } from "../sources/http/tls-certs.js";
import { MockHub } from "../sources/hub/mock-hub.js";

const TOKEN = "test-token-0123456789abcdef";
const text = (s: string) => new TextEncoder().encode(s);
/** A protocol-0 pickle calling os.system: malicious. */
const EVIL = text("cos\nsystem\n(S'echo hi'\ntR.");
const prefixes = (...p: string[]) => p.map(parseRemotePrefix);

describe("internal hosts", () => {
  it("names loopback, link-local, private, shared and unspecified IP literals and localhost", () => {
    for (const h of [
      "127.0.0.1",
      "127.9.9.9",
      "169.254.169.254",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "100.100.100.200",
      "0.0.0.0",
      "localhost",
      "a.localhost",
      "localhost.",
      "[::1]",
      "[::]",
      "[fe80::1]",
      "[fd00::1]",
      "[fc00::5]",
      "[::ffff:7f00:1]",
      "[::ffff:a9fe:a9fe]",
      "[64:ff9b::a9fe:a9fe]",
    ]) {
      expect(isInternalHost(h), h).toBe(true);
    }
    for (const h of ["8.8.8.8", "172.32.0.1", "100.128.0.1", "huggingface.co", "[2606:4700::1]", "[::ffff:808:808]"]) {
      expect(isInternalHost(h), h).toBe(false);
    }
  });

  it("sees every IPv4 spelling URL normalises (decimal, hex, short, mapped IPv6)", () => {
    for (const u of [
      "http://2130706433/",
      "http://0x7f.1/",
      "http://127.1/",
      "http://[::ffff:127.0.0.1]/",
      "http://0/",
    ]) {
      expect(isInternalHost(new URL(u).hostname), u).toBe(true);
    }
  });
});

describe("hopCheck", () => {
  const ok = (check: (u: URL) => string | undefined, u: string) => check(new URL(u)) === undefined;

  it("https:// targets: own origin or under a prefix only", () => {
    const check = hopCheck(
      { target: "https://models.example/pub/m.bin" },
      prefixes("https://models.example/pub", "https://cdn.example/files"),
    );
    expect(ok(check, "https://models.example/elsewhere/m.bin")).toBe(true);
    expect(ok(check, "https://cdn.example/files/x?sig=1")).toBe(true);
    expect(ok(check, "https://cdn.example/other")).toBe(false);
    expect(ok(check, "https://models.example:8443/pub/m.bin")).toBe(false);
    expect(ok(check, "http://models.example/pub/m.bin")).toBe(false);
    expect(ok(check, "https://objects.example/m.bin")).toBe(false);
    expect(ok(check, "https://169.254.169.254/latest/meta-data/")).toBe(false);
  });

  it("hf:// targets: the Hub endpoint and public hosts; internal literals only when a prefix names them", () => {
    const check = hopCheck({ target: "hf://org/m", hubOrigin: "http://10.0.0.5:8080" }, prefixes("hf://"));
    expect(ok(check, "http://10.0.0.5:8080/api/models/org/m")).toBe(true);
    expect(ok(check, "https://cas-bridge.xethub.hf.co/x?sig=1")).toBe(true);
    expect(ok(check, "https://169.254.169.254/latest/meta-data/")).toBe(false);
    expect(ok(check, "http://10.0.0.5:9999/")).toBe(false);
    expect(ok(check, "https://localhost/x")).toBe(false);
    expect(ok(check, "https://[::1]/x")).toBe(false);
    expect(ok(check, "ftp://cdn.example/x")).toBe(false);
    const named = hopCheck({ target: "hf://org/m" }, prefixes("hf://", "https://192.168.1.7/mirror"));
    expect(ok(named, "https://192.168.1.7:4443/blobs/1")).toBe(true);
    expect(ok(named, "https://192.168.1.8/blobs/1")).toBe(false);
  });

  it("oci:// targets: the registry host and public hosts, no internal literals", () => {
    const check = hopCheck({ target: "oci://127.0.0.1:5000/team/m:1" }, prefixes("oci://127.0.0.1:5000/team"));
    expect(ok(check, "http://127.0.0.1:5000/v2/")).toBe(true);
    expect(ok(check, "https://auth.registry.example/token")).toBe(true);
    expect(ok(check, "http://127.0.0.1:5001/token")).toBe(false);
    expect(ok(check, "http://169.254.169.254/latest/meta-data/")).toBe(false);
  });
});

let certs: TestCerts | undefined;
const servers: HttpStandin[] = [];
let hub: MockHub | undefined;
beforeAll(async () => {
  if (hasOpenssl) certs = await makeTestCerts();
}, 60_000);
afterAll(async () => {
  if (certs !== undefined) await rm(certs.dir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await hub?.close();
  hub = undefined;
});
async function serve(files: Record<string, StandinFile>, options: StandinOptions = {}): Promise<HttpStandin> {
  const s = await HttpStandin.start(files, options);
  servers.push(s);
  return s;
}

describe.skipIf(!hasOpenssl)("serve (in-process): https:// redirects over real TLS", () => {
  let original: string[] = [];
  let dir: string;
  beforeAll(() => {
    original = tls.getCACertificates("default");
    tls.setDefaultCACertificates([...original, certs!.ca]);
    dir = mkdtempSync(join(tmpdir(), "mg-hops-"));
    writeFileSync(join(dir, "token"), `${TOKEN}\n`, { mode: 0o600 });
    chmodSync(join(dir, "token"), 0o600);
  });
  afterAll(() => {
    tls.setDefaultCACertificates(original);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `serve --allow-remote ...`, submits one target and returns its finished job. */
  async function scanThroughServe(allowRemote: string[], target: string): Promise<Record<string, unknown>> {
    const server = await startServer({ port: 0, tokenFile: join(dir, "token"), roots: [], allowRemote, env: {} });
    try {
      const api = (path: string, init: RequestInit = {}) =>
        fetch(`${server.url}${path}`, {
          ...init,
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
          signal: AbortSignal.timeout(10_000),
        });
      const res = await api("/v1/scans", { method: "POST", body: JSON.stringify({ target }) });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      const deadline = Date.now() + 15_000;
      for (;;) {
        const body = (await (await api(`/v1/scans/${id}`)).json()) as Record<string, unknown>;
        if (body.state === "completed" || body.state === "failed") return body;
        if (Date.now() > deadline) throw new Error(`job not done: ${JSON.stringify(body)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await server.close();
    }
  }

  it("a redirect from an allowed prefix to another origin is refused: the other server never sees a request", async () => {
    const inner = await serve({ "/latest/meta-data/iam": { content: EVIL } }, { tls: certs!.good });
    const outer = await serve(
      { "/pub/model.bin": { content: EVIL, fault: { kind: "redirect", to: inner.url("/latest/meta-data/iam") } } },
      { tls: certs!.good },
    );
    const done = await scanThroughServe([outer.url("/pub")], outer.url("/pub/model.bin"));
    expect(done.state).toBe("completed");
    const report = done.report as ScanReport;
    expect(report.verdict).toBe("invalid");
    expect(report.complete).toBe(false);
    const errors = report.errors.map((e) => `${e.code} ${e.message}`).join("\n");
    expect(errors).toMatch(
      /redirect from https:\/\/127\.0\.0\.1:\d+\/pub\/model\.bin to https:\/\/127\.0\.0\.1:\d+\/.* refused/,
    );
    expect(errors).toMatch(/--allow-remote/);
    // Not a transient NETWORK error: the job is not retried.
    expect(report.errors.some((e) => e.code === "NETWORK")).toBe(false);
    expect(inner.log).toHaveLength(0);
    expect(JSON.stringify(report)).not.toContain(createHash("sha256").update(EVIL).digest("hex"));
  });

  it("a redirect within the target's origin, or to an origin a prefix names, is followed", async () => {
    const cdn = await serve({ "/files/blob": { content: EVIL } }, { tls: certs!.good, host: "localhost" });
    const origin = await serve(
      {
        "/pub/moved.bin": { content: EVIL, fault: { kind: "redirect", to: "/store/model.pkl" } },
        "/store/model.pkl": { content: EVIL },
        "/pub/cdn.bin": { content: EVIL, fault: { kind: "redirect", to: cdn.url("/files/blob") } },
      },
      { tls: certs!.good },
    );
    for (const path of ["/pub/moved.bin", "/pub/cdn.bin"]) {
      const done = await scanThroughServe([origin.url("/pub"), cdn.url("/files")], origin.url(path));
      const report = done.report as ScanReport;
      expect(report.errors, path).toEqual([]);
      expect(report.verdict, path).toBe("malicious");
    }
    expect(cdn.log.length).toBeGreaterThan(0);
  });
});

describe("the worker's own checks (runScanJob)", () => {
  const job = (target: string): ScanJobData => ({
    target,
    kind: "remote",
    policyHash: "x",
    options: { verify: "read", hash: true, timeoutMs: 10_000, concurrency: 2 },
    submittedAt: Date.now(),
  });

  it("a queued target outside the worker's prefixes is refused before any request", async () => {
    const s = await serve({ "/m.bin": { content: EVIL } });
    const target = s.url("/m.bin").replace(/^http:/, "https:");
    for (const remotePrefixes of [undefined, prefixes("hf://", "https://models.example/")]) {
      const report = await runScanJob(job(target), {
        roots: [],
        env: {},
        caps: DEFAULT_CAPS,
        willRetry: true,
        ...(remotePrefixes === undefined ? {} : { remotePrefixes }),
      });
      expect(report.verdict).toBe("invalid");
      expect(report.errors.map((e) => e.message).join("\n")).toMatch(/fetches only hf:\/\/.*worker --allow-remote/);
    }
    expect(s.log).toHaveLength(0);
  });

  async function hubJob(h: MockHub, hubTransport?: HubTransport): Promise<ScanReport> {
    await h.addRepo({
      name: "acme/tiny",
      refs: { main: "a".repeat(40) },
      commits: { ["a".repeat(40)]: [{ path: "w.pkl", content: EVIL, lfs: true }] },
    });
    return runScanJob(job("hf://acme/tiny"), {
      roots: [],
      env: { HF_ENDPOINT: h.url },
      caps: DEFAULT_CAPS,
      willRetry: true,
      remotePrefixes: prefixes("hf://"),
      ...(hubTransport === undefined ? {} : { hubTransport }),
    });
  }

  it("hf://: the Hub's redirect to its CDN on another host is followed (shared transport)", async () => {
    hub = await MockHub.start([]);
    // The CDN under a host name (not an internal literal); this fetch resolves it to the loopback stand-in.
    const port = new URL(hub.cdnUrl).port;
    hub.cdnUrl = `http://cdn.hub.test:${port}`;
    const fetchVia: typeof fetch = (input, init) =>
      fetch(String(input).replace(`//cdn.hub.test:${port}/`, `//127.0.0.1:${port}/`), init);
    const report = await hubJob(hub, new HubTransport({ fetch: fetchVia, retries: 0 }));
    expect(report.errors).toEqual([]);
    expect(report.verdict).toBe("malicious");
    expect(hub.log.some((e) => e.server === "cdn")).toBe(true);
  });

  it("hf://: a redirect to an internal IP literal (the CDN at 127.0.0.1) is refused, not retried", async () => {
    hub = await MockHub.start([]);
    const report = await hubJob(hub);
    expect(report.verdict).toBe("invalid");
    const errors = report.errors.map((e) => `${e.code} ${e.message}`).join("\n");
    expect(errors).toMatch(
      /redirect from .* to http:\/\/127\.0\.0\.1:\d+\/cdn\/[0-9a-f]+ refused: an internal address/,
    );
    expect(report.errors.some((e) => e.code === "NETWORK")).toBe(false);
    expect(hub.log.filter((e) => e.server === "cdn")).toHaveLength(0);
  });

  it("oci://: a token service realm at an internal address the prefixes do not name is never asked", async () => {
    const hits: string[] = [];
    const listen = async (handler: (path: string) => [number, Record<string, string>]): Promise<Server> => {
      const server = createServer((req, res) => {
        hits.push(`${(server.address() as AddressInfo).port}${req.url}`);
        const [status, headers] = handler(req.url ?? "/");
        res.writeHead(status, headers).end();
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      return server;
    };
    const realm = await listen(() => [200, { "content-type": "application/json" }]);
    const realmPort = (realm.address() as AddressInfo).port;
    const registry = await listen(() => [
      401,
      { "www-authenticate": `Bearer realm="http://127.0.0.1:${realmPort}/token",service="r"` },
    ]);
    const port = (registry.address() as AddressInfo).port;
    try {
      const report = await runScanJob(job(`oci://127.0.0.1:${port}/team/m:1`), {
        roots: [],
        env: {},
        caps: DEFAULT_CAPS,
        willRetry: true,
        remotePrefixes: prefixes(`oci://127.0.0.1:${port}/team`),
      });
      expect(report.verdict).toBe("invalid");
      expect(report.errors.map((e) => e.message).join("\n")).toMatch(
        new RegExp(`request to http://127\\.0\\.0\\.1:${realmPort}/token.* refused: an internal address`),
      );
      expect(report.errors.some((e) => e.code === "NETWORK")).toBe(false);
      expect(hits.some((h) => h.startsWith(`${realmPort}/`))).toBe(false);
      expect(hits.some((h) => h.startsWith(`${port}/v2/`))).toBe(true);
    } finally {
      for (const server of [realm, registry]) {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      }
    }
  });
});
