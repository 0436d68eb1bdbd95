/**
 * `modelgate verify <model>`: verifies an OpenSSF Model Signing signature.
 * @module
 */
import { parseArgs } from "../../core/node-util.js";
import type { SignatureVerification } from "../../integrity/oms/result.js";
import { refreshTrustedRoot } from "../../integrity/oms/trusted-root.js";
import { type VerifyOptions, verifyModel } from "../../integrity/oms/verify.js";
import { escapeForTerminal as e, escapeJsonForTerminal } from "../../report/render/escape.js";
import { describeJsonError, readNamedFile, writeFileSafely } from "../../sources/safe-write.js";
import { type CliIO, type Command, EXIT, stylizeFor, UsageError } from "../io.js";
import { type ArgToken, splitVariadic } from "../variadic.js";

const USAGE = `Usage: modelgate verify <model> [options]

Verifies a model directory (or single file) against its OpenSSF Model Signing (OMS) signature,
offline. The signing method is read from the signature; supply the matching trust material:

  key          --public-key PEM
  certificate  --certificate-chain PEM...   (trust anchors; system roots are never used)
  sigstore     --identity ID --issuer URL [--trusted-root FILE]
               (default trust root: the public-good Sigstore snapshot shipped with modelgate)

Options:
  --signature FILE             signature file (default <model>/model.sig)
  --public-key PEM             public key file (P-256, P-384 or P-521)
  --certificate-chain PEM...   CA certificate files to trust (several, or repeated; a file may hold several)
  --certificate-subject S      require this leaf subject (certificate method)
  --certificate-san V          require this subject alternative name (certificate method), by
                               type: alice@corp.com matches an email SAN, https://... (any
                               scheme) a URI SAN; DNS names and IPs only as dns:NAME / ip:ADDR
                               (email:V and uri:V name the type explicitly too)
  --certificate-fingerprint H  require this SHA-256 leaf fingerprint (certificate method)
  --identity ID                signer identity (email or URI), matched exactly
  --issuer URL                 OIDC issuer, matched exactly
  --trusted-root FILE          Sigstore TrustedRoot or ClientTrustConfig JSON
  --refresh-trusted-root FILE  fetch the current public-good root over TUF (network), save it to
                               FILE and use it
  --ignore-paths PATH...       paths (relative to the model) to leave out (several, or repeated)
  --ignore-unsigned-files      files not in the signature do not fail verification
  --no-legacy                  reject model_signing 0.2 signatures
  --format text|json           output format (default text)
  -h, --help                   show this help

Exit codes: 0 verified; 1 verification failed (or no signature); 2 error or usage error.`;

function collect(values: (string | boolean)[] | undefined): string[] {
  return (values ?? []).filter((v): v is string => typeof v === "string");
}

function renderText(result: SignatureVerification, io: CliIO): string {
  const style = stylizeFor(io, io.stdoutIsTTY);
  const lines: string[] = [];
  const head =
    result.status === "verified"
      ? style("green", "VERIFIED")
      : result.status === "unsigned"
        ? style("yellow", "UNSIGNED")
        : style("red", "FAILED");
  lines.push(`Signature: ${head}${result.method ? ` (${e(result.method)})` : ""}`);
  if (result.signaturePath) lines.push(`File: ${result.signaturePath}`);
  if (result.failedStage) lines.push(`Failed at: ${result.failedStage}`);
  for (const e of result.errors) lines.push(`Error: ${e}`);
  const s = result.signer;
  if (s?.identity)
    lines.push(`Signer: ${s.identity} (issuer ${s.issuer ?? "?"})${s.signedAt ? ` at ${s.signedAt}` : ""}`);
  if (s?.certificateSubject) lines.push(`Certificate: ${s.certificateSubject} (anchor ${s.anchor ?? "?"})`);
  if (s?.keyFingerprint) lines.push(`Key: sha256:${s.keyFingerprint}`);
  if (result.serialization) {
    const z = result.serialization;
    lines.push(`Serialization: ${z.method}, ${z.hashType}${z.shardSize ? `, shards of ${z.shardSize} bytes` : ""}`);
  }
  for (const w of result.warnings) lines.push(`Warning: ${w}`);
  const counts = new Map<string, number>();
  for (const f of result.files) counts.set(f.status, (counts.get(f.status) ?? 0) + 1);
  if (result.files.length > 0) lines.push(`Files: ${[...counts].map(([k, v]) => `${v} ${k}`).join(", ")}`);
  for (const f of result.files) {
    if (f.status === "ok") continue;
    lines.push(`  ${f.status.padEnd(8)} ${f.path}${f.reason ? ` (${f.reason})` : ""}`);
  }
  // Paths, identities, errors and warnings come from the signature and the model: every line after
  // the (styled) first is escaped whole, so none can add lines or control the terminal.
  return `${lines.map((line, i) => (i === 0 ? line : e(line))).join("\n")}\n`;
}

/** `modelgate verify`. */
export const verifyCommand: Command = {
  summary: "verify a model's OpenSSF Model Signing signature",
  usage: USAGE,
  async run(args, io) {
    const parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      tokens: true,
      options: {
        signature: { type: "string" },
        "public-key": { type: "string" },
        "certificate-chain": { type: "string", multiple: true },
        "certificate-subject": { type: "string" },
        "certificate-san": { type: "string" },
        "certificate-fingerprint": { type: "string" },
        identity: { type: "string" },
        issuer: { type: "string" },
        "trusted-root": { type: "string" },
        "refresh-trusted-root": { type: "string" },
        "ignore-paths": { type: "string", multiple: true },
        "ignore-unsigned-files": { type: "boolean", default: false },
        "no-legacy": { type: "boolean", default: false },
        format: { type: "string", default: "text" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    const { extra, positionals } = splitVariadic(parsed.tokens as ArgToken[], ["certificate-chain", "ignore-paths"], 1);
    const values = {
      ...parsed.values,
      "certificate-chain": [...(parsed.values["certificate-chain"] ?? []), ...(extra["certificate-chain"] ?? [])],
      "ignore-paths": [...(parsed.values["ignore-paths"] ?? []), ...(extra["ignore-paths"] ?? [])],
    };
    if (values.help) {
      io.stdout(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (values.format !== "text" && values.format !== "json") throw new UsageError("--format must be text or json");
    if (positionals.length !== 1) throw new UsageError("verify needs exactly one model path");
    if ((values.identity === undefined) !== (values.issuer === undefined)) {
      throw new UsageError("--identity and --issuer go together");
    }
    if (values["trusted-root"] !== undefined && values["refresh-trusted-root"] !== undefined) {
      throw new UsageError("--trusted-root and --refresh-trusted-root are exclusive");
    }
    const read = (path: string, what: string) => readNamedFile(path, what);
    const options: VerifyOptions = { signal: io.signal, ignoreUnsignedFiles: values["ignore-unsigned-files"] };
    if (values.signature !== undefined) options.signaturePath = values.signature;
    if (values["public-key"] !== undefined) options.publicKey = await read(values["public-key"], "public key");
    const chain = collect(values["certificate-chain"]);
    if (chain.length > 0) options.certificateChain = await Promise.all(chain.map((path) => read(path, "certificate")));
    const policy = {
      ...(values["certificate-subject"] === undefined ? {} : { subject: values["certificate-subject"] }),
      ...(values["certificate-san"] === undefined ? {} : { subjectAlternativeName: values["certificate-san"] }),
      ...(values["certificate-fingerprint"] === undefined ? {} : { fingerprint: values["certificate-fingerprint"] }),
    };
    if (Object.keys(policy).length > 0) options.certificatePolicy = policy;
    if (values.identity !== undefined && values.issuer !== undefined) {
      options.identity = values.identity;
      options.issuer = values.issuer;
    }
    if (values["trusted-root"] !== undefined) {
      const text = await read(values["trusted-root"], "trusted root");
      try {
        options.trustedRoot = JSON.parse(text) as Record<string, unknown>;
      } catch (error) {
        if (error instanceof SyntaxError)
          throw new UsageError(`--trusted-root: not JSON (${describeJsonError(error, Buffer.byteLength(text))})`);
        throw error;
      }
    }
    if (values["refresh-trusted-root"] !== undefined) {
      const root = await refreshTrustedRoot();
      await writeFileSafely(values["refresh-trusted-root"], `${JSON.stringify(root, null, 2)}\n`, {
        what: "trusted root",
      });
      options.trustedRoot = root;
    }
    const ignore = collect(values["ignore-paths"]);
    if (ignore.length > 0) options.ignorePaths = ignore;
    if (values["no-legacy"]) options.allowLegacy = false;
    const result = await verifyModel(positionals[0] as string, options);
    io.stdout(
      values.format === "json" ? `${escapeJsonForTerminal(JSON.stringify(result, null, 2))}\n` : renderText(result, io),
    );
    return result.status === "verified" ? EXIT.ok : EXIT.findings;
  },
};
