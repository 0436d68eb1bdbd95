/**
 * A pickletools-style listing of a pickle, for evidence and debugging: every opcode with its
 * offset and decoded argument, read by the same decoder the analysis uses (nothing is executed).
 * @module
 */
import { decodePickle, type OpArg, type OpSink, PickleError, SinkAction } from "./decoder.js";
import type { PickleInput } from "./input.js";
import { OP, opcodeInfo, opcodeName } from "./opcodes.js";
import { decodeUtf8, latin1 } from "./values.js";

const STOP = OP.STOP as number;

/** One disassembled opcode. */
export interface DisassembledOp {
  /** Absolute offset of the opcode byte. */
  readonly offset: number;
  /** Opcode name. */
  readonly name: string;
  /** The argument as text (`'os'`, `42`, `os system`), empty when there is none. */
  readonly arg: string;
}

/** Result of {@link disassemble}. */
export interface Disassembly {
  /** The opcodes, up to the limit. */
  readonly ops: DisassembledOp[];
  /** The listing stopped at the limit. */
  readonly truncated: boolean;
  /** Where and why the stream stopped being a pickle, if it did. */
  readonly error?: { readonly offset: number; readonly message: string };
}

function argText(code: number, a: OpArg): string {
  const info = opcodeInfo(code);
  if (info === undefined) return "";
  if (a.blob !== undefined) return `<${a.blob.length} bytes at ${a.blob.offset}>`;
  switch (info.arg) {
    case "none":
      return "";
    case "f8":
      return String(a.float);
    case "line":
      return JSON.stringify(latin1(a.buf, a.start, a.end));
    case "line2":
      return `${latin1(a.buf, a.start, a.end)} ${latin1(a.buf, a.start2, a.end2)}`;
    case "counted1":
    case "counted4":
    case "counted8": {
      const n = a.end - a.start;
      const text =
        info.after[0] === "str" ? decodeUtf8(a.buf, a.start, Math.min(a.end, a.start + 200)).text : undefined;
      return text !== undefined
        ? JSON.stringify(text) + (n > 200 ? "…" : "")
        : `<${n} bytes> ${JSON.stringify(latin1(a.buf, a.start, Math.min(a.end, a.start + 40)))}`;
    }
    case "long1":
    case "long4":
      return `<${a.end - a.start}-byte int>`;
    default:
      return String(a.num);
  }
}

/**
 * Lists the opcodes of one pickle from the input's position, up to STOP or `maxOps`.
 * @param input - positioned at the first opcode
 * @param maxOps - most opcodes listed (default 10,000)
 */
export async function disassemble(input: PickleInput, maxOps = 10_000): Promise<Disassembly> {
  const ops: DisassembledOp[] = [];
  let truncated = false;
  const sink: OpSink = {
    op(code, offset, a) {
      if (ops.length >= maxOps) {
        truncated = true;
        return SinkAction.Stop;
      }
      ops.push({ offset, name: opcodeName(code), arg: argText(code, a) });
      return code === STOP ? SinkAction.Stop : SinkAction.Continue;
    },
    async special() {
      return SinkAction.Continue;
    },
  };
  try {
    await decodePickle(input, sink);
    return { ops, truncated };
  } catch (e) {
    if (e instanceof PickleError) return { ops, truncated, error: { offset: e.offset, message: e.message } };
    throw e;
  }
}
