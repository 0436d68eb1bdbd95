/**
 * Failing closed on a TorchServe manifest that cannot be judged. When `MAR-INF/MANIFEST.json` is
 * missing, over a budget, not JSON to the strict parser, not shaped as expected, or read more than
 * one way (repeated keys), what TorchServe imports as the handler is not known, yet Python's
 * `json.load` may well read it and TorchServe then imports whatever it names. So every code file
 * of the model directory TorchServe could import (`.py`, `.pyc`, `.so`, `.pyd`, at any depth) is
 * reported as `torchserve/custom-handler`, as if the manifest named it: the verdict is never
 * weaker than with a readable manifest naming that file.
 * @module
 */
import type { FindingInput } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import { codeMembers, handlerModule, isCodeMember, moduleMembers } from "./modules.js";

/** Code files reported one by one; the others are counted in one more finding. */
const MAX_REPORTED = 16;
/** Handler values taken from a manifest's raw text. */
const MAX_RAW_HANDLERS = 4;
/** Characters of raw text searched for handler values. */
const MAX_RAW_CHARS = 4 << 20;

/** A `"handler": "<value>"` pair as it appears in JSON text (escapes kept, decoded after). */
const HANDLER_PAIR = /"handler"\s*:\s*"((?:[^"\\\r\n]|\\.){1,1000})"/g;

/**
 * The handler values a manifest's text names, read leniently (whatever else the text holds): what
 * a reader that gets past the strict parser's objections would import. At most a few.
 * @param bytes - the manifest's bytes (invalid UTF-8 replaced)
 */
export function rawHandlers(bytes: Uint8Array): string[] {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes.subarray(0, MAX_RAW_CHARS));
  const found = new Set<string>();
  for (const match of text.matchAll(HANDLER_PAIR)) {
    const raw = match[1] ?? "";
    let value = raw;
    try {
      value = JSON.parse(`"${raw}"`) as string;
    } catch {
      // an escape JSON does not know: keep the text as written
    }
    found.add(value);
    if (found.size >= MAX_RAW_HANDLERS) break;
  }
  return [...found];
}

/**
 * Findings for a manifest that could not be judged: each code file of the model directory as a
 * handler TorchServe could import (`torchserve/custom-handler`, high), the first
 * {@link MAX_REPORTED} by name and the rest counted.
 * @param members - the model directory's files, relative to it
 * @param reason - why the manifest was not judged, for the message and evidence
 * @param place - what holds the files, for messages
 * @param handlers - handler values read leniently from the manifest, if any
 * @param skip - members already reported as the handler or model code by a reading that succeeded
 */
export function unjudgedFindings(
  members: ReadonlySet<string>,
  reason: string,
  place: string,
  handlers: readonly string[] = [],
  skip: ReadonlySet<string> = new Set(),
): FindingInput[] {
  const named = new Map<string, string>();
  for (const handler of handlers.slice(0, MAX_RAW_HANDLERS)) {
    for (const member of moduleMembers(handlerModule(handler).module, members)) {
      if (!named.has(member)) named.set(member, handler);
    }
  }
  const code = codeMembers(members, MAX_REPORTED + skip.size);
  const why = preview(reason, 200);
  const findings: FindingInput[] = [];
  let reported = 0;
  for (const member of code.names) {
    if (skip.has(member)) continue;
    if (reported >= MAX_REPORTED) break;
    reported++;
    const handler = named.get(member);
    findings.push({
      ruleId: "torchserve/custom-handler",
      message: `the manifest could not be judged (${why}), so the handler TorchServe imports is not known: ${JSON.stringify(preview(member, 80))} is code of the ${place} it can import as the handler when the model is loaded${handler === undefined ? "" : ` (the manifest text names handler ${JSON.stringify(preview(handler, 80))})`}`,
      evidence: {
        member: preview(member, 200),
        unjudgedManifest: why,
        ...(handler === undefined ? {} : { handler: preview(handler, 200) }),
      },
    });
  }
  const skipped = [...skip].filter((m) => members.has(m) && isCodeMember(m)).length;
  const rest = code.total - reported - skipped;
  if (rest > 0) {
    findings.push({
      ruleId: "torchserve/custom-handler",
      message: `the manifest could not be judged (${why}): ${rest} more code files of the ${place} can be imported as the handler when the model is loaded`,
      evidence: { unjudgedManifest: why, count: rest },
    });
  }
  return findings;
}
