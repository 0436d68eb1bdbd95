/**
 * Checks on free-text values of model metadata (safetensors `__metadata__`, GGUF strings): code,
 * URLs, encoded pickles and suspicious names.
 * @module
 */

/** A code-like pattern found in text. */
export interface CodeHit {
  /** Short label of the pattern (`python-exec`, `shell-pipe` ...). */
  readonly kind: string;
  /** The matched text (shortened). */
  readonly match: string;
}

const CODE_PATTERNS: readonly (readonly [string, RegExp])[] = [
  [
    "python-import",
    /\b(?:import\s+(?:os|sys|subprocess|socket|shutil|ctypes|pty|builtins|importlib|pickle|marshal|base64|urllib|requests)\b|from\s+(?:os|subprocess|socket|ctypes|pty|builtins|importlib|pickle|urllib|requests)(?:\.\w+)*\s+import\b)/,
  ],
  ["python-exec", /\b(?:exec|eval|compile|__import__|execfile)\s*\(/],
  ["python-os", /\bos\s*\.\s*(?:system|popen|exec\w*|spawn\w*|fork|remove|unlink|rmdir)\s*\(/],
  ["python-subprocess", /\bsubprocess\s*\.\s*\w+/],
  ["python-deserialize", /\b(?:pickle|cPickle|marshal|dill|joblib)\s*\.\s*loads?\s*\(/],
  ["python-lambda", /\blambda\b[^:\n]{0,40}:/],
  ["dunder-chain", /__(?:class|mro|subclasses|globals|builtins|base|bases|init|reduce|reduce_ex|code)__/],
  ["shell-pipe", /\b(?:curl|wget|fetch)\b[^\n|;]{0,200}\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b/],
  ["shell-exec", /\b(?:bash|sh|zsh)\s+-c\s+/],
  ["shell-revshell", /\/dev\/(?:tcp|udp)\/|\bnc(?:at)?\s+(?:-\w+\s+)*-e\b|\bmkfifo\b/],
  ["shell-destructive", /\brm\s+-(?:rf|fr)\s+[/~]/],
  ["shell-decode", /\bbase64\s+(?:-d|--decode)\b/],
  ["powershell", /\bpowershell(?:\.exe)?\b[^\n]{0,80}-(?:enc|encodedcommand|e)\b|\bIEX\s*\(|Invoke-Expression/i],
  ["html-script", /<script\b|\bjavascript:|\bon(?:error|load)\s*=/i],
];

/**
 * Code-like patterns in a text (at most one hit per pattern).
 * @param text - the text
 */
export function findCode(text: string): CodeHit[] {
  const sample = text.length > 1_000_000 ? text.slice(0, 1_000_000) : text;
  const hits: CodeHit[] = [];
  for (const [kind, re] of CODE_PATTERNS) {
    const m = re.exec(sample);
    if (m !== null) hits.push({ kind, match: m[0].slice(0, 80) });
  }
  return hits;
}

/** Hosts whose URLs are documentation rather than something a loader would fetch. */
const DOC_HOSTS = [
  "huggingface.co",
  "hf.co",
  "github.com",
  "arxiv.org",
  "creativecommons.org",
  "opensource.org",
  "spdx.org",
  "www.apache.org",
  "apache.org",
  "ai.meta.com",
  "llama.meta.com",
  "mistral.ai",
  "ai.google.dev",
  "choosealicense.com",
];

/** A URL found in text. */
export interface UrlHit {
  /** The URL (shortened). */
  readonly url: string;
  /** Host name, lower case. */
  readonly host: string;
  /** Whether the host is a documentation/licence host. */
  readonly documentation: boolean;
}

/**
 * URLs in a text: up to 10 documentation URLs and up to 10 others. Both kinds are counted apart so
 * that documentation links (reported as info) cannot fill the list before a URL judged higher.
 * @param text - the text
 */
export function findUrls(text: string): UrlHit[] {
  const re = /\b(?:https?|ftp|file|s3|gs|sftp|smb):\/\/([^\s"'<>/?#\\]*)[^\s"'<>]*/gi;
  const out: UrlHit[] = [];
  let docs = 0;
  for (const m of text.slice(0, 1_000_000).matchAll(re)) {
    const host = (m[1] ?? "")
      .toLowerCase()
      .replace(/^[^@]*@/, "")
      .replace(/:\d+$/, "");
    const documentation = DOC_HOSTS.some((h) => host === h || host.endsWith(`.${h}`));
    const others = out.length - docs;
    if (documentation ? docs >= 10 : others >= 10) {
      if (docs >= 10 && others >= 10) break; // both kinds full
      continue;
    }
    if (documentation) docs++;
    out.push({ url: m[0].slice(0, 200), host, documentation });
  }
  return out;
}

/** An encoded binary blob found in a text. */
export interface EncodedBlob {
  /** `base64`, `hex` or `raw` (the text itself is a protocol-0 pickle). */
  readonly encoding: "base64" | "hex" | "raw";
  /** Decoded bytes. */
  readonly bytes: Uint8Array;
  /** Whether the bytes start like a pickle stream. */
  readonly pickle: boolean;
}

/**
 * Whether bytes start like a pickle stream: a PROTO opcode (0x80, protocol 2–5) or a protocol 0/1
 * stream opening with a GLOBAL, MARK or an empty container.
 * @param b - the bytes
 */
export function looksLikePickle(b: Uint8Array): boolean {
  if (b.length < 2) return false;
  const b0 = b[0] ?? 0;
  const b1 = b[1] ?? 0;
  if (b0 === 0x80 && b1 >= 2 && b1 <= 5) return true;
  // protocol 0/1: GLOBAL "c<module>\n<name>\n", MARK "(" , EMPTY_DICT/LIST "}"/"]" followed by an opcode.
  if (b0 === 0x63) return /^c[A-Za-z_][\w.]*\n[A-Za-z_][\w.]*\n/.test(latin1(b.subarray(0, 256)));
  if ((b0 === 0x28 || b0 === 0x7d || b0 === 0x5d) && b.length >= 3) {
    return latin1(b.subarray(0, 64)).search(/[cSVIFLlp]/) > 0 && b[b.length - 1] === 0x2e;
  }
  return false;
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return s;
}

const B64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;

/**
 * Decodes the encoded blobs a text may be or contain: the whole (trimmed) value, or a `data:` URI
 * payload. Only blobs of at least 16 decoded bytes are returned; `maxBytes` caps each.
 * @param text - the text
 * @param maxBytes - decode at most this many bytes per blob
 */
export function findEncodedBlobs(text: string, maxBytes = 16 * 1024 * 1024): EncodedBlob[] {
  const out: EncodedBlob[] = [];
  const raw = text.trim();
  if (raw.length >= 8 && /^c[A-Za-z_][\w.]*\n[A-Za-z_][\w.]*\n/.test(raw)) {
    const bytes = Uint8Array.from(raw.slice(0, maxBytes), (c) => c.charCodeAt(0) & 0xff);
    out.push({ encoding: "raw", bytes, pickle: true });
  }
  const candidates: string[] = [];
  const dataUri = /^data:[^,]{0,100};base64,/i.exec(raw);
  if (dataUri !== null) candidates.push(raw.slice(dataUri[0].length));
  else candidates.push(raw.replace(/\s+/g, ""));
  for (const c of candidates) {
    if (c.length >= 24 && c.length % 2 === 0 && HEX.test(c)) {
      const bytes = Buffer.from(c.slice(0, maxBytes * 2), "hex");
      out.push({ encoding: "hex", bytes, pickle: looksLikePickle(bytes) });
    } else if (c.length >= 24 && B64.test(c) && /[A-Z]/.test(c) && /[a-z0-9+/]/.test(c)) {
      const bytes = Buffer.from(
        c.slice(0, Math.ceil((maxBytes * 4) / 3)),
        c.includes("-") || c.includes("_") ? "base64url" : "base64",
      );
      if (bytes.length >= 16) out.push({ encoding: "base64", bytes, pickle: looksLikePickle(bytes) });
    }
  }
  return out;
}

/**
 * Why a tensor name looks hostile, or `undefined` when it looks like an identifier path.
 * @param name - the tensor name
 */
export function suspiciousTensorName(name: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we look for
  if (/[\u0000-\u001f\u007f]/.test(name)) return "control character";
  if (/(?:^|[/\\])\.\.(?:[/\\]|$)/.test(name)) return "path traversal";
  if (/^[/\\]/.test(name)) return "absolute path";
  if (/^[A-Za-z]:[/\\]/.test(name)) return "drive letter";
  if (name.includes("\\")) return "backslash";
  if (/[<>"'`]/.test(name)) return "markup or quote character";
  if (/\$\{|\{\{|\{%|\$\(/.test(name)) return "template or shell expansion";
  if (name.length > 1024) return "name longer than 1024 characters";
  return undefined;
}
