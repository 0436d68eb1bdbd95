// OMS verification against the project's own fixtures (samples/integrity, made by
// samples/generate/integrity.mjs with openssl and @sigstore/mock, independently of src/).
import { createHash, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { preAuthEncoding, publicKeyHint } from "../../src/integrity/oms/crypto.js";
import { emptyTrustedRoot } from "../../src/integrity/oms/trusted-root.js";
import { type VerifyOptions, verifyModel } from "../../src/integrity/oms/verify.js";

const S = fileURLToPath(new URL("../../samples/integrity/", import.meta.url));
const at = (p: string) => join(S, p);
const text = (p: string) => readFileSync(at(p), "utf8");
const MODEL = at("model");
const SIGNED_FILES = ["config.json", "sub/__init__.py", "sub/tokenizer.json", "weights.bin"];
const tmp = mkdtempSync(join(tmpdir(), "mg-oms-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function copyModel(): string {
  const dir = join(tmp, `m${n++}`);
  cpSync(MODEL, dir, { recursive: true });
  return dir;
}

const verify = (signature: string, options: VerifyOptions = {}, model = MODEL) =>
  verifyModel(model, { signaturePath: at(signature), ...options });

describe("key method", () => {
  for (const [sig, key] of [
    ["key-p256.sig", "p256"],
    ["key-p384.sig", "p384"],
    ["key-p521.sig", "p521"],
  ] as const) {
    it(`verifies ${sig} (openssl-signed, curve hash)`, async () => {
      const r = await verify(`signatures/${sig}`, { publicKey: text(`keys/${key}.pub.pem`) });
      expect(r.errors).toEqual([]);
      expect(r.status).toBe("verified");
      expect(r.method).toBe("key");
      expect(r.files.map((f) => [f.path, f.status])).toEqual(SIGNED_FILES.map((p) => [p, "ok"]));
      expect(r.signer?.keyHint).toMatch(/^[0-9a-f]{64}$/);
      expect(r.serialization).toMatchObject({ method: "files", hashType: "sha256", allowSymlinks: false });
    });
  }

  it("rejects a P-384 signature made with SHA-256 instead of the curve's SHA-384", async () => {
    const r = await verify("signatures/key-p384-wrong-hash.sig", { publicKey: text("keys/p384.pub.pem") });
    expect([r.status, r.failedStage]).toEqual(["failed", "signature"]);
  });

  it("rejects another key (hint mismatch) and keys outside OMS (Ed25519)", async () => {
    const other = await verify("signatures/key-p256.sig", { publicKey: text("keys/other-p256.pub.pem") });
    expect([other.status, other.failedStage]).toEqual(["failed", "signature"]);
    expect(other.errors[0]).toMatch(/names key/);
    const legacyOther = await verify("signatures/key-p384-legacy.sig", { publicKey: text("keys/p256.pub.pem") });
    expect([legacyOther.status, legacyOther.failedStage]).toEqual(["failed", "signature"]);
    const ed = await verify("signatures/key-p384-legacy.sig", { publicKey: text("keys/ed25519.pub.pem") });
    expect(ed.failedStage).toBe("signature");
    expect(ed.errors[0]).toMatch(/P-256, P-384 or P-521/);
  });

  it("accepts the legacy rawBytes layout with a warning, and recorded-less ignores", async () => {
    const r = await verify("signatures/key-p384-legacy.sig", { publicKey: text("keys/p384.pub.pem") });
    expect(r.status).toBe("verified");
    expect(r.warnings.join(" ")).toMatch(/legacy key bundle/);
  });

  it("verifies BLAKE2b files and BLAKE3 shards (zero-byte files are not sharded)", async () => {
    const b2 = await verify("signatures/key-p384-blake2b.sig", { publicKey: text("keys/p384.pub.pem") });
    expect(b2.status).toBe("verified");
    expect(b2.serialization?.hashType).toBe("blake2b");
    const b3 = await verify("signatures/key-p256-blake3-shards.sig", { publicKey: text("keys/p256.pub.pem") });
    expect(b3.errors).toEqual([]);
    expect(b3.serialization).toMatchObject({ method: "shards", hashType: "blake3", shardSize: 65536 });
    expect(b3.files.find((f) => f.path === "weights.bin")).toMatchObject({ status: "ok", shards: 4 });
    expect(b3.files.some((f) => f.path === "sub/__init__.py")).toBe(false);
  });

  it("needs a public key: failed at policy, or unverified when trust is optional", async () => {
    const r = await verify("signatures/key-p256.sig");
    expect([r.status, r.failedStage]).toEqual(["failed", "policy"]);
    const u = await verify("signatures/key-p256.sig", { requireTrust: false });
    expect(u.status).toBe("unverified");
    expect(u.files.every((f) => f.status === "ok")).toBe(true);
  });
});

describe("certificate method", () => {
  const root = () => [text("pki/root-ca.pem")];
  it("builds a path through the bundle's intermediate to the caller's root", async () => {
    const r = await verify("signatures/cert-chain.sig", { certificateChain: root() });
    expect(r.errors).toEqual([]);
    expect(r.status).toBe("verified");
    expect(r.signer).toMatchObject({
      certificateSubject: "CN=model signer, O=modelgate tests",
      anchor: "CN=modelgate test root CA, O=modelgate tests",
    });
    expect(r.signer?.subjectAlternativeNames).toEqual(["signer@example.com", "https://example.com/signer"]);
    const p384 = await verify("signatures/cert-chain-p384.sig", { certificateChain: root() });
    expect(p384.status).toBe("verified");
  });

  it("accepts an intermediate as anchor, and a leaf-only bundle when the caller supplies the intermediate", async () => {
    expect(
      (await verify("signatures/cert-chain.sig", { certificateChain: [text("pki/intermediate-ca.pem")] })).status,
    ).toBe("verified");
    const leafOnly = await verify("signatures/cert-leaf-only.sig", { certificateChain: root() });
    expect([leafOnly.status, leafOnly.failedStage]).toEqual(["failed", "signature"]);
    const both = `${text("pki/root-ca.pem")}${text("pki/intermediate-ca.pem")}`;
    expect((await verify("signatures/cert-leaf-only.sig", { certificateChain: [both] })).status).toBe("verified");
  });

  it("never trusts anything but the caller's anchors", async () => {
    const r = await verify("signatures/cert-chain.sig", { certificateChain: [text("pki/other-root-ca.pem")] });
    expect([r.status, r.failedStage]).toEqual(["failed", "signature"]);
    expect(r.errors[0]).toMatch(/no certificate path/);
    const none = await verify("signatures/cert-chain.sig", { publicKey: text("keys/p256.pub.pem") });
    expect([none.status, none.failedStage]).toEqual(["failed", "policy"]);
  });

  it("checks validity at the current time (or the time given) and the leaf's usage", async () => {
    const expired = await verify("signatures/cert-expired.sig", { certificateChain: root() });
    expect([expired.status, expired.failedStage]).toEqual(["failed", "signature"]);
    expect(expired.errors[0]).toMatch(/not valid at/);
    // Within the leaf's validity, but before the CAs existed: the whole path is checked.
    const then = await verify("signatures/cert-expired.sig", {
      certificateChain: root(),
      time: new Date("2020-06-01T00:00:00Z"),
    });
    expect(then.failedStage).toBe("signature");
    expect(then.errors[0]).toMatch(/intermediate CA.* is not valid at 2020-06-01/);
    const later = await verify("signatures/cert-chain.sig", { certificateChain: root(), time: new Date("2070-01-01") });
    expect(later.errors[0]).toMatch(/model signer.* is not valid at 2070/);
    const now = await verify("signatures/cert-chain.sig", { certificateChain: root(), time: new Date() });
    expect(now.status).toBe("verified");
    const noUsage = await verify("signatures/cert-no-usage.sig", { certificateChain: root() });
    expect([noUsage.status, noUsage.failedStage]).toEqual(["failed", "signature"]);
    expect(noUsage.errors[0]).toMatch(/digitalSignature/);
  });

  it("pins subject, SAN and fingerprint exactly", async () => {
    const leafDer = Buffer.from(
      text("pki/leaf.pem")
        .replace(/-----[A-Z ]+-----|\s/g, "")
        .trim(),
      "base64",
    );
    const fingerprint = createHash("sha256").update(leafDer).digest("hex");
    const ok = await verify("signatures/cert-chain.sig", {
      certificateChain: root(),
      certificatePolicy: {
        subject: "CN=model signer, O=modelgate tests",
        subjectAlternativeName: "signer@example.com",
        fingerprint: fingerprint.toUpperCase().replace(/(..)(?!$)/g, "$1:"),
      },
    });
    expect(ok.status).toBe("verified");
    for (const policy of [
      { subjectAlternativeName: "signer@example.co" },
      { subjectAlternativeName: "signer@example.com.evil" },
      { subject: "CN=model signer" },
      { fingerprint: "00".repeat(32) },
    ]) {
      const r = await verify("signatures/cert-chain.sig", { certificateChain: root(), certificatePolicy: policy });
      expect([r.status, r.failedStage]).toEqual(["failed", "policy"]);
    }
  });
});

describe("sigstore (keyless) method, with @sigstore/mock and a test TrustedRoot", () => {
  const id = JSON.parse(text("keyless/identity.json")) as { identity: string; issuer: string };
  const trustedRoot = JSON.parse(text("keyless/trusted_root.json")) as Record<string, unknown>;
  it("verifies offline and reports the signer", async () => {
    const r = await verify("keyless/model.sig", { trustedRoot, ...id });
    expect(r.errors).toEqual([]);
    expect(r.status).toBe("verified");
    expect(r.signer).toMatchObject({ identity: id.identity, issuer: id.issuer });
    expect(r.signer?.signedAt).toMatch(/^20\d\d-/);
  });

  it("matches identity and issuer exactly (escaped, anchored)", async () => {
    for (const identity of [
      id.identity.slice(0, -1), // prefix
      id.identity.slice(1), // suffix
      id.identity.replace("github.com", "githubxcom"), // '.' as a regex wildcard
      ".*",
    ]) {
      const r = await verify("keyless/model.sig", { trustedRoot, identity, issuer: id.issuer });
      expect([r.status, r.failedStage]).toEqual(["failed", "policy"]);
    }
    const wrongIssuer = await verify("keyless/model.sig", {
      trustedRoot,
      identity: id.identity,
      issuer: `${id.issuer}/`,
    });
    expect([wrongIssuer.status, wrongIssuer.failedStage]).toEqual(["failed", "policy"]);
  });

  it("requires identity and issuer, a trust root that knows the CA, and a tlog entry", async () => {
    const noId = await verify("keyless/model.sig", { trustedRoot });
    expect([noId.status, noId.failedStage]).toEqual(["failed", "policy"]);
    const shipped = await verify("keyless/model.sig", id);
    expect([shipped.status, shipped.failedStage]).toEqual(["failed", "signature"]);
    const empty = await verify("keyless/model.sig", { trustedRoot: emptyTrustedRoot(), ...id });
    expect([empty.status, empty.failedStage]).toEqual(["failed", "signature"]);
    const noTlog = await verify("keyless/no-tlog.sig", { trustedRoot, ...id });
    expect([noTlog.status, noTlog.failedStage]).toEqual(["failed", "parse"]);
  });
});

// Bundles with crafted statements, signed here with a throwaway key.
const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
function craft(statement: unknown, options: { payloadType?: string; key?: KeyObject } = {}): Record<string, unknown> {
  const payloadType = options.payloadType ?? "application/vnd.in-toto+json";
  const payload = Buffer.from(typeof statement === "string" ? statement : JSON.stringify(statement));
  const sig = sign("sha256", preAuthEncoding(payloadType, payload), {
    key: options.key ?? privateKey,
    dsaEncoding: "der",
  });
  return {
    mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    verificationMaterial: { publicKey: { hint: publicKeyHint(publicKey) }, tlogEntries: [] },
    dsseEnvelope: { payload: payload.toString("base64"), payloadType, signatures: [{ sig: sig.toString("base64") }] },
  };
}
const sha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");
function manifestOf(
  resources: { name: string; digest: string; algorithm?: string }[],
  serialization: Record<string, unknown> = {},
) {
  const sorted = [...resources].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  const root = createHash("sha256");
  for (const r of sorted) root.update(Buffer.from(r.digest, "hex"));
  return {
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: "m", digest: { sha256: root.digest("hex") } }],
    predicateType: "https://model_signing/signature/v1.0",
    predicate: {
      serialization: { method: "files", hash_type: "sha256", allow_symlinks: false, ...serialization },
      resources: resources.map((r) => ({ algorithm: "sha256", ...r })),
    },
  };
}
function fileResources(dir: string, names: readonly string[] = SIGNED_FILES) {
  return names.map((name) => ({ name, digest: sha(readFileSync(join(dir, name))) }));
}
const withKey = (signature: Record<string, unknown>, extra: VerifyOptions = {}): VerifyOptions => ({
  signature,
  signaturePath: join(tmp, "none.sig"),
  publicKey,
  ...extra,
});

describe("statement checks", () => {
  const good = manifestOf(fileResources(MODEL));
  it("accepts a well-formed statement signed with the key", async () => {
    expect((await verifyModel(MODEL, withKey(craft(good)))).status).toBe("verified");
  });

  const mutate = (f: (s: ReturnType<typeof manifestOf>) => void) => {
    const s = structuredClone(good);
    f(s);
    return s;
  };
  const cases: [string, unknown, string?][] = [
    ["wrong statement type", mutate((s) => Object.assign(s, { _type: "https://in-toto.io/Statement/v0.1" }))],
    ["other predicate type", mutate((s) => Object.assign(s, { predicateType: "https://example.com/v1" }))],
    ["two subjects", mutate((s) => s.subject.push({ name: "x", digest: { sha256: "0".repeat(64) } }))],
    [
      "root digest mismatch",
      mutate((s) => Object.assign(s.subject[0] as object, { digest: { sha256: "1".repeat(64) } })),
    ],
    ["unknown method", mutate((s) => Object.assign(s.predicate.serialization, { method: "tarball" }))],
    ["unknown hash", mutate((s) => Object.assign(s.predicate.serialization, { hash_type: "md5" }))],
    ["traversal", manifestOf([{ name: "../outside", digest: sha("x") }])],
    ["absolute", manifestOf([{ name: "/etc/passwd", digest: sha("x") }])],
    ["non-normalised", manifestOf([{ name: "sub/./tokenizer.json", digest: sha("x") }])],
    ["empty manifest", manifestOf([])],
    ["duplicate", manifestOf([...fileResources(MODEL), { name: "config.json", digest: sha("x") }])],
    ["algorithm differs", manifestOf([{ name: "config.json", digest: sha("x"), algorithm: "blake3" }])],
    ["not JSON", "{not json"],
  ];
  for (const [name, statement] of cases) {
    it(`rejects at the statement stage: ${name}`, async () => {
      const r = await verifyModel(MODEL, withKey(craft(statement)));
      expect([r.status, r.failedStage]).toEqual(["failed", "statement"]);
    });
  }
  it("rejects a payload type other than in-toto", async () => {
    const r = await verifyModel(MODEL, withKey(craft(good, { payloadType: "text/plain" })));
    expect([r.status, r.failedStage]).toEqual(["failed", "statement"]);
  });
  it("checks the signature before the statement", async () => {
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const r = await verifyModel(MODEL, withKey(craft(cases[1]?.[1], { key: other })));
    expect(r.failedStage).toBe("signature");
  });
  it("rejects malformed bundles at the parse stage", async () => {
    for (const bad of [
      "",
      "[]",
      '{"mediaType":"application/json"}',
      JSON.stringify({
        ...craft(good),
        dsseEnvelope: { payload: "!!", payloadType: "x", signatures: [{ sig: "AA==" }] },
      }),
      JSON.stringify({ ...craft(good), verificationMaterial: {} }),
    ]) {
      const r = await verifyModel(MODEL, { signature: bad, publicKey });
      expect([r.status, r.failedStage]).toEqual(["failed", "parse"]);
    }
  });
  it("accepts the reference implementation's sha256-sharded-N names and float shard size", async () => {
    const data = readFileSync(join(MODEL, "weights.bin"));
    const size = 65536;
    const resources = [];
    for (const name of SIGNED_FILES.filter((f) => f !== "sub/__init__.py")) {
      const bytes = readFileSync(join(MODEL, name));
      for (let s = 0; s < bytes.length; s += size) {
        const e = Math.min(bytes.length, s + size);
        resources.push({
          name: `${name}:${s}:${e}`,
          digest: sha(bytes.subarray(s, e)),
          algorithm: `sha256-sharded-${size}`,
        });
      }
    }
    expect(data.length).toBeGreaterThan(3 * size);
    const statement = manifestOf(resources, { method: "shards", shard_size: size });
    // JSON.stringify writes 65536, the reference implementation writes 65536.0: patch the text.
    const textual = JSON.stringify(statement).replace('"shard_size":65536', '"shard_size":65536.0');
    const r = await verifyModel(MODEL, withKey(craft(textual)));
    expect(r.errors).toEqual([]);
    expect(r.status).toBe("verified");
  });
});

describe("manifest checks", () => {
  it("names mismatched, missing and extra files", async () => {
    const dir = copyModel();
    const bundle = craft(manifestOf(fileResources(dir)));
    writeFileSync(join(dir, "weights.bin"), "tampered");
    rmSync(join(dir, "sub/tokenizer.json"));
    writeFileSync(join(dir, "extra.py"), "import os");
    const r = await verifyModel(dir, withKey(bundle));
    expect([r.status, r.failedStage]).toEqual(["failed", "manifest"]);
    expect(r.files.filter((f) => f.status !== "ok").map((f) => [f.path, f.status])).toEqual([
      ["extra.py", "extra"],
      ["sub/tokenizer.json", "missing"],
      ["weights.bin", "mismatch"],
    ]);
    expect(r.errors[0]).toMatch(/mismatched: weights.bin; missing: sub\/tokenizer.json; extra \(unsigned\): extra.py/);
  });

  it("tolerates unsigned files on request, and honours caller ignore paths", async () => {
    const dir = copyModel();
    const bundle = craft(manifestOf(fileResources(dir)));
    mkdirSync(join(dir, "cache"));
    writeFileSync(join(dir, "cache/x.bin"), "x");
    const loose = await verifyModel(dir, withKey(bundle, { ignoreUnsignedFiles: true }));
    expect(loose.status).toBe("verified");
    expect(loose.files.find((f) => f.path === "cache/x.bin")?.status).toBe("unsigned");
    expect((await verifyModel(dir, withKey(bundle, { ignorePaths: ["cache"] }))).status).toBe("verified");
    expect((await verifyModel(dir, withKey(bundle))).failedStage).toBe("manifest");
  });

  it("ignores the defaults at the top level only, the recorded ignore paths and the signature file", async () => {
    const dir = copyModel();
    const bundle = craft(manifestOf(fileResources(dir), { ignore_paths: ["notes"] }));
    mkdirSync(join(dir, ".git"));
    writeFileSync(join(dir, ".git/HEAD"), "ref");
    writeFileSync(join(dir, ".gitignore"), "*.tmp");
    writeFileSync(join(dir, "notes"), "n");
    writeFileSync(join(dir, "model.sig"), JSON.stringify(bundle));
    const r = await verifyModel(dir, { publicKey });
    expect(r.errors).toEqual([]);
    expect(r.status).toBe("verified");
    mkdirSync(join(dir, "sub/.git"));
    writeFileSync(join(dir, "sub/.git/HEAD"), "ref");
    const nested = await verifyModel(dir, { publicKey });
    expect(nested.files.find((f) => f.path === "sub/.git/HEAD")?.status).toBe("extra");
  });

  it("applies the recorded symlink policy", async () => {
    const dir = copyModel();
    symlinkSync("weights.bin", join(dir, "link.bin"));
    const names = [...SIGNED_FILES, "link.bin"];
    const strict = await verifyModel(dir, withKey(craft(manifestOf(fileResources(dir, names)))));
    expect([strict.status, strict.failedStage]).toEqual(["failed", "manifest"]);
    expect(strict.files.find((f) => f.path === "link.bin")?.reason).toMatch(/symbolic link/);
    const allowed = await verifyModel(
      dir,
      withKey(craft(manifestOf(fileResources(dir, names), { allow_symlinks: true }))),
    );
    expect(allowed.status).toBe("verified");
  });

  it("names a single-file model by '.' or by its basename", async () => {
    const file = join(MODEL, "weights.bin");
    const digest = sha(readFileSync(file));
    for (const name of [".", "weights.bin"]) {
      const r = await verifyModel(file, withKey(craft(manifestOf([{ name, digest }]))));
      expect(r.status).toBe("verified");
    }
    const wrong = await verifyModel(file, withKey(craft(manifestOf([{ name: "other.bin", digest }]))));
    expect(wrong.failedStage).toBe("manifest");
  });

  it("reports unsigned when there is no signature", async () => {
    const r = await verifyModel(copyModel(), { publicKey });
    expect(r.status).toBe("unsigned");
  });
});
