/**
 * Names from TFLite's public schema (`BuiltinOperator` and `TensorType` enums, by value) and the
 * lists the rules use: custom operators that well-known runtimes register, and the TensorFlow ops
 * that, run through the Flex (select TF ops) delegate, read or write files, talk to the network or
 * call back into Python.
 * @module
 */

/** `BuiltinOperator` names by value (0–207). */
const BUILTIN_NAMES = (
  "ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE EMBEDDING_LOOKUP FLOOR " +
  "FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D LOCAL_RESPONSE_NORMALIZATION LOGISTIC LSH_PROJECTION " +
  "LSTM MAX_POOL_2D MUL RELU RELU_N1_TO_1 RELU6 RESHAPE RESIZE_BILINEAR RNN SOFTMAX SPACE_TO_DEPTH SVDF TANH " +
  "CONCAT_EMBEDDINGS SKIP_GRAM CALL CUSTOM EMBEDDING_LOOKUP_SPARSE PAD UNIDIRECTIONAL_SEQUENCE_RNN GATHER " +
  "BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND TRANSPOSE MEAN SUB DIV SQUEEZE UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE " +
  "BIDIRECTIONAL_SEQUENCE_RNN EXP TOPK_V2 SPLIT LOG_SOFTMAX DELEGATE BIDIRECTIONAL_SEQUENCE_LSTM CAST PRELU MAXIMUM " +
  "ARG_MAX MINIMUM LESS NEG PADV2 GREATER GREATER_EQUAL LESS_EQUAL SELECT SLICE SIN TRANSPOSE_CONV SPARSE_TO_DENSE " +
  "TILE EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM SQRT RSQRT SHAPE POW ARG_MIN FAKE_QUANT REDUCE_PROD REDUCE_MAX PACK " +
  "LOGICAL_OR ONE_HOT LOGICAL_AND LOGICAL_NOT UNPACK REDUCE_MIN FLOOR_DIV REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD " +
  "RANGE RESIZE_NEAREST_NEIGHBOR LEAKY_RELU SQUARED_DIFFERENCE MIRROR_PAD ABS SPLIT_V UNIQUE CEIL REVERSE_V2 ADD_N " +
  "GATHER_ND COS WHERE RANK ELU REVERSE_SEQUENCE MATRIX_DIAG QUANTIZE MATRIX_SET_DIAG ROUND HARD_SWISH IF WHILE " +
  "NON_MAX_SUPPRESSION_V4 NON_MAX_SUPPRESSION_V5 SCATTER_ND SELECT_V2 DENSIFY SEGMENT_SUM BATCH_MATMUL " +
  "PLACEHOLDER_FOR_GREATER_OP_CODES CUMSUM CALL_ONCE BROADCAST_TO RFFT2D CONV_3D IMAG REAL COMPLEX_ABS HASHTABLE " +
  "HASHTABLE_FIND HASHTABLE_IMPORT HASHTABLE_SIZE REDUCE_ALL CONV_3D_TRANSPOSE VAR_HANDLE READ_VARIABLE " +
  "ASSIGN_VARIABLE BROADCAST_ARGS RANDOM_STANDARD_NORMAL BUCKETIZE RANDOM_UNIFORM MULTINOMIAL GELU " +
  "DYNAMIC_UPDATE_SLICE RELU_0_TO_1 UNSORTED_SEGMENT_PROD UNSORTED_SEGMENT_MAX UNSORTED_SEGMENT_SUM ATAN2 " +
  "UNSORTED_SEGMENT_MIN SIGN BITCAST BITWISE_XOR RIGHT_SHIFT STABLEHLO_LOGISTIC STABLEHLO_ADD STABLEHLO_DIVIDE " +
  "STABLEHLO_MULTIPLY STABLEHLO_MAXIMUM STABLEHLO_RESHAPE STABLEHLO_CLAMP STABLEHLO_CONCATENATE " +
  "STABLEHLO_BROADCAST_IN_DIM STABLEHLO_CONVOLUTION STABLEHLO_SLICE STABLEHLO_CUSTOM_CALL STABLEHLO_REDUCE " +
  "STABLEHLO_ABS STABLEHLO_AND STABLEHLO_COSINE STABLEHLO_EXPONENTIAL STABLEHLO_FLOOR STABLEHLO_LOG " +
  "STABLEHLO_MINIMUM STABLEHLO_NEGATE STABLEHLO_OR STABLEHLO_POWER STABLEHLO_REMAINDER STABLEHLO_RSQRT " +
  "STABLEHLO_SELECT STABLEHLO_SUBTRACT STABLEHLO_TANH STABLEHLO_SCATTER STABLEHLO_COMPARE STABLEHLO_CONVERT " +
  "STABLEHLO_DYNAMIC_SLICE STABLEHLO_DYNAMIC_UPDATE_SLICE STABLEHLO_PAD STABLEHLO_IOTA STABLEHLO_DOT_GENERAL " +
  "STABLEHLO_REDUCE_WINDOW STABLEHLO_SORT STABLEHLO_WHILE STABLEHLO_GATHER STABLEHLO_TRANSPOSE DILATE " +
  "STABLEHLO_RNG_BIT_GENERATOR REDUCE_WINDOW STABLEHLO_COMPOSITE COMPLEX"
).split(" ");

/** `BuiltinOperator.CUSTOM`. */
export const CUSTOM = 32;
/** `BuiltinOperator.DELEGATE`. */
export const DELEGATE = 51;
/** `BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES`: `deprecated_builtin_code` saturates here. */
export const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;

/** The name of a builtin operator code (`BUILTIN_<n>` for codes newer than this table). */
export const builtinName = (code: number): string => BUILTIN_NAMES[code] ?? `BUILTIN_${code}`;

/** Whether a builtin code is one this table knows. */
export const isKnownBuiltin = (code: number): boolean => code >= 0 && code < BUILTIN_NAMES.length;

/** `TensorType` names by value. */
const TENSOR_TYPES = (
  "FLOAT32 FLOAT16 INT32 UINT8 INT64 STRING BOOL INT16 COMPLEX64 INT8 FLOAT64 COMPLEX128 UINT64 RESOURCE VARIANT " +
  "UINT32 UINT16 INT4 BFLOAT16"
).split(" ");

/** The name of a tensor type. */
export const tensorTypeName = (type: number): string => TENSOR_TYPES[type] ?? `TYPE_${type}`;

/**
 * Custom operators that well-known runtimes ship kernels for: TFLite's own op resolver
 * (`TFLite_Detection_PostProcess`, the audio front end ops) and MediaPipe's GPU/CPU custom ops.
 * The loading application still registers them, but the kernel is a known one.
 */
export const KNOWN_CUSTOM_OPS: ReadonlySet<string> = new Set([
  "TFLite_Detection_PostProcess",
  "AudioSpectrogram",
  "Mfcc",
  "Convolution2DTransposeBias",
  "MaxPoolingWithArgmax2D",
  "MaxUnpooling2D",
  "TransformLandmarks",
  "TransformTensorBilinear",
  "Landmarks2TransformMatrix",
]);

/** Flex (select TF) ops that call back into Python: code execution wherever they run. */
export const FLEX_PYTHON_OPS: ReadonlySet<string> = new Set(["PyFunc", "PyFuncStateless", "EagerPyFunc"]);

/**
 * Flex ops (TensorFlow op names, without the `Flex` prefix) that read or write files, map memory
 * regions by name, or reach the network when TensorFlow kernels run them.
 */
export const FLEX_IO_OPS: ReadonlySet<string> = new Set([
  "ReadFile",
  "WriteFile",
  "MatchingFiles",
  "Save",
  "SaveV2",
  "SaveSlices",
  "Restore",
  "RestoreV2",
  "RestoreSlice",
  "MergeV2Checkpoints",
  "ImmutableConst",
  "WholeFileReader",
  "WholeFileReaderV2",
  "ReaderReadV2",
  "ReaderRead",
  "TFRecordReader",
  "TFRecordReaderV2",
  "TextLineReader",
  "TextLineReaderV2",
  "FixedLengthRecordReader",
  "FixedLengthRecordReaderV2",
  "TFRecordDataset",
  "TFRecordDatasetV2",
  "TextLineDataset",
  "FixedLengthRecordDataset",
  "FixedLengthRecordDatasetV2",
  "CSVDataset",
  "CSVDatasetV2",
  "ExperimentalCSVDataset",
  "SaveDataset",
  "SaveDatasetV2",
  "LoadDataset",
  "SnapshotDataset",
  "SnapshotDatasetV2",
  "CacheDataset",
  "CacheDatasetV2",
  "DatasetToTFRecord",
  "ExperimentalDatasetToTFRecord",
  "InitializeTableFromTextFile",
  "InitializeTableFromTextFileV2",
  "LoadAndRemapMatrix",
  "GenerateVocabRemap",
  "DebugIdentity",
  "DebugIdentityV2",
  "DebugIdentityV3",
  "CreateSummaryFileWriter",
  "WriteSummary",
  "WriteScalarSummary",
  "WriteHistogramSummary",
  "WriteImageSummary",
  "WriteAudioSummary",
  "WriteGraphSummary",
  "WriteRawProtoSummary",
  "DecodeProtoV2",
  "EncodeProto",
  "Rpc",
  "TryRpc",
  "DataServiceDataset",
  "DataServiceDatasetV2",
  "DataServiceDatasetV3",
  "DataServiceDatasetV4",
  "CollectiveReduce",
  "CollectiveReduceV2",
  "CollectiveGather",
  "CollectiveGatherV2",
  "CollectiveBcastSend",
  "CollectiveBcastRecv",
  "CollectiveBcastSendV2",
  "CollectiveBcastRecvV2",
]);

/** Flex ops whose effect depends on an attribute: `PrintV2` writes to `output_stream`, a file when it is `file://...`. */
export const FLEX_PRINT_OPS: ReadonlySet<string> = new Set(["PrintV2", "Print"]);
