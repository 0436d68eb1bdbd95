/**
 * `modelgate attest <report.json>`: signs a scan report's decision as an in-toto attestation
 * (SLSA verification summary) in a Sigstore bundle.
 * @module
 */
import { realpath } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { isModelgateError } from "../../core/errors.js";
import { parsePlainJson } from "../../core/json.js";
import { parseArgs } from "../../core/node-util.js";
import { type AttestOptions, attest } from "../../integrity/attest/sign.js";
import { type AttestableReport, DEFAULT_VERIFIER_ID, type PassThreshold } from "../../integrity/attest/statement.js";
import { type BundleSigner, createBundleSigner } from "../../integrity/oms/dsse.js";
import { ScanReportSchema } from "../../report/schema.js";
import { describeJsonError, readFileSafely, readNamedFile, writeFileSafely } from "../../sources/safe-write.js";
import { type Command, checkOutputPath, cwdOf, EXIT, UsageError } from "../io.js";
import { type ArgToken, splitVariadic } from "../variadic.js";

const USAGE = `Usage: modelgate attest <report.json> --key PEM [options]

Signs what a scan decided, so that a downstream gate can check "these exact files were scanned by
modelgate under policy P with verdict V" without scanning again: an in-toto statement whose
subjects are the scanned files (SHA-256) and whose predicate is a SLSA verification summary
(PASSED when the scan was complete and its verdict no worse than --pass-on), in a DSSE envelope
inside a Sigstore bundle. Every file of the report needs a SHA-256 (scan with hashing on; remote
targets with --verify full). Verify with 'modelgate verify-attestation'.

Options:
  --key PEM                    EC private key (P-256, P-384 or P-521); --private-key is the same
  --signing-certificate PEM    certificate of that key: sign with the certificate method
  --certificate-chain PEM...   intermediate certificates to include (several, or repeated)
  -o, --output FILE            write the attestation to FILE (default: standard output); checked
                               first, written atomically, never through a link
  --pass-on clean|suspicious   worst verdict that passes (default clean)
  --verifier-id URI            verifier.id (default ${DEFAULT_VERIFIER_ID})
  --resource-uri URI           resourceUri (default: from the report's target)
  -h, --help                   show this help

Exit codes: 0 attested (whatever the verdict: the result is in the attestation); 2 error (a file
without SHA-256, an incomplete report, a bad key) or usage error.`;

/** Largest report read (256 MiB). */
const MAX_REPORT_BYTES = 256 * 1024 * 1024;

/** Signer options shared by `attest` and `scan --attest`. */
export async function loadAttestSigner(values: {
  key?: string | undefined;
  signingCertificate?: string | undefined;
  chain?: readonly string[] | undefined;
}): Promise<BundleSigner> {
  if (values.key === undefined) throw new UsageError("--key is required");
  const chain = values.chain ?? [];
  if (chain.length > 0 && values.signingCertificate === undefined) {
    throw new UsageError("--certificate-chain needs --signing-certificate");
  }
  return createBundleSigner({
    privateKey: await readNamedFile(values.key, "private key"),
    ...(values.signingCertificate === undefined
      ? {}
      : {
          signingCertificate: await readNamedFile(values.signingCertificate, "signing certificate"),
          certificateChain: await Promise.all(chain.map((p) => readNamedFile(p, "certificate"))),
        }),
  });
}

/**
 * Refuses an attestation output inside a local scanned target: compared as written and with links
 * resolved (a folder that is a link to the target, or a target reached through a link), so the
 * attestation is never written among the files it attests.
 * @param flag - the option, for the message
 * @param output - the output path (absolute)
 * @param target - the scanned file or folder (absolute)
 */
export async function checkOutsideTarget(flag: string, output: string, target: string): Promise<void> {
  const inside = (dir: string, file: string) => {
    const r = relative(dir, file);
    return r === "" || (r !== ".." && !r.startsWith(`..${sep}`) && !isAbsolute(r));
  };
  const real = (p: string) => realpath(p).catch(() => p);
  const realOutput = join(await real(dirname(output)), basename(output));
  if (inside(target, output) || inside(await real(target), realOutput)) {
    throw new UsageError(`${flag} FILE must be outside the scanned target (it would be scanned as one of its files)`);
  }
}

/**
 * Reads the pass threshold flag.
 * @param value - the flag's value
 */
export function passThresholdOf(value: string | undefined): PassThreshold {
  if (value === undefined || value === "clean") return "clean";
  if (value === "suspicious") return "suspicious";
  throw new UsageError("--pass-on must be clean or suspicious");
}

async function readReport(path: string): Promise<AttestableReport> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readFileSafely(path, { maxBytes: MAX_REPORT_BYTES, what: "report", followLinks: true });
  } catch (error) {
    throw new UsageError(isModelgateError(error) ? error.message : String(error));
  }
  if (bytes === undefined) throw new UsageError(`report ${path} does not exist`);
  let value: unknown;
  try {
    value = parsePlainJson(bytes.toString("utf8"), { maxDepth: 128, maxTreeBytes: 4 * MAX_REPORT_BYTES }).value;
  } catch (error) {
    throw new UsageError(`report ${path} is not JSON (${describeJsonError(error, bytes.length)})`);
  }
  if (Array.isArray(value)) {
    throw new UsageError(`report ${path} holds ${value.length} reports; attest one target's report at a time`);
  }
  const checked = ScanReportSchema.safeParse(value);
  if (!checked.success) {
    const first = checked.error.issues[0];
    throw new UsageError(
      `report ${path} is not a modelgate scan report (${first?.path.join(".") ?? ""}: ${first?.message ?? "?"})`,
    );
  }
  // The digest is over the report as written, not as the schema re-reads it.
  return value as AttestableReport;
}

/** `modelgate attest`. */
export const attestCommand: Command = {
  summary: "sign a scan report's decision as an in-toto attestation (SLSA VSA)",
  usage: USAGE,
  async run(args, io) {
    const parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      tokens: true,
      options: {
        key: { type: "string" },
        "private-key": { type: "string" },
        "signing-certificate": { type: "string" },
        "certificate-chain": { type: "string", multiple: true },
        output: { type: "string", short: "o" },
        "pass-on": { type: "string" },
        "verifier-id": { type: "string" },
        "resource-uri": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    const { extra, positionals } = splitVariadic(parsed.tokens as ArgToken[], ["certificate-chain"]);
    const values = parsed.values;
    if (values.help) {
      io.stdout(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (positionals.length !== 1) throw new UsageError("attest needs exactly one report file");
    if (values.key !== undefined && values["private-key"] !== undefined) {
      throw new UsageError("--key and --private-key are the same option; give one");
    }
    const options: AttestOptions = { passThreshold: passThresholdOf(values["pass-on"]) };
    if (values["verifier-id"] !== undefined) options.verifierId = values["verifier-id"];
    if (values["resource-uri"] !== undefined) options.resourceUri = values["resource-uri"];
    const cwd = cwdOf(io);
    const output = values.output === undefined ? undefined : await checkOutputPath("--output", values.output, cwd);
    const signer = await loadAttestSigner({
      key: values.key ?? values["private-key"],
      signingCertificate: values["signing-certificate"],
      chain: [...(values["certificate-chain"] ?? []), ...(extra["certificate-chain"] ?? [])],
    });
    const report = await readReport(resolve(cwd ?? ".", positionals[0] as string));
    const result = attest(report, signer, options);
    const text = `${JSON.stringify(result.bundle, null, 2)}\n`;
    const p = result.statement.predicate;
    if (output === undefined) io.stdout(text);
    else {
      await writeFileSafely(output, text, { what: "attestation" });
      io.stdout(
        `Attested ${result.statement.subject.length} files: ${p.verificationResult} (${result.method} method)\nWrote ${output}\n`,
      );
    }
    return EXIT.ok;
  },
};
