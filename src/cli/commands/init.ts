/**
 * `modelgate init`: writes a commented starter policy.
 * @module
 */
import { lstat } from "node:fs/promises";
import { parseArgs } from "../../core/node-util.js";
import { writeFileSafely } from "../../sources/safe-write.js";
import { type Command, checkOutputPath, cwdOf, EXIT, UsageError } from "../io.js";

/** Name of the policy file modelgate looks for (`POLICY_FILE_NAME` of src/policy/load.ts). */
const POLICY_FILE = ".modelgate.json";

const USAGE = `Usage: modelgate init [options]

Writes a starter policy: every section a team usually sets, empty (so it behaves as the built-in
defaults), with a "$comment" explaining each one. 'modelgate scan' finds it as ${POLICY_FILE} in the
working directory or a parent (never inside a scanned target), or takes it with --policy FILE.

Options:
  --output FILE, -o FILE   where to write (default ./${POLICY_FILE})
  --force                  replace an existing file (never through a link)
  -h, --help               show this help

Exit codes: 0 written; 2 the file exists (without --force), cannot be written, or usage error.`;

/**
 * The starter policy: JSON (policy files are strict JSON), with the explanations in `$comment`,
 * which the policy loader ignores. Sections are empty, so the policy changes no verdict; the
 * `signature` section is left out because its presence alone requires a signature.
 */
export const STARTER_POLICY = {
  $comment: [
    "modelgate policy, written by 'modelgate init'. Every section is optional; empty ones change nothing.",
    "Found as .modelgate.json in the working directory or a parent, or named with 'modelgate scan --policy FILE'.",
    "A policy inside a scanned folder is never used: the policy is your configuration, the model is input.",
    "severity: rule id -> info|low|medium|high|critical replaces the rule's default, e.g. { \"format/extension-mismatch\": \"low\" }. 'modelgate rules' lists the rules; 'modelgate rules ID' explains one.",
    'disable: rule ids whose findings are dropped, e.g. ["repo/python-file"]. Rules that mean a file could not be analysed cannot be disabled.',
    'suppressions: reviewed findings that no longer count (they stay visible in the report), e.g. { "rule": "pickle/dangerous-global", "path": "models/legacy/**", "reason": "reviewed in TICKET-123", "expires": "2027-01-31" }.',
    'pickle.allow / pickle.deny: extra globals (module.qualname, or a prefix.*) treated as safe / as dangerous, e.g. "allow": ["mylib.layers.Linear"].',
    'signature (not set here: the section alone requires a signature): { "required": true, "method": "key", "keyFile": "keys/model-signing.pub.pem" } or { "method": "sigstore", "identity": "...", "issuer": "..." }.',
    'minimumVersions: lowest library version a model\'s config may record, e.g. { "transformers": "4.48.0" }.',
    'licenses.flag: SPDX ids or Hugging Face licence slugs to flag, e.g. ["cc-by-nc-4.0"].',
    'limits: budgets, e.g. { "fileTimeoutMs": 300000, "scanTimeoutMs": 3600000 }; command-line flags such as --timeout win.',
  ],
  severity: {},
  disable: [],
  suppressions: [],
  pickle: { allow: [], deny: [] },
  minimumVersions: {},
  licenses: { flag: [] },
  limits: {},
} as const;

/** `modelgate init`. */
export const initCommand: Command = {
  summary: "write a commented starter policy (.modelgate.json)",
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        output: { type: "string", short: "o" },
        force: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      io.stdout(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (positionals.length > 0) throw new UsageError("init takes no arguments (--output FILE names the file)");
    const path = await checkOutputPath("--output", values.output ?? POLICY_FILE, cwdOf(io));
    const exists = await lstat(path).then(
      () => true,
      () => false,
    );
    if (exists && !values.force) throw new UsageError(`${path} exists; pass --force to replace it`);
    // Written atomically and never through a link; group/others cannot write it (the loader
    // refuses such a policy).
    await writeFileSafely(path, `${JSON.stringify(STARTER_POLICY, null, 2)}\n`, { mode: 0o644, what: "policy" });
    io.stdout(`Wrote ${path}\n`);
    return EXIT.ok;
  },
};
