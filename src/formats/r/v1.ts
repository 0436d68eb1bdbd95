/**
 * Reads version-1 workspaces (`RDX1\n`, `RDA1\n`, `RDB1\n`, and the digit magics 1001–1003), which
 * R 4 still writes (`save(version = 1)`) and loads (`load()` falls back to the old loader, and so
 * does R's startup restore of `.RData`). The layout is R's `NewDataLoad` in saveload.c: a symbol
 * table, an environment table filled in next (enclosure, frame, hash table), then the object, a
 * pairlist of the saved bindings. Every item is `type levels object-bit`, its contents, then its
 * attributes; special values are negative types (-1 NULL, -2 the global environment, -3 unbound,
 * -4 the missing argument, -5 the base namespace); symbols and environments are 1-based indices into
 * the tables. Pairlists and calls keep tag, car and cdr in that order (a closure's tag is its
 * environment, car its formals, cdr its body; a promise's tag its environment, car its value, cdr
 * its expression).
 *
 * The walk reports to the same {@link RWalkEvents} as the version 2/3 reader, so promises,
 * closures, calls and startup hooks are judged alike. Budgets: depth, items, table sizes (checked
 * against the bytes left and the reference budget); cdr chains are read iteratively.
 * @module
 */

import { ModelgateError } from "../../core/errors.js";
import { latin1 } from "../../core/sniffing.js";
import {
  CELL_CAP,
  finishCall,
  mergeCode,
  newCode,
  type RNode,
  type RWalkEvents,
  type RWalkOptions,
  type RWalkStats,
  SXP,
  shallow,
  typeName,
} from "./reader.js";
import type { RInput } from "./stream.js";
import { countItem } from "./walk-budget.js";

/** Special values by their negative type. */
const SPECIALS: ReadonlyMap<number, RNode> = new Map(
  (
    [
      [-1, SXP.NILVALUE],
      [-2, SXP.GLOBALENV],
      [-3, SXP.UNBOUND],
      [-4, SXP.MISSINGARG],
      [-5, SXP.BASENAMESPACE],
    ] as const
  ).map(([k, t]) => [k, Object.freeze({ type: t, offset: -1 })]),
);

/** Bytes of a string kept. */
const STRING_BYTES = 256;
/** Strings kept per character vector. */
const STRING_CAP = 8;
/** Binding cells: the binding is active (R's ACTIVE_BINDING_MASK in the levels). */
const ACTIVE_BINDING = 1 << 15;

const text = (b: Uint8Array): string => latin1(b);

/** The walker of one version-1 workspace. */
export class V1Walker {
  readonly #in: RInput;
  readonly #events: RWalkEvents;
  readonly #maxDepth: number;
  readonly #maxItems: number;
  readonly #maxRefs: number;
  readonly #checkpoint: () => void;
  #symbols: string[] = [];
  #envs: RNode[] = [];
  readonly stats: RWalkStats = { items: 0, closures: 0, promises: 0, environments: 0, bytecode: 0, calls: 0 };

  constructor(input: RInput, events: RWalkEvents, options: RWalkOptions = {}) {
    this.#in = input;
    this.#events = events;
    this.#maxDepth = options.maxDepth ?? 4_096;
    this.#maxItems = options.maxItems ?? 50_000_000;
    this.#maxRefs = options.maxRefs ?? 1_000_000;
    this.#checkpoint = options.checkpoint ?? (() => {});
  }

  #malformed(message: string, offset = this.#in.offset): ModelgateError {
    return new ModelgateError("MALFORMED", `R version-1 workspace: ${message}`, { offset });
  }

  #count(depth: number): void {
    const limits = { maxDepth: this.#maxDepth, maxItems: this.#maxItems };
    countItem(this.stats, depth, limits, this.#in.offset, "R workspace", this.#checkpoint);
  }

  /** A count that the bytes left can hold (each entry takes at least one integer). */
  async #size(what: string): Promise<number> {
    const n = await this.#in.int(what);
    if (n < 0) throw this.#malformed(`negative ${what} ${n}`);
    if (n * this.#in.minItemBytes > this.#in.remaining)
      throw new ModelgateError("TRUNCATED", `R workspace: ${what} ${n} is more than the bytes left hold`, {
        offset: this.#in.offset,
      });
    return n;
  }

  /** One string (R's InString of the old loaders): XDR repeats the length and pads to 4 bytes. */
  async #string(keep = STRING_BYTES): Promise<string> {
    const n = await this.#in.int("a string length");
    if (n < 0) throw this.#malformed(`negative string length ${n}`);
    if (this.#in.format !== "xdr") return text(await this.#in.string(n, keep));
    const m = await this.#in.int("a string length");
    if (m < 0 || m > n) throw this.#malformed(`string of ${m} bytes where ${n} were announced`);
    const out = text(await this.#in.string(m, keep));
    await this.#in.string((4 - (m % 4)) % 4, 0);
    return out;
  }

  /**
   * Reads the tables and the saved object.
   * @param _workspace - always a workspace (the signature of {@link RWalker.top})
   */
  async top(_workspace = true): Promise<RNode> {
    const symbols = await this.#size("symbol count");
    const envs = await this.#size("environment count");
    if (symbols + envs > this.#maxRefs)
      throw new ModelgateError(
        "BUDGET_EXCEEDED",
        `R workspace has more than ${this.#maxRefs} symbols and environments`,
        {
          offset: this.#in.offset,
          budget: "r.maxRefs",
        },
      );
    for (let i = 0; i < symbols; i++) {
      this.#count(1);
      this.#symbols.push(await this.#string());
    }
    for (let i = 0; i < envs; i++) this.#envs.push({ type: SXP.ENV, offset: this.#in.offset });
    this.stats.environments = envs;
    for (let i = 0; i < envs; i++) {
      await this.#item(1, false, undefined); // enclosure
      await this.#item(1, false, undefined, "frame"); // frame
      await this.#item(1, false, undefined, "frame"); // hash table
    }
    return this.#item(0, false, undefined, "workspace");
  }

  async #item(depth: number, code: boolean, label: string | undefined, frame?: "frame" | "workspace"): Promise<RNode> {
    this.#count(depth);
    const offset = this.#in.offset;
    const type = await this.#in.int("an item type");
    return this.#body(type, offset, depth, code, label, frame);
  }

  async #body(
    type: number,
    offset: number,
    depth: number,
    code: boolean,
    label: string | undefined,
    frame: "frame" | "workspace" | undefined,
  ): Promise<RNode> {
    if (type < 0) {
      const special = SPECIALS.get(type);
      if (special === undefined) throw this.#malformed(`unknown special value ${type}`, offset);
      return special;
    }
    const levels = await this.#in.int("item levels");
    const objectBit = await this.#in.int("an object bit");
    if (type === SXP.LIST || type === SXP.LANG || type === SXP.DOT)
      return this.#pairlist(type, levels, offset, depth, code, label, frame);
    const where = { offset, label };
    const node: RNode = { type, offset };
    if (objectBit !== 0) node.object = true;
    switch (type) {
      case SXP.SYM:
      case SXP.ENV: {
        const pos = await this.#in.int("a table index");
        const table: readonly unknown[] = type === SXP.SYM ? this.#symbols : this.#envs;
        if (pos < 1 || pos > table.length) throw this.#malformed(`${typeName(type)} index ${pos} out of range`, offset);
        if (type === SXP.ENV) return this.#attributes(this.#envs[pos - 1]!, depth, false);
        node.name = this.#symbols[pos - 1]!;
        break;
      }
      case SXP.CLO:
      case SXP.PROM: {
        await this.#item(depth + 1, false, undefined); // the environment
        const first = await this.#item(depth + 1, type === SXP.CLO, undefined); // formals, or the value
        const second = await this.#item(depth + 1, true, undefined); // body, or the expression
        const summary = newCode();
        if (type === SXP.CLO) mergeCode(summary, first);
        mergeCode(summary, second);
        node.code = summary;
        if (type === SXP.CLO) {
          node.cells = [{ value: first }, { value: second }];
          this.stats.closures++;
          this.#events.closure(node, { ...where, bytecode: false, namespace: undefined });
        } else {
          node.cells = [{ value: second }];
          this.stats.promises++;
          this.#events.promise(node, { ...where, forced: first.type !== SXP.UNBOUND });
        }
        break;
      }
      case SXP.EXTPTR:
        await this.#item(depth + 1, false, undefined);
        await this.#item(depth + 1, false, undefined);
        this.#events.external("external pointer", where);
        break;
      case SXP.WEAKREF:
        this.#events.external("weak reference", where);
        break;
      case SXP.SPECIAL:
      case SXP.BUILTIN:
        node.name = await this.#string();
        if (!code) this.#events.primitive(node.name, where);
        break;
      case SXP.CHAR:
        node.name = await this.#string();
        break;
      case SXP.LGL:
      case SXP.INT:
      case SXP.REAL:
      case SXP.CPLX: {
        const kind = type === SXP.REAL ? "real" : type === SXP.CPLX ? "complex" : "int";
        const len = await this.#size(`${typeName(type)} length`);
        if (!this.#in.fits(kind, len)) throw new ModelgateError("TRUNCATED", "R workspace: vector too long");
        node.length = len;
        if (code && len === 1 && kind === "int") node.value = await this.#in.int();
        else if (code && len === 1 && kind === "real") node.value = await this.#in.real();
        else if (kind === "real" || kind === "complex") {
          // doubles are words in ASCII, 8 bytes otherwise
          const n = kind === "complex" ? len * 2 : len;
          for (let i = 0; i < n; i++) {
            if ((i & 0xfff) === 0xfff) this.#checkpoint();
            await this.#in.real();
          }
        } else await this.#in.skipElements("int", len);
        break;
      }
      case SXP.STR: {
        const len = await this.#size("character vector length");
        const strings: string[] = [];
        for (let i = 0; i < len; i++) {
          this.#count(depth + 1);
          const s = await this.#string(strings.length < STRING_CAP ? STRING_BYTES : 0);
          if (strings.length < STRING_CAP) strings.push(s);
          if (s.length >= STRING_BYTES) node.truncated = true; // perhaps cut: its tail is not judged
        }
        node.strings = strings;
        node.length = len;
        break;
      }
      case SXP.VEC:
      case SXP.EXPR: {
        const len = await this.#size(`${typeName(type)} length`);
        node.length = len;
        const inner = code || type === SXP.EXPR;
        const summary = inner ? newCode() : undefined;
        for (let i = 0; i < len; i++) {
          const child = await this.#item(depth + 1, inner, undefined, frame === "frame" ? "frame" : undefined);
          if (summary !== undefined) mergeCode(summary, child);
        }
        if (summary !== undefined) node.code = summary;
        if (type === SXP.EXPR && !code) this.#events.language(node, where);
        break;
      }
      default:
        throw this.#malformed(`unknown item type ${type}`, offset);
    }
    return this.#attributes(node, depth, type === SXP.SYM);
  }

  /** The attributes every item ends with (a symbol's and an environment's are dropped). */
  async #attributes(node: RNode, depth: number, drop: boolean): Promise<RNode> {
    const attr = await this.#item(depth + 1, false, undefined);
    if (!drop && node.type !== SXP.ENV && attr.type !== SXP.NILVALUE) node.attr = attr;
    return node;
  }

  /** A pairlist or call, its cdr chain read as a loop; each cell's attributes follow its cdr. */
  async #pairlist(
    type: number,
    levels: number,
    offset: number,
    depth: number,
    code: boolean,
    label: string | undefined,
    frame: "frame" | "workspace" | undefined,
  ): Promise<RNode> {
    const isCall = type === SXP.LANG;
    const inner = code || isCall;
    const node: RNode = { type, offset, cells: [] };
    const summary = inner ? newCode() : undefined;
    let cellLevels = levels;
    let cells = 0;
    let first = true;
    for (;;) {
      const cellOffset = this.#in.offset;
      const tagNode = await this.#item(depth + 1, false, undefined);
      const tag = tagNode.type === SXP.SYM ? tagNode.name : undefined;
      const value = await this.#item(depth + 1, inner, frame || !inner ? tag : undefined);
      if (frame !== undefined) {
        const active = (cellLevels & ACTIVE_BINDING) !== 0;
        this.#events.binding(tag, value, { offset: cellOffset, label: tag, active, workspace: frame === "workspace" });
      }
      if (node.cells!.length < CELL_CAP)
        node.cells!.push(tag === undefined ? { value: shallow(value) } : { tag, value: shallow(value) });
      const callPosition =
        isCall && first && (value.type === SXP.SYM || value.type === SXP.BUILTIN || value.type === SXP.SPECIAL);
      if (summary !== undefined && !callPosition) mergeCode(summary, value);
      first = false;
      cells++;
      const nextOffset = this.#in.offset;
      const next = await this.#in.int("an item type");
      if (next === SXP.LIST || next === SXP.LANG || next === SXP.DOT) {
        this.#count(depth);
        cellLevels = await this.#in.int("item levels");
        await this.#in.int("an object bit");
        continue;
      }
      const rest = await this.#body(next, nextOffset, depth + 1, inner, undefined, undefined);
      if (summary !== undefined) mergeCode(summary, rest);
      break;
    }
    // the attributes of the cells, innermost first; the first cell's are the list's
    for (let i = 0; i < cells; i++) {
      if ((i & 0xfff) === 0xfff) this.#checkpoint();
      const attr = await this.#item(depth + 1, false, undefined);
      if (i === cells - 1 && attr.type !== SXP.NILVALUE) node.attr = attr;
    }
    if (summary !== undefined) node.code = summary;
    if (isCall) {
      this.stats.calls++;
      finishCall(node);
      if (!code) this.#events.language(node, { offset, label });
    }
    return node;
  }
}
