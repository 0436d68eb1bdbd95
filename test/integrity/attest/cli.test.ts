// The attest and verify-attestation commands, and scan --attest.
import { generateKeyPairSync } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../../src/cli/run.js";
import { fakeIO } from "../../helpers/cli.js";

const S = fileURLToPath(new URL("../../../samples/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "mg-attest-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const KEY = join(tmp, "attest.key");
const PUB = join(tmp, "attest.pub");
writeFileSync(KEY, String(keys.privateKey.export({ type: "pkcs8", format: "pem" })));
writeFileSync(PUB, String(keys.publicKey.export({ type: "spki", format: "pem" })));

let n = 0;
function model(): string {
  const dir = join(tmp, `m${n++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "bert" }));
  writeFileSync(join(dir, "README.md"), "# model\n");
  return dir;
}
const run = async (args: string[]) => {
  const io = fakeIO({ cwd: tmp });
  const code = await runCli(args, io);
  return { code, out: io.out, err: io.err };
};

describe("modelgate scan --attest / verify-attestation", () => {
  it("attests a scan and verifies it: exit 0, 1 on mismatch or unmet requirement, 2 on usage", async () => {
    const dir = model();
    const att = join(tmp, "scan.att.json");
    const scanned = await run(["scan", dir, "--no-policy", "--attest", att, "--attest-key", KEY, "--format", "json"]);
    expect(scanned.err).toBe("");
    expect(scanned.code).toBe(0);
    const report = JSON.parse(scanned.out);
    const bundle = JSON.parse(readFileSync(att, "utf8"));
    expect(bundle.mediaType).toBe("application/vnd.dev.sigstore.bundle.v0.3+json");

    const ok = await run(["verify-attestation", att, dir, "--public-key", PUB, "--require-passed", "--max-age", "7d"]);
    expect(ok.out).toMatch(/^Attestation: VERIFIED \(key\)$/m);
    expect(ok.out).toMatch(/Result: PASSED \(verdict clean/);
    expect(ok.code).toBe(0);
    const digest = await run([
      "verify-attestation",
      att,
      dir,
      "--public-key",
      PUB,
      "--policy-digest",
      report.policy.hash,
    ]);
    expect(digest.code).toBe(0);
    const wrong = await run(["verify-attestation", att, dir, "--public-key", PUB, "--policy-digest", "a".repeat(64)]);
    expect(wrong.code).toBe(1);
    expect(wrong.out).toMatch(/Failed at: requirements/);

    writeFileSync(join(dir, "README.md"), "# changed\n");
    const changed = await run(["verify-attestation", att, dir, "--public-key", PUB, "--format", "json"]);
    expect(changed.code).toBe(1);
    expect(JSON.parse(changed.out).files.find((f: { path: string }) => f.path === "README.md").status).toBe("mismatch");

    expect((await run(["verify-attestation", att, dir])).code).toBe(2);
    expect((await run(["verify-attestation", att, dir, "--public-key", PUB, "--max-age", "soon"])).code).toBe(2);
    expect((await run(["verify-attestation", join(tmp, "none.json"), dir, "--public-key", PUB])).code).toBe(2);
    expect((await run(["verify-attestation", att, join(tmp, "nope"), "--public-key", PUB])).code).toBe(2);
  });

  it("checks --attest before scanning", async () => {
    const dir = model();
    const inside = await run(["scan", dir, "--no-policy", "--attest", join(dir, "a.json"), "--attest-key", KEY]);
    expect(inside.code).toBe(2);
    expect(inside.err).toMatch(/outside the scanned target/);
    expect(existsSync(join(dir, "a.json"))).toBe(false);
    expect((await run(["scan", dir, "--attest", join(tmp, "x.json")])).code).toBe(2);
    expect((await run(["scan", dir, "--attest", join(tmp, "x.json"), "--attest-key", KEY, "--no-hash"])).code).toBe(2);
    expect((await run(["scan", dir, dir, "--attest", join(tmp, "x.json"), "--attest-key", KEY])).code).toBe(2);
    expect((await run(["scan", dir, "--attest", join(tmp, "nofolder", "x.json"), "--attest-key", KEY])).code).toBe(2);
    expect((await run(["scan", dir, "--attest", join(tmp, "x.json"), "--attest-key", PUB])).code).toBe(2);
    expect(existsSync(join(tmp, "x.json"))).toBe(false);
  });

  it("attests a saved report; a malicious verdict fails --require-passed", async () => {
    const dir = model();
    cpSync(join(S, "pickle/malicious/attrgetter.pkl"), join(dir, "model.pkl"));
    const reportFile = join(tmp, "report.json");
    expect((await run(["scan", dir, "--no-policy", "--format", "json", "--output", reportFile])).code).toBe(1);
    const out = join(tmp, "report.att.json");
    const made = await run(["attest", reportFile, "--key", KEY, "-o", out]);
    expect(made.err).toBe("");
    expect(made.code).toBe(0);
    expect(made.out).toMatch(/Attested 3 files: FAILED \(key method\)/);
    const allowed = await run(["verify-attestation", out, dir, "--public-key", PUB, "--allow-failed"]);
    expect(allowed.code).toBe(0);
    expect(allowed.out).toMatch(/Result: FAILED \(verdict malicious/);
    // The default, as a gate written `verify-attestation ... && load` needs it.
    const plain = await run(["verify-attestation", out, dir, "--public-key", PUB]);
    expect(plain.code).toBe(1);
    const required = await run(["verify-attestation", out, dir, "--public-key", PUB, "--require-passed"]);
    expect(required.code).toBe(1);
    const both = await run(["verify-attestation", out, dir, "--public-key", PUB, "--require-passed", "--allow-failed"]);
    expect(both.code).toBe(2);

    // To stdout, then errors: not a report, several reports, unhashed files, no key.
    const stdout = await run(["attest", reportFile, "--key", KEY]);
    expect(JSON.parse(stdout.out).dsseEnvelope.payloadType).toBe("application/vnd.in-toto+json");
    writeFileSync(join(tmp, "two.json"), JSON.stringify([JSON.parse(readFileSync(reportFile, "utf8")), {}]));
    expect((await run(["attest", join(tmp, "two.json"), "--key", KEY])).err).toMatch(/2 reports/);
    writeFileSync(join(tmp, "bad.json"), "{}");
    expect((await run(["attest", join(tmp, "bad.json"), "--key", KEY])).code).toBe(2);
    const unhashed = JSON.parse(readFileSync(reportFile, "utf8"));
    delete unhashed.files[0].sha256;
    writeFileSync(join(tmp, "unhashed.json"), JSON.stringify(unhashed));
    const refused = await run(["attest", join(tmp, "unhashed.json"), "--key", KEY]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/no full SHA-256/);
    expect((await run(["attest", reportFile])).code).toBe(2);
  });

  it("reports an oversized or malformed attestation as a failed verification", async () => {
    const dir = model();
    const big = join(tmp, "big.json");
    writeFileSync(big, Buffer.alloc(33 * 1024 * 1024, 0x20));
    const r = await run(["verify-attestation", big, dir, "--public-key", PUB]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Failed at: parse/);
    writeFileSync(join(tmp, "junk.json"), "\u001b[2J{");
    const junk = await run(["verify-attestation", join(tmp, "junk.json"), dir, "--public-key", PUB]);
    expect(junk.code).toBe(1);
    expect(junk.out).not.toContain("\u001b");
  });
});
