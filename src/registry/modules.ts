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
import { catboostModule } from "../formats/catboost/index.js";
import { cntkModule } from "../formats/cntk/index.js";
import { coremlModule } from "../formats/coreml/index.js";
import { dvcModule } from "../formats/dvc/index.js";
import { executableModule } from "../formats/executable/index.js";
import { executorchModule } from "../formats/executorch/index.js";
import { ggmlModule } from "../formats/ggml/index.js";
import { ggufModule } from "../formats/gguf/index.js";
import { hfModule } from "../formats/hf/index.js";
import { joblibModule } from "../formats/joblib/index.js";
import { kerasModule } from "../formats/keras/index.js";
import { licenseModule } from "../formats/license/index.js";
import { lightgbmModule } from "../formats/lightgbm/index.js";
import { llamafileModule } from "../formats/llamafile/index.js";
import { pycModule } from "../formats/marshal/index.js";
import { mediaModule } from "../formats/media/index.js";
import { mlflowModule } from "../formats/mlflow/index.js";
import { msgpackModule } from "../formats/msgpack/index.js";
import { mxnetModule } from "../formats/mxnet/index.js";
import { nemoModule } from "../formats/nemo/index.js";
import { numpyModule } from "../formats/numpy/index.js";
import { onnxExternalDataModule, onnxModule } from "../formats/onnx/index.js";
import { openvinoModule } from "../formats/openvino/index.js";
import { paddleModule } from "../formats/paddle/index.js";
import { pickleModule } from "../formats/pickle/index.js";
import { pmmlModule } from "../formats/pmml/index.js";
import { protobufModule } from "../formats/protobuf/index.js";
import { pytorchModule } from "../formats/pytorch/index.js";
import { rModule } from "../formats/r/index.js";
import { safetensorsModule } from "../formats/safetensors/index.js";
import { savedModelModule } from "../formats/savedmodel/index.js";
import { secretsModule } from "../formats/secrets/index.js";
import { skopsModule } from "../formats/skops/index.js";
import { templateModule } from "../formats/template/index.js";
import { tensorrtModule } from "../formats/tensorrt/index.js";
import { textModule } from "../formats/text/index.js";
import { tfCheckpointModule } from "../formats/tfcheckpoint/index.js";
import { tfliteModule } from "../formats/tflite/index.js";
import { torch7Module } from "../formats/torch7/index.js";
import { torchserveModule } from "../formats/torchserve/index.js";
import { xgboostModule } from "../formats/xgboost/index.js";
import { xmlModule } from "../formats/xml/index.js";
import { yamlModule } from "../formats/yaml/index.js";
import { omsModule } from "../integrity/oms/index.js";
import { pinsModule } from "../integrity/pins/index.js";
import { remoteModule } from "../sources/http/module.js";
import { hubModule } from "../sources/hub/module.js";
import { ociModule } from "../sources/oci/module.js";

/** Every module, in order. */
export const MODULES = [
  zipModule,
  tarModule,
  sevenZipModule,
  compressedModule,
  onnxModule,
  coremlModule,
  openvinoModule,
  onnxExternalDataModule, // after openvino: its analyzer also takes the OpenVINO weights candidates
  pmmlModule,
  xmlModule,
  mediaModule,
  kerasModule,
  savedModelModule,
  pickleModule,
  pytorchModule,
  numpyModule,
  joblibModule,
  hfModule,
  secretsModule,
  licenseModule,
  safetensorsModule,
  ggufModule,
  rModule,
  tfliteModule,
  executorchModule,
  ggmlModule,
  templateModule,
  protobufModule,
  textModule,
  yamlModule,
  nemoModule,
  mlflowModule,
  dvcModule,
  torch7Module,
  torchserveModule,
  pycModule,
  skopsModule,
  paddleModule,
  cntkModule,
  msgpackModule,
  llamafileModule,
  xgboostModule,
  mxnetModule,
  lightgbmModule,
  catboostModule,
  tfCheckpointModule,
  executableModule,
  tensorrtModule,
  pinsModule,
  omsModule,
  hubModule,
  ociModule,
  remoteModule,
] as const;
