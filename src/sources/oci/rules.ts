/**
 * Rules of the oci area: model artifacts read from OCI registries and image layouts.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

/** oci rules. */
export const ociRules = [
  {
    id: "oci/media-type-mismatch",
    title: "An OCI blob is not what its media type announces",
    severity: "medium",
    description:
      "A layer or config of an OCI manifest is announced with a media type whose content can be recognised (a GGUF or safetensors weight type of the CNCF ModelPack model-spec or Docker Model Runner, a JSON config, a gzip or zstd layer) but its first bytes are something else. Loaders pick a layer by its media type and hand it to the matching parser, and registries and scanners that trust the media type see a different file than the bytes hold: modelgate analyses the bytes, and flags the disagreement.",
    references: [
      "https://github.com/modelpack/model-spec/blob/main/docs/spec.md",
      "https://github.com/opencontainers/image-spec/blob/main/descriptor.md",
    ],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof ociRules)[number]["id"], true> {}
}
