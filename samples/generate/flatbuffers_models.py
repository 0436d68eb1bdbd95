#!/usr/bin/env python3
"""TFLite and ExecuTorch samples, built with the FlatBuffers Builder API (Debian's python3-flatbuffers).

Neither TensorFlow (which converts models to TFLite) nor ExecuTorch (which exports .pte programs) is
packaged in Debian, so the models are built table by table with `flatbuffers.Builder`, using the
field order of the public schemas (TFLite's `schema.fbs`, root `Model`, identifier `TFL3`;
ExecuTorch's `program.fbs`, root `Program`, identifier `ET12`, plus the documented extended header
`eh00`). No schema file or generated code is used: slots are numbered here, in schema order.

Run with /usr/bin/python3 from the repository root:  /usr/bin/python3 samples/generate/flatbuffers_models.py
"""

import json
import os
import struct

import flatbuffers
from flatbuffers import flexbuffers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TFLITE = os.path.join(ROOT, "tflite")
PTE = os.path.join(ROOT, "executorch")

# ---------------------------------------------------------------------------------------------
# helpers


def aligned_bytes(b: flatbuffers.Builder, data: bytes, alignment: int = 16) -> int:
    """A [ubyte] vector aligned like `force_align: 16` fields."""
    b.StartVector(1, len(data), alignment)
    b.head = b.head - len(data)
    b.Bytes[b.head : b.head + len(data)] = data
    return b.EndVector()


def int_vector(b: flatbuffers.Builder, values, size=4):
    b.StartVector(size, len(values), size)
    for v in reversed(values):
        if size == 4:
            b.PrependInt32(v)
        elif size == 8:
            b.PrependInt64(v)
        else:
            b.PrependUint8(v)
    return b.EndVector()


def offset_vector(b: flatbuffers.Builder, offsets):
    b.StartVector(4, len(offsets), 4)
    for o in reversed(offsets):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def pb_field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (payloads here are shorter than 128 bytes)."""
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def flex_options(op: str, attrs: dict) -> bytes:
    """Flex custom options: a FlexBuffer vector [op name, serialized tensorflow.NodeDef]. NodeDef:
    name 1, op 2, attr 5 (map entries key 1, value 2 = AttrValue with s 2)."""
    node = pb_field(1, op.lower().encode()) + pb_field(2, op.encode())
    for key, value in attrs.items():
        node += pb_field(5, pb_field(1, key.encode()) + pb_field(2, pb_field(2, value.encode())))
    return bytes(flexbuffers.Dumps([op, node.decode("ascii")]))


# ---------------------------------------------------------------------------------------------
# TFLite (schema.fbs field order)

CUSTOM = 32
FLOAT32 = 0


def tflite_model(ops, *, custom_options=None, metadata=True, description="modelgate sample"):
    """ops: list of (builtin_code, custom_code or None); one operator per code, chained on tensor 0..n."""
    b = flatbuffers.Builder(1024)
    custom_options = custom_options or {}

    # buffers: 0 is the empty sentinel, 1 a small weight, 2 min_runtime_version, 3 a metadata blob
    def buffer(data):
        vec = aligned_bytes(b, data) if data is not None else None
        b.StartObject(3)
        if vec is not None:
            b.PrependUOffsetTRelativeSlot(0, vec, 0)
        return b.EndObject()

    buffers = [buffer(None), buffer(struct.pack("<4f", 0.5, -0.25, 1.0, 2.0))]
    if metadata:
        buffers.append(buffer(b"1.14.0".ljust(16, b"\0")))
        buffers.append(buffer(json.dumps({"name": "sample", "labels": ["a", "b"]}).encode()))

    # operator codes
    codes = []
    for builtin, custom in ops:
        name = b.CreateString(custom) if custom is not None else None
        b.StartObject(4)
        b.PrependInt8Slot(0, min(builtin, 127), 0)  # deprecated_builtin_code
        if name is not None:
            b.PrependUOffsetTRelativeSlot(1, name, 0)  # custom_code
        b.PrependInt32Slot(2, 1, 1)  # version
        b.PrependInt32Slot(3, builtin, 0)  # builtin_code
        codes.append(b.EndObject())

    # tensors: n + 1 activations of shape [1, 4] (tensor 1 holds the weights)
    n = len(ops)
    tensors = []
    for i in range(n + 1):
        tname = b.CreateString(f"t{i}")
        shape = int_vector(b, [1, 4])
        b.StartObject(10)
        b.PrependUOffsetTRelativeSlot(0, shape, 0)
        b.PrependInt8Slot(1, FLOAT32, 0)
        b.PrependUint32Slot(2, 1 if i == 1 and n > 1 else 0, 0)
        b.PrependUOffsetTRelativeSlot(3, tname, 0)
        tensors.append(b.EndObject())

    operators = []
    for i, (_builtin, custom) in enumerate(ops):
        ins = int_vector(b, [i, 1] if i == 0 and n > 1 else [i])
        outs = int_vector(b, [i + 1])
        opts = None
        if custom is not None:
            opts = aligned_bytes(b, custom_options.get(custom) or flex_options(custom[4:] if custom.startswith("Flex") else custom, {}), 4)
        b.StartObject(13)
        b.PrependUint32Slot(0, i, 0)
        b.PrependUOffsetTRelativeSlot(1, ins, 0)
        b.PrependUOffsetTRelativeSlot(2, outs, 0)
        if opts is not None:
            b.PrependUOffsetTRelativeSlot(5, opts, 0)
        operators.append(b.EndObject())

    sg_name = b.CreateString("main")
    t_vec = offset_vector(b, tensors)
    in_vec = int_vector(b, [0])
    out_vec = int_vector(b, [n])
    op_vec = offset_vector(b, operators)
    b.StartObject(5)
    b.PrependUOffsetTRelativeSlot(0, t_vec, 0)
    b.PrependUOffsetTRelativeSlot(1, in_vec, 0)
    b.PrependUOffsetTRelativeSlot(2, out_vec, 0)
    b.PrependUOffsetTRelativeSlot(3, op_vec, 0)
    b.PrependUOffsetTRelativeSlot(4, sg_name, 0)
    subgraph = b.EndObject()

    metas = []
    if metadata:
        for name, index in (("min_runtime_version", 2), ("sample_metadata", 3)):
            s = b.CreateString(name)
            b.StartObject(2)
            b.PrependUOffsetTRelativeSlot(0, s, 0)
            b.PrependUint32Slot(1, index, 0)
            metas.append(b.EndObject())

    # one signature "serving_default" over subgraph 0
    def tensor_map(name, index):
        s = b.CreateString(name)
        b.StartObject(2)
        b.PrependUOffsetTRelativeSlot(0, s, 0)
        b.PrependUint32Slot(1, index, 0)
        return b.EndObject()

    sig_in = offset_vector(b, [tensor_map("input", 0)])
    sig_out = offset_vector(b, [tensor_map("output", n)])
    sig_key = b.CreateString("serving_default")
    b.StartObject(5)
    b.PrependUOffsetTRelativeSlot(0, sig_in, 0)
    b.PrependUOffsetTRelativeSlot(1, sig_out, 0)
    b.PrependUOffsetTRelativeSlot(2, sig_key, 0)
    b.PrependUint32Slot(4, 0, 0)
    signature = b.EndObject()

    codes_vec = offset_vector(b, codes)
    sg_vec = offset_vector(b, [subgraph])
    desc = b.CreateString(description)
    buf_vec = offset_vector(b, buffers)
    meta_vec = offset_vector(b, metas) if metas else None
    sig_vec = offset_vector(b, [signature])
    b.StartObject(8)
    b.PrependUint32Slot(0, 3, 0)  # schema version 3
    b.PrependUOffsetTRelativeSlot(1, codes_vec, 0)
    b.PrependUOffsetTRelativeSlot(2, sg_vec, 0)
    b.PrependUOffsetTRelativeSlot(3, desc, 0)
    b.PrependUOffsetTRelativeSlot(4, buf_vec, 0)
    if meta_vec is not None:
        b.PrependUOffsetTRelativeSlot(6, meta_vec, 0)
    b.PrependUOffsetTRelativeSlot(7, sig_vec, 0)
    model = b.EndObject()
    b.Finish(model, file_identifier=b"TFL3")
    return bytes(b.Output())


# ---------------------------------------------------------------------------------------------
# ExecuTorch (program.fbs field order, pte-file-format.md headers)

TENSOR_EVALUE = 5
INT_EVALUE = 2
KERNEL_CALL = 1
DELEGATE_CALL = 2
SEGMENT_ALIGNMENT = 64


def pte_program(operators, delegates, *, blob_in_segment=True):
    """operators: [(name, overload)]; delegates: [(id, blob bytes)]."""
    b = flatbuffers.Builder(1024)

    def string(s):
        return b.CreateString(s)

    # values: three [2, 2] float tensors and an int
    values = []
    for _ in range(3):
        sizes = int_vector(b, [2, 2])
        dim_order = int_vector(b, [0, 1], size=1)
        b.StartObject(10)
        b.PrependInt8Slot(0, 6, 0)  # scalar_type FLOAT
        b.PrependUOffsetTRelativeSlot(2, sizes, 0)
        b.PrependUOffsetTRelativeSlot(3, dim_order, 0)
        tensor = b.EndObject()
        b.StartObject(2)
        b.PrependUint8Slot(0, TENSOR_EVALUE, 0)
        b.PrependUOffsetTRelativeSlot(1, tensor, 0)
        values.append(b.EndObject())
    b.StartObject(1)
    b.PrependInt64Slot(0, 1, 0)
    int_val = b.EndObject()
    b.StartObject(2)
    b.PrependUint8Slot(0, INT_EVALUE, 0)
    b.PrependUOffsetTRelativeSlot(1, int_val, 0)
    values.append(b.EndObject())

    ops = []
    for name, overload in operators:
        n, o = string(name), string(overload)
        b.StartObject(2)
        b.PrependUOffsetTRelativeSlot(0, n, 0)
        b.PrependUOffsetTRelativeSlot(1, o, 0)
        ops.append(b.EndObject())

    inline_blobs = []
    segment_blobs = []
    dels = []
    for backend, blob in delegates:
        if blob_in_segment:
            location, index = 1, len(segment_blobs)
            segment_blobs.append(blob)
        else:
            location, index = 0, len(inline_blobs)
            inline_blobs.append(blob)
        key = string("compile_spec_demo")
        val = int_vector(b, [1], size=1)
        b.StartObject(2)
        b.PrependUOffsetTRelativeSlot(0, key, 0)
        b.PrependUOffsetTRelativeSlot(1, val, 0)
        spec = b.EndObject()
        b.StartObject(2)
        b.PrependInt8Slot(0, location, 0)
        b.PrependUint32Slot(1, index, 0)
        ref = b.EndObject()
        ident = string(backend)
        specs = offset_vector(b, [spec])
        b.StartObject(3)
        b.PrependUOffsetTRelativeSlot(0, ident, 0)
        b.PrependUOffsetTRelativeSlot(1, ref, 0)
        b.PrependUOffsetTRelativeSlot(2, specs, 0)
        dels.append(b.EndObject())

    # one chain: a kernel call per operator, then a delegate call per delegate
    instructions = []
    for i in range(len(operators)):
        args = int_vector(b, [0, 1, 2])
        b.StartObject(2)
        b.PrependInt32Slot(0, i, 0)
        b.PrependUOffsetTRelativeSlot(1, args, 0)
        call = b.EndObject()
        b.StartObject(2)
        b.PrependUint8Slot(0, KERNEL_CALL, 0)
        b.PrependUOffsetTRelativeSlot(1, call, 0)
        instructions.append(b.EndObject())
    for i in range(len(delegates)):
        args = int_vector(b, [2, 0])
        b.StartObject(2)
        b.PrependInt32Slot(0, i, 0)
        b.PrependUOffsetTRelativeSlot(1, args, 0)
        call = b.EndObject()
        b.StartObject(2)
        b.PrependUint8Slot(0, DELEGATE_CALL, 0)
        b.PrependUOffsetTRelativeSlot(1, call, 0)
        instructions.append(b.EndObject())
    c_in = int_vector(b, [0])
    c_out = int_vector(b, [2])
    c_ins = offset_vector(b, instructions)
    b.StartObject(4)
    b.PrependUOffsetTRelativeSlot(0, c_in, 0)
    b.PrependUOffsetTRelativeSlot(1, c_out, 0)
    b.PrependUOffsetTRelativeSlot(2, c_ins, 0)
    chain = b.EndObject()

    plan_name = string("forward")
    v_vec = offset_vector(b, values)
    p_in = int_vector(b, [0])
    p_out = int_vector(b, [2])
    chains = offset_vector(b, [chain])
    op_vec = offset_vector(b, ops)
    del_vec = offset_vector(b, dels)
    sizes = int_vector(b, [0, 64], size=8)
    b.StartObject(9)
    b.PrependUOffsetTRelativeSlot(0, plan_name, 0)
    b.PrependUOffsetTRelativeSlot(2, v_vec, 0)
    b.PrependUOffsetTRelativeSlot(3, p_in, 0)
    b.PrependUOffsetTRelativeSlot(4, p_out, 0)
    b.PrependUOffsetTRelativeSlot(5, chains, 0)
    b.PrependUOffsetTRelativeSlot(6, op_vec, 0)
    b.PrependUOffsetTRelativeSlot(7, del_vec, 0)
    b.PrependUOffsetTRelativeSlot(8, sizes, 0)
    plan = b.EndObject()

    inline_tables = []
    for blob in inline_blobs:
        data = aligned_bytes(b, blob)
        b.StartObject(1)
        b.PrependUOffsetTRelativeSlot(0, data, 0)
        inline_tables.append(b.EndObject())
    # segment offsets relative to the segment base, each aligned
    segments = []
    at = 0
    for blob in segment_blobs:
        b.StartObject(2)
        b.PrependUint64Slot(0, at, 0)
        b.PrependUint64Slot(1, len(blob), 0)
        segments.append(b.EndObject())
        at += (len(blob) + SEGMENT_ALIGNMENT - 1) // SEGMENT_ALIGNMENT * SEGMENT_ALIGNMENT
    # constant buffer 0 is the reserved empty entry
    b.StartObject(1)
    empty_buffer = b.EndObject()

    plans = offset_vector(b, [plan])
    cbuf = offset_vector(b, [empty_buffer])
    inl = offset_vector(b, inline_tables)
    segs = offset_vector(b, segments)
    b.StartObject(7)
    b.PrependUint32Slot(0, 0, 0)
    b.PrependUOffsetTRelativeSlot(1, plans, 0)
    b.PrependUOffsetTRelativeSlot(2, cbuf, 0)
    b.PrependUOffsetTRelativeSlot(3, inl, 0)
    b.PrependUOffsetTRelativeSlot(4, segs, 0)
    program = b.EndObject()
    b.Finish(program, file_identifier=b"ET12")
    flat = bytes(b.Output())

    # insert the 32-byte extended header after the identifier (keeps 16-byte alignment of what
    # follows) and move the root offset accordingly
    header_len = 32
    program_size = len(flat) + header_len
    segment_base = 0
    if segment_blobs:
        segment_base = (program_size + SEGMENT_ALIGNMENT - 1) // SEGMENT_ALIGNMENT * SEGMENT_ALIGNMENT
    segment_data = b"".join(blob.ljust((len(blob) + SEGMENT_ALIGNMENT - 1) // SEGMENT_ALIGNMENT * SEGMENT_ALIGNMENT, b"\0") for blob in segment_blobs)
    root = struct.unpack_from("<I", flat, 0)[0] + header_len
    header = b"eh00" + struct.pack("<IQQQ", header_len, program_size, segment_base, len(segment_data))
    out = struct.pack("<I", root) + flat[4:8] + header + flat[8:]
    if segment_blobs:
        out = out.ljust(segment_base, b"\0") + segment_data
    return out


def xnnpack_like_blob():
    # a stand-in for an XNNPACK payload: the XNNPACK header layout (4 padding bytes, "XN01", sizes),
    # with no real graph behind it; the scanner treats delegate blobs as opaque data
    body = b"\0" * 32
    return b"\0\0\0\0XN01" + struct.pack("<HIIQQ", 32, 32, len(body), 64, 0)[:24] + body


# ---------------------------------------------------------------------------------------------


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    write(os.path.join(TFLITE, "clean", "add_conv.tflite"), tflite_model([(0, None), (3, None)]))
    write(
        os.path.join(TFLITE, "clean", "detection_postprocess.tflite"),
        tflite_model([(3, None), (CUSTOM, "TFLite_Detection_PostProcess")]),
    )
    write(
        os.path.join(TFLITE, "suspicious", "custom_op.tflite"),
        tflite_model([(0, None), (CUSTOM, "AcmeFusedKernel")]),
    )
    write(
        os.path.join(TFLITE, "suspicious", "flex_op.tflite"),
        tflite_model([(0, None), (CUSTOM, "FlexRoll")]),
    )
    write(
        os.path.join(TFLITE, "malicious", "flex_read_write_file.tflite"),
        tflite_model([(CUSTOM, "FlexReadFile"), (CUSTOM, "FlexWriteFile")]),
    )
    write(
        os.path.join(TFLITE, "malicious", "flex_pyfunc.tflite"),
        tflite_model([(CUSTOM, "FlexPyFunc"), (CUSTOM, "FlexEagerPyFunc")]),
    )
    write(
        os.path.join(TFLITE, "malicious", "flex_print_to_file.tflite"),
        tflite_model(
            [(0, None), (CUSTOM, "FlexPrintV2")],
            custom_options={"FlexPrintV2": flex_options("PrintV2", {"output_stream": "file:///tmp/modelgate-demo.txt"})},
        ),
    )

    write(
        os.path.join(PTE, "clean", "add_mul_xnnpack.pte"),
        pte_program([("aten::add", "out"), ("aten::mul", "out")], [("XnnpackBackend", xnnpack_like_blob())]),
    )
    write(
        os.path.join(PTE, "suspicious", "unknown_delegate.pte"),
        pte_program(
            [("aten::add", "out"), ("acme::fused_gelu", "out")],
            [("AcmeTurboBackend", b"ACME" + b"\x01" * 60)],
            blob_in_segment=False,
        ),
    )


if __name__ == "__main__":
    main()
