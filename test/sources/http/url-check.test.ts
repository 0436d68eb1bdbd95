// The transport's URL check (`allowUrl`): consulted before the first request and every redirect
// hop; a refused URL is never fetched, the error is `IO` and not retried. `withUrlCheck` adds a
// check to a shared transport without leaving its connection budget.
import { afterEach, describe, expect, it } from "vitest";
import { isModelgateError } from "../../../src/core/errors.js";
import { HubTransport, type RequestContext } from "../../../src/sources/http/transport.js";
import { HttpStandin, type StandinFile } from "../../helpers/http-standin.js";

const servers: HttpStandin[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function serve(files: Record<string, StandinFile>): Promise<HttpStandin> {
  const s = await HttpStandin.start(files);
  servers.push(s);
  return s;
}
const ctx = (origin: string): RequestContext => ({
  origin,
  signal: AbortSignal.timeout(10_000),
  stats: { requests: 0, bytes: 0 },
});
const body = (t: HubTransport, url: string, c: RequestContext) =>
  t.send({ url }, c, async ({ response }) => new Uint8Array(await response.arrayBuffer()));
const onlyOrigin =
  (origin: string) =>
  (url: URL): string | undefined =>
    url.origin === origin ? undefined : "not the origin";

describe("HubTransport allowUrl", () => {
  it("refuses a redirect hop to another origin before sending it; IO, not retried", async () => {
    const other = await serve({ "/secret": { content: new Uint8Array([1, 2, 3]) } });
    const s = await serve({
      "/m": { content: new Uint8Array([9]), fault: { kind: "redirect", to: other.url("/secret") } },
    });
    const t = new HubTransport({ allowUrl: onlyOrigin(s.origin), retries: 3, retryBaseMs: 1 });
    const c = ctx(s.origin);
    const error = await body(t, s.url("/m"), c).catch((e: unknown) => e);
    expect(isModelgateError(error, "IO")).toBe(true);
    expect((error as Error).message).toMatch(
      /^redirect from http:\/\/127\.0\.0\.1:\d+\/m to http:\/\/127\.0\.0\.1:\d+\/secret refused: not the origin$/,
    );
    expect(other.log).toHaveLength(0);
    expect(s.log).toHaveLength(1);
    expect(c.stats.requests).toBe(1);
  });

  it("refuses the first request too, and follows same-origin redirects", async () => {
    const s = await serve({
      "/a": { content: new Uint8Array([1]), fault: { kind: "redirect", to: "/b" } },
      "/b": { content: new Uint8Array([7, 7]) },
    });
    const t = new HubTransport({ allowUrl: onlyOrigin(s.origin) });
    expect(await body(t, s.url("/a"), ctx(s.origin))).toEqual(new Uint8Array([7, 7]));
    const refused = new HubTransport({ allowUrl: () => "closed" });
    await expect(body(refused, s.url("/b"), ctx(s.origin))).rejects.toThrow(/^request to .*\/b refused: closed$/);
    expect(s.log.map((r) => r.path)).toEqual(["/a", "/b"]);
  });

  it("withUrlCheck: both checks apply, and the view shares the parent's connection budget", async () => {
    const s = await serve({ "/x": { content: new Uint8Array([5]) } });
    const parent = new HubTransport({
      maxConnections: 1,
      allowUrl: (u) => (u.pathname === "/y" ? "parent" : undefined),
    });
    const view = parent.withUrlCheck((u) => (u.pathname === "/z" ? "view" : undefined));
    await expect(body(view, s.url("/y"), ctx(s.origin))).rejects.toThrow(/refused: parent$/);
    await expect(body(view, s.url("/z"), ctx(s.origin))).rejects.toThrow(/refused: view$/);
    await expect(body(parent, s.url("/z"), ctx(s.origin))).resolves.toBeDefined();
    // The parent holds its only connection: the view's request waits for it.
    let release!: () => void;
    const held = parent.send({ url: s.url("/x") }, ctx(s.origin), () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 50));
    let viewDone = false;
    const viewed = body(view, s.url("/x"), ctx(s.origin)).then(() => (viewDone = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(viewDone).toBe(false);
    release();
    await held;
    await viewed;
    expect(viewDone).toBe(true);
  });
});
