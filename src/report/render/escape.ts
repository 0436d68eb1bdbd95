/**
 * Escaping untrusted text for terminals and logs.
 *
 * File and member names, pickle globals, messages, evidence, error messages and signer identities
 * come from the scanned bytes (or a Hub server). Printed raw, a newline forges report lines
 * (`Verdict: CLEAN`), an ESC sequence clears the screen, conceals text, writes the clipboard
 * (OSC 52) or plants a link (OSC 8), and a bidi override (U+202E) reorders what is shown. The text
 * renderer and the CLI pass every such string through {@link escapeForTerminal} when they print it;
 * the report data itself is never changed (JSON output stays exact).
 *
 * Escaped, as `\n`, `\r`, `\t`, `\xHH` (up to U+00FF), `\uHHHH` or `\u{HHHHH}`:
 *
 * - every control character (`\p{Cc}`): C0 (U+0000–U+001F, newline and tab included), DEL
 *   (U+007F) and C1 (U+0080–U+009F, which some terminals obey as CSI, OSC ...);
 * - every format character (`\p{Cf}`): the bidi embeddings, overrides, isolates and marks
 *   (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), the zero-width space, non-joiner and
 *   joiner (U+200B–U+200D: invisible, they make two different names look the same; an emoji
 *   joined with U+200D is shown as its parts, which is acceptable in a security report), the word
 *   joiner and invisible operators (U+2060–U+2064), the BOM (U+FEFF), the soft hyphen (U+00AD),
 *   interlinear annotations (U+FFF9–U+FFFB) and the tag characters (U+E0001, U+E0020–U+E007F,
 *   invisible ASCII look-alikes);
 * - the line and paragraph separators (U+2028, U+2029), which some terminals and editors break on;
 * - lone surrogates (they cannot be encoded, and would print as U+FFFD).
 *
 * Not escaped: printable ASCII (the backslash included, so the escaping is not reversible: it is
 * for display), letters of every script, combining marks and variation selectors, and invisible
 * letters such as the Hangul fillers (U+115F, U+3164): they do not move the cursor or reorder text.
 * @module
 */

/** Characters shown escaped (see the module documentation). */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
const UNSAFE_ALL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeOne(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const cp = c.codePointAt(0) ?? 0;
  const hex = cp.toString(16);
  if (cp <= 0xff) return `\\x${hex.padStart(2, "0")}`;
  if (cp <= 0xffff) return `\\u${hex.padStart(4, "0")}`;
  return `\\u{${hex}}`;
}

/**
 * The text with every control, format (bidi, zero-width, tag) and separator character and every
 * lone surrogate replaced by a visible escape (`\x1b`, `\n`, `\u202e`, `\u{e0041}`); the text
 * itself when there is none. The identity on printable ASCII. One line in, one line out.
 * @param text - untrusted text
 */
export function escapeForTerminal(text: string): string {
  return UNSAFE.test(text) ? text.replace(UNSAFE_ALL, escapeOne) : text;
}

/**
 * The first `max` UTF-16 units of a text, without splitting a surrogate pair, then `...` when it
 * was longer. For lines already escaped.
 * @param text - the text
 * @param max - the longest result, `...` included
 */
export function truncateLine(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 3);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}...`;
}

/** Characters JSON.stringify leaves raw that a terminal may obey or reorder. */
const JSON_UNSAFE = /[\u007f-\u009f\p{Cf}\u2028\u2029]/u;
const JSON_UNSAFE_ALL = /[\u007f-\u009f\p{Cf}\u2028\u2029]/gu;

/**
 * JSON text (from `JSON.stringify`) with the characters it leaves raw but a terminal may obey or
 * reorder (DEL, C1 controls, format characters such as U+202E, U+2028/U+2029) written as `\uHHHH`
 * escapes (astral ones as their surrogate pair). The JSON still parses to exactly the same value;
 * only its bytes are safe to print. `JSON.stringify` already escapes C0 controls and lone
 * surrogates.
 * @param json - JSON text
 */
export function escapeJsonForTerminal(json: string): string {
  if (!JSON_UNSAFE.test(json)) return json;
  return json.replace(JSON_UNSAFE_ALL, (c) => {
    let out = "";
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, "0")}`;
    return out;
  });
}
