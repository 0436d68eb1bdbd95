/**
 * The text module: recognises text content (JSON, Python, notebooks, shell scripts, plain text;
 * Jinja, Sigstore bundles, YAML and MLflow's `MLmodel` are declared by their own modules) and the
 * extensions that hint at each. The Hugging Face module analyses what can run.
 *
 * Detection: recognises text content: YAML (MLflow's `MLmodel` included), Jinja templates, JSON (Sigstore
 * bundles and notebooks included), Python, shell scripts (by shebang, or by a script name, Unix or
 * Windows: `.sh`, `.bat`, `.cmd`, `.ps1`, `.vbs` ..., whatever the content), plain text.
 * @module
 */

import { parsePlainJson } from "../../core/json.js";
import type { Detector, FormatModule } from "../../core/module.js";
import { extensionOf } from "../../core/sniffing.js";
import { BUNDLE_MEDIA_TYPE_PREFIX, isStrictSignatureBundle } from "../../integrity/oms/shape.js";
import { detectMlmodel } from "../mlflow/index.js";
import { startsLikeJinja, TEMPLATE_EXTENSIONS } from "../template/index.js";
import { detectYamlByContent, detectYamlByName, detectYamlByPythonTag } from "../yaml/index.js";

/**
 * Decodes bytes that open with a UTF-16 byte-order mark (`FF FE` little-endian, `FE FF`
 * big-endian), as PyYAML and Python's `json` do; undefined for anything else. A trailing odd byte
 * (a head cut mid-character) is dropped; unpaired surrogates become U+FFFD.
 * @param bytes - the bytes
 */
export function decodeUtf16(bytes: Uint8Array): string | undefined {
  const le = bytes[0] === 0xff && bytes[1] === 0xfe;
  const be = bytes[0] === 0xfe && bytes[1] === 0xff;
  if (!le && !be) return undefined;
  const even = bytes.subarray(0, bytes.length & ~1);
  return new TextDecoder(le ? "utf-16le" : "utf-16be").decode(even);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes `head` as UTF-8 text; a multi-byte character cut at the end of the head is tolerated. */
function asText(head: Uint8Array, complete: boolean): string | undefined {
  // UTF-16 with a byte-order mark: what PyYAML and Python's json read such a file as.
  const utf16 = decodeUtf16(head);
  if (utf16 !== undefined) return utf16;
  if (head.includes(0)) return undefined;
  for (let cut = 0; cut <= (complete ? 0 : 3) && cut < head.length; cut++) {
    try {
      return utf8.decode(head.subarray(0, head.length - cut));
    } catch {
      // try dropping a partial trailing character
    }
  }
  return undefined;
}

/** JSON budgets of the signature check (the head is at most 64 KiB). */
const SIGNATURE_JSON = { maxDepth: 64, maxTreeBytes: 8 << 20 } as const;

/**
 * Whether JSON text is exactly an OMS signature file: a strict Sigstore DSSE bundle with an in-toto
 * payload, no duplicate key, and no key the bundle schema does not have.
 */
function isSignatureText(text: string): boolean {
  if (!text.includes("dsseEnvelope") || !text.includes(BUNDLE_MEDIA_TYPE_PREFIX)) return false;
  try {
    const parsed = parsePlainJson(text.replace(/^\uFEFF/, ""), SIGNATURE_JSON);
    return parsed.duplicates.length === 0 && isStrictSignatureBundle(parsed.value);
  } catch {
    return false;
  }
}

/**
 * Names of scripts a shell or a Windows script host runs as they are (a double click, `sh x`,
 * `cmd /c x.bat`, `powershell -File x.ps1`, `cscript x.vbs`): Unix shells, batch files,
 * PowerShell, VBScript/JScript-encoded and Windows Script Host files, HTML applications. `.js` is
 * left out on purpose: in model repositories it is a web asset (a Space's front end,
 * transformers.js), and Windows runs it through the script host only on a double click.
 */
const SCRIPT_EXTENSIONS: ReadonlyMap<string, string> = new Map([
  ...["sh", "bash", "zsh", "ksh", "csh", "tcsh", "fish", "command"].map((e) => [e, "shell script"] as const),
  ...["bat", "cmd", "ps1", "psm1", "vbs", "vbe", "jse", "wsf", "hta"].map((e) => [e, "Windows script"] as const),
]);

/** Extensions of documentation and prose: no loader imports them, whatever code they quote. */
const DOCUMENT_EXTENSIONS: ReadonlySet<string> = new Set([
  "md",
  "markdown",
  "rst",
  "txt",
  "adoc",
  "asciidoc",
  "html",
  "htm",
  "tex",
  "org",
  "log",
]);

export const detectText: Detector = ({ head, size, name }) => {
  if (head.length === 0) return undefined;
  const ext = extensionOf(name);
  // A template name is read as a template whatever its bytes: transformers opens it as UTF-8 text
  // (a NUL is a character there, and `%YAML` or `{"` is template text), so its content decides
  // nothing. Binary magics ranked before text still win, as for any name.
  if (TEMPLATE_EXTENSIONS.has(ext)) return { format: "jinja", offset: 0, reason: `template name (.${ext})` };
  // A `.py` name is imported as Python whatever it opens with (`{#` starts a valid Python set) and
  // whatever its bytes: a coding cookie makes Latin-1 valid source, and torch.jit.load lexes a
  // TorchScript `code/*.py` member as bytes (its analyzers decode leniently).
  if (ext === "py") return { format: "python", offset: 0, reason: "Python source name" };
  // A script name is run by its interpreter whatever it opens with (cmd.exe runs a `.bat` whose
  // first line is JSON, line by line) and whatever its encoding (batch files are often in an OEM
  // code page, PowerShell scripts in UTF-16).
  const script = SCRIPT_EXTENSIONS.get(ext);
  if (script !== undefined) return { format: "shell", offset: 0, reason: `${script} name (.${ext})` };
  const text = asText(head, head.length === size);
  if (text === undefined) return undefined;
  const trimmed = text.replace(/^\uFEFF/, "").trimStart();
  // A YAML name is what the loader reads it as (yaml.load of a .yaml file), whatever it looks like.
  const byName = detectMlmodel(name, text) ?? detectYamlByName(ext);
  if (byName !== undefined) return byName;
  // Python tags make it YAML before Jinja, Python or shell syntax is considered (a loader would
  // construct them); JSON-looking text stays JSON, where a tag makes the JSON invalid.
  const jsonLike = /^(?:\{\s*["}]|\[\s*["{[\]])/.test(trimmed);
  const tagged = jsonLike ? undefined : detectYamlByPythonTag(trimmed, ext);
  if (tagged !== undefined) return tagged;
  if (startsLikeJinja(trimmed)) return { format: "jinja", offset: 0, reason: "opens with a Jinja delimiter" };
  // JSON Lines (dataset rows) is one document per line, not one JSON document: plain data.
  if ((ext === "jsonl" || ext === "ndjson") && (trimmed.startsWith("{") || trimmed.startsWith("["))) {
    return { format: "text", offset: 0, reason: "JSON Lines" };
  }
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    // A signature only when the whole file is a strict Sigstore bundle (no key the bundle schema
    // lacks): `oms-signature` is inert, and any other JSON is what some loader reads as a config.
    if (head.length === size && isSignatureText(text)) {
      return { format: "oms-signature", offset: 0, reason: "Sigstore bundle JSON" };
    }
    if (/"nbformat"\s*:/.test(text) && /"cells"\s*:/.test(text)) {
      return { format: "notebook", offset: 0, reason: "Jupyter notebook JSON" };
    }
    if (ext === "json" || /^[{[]\s*["{[\]}]/.test(trimmed)) return { format: "json", offset: 0, reason: "JSON text" };
  }
  if (trimmed.startsWith("#!")) {
    const line = trimmed.slice(0, trimmed.indexOf("\n") >>> 0);
    return /python/.test(line)
      ? { format: "python", offset: 0, reason: "python shebang" }
      : { format: "shell", offset: 0, reason: "shebang script" };
  }
  // Python by content only where a name does not say documentation: a model card's code snippet
  // (`from transformers import ...` in README.md) is imported by nothing
  if (
    !DOCUMENT_EXTENSIONS.has(ext) &&
    /^(?:from[ \t]+[\w.]+[ \t]+import[ \t]|import[ \t]+[\w.]+|def[ \t]+\w+[ \t]*\(|class[ \t]+\w+[(:])/m.test(text)
  ) {
    if (!/\{[%{]/.test(text)) return { format: "python", offset: 0, reason: "Python source" };
  }
  const yaml = detectYamlByContent(trimmed, ext);
  if (yaml !== undefined) return yaml;
  if (/\{%-?\s*\w+[\s\S]*?%\}|\{\{[\s\S]*?\}\}/.test(text)) {
    return { format: "jinja", offset: 0, reason: "Jinja template syntax" };
  }
  return { format: "text", offset: 0, reason: "UTF-8 text" };
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    json: true;
    python: true;
    notebook: true;
    shell: true;
    text: true;
  }
}

/** Text formats. */
export const textModule = {
  name: "text",
  formats: [
    {
      id: "json",
      description: "JSON text",
      textual: true,
      inert: true,
      hintExtensions: ["json", "txt", "md", "ipynb"],
    },
    { id: "python", description: "Python source", textual: true, hintExtensions: ["py", "txt", "md"] },
    { id: "notebook", description: "Jupyter notebook", textual: true, hintExtensions: ["json", "ipynb"] },
    { id: "shell", description: "shell script", textual: true, hintExtensions: ["txt", "md"] },
    { id: "text", description: "UTF-8 text", textual: true, inert: true, hintExtensions: ["txt", "md", "jinja", "py"] },
  ],
  detectors: [{ rank: 190, detect: detectText }],
} as const satisfies FormatModule;
