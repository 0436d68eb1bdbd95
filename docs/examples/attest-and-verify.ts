// Scans a model directory, signs the scan's decision as an in-toto attestation (a SLSA
// verification summary) with a fresh P-256 key, saves the key pair for the CLI, and verifies the
// attestation against the directory with the library.
// Usage: node attest-and-verify.ts <model-dir>
import { generateKeyPairSync } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { scan, verifyAttestation } from "modelgate";
import { attest } from "modelgate/signing";

const [model = "models/old-bert"] = process.argv.slice(2);

const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
await writeFile("attest.key.pem", privateKey.export({ type: "pkcs8", format: "pem" }));
await writeFile("attest.pub.pem", publicKey.export({ type: "spki", format: "pem" }));

const report = await scan(model);
const { bundle, statement } = attest(report, { privateKey });
const result = statement.predicate.verificationResult;
console.log(`attested ${statement.subject.length} files: ${result} (verdict ${report.verdict})`);

const checked = await verifyAttestation(bundle, model, {
  publicKey,
  requirePassed: true,
  maxAge: 7 * 24 * 60 * 60 * 1000,
});
console.log(`verify: ${checked.status}${checked.failedStage ? ` at ${checked.failedStage}` : ""}`);
for (const error of checked.errors) console.log(`  ${error}`);
process.exitCode = checked.status === "verified" ? 0 : 1;
