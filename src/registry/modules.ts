/**
 * The registry: every module the scanner is made of, one line each. Formats, detectors, extension
 * hints and claims, zip flavours, pickle contexts, analyzers and rules are all derived from this
 * list (`./catalog.ts`, `./rules.ts`); adding a format is one folder plus one line here.
 *
 * The order matters twice: analyzers of the same format run in this order, and the rules
 * reference (`docs/rules.md`) lists areas in it.
 * @module
 */
import { compressedModule } from "../containers/compressed/index.js";
import { sevenZipModule } from "../containers/sevenzip/index.js";
import { tarModule } from "../containers/tar/index.js";
import { zipModule } from "../containers/zip/index.js";
import { executableModule } from "../formats/executable/index.js";
import { ggufModule } from "../formats/gguf/index.js";
import { hfModule } from "../formats/hf/index.js";
import { joblibModule } from "../formats/joblib/index.js";
import { kerasModule } from "../formats/keras/index.js";
import { numpyModule } from "../formats/numpy/index.js";
import { onnxModule } from "../formats/onnx/index.js";
import { pickleModule } from "../formats/pickle/index.js";
import { protobufModule } from "../formats/protobuf/index.js";
import { pytorchModule } from "../formats/pytorch/index.js";
import { safetensorsModule } from "../formats/safetensors/index.js";
import { savedModelModule } from "../formats/savedmodel/index.js";
import { templateModule } from "../formats/template/index.js";
import { textModule } from "../formats/text/index.js";
import { omsModule } from "../integrity/oms/index.js";
import { pinsModule } from "../integrity/pins/index.js";
import { hubModule } from "../sources/hub/module.js";

/** Every module, in order. */
export const MODULES = [
  zipModule,
  tarModule,
  sevenZipModule,
  compressedModule,
  onnxModule,
  kerasModule,
  savedModelModule,
  pickleModule,
  pytorchModule,
  numpyModule,
  joblibModule,
  hfModule,
  safetensorsModule,
  ggufModule,
  templateModule,
  protobufModule,
  textModule,
  executableModule,
  pinsModule,
  omsModule,
  hubModule,
] as const;
