/**
 * The imports of a pickle stream after a budget stopped its analysis, read as the unpickler reads
 * them: the generic decoder runs on from the stop with a sink that keeps only strings (a bounded
 * stack, the memo's strings), so that a STACK_GLOBAL whose strings were memoised (before or after
 * the stop) or have other opcodes between them is resolved exactly. The byte sweep of
 * `after-stop.ts` matches only strings written right before the STACK_GLOBAL byte; a stream of a
 * million `None`s then `os`, `N0`, `system`, `N0`, STACK_GLOBAL ran under pickle.load while only
 * the budget was reported. Every other opcode only moves the stack as the opcode table says.
 * @module
 */
import { isModelgateError } from "../../core/errors.js";
import { decodePickle, type OpArg, type OpSink, SinkAction } from "./decoder.js";
import { PickleError } from "./errors.js";
import type { PickleInput } from "./input.js";
import { OP, opcodeInfo, TEXT_PAYLOAD } from "./opcodes.js";

/** One import found: where, and the dotted name. */
export interface ResumedImport {
  readonly offset: number;
  readonly module: string;
  readonly name: string;
}

/** Stack entries kept (older ones are dropped: a STACK_GLOBAL needs the top two). */
const MAX_STACK = 4096;
/** Memo strings kept. */
const MAX_MEMO = 1 << 20;
/** Characters of one string kept (longer ones are no importable name). */
const MAX_TEXT = 512;
/** Imports reported at most. */
const MAX_IMPORTS = 10_000;
/** Opcodes between checkpoints. */
const CHECK_EVERY = 1 << 16;

const MARK = Symbol("mark");
type Slot = string | typeof MARK | null;

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8", { fatal: false });

/**
 * Decodes `input` (positioned at the stopped opcode) to its STOP or first error, collecting imports.
 * @param input - the rest of the stream
 * @param memo - the stopped machine's memo strings by index, and its size (MEMOIZE's next index)
 * @param checkpoint - called every so often (deadline, abort)
 */
export async function importsResumed(
  input: PickleInput,
  memo: { readonly get: (index: number) => string | undefined; readonly size: number },
  checkpoint: () => void,
): Promise<ResumedImport[]> {
  const found: ResumedImport[] = [];
  const stack: Slot[] = [];
  const own = new Map<number, string | null>();
  let memoSize = memo.size;
  let ops = 0;
  const top = (): Slot => (stack.length === 0 ? null : (stack[stack.length - 1] ?? null));
  const push = (v: Slot): void => {
    stack.push(v);
    if (stack.length > MAX_STACK) stack.splice(0, stack.length - MAX_STACK / 2);
  };
  const pop = (): Slot => (stack.length === 0 ? null : (stack.pop() ?? null));
  const popMark = (): void => {
    const at = stack.lastIndexOf(MARK);
    stack.length = Math.max(0, at);
  };
  const put = (index: number): void => {
    const v = top();
    if (own.size < MAX_MEMO) own.set(index, typeof v === "string" ? v : null);
  };
  const get = (index: number): Slot => (own.has(index) ? (own.get(index) ?? null) : (memo.get(index) ?? null));
  const text = (a: OpArg, second = false, decoder = latin1): string | undefined => {
    if (a.blob !== undefined) return undefined;
    const start = second ? a.start2 : a.start;
    const end = second ? a.end2 : a.end;
    if (end - start > MAX_TEXT) return undefined;
    return decoder.decode(a.buf.subarray(start, end));
  };
  const report = (offset: number, module: Slot, name: Slot): void => {
    if (typeof module === "string" && typeof name === "string" && found.length < MAX_IMPORTS)
      found.push({ offset, module, name });
  };
  const sink: OpSink = {
    op(code: number, offset: number, a: OpArg): SinkAction {
      if (++ops % CHECK_EVERY === 0) checkpoint();
      switch (code) {
        case OP.STOP:
          return SinkAction.Stop;
        case OP.MARK:
          push(MARK);
          return SinkAction.Continue;
        case OP.MEMOIZE:
          put(memoSize++);
          return SinkAction.Continue;
        case OP.BINPUT:
        case OP.LONG_BINPUT:
          put(a.num);
          return SinkAction.Continue;
        case OP.PUT: {
          const n = Number.parseInt(text(a) ?? "", 10);
          if (Number.isSafeInteger(n)) put(n);
          return SinkAction.Continue;
        }
        case OP.BINGET:
        case OP.LONG_BINGET:
          push(get(a.num));
          return SinkAction.Continue;
        case OP.GET: {
          const n = Number.parseInt(text(a) ?? "", 10);
          push(Number.isSafeInteger(n) ? get(n) : null);
          return SinkAction.Continue;
        }
        case OP.STACK_GLOBAL: {
          const name = pop();
          const module = pop();
          report(offset, module, name);
          push(null);
          return SinkAction.Continue;
        }
        case OP.GLOBAL:
          report(offset, text(a) ?? null, text(a, true) ?? null);
          push(null);
          return SinkAction.Continue;
        case OP.INST:
          report(offset, text(a) ?? null, text(a, true) ?? null);
          popMark();
          push(null);
          return SinkAction.Continue;
      }
      const info = opcodeInfo(code);
      if (info === undefined) return SinkAction.Continue;
      // strings: counted text (UTF-8), byte strings read as str (Python 2), line forms
      if (info.after.length === 1 && (info.after[0] === "str" || info.after[0] === "bytes_or_str")) {
        for (let i = 0; i < info.before.length; i++) pop();
        const counted = TEXT_PAYLOAD[code] === 1;
        const t = text(a, false, counted ? utf8 : latin1);
        push(t === undefined ? null : counted ? t : unquote(t));
        return SinkAction.Continue;
      }
      if (info.before.includes("mark")) popMark();
      else for (let i = 0; i < info.before.length; i++) pop();
      for (let i = 0; i < info.after.length; i++) push(null);
      return SinkAction.Continue;
    },
    async special() {
      return SinkAction.Continue;
    },
  };
  try {
    await decodePickle(input, sink, { checkpoint });
  } catch (error) {
    // a malformed opcode, the end of the data or the file's read budget ends the reading; what
    // was found stands (a deadline or an abort is thrown on)
    if (!(error instanceof PickleError) && !isModelgateError(error, "BUDGET_EXCEEDED")) throw error;
  }
  return found;
}

/** A STRING opcode's quoted line without its quotes (other line forms as they are). */
function unquote(s: string): string {
  const q = s[0];
  return (q === "'" || q === '"') && s.length >= 2 && s[s.length - 1] === q ? s.slice(1, -1) : s;
}
