/**
 * Names Keras serializes: built-in class names, the namespaces its `module` fields may name, and
 * the TensorFlow functions a `TFOpLambda` may call that touch files or Python. Data only.
 * @module
 */

const words = (text: string): ReadonlySet<string> => new Set(text.split(/\s+/).filter(Boolean));

/**
 * Built-in Keras classes (Keras 2 and 3): models, layers, initializers, regularizers, optimizers, losses, metrics,
 * and the value encodings of tf-keras `json_utils` (`__tuple__`, `TensorShape`, `TypeSpec` ...) and Keras 3
 * `serialization_lib` (`__numpy__`, `__slice__` ...). `InputSpec` is in every tf-keras SavedModel's layer metadata.
 */
export const KERAS_CLASSES: ReadonlySet<string> = words(`
Sequential Functional Model InputLayer Input KerasTensor
Dense EinsumDense Activation Dropout Flatten Reshape Permute RepeatVector Identity Masking Embedding Lambda
Conv1D Conv2D Conv3D Conv1DTranspose Conv2DTranspose Conv3DTranspose Convolution1D Convolution2D Convolution3D
SeparableConv1D SeparableConv2D DepthwiseConv1D DepthwiseConv2D
MaxPooling1D MaxPooling2D MaxPooling3D AveragePooling1D AveragePooling2D AveragePooling3D MaxPool1D MaxPool2D MaxPool3D
AvgPool1D AvgPool2D AvgPool3D GlobalMaxPooling1D GlobalMaxPooling2D GlobalMaxPooling3D GlobalAveragePooling1D
GlobalAveragePooling2D GlobalAveragePooling3D GlobalMaxPool1D GlobalMaxPool2D GlobalMaxPool3D GlobalAvgPool1D
GlobalAvgPool2D GlobalAvgPool3D
SpatialDropout1D SpatialDropout2D SpatialDropout3D GaussianNoise GaussianDropout AlphaDropout ActivityRegularization
ReLU LeakyReLU PReLU ELU Softmax ThresholdedReLU
BatchNormalization LayerNormalization GroupNormalization UnitNormalization SpectralNormalization RMSNormalization
LSTM GRU SimpleRNN LSTMCell GRUCell SimpleRNNCell RNN Bidirectional TimeDistributed StackedRNNCells
ConvLSTM1D ConvLSTM2D ConvLSTM3D CuDNNLSTM CuDNNGRU
Attention AdditiveAttention MultiHeadAttention GroupedQueryAttention
Add Subtract Multiply Average Maximum Minimum Concatenate Dot
ZeroPadding1D ZeroPadding2D ZeroPadding3D Cropping1D Cropping2D Cropping3D UpSampling1D UpSampling2D UpSampling3D
Rescaling Normalization Resizing CenterCrop RandomFlip RandomRotation RandomZoom RandomContrast RandomTranslation
RandomCrop RandomBrightness RandomHeight RandomWidth CategoryEncoding Hashing HashedCrossing Discretization
StringLookup IntegerLookup TextVectorization AutoContrast Solarization RandomGrayscale MelSpectrogram STFTSpectrogram
TFOpLambda SlicingOpLambda InstanceNormalization
GlorotUniform GlorotNormal HeNormal HeUniform LecunNormal LecunUniform Zeros Ones Constant RandomNormal RandomUniform
TruncatedNormal VarianceScaling Orthogonal IdentityInitializer
L1 L2 L1L2 OrthogonalRegularizer MaxNorm MinMaxNorm NonNeg UnitNorm RadialConstraint
Adam AdamW SGD RMSprop Adagrad Adadelta Adamax Nadam Ftrl Lion Adafactor LossScaleOptimizer
ExponentialDecay PiecewiseConstantDecay PolynomialDecay InverseTimeDecay CosineDecay CosineDecayRestarts
MeanSquaredError MeanAbsoluteError MeanAbsolutePercentageError MeanSquaredLogarithmicError BinaryCrossentropy
BinaryFocalCrossentropy CategoricalCrossentropy CategoricalFocalCrossentropy SparseCategoricalCrossentropy Hinge
SquaredHinge CategoricalHinge Huber LogCosh KLDivergence Poisson CosineSimilarity Dice Tversky CTC
Accuracy BinaryAccuracy CategoricalAccuracy SparseCategoricalAccuracy TopKCategoricalAccuracy
SparseTopKCategoricalAccuracy AUC Precision Recall TruePositives TrueNegatives FalsePositives FalseNegatives Mean Sum
MeanMetricWrapper RootMeanSquaredError MeanIoU IoU OneHotIoU F1Score FBetaScore R2Score
DTypePolicy FloatDTypePolicy QuantizedDTypePolicy QuantizedFloat8DTypePolicy Policy
__tensor__ __numpy__ __bytes__ __typespec__ __ellipsis__ __keras_tensor__ __lambda__ function TensorShape
__tuple__ __slice__ TypeSpec CompositeTensor InputSpec
Wrapper Pipeline JaxLayer FlaxLayer TorchModuleWrapper ZeroPadding Equalization MixUp CutMix AugMix RandAugment
RandomColorJitter RandomColorDegeneration RandomHue RandomSaturation RandomSharpness RandomShear RandomPerspective
RandomPosterization RandomInvert RandomErasing RandomGaussianBlur RandomElasticTransform MaxNumBoundingBoxes
LearningRateSchedule Muon Lamb LAMB Loss Metric Initializer Regularizer Constraint Optimizer Layer
BinaryIoU PrecisionAtRecall RecallAtPrecision SensitivityAtSpecificity SpecificityAtSensitivity LogCoshError
PearsonCorrelation ConcordanceCorrelation Circle CategoricalGeneralizedCrossEntropy MeanAbsoluteError STFT
GroupQueryAttention ReversibleEmbedding RandomApply OrthogonalInitializer DTypePolicyMap GPTQDTypePolicy
AdaptiveAveragePooling1D AdaptiveAveragePooling2D AdaptiveAveragePooling3D AdaptiveMaxPooling1D AdaptiveMaxPooling2D
AdaptiveMaxPooling3D LocallyConnected1D LocallyConnected2D DenseFeatures SequenceFeatures SyncBatchNormalization
TensorFlowOpLayer InstanceProperty InstanceMethod ClassMethod PreprocessingLayer AbstractRNNCell PeepholeLSTMCell
LossFunctionWrapper SumOverBatchSize SumOverBatchSizeMetricWrapper MeanRelativeError MeanTensor Reduce
`);

/**
 * Roots whose every function and class modelgate judges by name: Keras and TensorFlow themselves hold file I/O,
 * model loading and code loading next to the tensor math, so a name under them is trusted only when listed.
 */
export const STRICT_MODULE_ROOTS: ReadonlySet<string> = words("keras tf_keras tensorflow");

/**
 * Module path segments that only re-export or lay out packages (`keras.src.backend.tensorflow.nn` is the `nn`
 * namespace): skipped before the benign namespaces below are looked for.
 */
export const WRAPPER_SEGMENTS: ReadonlySet<string> = words(
  "src python _api api v1 v2 compat keras tf_keras tensorflow backend jax torch openvino",
);

/**
 * Namespaces whose functions compute on tensors (activations, losses, metrics, initializers, ops and math): a
 * `class_name: "function"` under a strict root is accepted only when every segment left is one of these.
 */
export const BENIGN_FUNCTION_SEGMENTS: ReadonlySet<string> = words(`
activations losses metrics initializers regularizers constraints ops math nn numpy linalg signal image random fft
core special nn_ops nn_impl math_ops array_ops gen_math_ops gen_nn_ops gen_array_ops clip_ops special_math_ops
linalg_ops image_ops image_ops_impl random_ops
`);

/** How an object loads a model from outside the file: the rule, what it loads, where its config names it. */
export interface ExternalLoader {
  readonly ruleId: "keras/external-savedmodel" | "keras/external-preset";
  /** What is loaded, for messages. */
  readonly what: string;
  /** Evidence key the path or URL is reported under. */
  readonly evidenceKey: string;
  /** Config keys that may hold the path or URL, first found reported. */
  readonly pathKeys: readonly string[];
}

/** `keras.layers.TFSMLayer`: loads and runs the SavedModel at `filepath`. */
export const TFSM_LOADER: ExternalLoader = {
  ruleId: "keras/external-savedmodel",
  what: "the SavedModel",
  evidenceKey: "filepath",
  pathKeys: ["filepath", "file_path"],
};

/** `tensorflow_hub` objects (`hub.KerasLayer`, `hub.load` ...): resolve a handle (path or URL) and load that SavedModel. */
export const HUB_LOADER: ExternalLoader = {
  ruleId: "keras/external-savedmodel",
  what: "the TF Hub module (a SavedModel) at",
  evidenceKey: "handle",
  pathKeys: ["handle", "module_spec", "spec", "filepath", "path"],
};

/** keras_hub / keras_nlp / keras_cv preset loaders: read the config, weights and assets of a preset (path or URL). */
export const PRESET_LOADER: ExternalLoader = {
  ruleId: "keras/external-preset",
  what: "the preset (config, weights, assets) at",
  evidenceKey: "preset",
  pathKeys: ["preset", "handle", "filepath", "path"],
};

/** Names that load another model's graph from a path the config gives, whatever their module (a SavedModel runs its own ops). */
export const EXTERNAL_MODEL_CLASSES: ReadonlySet<string> = words("TFSMLayer");

/** Packages every object of which loads or resolves an outside SavedModel (KerasLayer, load, resolve, Module ...). */
export const HUB_ROOTS: ReadonlySet<string> = words("tensorflow_hub");

/** Packages holding preset loaders (`from_preset`, `preset_utils`, checkpoint converters). */
export const PRESET_ROOTS: ReadonlySet<string> = words("keras_hub keras_nlp keras_cv");

/** A name under {@link PRESET_ROOTS} that loads a preset or an outside checkpoint: by its leaf or a module segment. */
export const PRESET_LOADER_LEAF = /preset|^load_|^(get_file|convert_backbone_config|convert_weights)$/i;
/** Module segments under {@link PRESET_ROOTS} whose functions fetch or convert outside checkpoints. */
export const PRESET_LOADER_SEGMENT = /preset|^(transformers|timm|hf_utils|kaggle)$/;

/** Tokenizer config keys that keras_hub/keras_nlp read as a file path (vocabulary, BPE merges, SentencePiece proto). */
export const TOKENIZER_FILE_KEYS: readonly string[] = ["vocabulary", "merges", "proto", "spm_model_file"];

/** Top-level packages whose objects Keras may import while loading. */
export const KERAS_MODULE_ROOTS: ReadonlySet<string> = words(
  "keras tf_keras tensorflow keras_hub keras_nlp keras_cv keras_rs tensorflow_text tensorflow_hub",
);

/** Modules that run commands or code: a config naming them is an exploit, not a custom layer. */
export const DANGEROUS_MODULE_ROOTS: ReadonlySet<string> = words(`
builtins __builtin__ os posix nt subprocess sys importlib runpy shutil socket pickle marshal code codeop pty ctypes
io codecs webbrowser requests urllib http asyncio multiprocessing __main__ pdb timeit commands platform
`);

/** A Keras or TensorFlow name that does more than compute: the rule it falls under, its severity and why. */
export interface DangerousKerasName {
  readonly pattern: RegExp;
  readonly ruleId: "keras/dangerous-function" | "keras/safe-mode-bypass";
  readonly severity: "critical" | "high";
  readonly why: string;
}

/**
 * Dangerous names, matched on the full dotted name (`module.function`, `module.Class`). Order matters: the
 * first match is reported. `get_file` and `enable_unsafe_deserialization` have rules of their own (config.ts).
 */
export const DANGEROUS_KERAS_NAMES: readonly DangerousKerasName[] = [
  {
    pattern: /(^|\.)set_global_attribute$/,
    ruleId: "keras/safe-mode-bypass",
    severity: "critical",
    why: "sets Keras global state (safe_mode_saving turns safe mode off)",
  },
  {
    pattern:
      /(^|\.)(func_load|func_dump|load_op_library|load_library|load_file_system_library|load_pluggable_device_library|py_function|numpy_function|py_func|eager_py_func|PyFunc|PyFuncStateless|EagerPyFunc)$|(^|\.)script_ops(\.|$)/,
    ruleId: "keras/dangerous-function",
    severity: "critical",
    why: "runs Python code or loads a native library",
  },
  {
    pattern:
      /(^|\.)(io|gfile|file_io|io_ops|gen_io_ops|file_utils|saving_lib|saving_api|legacy_h5_format|saved_model|summary|raw_ops)(\.|$)|(^|\.)(GFile|FastGFile|WriteFile|ReadFile|MatchingFiles|write_file|read_file|matching_files|rmtree|delete_recursively|DeleteRecursively|load_model|save_model|load_weights|save_weights|deserialize_keras_object)$/,
    ruleId: "keras/dangerous-function",
    severity: "high",
    why: "reads, writes or deletes files, or loads or saves a model",
  },
];

/** TFOpLambda function names that touch files, Python or native libraries. */
export const DANGEROUS_TF_FUNCTION =
  /(^|\.)(io|gfile|summary|debugging)\.|py_function|numpy_function|py_func|load_op_library|load_library|read_file|write_file|matching_files|(^|\.)print$|raw_ops\.(ReadFile|WriteFile|MatchingFiles|PyFunc|EagerPyFunc|PrintV2|ImmutableConst)/;
