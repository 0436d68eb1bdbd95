#!/usr/bin/python3
"""Writes samples/tf-text/: TensorFlow graphs in the forms TensorFlow loads that are not a binary
SavedModel: the protobuf TEXT format (`saved_model.pbtxt`, which the SavedModel loader parses with
`text_format.Parse` when there is no `saved_model.pb`; a `.meta` exported with `as_text=True`, which
`import_meta_graph` parses as text when the binary parse fails; `graph.pbtxt` of
`tf.io.write_graph`), binary frozen GraphDefs (`frozen_inference_graph.pb`, `tf.import_graph_def`),
and TF1 graphs whose variable initializers and queue runners (run by the user without naming them)
reach a SaveV2.

There is no TensorFlow on this machine: messages are built with the `protobuf` package
(python3-protobuf) from descriptors declared with the field numbers of TensorFlow's public protos
(those of samples/generate/tf_metagraph.py, plus SavedModel, QueueRunnerDef, SignatureDef's
TensorInfo), serialized with SerializeToString and, for the text files, written by
google.protobuf.text_format.MessageToString, the writer TensorFlow itself uses. The graphs follow
what TF 1.15 writes (see tf_metagraph.py).

- benign_tf1/saved_model.pbtxt: a TF1 SavedModel (serve tag, serving signature, saver, variables
  collections, legacy init op) in text format: clean.
- benign_graph/graph.pbtxt: the text GraphDef `write_graph` writes for the same training graph
  (save/ scope included): clean.
- frozen/frozen_inference_graph.pb: a frozen Const/Conv2D/Relu/MatMul/Softmax inference graph: clean.
- pbtxt_py_func/saved_model.pbtxt: a PyFunc on the serving path: malicious.
- pbtxt_escapes/saved_model.pbtxt: ops spelled with C escapes (`\\120yFunc`, `Write\\x46ile`),
  comments and `<...>` messages: malicious.
- pbtxt_function_write_file/saved_model.pbtxt: WriteFile in a library function: malicious.
- pbtxt_unknown_field/saved_model.pbtxt: a field TensorFlow's parser refuses: invalid.
- text_meta/model.ckpt.meta: an `as_text=True` meta graph with a PyFunc: malicious.
- graph_py_func/graph.pbtxt: a text GraphDef with a PyFunc: malicious.
- frozen_py_func/frozen_inference_graph.pb: a binary frozen graph with a PyFunc: malicious.
- frozen_fetch_save/frozen_inference_graph.pb: the frozen graph's output waits on a `save/SaveV2`
  that writes a file: malicious.
- initializer_save/model.ckpt.meta: a variable's initializer (VariableDef.initializer_name, run by
  `tf.global_variables_initializer()`) is a `save/` SaveV2: malicious.
- queue_runner_save/model.ckpt.meta: a queue runner's enqueue op (`start_queue_runners`) runs a
  `save/` SaveV2: malicious.

Nothing is executed here. Run from the repository root with /usr/bin/python3.
"""

import json
import os
import shutil
import sys

from google.protobuf import text_format

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tf_metagraph as tfm  # noqa: E402  (the descriptors and graph helpers of tf_metagraph.py)

OUT = os.path.join("samples", "tf-text")
EXTRA = {
    "SavedModel": [("saved_model_schema_version", 1, "int64", False), ("meta_graphs", 2, "MetaGraphDef", True)],
    "QueueRunnerDef": [
        ("queue_name", 1, "string", False),
        ("enqueue_op_name", 2, "string", True),
        ("close_op_name", 3, "string", False),
        ("cancel_op_name", 4, "string", False),
    ],
    "TensorInfo": [("name", 1, "string", False), ("dtype", 2, "enum", False)],
    "SignatureDef": [
        ("inputs", 1, ("map", "string", "TensorInfo"), True),
        ("outputs", 2, ("map", "string", "TensorInfo"), True),
        ("method_name", 3, "string", False),
    ],
}
tfm.PROTOS.update(EXTRA)
tfm.PB = tfm.build_classes()
PB = tfm.PB
node, const_float, shape = tfm.node, tfm.const_float, tfm.shape
DT_FLOAT, DT_STRING = tfm.DT_FLOAT, tfm.DT_STRING

expected = {}


def put(rel, data, verdict, rules=(), absent=(), evidence=None):
    full = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    if evidence:
        entry["evidence"] = evidence
    expected[f"tf-text/{rel}"] = entry


def meta_message(model_nodes, extra_nodes=(), functions=(), output="y", variables_init=None, queue_runner=None):
    """A TF1 MetaGraphDef message (serve tag, serving signature), as tf_metagraph.meta_graph builds it."""
    meta = PB["MetaGraphDef"]()
    meta.ParseFromString(tfm.meta_graph(model_nodes, extra_nodes=extra_nodes, functions=functions))
    meta.meta_info_def.tags.append("serve")
    sig = meta.signature_def["serving_default"]
    sig.inputs["x"].name, sig.inputs["x"].dtype = "x:0", DT_FLOAT
    sig.outputs["y"].name, sig.outputs["y"].dtype = f"{output}:0", DT_FLOAT
    sig.method_name = "tensorflow/serving/predict"
    meta.collection_def["legacy_init_op"].node_list.value.append("init")
    if variables_init is not None:
        value = meta.collection_def["variables"].bytes_list.value
        var = PB["VariableDef"]()
        var.ParseFromString(value[0])
        var.initializer_name = variables_init
        value[0] = var.SerializeToString(deterministic=True)
    if queue_runner is not None:
        qr = PB["QueueRunnerDef"](queue_name="input_producer", enqueue_op_name=[queue_runner],
                                  close_op_name="input_producer/input_producer_Close",
                                  cancel_op_name="input_producer/input_producer_Close_1")
        meta.collection_def["queue_runners"].bytes_list.value.append(qr.SerializeToString(deterministic=True))
    return meta


def saved_model_text(meta):
    return text_format.MessageToString(PB["SavedModel"](saved_model_schema_version=1, meta_graphs=[meta]))


def py_func_nodes():
    return [tfm.const_strings("evil/token", ["pyfunc_0"], dims=[]),
            node("evil/PyFunc", "PyFunc", ["evil/token"], token=b"pyfunc_0", Tin=[DT_STRING], Tout=[DT_FLOAT])]


def extra_save(prefix="/tmp/modelgate-sample/out"):
    """A second SaveV2 in the save/ scope, writing the variables to an attacker's path."""
    return [tfm.const_strings("save/extra/prefix", [prefix], dims=[]),
            node("save/SaveV2_1", "SaveV2", ["save/extra/prefix", "save/SaveV2/tensor_names",
                                             "save/SaveV2/shape_and_slices", "b", "w"], dtypes=[DT_FLOAT] * 2)]


def frozen_graph(extra=(), output_inputs=("logits",)):
    """A frozen inference graph: constants folded in, Conv2D/Relu/MatMul/Softmax."""
    nodes = [
        node("image", "Placeholder", [], dtype=DT_FLOAT, shape=shape(-1, 8, 8, 1)),
        const_float("conv/kernel", [3, 3, 1, 4], 0.1),
        node("conv/Conv2D", "Conv2D", ["image", "conv/kernel"], T=DT_FLOAT, padding=b"SAME", data_format=b"NHWC",
             strides=[1, 1, 1, 1], use_cudnn_on_gpu=True),
        const_float("conv/bias", [4], 0.0),
        node("conv/BiasAdd", "BiasAdd", ["conv/Conv2D", "conv/bias"], T=DT_FLOAT, data_format=b"NHWC"),
        node("conv/Relu", "Relu", ["conv/BiasAdd"], T=DT_FLOAT),
        const_float("flatten/shape", [2], -1.0),
        node("flatten/Reshape", "Reshape", ["conv/Relu", "flatten/shape"], T=DT_FLOAT),
        const_float("dense/kernel", [256, 10], 0.01),
        node("dense/MatMul", "MatMul", ["flatten/Reshape", "dense/kernel"], T=DT_FLOAT, transpose_a=False,
             transpose_b=False),
        node("logits", "Identity", ["dense/MatMul"], T=DT_FLOAT),
        *extra,
        node("Softmax", "Softmax", list(output_inputs), T=DT_FLOAT),
    ]
    # strides is a list(int): the helper writes ints as types, so set it as it is
    for n in nodes:
        if n.name == "conv/Conv2D":
            n.attr["strides"].Clear()
            n.attr["strides"].list.i.extend([1, 1, 1, 1])
    return PB["GraphDef"](node=nodes, versions=PB["VersionDef"](producer=27))


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    clean_absent = ["savedmodel/checkpoint-op", "savedmodel/unknown-op", "savedmodel/malformed"]

    benign = meta_message(tfm.dense())
    put("benign_tf1/saved_model.pbtxt", saved_model_text(benign), "clean", absent=clean_absent)
    put("benign_graph/graph.pbtxt", text_format.MessageToString(benign.graph_def), "clean", absent=clean_absent)
    put("frozen/frozen_inference_graph.pb", frozen_graph().SerializeToString(deterministic=True), "clean",
        absent=clean_absent)

    py = meta_message(tfm.dense(("add", "^evil/PyFunc")) + py_func_nodes())
    put("pbtxt_py_func/saved_model.pbtxt", saved_model_text(py), "malicious", ["savedmodel/py-func"],
        evidence={"op": "PyFunc"})

    escaped = saved_model_text(meta_message(tfm.dense(("add", "^evil/PyFunc", "^hook/WriteFile")) + py_func_nodes() + [
        tfm.const_strings("hook/path", ["/home/user/.bashrc"], dims=[]),
        node("hook/WriteFile", "WriteFile", ["hook/path", "hook/path"])]))
    escaped = escaped.replace('op: "PyFunc"', '# the op, spelled with an octal escape\n      op: "\\120y" \'Func\'')
    escaped = escaped.replace('op: "WriteFile"', 'op: "Write\\x46ile";')
    escaped = escaped.replace("saver_def {", "saver_def <", 1)
    head, _, tail = escaped.partition("saver_def <")
    body, _, rest = tail.partition("\n  }\n")
    escaped = head + "saver_def <" + body + "\n  >\n" + rest
    put("pbtxt_escapes/saved_model.pbtxt", "# written by hand from text_format's output\n" + escaped, "malicious",
        ["savedmodel/py-func", "savedmodel/file-io-op"])

    fn = PB["FunctionDef"](
        signature=PB["OpDef"](name="__inference_preprocess_42", is_stateful=True),
        node_def=[tfm.const_strings("path", ["/home/user/.ssh/authorized_keys"], dims=[]),
                  node("WriteFile", "WriteFile", ["path:output:0", "path:output:0"])],
    )
    call = node("preprocess", "StatefulPartitionedCall", [], f="__inference_preprocess_42", Tin=[], Tout=[])
    in_fn = meta_message(tfm.dense(("add", "^preprocess")) + [call], functions=[fn])
    put("pbtxt_function_write_file/saved_model.pbtxt", saved_model_text(in_fn), "malicious",
        ["savedmodel/file-io-op"], evidence={"function": "__inference_preprocess_42"})

    unknown = saved_model_text(benign).replace("saved_model_schema_version: 1", "saved_model_schema_version: 1\nlayers: 3")
    put("pbtxt_unknown_field/saved_model.pbtxt", unknown, "invalid", ["savedmodel/malformed"])

    pymeta = PB["MetaGraphDef"]()
    pymeta.ParseFromString(tfm.meta_graph(tfm.dense(("add", "^evil/PyFunc")) + py_func_nodes()))
    put("text_meta/model.ckpt.meta", text_format.MessageToString(pymeta), "malicious", ["savedmodel/py-func"])
    put("graph_py_func/graph.pbtxt", text_format.MessageToString(pymeta.graph_def), "malicious",
        ["savedmodel/py-func"])

    put("frozen_py_func/frozen_inference_graph.pb",
        frozen_graph(py_func_nodes(), ("logits", "^evil/PyFunc")).SerializeToString(deterministic=True),
        "malicious", ["savedmodel/py-func"])
    fetch_save = [tfm.const_strings("save/Const", ["/tmp/modelgate-sample/out"], dims=[]),
                  tfm.const_strings("save/SaveV2/tensor_names", ["dense/kernel"]),
                  tfm.const_strings("save/SaveV2/shape_and_slices", [""]),
                  node("save/SaveV2", "SaveV2", ["save/Const", "save/SaveV2/tensor_names",
                                                 "save/SaveV2/shape_and_slices", "dense/kernel"], dtypes=[DT_FLOAT])]
    put("frozen_fetch_save/frozen_inference_graph.pb",
        frozen_graph(fetch_save, ("logits", "^save/SaveV2")).SerializeToString(deterministic=True),
        "malicious", ["savedmodel/checkpoint-op"], evidence={"node": "save/SaveV2"})

    init = meta_message(tfm.dense(), extra_nodes=extra_save(), variables_init="save/SaveV2_1")
    put("initializer_save/model.ckpt.meta", init.SerializeToString(deterministic=True), "malicious",
        ["savedmodel/checkpoint-op"], evidence={"node": "save/SaveV2_1"})
    queue = meta_message(tfm.dense(), extra_nodes=extra_save(), queue_runner="save/SaveV2_1")
    put("queue_runner_save/model.ckpt.meta", queue.SerializeToString(deterministic=True), "malicious",
        ["savedmodel/checkpoint-op"], evidence={"node": "save/SaveV2_1"})

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
