/**
 * Reads a Paddle `ProgramDesc` (`.pdmodel`, `__model__`) with the streaming protobuf walker: its
 * blocks, and of each operator its `type` and a few attributes. Field numbers are those of
 * Paddle's `framework.proto`: ProgramDesc {1 blocks, 4 version}; BlockDesc {1 idx, 2 parent_idx,
 * 3 vars, 4 ops}; OpDesc {1 inputs, 2 outputs, 3 type, 4 attrs}; OpDesc.Attr {1 name, 2 type, 3 i,
 * 5 s, 8 strings, 13 l}; Version {1 version}.
 * @module
 */
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { type MessageSpec, type WireVisitor, WireWalker } from "../protobuf/walk.js";

/** One operator as read. */
export interface PaddleOp {
  /** Every `type` value the message carries (one in a well-formed program; the last wins in protobuf). */
  readonly types: string[];
  /** Block index (position of its block in the program). */
  readonly block: number;
  /** Offset of the OpDesc message. */
  readonly offset: number;
  /** Integer and string attributes by name (first values only, previews). */
  readonly attrs: Map<string, string | number>;
}

/** What the reader found. */
export interface PaddleProgram {
  readonly blocks: number;
  readonly version?: number;
  /** Operators read. */
  readonly opCount: number;
  /** Operators without a `type`, or blocks without idx/parent_idx (required fields). */
  readonly missingRequired: { what: string; offset: number }[];
}

/** Budgets of {@link readPaddleProgram}. */
export interface PaddleReadBudgets {
  /** Protobuf fields visited in total. */
  maxFields: number;
  checkpoint?: () => void;
}

const ATTR: MessageSpec = {
  name: "Attr",
  fields: {
    1: { kind: "string", max: 4096 },
    3: { kind: "varint" },
    5: { kind: "string", max: 1 << 16 },
    13: { kind: "varint" },
  },
};
const OP: MessageSpec = {
  name: "OpDesc",
  fields: { 3: { kind: "string", max: 4096 }, 4: { kind: "message", spec: () => ATTR } },
};
const BLOCK: MessageSpec = {
  name: "BlockDesc",
  fields: { 1: { kind: "varint" }, 2: { kind: "varint" }, 4: { kind: "message", spec: () => OP } },
  inlineMax: 1 << 20,
};
const VERSION: MessageSpec = { name: "Version", fields: { 1: { kind: "varint" } } };
const PROGRAM: MessageSpec = {
  name: "ProgramDesc",
  fields: { 1: { kind: "message", spec: () => BLOCK }, 4: { kind: "message", spec: () => VERSION } },
  inlineMax: 1 << 20,
};

/**
 * Walks a ProgramDesc.
 * @param source - the bytes
 * @param budgets - limits
 * @param onOp - receives every operator, in program order
 * @throws ModelgateError `MALFORMED`/`TRUNCATED` for broken wire data, `BUDGET_EXCEEDED` past a budget
 */
export async function readPaddleProgram(
  source: ByteSource,
  budgets: PaddleReadBudgets,
  onOp: (op: PaddleOp) => void,
): Promise<PaddleProgram> {
  const missingRequired: { what: string; offset: number }[] = [];
  let opCount = 0;
  let blocks = 0;
  let version: number | undefined;
  let op: { types: string[]; offset: number; attrs: Map<string, string | number> } | undefined;
  let attr: { name?: string; value?: string | number } | undefined;
  let block: { idx: boolean; parent: boolean; offset: number } | undefined;
  const visitor: WireVisitor = {
    enter(message, _field, offset) {
      if (message === "BlockDesc") {
        blocks++;
        block = { idx: false, parent: false, offset };
      } else if (message === "OpDesc") {
        opCount++;
        op = { types: [], offset, attrs: new Map() };
      } else if (message === "Attr") attr = {};
    },
    exit(message) {
      if (message === "Attr" && attr !== undefined && op !== undefined) {
        if (attr.name !== undefined && attr.value !== undefined && !op.attrs.has(attr.name) && op.attrs.size < 64) {
          op.attrs.set(attr.name, attr.value);
        }
        attr = undefined;
      } else if (message === "OpDesc" && op !== undefined) {
        if (op.types.length === 0) {
          if (missingRequired.length < 64)
            missingRequired.push({ what: "an operator without a type", offset: op.offset });
        } else onOp({ ...op, block: blocks - 1 });
        op = undefined;
      } else if (message === "BlockDesc" && block !== undefined) {
        if ((!block.idx || !block.parent) && missingRequired.length < 64) {
          missingRequired.push({ what: "a block without idx or parent_idx", offset: block.offset });
        }
        block = undefined;
      }
    },
    string(message, field, value) {
      if (message === "OpDesc" && field === 3 && op !== undefined) {
        if (op.types.length < 8) op.types.push(value);
      } else if (message === "Attr" && attr !== undefined) {
        if (field === 1) attr.name = value;
        else if (field === 5) attr.value ??= value;
      }
    },
    varint(message, field, value) {
      if (message === "BlockDesc" && block !== undefined) {
        if (field === 1) block.idx = true;
        else if (field === 2) block.parent = true;
      } else if (message === "Attr" && attr !== undefined && (field === 3 || field === 13)) attr.value ??= value;
      else if (message === "Version" && field === 1) version = value;
    },
    leaf() {},
    blob() {},
  };
  const walker = new WireWalker(source, visitor, {
    maxDepth: 16,
    maxFields: budgets.maxFields,
    ...(budgets.checkpoint === undefined ? {} : { checkpoint: budgets.checkpoint }),
  });
  await walker.walk(PROGRAM);
  if (blocks === 0) throw new ModelgateError("MALFORMED", "the program has no blocks");
  return { blocks, ...(version === undefined ? {} : { version }), opCount, missingRequired };
}
