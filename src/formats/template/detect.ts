/**
 * Content detection for Jinja templates, used by the sniffer.
 * @module
 */

/**
 * Whether text opens with a Jinja delimiter (`{{`, `{%`, `{#`). No JSON document starts this way,
 * so a template is not mistaken for JSON because both begin with `{`.
 * @param text - the text, leading whitespace and BOM already removed
 */
export function startsLikeJinja(text: string): boolean {
  return /^\{[{%#]/.test(text);
}
