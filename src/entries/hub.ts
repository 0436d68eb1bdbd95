/**
 * `modelgate/hub`: Hugging Face Hub targets (`hf://owner/name[@revision][/path]`, and
 * `hf://datasets/...`, `hf://spaces/...`), the settings `huggingface_hub` honours (`HF_TOKEN`,
 * `HF_ENDPOINT` ...), and the transport whose budgets every Hub read shares. `modelgate` re-exports
 * the everyday part of it.
 * @module
 */
export {
  DEFAULT_HUB_URL,
  type Env,
  formatHubUri,
  type HubRepoType,
  type HubSettings,
  type HubUri,
  parseHubUri,
  resolveHubSettings,
} from "../sources/hub/config.js";
export type { RangeReadOptions } from "../sources/hub/range-source.js";
export type { HubListingLimits, HubTarget } from "../sources/hub/root.js";
export {
  type HubRequest,
  type HubResponse,
  HubTransport,
  type HubTransportOptions,
  type RequestContext,
  type TransferStats,
} from "../sources/hub/transport.js";

/** Completes `RuleId`, `Format` and `PolicyOptions` in the declaration files (see `registries.ts`). */
export type * from "./registries.js";
