/**
 * Patterns for scripts that ship with models: Python modules, notebook cells and shell scripts.
 * Regular expressions over source text (comments blanked for Python), not execution.
 * @module
 */
import { lineOf } from "./text.js";

/** One risky construct found in a script. */
export interface RiskyHit {
  /** Category: `process`, `dynamic-code`, `deserialize`, `network`, `native-code`, `obfuscation`, `download-exec` ... */
  readonly kind: string;
  /** The matched text (shortened). */
  readonly match: string;
  /** 1-based line. */
  readonly line: number;
}

type Pattern = readonly [kind: string, re: RegExp];

const PYTHON: readonly Pattern[] = [
  ["process", /\bos\s*\.\s*(?:system|popen|exec[lv]p?e?|spawn[lv]p?e?|posix_spawnp?)\s*\(/],
  ["process", /\bsubprocess\s*\.\s*(?:run|call|check_call|check_output|Popen|getoutput|getstatusoutput)\b/],
  ["process", /^\s*from\s+subprocess\s+import\b/m],
  ["process", /\bpty\s*\.\s*spawn\s*\(|\bcommands\s*\.\s*getoutput\s*\(/],
  ["dynamic-code", /(?<![\w.])(?:exec|eval)\s*\(/],
  // the builtins themselves reached by attribute (`builtins.exec`, `__builtins__.eval`)
  ["dynamic-code", /\b(?:builtins|__builtins__)\s*\.\s*(?:exec|eval|compile|__import__)\s*\(/],
  ["dynamic-code", /(?<![\w.])__import__\s*\(/],
  ["dynamic-code", /(?<![\w.])compile\s*\([^)]*['"]exec['"]/],
  // the introspection escape: every class through object's subclasses, then a function's globals
  // (`().__class__.__base__.__subclasses__()`, `....__init__.__globals__['system']`)
  [
    "dynamic-code",
    /\b(?:__base__|__bases__\s*\[[^\]\n]{0,64}\]|__mro__\s*\[[^\]\n]{0,64}\]|object)\s*\.\s*__subclasses__\s*\(/,
  ],
  ["dynamic-code", /\.\s*__globals__\s*(?:\[|\.\s*(?:get|__getitem__)\s*\()/],
  ["deserialize", /\b(?:pickle|cPickle|_pickle|dill|marshal|shelve|cloudpickle)\s*\.\s*loads?\s*\(/],
  ["deserialize", /\bjoblib\s*\.\s*load\s*\(/],
  ["deserialize", /\btorch\s*\.\s*load\s*\((?![^)]*weights_only\s*=\s*True)/],
  ["deserialize", /\bnp\s*\.\s*load\s*\([^)]*allow_pickle\s*=\s*True/],
  ["deserialize", /\byaml\s*\.\s*(?:unsafe_load|load)\s*\((?![^)]*Loader\s*=\s*(?:yaml\.)?(?:C?SafeLoader))/],
  ["network", /\burllib(?:\.request)?\s*\.\s*(?:urlopen|urlretrieve)\s*\(|(?<![\w.])urlopen\s*\(/],
  ["network", /\brequests\s*\.\s*(?:get|post|put|request)\s*\(|\bhttpx\s*\.\s*(?:get|post|stream)\s*\(/],
  ["network", /\bsocket\s*\.\s*(?:socket|create_connection)\s*\(|\bparamiko\b|\bftplib\b/],
  ["native-code", /\bctypes\s*\.\s*(?:CDLL|cdll|windll|WinDLL|PyDLL|LibraryLoader)\b|\bffi\s*\.\s*dlopen\s*\(/],
];

const PYTHON_DECODE =
  /\b(?:base64\s*\.\s*(?:b64decode|b32decode|b16decode|a85decode|b85decode)|zlib\s*\.\s*decompress|codecs\s*\.\s*decode|bytes\s*\.\s*fromhex)\s*\(/;

const SHELL: readonly Pattern[] = [
  ["download-exec", /\b(?:curl|wget)\b[^\n|;]{0,300}\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b/],
  ["download-exec", /\b(?:ba)?sh\s+-c\s+["']?\$\(\s*(?:curl|wget)\b/],
  ["download-exec", /\beval\s+["']?\$\(\s*(?:curl|wget)\b/],
  ["download-exec", /\b(?:curl|wget)\b[^\n]{0,300}(?:\n[^\n]{0,300}){0,3}\bchmod\s+\+x\b/],
  ["reverse-shell", /\/dev\/(?:tcp|udp)\/|\bnc(?:at)?\s+(?:-\w+\s+)*-e\b|\bmkfifo\b[^\n]*\bnc\b|\bsocat\b[^\n]*exec:/],
  ["obfuscation", /\bbase64\s+(?:-d|--decode)\b[^\n]*\|\s*(?:ba)?sh\b|\becho\s+[A-Za-z0-9+/=]{40,}\s*\|\s*base64/],
  ["destructive", /\brm\s+-(?:rf|fr)\s+(?:--no-preserve-root\s+)?[/~](?:\s|$)/],
  ["persistence", /\bcrontab\b|\.ssh\/authorized_keys|\/etc\/(?:sudoers|shadow|passwd)\b|\bsystemctl\s+enable\b/],
  ["install-from-url", /\bpip3?\s+install\b[^\n]*(?:git\+|https?:\/\/|--index-url|--extra-index-url)/],
  ["python-inline", /\bpython[23]?\s+-c\s+["'][^"'\n]*(?:exec|eval|__import__|base64)/],
  // Windows scripts (`.bat`, `.cmd`, `.ps1`, `.vbs`, `.wsf`, `.hta`): the same kinds of act.
  ["obfuscation", /\bpowershell(?:\.exe)?\b[^\n]{0,200}\s-(?:e|en|enc|encodedcommand)\s+[A-Za-z0-9+/=]{20,}/i],
  [
    "download-exec",
    /\b(?:iex|invoke-expression)\b[^\n]{0,200}(?:downloadstring|invoke-webrequest|iwr|net\.webclient)|(?:downloadstring|invoke-webrequest|\biwr\b)[^\n]{0,200}\|\s*(?:iex|invoke-expression)\b/i,
  ],
  [
    "download-exec",
    /\b(?:certutil(?:\.exe)?\s+[^\n]*-urlcache|bitsadmin(?:\.exe)?\s+[^\n]*\/transfer|mshta(?:\.exe)?\s+https?:)/i,
  ],
  [
    "process-exec",
    /\b(?:wscript\.shell|shell\.application)\b[^\n]{0,200}|\bcreateobject\s*\(\s*["'](?:wscript\.shell|shell\.application)/i,
  ],
  ["persistence", /\bschtasks(?:\.exe)?\s+\/create\b|\breg(?:\.exe)?\s+add\s+[^\n]*\\(?:run|runonce)\b/i],
];

/**
 * Most characters of a script searched for risky constructs: the analyzers report a longer one
 * (`scan/budget-exceeded`), whose rest was not searched.
 */
export const RISK_SCAN_MAX_CHARS = 16_000_000;

function collect(text: string, patterns: readonly Pattern[], max = 20): RiskyHit[] {
  const hits: RiskyHit[] = [];
  for (const [kind, re] of patterns) {
    const m = re.exec(text);
    if (m === null) continue;
    hits.push({ kind, match: m[0].slice(0, 120), line: lineOf(text, m.index) });
    if (hits.length >= max) break;
  }
  return hits;
}

function countNewlines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = s.indexOf("\n", from); i >= 0 && i < to; i = s.indexOf("\n", i + 1)) n++;
  return n;
}

/**
 * Blanks Python comments and docstrings (keeps other strings and the line structure), so
 * commented-out code and documentation examples do not count.
 * @param src - Python source
 */
export function blankPythonComments(source: string): string {
  // CPython ends lines at CR as at LF (universal newlines): a comment ends there too. One
  // character for one keeps every offset.
  const src = source.replace(/\r(?!\n)/g, "\n");
  let out = "";
  let i = 0;
  let depth = 0; // brackets open outside strings: a string inside them is an operand
  const n = src.length;
  while (i < n) {
    const c = src[i] as string;
    if (c === "#") {
      const nl = src.indexOf("\n", i);
      i = nl < 0 ? n : nl;
      continue;
    }
    if (c === '"' || c === "'") {
      const prefix = /[rRuUbBfF]{0,2}$/.exec(src.slice(Math.max(0, i - 2), i))?.[0] ?? "";
      const end = skipPythonString(src, i, /[fF]/.test(prefix), 0);
      const q = src.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      // A triple-quoted string standing alone as a statement is a docstring (or commented-out
      // block): its examples never run. A string inside brackets or after an operator or a line
      // continuation is an operand (`exec(\n"""…"""\n)`), and other strings are kept as well.
      const lineStart = src.lastIndexOf("\n", i - 1) + 1;
      const before = out.trimEnd();
      const last = before[before.length - 1] ?? "";
      const operand = depth > 0 || /[([{,=+\-*/%|&^<>~@\\]/.test(last);
      const docstring = q.length === 3 && !operand && /^\s*[rRuUbBfF]{0,2}$/.test(src.slice(lineStart, i));
      out += docstring ? `${q}${q}${"\n".repeat(countNewlines(src, i, end))}` : src.slice(i, end);
      i = end;
      continue;
    }
    if (c === "(" || c === "[" || c === "{") depth++;
    else if ((c === ")" || c === "]" || c === "}") && depth > 0) depth--;
    out += c;
    i++;
  }
  return out;
}

/**
 * The end of the Python string opening at `i` (its closing quote included): backslashes escape
 * the next character, and an f-string's `{…}` replacement fields are skipped as expressions, which
 * may hold strings in the same quotes (Python 3.12).
 */
function skipPythonString(src: string, i: number, f: boolean, level: number): number {
  const c = src[i] as string;
  const q = src.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
  const n = src.length;
  let j = i + q.length;
  while (j < n) {
    const ch = src[j];
    if (ch === "\\") {
      j += 2;
      continue;
    }
    if (f && ch === "{") {
      if (src[j + 1] === "{") {
        j += 2;
        continue;
      }
      j = skipFieldExpression(src, j + 1, level + 1);
      continue;
    }
    if (src.startsWith(q, j)) return j + q.length;
    if (q.length === 1 && ch === "\n") return j;
    j++;
  }
  return n;
}

/** The end of an f-string replacement field's expression starting at `k` (after its `}`). */
function skipFieldExpression(src: string, k: number, level: number): number {
  const n = src.length;
  let depth = 1;
  while (k < n && depth > 0) {
    const ch = src[k] as string;
    if (ch === "'" || ch === '"') {
      const prefix = /[rRuUbBfF]{0,2}$/.exec(src.slice(Math.max(0, k - 2), k))?.[0] ?? "";
      k = level > 8 ? k + 1 : skipPythonString(src, k, /[fF]/.test(prefix), level);
      continue;
    }
    if (ch === "{" || ch === "[" || ch === "(") depth++;
    else if (ch === "}" || ch === "]" || ch === ")") depth--;
    k++;
  }
  return k;
}

/**
 * The source with imported aliases spelled out: `import os as _o` makes `_o.` read `os.`, and
 * `from os import system as run` makes a call `run(` read `os.system(`. Only names that an import
 * statement binds are rewritten; newlines are kept, so line numbers do not move. The patterns are
 * matched on both texts (a rewrite may also hide a pattern written against the alias, `np.load`).
 * @param code - Python source, comments blanked
 */
export function unaliasPython(code: string): string {
  const modules = new Map<string, string>();
  const functions = new Map<string, string>();
  const statement = /(?:^|;)[ \t]*(?:from[ \t]+([\w.]+)[ \t]+)?import[ \t]+\(?([^\n;#)]*)/gm;
  for (const m of code.matchAll(statement)) {
    for (const part of (m[2] ?? "").split(",")) {
      const a = /^\s*([\w.]+)(?:\s+as\s+(\w+))?\s*$/.exec(part);
      if (a === null) continue;
      const [, name = "", alias] = a;
      if (m[1] === undefined) {
        if (alias !== undefined && alias !== name) modules.set(alias, name);
      } else if (/^\w+$/.test(name)) functions.set(alias ?? name, `${m[1]}.${name}`);
    }
  }
  // Every alias is followed (no cap: an alias dropped past one would hide what it names). Each
  // name is looked up in the maps, so the cost does not grow with the number of aliases.
  let out = code;
  if (modules.size > 0) out = out.replace(/(?<![\w.])(\w+)(?=\s*\.)/g, (alias: string) => modules.get(alias) ?? alias);
  if (functions.size > 0) out = out.replace(/(?<![\w.])(\w+)(?=\s*\()/g, (name: string) => functions.get(name) ?? name);
  return out;
}

/**
 * Risky constructs in Python source.
 * @param src - Python source
 */
export function pythonRisks(src: string): RiskyHit[] {
  const code = blankPythonComments(src.length > RISK_SCAN_MAX_CHARS ? src.slice(0, RISK_SCAN_MAX_CHARS) : src);
  const hits = collect(code, PYTHON);
  const unaliased = unaliasPython(code);
  if (unaliased !== code) {
    const seen = new Set(hits.map((h) => h.kind));
    for (const hit of collect(unaliased, PYTHON)) if (!seen.has(hit.kind)) hits.push(hit);
  }
  const decode = PYTHON_DECODE.exec(code);
  if (decode !== null && hits.some((h) => h.kind === "dynamic-code" || h.kind === "process")) {
    hits.push({ kind: "obfuscation", match: decode[0], line: lineOf(code, decode.index) });
  }
  return hits;
}

/**
 * Risky constructs in shell text.
 * @param src - shell script (or notebook shell lines)
 */
export function shellRisks(src: string): RiskyHit[] {
  return collect(src.length > RISK_SCAN_MAX_CHARS ? src.slice(0, RISK_SCAN_MAX_CHARS) : src, SHELL);
}

/**
 * Top-level modules a Python source imports (first 30, in order).
 * @param src - Python source
 */
export function pythonImports(src: string): string[] {
  const out = new Set<string>();
  for (const m of blankPythonComments(src).matchAll(
    /^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import\b|import[ \t]+([\w.]+(?:[ \t]*,[ \t]*[\w.]+)*))/gm,
  )) {
    const names = m[1] !== undefined ? [m[1]] : (m[2] ?? "").split(",").map((s) => s.trim());
    for (const name of names) if (name !== "") out.add(name);
    if (out.size >= 30) break;
  }
  return [...out];
}
