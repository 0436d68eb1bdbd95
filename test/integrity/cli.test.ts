// The verify, sign and lock commands, and scan --lock.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/run.js";
import { type RecordingIO, fakeIO as recordingIO } from "../helpers/cli.js";

const S = fileURLToPath(new URL("../../samples/integrity/", import.meta.url));
const at = (p: string) => join(S, p);
const tmp = mkdtempSync(join(tmpdir(), "mg-icli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const copyModel = () => {
  const dir = join(tmp, `m${n++}`);
  cpSync(at("model"), dir, { recursive: true });
  return dir;
};

function io(): RecordingIO {
  return recordingIO();
}

describe("modelgate verify", () => {
  it("exit 0 when verified, 1 when verification fails, 2 on errors", async () => {
    const ok = io();
    expect(await runCli(["verify", at("signed-model"), "--public-key", at("keys/p256.pub.pem")], ok)).toBe(0);
    expect(ok.out).toMatch(/^Signature: VERIFIED \(key\)$/m);
    const wrong = io();
    expect(await runCli(["verify", at("signed-model"), "--public-key", at("keys/other-p256.pub.pem")], wrong)).toBe(1);
    expect(wrong.out).toMatch(/Failed at: signature/);
    const tampered = io();
    expect(
      await runCli(
        ["verify", at("tampered-model"), "--public-key", at("keys/p256.pub.pem"), "--format", "json"],
        tampered,
      ),
    ).toBe(1);
    const result = JSON.parse(tampered.out);
    expect(result.failedStage).toBe("manifest");
    expect(result.files.find((f: { path: string }) => f.path === "weights.bin").status).toBe("mismatch");
    const unsigned = io();
    expect(await runCli(["verify", at("model"), "--public-key", at("keys/p256.pub.pem")], unsigned)).toBe(1);
    expect(unsigned.out).toMatch(/UNSIGNED/);
    expect(await runCli(["verify", join(tmp, "nope"), "--public-key", at("keys/p256.pub.pem")], io())).toBe(2);
    expect(await runCli(["verify", at("signed-model"), "--public-key", at("model/config.json")], io())).toBe(2);
    expect(await runCli(["verify", at("signed-model"), "--identity", "x"], io())).toBe(2);
    expect(await runCli(["verify"], io())).toBe(2);
  });

  it("verifies the certificate and keyless methods, with ignore options", async () => {
    const cert = io();
    const args = ["verify", at("model"), "--signature", at("signatures/cert-chain.sig")];
    expect(
      await runCli(
        [...args, "--certificate-chain", at("pki/root-ca.pem"), "--certificate-san", "signer@example.com"],
        cert,
      ),
    ).toBe(0);
    expect(cert.out).toMatch(/Certificate: CN=model signer/);
    const id = JSON.parse(readFileSync(at("keyless/identity.json"), "utf8"));
    const keyless = io();
    const kArgs = [
      "verify",
      at("model"),
      "--signature",
      at("keyless/model.sig"),
      "--identity",
      id.identity,
      "--issuer",
      id.issuer,
    ];
    expect(await runCli([...kArgs, "--trusted-root", at("keyless/trusted_root.json")], keyless)).toBe(0);
    expect(keyless.out).toContain(`Signer: ${id.identity}`);
    expect(await runCli(kArgs, io())).toBe(1); // the shipped public-good root does not trust the test CA
    const extra = copyModel();
    writeFileSync(join(extra, "notes.txt"), "x");
    const base = [
      "verify",
      extra,
      "--signature",
      at("signatures/key-p256.sig"),
      "--public-key",
      at("keys/p256.pub.pem"),
    ];
    expect(await runCli(base, io())).toBe(1);
    expect(await runCli([...base, "--ignore-paths", "notes.txt"], io())).toBe(0);
    writeFileSync(join(extra, "more.txt"), "y");
    expect(await runCli([...base, "--ignore-paths", "notes.txt"], io())).toBe(1);
    expect(await runCli([...base, "--ignore-paths", "notes.txt", "more.txt"], io())).toBe(0); // several values
    const leafOnly = ["verify", at("model"), "--signature", at("signatures/cert-leaf-only.sig"), "--certificate-chain"];
    expect(await runCli([...leafOnly, at("pki/root-ca.pem")], io())).toBe(1);
    expect(await runCli([...leafOnly, at("pki/root-ca.pem"), at("pki/intermediate-ca.pem")], io())).toBe(0);
    expect(await runCli([...base, "--ignore-unsigned-files"], io())).toBe(0);
  });
});

describe("modelgate sign", () => {
  it("signs with a key or a certificate, and the signature verifies", async () => {
    const dir = copyModel();
    const out = io();
    expect(await runCli(["sign", dir, "--private-key", at("keys/p521.key.pem"), "--shard-size", "65536"], out)).toBe(0);
    expect(out.out).toMatch(/Signed 6 shards \(key method/);
    expect(await runCli(["verify", dir, "--public-key", at("keys/p521.pub.pem")], io())).toBe(0);
    const sig = join(tmp, "cert.sig");
    const cert = [
      "sign",
      dir,
      "--private-key",
      at("pki/leaf.key.pem"),
      "--signing-certificate",
      at("pki/leaf.pem"),
      "--certificate-chain",
      at("pki/intermediate-ca.pem"),
      "--output",
      sig,
      "--hash",
      "blake3",
    ];
    expect(await runCli(cert, io())).toBe(0);
    // The first model.sig was in the directory when signing again: the second signature covers it.
    expect(await runCli(["verify", dir, "--signature", sig, "--certificate-chain", at("pki/root-ca.pem")], io())).toBe(
      0,
    );
    const ignored = [
      "verify",
      dir,
      "--signature",
      sig,
      "--certificate-chain",
      at("pki/root-ca.pem"),
      "--ignore-paths",
      "model.sig",
    ];
    expect(await runCli(ignored, io())).toBe(1); // a signed file ignored is a missing file
    expect(await runCli(["sign", dir], io())).toBe(2);
    expect(await runCli(["sign", dir, "--private-key", at("keys/p256.key.pem"), "--hash", "md5"], io())).toBe(2);
  });
});

describe("modelgate lock and scan --lock", () => {
  it("locks a directory; scan --lock exits 1 once it changes", async () => {
    const dir = copyModel();
    const out = io();
    expect(await runCli(["lock", dir], out)).toBe(0);
    expect(out.out).toMatch(/Locked 5 files/);
    const lock = join(dir, "modelgate.lock.json");
    expect(await runCli(["scan", dir, "--lock", lock, "--fail-on", "high"], io())).toBe(0);
    writeFileSync(join(dir, "weights.bin"), "changed");
    const changed = io();
    expect(await runCli(["scan", dir, "--lock", lock, "--fail-on", "high", "--format", "json"], changed)).toBe(1);
    expect(changed.out).toContain("integrity/pin-mismatch");
    expect(await runCli(["scan", dir, "--lock", join(tmp, "missing.json")], io())).toBe(2);
  });

  it("scan verifies a signature found in the tree with the trust material given", async () => {
    const ok = io();
    expect(
      await runCli(["scan", at("signed-model"), "--public-key", at("keys/p256.pub.pem"), "--format", "json"], ok),
    ).toBe(0);
    expect(JSON.parse(ok.out).signature.status).toBe("verified");
    expect(await runCli(["scan", at("tampered-model"), "--public-key", at("keys/p256.pub.pem")], io())).toBe(1);
    expect(await runCli(["scan", at("model"), "--require-signature"], io())).toBe(1);
  });
});
