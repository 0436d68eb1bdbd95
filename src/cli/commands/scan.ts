/**
 * `modelgate scan <target...>`.
 * @module
 */
import { readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { toModelgateError } from "../../errors.js";
import { renderSarif } from "../../report/render/sarif.js";
import { renderText } from "../../report/render/text.js";
import { type ScanReport, SEVERITIES, type Severity } from "../../report/schema.js";
import { severityRank } from "../../report/verdict.js";
import { scan } from "../../scan/engine.js";
import type { ProgressEvent, ScanOptions, ScanSignatureOptions } from "../../scan/types.js";
import { type CliIO, type Command, EXIT, stylizeFor, UsageError } from "../io.js";

const FORMATS = ["text", "json", "sarif"] as const;
type OutputFormat = (typeof FORMATS)[number];

const USAGE = `Usage: modelgate scan <target...> [options]

Scans model files and directories without loading or executing them.

Options:
  --format text|json|sarif   output format (default text)
  --output FILE              write the report to FILE (a text summary still goes to stdout)
  --fail-on LEVEL            exit 1 when a finding is at or above LEVEL:
                             info|low|medium|high|critical (default medium)
  --quiet                    text: show only files that are not clean
  --concurrency N            files analysed at once (default: cores)
  --no-hash                  do not compute SHA-256 of each file
  --lock FILE                check the tree against a lock file ('modelgate lock'); a mismatched,
                             missing or unexpected file is a high finding
  --allow-unpinned           with --lock: files not in the lock are fine
  --public-key PEM           verify an OMS signature found in the tree with this key
  --certificate-chain PEM    ... or with these trust anchors (repeatable)
  --identity ID --issuer URL ... or as a Sigstore signature by this signer
  --trusted-root FILE        Sigstore TrustedRoot JSON (default: shipped public-good snapshot)
  --require-signature        a directory without an OMS signature is a high finding
  -h, --help                 show this help

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 error, invalid file,
incomplete scan or usage error.`;

/**
 * The exit code a set of reports calls for.
 * @param reports - one report per target
 * @param failOn - the failure threshold
 */
export function exitCodeFor(reports: readonly ScanReport[], failOn: Severity): number {
  if (reports.some((r) => !r.complete || r.errors.length > 0 || r.summary.byVerdict.invalid > 0)) return EXIT.error;
  const threshold = severityRank(failOn);
  const hit = reports.some((r) => r.files.some((f) => f.findings.some((x) => severityRank(x.severity) >= threshold)));
  return hit ? EXIT.findings : EXIT.ok;
}

/**
 * Renders reports in an output format.
 * @param reports - one per target
 * @param format - output format
 * @param io - for colour decisions
 * @param quiet - text quiet mode
 * @param tty - whether the destination is a terminal
 */
function render(reports: readonly ScanReport[], format: OutputFormat, io: CliIO, quiet: boolean, tty: boolean): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2)}\n`;
    case "sarif": {
      const logs = reports.map((r) => renderSarif(r));
      const merged = { ...logs[0]!, runs: logs.flatMap((l) => l.runs) };
      return `${JSON.stringify(merged, null, 2)}\n`;
    }
    case "text":
      return reports.map((r) => renderText(r, { quiet, stylize: stylizeFor(io, tty) })).join("\n");
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
    io.stderr(`\r\x1b[2K${line.slice(0, 100)}`);
  };
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
  const read = async (path: string) => {
    try {
      return await readFile(path, "utf8");
    } catch (error) {
      throw toModelgateError(error);
    }
  };
  const out: ScanSignatureOptions = { require: values["require-signature"] === true };
  if (values["public-key"] !== undefined) out.publicKey = await read(values["public-key"]);
  if (values["certificate-chain"] !== undefined)
    out.certificateChain = await Promise.all(values["certificate-chain"].map(read));
  if (values.identity !== undefined && values.issuer !== undefined) {
    out.identity = values.identity;
    out.issuer = values.issuer;
  }
  if (values["trusted-root"] !== undefined) {
    try {
      out.trustedRoot = JSON.parse(await read(values["trusted-root"])) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof SyntaxError) throw new UsageError(`--trusted-root: ${error.message}`);
      throw error;
    }
  }
  return out;
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
        concurrency: { type: "string" },
        "no-hash": { type: "boolean", default: false },
        lock: { type: "string" },
        "allow-unpinned": { type: "boolean", default: false },
        "public-key": { type: "string" },
        "certificate-chain": { type: "string", multiple: true },
        identity: { type: "string" },
        issuer: { type: "string" },
        "trusted-root": { type: "string" },
        "require-signature": { type: "boolean", default: false },
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
    if (positionals.length === 0) throw new UsageError("scan needs at least one target (file or directory)");
    const options: ScanOptions = { signal: io.signal, hash: !values["no-hash"] };
    if (values.concurrency !== undefined) {
      const n = Number(values.concurrency);
      if (!Number.isInteger(n) || n < 1) throw new UsageError("--concurrency must be a positive integer");
      options.concurrency = n;
    }
    if (values.lock !== undefined) {
      options.lockFile = values.lock;
      options.allowUnpinned = values["allow-unpinned"];
    }
    options.signature = await signatureOptions(values);
    const onProgress = progressPrinter(io);
    if (onProgress !== undefined) options.onProgress = onProgress;

    const reports: ScanReport[] = [];
    for (const target of positionals) reports.push(await scan(target, options));
    if (onProgress !== undefined) io.stderr("\r\x1b[2K");

    if (values.output !== undefined) {
      await writeFile(values.output, render(reports, format, io, values.quiet, false));
      if (!values.quiet || format === "text") io.stdout(render(reports, "text", io, true, io.stdoutIsTTY));
    } else {
      io.stdout(render(reports, format, io, values.quiet, io.stdoutIsTTY));
    }
    return exitCodeFor(reports, failOn);
  },
};
