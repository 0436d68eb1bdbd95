/**
 * The symbolic pickle machine, by part: the VM (`vm.ts`: stack, marks, memo, dispatch, references
 * and calls), its fast path (`fastpath.ts`), the Python model (`pymodel.ts`: what library
 * callables do, as a name → model table), the memo (`memo.ts`) and the protocol 0 literal parsers
 * (`literals.ts`). This module re-exports what the rest of the library uses.
 * @module
 */
export { acceptsLine } from "./literals.js";
export {
  applyTransform,
  dtypeInfo,
  isResolver,
  joblibArrayLayout,
  looksSerialized,
  type NestedKind,
  type NestedPayload,
  type SharedState,
  TORCH_STORAGES,
} from "./pymodel.js";
export {
  defaultMachineOptions,
  type MachineEvent,
  type MachineEventKind,
  type MachineOptions,
  PickleMachine,
} from "./vm.js";
