/**
 * `modelgate verify-attestation <attestation> <target>`: checks a scan attestation's signature,
 * its requirements and the files of the target against it.
 * @module
 */
import { isAbsolute, relative, resolve, sep } from "node:path";
import { isModelgateError } from "../../core/errors.js";
import { parseArgs } from "../../core/node-util.js";
import { DEFAULT_VERIFIER_ID, SCAN_EXTENSION_KEY } from "../../integrity/attest/statement.js";
import { verdictOption } from "../../integrity/attest/verdict.js";
import {
  type AttestationTarget,
  type AttestationVerification,
  MAX_ATTESTATION_BYTES,
  parseDuration,
  type VerifyAttestationOptions,
  verifyAttestation,
} from "../../integrity/attest/verify.js";
import { escapeForTerminal as e, escapeJsonForTerminal } from "../../report/render/escape.js";
import { parseHubUri } from "../../sources/hub/config.js";
import type { HubTarget } from "../../sources/hub/root.js";
import { readFileSafely, readNamedFile, UnsafePathError } from "../../sources/safe-write.js";
import { type CliIO, type Command, cwdOf, EXIT, stylizeFor, UsageError } from "../io.js";
import { type ArgToken, splitVariadic } from "../variadic.js";

const USAGE = `Usage: modelgate verify-attestation <attestation> <dir|file|hf://owner/name@revision> [options]

Verifies a scan attestation ('modelgate attest', 'modelgate scan --attest') offline: its signature
with the trust material you supply (never material from the bundle), its statement, your
requirements, then the SHA-256 of exactly the target's files against the attested ones: a changed,
missing or added file fails. An hf:// target is downloaded whole to be hashed.

Options:
  --public-key PEM             public key (key method)
  --certificate-chain PEM...   CA certificates to trust (certificate method; several, or repeated)
  --certificate-subject S      require this leaf subject, e.g. 'CN=mirror, O=acme' (certificate method)
  --certificate-san V          require this subject alternative name, by type: alice@corp.com
                               an email SAN, https://... (any scheme) a URI SAN; DNS names and
                               IPs only as dns:NAME / ip:ADDR
  --certificate-fingerprint H  require this SHA-256 leaf fingerprint (certificate method)
  --identity ID --issuer URL   Sigstore (keyless) signer, matched exactly
  --trusted-root FILE          Sigstore TrustedRoot JSON (default: shipped public-good snapshot)
  --allow-failed               verify an attestation of a scan that did not pass (its result is
                               reported; by default only a PASSED result verifies)
  --require-passed             fail unless the attested result is PASSED (the default)
  --max-verdict VERDICT        fail unless the attested verdict is at most VERDICT (clean,
                               suspicious, invalid, malicious): --max-verdict clean refuses a
                               suspicious scan that the attester let pass (--pass-on suspicious)
  --policy-digest HEX          require this policy hash (report.policy.hash)
  --max-age DURATION           fail when scanned longer ago than this (90s, 30m, 12h, 7d, 2w)
  --verifier-id URI            accepted verifier id (repeatable; default ${DEFAULT_VERIFIER_ID})
  --allow-extra-files          files of the target the attestation does not name do not fail
  --hub-url URL                Hub endpoint (default HF_ENDPOINT or https://huggingface.co)
  --format text|json           output format (default text)
  -h, --help                   show this help

Exit codes: 0 verified; 1 verification failed; 2 error or usage error.`;

function renderText(result: AttestationVerification, io: CliIO): string {
  const style = stylizeFor(io, io.stdoutIsTTY);
  const lines: string[] = [];
  lines.push(
    `Attestation: ${result.status === "verified" ? style("green", "VERIFIED") : style("red", "FAILED")}${result.method ? ` (${result.method})` : ""}`,
  );
  if (result.failedStage) lines.push(`Failed at: ${result.failedStage}`);
  for (const x of result.errors) lines.push(`Error: ${x}`);
  const s = result.signer;
  if (s?.identity) lines.push(`Signer: ${s.identity} (issuer ${s.issuer ?? "?"})`);
  if (s?.certificateSubject) lines.push(`Certificate: ${s.certificateSubject} (anchor ${s.anchor ?? "?"})`);
  if (s?.keyFingerprint) lines.push(`Key: sha256:${s.keyFingerprint}`);
  const p = result.statement?.predicate;
  if (p !== undefined) {
    const ext = p[SCAN_EXTENSION_KEY];
    lines.push(
      `Result: ${p.verificationResult} (verdict ${ext.verdict}, pass on ${ext.passThreshold}${ext.complete ? "" : ", incomplete scan"})`,
    );
    lines.push(`Scanned: ${p.timeVerified} by ${p.verifier.id} (modelgate ${ext.toolVersion})`);
    lines.push(`Resource: ${p.resourceUri}`);
    lines.push(`Policy: sha256:${p.policy.digest.sha256} (${p.policy.uri})`);
  }
  for (const w of result.warnings) lines.push(`Warning: ${w}`);
  const counts = new Map<string, number>();
  for (const f of result.files) counts.set(f.status, (counts.get(f.status) ?? 0) + 1);
  if (result.files.length > 0) lines.push(`Files: ${[...counts].map(([k, v]) => `${v} ${k}`).join(", ")}`);
  for (const f of result.files) {
    if (f.status !== "ok") lines.push(`  ${f.status.padEnd(8)} ${f.path}${f.reason ? ` (${f.reason})` : ""}`);
  }
  // Everything after the styled first line may come from the attestation or the target: escaped.
  return `${lines.map((line, i) => (i === 0 ? line : e(line))).join("\n")}\n`;
}

/** `modelgate verify-attestation`. */
export const verifyAttestationCommand: Command = {
  summary: "verify a scan attestation against a model's files",
  usage: USAGE,
  async run(args, io) {
    const parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      tokens: true,
      options: {
        "public-key": { type: "string" },
        "certificate-chain": { type: "string", multiple: true },
        "certificate-subject": { type: "string" },
        "certificate-san": { type: "string" },
        "certificate-fingerprint": { type: "string" },
        identity: { type: "string" },
        issuer: { type: "string" },
        "trusted-root": { type: "string" },
        "require-passed": { type: "boolean", default: false },
        "allow-failed": { type: "boolean", default: false },
        "max-verdict": { type: "string" },
        "policy-digest": { type: "string" },
        "max-age": { type: "string" },
        "verifier-id": { type: "string", multiple: true },
        "allow-extra-files": { type: "boolean", default: false },
        "hub-url": { type: "string" },
        format: { type: "string", default: "text" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    const { extra, positionals } = splitVariadic(parsed.tokens as ArgToken[], ["certificate-chain"]);
    const values = parsed.values;
    if (values.help) {
      io.stdout(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (values.format !== "text" && values.format !== "json") throw new UsageError("--format must be text or json");
    if (positionals.length !== 2) throw new UsageError("verify-attestation needs an attestation file and a target");
    if ((values.identity === undefined) !== (values.issuer === undefined)) {
      throw new UsageError("--identity and --issuer go together");
    }
    if (values["allow-failed"] && values["require-passed"]) {
      throw new UsageError("--allow-failed and --require-passed contradict each other");
    }
    const chain = [...(values["certificate-chain"] ?? []), ...(extra["certificate-chain"] ?? [])];
    if (values["public-key"] === undefined && chain.length === 0 && values.identity === undefined) {
      throw new UsageError("give the trust material: --public-key, --certificate-chain or --identity/--issuer");
    }
    const options: VerifyAttestationOptions = {
      signal: io.signal,
      requirePassed: !values["allow-failed"],
      allowExtraFiles: values["allow-extra-files"],
    };
    if (values["max-verdict"] !== undefined) {
      // the API's check, its message naming the flag, shown as a usage error
      try {
        options.maxVerdict = verdictOption(values["max-verdict"], "--max-verdict");
      } catch (error) {
        if (!isModelgateError(error, "INVALID_ARGUMENT")) throw error;
        throw new UsageError(error.message);
      }
    }
    if (values["policy-digest"] !== undefined) {
      if (!/^[0-9a-fA-F]{64}$/.test(values["policy-digest"]))
        throw new UsageError("--policy-digest must be 64 hex digits");
      options.policyDigest = values["policy-digest"].toLowerCase();
    }
    if (values["max-age"] !== undefined) {
      const ms = parseDuration(values["max-age"]);
      if (ms === undefined) throw new UsageError("--max-age must be a duration such as 90s, 30m, 12h, 7d or 2w");
      options.maxAge = ms;
    }
    if (values["verifier-id"] !== undefined) options.verifierId = values["verifier-id"];
    if (values["public-key"] !== undefined) options.publicKey = await readNamedFile(values["public-key"], "public key");
    if (chain.length > 0)
      options.certificateChain = await Promise.all(chain.map((p) => readNamedFile(p, "certificate")));
    const policy = {
      ...(values["certificate-subject"] === undefined ? {} : { subject: values["certificate-subject"] }),
      ...(values["certificate-san"] === undefined ? {} : { subjectAlternativeName: values["certificate-san"] }),
      ...(values["certificate-fingerprint"] === undefined ? {} : { fingerprint: values["certificate-fingerprint"] }),
    };
    if (Object.keys(policy).length > 0) {
      if (chain.length === 0) throw new UsageError("--certificate-subject/-san/-fingerprint need --certificate-chain");
      options.certificatePolicy = policy;
    }
    if (values.identity !== undefined && values.issuer !== undefined) {
      options.identity = values.identity;
      options.issuer = values.issuer;
    }
    if (values["trusted-root"] !== undefined) {
      const text = await readNamedFile(values["trusted-root"], "trusted root");
      try {
        options.trustedRoot = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw new UsageError("--trusted-root is not JSON");
      }
    }
    const cwd = cwdOf(io);
    const [bundlePath, targetArg] = positionals as [string, string];
    const fullBundle = resolve(cwd ?? ".", bundlePath);
    let target: AttestationTarget;
    if (targetArg.startsWith("hf://")) {
      let hub: HubTarget;
      try {
        const uri = parseHubUri(targetArg);
        hub = { repo: uri.repo, verify: "full", env: io.env };
        if (uri.revision !== undefined) hub.revision = uri.revision;
        if (uri.path !== undefined) hub.paths = [uri.path];
      } catch (error) {
        throw new UsageError(isModelgateError(error) ? error.message : String(error));
      }
      if (values["hub-url"] !== undefined) hub.hubUrl = values["hub-url"];
      target = { hub };
    } else {
      const dir = resolve(cwd ?? ".", targetArg);
      target = dir;
      // The attestation kept inside the model is not one of its files.
      const inside = relative(dir, fullBundle);
      if (inside !== "" && !inside.startsWith(`..${sep}`) && inside !== ".." && !isAbsolute(inside)) {
        options.excludePaths = [inside.split(sep).join("/")];
      }
    }
    let result: AttestationVerification;
    let bytes: Buffer | undefined;
    try {
      bytes = await readFileSafely(fullBundle, { maxBytes: MAX_ATTESTATION_BYTES, what: "attestation" });
    } catch (error) {
      if (!(error instanceof UnsafePathError)) throw error;
      bytes = undefined;
      result = { status: "failed", failedStage: "parse", errors: [error.message], warnings: [], files: [] };
      io.stdout(
        values.format === "json"
          ? `${escapeJsonForTerminal(JSON.stringify(result, null, 2))}\n`
          : renderText(result, io),
      );
      return EXIT.findings;
    }
    if (bytes === undefined) throw new UsageError(`attestation ${bundlePath} does not exist`);
    result = await verifyAttestation(bytes, target, options);
    io.stdout(
      values.format === "json" ? `${escapeJsonForTerminal(JSON.stringify(result, null, 2))}\n` : renderText(result, io),
    );
    return result.status === "verified" ? EXIT.ok : EXIT.findings;
  },
};
