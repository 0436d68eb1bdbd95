/**
 * The protobuf module: recognises protobuf messages by their fields and tells ONNX and SavedModel
 * graphs apart from other protobuf (which carries nothing executable here).
 * @module
 */
import type { FormatModule } from "../../core/module.js";
import { detectProtobuf } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    protobuf: true;
  }
}

/** Protobuf messages. */
export const protobufModule = {
  name: "protobuf",
  formats: [{ id: "protobuf", description: "protobuf message", inert: true }],
  detectors: [{ rank: 180, detect: detectProtobuf }],
} as const satisfies FormatModule;
