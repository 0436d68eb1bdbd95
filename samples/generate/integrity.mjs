#!/usr/bin/env node
// Generates samples/integrity/: keys, a test PKI, a small model, and OMS signatures made
// independently of modelgate's own signer:
//   - key and certificate methods: manifest built here, PAE signed by `openssl dgst` with the
//     curve's hash (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512);
//   - sigstore (keyless): @sigstore/mock's Fulcio CA + CT log + Rekor log, and a matching test
//     TrustedRoot (no network).
// Needs openssl (3.x) on PATH, Node >= 22 and the devDependency @sigstore/mock.
// Run: npx node samples/generate/integrity.mjs (keys are new on every run; commit the outputs together).
import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { initializeCA, initializeCTLog, initializeTLog } from "@sigstore/mock";
import { createBLAKE3 } from "hash-wasm";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "integrity");
const tmp = join(root, ".tmp");
rmSync(root, { recursive: true, force: true });
for (const d of ["keys", "pki", "model/sub", "signatures", "keyless"]) mkdirSync(join(root, d), { recursive: true });
mkdirSync(tmp, { recursive: true });
const ossl = (...args) => execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] });
const write = (p, data) => writeFileSync(join(root, p), data);

// ---- keys -------------------------------------------------------------------------------
for (const [name, curve] of [["p256", "prime256v1"], ["p384", "secp384r1"], ["p521", "secp521r1"], ["other-p256", "prime256v1"]]) {
  ossl("genpkey", "-algorithm", "EC", "-pkeyopt", `ec_paramgen_curve:${curve}`, "-out", join(root, "keys", `${name}.key.pem`));
  ossl("pkey", "-in", join(root, "keys", `${name}.key.pem`), "-pubout", "-out", join(root, "keys", `${name}.pub.pem`));
}
ossl("genpkey", "-algorithm", "ED25519", "-out", join(tmp, "ed.key"));
ossl("pkey", "-in", join(tmp, "ed.key"), "-pubout", "-out", join(root, "keys", "ed25519.pub.pem"));

// ---- test PKI: root (P-384) -> intermediate (P-384) -> leaves (P-256) ----------------------
const ext = (body) => {
  const p = join(tmp, `ext-${Math.random().toString(36).slice(2)}.cnf`);
  writeFileSync(p, body);
  return p;
};
const caExt = ext("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n");
const intExt = ext(
  "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
);
const leafExt = ext(
  "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\nsubjectAltName=email:signer@example.com,URI:https://example.com/signer\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
);
const noUsageExt = ext(
  "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
);
function selfSigned(name, subject) {
  ossl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp384r1", "-out", join(tmp, `${name}.key`));
  ossl("req", "-new", "-x509", "-key", join(tmp, `${name}.key`), "-subj", subject, "-days", "7300", "-sha384",
    "-extensions", "v3_ca", "-config", ext(`[req]\ndistinguished_name=dn\n[dn]\n[v3_ca]\n${readFileSync(caExt, "utf8")}`),
    "-out", join(root, "pki", `${name}.pem`));
}
function issue(name, subject, issuer, extFile, { curve = "prime256v1", start, end, days = 7300 } = {}) {
  ossl("genpkey", "-algorithm", "EC", "-pkeyopt", `ec_paramgen_curve:${curve}`, "-out", join(root, "pki", `${name}.key.pem`));
  ossl("req", "-new", "-key", join(root, "pki", `${name}.key.pem`), "-subj", subject, "-out", join(tmp, `${name}.csr`));
  const caKey = join(tmp, `${issuer}.key`);
  if (start) {
    // openssl 3.0's x509 cannot set dates in the past: use a throwaway `openssl ca` database.
    writeFileSync(join(tmp, "index.txt"), "");
    writeFileSync(join(tmp, "serial"), "1000\n");
    const cnf = ext(
      `[ca]\ndefault_ca=d\n[d]\ndatabase=${join(tmp, "index.txt")}\nnew_certs_dir=${tmp}\nserial=${join(tmp, "serial")}\ndefault_md=sha384\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\norganizationName=optional\n`,
    );
    ossl("ca", "-batch", "-notext", "-config", cnf, "-cert", join(root, "pki", `${issuer}.pem`), "-keyfile", caKey,
      "-in", join(tmp, `${name}.csr`), "-startdate", start, "-enddate", end, "-extfile", extFile,
      "-out", join(root, "pki", `${name}.pem`));
    return;
  }
  ossl("x509", "-req", "-in", join(tmp, `${name}.csr`), "-CA", join(root, "pki", `${issuer}.pem`), "-CAkey", caKey,
    "-set_serial", String(Math.floor(Math.random() * 1e9)), "-sha384", "-extfile", extFile, "-days", String(days),
    "-out", join(root, "pki", `${name}.pem`));
}
selfSigned("root-ca", "/CN=modelgate test root CA/O=modelgate tests");
selfSigned("other-root-ca", "/CN=unrelated root CA/O=modelgate tests");
// The intermediate's key must be usable as -CAkey: keep it in tmp like the roots.
ossl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp384r1", "-out", join(tmp, "intermediate-ca.key"));
ossl("req", "-new", "-key", join(tmp, "intermediate-ca.key"), "-subj", "/CN=modelgate test intermediate CA/O=modelgate tests", "-out", join(tmp, "int.csr"));
ossl("x509", "-req", "-in", join(tmp, "int.csr"), "-CA", join(root, "pki", "root-ca.pem"), "-CAkey", join(tmp, "root-ca.key"),
  "-set_serial", "1001", "-sha384", "-extfile", intExt, "-days", "7300", "-out", join(root, "pki", "intermediate-ca.pem"));
issue("leaf", "/CN=model signer/O=modelgate tests", "intermediate-ca", leafExt);
issue("leaf-p384", "/CN=model signer p384/O=modelgate tests", "intermediate-ca", leafExt, { curve: "secp384r1" });
issue("leaf-expired", "/CN=expired signer/O=modelgate tests", "intermediate-ca", leafExt, {
  start: "20200101000000Z",
  end: "20210101000000Z",
});
issue("leaf-no-usage", "/CN=server not signer/O=modelgate tests", "intermediate-ca", noUsageExt);

// ---- a small model ----------------------------------------------------------------------
function bytes(n, seed) {
  const out = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
write("model/config.json", `${JSON.stringify({ architectures: ["TinyModel"], hidden_size: 16 }, null, 2)}\n`);
write("model/weights.bin", bytes(200_000, 1));
write("model/sub/tokenizer.json", `${JSON.stringify({ version: "1.0", vocab: { a: 0, b: 1 } })}\n`);
write("model/sub/__init__.py", "");
write("model/.gitattributes", "# a top-level .gitattributes: OMS leaves it out of signatures by default\n");

// ---- manifests and signatures, built here independently of src/ ---------------------------
const cmp = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));
function listFiles(dir, ignore) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const rel = relative(dir, p).split("\\").join("/");
      if (ignore.some((i) => rel === i || rel.startsWith(`${i}/`))) continue;
      if (statSync(p).isDirectory()) walk(p);
      else out.push(rel);
    }
  };
  walk(dir);
  return out.sort(cmp);
}
async function digest(alg, data) {
  if (alg === "blake3") {
    const h = await createBLAKE3();
    h.init();
    h.update(data);
    return h.digest("hex");
  }
  return createHash(alg === "sha256" ? "sha256" : "blake2b512").update(data).digest("hex");
}
const DEFAULT_IGNORES = [".git", ".gitattributes", ".github", ".gitignore"];
async function statement(modelDir, { hash = "sha256", shardSize, ignore = [] } = {}) {
  const ignorePaths = [...DEFAULT_IGNORES, ...ignore, "model.sig"].sort(cmp);
  const resources = [];
  for (const rel of listFiles(modelDir, ignorePaths)) {
    const data = readFileSync(join(modelDir, rel));
    if (shardSize === undefined) resources.push({ name: rel, digest: await digest(hash, data), algorithm: hash });
    else {
      for (let s = 0; s < data.length; s += shardSize) {
        const e = Math.min(data.length, s + shardSize);
        resources.push({ name: `${rel}:${s}:${e}`, digest: await digest(hash, data.subarray(s, e)), algorithm: hash });
      }
    }
  }
  resources.sort((a, b) => cmp(a.name, b.name));
  const root = createHash("sha256");
  for (const r of resources) root.update(Buffer.from(r.digest, "hex"));
  return {
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: "model", digest: { sha256: root.digest("hex") } }],
    predicateType: "https://model_signing/signature/v1.0",
    predicate: {
      serialization: {
        method: shardSize === undefined ? "files" : "shards",
        hash_type: hash,
        allow_symlinks: false,
        ...(shardSize === undefined ? {} : { shard_size: shardSize }),
        ignore_paths: ignorePaths,
      },
      resources,
    },
  };
}
const TYPE = "application/vnd.in-toto+json";
function opensslSign(keyFile, digestName, payload) {
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${TYPE.length} ${TYPE} ${payload.length} `), payload]);
  writeFileSync(join(tmp, "pae"), pae);
  return ossl("dgst", `-${digestName}`, "-sign", keyFile, join(tmp, "pae"));
}
function bundle(material, payload, sig) {
  return `${JSON.stringify(
    {
      mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
      verificationMaterial: material,
      dsseEnvelope: { payload: payload.toString("base64"), payloadType: TYPE, signatures: [{ sig: sig.toString("base64"), keyid: "" }] },
    },
    null,
    2,
  )}\n`;
}
const pemOf = (p) => readFileSync(join(root, p), "utf8");
const hint = (pubFile) =>
  createHash("sha256").update(ossl("pkey", "-pubin", "-in", join(root, pubFile))).digest("hex");
const derOf = (pemFile) => ossl("x509", "-in", join(root, pemFile), "-outform", "DER").toString("base64");
const modelDir = join(root, "model");

async function keySigned(out, keyName, digestName, opts) {
  const payload = Buffer.from(JSON.stringify(await statement(modelDir, opts)));
  const sig = opensslSign(join(root, "keys", `${keyName}.key.pem`), digestName, payload);
  write(`signatures/${out}`, bundle({ publicKey: { hint: hint(`keys/${keyName}.pub.pem`) }, tlogEntries: [] }, payload, sig));
}
await keySigned("key-p256.sig", "p256", "sha256");
await keySigned("key-p384.sig", "p384", "sha384");
await keySigned("key-p521.sig", "p521", "sha512");
await keySigned("key-p384-blake2b.sig", "p384", "sha384", { hash: "blake2b" });
await keySigned("key-p256-blake3-shards.sig", "p256", "sha256", { hash: "blake3", shardSize: 65536 });
{
  // Legacy (model_signing < 1.1) layout: publicKey.rawBytes, no hint, keyid null, no ignore_paths.
  const st = await statement(modelDir);
  delete st.predicate.serialization.ignore_paths;
  const payload = Buffer.from(JSON.stringify(st));
  const sig = opensslSign(join(root, "keys", "p384.key.pem"), "sha384", payload);
  const raw = Buffer.from(pemOf("keys/p384.pub.pem")).toString("base64");
  const text = bundle({ publicKey: { rawBytes: raw, keyDetails: "PKIX_ECDSA_P384_SHA_384" } }, payload, sig);
  write("signatures/key-p384-legacy.sig", text.replace('"keyid": ""', '"keyid": null'));
}
{
  // P-384 key signing with SHA-256: what a verifier that ignores the curve would accept.
  const payload = Buffer.from(JSON.stringify(await statement(modelDir)));
  const sig = opensslSign(join(root, "keys", "p384.key.pem"), "sha256", payload);
  write("signatures/key-p384-wrong-hash.sig", bundle({ publicKey: { hint: hint("keys/p384.pub.pem") }, tlogEntries: [] }, payload, sig));
}
async function certSigned(out, leaf, digestName, chain) {
  const payload = Buffer.from(JSON.stringify(await statement(modelDir)));
  const sig = opensslSign(join(root, "pki", `${leaf}.key.pem`), digestName, payload);
  const certificates = chain.map((c) => ({ rawBytes: derOf(`pki/${c}.pem`) }));
  write(`signatures/${out}`, bundle({ x509CertificateChain: { certificates }, tlogEntries: [] }, payload, sig));
}
await certSigned("cert-chain.sig", "leaf", "sha256", ["leaf", "intermediate-ca"]);
await certSigned("cert-chain-p384.sig", "leaf-p384", "sha384", ["leaf-p384", "intermediate-ca"]);
await certSigned("cert-leaf-only.sig", "leaf", "sha256", ["leaf"]);
await certSigned("cert-expired.sig", "leaf-expired", "sha256", ["leaf-expired", "intermediate-ca"]);
await certSigned("cert-no-usage.sig", "leaf-no-usage", "sha256", ["leaf-no-usage", "intermediate-ca"]);

// ---- signed model directories, for scans: intact, tampered, with an unsigned addition, and
// signed with BLAKE2b (P-384 key) so that a scan reports the BLAKE2b digests it verified ------
{
  const { cpSync } = await import("node:fs");
  for (const [name, sig] of [
    ["signed-model", "key-p256.sig"],
    ["tampered-model", "key-p256.sig"],
    ["extra-file-model", "key-p256.sig"],
    ["blake2b-model", "key-p384-blake2b.sig"],
  ]) {
    cpSync(modelDir, join(root, name), { recursive: true });
    writeFileSync(join(root, name, "model.sig"), readFileSync(join(root, "signatures", sig)));
  }
  writeFileSync(join(root, "tampered-model", "weights.bin"), bytes(200_000, 2));
  writeFileSync(join(root, "extra-file-model", "sub", "modeling_evil.py"), "import os\nos.system('id')\n");
  write(
    "expected.json",
    `${JSON.stringify(
      {
        // weights.bin is headerless bytes: format/unknown (suspicious) whatever the signature says
        "integrity/model": {
          verdict: "suspicious",
          rules: ["format/unknown"],
          absentRules: ["integrity/signature-invalid"],
        },
        "integrity/signed-model": {
          verdict: "suspicious",
          rules: ["integrity/signature-unverified", "format/unknown"],
        },
        "integrity/tampered-model": { verdict: "malicious", rules: ["integrity/signed-file-mismatch"] },
        "integrity/extra-file-model": { verdict: "malicious", rules: ["integrity/unsigned-file"] },
        "integrity/blake2b-model": {
          verdict: "suspicious",
          rules: ["integrity/signature-unverified", "format/unknown"],
        },
      },
      null,
      2,
    )}\n`,
  );
}

// ---- keyless: @sigstore/mock Fulcio + CT log + Rekor, and the matching TrustedRoot ----------
const IDENTITY = "https://github.com/modelgate/example/.github/workflows/sign.yml@refs/heads/main";
const ISSUER = "https://token.actions.githubusercontent.com";
{
  const p256 = () => generateKeyPairSync("ec", { namedCurve: "P-256" });
  const ctKeys = p256();
  const caKeys = p256();
  const tlogKeys = p256();
  const ctlog = await initializeCTLog(ctKeys);
  const ca = await initializeCA(caKeys, ctlog);
  const tlog = await initializeTLog("https://rekor.modelgate.test", tlogKeys);
  const signer = p256();
  const leaf = Buffer.from(
    (await ca.issueCertificate({
      publicKey: signer.publicKey.export({ type: "spki", format: "der" }),
      subjectAltName: IDENTITY,
      extensions: [{ oid: "1.3.6.1.4.1.57264.1.8", value: ISSUER }],
    })).buffer,
  );
  const payload = Buffer.from(JSON.stringify(await statement(modelDir)));
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${TYPE.length} ${TYPE} ${payload.length} `), payload]);
  const { sign } = await import("node:crypto");
  const sig = sign("sha256", pae, signer.privateKey);
  const leafPem = `-----BEGIN CERTIFICATE-----\n${leaf.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END CERTIFICATE-----\n`;
  const envelopeJson = JSON.stringify({ payload: payload.toString("base64"), payloadType: TYPE, signatures: [{ sig: sig.toString("base64"), keyid: "" }] });
  // The body Rekor stores for a dsse 0.0.1 entry.
  const body = {
    apiVersion: "0.0.1",
    kind: "dsse",
    spec: {
      envelopeHash: { algorithm: "sha256", value: createHash("sha256").update(envelopeJson).digest("hex") },
      payloadHash: { algorithm: "sha256", value: createHash("sha256").update(payload).digest("hex") },
      signatures: [{ signature: sig.toString("base64"), verifier: Buffer.from(leafPem).toString("base64") }],
    },
  };
  const logged = Object.values(await tlog.log(body))[0];
  const proof = logged.verification.inclusionProof;
  const entry = {
    logIndex: String(logged.logIndex),
    logId: { keyId: Buffer.from(logged.logID, "hex").toString("base64") },
    kindVersion: { kind: "dsse", version: "0.0.1" },
    integratedTime: String(logged.integratedTime),
    inclusionPromise: { signedEntryTimestamp: logged.verification.signedEntryTimestamp },
    inclusionProof: {
      logIndex: String(proof.logIndex),
      rootHash: Buffer.from(proof.rootHash, "hex").toString("base64"),
      treeSize: String(proof.treeSize),
      hashes: proof.hashes,
      checkpoint: { envelope: proof.checkpoint },
    },
    canonicalizedBody: logged.body,
  };
  const keyless = {
    mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    verificationMaterial: { certificate: { rawBytes: leaf.toString("base64") }, tlogEntries: [entry] },
    dsseEnvelope: JSON.parse(envelopeJson),
  };
  write("keyless/model.sig", `${JSON.stringify(keyless, null, 2)}\n`);
  const noTlog = structuredClone(keyless);
  noTlog.verificationMaterial.tlogEntries = [];
  write("keyless/no-tlog.sig", `${JSON.stringify(noTlog, null, 2)}\n`);
  const start = "2020-01-01T00:00:00Z";
  const spki = (k) => k.export({ type: "spki", format: "der" });
  const trustedRoot = {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [{
      baseUrl: "https://rekor.modelgate.test",
      hashAlgorithm: "SHA2_256",
      publicKey: { rawBytes: spki(tlogKeys.publicKey).toString("base64"), keyDetails: "PKIX_ECDSA_P256_SHA_256", validFor: { start } },
      logId: { keyId: createHash("sha256").update(spki(tlogKeys.publicKey)).digest("base64") },
    }],
    certificateAuthorities: [{
      subject: { organization: "sigstore.mock", commonName: "sigstore" },
      uri: "https://fulcio.modelgate.test",
      certChain: { certificates: [{ rawBytes: Buffer.from(ca.rootCertificate.buffer).toString("base64") }] },
      validFor: { start },
    }],
    ctlogs: [{
      baseUrl: "https://ctfe.modelgate.test",
      hashAlgorithm: "SHA2_256",
      publicKey: { rawBytes: Buffer.from(ctlog.publicKey).toString("base64"), keyDetails: "PKIX_ECDSA_P256_SHA_256", validFor: { start } },
      logId: { keyId: Buffer.from(ctlog.logID.buffer).toString("base64") },
    }],
    timestampAuthorities: [],
  };
  write("keyless/trusted_root.json", `${JSON.stringify(trustedRoot, null, 2)}\n`);
  write("keyless/identity.json", `${JSON.stringify({ identity: IDENTITY, issuer: ISSUER }, null, 2)}\n`);
}

rmSync(tmp, { recursive: true, force: true });
process.stderr.write(`wrote ${root}\n`);
