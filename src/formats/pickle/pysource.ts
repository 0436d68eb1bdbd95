/**
 * A small, bounded Python source scanner: lists the modules a piece of code imports and the
 * dotted names it references or calls, following `import ... as` aliases, `__import__('x')` and
 * `getattr(x, 'y')`. Used for code strings handed to `eval`/`exec`/`compile` inside pickles and for
 * TorchScript `code/` members. It tokenizes; it does not parse or run anything.
 * @module
 */

/** A name the code references. */
export interface SourceName {
  /** Dotted name with aliases resolved (`os.system`, `builtins.eval`). */
  readonly name: string;
  /** `import` for imported modules, `call` when followed by `(`, else `ref`. */
  readonly kind: "import" | "call" | "ref";
}

/** What a piece of source references. */
export interface SourceScan {
  /** Every name in first-seen order, deduplicated by name and kind (none dropped: callers judge each). */
  readonly names: readonly SourceName[];
  /** `def name` found in the code. */
  readonly defs: readonly string[];
  /** The scan stopped at its byte budget. */
  readonly truncated: boolean;
}

type Tok = { t: "name" | "str" | "op"; v: string };

const BUILTIN_FUNCS = new Set([
  "eval",
  "exec",
  "compile",
  "open",
  "__import__",
  "getattr",
  "setattr",
  "globals",
  "locals",
  "vars",
  "input",
  "breakpoint",
  "execfile",
  "print",
  "map",
  "filter",
]);

const KEYWORDS = new Set([
  "if",
  "else",
  "elif",
  "for",
  "while",
  "return",
  "and",
  "or",
  "not",
  "in",
  "is",
  "lambda",
  "def",
  "class",
  "with",
  "as",
  "try",
  "except",
  "finally",
  "raise",
  "pass",
  "yield",
  "None",
  "True",
  "False",
  "import",
  "from",
  "del",
  "global",
  "nonlocal",
  "assert",
  "break",
  "continue",
  "await",
  "async",
]);

/**
 * How line ends, comments and continuations are read.
 *
 * - `python` (CPython's `exec`/`compile`, imported modules): `\r\n`, `\r` and `\n` all end a line
 *   (CPython normalises them), so a lone `\r` ends a comment.
 * - `torchscript` (the TorchScript lexer, torch/csrc/jit/frontend/lexer.h): only `\n` ends a line;
 *   `\r` is blank space (a comment runs on past it); `# type:` is a token, not a comment.
 *
 * In both, a backslash before the line end joins the lines. A backslash anywhere else outside a
 * string is a syntax error for both loaders, so the scanner reads it as blank space too (it can
 * only join names the loader would refuse anyway, never hide one).
 */
export type SourceDialect = "python" | "torchscript";

/** Number literals as the loaders lex them (decimal, hex/octal/binary, floats, exponents, imaginary). */
const NUMBER =
  /^(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?\d+)?|0[oObB][0-7_]*|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)[jJ]?/;

function tokenize(src: string, maxTokens: number, dialect: SourceDialect): { toks: Tok[]; truncated: boolean } {
  const toks: Tok[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    if (toks.length >= maxTokens) return { toks, truncated: true };
    const c = src[i] as string;
    if (c === "#") {
      // the TorchScript lexer reads `# type:` comments as tokens
      if (dialect === "torchscript" && src.startsWith("# type:", i)) {
        i += 7;
        continue;
      }
      while (i < n && src[i] !== "\n") i++;
      continue;
    }
    // blank space, and backslashes (line continuations; anywhere else a syntax error)
    if (c === "\\" || /\s/.test(c)) {
      i++;
      continue;
    }
    const m = /^([rRbBuUfF]{0,2})('''|"""|'|")/.exec(src.slice(i, i + 5));
    if (m !== null && (m[1] === "" || /[A-Za-z_]/.test(c))) {
      const q = m[2] as string;
      let j = i + (m[1] as string).length + q.length;
      let out = "";
      const raw = /[rR]/.test(m[1] as string);
      while (j < n && !src.startsWith(q, j)) {
        if (src[j] === "\\" && j + 1 < n) {
          // a backslash escapes the next character, in a raw string too (r'\'' is one string)
          const e = src[j + 1] ?? "";
          out += raw ? `\\${e}` : e === "n" ? "\n" : e === "t" ? "\t" : e;
          j += 2;
          continue;
        }
        if (q.length === 1 && src[j] === "\n") break;
        out += src[j];
        j++;
      }
      toks.push({ t: "str", v: out });
      i = j + q.length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_]/.test(src[j] as string)) j++;
      toks.push({ t: "name", v: src.slice(i, j) });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      // only the literal: a name right after it is a token of its own (`1if c else torch.save(...)`)
      const len = NUMBER.exec(src.slice(i, i + 256))?.[0].length ?? 1;
      i += Math.max(1, len);
      toks.push({ t: "op", v: "0" });
      continue;
    }
    toks.push({ t: "op", v: c });
    i++;
  }
  return { toks, truncated: false };
}

/**
 * Scans Python source.
 * @param src - the code
 * @param maxChars - budget; longer code is scanned up to it
 * @param dialect - whose line ends and comments ({@link SourceDialect}); CPython's by default
 */
export function scanPythonSource(src: string, maxChars = 1 << 20, dialect: SourceDialect = "python"): SourceScan {
  const cut = src.length > maxChars ? src.slice(0, maxChars) : src;
  // CPython reads `\r\n` and a lone `\r` as `\n`; the TorchScript lexer reads `\r` as blank space
  const text = dialect === "python" ? cut.replace(/\r\n?/g, "\n") : cut;
  const { toks, truncated } = tokenize(text, 200_000, dialect);
  const alias = new Map<string, string>();
  const out: SourceName[] = [];
  const seen = new Set<string>();
  const defs: string[] = [];
  const add = (name: string, kind: SourceName["kind"]): void => {
    // no cap: the token budget bounds the names, and a name dropped here would never be judged
    const key = `${kind}:${name}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ name, kind });
  };
  const at = (k: number): Tok | undefined => toks[k];
  // dotted name starting at k: returns [parts, next index]
  const dotted = (k: number): [string[], number] => {
    const parts: string[] = [];
    let j = k;
    while (at(j)?.t === "name") {
      parts.push(at(j)?.v as string);
      if (at(j + 1)?.v === "." && at(j + 2)?.t === "name") j += 2;
      else {
        j++;
        break;
      }
    }
    return [parts, j];
  };
  const resolve = (parts: string[]): string => {
    const head = parts[0] ?? "";
    const base = alias.get(head) ?? (BUILTIN_FUNCS.has(head) ? `builtins.${head}` : head);
    return [base, ...parts.slice(1)].join(".");
  };

  for (let k = 0; k < toks.length; k++) {
    const tok = toks[k] as Tok;
    if (tok.t !== "name") continue;
    const prev = at(k - 1);
    if (prev?.v === ".") continue; // part of a dotted name already handled
    if (tok.v === "import" && at(k - 1)?.v !== "from") {
      // import a.b [as c], d
      let j = k + 1;
      for (;;) {
        const [parts, next] = dotted(j);
        if (parts.length === 0) break;
        const mod = parts.join(".");
        add(mod, "import");
        if (at(next)?.v === "as" && at(next + 1)?.t === "name") {
          alias.set(at(next + 1)?.v as string, mod);
          j = next + 2;
        } else {
          alias.set(parts[0] as string, parts[0] as string);
          j = next;
        }
        if (at(j)?.v !== ",") break;
        j++;
      }
      k = j - 1;
      continue;
    }
    if (tok.v === "from") {
      const [parts, next] = dotted(k + 1);
      if (parts.length > 0 && at(next)?.v === "import") {
        const mod = parts.join(".");
        add(mod, "import");
        let j = next + 1;
        if (at(j)?.v === "(") j++;
        while (at(j)?.t === "name" || at(j)?.v === "*") {
          const nm = at(j)?.v as string;
          const full = `${mod}.${nm}`;
          if (at(j + 1)?.v === "as" && at(j + 2)?.t === "name") {
            alias.set(at(j + 2)?.v as string, full);
            j += 3;
          } else {
            alias.set(nm, full);
            j++;
          }
          add(full, "ref");
          if (at(j)?.v !== ",") break;
          j++;
        }
        k = j - 1;
      }
      continue;
    }
    if (tok.v === "def" && at(k + 1)?.t === "name") {
      defs.push(at(k + 1)?.v as string);
      k++;
      continue;
    }
    if (KEYWORDS.has(tok.v)) continue;
    const [parts, next] = dotted(k);
    // __import__('x').y / getattr(x, 'y')
    if (parts.length === 1 && parts[0] === "__import__" && at(next)?.v === "(" && at(next + 1)?.t === "str") {
      const mod = at(next + 1)?.v as string;
      add("builtins.__import__", "call");
      add(mod, "import");
      let j = next + 2;
      while (j < toks.length && at(j)?.v !== ")") j++;
      const attrs: string[] = [];
      let q = j + 1;
      while (at(q)?.v === "." && at(q + 1)?.t === "name") {
        attrs.push(at(q + 1)?.v as string);
        q += 2;
      }
      if (attrs.length > 0) add([mod, ...attrs].join("."), at(q)?.v === "(" ? "call" : "ref");
      k = q - 1;
      continue;
    }
    if (parts.length === 1 && parts[0] === "getattr" && at(next)?.v === "(") {
      const [obj, after] = dotted(next + 1);
      if (obj.length > 0 && at(after)?.v === "," && at(after + 1)?.t === "str" && at(after + 2)?.v === ")") {
        add("builtins.getattr", "call");
        add(`${resolve(obj)}.${at(after + 1)?.v}`, at(after + 3)?.v === "(" ? "call" : "ref");
        k = after + 2;
        continue;
      }
    }
    const name = resolve(parts);
    const isCall = at(next)?.v === "(";
    if (parts.length > 1 || isCall || alias.has(parts[0] ?? "")) add(name, isCall ? "call" : "ref");
    k = next - 1;
  }
  return { names: out, defs, truncated: truncated || src.length > maxChars };
}
