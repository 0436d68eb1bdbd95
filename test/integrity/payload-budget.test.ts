// DSSE payloads and bundles are parsed under budgets (depth, parsed size) and with repeated keys
// refused, wherever they are parsed: the statement (reached without trust in a scan), the bundle,
// and the legacy-encoding attempt, which must not parse an unverified payload at all.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it, vi } from "vitest";
import { OmsError, parseBundle } from "../../src/integrity/oms/bundle.js";
import { signModel } from "../../src/integrity/oms/sign.js";
import { PREDICATE_TYPE_LEGACY, parseStatement } from "../../src/integrity/oms/statement.js";
import { verifyModel } from "../../src/integrity/oms/verify.js";

const S = fileURLToPath(new URL("../../samples/integrity/", import.meta.url));
const text = (p: string) => readFileSync(join(S, p), "utf8");
const tmp = mkdtempSync(join(tmpdir(), "mg-payload-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const TYPE = "application/vnd.in-toto+json";

let n = 0;
async function signed(): Promise<{ dir: string; bundle: Record<string, unknown> }> {
  const dir = join(tmp, `m${n++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "bert" }));
  const { bundle } = await signModel(dir, { privateKey: text("keys/p256.key.pem"), write: false });
  return { dir, bundle };
}
/** The bundle with another payload (its signature no longer matches). */
function withPayload(bundle: Record<string, unknown>, payload: string): Record<string, unknown> {
  const copy = structuredClone(bundle) as { dsseEnvelope: { payload: string } };
  copy.dsseEnvelope.payload = Buffer.from(payload).toString("base64");
  return copy as unknown as Record<string, unknown>;
}
const statementError = (payload: string): string => {
  try {
    parseStatement(TYPE, Buffer.from(payload));
  } catch (error) {
    return (error as Error).message;
  }
  return "accepted";
};

describe("statement budgets", () => {
  it("refuses a payload nested deeper than the budget", () => {
    const deep = `{"_type":"https://in-toto.io/Statement/v1","x":${"[".repeat(40)}${"]".repeat(40)}}`;
    expect(statementError(deep)).toMatch(/within the budgets/);
  });

  it("refuses a payload whose parsed tree exceeds the budget, quickly", () => {
    // 16 MB of empty objects: about 300 MB once parsed by JSON.parse
    const wide = `{"_type":"https://in-toto.io/Statement/v1","x":[${"{},".repeat(5_500_000)}{}]}`;
    const started = performance.now();
    expect(statementError(wide)).toMatch(/within the budgets/);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("refuses repeated keys in the statement", () => {
    const payload = `{"_type":"https://in-toto.io/Statement/v1","predicateType":"x","predicateType":"${PREDICATE_TYPE_LEGACY}","subject":[]}`;
    expect(statementError(payload)).toMatch(/repeats a JSON key/);
  });

  it("refuses repeated keys in the bundle", async () => {
    const { bundle } = await signed();
    const json = JSON.stringify(bundle);
    const doubled = json.replace('"mediaType":', '"mediaType":"x","mediaType":');
    expect(() => parseBundle(doubled)).toThrow(OmsError);
    expect(() => parseBundle(doubled)).toThrow(/repeats a JSON key/);
  });

  it("a scan without trust material reports an oversized unverified payload as a parse budget failure", async () => {
    const { dir, bundle } = await signed();
    const deep = `{"_type":"https://in-toto.io/Statement/v1","predicateType":"${PREDICATE_TYPE_LEGACY}","x":${"[".repeat(40)}${"]".repeat(40)}}`;
    const r = await verifyModel(dir, {
      signature: withPayload(bundle, deep),
      signaturePath: join(dir, "model.sig"),
      requireTrust: false,
    });
    expect(r.status).toBe("failed");
    expect(r.failedStage).toBe("statement");
    expect(r.errors[0]).toMatch(/within the budgets/);
  });
});

describe("the legacy DSSE encoding attempt", () => {
  it("never parses an unverified payload", async () => {
    const { dir, bundle } = await signed();
    // a forged payload naming the legacy predicate, signed by nobody: the key check fails
    const payload = JSON.stringify({ predicateType: PREDICATE_TYPE_LEGACY, pad: "x".repeat(2_000_000) });
    const parse = vi.spyOn(JSON, "parse");
    try {
      const r = await verifyModel(dir, {
        signature: withPayload(bundle, payload),
        signaturePath: join(dir, "model.sig"),
        publicKey: text("keys/p256.pub.pem"),
      });
      expect(r.failedStage).toBe("signature");
      const big = parse.mock.calls.filter(([arg]) => typeof arg === "string" && arg.length > 1_000_000);
      expect(big).toEqual([]);
    } finally {
      parse.mockRestore();
    }
  });

  it("still verifies a valid signature", async () => {
    const { dir, bundle } = await signed();
    const r = await verifyModel(dir, {
      signature: bundle,
      signaturePath: join(dir, "model.sig"),
      publicKey: text("keys/p256.pub.pem"),
    });
    expect(r.errors).toEqual([]);
    expect(r.status).toBe("verified");
  });
});
