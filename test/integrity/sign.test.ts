// Signing: a round trip through verifyModel for the key and certificate methods.
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { publicKeyHint } from "../../src/integrity/oms/crypto.js";
import { signModel } from "../../src/integrity/oms/sign.js";
import { verifyModel } from "../../src/integrity/oms/verify.js";

const S = fileURLToPath(new URL("../../samples/integrity/", import.meta.url));
const text = (p: string) => readFileSync(join(S, p), "utf8");
const tmp = mkdtempSync(join(tmpdir(), "mg-sign-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function copyModel(): string {
  const dir = join(tmp, `m${n++}`);
  cpSync(join(S, "model"), dir, { recursive: true });
  return dir;
}

describe("signModel", () => {
  for (const curve of ["p256", "p384", "p521"]) {
    it(`signs with a ${curve} key and verifies`, async () => {
      const dir = copyModel();
      writeFileSync(join(dir, "ignored.txt"), "x");
      const out = await signModel(dir, { privateKey: text(`keys/${curve}.key.pem`), ignorePaths: ["ignored.txt"] });
      expect(out.path).toBe(join(dir, "model.sig"));
      expect(out.method).toBe("key");
      const bundle = JSON.parse(readFileSync(out.path, "utf8"));
      expect(bundle.mediaType).toBe("application/vnd.dev.sigstore.bundle.v0.3+json");
      expect(bundle.verificationMaterial).toEqual({
        publicKey: { hint: publicKeyHint(createPublicKey(text(`keys/${curve}.pub.pem`))) },
        tlogEntries: [],
      });
      const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, "base64").toString());
      expect(statement.predicate.serialization.ignore_paths).toEqual([
        ".git",
        ".gitattributes",
        ".github",
        ".gitignore",
        "ignored.txt",
        "model.sig",
      ]);
      expect(statement.predicate.resources.map((r: { name: string }) => r.name)).toEqual([
        "config.json",
        "sub/__init__.py",
        "sub/tokenizer.json",
        "weights.bin",
      ]);
      expect(statement.subject[0].digest.sha256).toBe(out.rootDigest);
      const r = await verifyModel(dir, { publicKey: text(`keys/${curve}.pub.pem`) });
      expect(r.errors).toEqual([]);
      expect(r.status).toBe("verified");
      writeFileSync(join(dir, "config.json"), "{}");
      expect((await verifyModel(dir, { publicKey: text(`keys/${curve}.pub.pem`) })).failedStage).toBe("manifest");
    });
  }

  it("signs with a certificate chain and verifies against the root", async () => {
    const dir = copyModel();
    const out = await signModel(dir, {
      privateKey: text("pki/leaf.key.pem"),
      signingCertificate: text("pki/leaf.pem"),
      certificateChain: [text("pki/intermediate-ca.pem")],
      output: join(tmp, `cert-${n}.sig`),
    });
    expect(out.method).toBe("certificate");
    const r = await verifyModel(dir, { signaturePath: out.path, certificateChain: [text("pki/root-ca.pem")] });
    expect(r.errors).toEqual([]);
    expect(r.status).toBe("verified");
    expect(r.signer?.certificateSubject).toBe("CN=model signer, O=modelgate tests");
  });

  for (const hash of ["sha256", "blake2b", "blake3"] as const) {
    it(`signs shards with ${hash} and a single file`, async () => {
      const dir = copyModel();
      const out = await signModel(dir, { privateKey: text("keys/p384.key.pem"), hash, shardSize: 50_000 });
      expect(out.resources).toBe(4 + 1 + 1); // weights.bin in 4 shards, config and tokenizer; the empty file is omitted
      const r = await verifyModel(dir, { publicKey: text("keys/p384.pub.pem") });
      expect(r.errors).toEqual([]);
      expect(r.serialization).toMatchObject({ method: "shards", hashType: hash, shardSize: 50_000 });
      const single = await signModel(join(dir, "weights.bin"), {
        privateKey: text("keys/p384.key.pem"),
        hash,
        output: join(tmp, `single-${hash}.sig`),
      });
      const rs = await verifyModel(join(dir, "weights.bin"), {
        signaturePath: single.path,
        publicKey: text("keys/p384.pub.pem"),
      });
      expect(rs.status).toBe("verified");
    });
  }

  it("follows symlinks only when asked, and refuses bad keys and certificates", async () => {
    const dir = copyModel();
    symlinkSync("weights.bin", join(dir, "alias.bin"));
    const key = text("keys/p256.key.pem");
    await expect(signModel(dir, { privateKey: key })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await signModel(dir, { privateKey: key, allowSymlinks: true });
    expect((await verifyModel(dir, { publicKey: text("keys/p256.pub.pem") })).status).toBe("verified");
    const ed = generateKeyPairSync("ed25519").privateKey;
    await expect(signModel(copyModel(), { privateKey: ed })).rejects.toThrow(/P-256, P-384 or P-521/);
    await expect(signModel(copyModel(), { privateKey: key, signingCertificate: text("pki/leaf.pem") })).rejects.toThrow(
      /does not hold the private key/,
    );
    await expect(signModel(copyModel(), { privateKey: "nope" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
