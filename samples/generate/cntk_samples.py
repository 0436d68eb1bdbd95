#!/usr/bin/python3
"""Writes samples/cntk/: CNTK v2 models (`CNTK.proto` Dictionary, as `Function.save` writes them)
and a legacy v1 header, for the cntk analyzer.

CNTK itself is not installable here (no wheel for this Python; the project is retired), so the
models are built with the `protobuf` package from CNTK.proto's public field numbers
(Source/CNTKv2LibraryDll/proto/CNTK.proto), with the keys and types CNTK's serialisers write
(CompositeFunction::Serialize, PrimitiveFunction::Serialize, Variable::Serialize,
UDFUtils::Serialize, Function::SerializeNativeImpl, and the Python bindings' `_serialize` of a
UserFunction):

- benign/dense_relu.model, benign/dense_relu.dnn: a CompositeFunction graph of primitives, Times(W, x),
  Plus(b), ReLU, with its input and parameter variables (float tensors): must stay clean.
- python_udf.model: a graph with a Python UserFunction (`native: false`, `user_defined_state` naming
  module `my_udfs` and class `MyUdf`): cntk.load_model imports my_udfs (high).
- udf_injection.dnn: the same whose module string is code: the loader's
  exec("from {} import {}".format(module, cls)) runs it (critical). The payload only echoes.
- native_udf.cmf: a native UserFunction (`native: true`, NativeUserDefinedFunction naming a shared
  library and its factory): CNTK loads that library (high).
- truncated.model: the benign graph cut short: CNTK refuses it (invalid).
- not_a_graph.model: a well-formed Dictionary of CNTK keys whose type is not CompositeFunction
  (invalid).
- legacy.dnn: the v1 `B\\0C\\0N\\0` header (not analysed: suspicious).

CNTK writes the map entries in its hash map's order; these are written sorted by key
(deterministic serialisation), which the detector takes as any other order.

Run from the repository root with /usr/bin/python3.
"""
import json
import os
import struct

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

OUT = os.path.join("samples", "cntk")

# --- CNTK.proto, by its public field numbers -------------------------------------------------
F = descriptor_pb2.FieldDescriptorProto
fdp = descriptor_pb2.FileDescriptorProto(name="cntk_sample.proto", package="CNTK.proto", syntax="proto3")


def message(name, fields, nested=()):
    m = fdp.message_type.add(name=name)
    for n in nested:
        m.nested_type.add().CopyFrom(n)
    for fname, num, ftype, label, type_name in fields:
        f = m.field.add(name=fname, number=num, type=ftype, label=label)
        if type_name:
            f.type_name = type_name
    return m


OPT, REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED
message("NDShape", [("shape_dim", 1, F.TYPE_UINT64, REP, None)])
message("Axis", [("static_axis_idx", 1, F.TYPE_INT32, OPT, None), ("name", 2, F.TYPE_STRING, OPT, None),
                 ("is_ordered_dynamic_axis", 3, F.TYPE_BOOL, OPT, None)])
float_values = descriptor_pb2.DescriptorProto(name="FloatValues")
float_values.field.add(name="value", number=1, type=F.TYPE_FLOAT, label=REP)
message("NDArrayView", [("data_type", 1, F.TYPE_INT32, OPT, None), ("storage_format", 2, F.TYPE_INT32, OPT, None),
                        ("shape", 3, F.TYPE_MESSAGE, OPT, ".CNTK.proto.NDShape"),
                        ("float_values", 4, F.TYPE_MESSAGE, OPT, ".CNTK.proto.NDArrayView.FloatValues")],
        nested=[float_values])
message("Vector", [("value", 1, F.TYPE_MESSAGE, REP, ".CNTK.proto.DictionaryValue")])
entry = descriptor_pb2.DescriptorProto(name="DataEntry")
entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=OPT)
entry.field.add(name="value", number=2, type=F.TYPE_MESSAGE, label=OPT, type_name=".CNTK.proto.DictionaryValue")
entry.options.map_entry = True
message("Dictionary", [("version", 1, F.TYPE_UINT64, OPT, None),
                       ("data", 2, F.TYPE_MESSAGE, REP, ".CNTK.proto.Dictionary.DataEntry")], nested=[entry])
message("DictionaryValue", [
    ("version", 1, F.TYPE_UINT64, OPT, None), ("value_type", 2, F.TYPE_INT32, OPT, None),
    ("bool_value", 3, F.TYPE_BOOL, OPT, None), ("int_value", 4, F.TYPE_INT32, OPT, None),
    ("size_t_value", 5, F.TYPE_UINT64, OPT, None), ("float_value", 6, F.TYPE_FLOAT, OPT, None),
    ("double_value", 7, F.TYPE_DOUBLE, OPT, None), ("string_value", 8, F.TYPE_STRING, OPT, None),
    ("nd_shape_value", 9, F.TYPE_MESSAGE, OPT, ".CNTK.proto.NDShape"),
    ("axis_value", 10, F.TYPE_MESSAGE, OPT, ".CNTK.proto.Axis"),
    ("vector_value", 11, F.TYPE_MESSAGE, OPT, ".CNTK.proto.Vector"),
    ("dictionary_value", 12, F.TYPE_MESSAGE, OPT, ".CNTK.proto.Dictionary"),
    ("nd_array_view_value", 13, F.TYPE_MESSAGE, OPT, ".CNTK.proto.NDArrayView")])

pool = descriptor_pool.DescriptorPool()
pool.Add(fdp)
factory = message_factory.MessageFactory(pool)
Dictionary = factory.GetPrototype(pool.FindMessageTypeByName("CNTK.proto.Dictionary"))
DictionaryValue = factory.GetPrototype(pool.FindMessageTypeByName("CNTK.proto.DictionaryValue"))

# DictionaryValue.Type
BOOL, SIZE_T, STRING, NDSHAPE, AXIS, VECTOR, DICT, NDARRAY = 1, 3, 6, 7, 8, 9, 10, 11
# PrimitiveOpType (PrimitiveOpType.h)
RELU, PLUS, TIMES = 3, 19, 31
# VariableKind
INPUT, PARAMETER = 0, 2


def value(v):
    """A DictionaryValue for a Python value (tuples of ints are shapes)."""
    dv = DictionaryValue(version=1)
    if isinstance(v, bool):
        dv.value_type, dv.bool_value = BOOL, v
    elif isinstance(v, int):
        dv.value_type, dv.size_t_value = SIZE_T, v
    elif isinstance(v, str):
        dv.value_type, dv.string_value = STRING, v
    elif isinstance(v, tuple):
        dv.value_type = NDSHAPE
        dv.nd_shape_value.shape_dim.extend(v)
    elif isinstance(v, list):
        dv.value_type = VECTOR
        for item in v:
            dv.vector_value.value.add().CopyFrom(value(item))
    elif isinstance(v, dict):
        dv.value_type = DICT
        dv.dictionary_value.CopyFrom(dictionary(v))
    elif isinstance(v, NDArray):
        dv.value_type = NDARRAY
        dv.nd_array_view_value.data_type = 1  # Float
        dv.nd_array_view_value.shape.shape_dim.extend(v.shape)
        dv.nd_array_view_value.float_values.value.extend(v.values)
    else:
        raise TypeError(type(v))
    return dv


class NDArray:
    def __init__(self, shape, values):
        self.shape, self.values = shape, values


def dictionary(d):
    out = Dictionary(version=1)
    for k, v in d.items():
        out.data[k].CopyFrom(value(v))
    return out


def axis_batch():
    dv = DictionaryValue(version=1, value_type=AXIS)
    dv.axis_value.name, dv.axis_value.is_ordered_dynamic_axis = "defaultBatchAxis", False
    return dv


def variable(uid, name, kind, shape, data=None):
    d = {"version": 1, "type": "Variable", "uid": uid, "kind": kind, "data_type": 1, "is_sparse": False,
         "name": name, "needs_gradient": kind == PARAMETER, "shape": shape, "dynamic_axis": []}
    if data is not None:
        d["value"] = data
    out = dictionary(d)
    if kind == INPUT:
        out.data["dynamic_axis"].vector_value.value.add().CopyFrom(axis_batch())
    return out


def primitive(op, uid, inputs, name=""):
    d = {"version": 1, "type": "PrimitiveFunction", "op": op, "uid": uid, "inputs": inputs, "attributes": {}}
    if name:
        d["name"] = name
    return d


def composite(functions, inputs, root):
    out = dictionary({"version": 1, "type": "CompositeFunction", "root": root, "uid": "CompositeFunction12",
                      "name": "", "inputs": [], "primitive_functions": functions, "state": {}})
    for var in inputs:
        item = out.data["inputs"].vector_value.value.add(version=1, value_type=DICT)
        item.dictionary_value.CopyFrom(var)
    return out


def dense_inputs():
    w = [((i * 7) % 11 - 5) / 10.0 for i in range(12)]
    return [variable("Input3", "features", INPUT, (4,)),
            variable("Parameter4", "W", PARAMETER, (3, 4), NDArray((3, 4), w)),
            variable("Parameter5", "b", PARAMETER, (3,), NDArray((3,), [0.1, 0.0, -0.1]))]


def dense_functions():
    return [primitive(TIMES, "Times6", ["Parameter4", "Input3"]),
            primitive(PLUS, "Plus7", ["Times6_Output_0", "Parameter5"]),
            primitive(RELU, "ReLU8", ["Plus7_Output_0"], name="out")]


def python_udf(module, cls):
    # UDFUtils::Serialize: the common attributes, `native`, and the Python `_serialize` dict.
    return {"version": 1, "type": "UserDefinedFunction", "uid": "UserDefinedFunction9", "name": "udf",
            "inputs": ["ReLU8_Output_0"], "native": False,
            "user_defined_state": {"class": cls, "module": module, "op_name": cls, "state": {}, "version": 1}}


def native_udf(library, method):
    # Function::SerializeNativeImpl under `user_defined_state`
    return {"version": 1, "type": "UserDefinedFunction", "uid": "UserDefinedFunction9", "name": "native_udf",
            "inputs": ["ReLU8_Output_0"], "native": True,
            "user_defined_state": {"user_defined_state": {}, "module": library, "deserialize_method": method,
                                   "op": "MyNativeOp", "version": 0, "type": "NativeUserDefinedFunction"}}


def save(name, model):
    path = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = model if isinstance(model, bytes) else model.SerializeToString(deterministic=True)
    with open(path, "wb") as f:
        f.write(data)
    return data


expected = {}
benign = composite(dense_functions(), dense_inputs(), "ReLU8")
for name in ("benign/dense_relu.model", "benign/dense_relu.dnn"):
    save(name, benign)
    expected[f"cntk/{name}"] = {"verdict": "clean", "absentRules": ["format/unknown", "cntk/malformed"]}

save("python_udf.model", composite(dense_functions() + [python_udf("my_udfs", "MyUdf")], dense_inputs(),
                                   "UserDefinedFunction9"))
expected["cntk/python_udf.model"] = {"verdict": "malicious", "rules": ["cntk/python-udf"],
                                     "absentRules": ["cntk/udf-injection"],
                                     "evidence": {"module": "my_udfs", "class": "MyUdf"}}

INJECTED = "os import system; system('echo modelgate-sample'); from os"
save("udf_injection.dnn", composite(dense_functions() + [python_udf(INJECTED, "path")], dense_inputs(),
                                    "UserDefinedFunction9"))
expected["cntk/udf_injection.dnn"] = {"verdict": "malicious", "rules": ["cntk/udf-injection"],
                                      "evidence": {"module": INJECTED}}

save("native_udf.cmf", composite(dense_functions() + [native_udf("./evil_udf.so", "CreateMyNativeOp")],
                                 dense_inputs(), "UserDefinedFunction9"))
expected["cntk/native_udf.cmf"] = {"verdict": "malicious", "rules": ["cntk/native-udf"],
                                   "evidence": {"module": "./evil_udf.so"}}

whole = benign.SerializeToString(deterministic=True)
save("truncated.model", whole[: len(whole) * 2 // 3])
expected["cntk/truncated.model"] = {"verdict": "invalid", "rules": ["cntk/malformed"]}

save("not_a_graph.model", dictionary({"version": 1, "type": "PrimitiveFunction", "uid": "Plus7", "op": PLUS,
                                      "inputs": ["a", "b"]}))
expected["cntk/not_a_graph.model"] = {"verdict": "invalid", "rules": ["cntk/malformed"]}

legacy = "BCN\0BVersion\0".encode("utf-16-le") + struct.pack("<Q", 7) + "ECN\0".encode("utf-16-le")
save("legacy.dnn", legacy)
expected["cntk/legacy.dnn"] = {"verdict": "suspicious", "rules": ["cntk/legacy-model"]}

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
