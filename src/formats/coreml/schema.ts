/**
 * The parts of Core ML's `Model.proto` family modelgate reads, as field numbers (facts from
 * coremltools' public `mlmodel/format/*.proto`): the model-type oneof of `Model`, the layer-type
 * oneof of `NeuralNetworkLayer`, and the messages that name code (custom models and layers,
 * linked models) or nest models (pipelines, branch and loop layers).
 * @module
 */
import type { MessageSpec } from "../protobuf/walk.js";
import { MODEL_FIELDS, MODEL_TYPES, OPAQUE_MODEL_TYPES } from "./index.js";
import { program } from "./mil.js";

export { MODEL_FIELDS, MODEL_TYPES, OPAQUE_MODEL_TYPES };

/** `NeuralNetworkLayer` oneof layer: field numbers of the layer types. */
export const LAYER_TYPES: ReadonlyMap<number, string> = new Map(
  (
    "convolution=100 pooling=120 activation=130 innerProduct=140 embedding=150 batchnorm=160 mvn=165 softmax=175 " +
    "lrn=180 crop=190 padding=200 upsample=210 resizeBilinear=211 cropResize=212 unary=220 add=230 multiply=231 " +
    "average=240 scale=245 bias=250 max=260 min=261 dot=270 reduce=280 loadConstant=290 reshape=300 flatten=301 " +
    "permute=310 concat=320 split=330 sequenceRepeat=340 reorganizeData=345 slice=350 simpleRecurrent=400 gru=410 " +
    "uniDirectionalLSTM=420 biDirectionalLSTM=430 custom=500 copy=600 branch=605 loop=615 loopBreak=620 " +
    "loopContinue=625 rangeStatic=635 rangeDynamic=640 clip=660 ceil=665 floor=670 sign=680 round=685 sin=710 " +
    "cos=715 tan=720 asin=730 acos=735 atan=740 sinh=750 cosh=755 tanh=760 asinh=770 acosh=775 atanh=780 erf=790 " +
    "gelu=795 equal=815 notEqual=820 lessThan=825 lessEqual=827 greaterThan=830 greaterEqual=832 logicalOr=840 " +
    "logicalXor=845 logicalNot=850 logicalAnd=855 modBroadcastable=865 minBroadcastable=870 maxBroadcastable=875 " +
    "addBroadcastable=880 powBroadcastable=885 divideBroadcastable=890 floorDivBroadcastable=895 " +
    "multiplyBroadcastable=900 subtractBroadcastable=905 tile=920 stack=925 gather=930 scatter=935 gatherND=940 " +
    "scatterND=945 softmaxND=950 gatherAlongAxis=952 scatterAlongAxis=954 reverse=960 reverseSeq=965 splitND=975 " +
    "concatND=980 transpose=985 sliceStatic=995 sliceDynamic=1000 slidingWindows=1005 topK=1015 argMin=1020 " +
    "argMax=1025 embeddingND=1040 batchedMatmul=1045 getShape=1065 loadConstantND=1070 fillLike=1080 " +
    "fillStatic=1085 fillDynamic=1090 broadcastToLike=1100 broadcastToStatic=1105 broadcastToDynamic=1110 " +
    "squeeze=1120 expandDims=1125 reshapeLike=1135 reshapeStatic=1140 reshapeDynamic=1145 " +
    "rankPreservingReshape=1150 constantPad=1155 randomNormalLike=1170 randomNormalStatic=1175 " +
    "randomNormalDynamic=1180 randomUniformLike=1190 randomUniformStatic=1195 randomUniformDynamic=1200 " +
    "randomBernoulliLike=1210 randomBernoulliStatic=1215 randomBernoulliDynamic=1220 " +
    "categoricalDistribution=1230 reduceMax=1260 reduceMin=1265 reduceSum=1270 reduceProd=1275 reduceMean=1280 " +
    "reduceLogSum=1285 reduceSumSquare=1290 reduceLogSumExp=1295 whereNonZero=1313 matrixBandPart=1315 " +
    "lowerTriangular=1320 upperTriangular=1325 whereBroadcastable=1330 layerNormalization=1350 " +
    "NonMaximumSuppression=1400 oneHot=1450 cumSum=1455 clampedReLU=1460 argSort=1461 sliceBySize=1470"
  )
    .split(" ")
    .map((pair): [number, string] => {
      const [name, n] = pair.split("=");
      return [Number(n), name ?? ""];
    }),
);

/** `NeuralNetworkLayer` fields that are not a layer type (name, inputs, outputs, tensors, isUpdatable). */
export const LAYER_FIELDS: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 10]);

/** `FeatureType` oneof: field number → name. */
export const FEATURE_TYPES: ReadonlyMap<number, string> = new Map([
  [1, "int64"],
  [2, "double"],
  [3, "string"],
  [4, "image"],
  [5, "multiArray"],
  [6, "dictionary"],
  [7, "sequence"],
  [8, "state"],
]);

/** `ArrayFeatureType.ArrayDataType` values. */
export const ARRAY_DATA_TYPES: ReadonlyMap<number, string> = new Map([
  [65568, "float32"],
  [65600, "float64"],
  [131104, "int32"],
  [131080, "int8"],
  [65552, "float16"],
]);

const stringParameter: MessageSpec = { name: "StringParameter", fields: { 1: { kind: "string", max: 1 << 16 } } };
const arrayType: MessageSpec = { name: "ArrayFeatureType", fields: { 1: { kind: "varint" }, 2: { kind: "varint" } } };
const featureType: MessageSpec = {
  name: "FeatureType",
  fields: {
    1: { kind: "leaf", max: 1 << 16 },
    2: { kind: "leaf", max: 1 << 16 },
    3: { kind: "leaf", max: 1 << 16 },
    4: { kind: "leaf", max: 1 << 16 },
    5: { kind: "message", spec: () => arrayType },
    6: { kind: "leaf", max: 1 << 16 },
    7: { kind: "leaf", max: 1 << 16 },
    8: { kind: "leaf", max: 1 << 16 },
  },
};
const featureDescription: MessageSpec = {
  name: "FeatureDescription",
  fields: { 1: { kind: "string", max: 1 << 16 }, 3: { kind: "message", spec: () => featureType } },
};
const metadataEntry: MessageSpec = {
  name: "MetadataEntry",
  fields: { 1: { kind: "string", max: 1 << 16 }, 2: { kind: "string", max: 1 << 16 } },
};
const metadata: MessageSpec = {
  name: "Metadata",
  fields: {
    1: { kind: "string", max: 1 << 20 },
    2: { kind: "string", max: 1 << 16 },
    3: { kind: "string", max: 1 << 16 },
    4: { kind: "string", max: 1 << 16 },
    100: { kind: "message", spec: () => metadataEntry },
  },
};
const description: MessageSpec = {
  name: "ModelDescription",
  fields: {
    1: { kind: "message", spec: () => featureDescription },
    10: { kind: "message", spec: () => featureDescription },
    100: { kind: "message", spec: () => metadata },
  },
};
const customLayer: MessageSpec = {
  name: "CustomLayerParams",
  fields: { 10: { kind: "string", max: 1 << 16 }, 40: { kind: "string", max: 1 << 16 } },
  inlineMax: 4096,
};
const branchLayer: MessageSpec = {
  name: "BranchLayerParams",
  fields: { 1: { kind: "message", spec: () => neuralNetwork }, 2: { kind: "message", spec: () => neuralNetwork } },
  inlineMax: 4096,
};
const loopLayer: MessageSpec = {
  name: "LoopLayerParams",
  fields: { 3: { kind: "message", spec: () => neuralNetwork }, 4: { kind: "message", spec: () => neuralNetwork } },
  inlineMax: 4096,
};
const layer: MessageSpec = {
  name: "NeuralNetworkLayer",
  fields: {
    1: { kind: "string", max: 1 << 16 },
    500: { kind: "message", spec: () => customLayer },
    605: { kind: "message", spec: () => branchLayer },
    615: { kind: "message", spec: () => loopLayer },
  },
  inlineMax: 4096,
};
const neuralNetwork: MessageSpec = {
  name: "NeuralNetwork",
  fields: { 1: { kind: "message", spec: () => layer } },
  inlineMax: 4096,
};
const pipeline: MessageSpec = {
  name: "Pipeline",
  fields: { 1: { kind: "message", spec: () => model }, 2: { kind: "string", max: 1 << 16 } },
  inlineMax: 4096,
};
const pipelineWrapper: MessageSpec = {
  name: "PipelineWrapper",
  fields: { 1: { kind: "message", spec: () => pipeline } },
  inlineMax: 4096,
};
const customModel: MessageSpec = {
  name: "CustomModel",
  fields: { 10: { kind: "string", max: 1 << 16 }, 40: { kind: "string", max: 1 << 16 } },
  inlineMax: 4096,
};
const linkedModelFile: MessageSpec = {
  name: "LinkedModelFile",
  fields: { 1: { kind: "message", spec: () => stringParameter }, 2: { kind: "message", spec: () => stringParameter } },
};
const linkedModel: MessageSpec = {
  name: "LinkedModel",
  fields: { 1: { kind: "message", spec: () => linkedModelFile } },
};

/** The root message, `Model`. */
export const model: MessageSpec = {
  name: "Model",
  fields: {
    1: { kind: "varint" },
    2: { kind: "message", spec: () => description },
    200: { kind: "message", spec: () => pipelineWrapper },
    201: { kind: "message", spec: () => pipelineWrapper },
    202: { kind: "message", spec: () => pipeline },
    303: { kind: "message", spec: () => neuralNetwork },
    403: { kind: "message", spec: () => neuralNetwork },
    500: { kind: "message", spec: () => neuralNetwork },
    502: { kind: "message", spec: () => program },
    555: { kind: "message", spec: () => customModel },
    556: { kind: "message", spec: () => linkedModel },
  },
  inlineMax: 4096,
};
