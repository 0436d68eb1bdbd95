/**
 * Operator names the ONNX standard defines, per domain, and the domains/op types the analyzer
 * treats specially. Data only.
 * @module
 */

/** Standard domains (`""` is `ai.onnx`). */
export const STANDARD_DOMAINS: ReadonlySet<string> = new Set(["", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training"]);

/**
 * Operator domains of widely deployed runtimes: non-standard, but their kernels ship with the
 * runtime rather than with the model. Reported at `info`.
 */
export const VENDOR_DOMAINS: ReadonlySet<string> = new Set([
  "com.microsoft",
  "com.microsoft.nchwc",
  "com.microsoft.experimental",
  "com.microsoft.mlfeaturizers",
  "com.microsoft.dml",
  "com.ms.internal.nhwc",
  "ai.onnx.training",
]);

/** Op types that run Python or arbitrary framework code, in any domain. */
export const PYTHON_OP_TYPES: ReadonlySet<string> = new Set([
  "PyOp",
  "PythonOp",
  "PythonOpGrad",
  "PyFunc",
  "PyFuncStateless",
  "EagerPyFunc",
]);

/**
 * Op types that dispatch to a PyTorch ATen operator chosen by name (torch.onnx's `ONNX_ATEN`
 * fallback; onnxruntime built with ATen support calls libtorch's native `aten::<operator>`): native
 * tensor code of the installed torch, no Python.
 */
export const ATEN_OP_TYPES: ReadonlySet<string> = new Set(["ATen", "ATenOp"]);

/**
 * Domains in which `ATen` is that fallback: torch.onnx's (`org.pytorch.aten`, the default domain of
 * older exports) and onnxruntime's contrib registration (`com.microsoft`). The same name in another
 * domain is whatever that domain registers (in `ai.onnx.contrib`, a Python function).
 */
export const ATEN_DOMAINS: ReadonlySet<string> = new Set(["", "ai.onnx", "org.pytorch.aten", "com.microsoft"]);

/**
 * Domains whose operators are registered from Python at run time (onnxruntime-extensions'
 * `@onnx_op` decorator registers custom ops under `ai.onnx.contrib`; TorchScript fallbacks use
 * `prim`/`aten`).
 */
export const PYTHON_DOMAINS: ReadonlySet<string> = new Set(["ai.onnx.contrib", "prim", "aten", "org.pytorch.aten"]);

const AI_ONNX = `Abs Acos Acosh Add AffineGrid And ArgMax ArgMin Asin Asinh Atan Atanh Attention AveragePool
BatchNormalization Bernoulli BitShift BitwiseAnd BitwiseNot BitwiseOr BitwiseXor BlackmanWindow Cast CastLike Ceil
Celu CenterCropPad Clip Col2Im Compress Concat ConcatFromSequence Constant ConstantOfShape Conv ConvInteger
ConvTranspose Cos Cosh CumSum DFT DeformConv DepthToSpace DequantizeLinear Det Div Dropout DynamicQuantizeLinear
Einsum Elu Equal Erf Exp Expand EyeLike Flatten Floor GRU Gather GatherElements GatherND Gelu Gemm
GlobalAveragePool GlobalLpPool GlobalMaxPool Greater GreaterOrEqual GridSample GroupNormalization HammingWindow
HannWindow HardSigmoid HardSwish Hardmax Identity If ImageDecoder InstanceNormalization IsInf IsNaN LRN LSTM
LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax Loop LpNormalization LpPool MatMul MatMulInteger Max
MaxPool MaxRoiPool MaxUnpool Mean MeanVarianceNormalization MelWeightMatrix Min Mish Mod Mul Multinomial Neg
NegativeLogLikelihoodLoss NonMaxSuppression NonZero Not OneHot Optional OptionalGetElement OptionalHasElement Or
PRelu Pad Pow QLinearConv QLinearMatMul QuantizeLinear RMSNormalization RNN RandomNormal RandomNormalLike
RandomUniform RandomUniformLike Range Reciprocal ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean
ReduceMin ReduceProd ReduceSum ReduceSumSquare RegexFullMatch Relu Reshape Resize ReverseSequence RoiAlign
RotaryEmbedding Round STFT Scan Scatter ScatterElements ScatterND Selu SequenceAt SequenceConstruct SequenceEmpty
SequenceErase SequenceInsert SequenceLength SequenceMap Shape Shrink Sigmoid Sign Sin Sinh Size Slice Softmax
SoftmaxCrossEntropyLoss Softplus Softsign SpaceToDepth Split SplitToSequence Sqrt Squeeze StringConcat
StringNormalizer StringSplit Sub Sum Swish Tan Tanh TensorScatter TfIdfVectorizer ThresholdedRelu Tile TopK
Transpose Trilu Unique Unsqueeze Upsample Where Xor
Affine ConstantFill Crop DynamicSlice GRUUnit GivenTensorFill ImageScaler ParametricSoftplus Scale ScaledTanh`;

const AI_ONNX_ML = `ArrayFeatureExtractor Binarizer CastMap CategoryMapper DictVectorizer FeatureVectorizer Imputer
LabelEncoder LinearClassifier LinearRegressor Normalizer OneHotEncoder SVMClassifier SVMRegressor Scaler TreeEnsemble
TreeEnsembleClassifier TreeEnsembleRegressor ZipMap`;

const AI_ONNX_TRAINING = "Adagrad Adam Gradient Momentum";

const words = (text: string): ReadonlySet<string> => new Set(text.split(/\s+/).filter(Boolean));

/** Operator types of every ONNX release, by standard domain (`""` and `ai.onnx` share one set). */
export const STANDARD_OPS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ["", words(AI_ONNX)],
  ["ai.onnx", words(AI_ONNX)],
  ["ai.onnx.ml", words(AI_ONNX_ML)],
  ["ai.onnx.preview.training", words(AI_ONNX_TRAINING)],
]);
