/**
 * Legacy PyTorch storage classes (`torch.FloatStorage`, `torch.cuda.HalfStorage` ...) and the byte
 * size of their elements, which says how many raw bytes follow a storage's element count in the
 * legacy layouts. Shared by the readers of the five-pickle file and of the tar members.
 * @module
 */
import { TORCH_STORAGES } from "../pickle/machine.js";

/**
 * The element size of a legacy storage class, from the last component of its name (the table of
 * the pickle engine's semantics), or undefined when it names no storage class torch knows.
 * @param typeName - dotted class name (`torch.FloatStorage`)
 */
export function storageElementSize(typeName: string): number | undefined {
  const cls = typeName.slice(typeName.lastIndexOf(".") + 1);
  // own keys only: a name such as `x.constructor` must not find Object's prototype
  return Object.hasOwn(TORCH_STORAGES, cls) ? TORCH_STORAGES[cls]?.[1] : undefined;
}
