/**
 * Flags single allocations larger than a limit. Typed arrays and `ArrayBuffer`s are allocated
 * lazily by the OS, so a reader that asks for gigabytes it never touches does not show in the
 * process's resident memory; wrapping the constructors catches the request itself.
 */

/** A recorded oversized allocation. */
export interface AllocationRecord {
  /** Bytes requested. */
  readonly bytes: number;
  /** Where. */
  readonly stack: string;
}

const TYPED = [
  "ArrayBuffer",
  "SharedArrayBuffer",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int8Array",
  "Uint16Array",
  "Int16Array",
  "Uint32Array",
  "Int32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
] as const;

/**
 * Wraps the typed-array constructors and Buffer allocators of this thread; `onLarge` is called for
 * every request above `limit` bytes (the allocation then proceeds, or fails as it would have).
 * @param limit - bytes
 * @param onLarge - receives the size and stack of the request
 */
export function guardAllocations(limit: number, onLarge: (record: AllocationRecord) => void): void {
  const g = globalThis as unknown as Record<string, unknown>;
  const report = (bytes: number) => onLarge({ bytes, stack: new Error("allocation").stack ?? "" });
  for (const name of TYPED) {
    const C = g[name] as (new (...args: unknown[]) => object) & { BYTES_PER_ELEMENT?: number };
    if (typeof C !== "function") continue;
    const width = C.BYTES_PER_ELEMENT ?? 1;
    const proxy: unknown = new Proxy(C, {
      construct(target, args, newTarget) {
        const n = args[0];
        if (typeof n === "number" && n * width > limit) report(n * width);
        return Reflect.construct(target, args, newTarget === proxy ? target : newTarget);
      },
    });
    g[name] = proxy;
  }
  const B = Buffer as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of ["alloc", "allocUnsafe", "allocUnsafeSlow"]) {
    const original = B[name] as (...args: unknown[]) => unknown;
    B[name] = function (this: unknown, ...args: unknown[]) {
      const n = args[0];
      if (typeof n === "number" && n > limit) report(n);
      return original.apply(this, args);
    };
  }
  const concat = Buffer.concat.bind(Buffer);
  Buffer.concat = (list: readonly Uint8Array[], total?: number) => {
    const n = total ?? list.reduce((s, b) => s + b.length, 0);
    if (n > limit) report(n);
    return concat(list, total);
  };
}
