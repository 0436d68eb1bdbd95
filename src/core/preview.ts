/**
 * Short, printable previews of untrusted strings for messages and evidence.
 * @module
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we escape
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * A short, printable preview of an untrusted string for messages and evidence.
 * @param s - the string
 * @param max - maximum characters kept
 */
export function preview(s: string, max = 120): string {
  const clean = s.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
