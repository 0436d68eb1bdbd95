/**
 * The NeMo module: `.nemo` archives, tars (often gzip'ed) holding `model_config.yaml` and
 * `model_weights.ckpt`. The tar analyzer names the archive `nemo` from its members (the
 * `tarSignature` below) before scanning them, so that the YAML analyzer judges the config as
 * NeMo's `restore_from` reads it (its top-level `target` is imported, its `_target_`s
 * instantiated); the weights are a `torch.save` checkpoint, read by the pickle engine.
 * @module
 */
import type { FormatModule } from "../../core/module.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    nemo: true;
  }
}

/** The config NeMo's `restore_from` reads from the archive root. */
export const NEMO_CONFIG = "model_config.yaml";

/** NeMo archives. */
export const nemoModule = {
  name: "nemo",
  formats: [
    {
      id: "nemo",
      description: "NeMo archive (tar of model_config.yaml and model_weights.ckpt)",
      claimExtensions: ["nemo"],
      tarSignature: { rank: 0, match: (_names, files) => files.has(NEMO_CONFIG) },
      // Pickles a NeMo archive carries are torch checkpoints (unless a closer container says otherwise).
      pickleContext: { context: "pytorch", rank: 5 },
    },
  ],
} as const satisfies FormatModule;
