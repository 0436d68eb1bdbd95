/**
 * The names a loader unpickles, in one place: the extensions whose loaders unpickle (`pickle.load`,
 * `torch.load`, `joblib.load`, `paddle.load`), the Hugging Face file names `transformers`, `peft`
 * and `diffusers` hand to `torch.load`, and the members of PyTorch's legacy tar checkpoints. The
 * claims (`src/registry/claims.ts`) build their pickle claims from them; detectors of formats
 * without a magic (ONNX external data, OpenVINO weights) use them to stay out of a name's pickle
 * claim. Here, below the registry, so that every layer reads the same table.
 * @module
 */

/** How an extension's loader reads: `torch.load` (tars and torch.package too), compressed pickles, joblib. */
export type PickleExtensionKind = "pickle" | "pickle-compressed" | "joblib" | "torch";

/** Extensions whose loaders unpickle, and how. */
export const PICKLE_EXTENSIONS: ReadonlyMap<string, PickleExtensionKind> = new Map([
  ["pkl", "pickle-compressed"],
  ["pickle", "pickle-compressed"],
  ["joblib", "joblib"],
  ["dill", "pickle-compressed"],
  ["sav", "pickle-compressed"],
  ["pt", "torch"],
  ["pth", "torch"],
  ["ckpt", "torch"],
  // TorchScript Lite (`_save_for_lite_interpreter`): a zip, or the flatbuffer form (`PTMF`)
  ["ptl", "torch"],
  // PaddlePaddle's paddle.save pickles parameters and optimizer state.
  ["pdparams", "pickle"],
  ["pdopt", "pickle"],
]);

/**
 * Hugging Face file names that `transformers`, `peft` and `diffusers` hand to `torch.load`
 * (shards `-00001-of-00002` and variants `.fp16` included).
 */
export const TORCH_LOADED_NAMES =
  /^(?:pytorch_model|adapter_model|diffusion_pytorch_model|pytorch_lora_weights|learned_embeds|training_args|optimizer|scheduler|rng_state(?:_\d+)?)(?:-\d+-of-\d+)?(?:\.[a-z0-9_]+)?(?:-\d+-of-\d+)?\.bin$/;

/** `torch.save(state, "checkpoint.pth.tar")`: a torch name with `.tar` appended. */
export const TORCH_TAR_NAME = /\.(pt|pth|ckpt)\.tar$/;

/** Members of PyTorch's legacy tar checkpoints that `torch.load` unpickles. */
export const TORCH_TAR_MEMBERS: ReadonlySet<string> = new Set(["pickle", "storages", "tensors", "sys_info"]);

/** The lowercase base name of a file or member name. */
const baseOf = (name: string): string => name.slice(name.lastIndexOf("/") + 1).toLowerCase();

/**
 * Whether a loader unpickles a file of this name (its claim asks for a strong pickle reading),
 * outside any container.
 * @param name - the file or member name
 */
export function unpicklesByName(name: string): boolean {
  const base = baseOf(name);
  if (TORCH_LOADED_NAMES.test(base) || TORCH_TAR_NAME.test(base)) return true;
  const dot = base.lastIndexOf(".");
  return dot > 0 && PICKLE_EXTENSIONS.has(base.slice(dot + 1));
}

/**
 * Whether a name is one `torch.load` unpickles inside a legacy tar (`storages`, `storages#4` ...).
 * @param name - the member name
 */
export function isTorchTarMember(name: string): boolean {
  return TORCH_TAR_MEMBERS.has(baseOf(name).replace(/#\d+$/, ""));
}
