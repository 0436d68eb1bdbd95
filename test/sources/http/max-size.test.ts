// `--max-size` and `--exclude` stop an HTTP download: a server that ignores Range answers the probe
// with the whole body, which the URL root abandons (by Content-Length, or once more bytes than the
// limit arrived) when the scan would not analyse the file; the file is then `scan/too-large` (or
// skipped) without being downloaded. Loopback stand-ins only.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { ScanReport } from "../../../src/report/schema.js";
import { scan } from "../../../src/scan/engine.js";
import type { ScanOptions } from "../../../src/scan/types.js";
import { HttpStandin } from "../../helpers/http-standin.js";

const FAST = { retryBaseMs: 1, maxRetryDelayMs: 20, retries: 1 };
const text = (s: string) => new TextEncoder().encode(s);

/** A valid safetensors file: a small header, then `dataSize` zero bytes. */
function safetensors(dataSize: number): Uint8Array {
  let header = JSON.stringify({ w: { dtype: "F32", shape: [dataSize / 4], data_offsets: [0, dataSize] } });
  header += " ".repeat((8 - (header.length % 8)) % 8);
  const out = new Uint8Array(8 + header.length + dataSize);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(text(header), 8);
  return out;
}
const BIG = safetensors(8 << 20);
const LIMIT = 1 << 20;

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function scanUrl(url: string, options: ScanOptions): Promise<ScanReport> {
  return scan({ url: { url, allowHttp: true, env: {}, transport: FAST } }, options);
}
const transferred = (report: ScanReport) => report.target.http?.bytesTransferred ?? Number.NaN;

/** A server that ignores Range and streams `size` bytes, with or without a Content-Length. */
async function noRangeServer(size: number, contentLength: boolean): Promise<{ url: string; sent: () => number }> {
  let sent = 0;
  const chunk = new Uint8Array(64 << 10);
  const server = createServer((_req, res) => {
    res.writeHead(200, contentLength ? { "content-length": size } : {});
    let at = 0;
    const pump = (): void => {
      while (at < size && !res.destroyed) {
        at += chunk.length;
        sent += chunk.length;
        if (!res.write(chunk)) {
          res.once("drain", pump);
          return;
        }
      }
      res.end();
    };
    res.on("close", () => {
      at = size;
    });
    pump();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/big.bin`, sent: () => sent };
}

describe("an HTTP server that ignores Range", () => {
  it("a body over --max-size (by Content-Length) is not downloaded: scan/too-large", async () => {
    const s = await HttpStandin.start({ "/model.safetensors": { content: BIG, fault: { kind: "ignore-range" } } });
    closers.push(() => s.close());
    const report = await scanUrl(s.url("/model.safetensors"), { limits: { maxFileBytes: LIMIT } });
    const file = report.files[0];
    expect(file?.findings.map((f) => f.ruleId)).toEqual(["scan/too-large"]);
    expect(file?.size).toBe(BIG.length);
    expect(transferred(report)).toBeLessThan(LIMIT);
    expect(report.complete).toBe(true);
  });

  it("a body without Content-Length is abandoned once more than --max-size arrived", async () => {
    const server = await noRangeServer(64 << 20, false);
    const report = await scanUrl(server.url, { limits: { maxFileBytes: LIMIT } });
    const file = report.files[0];
    expect(file?.findings.map((f) => f.ruleId)).toEqual(["scan/too-large"]);
    expect(file?.size ?? 0).toBeGreaterThan(LIMIT);
    expect(transferred(report)).toBeLessThan(2 * LIMIT);
    expect(server.sent()).toBeLessThan(32 << 20);
  });

  it("an excluded file is listed but not downloaded", async () => {
    const s = await HttpStandin.start({ "/model.safetensors": { content: BIG, fault: { kind: "ignore-range" } } });
    closers.push(() => s.close());
    const report = await scanUrl(s.url("/model.safetensors"), { exclude: ["*.safetensors"] });
    expect(report.skipped).toEqual([{ path: "model.safetensors", reason: "excluded", size: BIG.length }]);
    expect(transferred(report)).toBeLessThan(LIMIT);
  });

  it("control: a body within the limit is downloaded and analysed", async () => {
    const s = await HttpStandin.start({ "/model.safetensors": { content: BIG, fault: { kind: "ignore-range" } } });
    closers.push(() => s.close());
    const report = await scanUrl(s.url("/model.safetensors"), { limits: { maxFileBytes: 2 * BIG.length } });
    expect(report.verdict).toBe("clean");
    expect(report.files[0]?.sha256).toBeDefined();
    expect(transferred(report)).toBe(BIG.length);
  });

  it("a range-capable server is still only probed for a file over the limit", async () => {
    const s = await HttpStandin.start({ "/model.safetensors": { content: BIG } });
    closers.push(() => s.close());
    const report = await scanUrl(s.url("/model.safetensors"), { limits: { maxFileBytes: LIMIT } });
    expect(report.files[0]?.findings.map((f) => f.ruleId)).toEqual(["scan/too-large"]);
    expect(transferred(report)).toBeLessThanOrEqual(64 << 10);
  });
});
