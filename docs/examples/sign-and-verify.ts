// Signs a model directory in the OpenSSF Model Signing format with a fresh P-256 key, saves the
// key pair for the CLI, and verifies the signature with the library.
// Usage: node sign-and-verify.ts <model-dir>
import { generateKeyPairSync } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { signModel, verifyModel } from "modelgate";

const [model = "models/old-bert"] = process.argv.slice(2);

const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
await writeFile("signer.key.pem", privateKey.export({ type: "pkcs8", format: "pem" }));
await writeFile("signer.pub.pem", publicKey.export({ type: "spki", format: "pem" }));

const signed = await signModel(model, { privateKey });
console.log(`signed ${signed.resources} files, root sha256:${signed.rootDigest} -> ${signed.path}`);

const result = await verifyModel(model, { publicKey });
console.log(`verify: ${result.status} (${result.method}, key sha256:${result.signer?.keyFingerprint})`);
for (const file of result.files) console.log(`  ${file.status.padEnd(8)} ${file.path}`);
process.exitCode = result.status === "verified" ? 0 : 1;
