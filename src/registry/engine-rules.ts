/**
 * Rules of the scan engine itself: reading, budgets, format recognition, containers.
 * @module
 */
import type { RuleDef } from "../core/rules.js";

/** Engine, sniffing and generic container rules. */
export const coreRules = [
  {
    id: "scan/read-error",
    title: "File could not be read",
    severity: "medium",
    invalidates: true,
    description:
      "Reading the file failed (permission denied, I/O error, vanished while scanning). A file that was not read is never reported clean.",
  },
  {
    id: "scan/timeout",
    title: "Per-file time budget exceeded",
    severity: "medium",
    invalidates: true,
    description:
      "Analysis of the file did not finish within the per-file time budget. Whatever was found before the deadline is still reported; the file is `invalid` because the rest was not seen.",
  },
  {
    id: "scan/aborted",
    title: "Scan aborted",
    severity: "medium",
    invalidates: true,
    description: "The caller aborted the scan before this file was fully analysed.",
  },
  {
    id: "scan/budget-exceeded",
    title: "Analysis budget exceeded",
    severity: "medium",
    invalidates: true,
    description:
      "A configured budget (bytes read, decompressed bytes, entries, opcodes, depth, ...) was exceeded. Hostile files are built to exhaust scanners; the rest of the file was not analysed, so it cannot be called clean.",
  },
  {
    id: "scan/too-large",
    title: "File larger than the size limit",
    severity: "medium",
    invalidates: true,
    description:
      "The file is larger than the scan's size limit (`limits.maxFileBytes`, the CLI's `--max-size`), by its listed size, so it was not opened or analysed (a remote one was not downloaded). A file that was not read is never called clean: it is `invalid` and the exit code says so, while the scan itself completes. Lock-file and signature checks still cover it. Raise the limit to analyse it, or leave it out on purpose with `--exclude`.",
  },
  {
    id: "scan/internal-error",
    title: "Internal analyzer error",
    severity: "medium",
    invalidates: true,
    description:
      "An analyzer failed unexpectedly on this input. This is a modelgate bug; the file is reported `invalid`, never clean. Please report the file.",
  },
  {
    id: "format/unknown",
    title: "Content not recognised",
    severity: "low",
    description:
      "The file's content matches no format modelgate recognises (no model, container, text or inert media format). modelgate is allowlist-first: bytes it cannot account for are never called clean, so the file is `suspicious`. Raw tensor data with no header (a `.bin` of floats) lands here unless a companion file declares it (ONNX external data, a checkpoint shard beside its index); members a container declares as opaque tensor storage (PyTorch storages) are exempt. Suppress the finding for files you know.",
  },
  {
    id: "format/embedded-pickle-import",
    title: "Unrecognised content holds a dangerous pickle import",
    severity: "high",
    description:
      "Content that matches no format (`format/unknown`) is swept (its first 64 MiB) for pickle opcodes that import a name the pickle denylist denies: `c`/`i` + `module\\nname\\n` (protocols 0–3) or two short strings and `STACK_GLOBAL` (protocols 4–5), at any offset. A custom checkpoint format that unpickles behind its own header, or any loader modelgate does not know, runs such a stream. The finding takes the denylist's severity for the name (`os.system` is critical).",
  },
  {
    id: "format/empty",
    title: "Empty file",
    severity: "info",
    description: "The file has no bytes.",
  },
  {
    id: "format/extension-mismatch",
    title: "Extension disagrees with content",
    severity: "medium",
    description:
      "The file's extension names one format but its content is another (for example a pickle named `.safetensors` or `.txt`). Loaders dispatch on content or on caller intent, so a misleading name is a known way to slip a pickle past extension-based scanners.",
  },
  {
    id: "format/claim-unmet",
    title: "File is not the format its name claims",
    severity: "medium",
    invalidates: true,
    description:
      "The file's name (`.pkl`, `.pt`, `.safetensors`, `.gguf`, `.onnx`, `.keras`, `pytorch_model.bin`, a `data.pkl` member ...) makes a loader read it as one format, but the content does not parse as that format: it is empty, unknown, another format, or a pickle the engine could not read to the end. What the loader would do with it cannot be shown to be safe, so the file is `invalid`, never clean. Evidence names the claim and what the content is. See docs/claims.md.",
  },
  {
    id: "format/polyglot",
    title: "Content is valid as more than one format",
    severity: "medium",
    description:
      "The bytes parse as two formats at once (for example a pickle followed by a zip). Different loaders will see different content; each interpretation is analysed.",
  },
  {
    id: "format/malformed",
    title: "Malformed file",
    severity: "medium",
    invalidates: true,
    description:
      "The content is recognised but violates its format (truncated, inconsistent lengths, bad structure). What was parsed before the error is still reported; the rest was not seen, so the file is `invalid`.",
  },
  {
    id: "format/unsupported",
    title: "Recognised but unsupported format",
    severity: "medium",
    invalidates: true,
    description:
      "The content is a format modelgate recognises but cannot analyse (RAR, a 7z coder or filter modelgate does not decode, an unsupported compression). Its contents were not inspected, so it is `invalid`, never clean.",
  },
  {
    id: "format/executable",
    title: "Native executable",
    severity: "high",
    description: "An ELF, PE or Mach-O binary. Model artifacts have no reason to carry native programs or libraries.",
  },
  {
    id: "file/symlink",
    title: "Symbolic link in scanned tree",
    severity: "medium",
    description:
      "A symbolic link. modelgate never follows links; a link inside a model can point loaders at files outside it (for example `/etc/passwd` as ONNX external data).",
  },
  {
    id: "file/special",
    title: "Special file in scanned tree",
    severity: "medium",
    invalidates: true,
    description: "A device, FIFO or socket where a model file was expected. It was not read.",
  },
  {
    id: "container/depth-exceeded",
    title: "Container nesting too deep",
    severity: "medium",
    invalidates: true,
    description:
      "Containers nested deeper than the depth budget (an archive in a compressed stream in an archive ...). The innermost content was not analysed.",
  },
  {
    id: "container/too-many-entries",
    title: "Too many container entries",
    severity: "medium",
    invalidates: true,
    description: "The container declares more entries than the entry budget allows; the rest were not analysed.",
  },
  {
    id: "container/decompression-bomb",
    title: "Decompression bomb",
    severity: "high",
    invalidates: true,
    description:
      "A compressed member or stream expands beyond the decompressed-size budget or the maximum compression ratio. Such inputs exist to exhaust memory or disk of whatever opens them.",
  },
  {
    id: "container/malformed-stream",
    title: "Corrupt compressed stream",
    severity: "medium",
    invalidates: true,
    description:
      "A gzip, bzip2, xz, LZMA, zlib, zstd or LZ4 stream failed to decompress; its content was not fully analysed.",
  },
  {
    id: "container/path-traversal",
    title: "Member name escapes the extraction directory",
    severity: "high",
    description:
      "A container member name is absolute, has a drive letter, or contains `..` components, so extracting it writes outside the target directory (zip-slip / tar-slip).",
    references: ["https://security.snyk.io/research/zip-slip-vulnerability"],
  },
  {
    id: "container/link-member",
    title: "Link member in container",
    severity: "medium",
    description:
      "A symbolic or hard link inside an archive. Extracting it can redirect later writes or reads outside the extraction directory.",
  },
  {
    id: "scan/file-changed",
    title: "File changed during the scan",
    severity: "medium",
    invalidates: true,
    description:
      "The file is not the one the listing saw, or changed while it was read: another file was renamed over it, it was replaced by a link, FIFO or device, resized, or modified in place. What was analysed (and hashed) may not be what is on disk now, so the file is `invalid` and its result is never cached. Scan it again once nothing writes to it.",
  },
  {
    id: "scan/depth-exceeded",
    title: "Folder nested too deep",
    severity: "medium",
    invalidates: true,
    description:
      "A folder is nested deeper than the directory-depth budget (`limits.maxDirectoryDepth`); nothing below it was listed or scanned. Deep nesting is a way to hide a file from scanners that give up silently; the report names the folder and is incomplete.",
  },
  {
    id: "scan/skipped-directory",
    title: "Version-control folder skipped",
    severity: "info",
    description:
      "The scanned directory's own `.git` (a folder, or a worktree's `.git` file) was not scanned: git's internals are not model content, no loader reads them, and git refuses to track a path named `.git`, so a cloned repository cannot plant files there. The finding counts the entries skipped. `.hg` and `.svn`, which a git repository can carry like any folder, and `.git` folders below the scanned directory are scanned like any other.",
  },
] as const satisfies readonly RuleDef[];

/** policy rules. */
export const policyRules = [
  {
    id: "policy/signature-required",
    title: "Model not covered by a verified signature the policy accepts",
    severity: "medium",
    description:
      "The policy requires a signature (`signature` in `.modelgate.json`) and the model is unsigned, its signature did not verify, or the signer, issuer, method or key is not the one the policy names. Reported on every file of the model except the signature itself. Without a verified signature nothing ties the files to the party you trust: a mirror, cache or repository they passed through could have swapped them.",
    references: ["https://github.com/ossf/model-signing-spec"],
  },
  {
    id: "policy/vulnerable-tool-version",
    title: "Config records a library version with known model-loading vulnerabilities",
    severity: "info",
    description:
      "A config file (`config.json` `transformers_version`, Keras `keras_version`, diffusers `_diffusers_version`, sentence-transformers `__version__`) records that the model was written with a library version affected by an advisory in which a crafted model file runs code in the loader. The version says which release the artifact targets; environments still pinned to it are exploitable by files like this one. Informational by default: raise its severity, or set `minimumVersions`, to gate on it. Each finding lists the advisories that apply to its version. Advisories covered: transformers CVE-2023-6730, CVE-2023-7018 (< 4.36.0), CVE-2024-3568 (< 4.38.0), CVE-2024-11392/11393/11394 (< 4.48.0), CVE-2026-4372 (4.56.0 to < 5.3.0); Keras CVE-2024-3660 (< 2.13), CVE-2025-1550 (3.x < 3.9.0), CVE-2025-8747 and CVE-2025-9906 (3.x < 3.11.0), CVE-2025-9905 (3.x < 3.11.3); torch CVE-2025-32434 (< 2.6.0), CVE-2026-24747 (< 2.10.0).",
    references: [
      "https://github.com/advisories/GHSA-37q5-v5qm-c9v8",
      "https://github.com/advisories/GHSA-29pf-2h5f-8g72",
      "https://github.com/advisories/GHSA-48g7-3x6r-xfhp",
      "https://github.com/advisories/GHSA-c9rc-mg46-23w3",
      "https://github.com/advisories/GHSA-53q9-r3pm-6pq6",
      "https://kb.cert.org/vuls/id/253266",
    ],
  },
  {
    id: "policy/tool-version-below-minimum",
    title: "Config records a library version below the policy minimum",
    severity: "medium",
    description:
      "The policy's `minimumVersions` names a minimum for a library, and a config file records an older version (or one that cannot be read as a version). Teams use this to keep models written for vulnerable loader releases out of their registries.",
  },
] as const satisfies readonly RuleDef[];

declare module "../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof coreRules)[number]["id"] | (typeof policyRules)[number]["id"], true> {}
}
