// Signs what the mirror publishes: scans a repository at a pinned commit reading every byte,
// downloads exactly that commit into the mirror's store, checks each file against the digest the
// scan verified, signs the copy with the mirror's key (OpenSSF Model Signing, key method) and
// verifies the signature before serving it.
// Usage: node mirror-sign.ts <hf://owner/name[@revision]> <store-dir> <mirror-key.pem>
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";
import { parseHubUri, resolveHubSettings, scan, signModel as sign, verifyModel } from "modelgate";
import { decide } from "./mirror-decide.ts";

const [uri, store, keyFile] = process.argv.slice(2);
if (uri === undefined || store === undefined || keyFile === undefined) {
  console.error("usage: node mirror-sign.ts <hf://owner/name[@revision]> <store-dir> <mirror-key.pem>");
  process.exit(2);
}

// 1. Scan at a pinned commit, every byte read and checked against the digest the commit pins.
const { repo, revision } = parseHubUri(uri);
const report = await scan({ hub: { repo, ...(revision === undefined ? {} : { revision }), verify: "full" } });
const decision = decide(report);
if (decision.action !== "publish") {
  console.log(`${decision.action} ${decision.subject}: ${decision.reason}`);
  process.exit(1);
}
const commit = report.target.hub!.commit;

// 2. Download that commit, not the revision: the bytes served are the bytes scanned.
const { hubUrl, token } = await resolveHubSettings({});
const dir = join(store, `${repo}@${commit}`);
for (const file of report.files) {
  const response = await fetch(`${hubUrl}/${repo}/resolve/${commit}/${file.path}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  if (!response.ok || response.body === null) throw new Error(`${file.path}: HTTP ${response.status}`);
  const hash = createHash("sha256");
  const target = join(dir, file.path);
  await mkdir(dirname(target), { recursive: true });
  await pipeline(
    Readable.fromWeb(response.body as ReadableStream<Uint8Array>),
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    }),
    createWriteStream(target),
  );
  if (hash.digest("hex") !== file.sha256)
    throw new Error(`${file.path}: downloaded bytes differ from the scanned ones`);
}

// 3. Sign the copy with the mirror's key (made on first use; keep it in your secret store), then
// verify it the way consumers will, with the public key alone.
if (!existsSync(keyFile)) {
  const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
  await writeFile(keyFile, pair.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  await writeFile(
    keyFile.replace(/(\.key)?\.pem$/, ".pub.pem"),
    pair.publicKey.export({ type: "spki", format: "pem" }),
  );
}
const privateKey = createPrivateKey(await readFile(keyFile));
const signed = await sign(dir, { privateKey });
const result = await verifyModel(dir, { publicKey: createPublicKey(privateKey) });
console.log(`signed ${signed.resources} files of ${decision.subject} -> ${signed.path}`);
console.log(`verify: ${result.status} (${result.method}, key sha256:${result.signer?.keyFingerprint})`);
process.exitCode = result.status === "verified" ? 0 : 1;
