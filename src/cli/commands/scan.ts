/**
 * `modelgate scan <target...>`.
 * @module
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { discoverPolicy, loadPolicyFile } from "../../policy/load.js";
import type { PolicyOptions } from "../../policy/policy.js";
import { renderCycloneDx } from "../../report/render/cyclonedx.js";
import { renderSarif } from "../../report/render/sarif.js";
import { renderText } from "../../report/render/text.js";
import { type ScanReport, SEVERITIES, type Severity } from "../../report/schema.js";
import { severityRank } from "../../report/verdict.js";
import { scan } from "../../scan/engine.js";
import type { ProgressEvent, ScanOptions } from "../../scan/types.js";
import { type CliIO, type Command, EXIT, stylizeFor, UsageError } from "../io.js";

const FORMATS = ["text", "json", "sarif", "cyclonedx"] as const;
type OutputFormat = (typeof FORMATS)[number];

const USAGE = `Usage: modelgate scan <target...> [options]

Scans model files and directories without loading or executing them.

Options:
  --format FORMAT            text|json|sarif|cyclonedx (CycloneDX 1.6 ML-BOM); default text
  --output FILE              write the report to FILE (a text summary still goes to stdout)
  --policy FILE              policy file (default: the nearest .modelgate.json in the target's
                             directory or its ancestors)
  --no-policy                ignore .modelgate.json files
  --fail-on LEVEL            exit 1 when a finding is at or above LEVEL:
                             info|low|medium|high|critical (default medium)
  --quiet                    text: show only files that are not clean
  --concurrency N            files analysed at once (default: cores)
  --no-hash                  do not compute SHA-256 of each file
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
    case "cyclonedx":
      return `${JSON.stringify(renderCycloneDx(reports), null, 2)}\n`;
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
        policy: { type: "string" },
        "no-policy": { type: "boolean", default: false },
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
    const onProgress = progressPrinter(io);
    if (onProgress !== undefined) options.onProgress = onProgress;

    if (values.policy !== undefined && values["no-policy"]) throw new UsageError("--policy and --no-policy conflict");
    const explicit = values.policy === undefined ? undefined : await loadPolicyFile(values.policy);

    const reports: ScanReport[] = [];
    for (const target of positionals) {
      const policy: PolicyOptions | undefined =
        explicit ?? (values["no-policy"] ? undefined : await discoverPolicy(target));
      reports.push(await scan(target, policy === undefined ? options : { ...options, policy }));
    }
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
