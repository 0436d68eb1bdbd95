// Hostile signature files and trust inputs: verification always ends in a typed result or a
// typed error, never a crash; the TUF refresh is explicit and reports network failure.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isModelgateError } from "../../src/core/errors.js";
import { classifySignatureFile, parseBundle } from "../../src/integrity/oms/bundle.js";
import { parseStatement } from "../../src/integrity/oms/statement.js";
import { refreshTrustedRoot, trustedRootFromJSON } from "../../src/integrity/oms/trusted-root.js";
import { verifyModel } from "../../src/integrity/oms/verify.js";

const S = fileURLToPath(new URL("../../samples/integrity/", import.meta.url));
const bundleText = readFileSync(join(S, "signatures/key-p256.sig"), "utf8");
const publicKey = readFileSync(join(S, "keys/p256.pub.pem"), "utf8");

function mutate(text: string, edits: [number, number][]): string {
  const chars = [...text];
  for (const [pos, code] of edits) chars[pos % chars.length] = String.fromCharCode(code);
  return chars.join("");
}

describe("hostile signatures", () => {
  it("byte edits of a valid bundle yield a failed result or a typed error, never a crash", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 32, max: 126 })), { minLength: 1, maxLength: 4 }),
        async (edits) => {
          const text = mutate(bundleText, edits);
          try {
            const r = await verifyModel(join(S, "model"), {
              signature: text,
              publicKey,
              signaturePath: "/nonexistent.sig",
            });
            expect(["verified", "failed"]).toContain(r.status);
            if (r.status === "failed") expect(r.failedStage).toBeDefined();
          } catch (error) {
            expect(isModelgateError(error)).toBe(true);
          }
        },
      ),
      { seed: 42, numRuns: 150 },
    );
  });

  it("statement parsing rejects arbitrary JSON with typed errors only", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        try {
          parseStatement("application/vnd.in-toto+json", Buffer.from(JSON.stringify(value)));
        } catch (error) {
          expect(isModelgateError(error)).toBe(true);
        }
        try {
          parseBundle(JSON.stringify(value));
        } catch (error) {
          expect(isModelgateError(error)).toBe(true);
        }
        classifySignatureFile(Buffer.from(JSON.stringify(value)));
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it("refuses oversized inputs and bad shard names", () => {
    expect(() => parseBundle(" ".repeat(64 * 1024 * 1024 + 1))).toThrow(/larger than/);
    const statement = (name: string) => ({
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: "m", digest: { sha256: "0".repeat(64) } }],
      predicateType: "https://model_signing/signature/v1.0",
      predicate: {
        serialization: { method: "shards", hash_type: "sha256", allow_symlinks: false, shard_size: 10 },
        resources: [{ name, digest: "0".repeat(64), algorithm: "sha256" }],
      },
    });
    for (const name of ["a:0", "a:x:10", "a:10:5", "a:0:99999999999999999999", "a:5:15", "../a:0:10", ":0:10"]) {
      expect(
        () => parseStatement("application/vnd.in-toto+json", Buffer.from(JSON.stringify(statement(name)))),
        name,
      ).toThrow();
    }
  });

  it("rejects trust roots that are not TrustedRoot documents", () => {
    for (const bad of [null, {}, { mediaType: "application/json" }, []]) {
      expect(() => trustedRootFromJSON(bad)).toThrow(/TrustedRoot/);
    }
  });

  it("the TUF refresh is explicit and reports network failures as NETWORK", async () => {
    // A loopback port that accepts and drops connections.
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const cache = mkdtempSync(join(tmpdir(), "mg-tuf-"));
    try {
      await expect(
        refreshTrustedRoot({
          mirrorURL: `http://127.0.0.1:${port}`,
          cachePath: cache,
          timeout: 2000,
        }),
      ).rejects.toMatchObject({ code: "NETWORK" });
    } finally {
      server.close();
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
