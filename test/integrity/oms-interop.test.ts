// Interop: every case of the shared real-world OMS fixtures (signatures made by the reference
// implementation and the spec's test vectors). Runs when the fixtures folder exists.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { emptyTrustedRoot } from "../../src/integrity/oms/trusted-root.js";
import { type VerifyOptions, verifyModel } from "../../src/integrity/oms/verify.js";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const fixtures = process.env.MODELGATE_OMS_FIXTURES ?? resolve(repoRoot, "..", "shared", "fixtures", "oms");
const present = existsSync(join(fixtures, "cases.json"));

interface Case {
  id: string;
  signature: string;
  model?: string;
  method?: string;
  trust?: { trustedRoot?: string | null; publicKey?: string; caCerts?: string[] };
  policy?: { identity: string; issuer: string };
  options?: { ignorePaths?: string[] };
  expect: "pass" | "fail";
  failStage?: string;
  requires?: string[];
}

const cases: Case[] = present
  ? (JSON.parse(readFileSync(join(fixtures, "cases.json"), "utf8")) as { cases: Case[] }).cases
  : [];

describe.skipIf(!present)(`OMS interop fixtures (${fixtures})`, () => {
  it("has cases", () => {
    expect(cases.length).toBeGreaterThan(10);
  });
  for (const c of cases) {
    it(`${c.id}: ${c.expect}${c.failStage ? ` at ${c.failStage}` : ""}`, async () => {
      const at = (p: string) => join(fixtures, p);
      const options: VerifyOptions = { signaturePath: at(c.signature) };
      if (c.trust?.publicKey) options.publicKey = readFileSync(at(c.trust.publicKey), "utf8");
      if (c.trust?.caCerts) options.certificateChain = c.trust.caCerts.map((p) => readFileSync(at(p), "utf8"));
      if (c.trust && "trustedRoot" in c.trust) {
        options.trustedRoot =
          c.trust.trustedRoot === null
            ? emptyTrustedRoot()
            : JSON.parse(readFileSync(at(c.trust.trustedRoot as string), "utf8"));
      }
      if (c.policy) {
        options.identity = c.policy.identity;
        options.issuer = c.policy.issuer;
      }
      if (c.options?.ignorePaths) options.ignorePaths = c.options.ignorePaths;
      // Cases without a model are rejected before any file is read; point them at the fixtures folder.
      const result = await verifyModel(at(c.model ?? "real/model-transparency/v1.1.0-elliptic-key"), options);
      if (c.expect === "pass") {
        expect(result.errors).toEqual([]);
        expect(result.status).toBe("verified");
        expect(result.files.length).toBeGreaterThan(0);
        expect(result.files.every((f) => f.status === "ok")).toBe(true);
      } else {
        expect(result.status).toBe("failed");
        expect(result.failedStage).toBe(c.failStage);
      }
    });
  }
});

if (!present)
  describe("OMS interop fixtures", () => {
    it.skip(`skipped: no fixtures at ${fixtures} (set MODELGATE_OMS_FIXTURES to run them)`, () => {});
  });

// Bundles modelgate writes validate against the OMS v1.0 JSON schemas shipped with the fixtures.
const schemaDir = join(fixtures, "real", "model-signing-spec", "schemas", "v1.0");
if (existsSync(schemaDir))
  describe("bundles we write match the OMS JSON schemas", async () => {
    const { Ajv2020 } = await import("ajv/dist/2020.js");
    const { cpSync, mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { signModel } = await import("../../src/integrity/oms/sign.js");
    const samples = fileURLToPath(new URL("../../samples/integrity/", import.meta.url));
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    for (const name of ["envelope", "predicate", "statement", "bundle"]) {
      ajv.addSchema(JSON.parse(readFileSync(join(schemaDir, `${name}.schema.json`), "utf8")));
    }
    const bundleSchema = ajv.getSchema("https://model_signing/bundle/v1.0/schema");
    const statementSchema = ajv.getSchema("https://model_signing/statement/v1.0/schema");
    const configs = [
      { name: "key, files, sha256", options: { privateKey: readFileSync(join(samples, "keys/p384.key.pem"), "utf8") } },
      {
        name: "key, shards, blake3",
        options: {
          privateKey: readFileSync(join(samples, "keys/p521.key.pem"), "utf8"),
          shardSize: 65536,
          hash: "blake3" as const,
        },
      },
      {
        name: "certificate, files, blake2b",
        options: {
          privateKey: readFileSync(join(samples, "pki/leaf.key.pem"), "utf8"),
          signingCertificate: readFileSync(join(samples, "pki/leaf.pem"), "utf8"),
          certificateChain: [readFileSync(join(samples, "pki/intermediate-ca.pem"), "utf8")],
          hash: "blake2b" as const,
        },
      },
    ];
    for (const config of configs) {
      it(config.name, async () => {
        const dir = mkdtempSync(join(tmpdir(), "mg-schema-"));
        try {
          cpSync(join(samples, "model"), dir, { recursive: true });
          const { bundle } = await signModel(dir, { ...config.options, write: false });
          const statement = JSON.parse(
            Buffer.from((bundle.dsseEnvelope as { payload: string }).payload, "base64").toString(),
          );
          expect(bundleSchema?.(bundle), JSON.stringify(bundleSchema?.errors)).toBe(true);
          expect(statementSchema?.(statement), JSON.stringify(statementSchema?.errors)).toBe(true);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  });
