/**
 * Path globs for policy suppressions: a small, predictable dialect, matched by a state-set
 * automaton (no backtracking regular expression), so matching time is linear in the path's length
 * whatever the pattern.
 * @module
 */
import { ModelgateError } from "../core/errors.js";

/** Longest glob accepted (policies are written by people; longer is a mistake or an attack). */
export const MAX_GLOB_LENGTH = 1024;

/** A compiled glob: tests whole paths. */
export interface Glob {
  /** The pattern it was compiled from. */
  readonly source: string;
  /**
   * Whether the whole path matches. Time is O(path length × pattern length), never exponential.
   * @param path - a POSIX path, members as `outer!inner`
   */
  test(path: string): boolean;
}

type CharTest = (cp: number) => boolean;

/** One automaton state: consumes one code point that passes `test` (then goes to `out`), and/or moves freely to `eps`. */
interface State {
  test: CharTest | undefined;
  out: number;
  eps: number[];
}

type Token =
  | { kind: "char"; test: CharTest }
  | { kind: "star" }
  | { kind: "globstar" }
  | { kind: "globstar-slash" }
  | { kind: "alt"; branches: Token[][] };

const SLASH = 0x2f;
const BANG = 0x21;
const notSeparator: CharTest = (cp) => cp !== SLASH && cp !== BANG;
const anyChar: CharTest = () => true;
const isSlash: CharTest = (cp) => cp === SLASH;

/** `[...]` body (after `!`/`^`): single code points and `a-z` ranges, every character literal. */
function classTest(pattern: string, body: string, negate: boolean): CharTest {
  const cps = Array.from(body, (c) => c.codePointAt(0)!);
  const ranges: [number, number][] = [];
  for (let i = 0; i < cps.length; ) {
    const lo = cps[i]!;
    if (cps[i + 1] === 0x2d && i + 2 < cps.length) {
      const hi = cps[i + 2]!;
      if (hi < lo) throw new ModelgateError("POLICY", `glob "${pattern}" has a range out of order in "[${body}]"`);
      ranges.push([lo, hi]);
      i += 3;
    } else {
      ranges.push([lo, lo]);
      i += 1;
    }
  }
  return (cp) => ranges.some(([lo, hi]) => cp >= lo && cp <= hi) !== negate;
}

/** Splits a pattern into tokens. */
function tokenize(pattern: string): Token[] {
  const top: Token[] = [];
  let branches: Token[][] | undefined;
  let current = top;
  const literal = (c: string): Token => {
    const cp = c.codePointAt(0)!;
    return { kind: "char", test: (x) => x === cp };
  };
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    switch (c) {
      case "\\": {
        const next = chars[i + 1];
        if (next === undefined) throw new ModelgateError("POLICY", `glob "${pattern}" ends with an escape`);
        current.push(literal(next));
        i++;
        break;
      }
      case "*":
        if (chars[i + 1] === "*") {
          while (chars[i + 1] === "*") i++;
          // `**/` also matches zero directories.
          if (chars[i + 1] === "/") {
            current.push({ kind: "globstar-slash" });
            i++;
          } else {
            current.push({ kind: "globstar" });
          }
        } else {
          current.push({ kind: "star" });
        }
        break;
      case "?":
        current.push({ kind: "char", test: notSeparator });
        break;
      case "[": {
        // The first character after `[` (or `[!`) belongs to the set even when it is `]`.
        let end = -1;
        for (let j = i + 2; j < chars.length; j++) {
          if (chars[j] === "]") {
            end = j;
            break;
          }
        }
        if (end < 0) throw new ModelgateError("POLICY", `glob "${pattern}" has an unclosed "["`);
        let body = chars.slice(i + 1, end).join("");
        const negate = body.startsWith("!") || body.startsWith("^");
        if (negate) body = body.slice(1);
        current.push({ kind: "char", test: classTest(pattern, body, negate) });
        i = end;
        break;
      }
      case "{":
        if (branches !== undefined) throw new ModelgateError("POLICY", `glob "${pattern}" nests "{"`);
        current = [];
        branches = [current];
        break;
      case "}":
        if (branches === undefined) throw new ModelgateError("POLICY", `glob "${pattern}" has an unmatched "}"`);
        top.push({ kind: "alt", branches });
        branches = undefined;
        current = top;
        break;
      case ",":
        if (branches === undefined) {
          current.push(literal(c));
        } else {
          current = [];
          branches.push(current);
        }
        break;
      default:
        current.push(literal(c));
    }
  }
  if (branches !== undefined) throw new ModelgateError("POLICY", `glob "${pattern}" has an unclosed "{"`);
  return top;
}

/** Builds the automaton for a token sequence, back to front; returns the start state. */
function build(tokens: readonly Token[], next: number, states: State[]): number {
  const add = (state: State): number => states.push(state) - 1;
  let target = next;
  for (let k = tokens.length - 1; k >= 0; k--) {
    const token = tokens[k]!;
    switch (token.kind) {
      case "char":
        target = add({ test: token.test, out: target, eps: [] });
        break;
      case "star":
      case "globstar": {
        const loop = add({ test: token.kind === "star" ? notSeparator : anyChar, out: -1, eps: [target] });
        states[loop]!.out = loop;
        target = loop;
        break;
      }
      case "globstar-slash": {
        // (?:.*/)?
        const slash = add({ test: isSlash, out: target, eps: [] });
        const loop = add({ test: anyChar, out: -1, eps: [slash] });
        states[loop]!.out = loop;
        target = add({ test: undefined, out: -1, eps: [target, loop] });
        break;
      }
      case "alt": {
        const after = target;
        const starts = token.branches.map((branch) => build(branch, after, states));
        target = add({ test: undefined, out: -1, eps: starts });
        break;
      }
    }
  }
  return target;
}

/**
 * Compiles a path glob. Paths are POSIX, relative to the policy file's directory when it contains
 * the scan, else to the scanned directory (see `policyAnchor`); container members are `outer!inner`.
 *
 * - `**` matches anything, including `/` and `!` (any depth, into members);
 * - `*` matches any run of characters except `/` and `!`; `?` one such character;
 * - `[abc]`, `[a-z]`, `[!abc]` match one character of (or not of) a set;
 * - `{a,b}` matches either alternative (no nesting);
 * - `\` escapes the next character.
 *
 * A pattern is matched against the whole path: `*.pt` matches `model.pt` but not `sub/model.pt`
 * (write `**\/*.pt` for any depth). Matching simulates an automaton over the set of live states
 * (one pass over the path, no backtracking): hostile paths cannot make it slow.
 * @param pattern - the glob
 * @throws ModelgateError `POLICY` for an empty, overlong or unbalanced pattern
 */
export function compileGlob(pattern: string): Glob {
  if (pattern.length === 0 || pattern.length > MAX_GLOB_LENGTH) {
    throw new ModelgateError("POLICY", `glob must have 1 to ${MAX_GLOB_LENGTH} characters`);
  }
  const states: State[] = [{ test: undefined, out: -1, eps: [] }];
  const ACCEPT = 0;
  const start = build(tokenize(pattern), ACCEPT, states);
  const count = states.length;

  return {
    source: pattern,
    test(path: string): boolean {
      // Live states, deduplicated per step with a generation mark.
      const mark = new Uint32Array(count);
      let generation = 0;
      let current: number[] = [];
      let next: number[] = [];
      const closure = (from: number, into: number[]): void => {
        const stack = [from];
        while (stack.length > 0) {
          const s = stack.pop()!;
          if (mark[s] === generation) continue;
          mark[s] = generation;
          into.push(s);
          for (const e of states[s]!.eps) if (mark[e] !== generation) stack.push(e);
        }
      };
      generation++;
      closure(start, current);
      for (const ch of path) {
        const cp = ch.codePointAt(0)!;
        generation++;
        next.length = 0;
        for (const s of current) {
          const state = states[s]!;
          if (state.test?.(cp) === true) closure(state.out, next);
        }
        if (next.length === 0) return false;
        [current, next] = [next, current];
      }
      return current.includes(ACCEPT);
    },
  };
}
