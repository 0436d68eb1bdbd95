/**
 * Path globs for policy suppressions: a small, predictable dialect compiled to a RegExp.
 * @module
 */
import { ModelgateError } from "../errors.js";

/** Longest glob accepted (policies are written by people; longer is a mistake or an attack). */
export const MAX_GLOB_LENGTH = 1024;

const escapeRegex = (c: string): string => c.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");

/**
 * Compiles a path glob to an anchored RegExp. Paths are POSIX and relative to the scanned directory;
 * container members are `outer!inner`.
 *
 * - `**` matches anything, including `/` and `!` (any depth, into members);
 * - `*` matches any run of characters except `/` and `!`; `?` one such character;
 * - `[abc]`, `[a-z]`, `[!abc]` match one character of (or not of) a set;
 * - `{a,b}` matches either alternative (no nesting);
 * - `\` escapes the next character.
 *
 * A pattern is matched against the whole path: `*.pt` matches `model.pt` but not `sub/model.pt`
 * (write `**\/*.pt` for any depth).
 * @param pattern - the glob
 * @throws ModelgateError `POLICY` for an empty, overlong or unbalanced pattern
 */
export function compileGlob(pattern: string): RegExp {
  if (pattern.length === 0 || pattern.length > MAX_GLOB_LENGTH) {
    throw new ModelgateError("POLICY", `glob must have 1 to ${MAX_GLOB_LENGTH} characters`);
  }
  let out = "";
  let inBraces = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    switch (c) {
      case "\\": {
        const next = pattern[i + 1];
        if (next === undefined) throw new ModelgateError("POLICY", `glob "${pattern}" ends with an escape`);
        out += escapeRegex(next);
        i++;
        break;
      }
      case "*":
        if (pattern[i + 1] === "*") {
          while (pattern[i + 1] === "*") i++;
          // `**/` also matches zero directories.
          if (pattern[i + 1] === "/") {
            out += "(?:.*/)?";
            i++;
          } else {
            out += ".*";
          }
        } else {
          out += "[^/!]*";
        }
        break;
      case "?":
        out += "[^/!]";
        break;
      case "[": {
        const end = pattern.indexOf("]", i + 2);
        if (end < 0) throw new ModelgateError("POLICY", `glob "${pattern}" has an unclosed "["`);
        let body = pattern.slice(i + 1, end);
        const negate = body.startsWith("!") || body.startsWith("^");
        if (negate) body = body.slice(1);
        out += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
        i = end;
        break;
      }
      case "{":
        if (inBraces) throw new ModelgateError("POLICY", `glob "${pattern}" nests "{"`);
        inBraces = true;
        out += "(?:";
        break;
      case "}":
        if (!inBraces) throw new ModelgateError("POLICY", `glob "${pattern}" has an unmatched "}"`);
        inBraces = false;
        out += ")";
        break;
      case ",":
        out += inBraces ? "|" : ",";
        break;
      default:
        out += escapeRegex(c);
    }
  }
  if (inBraces) throw new ModelgateError("POLICY", `glob "${pattern}" has an unclosed "{"`);
  return new RegExp(`^${out}$`, "u");
}
