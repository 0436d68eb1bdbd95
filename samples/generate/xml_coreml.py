#!/usr/bin/env python3
"""Samples of the XML-based formats (OpenVINO IR, PMML) and of Core ML.

OpenVINO and coremltools are not packaged in Debian, so nothing here is made by those tools:
- OpenVINO IR `.xml`/`.bin` are written as the IR format documentation shows them (`<net>` with
  `<layers>` of opset operations, `<edges>`, `<rt_info>`; `Const` layers index the `.bin` by
  offset/size);
- PMML documents follow the DMG PMML 4.4 schema;
- Core ML `.mlmodel` files are protobuf `Model` messages written by the small protobuf writer below
  from the field numbers of coremltools' public `mlmodel/format/*.proto` (neural networks from
  NeuralNetwork.proto, ML Programs from MIL.proto: functions, blocks, operations, blob file values).
Malicious samples carry harmless payloads (`/etc/passwd` references, an `echo` class name).

Run: /usr/bin/python3 samples/generate/xml_coreml.py
"""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def write(rel, data):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


# --------------------------------------------------------------------------------------------
# OpenVINO IR


def port(pid, precision, dims, names=None):
    attrs = f'id="{pid}" precision="{precision}"' + (f' names="{names}"' if names else "")
    return f"<port {attrs}>" + "".join(f"<dim>{d}</dim>" for d in dims) + "</port>"


def ir(extra_layers="", extra_edges="", rt_info="", custom=None, doctype=""):
    """A small convolution network: input → conv(weights) → add(bias) → relu → result."""
    weights = struct.pack("<" + "f" * 8 * 3 * 3 * 3, *[(i % 7) / 10.0 for i in range(8 * 27)])
    bias = struct.pack("<" + "f" * 8, *[0.01 * i for i in range(8)])
    relu_type, relu_version = custom or ("ReLU", "opset1")
    xml = f"""<?xml version="1.0"?>
{doctype}<net name="tiny_convnet" version="11">
\t<layers>
\t\t<layer id="0" name="input" type="Parameter" version="opset1">
\t\t\t<data shape="1,3,8,8" element_type="f32"/>
\t\t\t<output>{port(0, "FP32", [1, 3, 8, 8], "input")}</output>
\t\t</layer>
\t\t<layer id="1" name="conv.weight" type="Const" version="opset1">
\t\t\t<data element_type="f32" shape="8,3,3,3" offset="0" size="{len(weights)}"/>
\t\t\t<output>{port(0, "FP32", [8, 3, 3, 3])}</output>
\t\t</layer>
\t\t<layer id="2" name="conv" type="Convolution" version="opset1">
\t\t\t<data strides="1,1" dilations="1,1" pads_begin="1,1" pads_end="1,1" auto_pad="explicit"/>
\t\t\t<input>{port(0, "FP32", [1, 3, 8, 8])}{port(1, "FP32", [8, 3, 3, 3])}</input>
\t\t\t<output>{port(2, "FP32", [1, 8, 8, 8])}</output>
\t\t</layer>
\t\t<layer id="3" name="conv.bias" type="Const" version="opset1">
\t\t\t<data element_type="f32" shape="1,8,1,1" offset="{len(weights)}" size="{len(bias)}"/>
\t\t\t<output>{port(0, "FP32", [1, 8, 1, 1])}</output>
\t\t</layer>
\t\t<layer id="4" name="add" type="Add" version="opset1">
\t\t\t<data auto_broadcast="numpy"/>
\t\t\t<input>{port(0, "FP32", [1, 8, 8, 8])}{port(1, "FP32", [1, 8, 1, 1])}</input>
\t\t\t<output>{port(2, "FP32", [1, 8, 8, 8])}</output>
\t\t</layer>
\t\t<layer id="5" name="relu" type="{relu_type}" version="{relu_version}">
\t\t\t<input>{port(0, "FP32", [1, 8, 8, 8])}</input>
\t\t\t<output>{port(1, "FP32", [1, 8, 8, 8], "output")}</output>
\t\t</layer>
\t\t<layer id="6" name="output" type="Result" version="opset1">
\t\t\t<input>{port(0, "FP32", [1, 8, 8, 8])}</input>
\t\t</layer>{extra_layers}
\t</layers>
\t<edges>
\t\t<edge from-layer="0" from-port="0" to-layer="2" to-port="0"/>
\t\t<edge from-layer="1" from-port="0" to-layer="2" to-port="1"/>
\t\t<edge from-layer="2" from-port="2" to-layer="4" to-port="0"/>
\t\t<edge from-layer="3" from-port="0" to-layer="4" to-port="1"/>
\t\t<edge from-layer="4" from-port="2" to-layer="5" to-port="0"/>
\t\t<edge from-layer="5" from-port="1" to-layer="6" to-port="0"/>{extra_edges}
\t</edges>
\t<rt_info>
\t\t<Runtime_version value="2024.4.0-16579-c3152d32c9c-releases/2024/4"/>
\t\t<conversion_parameters>
\t\t\t<framework value="onnx"/>
\t\t\t<is_python_object value="False"/>
\t\t</conversion_parameters>{rt_info}
\t</rt_info>
</net>
"""
    return xml, weights + bias


xml, weights = ir()
write("openvino/clean/model.xml", xml)
write("openvino/clean/model.bin", weights)
write("openvino/custom_layer.xml", ir(custom=("MyCustomReLU", "custom_opset"))[0])
write(
    "openvino/extension_library.xml",
    ir(rt_info='\n\t\t<extensions value="./libuser_ov_extensions.so"/>')[0],
)
write(
    "openvino/xxe.xml",
    ir(doctype='<!DOCTYPE net [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n')[0].replace(
        'name="tiny_convnet"', 'name="&x;"'
    ),
)
laughs = '<!DOCTYPE net [\n <!ENTITY lol "lol">\n' + "".join(
    f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10)
) + "]>\n"
write("openvino/billion_laughs.xml", ir(doctype=laughs)[0].replace('name="tiny_convnet"', 'name="&lol9;"'))

# --------------------------------------------------------------------------------------------
# PMML

TREE = """<?xml version="1.0" encoding="UTF-8"?>
<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">
\t<Header description="Iris decision tree">
\t\t<Application name="hand-written sample" version="1.0"/>
\t</Header>
\t<DataDictionary numberOfFields="3">
\t\t<DataField name="petal_length" optype="continuous" dataType="double"/>
\t\t<DataField name="petal_width" optype="continuous" dataType="double"/>
\t\t<DataField name="species" optype="categorical" dataType="string">
\t\t\t<Value value="setosa"/>
\t\t\t<Value value="versicolor"/>
\t\t\t<Value value="virginica"/>
\t\t</DataField>
\t</DataDictionary>
\t<TreeModel modelName="iris_tree" functionName="classification" splitCharacteristic="binarySplit">
\t\t<MiningSchema>
\t\t\t<MiningField name="petal_length"/>
\t\t\t<MiningField name="petal_width"/>
\t\t\t<MiningField name="species" usageType="target"/>
\t\t</MiningSchema>
\t\t<Node id="1" score="setosa">
\t\t\t<True/>
\t\t\t<Node id="2" score="setosa">
\t\t\t\t<SimplePredicate field="petal_length" operator="lessOrEqual" value="2.45"/>
\t\t\t</Node>
\t\t\t<Node id="3" score="versicolor">
\t\t\t\t<SimplePredicate field="petal_length" operator="greaterThan" value="2.45"/>
\t\t\t\t<Node id="4" score="versicolor">
\t\t\t\t\t<SimplePredicate field="petal_width" operator="lessOrEqual" value="1.75"/>
\t\t\t\t</Node>
\t\t\t\t<Node id="5" score="virginica">
\t\t\t\t\t<SimplePredicate field="petal_width" operator="greaterThan" value="1.75"/>
\t\t\t\t</Node>
\t\t\t</Node>
\t\t</Node>
\t</TreeModel>
</PMML>
"""
write("pmml/tree.pmml", TREE)
write(
    "pmml/extension_java.pmml",
    TREE.replace(
        "\t<Header",
        '\t<Extension extender="example" name="postprocessor" value="com.example.scoring.ShellPostProcessor"/>\n\t<Header',
    ),
)
write(
    "pmml/java_function.pmml",
    TREE.replace(
        "\t</DataDictionary>",
        """\t</DataDictionary>
\t<TransformationDictionary>
\t\t<DerivedField name="echoed" optype="categorical" dataType="string">
\t\t\t<Apply function="java.lang.Runtime">
\t\t\t\t<Constant dataType="string">echo pwned</Constant>
\t\t\t</Apply>
\t\t</DerivedField>
\t</TransformationDictionary>""",
    ),
)
write(
    "pmml/xxe.pmml",
    TREE.replace(
        '<PMML xmlns',
        '<!DOCTYPE PMML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<PMML xmlns',
    ).replace('description="Iris decision tree"', 'description="&xxe;"'),
)

# --------------------------------------------------------------------------------------------
# Core ML: a minimal protobuf writer


def varint(n):
    out = bytearray()
    if n < 0:
        n += 1 << 64
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def f_varint(field, n):
    return key(field, 0) + varint(n)


def f_bytes(field, data):
    data = data.encode() if isinstance(data, str) else data
    return key(field, 2) + varint(len(data)) + data


def f_packed(field, values):
    return f_bytes(field, b"".join(varint(v) for v in values))


FLOAT32 = 65568


def feature(name, shape):
    # FeatureDescription{name=1, type=3: FeatureType{multiArrayType=5: ArrayFeatureType{shape=1, dataType=2}}}
    array = f_packed(1, shape) + f_varint(2, FLOAT32)
    return f_bytes(1, name) + f_bytes(3, f_bytes(5, array))


def description(inputs, outputs, author="modelgate samples"):
    body = b"".join(f_bytes(1, feature(n, s)) for n, s in inputs)
    body += b"".join(f_bytes(10, feature(n, s)) for n, s in outputs)
    # Metadata{author=3, versionString=2}
    body += f_bytes(100, f_bytes(2, "1.0") + f_bytes(3, author))
    return body


def floats(values):
    return struct.pack("<" + "f" * len(values), *values)


def inner_product(name, inp, out, n_in, n_out):
    # NeuralNetworkLayer{name=1, input=2, output=3, innerProduct=140: InnerProductLayerParams{
    #   inputChannels=1, outputChannels=2, hasBias=10, weights=20: WeightParams{floatValue=1}, bias=21}}
    weights = f_bytes(1, floats([(i % 5) / 10.0 for i in range(n_in * n_out)]))
    bias = f_bytes(1, floats([0.0] * n_out))
    params = f_varint(1, n_in) + f_varint(2, n_out) + f_varint(10, 1) + f_bytes(20, weights) + f_bytes(21, bias)
    return f_bytes(1, name) + f_bytes(2, inp) + f_bytes(3, out) + f_bytes(140, params)


def activation_relu(name, inp, out):
    # ActivationParams{ReLU=10: ActivationReLU{}}
    return f_bytes(1, name) + f_bytes(2, inp) + f_bytes(3, out) + f_bytes(130, f_bytes(10, b""))


def custom_layer(name, inp, out, class_name):
    # CustomLayerParams{className=10, description=40}
    params = f_bytes(10, class_name) + f_bytes(40, "custom activation implemented by the app")
    return f_bytes(1, name) + f_bytes(2, inp) + f_bytes(3, out) + f_bytes(500, params)


def model(spec_version, desc, type_field, type_body):
    return f_varint(1, spec_version) + f_bytes(2, desc) + f_bytes(type_field, type_body)


desc = description([("x", [4])], [("y", [2])])
network = f_bytes(1, inner_product("dense", "x", "h", 4, 2)) + f_bytes(1, activation_relu("relu", "h", "y"))
write("coreml/neural_network.mlmodel", model(4, desc, 500, network))

custom_net = f_bytes(1, inner_product("dense", "x", "h", 4, 2)) + f_bytes(
    1, custom_layer("swish", "h", "y", "EchoSwishLayer")
)
write("coreml/custom_layer.mlmodel", model(4, desc, 500, custom_net))

# CustomModel{className=10, description=40}
write(
    "coreml/custom_model.mlmodel",
    model(4, desc, 555, f_bytes(10, "EchoCustomModel") + f_bytes(40, "prediction done by the app")),
)

# Pipeline{models=1, names=2} of a neural network and a LinkedModel{linkedModelFile=1: LinkedModelFile{
#   linkedModelFileName=1: StringParameter{defaultValue=1}, linkedModelSearchPath=2}}
linked = f_bytes(1, f_bytes(1, f_bytes(1, "shared_encoder.mlmodelc")) + f_bytes(2, f_bytes(1, "$BUNDLE_MAIN")))
pipeline = (
    f_bytes(1, model(4, desc, 500, network))
    + f_bytes(1, model(4, description([("y", [2])], [("z", [2])]), 556, linked))
    + f_bytes(2, "dense")
    + f_bytes(2, "encoder")
)
write("coreml/pipeline_linked.mlmodel", model(4, description([("x", [4])], [("z", [2])]), 202, pipeline))

# An .mlpackage directory (Manifest.json + Data/com.apple.CoreML/model.mlmodel), as coremltools lays it out.
MANIFEST = """{
    "fileFormatVersion": "1.0.0",
    "itemInfoEntries": {
        "5D3C1F0A-2B4E-4C7A-9F61-0A1B2C3D4E5F": {
            "author": "com.apple.CoreML",
            "description": "CoreML Model Specification",
            "name": "model.mlmodel",
            "path": "com.apple.CoreML/model.mlmodel"
        }
    },
    "rootModelIdentifier": "5D3C1F0A-2B4E-4C7A-9F61-0A1B2C3D4E5F"
}
"""
write("coreml/tiny.mlpackage/Manifest.json", MANIFEST)
write("coreml/tiny.mlpackage/Data/com.apple.CoreML/model.mlmodel", model(4, desc, 500, network))

# --------------------------------------------------------------------------------------------
# Core ML ML Programs (Model.mlProgram = 502): MILSpec.Program messages written from the field
# numbers of coremltools' public mlmodel/format/MIL.proto (coremltools is not in Debian).
# Program{version=1, functions=2 map<string,Function>}; Function{inputs=1, opset=2,
# block_specializations=3 map<string,Block>}; Block{outputs=2, operations=3};
# Operation{type=1, inputs=2 map<string,Argument>, outputs=3, blocks=4, attributes=5};
# Value{type=2, immediateValue=3, blobFileValue=5{fileName=1, offset=2}}. Map entries are {key=1, value=2}.

MIL_FP32 = 11


def mil_tensor_type(shape, dtype=MIL_FP32):
    # ValueType{tensorType=1: TensorType{dataType=1, rank=2, dimensions=3: Dimension{constant=1{size=1}}}}
    dims = b"".join(f_bytes(3, f_bytes(1, f_varint(1, d))) for d in shape)
    return f_bytes(1, f_varint(1, dtype) + f_varint(2, len(shape)) + dims)


def mil_named(name, shape, dtype=MIL_FP32):
    return f_bytes(1, name) + f_bytes(2, mil_tensor_type(shape, dtype))


def mil_string_value(text):
    # Value{type=ValueType{tensorType{dataType=STRING(2), rank=0}}, immediateValue{tensor{strings{values}}}}
    return f_bytes(2, f_bytes(1, f_varint(1, 2))) + f_bytes(3, f_bytes(1, f_bytes(4, f_bytes(1, text))))


def mil_float_value(values, shape):
    # Value{type, immediateValue{tensor{floats{values packed}}}}
    return f_bytes(2, mil_tensor_type(shape)) + f_bytes(3, f_bytes(1, f_bytes(1, f_bytes(1, floats(values)))))


def mil_blob_value(file_name, offset, shape):
    return f_bytes(2, mil_tensor_type(shape)) + f_bytes(5, f_bytes(1, file_name) + f_varint(2, offset))


def mil_entry(field, key_, value_):
    return f_bytes(field, f_bytes(1, key_) + f_bytes(2, value_))


def mil_op(op_type, name, inputs=(), outputs=(), attributes=()):
    body = f_bytes(1, op_type)
    for param, arg in inputs:
        # Argument{arguments=1: Binding{name=1}}
        body += mil_entry(2, param, f_bytes(1, f_bytes(1, arg)))
    for out_name, shape in outputs:
        body += f_bytes(3, mil_named(out_name, shape))
    body += mil_entry(5, "name", mil_string_value(name))
    for key_, value_ in attributes:
        body += mil_entry(5, key_, value_)
    return body


def mil_program(ops, opset="CoreML5"):
    block = f_bytes(2, "y") + b"".join(f_bytes(3, op) for op in ops)
    function = f_bytes(1, mil_named("x", [1, 4])) + f_bytes(2, opset) + mil_entry(3, opset, block)
    return f_varint(1, 1) + mil_entry(2, "main", function)


def mil_dense(weight_file="@model_path/weights/weight.bin", act="relu"):
    return [
        mil_op("const", "W", outputs=[("W", [2, 4])], attributes=[("val", mil_blob_value(weight_file, 64, [2, 4]))]),
        mil_op("const", "b", outputs=[("b", [2])], attributes=[("val", mil_float_value([0.0, 0.1], [2]))]),
        mil_op("linear", "dense", inputs=[("x", "x"), ("weight", "W"), ("bias", "b")], outputs=[("h", [1, 2])]),
        mil_op(act, "act", inputs=[("x", "h")], outputs=[("y", [1, 2])]),
    ]


def ml_program(ops):
    # specificationVersion 6 is the first with ML Programs (iOS 15)
    return model(6, description([("x", [1, 4])], [("y", [1, 2])]), 502, mil_program(ops))


write("coreml/ml_program.mlmodel", ml_program(mil_dense()))
write("coreml/ml_program_unknown_op.mlmodel", ml_program(mil_dense(act="py_func_echo")))
write("coreml/ml_program_blob_traversal.mlmodel", ml_program(mil_dense(weight_file="@model_path/../../../../etc/passwd")))

# --------------------------------------------------------------------------------------------
# An ML Program .mlpackage: Manifest.json, Data/com.apple.CoreML/model.mlmodel whose const ops
# read their values from Data/com.apple.CoreML/weights/weight.bin (BlobFileValue{fileName, offset
# of the blob's metadata record}). coremltools is not in Debian: weight.bin is written here from
# the MIL blob storage v2 layout of coremltools' public mlmodel/src/MILBlob/Blob/StorageFormat.hpp
# (and its StorageWriter): a 64-byte header {uint32 count, uint32 version=2, 7 x uint64 reserved=0},
# then per blob a 64-aligned 64-byte blob_metadata {uint32 sentinel=0xDEADBEEF, uint32 mil_dtype
# (BlobDataType: Float16=1, Float32=2, ...), uint64 sizeInBytes, uint64 offset of the data,
# uint64 padding_size_in_bits, 4 x uint64 reserved} followed by the data at the next 64-byte
# boundary (the record's end); the file ends where the last blob's data ends.

BLOB_SENTINEL = 0xDEADBEEF
BLOB_FLOAT16, BLOB_FLOAT32 = 1, 2
MIL_FP16 = 10


def align64(n):
    return (n + 63) // 64 * 64


def blob_storage(blobs, count=None, sentinels=None, data_offsets=None, sizes=None):
    """blobs: [(mil_dtype, bytes)]; the overrides forge a header or record field (hostile files).
    Returns the file and the metadata offsets (what BlobFileValue.offset names)."""
    out = bytearray(struct.pack("<II", len(blobs) if count is None else count, 2) + b"\0" * 56)
    offsets = []
    for i, (dtype, data) in enumerate(blobs):
        out += b"\0" * (align64(len(out)) - len(out))
        meta = len(out)
        offsets.append(meta)
        sentinel = BLOB_SENTINEL if sentinels is None else sentinels[i]
        data_at = meta + 64 if data_offsets is None else data_offsets[i]
        size = len(data) if sizes is None else sizes[i]
        out += struct.pack("<IIQQQ", sentinel, dtype, size, data_at, 0) + b"\0" * 32
        out += data
    return bytes(out), offsets


W_VALUES = [(i % 7) / 10.0 - 0.3 for i in range(8)]
PACKAGE_BLOBS = [
    (BLOB_FLOAT32, struct.pack("<8f", *W_VALUES)),  # W: float32 [2, 4]
    (BLOB_FLOAT16, struct.pack("<2e", 0.0, 0.1)),  # b: float16 [2]
]
WEIGHTS, WEIGHT_OFFSETS = blob_storage(PACKAGE_BLOBS)
assert WEIGHT_OFFSETS == [64, 192]


def mil_blob_dense(w_offset, b_offset, weight_file="@model_path/weights/weight.bin"):
    # W and b both come from the weight file (W at its first record, b at its second)
    b_value = f_bytes(2, mil_tensor_type([2], MIL_FP16)) + f_bytes(5, f_bytes(1, weight_file) + f_varint(2, b_offset))
    return [
        mil_op("const", "W", outputs=[("W", [2, 4])], attributes=[("val", mil_blob_value(weight_file, w_offset, [2, 4]))]),
        mil_op("const", "b16", outputs=[("b16", [2])], attributes=[("val", b_value)]),
        mil_op("cast", "b", inputs=[("x", "b16")], outputs=[("b", [2])], attributes=[("dtype", mil_string_value("fp32"))]),
        mil_op("linear", "dense", inputs=[("x", "x"), ("weight", "W"), ("bias", "b")], outputs=[("h", [1, 2])]),
        mil_op("relu", "act", inputs=[("x", "h")], outputs=[("y", [1, 2])]),
    ]


ML_PACKAGE_MANIFEST = """{
    "fileFormatVersion": "1.0.0",
    "itemInfoEntries": {
        "7A1E3C55-90B2-4F0D-8E6A-3B5C7D9E1F20": {
            "author": "com.apple.CoreML",
            "description": "CoreML Model Weights",
            "name": "weights",
            "path": "com.apple.CoreML/weights"
        },
        "C4D2B0A8-6E1F-4A3B-9C5D-7E8F9A0B1C2D": {
            "author": "com.apple.CoreML",
            "description": "CoreML Model Specification",
            "name": "model.mlmodel",
            "path": "com.apple.CoreML/model.mlmodel"
        }
    },
    "rootModelIdentifier": "C4D2B0A8-6E1F-4A3B-9C5D-7E8F9A0B1C2D"
}
"""


def ml_package(rel, w_offset, b_offset):
    write(f"{rel}/Manifest.json", ML_PACKAGE_MANIFEST)
    write(f"{rel}/Data/com.apple.CoreML/model.mlmodel", ml_program(mil_blob_dense(w_offset, b_offset)))
    write(f"{rel}/Data/com.apple.CoreML/weights/weight.bin", WEIGHTS)


ml_package("coreml/ml_program.mlpackage", *WEIGHT_OFFSETS)
# the model reads b at byte 256: W's data, not a metadata record (a forged or stale reference)
ml_package("coreml/ml_program_dangling.mlpackage", WEIGHT_OFFSETS[0], 256)

# Hostile weight files: the first record is intact (so the content is recognised), the rest lies.
write(
    "coreml/hostile/weights_offset_past_end.bin",
    blob_storage(PACKAGE_BLOBS, data_offsets=[128, 1 << 20])[0],
)
write(
    "coreml/hostile/weights_bad_sentinel.bin",
    blob_storage(PACKAGE_BLOBS, sentinels=[BLOB_SENTINEL, 0xFEEDFACE])[0],
)
write("coreml/hostile/weights_huge_count.bin", blob_storage(PACKAGE_BLOBS, count=0xFFFFFFFF)[0])
# a pickle appended after the last blob (harmless payload: echo): loaders never read it
TRAILING_PICKLE = b"\x80\x02cposix\nsystem\nq\x00X\x0d\x00\x00\x00echo appendedq\x01\x85q\x02Rq\x03."
write(
    "coreml/hostile/weights_trailing_pickle.bin",
    WEIGHTS + b"\0" * (align64(len(WEIGHTS)) - len(WEIGHTS)) + TRAILING_PICKLE,
)
