/**
 * `modelgate scan <target...>`.
 * @module
 */

import { resolve } from "node:path";
import { pushAll } from "../../core/arrays.js";
import { isModelgateError, toModelgateError } from "../../core/errors.js";
import { parseArgs } from "../../core/node-util.js";
import { SEVERITIES, type Severity } from "../../core/severity.js";
import type { BundleSigner } from "../../integrity/oms/dsse.js";
import type { ScanSignatureOptions } from "../../integrity/oms/verify.js";
import { discoverPolicy, loadPolicyFile } from "../../policy/load.js";
import type { PolicyOptions } from "../../policy/policy.js";
import { escapeForTerminal, escapeJsonForTerminal, truncateLine } from "../../report/render/escape.js";
import { shouldColor } from "../../report/render/layout.js";
import type { TextOptions } from "../../report/render/text.js";
import type { ScanReport } from "../../report/schema.js";
import { severityRank } from "../../report/verdict.js";
import { FileVerdictCache } from "../../scan/cache.js";
import { type ScanManyOptions, scanMany } from "../../scan/many.js";
import { fileSelector, parseSize } from "../../scan/select.js";
import type { ProgressEvent } from "../../scan/types.js";
import { parseTargetUrl } from "../../sources/http/config.js";
import { parseHubUri } from "../../sources/hub/config.js";
import type { HubTarget } from "../../sources/hub/root.js";
import type { ScanTarget } from "../../sources/roots.js";
import { readNamedFile, writeFileSafely } from "../../sources/safe-write.js";
import { type CliIO, type Command, checkOutputPath, cwdOf, EXIT, UsageError } from "../io.js";

const FORMATS = ["text", "json", "jsonl", "sarif", "cyclonedx"] as const;
type OutputFormat = (typeof FORMATS)[number];

const USAGE = `Usage: modelgate scan <target...> [options]

Scans model files, directories, Hugging Face Hub repositories, URLs and S3 prefixes without
loading or executing them. A target is a path, hf://owner/name[@revision][/path] (HF_TOKEN and
HF_ENDPOINT are honoured as huggingface_hub does), https://host/file[#sha256=HEX] (headers from
MODELGATE_HTTP_HEADERS, sent to their origin only), s3://bucket[/prefix] (the AWS credential
chain; AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL for S3-compatible stores),
oci://registry/repository[:tag|@sha256:HEX] (MODELGATE_OCI_AUTH or docker's config.json; plain
HTTP only for loopback registries or with --allow-http) or oci-layout:DIR[:ref].

Options:
  --format FORMAT            text|json|jsonl|sarif|cyclonedx (default text); jsonl prints one
                             report per line as each target finishes (for mirrors scanning many
                             repositories); cyclonedx is a CycloneDX 1.6 ML-BOM
  --output FILE              write the report to FILE (a text summary still goes to stdout);
                             checked before scanning, written atomically, never through a link
  --policy FILE              policy file (default: the nearest .modelgate.json in the working
                             directory or its parents; never one inside the scanned target)
  --no-policy                ignore .modelgate.json files
  --fail-on LEVEL            exit 1 when a finding is at or above LEVEL:
                             info|low|medium|high|critical (default medium)
  --quiet                    text: the summary only (counts, signatures, files that are not
                             clean with their worst finding, top rules)
  --verbose, -v              text: every file and finding, with evidence and info findings
  --color, --no-color        text: colour or not (default: on a terminal, unless NO_COLOR;
                             FORCE_COLOR forces it)
  --concurrency N            files analysed at once (default: cores)
  --no-hash                  do not compute SHA-256 of each file
  --jobs N                   targets scanned at once (default 4)
  --targets-file FILE        read more targets from FILE, one per line
  --cache-dir DIR            verdict cache: skip files (by SHA-256 / LFS oid) already scanned
                             with this version and policy (default MODELGATE_CACHE_DIR, else
                             none); 'modelgate cache stats|prune|clear' maintains it
  --verify read|full         remote files: read only what the analyzers need and verify the files
                             read whole (read: the default for the Hub, S3 and unpinned URLs), or
                             read and verify every file (full: the default for OCI registries and
                             layouts, and for URLs with a pinned SHA-256)
  --allow-http               accept plain http:// URLs (bytes could be altered in transit)
  --s3-path-style            S3: path-style addressing (endpoint/bucket/key), for S3-compatible
                             stores
  --hub-url URL              Hub endpoint (default HF_ENDPOINT or https://huggingface.co)
  --hub-status               Hub: include the Hub's own scan status (information only)
  --lock FILE                check the tree against a lock file ('modelgate lock'); a mismatched,
                             missing or unexpected file is a high finding
  --allow-unpinned           with --lock: files not in the lock are fine
  --public-key PEM           verify an OMS signature found in the tree with this key
  --certificate-chain PEM    ... or with these trust anchors (repeatable)
  --identity ID --issuer URL ... or as a Sigstore signature by this signer
  --trusted-root FILE        Sigstore TrustedRoot JSON (default: shipped public-good snapshot)
  --require-signature        every file must be covered by a verified OMS signature (of the
                             scanned directory, or of sub-models that together cover it); an
                             uncovered file is a high finding (integrity/unsigned-file)
  --attest FILE              also sign the scan's decision as an in-toto attestation (SLSA
                             verification summary) and write it to FILE: one target, hashing
                             on, FILE outside the target; checked before scanning
  --attest-key PEM           the attestation's EC private key (with --attest)
  --attest-pass-on LEVEL     clean|suspicious: worst verdict the attestation records as PASSED
                             (default clean)
  --timeout SECONDS          whole-scan deadline (default 3600): files not reached are invalid
  --max-size SIZE            do not analyse files larger than SIZE: bytes, or kB/MB/GB/TB
                             (powers of 1000), K/M/G/T or KiB/MiB/GiB/TiB (powers of 1024);
                             such a file is invalid (scan/too-large), never clean, and a remote
                             one is not downloaded
  --include GLOB             analyse only files whose path relative to the target matches GLOB
                             (repeatable; quote it; ** any depth, * within a folder, dotfiles
                             not special)
  --exclude GLOB             do not analyse files matching GLOB (repeatable; wins over
                             --include); files left out are listed as skipped, lock-file and
                             signature checks still cover them
  -h, --help                 show this help

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 error, invalid file,
incomplete scan, invalid policy or usage error. Findings a policy suppresses do not count.`;

/**
 * The exit code a set of reports calls for.
 * @param reports - one report per target
 * @param failOn - the failure threshold
 */
export function exitCodeFor(reports: readonly ScanReport[], failOn: Severity): number {
  if (reports.some((r) => !r.complete || r.errors.length > 0 || r.summary.byVerdict.invalid > 0)) return EXIT.error;
  const threshold = severityRank(failOn);
  // A malicious verdict comes from a high or critical finding: it fails a threshold up to high
  // even if the finding itself were missing from the list.
  const hit = reports.some((r) =>
    r.files.some(
      (f) =>
        (f.verdict === "malicious" && threshold <= severityRank("high")) ||
        f.findings.some((x) => severityRank(x.severity) >= threshold),
    ),
  );
  return hit ? EXIT.findings : EXIT.ok;
}

/**
 * Renders reports in an output format. Each renderer loads with the first use of its format
 * (start-up, issue 18: `--format json` needs none of them).
 * @param reports - one per target
 * @param format - output format
 * @param text - text report options (level of detail, width, colour)
 */
async function render(reports: readonly ScanReport[], format: OutputFormat, text: TextOptions): Promise<string> {
  switch (format) {
    // JSON formats: the same values, with the C1, bidi and other format characters that
    // JSON.stringify leaves raw written as \u escapes, so printing the JSON is safe too.
    case "json":
      return `${escapeJsonForTerminal(JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2))}\n`;
    case "cyclonedx": {
      const { renderCycloneDx } = await import("../../report/render/cyclonedx.js");
      return `${escapeJsonForTerminal(JSON.stringify(renderCycloneDx(reports), null, 2))}\n`;
    }
    case "jsonl":
      return reports.map((r) => `${escapeJsonForTerminal(JSON.stringify(r))}\n`).join("");
    case "sarif": {
      const { renderSarif } = await import("../../report/render/sarif.js");
      const logs = reports.map((r) => renderSarif(r));
      const merged = { ...logs[0]!, runs: logs.flatMap((l) => l.runs) };
      return `${escapeJsonForTerminal(JSON.stringify(merged, null, 2))}\n`;
    }
    case "text": {
      const { renderText } = await import("../../report/render/text.js");
      return reports.map((r) => renderText(r, text)).join("\n");
    }
  }
}

/**
 * Text report options from the flags, for stdout (a terminal: its width, colour unless turned off)
 * or a file (no width, no colour).
 * @param values - the parsed flags
 * @param io - environment and terminal
 * @param stdout - whether the text goes to stdout
 */
function textOptions(
  values: { quiet: boolean; verbose: boolean; color?: boolean | undefined; "no-color": boolean },
  io: CliIO,
  stdout: boolean,
): TextOptions {
  if (values.quiet && values.verbose) throw new UsageError("--quiet and --verbose conflict");
  if (values.color === true && values["no-color"]) throw new UsageError("--color and --no-color conflict");
  const flag = values.color === true ? true : values["no-color"] ? false : undefined;
  const tty = stdout && io.stdoutIsTTY;
  const columns = Number.parseInt(io.env.COLUMNS ?? "", 10) || process.stdout.columns;
  return {
    quiet: values.quiet,
    verbose: values.verbose,
    color: stdout && shouldColor({ flag, env: io.env, isTTY: io.stdoutIsTTY }),
    width: tty && columns > 0 ? columns : undefined,
  };
}

/** A summary line for Hub targets: commit, verification and transfer. */

/** Whether a command-line target names a remote source rather than a local path. */
const isRemote = (name: string): boolean => /^(hf|https?|s3|oci):\/\//i.test(name) || name.startsWith("oci-layout:");

/** Settings of remote targets from the options. */
interface RemoteSettings {
  hub: Omit<HubTarget, "repo">;
  /** undefined: each source's default. */
  verify: "read" | "full" | undefined;
  allowHttp: boolean;
  s3PathStyle: boolean;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Turns a command-line target into a scan target. The S3 and OCI reference parsers load with the
 * first such target (start-up, issue 18).
 * @param arg - a path, an hf://, https:// (http:// with --allow-http) or s3:// URI
 * @param remote - settings of remote targets from the options
 */
async function targetOf(arg: string, remote: RemoteSettings): Promise<ScanTarget> {
  const scheme = /^([a-z0-9]+):\/\//i.exec(arg)?.[1]?.toLowerCase();
  if (scheme === "https" || scheme === "http") {
    if (scheme === "http" && !remote.allowHttp) {
      throw new UsageError(
        `plain http:// is refused (bytes could be altered in transit); pass --allow-http to accept it`,
      );
    }
    try {
      parseTargetUrl(arg, remote.allowHttp);
    } catch (error) {
      throw new UsageError(isModelgateError(error) ? error.message : String(error));
    }
    const verify = remote.verify === undefined ? {} : { verify: remote.verify };
    return { url: { url: arg, ...verify, allowHttp: remote.allowHttp, env: remote.env } };
  }
  if (scheme === "s3") {
    const { parseS3Uri } = await import("../../sources/s3/config.js");
    try {
      const { bucket, prefix } = parseS3Uri(arg);
      const verify = remote.verify === undefined ? {} : { verify: remote.verify };
      return { s3: { bucket, prefix, ...verify, pathStyle: remote.s3PathStyle, env: remote.env } };
    } catch (error) {
      throw new UsageError(isModelgateError(error) ? error.message : String(error));
    }
  }
  if (scheme === "oci" || arg.startsWith("oci-layout:")) {
    const { parseOciLayoutUri, parseOciUri } = await import("../../sources/oci/config.js");
    try {
      if (scheme === "oci") parseOciUri(arg);
      else parseOciLayoutUri(arg);
    } catch (error) {
      throw new UsageError(isModelgateError(error) ? error.message : String(error));
    }
    const verify = remote.verify === undefined ? {} : { verify: remote.verify };
    return { oci: { reference: arg, ...verify, allowHttp: remote.allowHttp, env: remote.env } };
  }
  if (!arg.startsWith("hf://")) return arg;
  const hub = remote.hub;
  try {
    const uri = parseHubUri(arg);
    const target: HubTarget = { ...hub, repo: uri.repo };
    if (uri.revision !== undefined) target.revision = uri.revision;
    if (uri.path !== undefined) target.paths = [uri.path];
    return { hub: target };
  } catch (error) {
    throw new UsageError(isModelgateError(error) ? error.message : String(error));
  }
}

function progressPrinter(io: CliIO): ((event: ProgressEvent) => void) | undefined {
  if (!io.stderrIsTTY || io.env.CI !== undefined) return undefined;
  let last = 0;
  return (event) => {
    const now = Date.now();
    if (now - last < 80 && event.phase !== "done") return;
    last = now;
    const pct = event.bytesTotal > 0 ? ` ${Math.floor((100 * event.bytesDone) / event.bytesTotal)}%` : "";
    const line =
      event.phase === "done" ? `${event.bytesDone}/${event.bytesTotal} files` : `${event.phase}${pct} ${event.path}`;
    // The path is the scanned input's: escaped, so it cannot move the cursor, clear or forge lines.
    io.stderr(`\r\x1b[2K${truncateLine(escapeForTerminal(line), 100)}`);
  };
}

/**
 * `--max-size`, `--include` and `--exclude`, checked as usage errors before any work (the engine
 * applies them: `limits.maxFileBytes`, `ScanOptions.include`/`exclude`).
 */
function selectionOptions(values: {
  "max-size"?: string | undefined;
  include?: string[] | undefined;
  exclude?: string[] | undefined;
}): { maxFileBytes?: number; include?: string[]; exclude?: string[] } {
  const out: { maxFileBytes?: number; include?: string[]; exclude?: string[] } = {};
  try {
    if (values["max-size"] !== undefined) out.maxFileBytes = parseSize(values["max-size"]);
  } catch (error) {
    throw new UsageError(`--max-size: ${isModelgateError(error) ? error.message : String(error)}`);
  }
  try {
    fileSelector(values.include, values.exclude);
  } catch (error) {
    throw new UsageError(`--${isModelgateError(error) ? error.message : String(error)}`);
  }
  if (values.include !== undefined) out.include = values.include;
  if (values.exclude !== undefined) out.exclude = values.exclude;
  return out;
}

/** OMS signature options from the scan flags. */
async function signatureOptions(values: {
  "public-key"?: string | undefined;
  "certificate-chain"?: string[] | undefined;
  identity?: string | undefined;
  issuer?: string | undefined;
  "trusted-root"?: string | undefined;
  "require-signature"?: boolean | undefined;
}): Promise<ScanSignatureOptions> {
  if ((values.identity === undefined) !== (values.issuer === undefined)) {
    throw new UsageError("--identity and --issuer go together");
  }
  // Named files are read as sign and verify read them: a regular file (a FIFO or device is
  // refused without blocking), size-capped.
  const read = async (path: string, what: string) => {
    try {
      return await readNamedFile(path, what);
    } catch (error) {
      throw toModelgateError(error);
    }
  };
  const out: ScanSignatureOptions = { require: values["require-signature"] === true };
  if (values["public-key"] !== undefined) out.publicKey = await read(values["public-key"], "public key");
  if (values["certificate-chain"] !== undefined)
    out.certificateChain = await Promise.all(values["certificate-chain"].map((p) => read(p, "certificate chain")));
  if (values.identity !== undefined && values.issuer !== undefined) {
    out.identity = values.identity;
    out.issuer = values.issuer;
  }
  if (values["trusted-root"] !== undefined) {
    try {
      out.trustedRoot = JSON.parse(await read(values["trusted-root"], "trusted root")) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof SyntaxError) throw new UsageError(`--trusted-root: ${error.message}`);
      throw error;
    }
  }
  return out;
}

/** What `--attest` needs, checked before the scan. */
interface AttestationSetup {
  readonly path: string;
  readonly signer: BundleSigner;
  readonly passThreshold: "clean" | "suspicious";
}

/**
 * Checks the `--attest` options before any scan work: one target, hashing on, a writable output
 * outside a local target, a usable key.
 */
async function attestationSetup(
  values: {
    attest?: string | undefined;
    "attest-key"?: string | undefined;
    "attest-pass-on"?: string | undefined;
    "no-hash"?: boolean | undefined;
  },
  names: readonly string[],
  cwd: string | undefined,
): Promise<AttestationSetup | undefined> {
  if (values.attest === undefined) {
    if (values["attest-key"] !== undefined || values["attest-pass-on"] !== undefined) {
      throw new UsageError("--attest-key and --attest-pass-on need --attest FILE");
    }
    return undefined;
  }
  if (values["attest-key"] === undefined) throw new UsageError("--attest needs --attest-key PEM");
  // Signing (its key handling and the attestation statement) loads only with --attest.
  const { checkOutsideTarget, loadAttestSigner, passThresholdOf } = await import("./attest.js");
  if (names.length !== 1) throw new UsageError("--attest attests one target: give exactly one");
  if (values["no-hash"] === true) throw new UsageError("--attest needs the files' SHA-256: drop --no-hash");
  const passThreshold = passThresholdOf(values["attest-pass-on"]);
  const path = await checkOutputPath("--attest", values.attest, cwd);
  const name = names[0] as string;
  if (!isRemote(name)) await checkOutsideTarget("--attest", path, resolve(cwd ?? ".", name));
  const signer = await loadAttestSigner({ key: values["attest-key"] });
  return { path, signer, passThreshold };
}

/**
 * Writes the attestation of the (single) report once the report is out, and returns the exit code:
 * the scan's, or 2 when the report cannot be attested (a file without SHA-256).
 */
async function writeAttestation(
  setup: AttestationSetup | undefined,
  reports: readonly ScanReport[],
  failOn: Severity,
  io: CliIO,
): Promise<number> {
  const code = exitCodeFor(reports, failOn);
  const report = reports[0];
  if (setup === undefined || report === undefined) return code;
  try {
    const { attest } = await import("../../integrity/attest/sign.js");
    const made = attest(report, setup.signer, { passThreshold: setup.passThreshold });
    await writeFileSafely(setup.path, `${JSON.stringify(made.bundle, null, 2)}\n`, { what: "attestation" });
  } catch (error) {
    if (!isModelgateError(error)) throw error;
    io.stderr(`modelgate scan: --attest: ${escapeForTerminal(error.message)}\n`);
    return EXIT.error;
  }
  return code;
}

/** `modelgate scan`. */
export const scanCommand: Command = {
  summary: "scan model files and directories",
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        format: { type: "string", default: "text" },
        output: { type: "string" },
        "fail-on": { type: "string", default: "medium" },
        quiet: { type: "boolean", default: false },
        verbose: { type: "boolean", short: "v", default: false },
        color: { type: "boolean" },
        "no-color": { type: "boolean", default: false },
        concurrency: { type: "string" },
        "no-hash": { type: "boolean", default: false },
        timeout: { type: "string" },
        "max-size": { type: "string" },
        include: { type: "string", multiple: true },
        exclude: { type: "string", multiple: true },
        policy: { type: "string" },
        "no-policy": { type: "boolean", default: false },
        jobs: { type: "string" },
        "targets-file": { type: "string" },
        "cache-dir": { type: "string" },
        verify: { type: "string" },
        "hub-url": { type: "string" },
        "hub-status": { type: "boolean", default: false },
        "allow-http": { type: "boolean", default: false },
        "s3-path-style": { type: "boolean", default: false },
        lock: { type: "string" },
        "allow-unpinned": { type: "boolean", default: false },
        "public-key": { type: "string" },
        "certificate-chain": { type: "string", multiple: true },
        identity: { type: "string" },
        issuer: { type: "string" },
        "trusted-root": { type: "string" },
        "require-signature": { type: "boolean", default: false },
        attest: { type: "string" },
        "attest-key": { type: "string" },
        "attest-pass-on": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      io.stdout(`${USAGE}\n`);
      return EXIT.ok;
    }
    const format = values.format as OutputFormat;
    if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
    const failOn = values["fail-on"] as Severity;
    if (!SEVERITIES.includes(failOn)) throw new UsageError(`--fail-on must be one of ${SEVERITIES.join(", ")}`);
    textOptions(values, io, true); // flag conflicts are usage errors, before any work
    const selection = selectionOptions(values);
    const names = [...positionals];
    if (values["targets-file"] !== undefined) {
      const text = await readNamedFile(values["targets-file"], "targets file").catch((e: unknown) => {
        throw new UsageError(`cannot read --targets-file: ${(e as Error).message}`);
      });
      pushAll(
        names,
        text
          .split(/\r?\n/)
          .map((l) => l.trim())
          .filter((l) => l !== "" && !l.startsWith("#")),
      );
    }
    if (names.length === 0) {
      throw new UsageError("scan needs at least one target (file, directory, hf://, https:// or s3:// URI)");
    }
    const positiveInt = (name: string, v: string | undefined): number | undefined => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer`);
      return n;
    };
    if (values.verify !== undefined && values.verify !== "read" && values.verify !== "full")
      throw new UsageError("--verify must be read or full");
    if (values.policy !== undefined && values["no-policy"]) throw new UsageError("--policy and --no-policy conflict");
    // Configuration first, before any scan work: where output goes, then the policy.
    const cwd = cwdOf(io);
    const output = values.output === undefined ? undefined : await checkOutputPath("--output", values.output, cwd);
    const attestation = await attestationSetup(values, names, cwd);
    let policy: PolicyOptions | undefined;
    if (values.policy !== undefined) {
      policy = await loadPolicyFile(resolve(cwd ?? ".", values.policy));
    } else if (!values["no-policy"] && cwd !== undefined) {
      policy = await discoverPolicy({
        cwd,
        // What is scanned is input: a policy inside a local target never applies to it.
        exclude: names.filter((n) => !isRemote(n)).map((n) => resolve(cwd, n)),
        onIgnored: (file, reason) => io.stderr(`modelgate scan: ignoring ${escapeForTerminal(`${file}: ${reason}`)}\n`),
      });
    }
    const options: ScanManyOptions = { signal: io.signal, hash: !values["no-hash"] };
    const timeout = positiveInt("timeout", values.timeout);
    if (timeout !== undefined) options.limits = { scanTimeoutMs: timeout * 1000 };
    if (selection.maxFileBytes !== undefined)
      options.limits = { ...options.limits, maxFileBytes: selection.maxFileBytes };
    if (selection.include !== undefined) options.include = selection.include;
    if (selection.exclude !== undefined) options.exclude = selection.exclude;
    const concurrency = positiveInt("concurrency", values.concurrency);
    if (concurrency !== undefined) options.concurrency = concurrency;
    options.targetConcurrency = positiveInt("jobs", values.jobs) ?? 4;
    const cacheDir = values["cache-dir"] ?? io.env.MODELGATE_CACHE_DIR;
    if (cacheDir !== undefined && cacheDir !== "") options.cache = new FileVerdictCache(resolve(cwd ?? ".", cacheDir));
    if (values.lock !== undefined) {
      options.lockFile = values.lock;
      options.allowUnpinned = values["allow-unpinned"];
    }
    options.signature = await signatureOptions(values);
    const onProgress = progressPrinter(io);
    if (onProgress !== undefined) options.onProgress = onProgress;
    const hub: Omit<HubTarget, "repo"> = {
      ...(values.verify === undefined ? {} : { verify: values.verify as "read" | "full" }),
      securityStatus: values["hub-status"],
      env: io.env,
    };
    if (values["hub-url"] !== undefined) hub.hubUrl = values["hub-url"];
    const remote: RemoteSettings = {
      hub,
      verify: values.verify as "read" | "full" | undefined,
      allowHttp: values["allow-http"],
      s3PathStyle: values["s3-path-style"],
      env: io.env,
    };
    // in order: the first bad target is the one reported
    const targets: ScanTarget[] = [];
    for (const name of names) targets.push(await targetOf(name, remote));

    // A named policy applies to every target; a discovered one (the repository's, from the working
    // directory) to local targets, not to remote ones. One pool scans them all.
    if (policy !== undefined) {
      const named = values.policy !== undefined;
      options.policyFor = (_target, index) => (named || !isRemote(names[index]!) ? policy : undefined);
    }
    const reports: ScanReport[] = new Array(targets.length);
    for await (const result of scanMany(targets, options)) {
      const index = result.index;
      reports[index] = result.report;
      if (result.error !== undefined) {
        const { code, message } = result.error;
        io.stderr(`${escapeForTerminal(`modelgate scan: ${names[index]}: ${code}: ${message}`)}\n`);
      }
      if (format === "jsonl" && output === undefined) io.stdout(await render([result.report], "jsonl", {}));
    }
    if (onProgress !== undefined) io.stderr("\r\x1b[2K");
    if (format === "jsonl" && output === undefined) return writeAttestation(attestation, reports, failOn, io);

    if (output !== undefined) {
      await writeFileSafely(output, await render(reports, format, textOptions(values, io, false)), {
        what: "--output file",
      });
      if (!values.quiet || format === "text") {
        io.stdout(await render(reports, "text", { ...textOptions(values, io, true), quiet: true, verbose: false }));
      }
    } else {
      io.stdout(await render(reports, format, textOptions(values, io, true)));
    }
    return writeAttestation(attestation, reports, failOn, io);
  },
};
