// Scan attestations: the OMS signature is listed as an input only when it signs the whole scanned
// model (not a sub-model, every file covered), and a verifier can demand an attested verdict of
// at most X (`maxVerdict`, `--max-verdict`), whatever threshold the attester passed the scan with.
import { generateKeyPairSync } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../../src/cli/run.js";
import { attest } from "../../../src/integrity/attest/sign.js";
import { buildScanStatement } from "../../../src/integrity/attest/statement.js";
import { verifyAttestation } from "../../../src/integrity/attest/verify.js";
import { signModel } from "../../../src/integrity/oms/sign.js";
import { scan } from "../../../src/scan/engine.js";
import { fakeIO } from "../../helpers/cli.js";

const S = fileURLToPath(new URL("../../../samples/integrity/", import.meta.url));
const text = (p: string) => readFileSync(join(S, p), "utf8");
const tmp = mkdtempSync(join(tmpdir(), "mg-attest-vi-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const KEY = { publicKey: text("keys/p256.pub.pem") };

const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const publicPem = String(keys.publicKey.export({ type: "spki", format: "pem" }));
const privatePem = String(keys.privateKey.export({ type: "pkcs8", format: "pem" }));

let n = 0;
function cleanModel(into?: string): string {
  const dir = into ?? join(tmp, `m${n++}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "bert", hidden_size: 8 }));
  writeFileSync(join(dir, "README.md"), "# a model\n");
  return dir;
}
const sign = (dir: string, ignorePaths?: string[]) =>
  signModel(dir, { privateKey: text("keys/p256.key.pem"), ...(ignorePaths ? { ignorePaths } : {}) });

describe("inputAttestations", () => {
  it("lists a signature that verifies and covers the whole scanned model", async () => {
    const dir = cleanModel();
    await sign(dir);
    const report = await scan(dir, { signature: KEY });
    expect(report.signature).toMatchObject({ status: "verified", model: ".", coverage: { complete: true } });
    const inputs = buildScanStatement(report).predicate.inputAttestations;
    expect(inputs?.map((i) => i.uri)).toEqual(["model.sig"]);
    expect(inputs?.[0]?.digest.sha256).toBe(report.files.find((f) => f.path === "model.sig")?.sha256);
  });

  it("does not list the signature of a sub-model", async () => {
    const dir = join(tmp, `m${n++}`);
    cleanModel(join(dir, "sub"));
    await sign(join(dir, "sub"));
    writeFileSync(join(dir, "other.json"), JSON.stringify({ a: 1 }));
    const report = await scan(dir, { signature: KEY });
    expect(report.signature).toMatchObject({ status: "verified", model: "sub", coverage: { complete: false } });
    expect(report.verdict).toBe("clean");
    expect(buildScanStatement(report).predicate.inputAttestations).toBeUndefined();
  });

  it("does not list a whole-model signature that leaves files uncovered", async () => {
    const dir = cleanModel();
    writeFileSync(join(dir, "notes.txt"), "left out\n");
    await sign(dir, ["notes.txt"]);
    const report = await scan(dir, { signature: KEY });
    expect(report.signature).toMatchObject({ status: "verified", model: ".", coverage: { complete: false } });
    expect(buildScanStatement(report).predicate.inputAttestations).toBeUndefined();
  });
});

describe("maxVerdict", () => {
  /** A model whose scan is suspicious (a headerless weights file), attested as PASSED on `suspicious`. */
  async function suspicious() {
    const dir = join(tmp, `m${n++}`);
    cpSync(join(S, "model"), dir, { recursive: true });
    const report = await scan(dir);
    expect(report.verdict).toBe("suspicious");
    const { bundle } = attest(report, { privateKey: privatePem }, { passThreshold: "suspicious" });
    return { dir, bundle };
  }

  it("refuses a suspicious attested verdict when clean is required, and accepts it otherwise", async () => {
    const { dir, bundle } = await suspicious();
    const lax = await verifyAttestation(bundle, dir, { publicKey: publicPem });
    expect(lax.status).toBe("verified");
    const strict = await verifyAttestation(bundle, dir, { publicKey: publicPem, maxVerdict: "clean" });
    expect(strict.status).toBe("failed");
    expect(strict.failedStage).toBe("requirements");
    expect(strict.failedRequirement).toBe("verdict");
    const ok = await verifyAttestation(bundle, dir, { publicKey: publicPem, maxVerdict: "suspicious" });
    expect(ok.status).toBe("verified");
    // also with a FAILED result allowed: the verdict is still checked
    const failedAllowed = await verifyAttestation(bundle, dir, {
      publicKey: publicPem,
      requirePassed: false,
      maxVerdict: "clean",
    });
    expect(failedAllowed.failedRequirement).toBe("verdict");
  });

  it("accepts a clean attested verdict under maxVerdict clean", async () => {
    const dir = cleanModel();
    const { bundle } = attest(await scan(dir), { privateKey: privatePem });
    expect((await verifyAttestation(bundle, dir, { publicKey: publicPem, maxVerdict: "clean" })).status).toBe(
      "verified",
    );
  });

  it("--max-verdict on the command line: exit 1 when worse, 0 when within, 2 for a bad value", async () => {
    const { dir, bundle } = await suspicious();
    const att = join(tmp, `s${n++}.att.json`);
    writeFileSync(att, JSON.stringify(bundle));
    const key = join(tmp, `k${n++}.pem`);
    writeFileSync(key, publicPem);
    const run = async (args: string[]) => {
      const io = fakeIO({ cwd: tmp });
      const code = await runCli(["verify-attestation", att, dir, "--public-key", key, ...args], io);
      return { code, out: io.out, err: io.err };
    };
    const strict = await run(["--max-verdict", "clean"]);
    expect(strict.code).toBe(1);
    expect(strict.out).toMatch(/attested verdict is suspicious, worse than the required clean/);
    expect((await run(["--max-verdict", "suspicious"])).code).toBe(0);
    expect((await run([])).code).toBe(0);
    expect((await run(["--max-verdict", "fine"])).code).toBe(2);
  });
});
