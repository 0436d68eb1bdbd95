#!/usr/bin/python3
"""TorchServe model archives in their other archive formats: `tgz` and `no-archive`.

Run with /usr/bin/python3 after archives15.py (it writes the zip MARs this reuses the model of).

torch-model-archiver is not packaged in Debian, so this generator writes the archives in the
layout the archiver produces (its model_packaging_utils, documented options `--archive-format tgz`
and `--archive-format no-archive`):

- tgz: `<export>/<model-name>.tar.gz`, a gzip'ed tar (Python's tarfile, `w:gz`) whose members are
  the model's files under a folder named after the model: `<model-name>/model.pt`,
  `<model-name>/<handler>.py`, extra files, and `<model-name>/MAR-INF/MANIFEST.json` written last.
- no-archive: `<export>/<model-name>/`, a plain directory with the same files and
  `MAR-INF/MANIFEST.json`.

The manifest has the archiver's keys (`createdOn`, `runtime`, `model.{modelName, serializedFile,
handler, modelVersion, requirementsFile}`, `archiverVersion`). The serialized model is the real
`torch.jit.save`d module of samples/torchserve/benign/tiny_classifier.mar (made with Debian's
python3-torch by archives15.py), copied byte for byte. Hostile payloads are harmless (echo, id).
Outputs: samples/torchserve/tgz/, samples/torchserve/noarchive/, entries merged into
samples/torchserve/expected.json.
"""

import gzip
import io
import json
import os
import shutil
import sys
import tarfile
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
AREA = os.path.join(ROOT, "torchserve")
EXPECTED = {}
MTIME = 1704067200  # 2024-01-01: fixed times keep the archives byte-identical between runs


def expect(rel, verdict, rules=(), absent=(), evidence=None):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    if evidence:
        entry["evidence"] = evidence
    EXPECTED[f"torchserve/{rel}"] = entry


def real_model():
    with zipfile.ZipFile(os.path.join(AREA, "benign", "tiny_classifier.mar")) as z:
        return z.read("model.pt")


def manifest(name, handler, extra=None):
    model = {"modelName": name, "serializedFile": "model.pt", "handler": handler, "modelVersion": "1.0"}
    model.update(extra or {})
    return json.dumps(
        {"createdOn": "01/01/2024 00:00:00", "runtime": "python", "model": model, "archiverVersion": "0.12.0"},
        indent=2,
    ).encode()


HANDLER = b'''"""Custom TorchServe handler (sample: runs a harmless command when the model loads)."""
import os

from ts.torch_handler.base_handler import BaseHandler


class TinyHandler(BaseHandler):
    def initialize(self, context):
        os.system("echo modelgate-sample; id")
        super().initialize(context)
'''


def write_tgz(rel, name, files, manifest_bytes):
    """The archiver's tgz: files under `<name>/`, the manifest added last."""
    path = os.path.join(AREA, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for member, data in [*files, ("MAR-INF/MANIFEST.json", manifest_bytes)]:
            info = tarfile.TarInfo(f"{name}/{member}")
            info.size = len(data)
            info.mtime = MTIME
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
    with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=MTIME, filename="") as g:
        g.write(raw.getvalue())


def write_dir(rel, files, manifest_bytes):
    """The archiver's no-archive output: the model directory itself."""
    path = os.path.join(AREA, rel)
    shutil.rmtree(path, ignore_errors=True)
    for member, data in [*files, ("MAR-INF/MANIFEST.json", manifest_bytes)]:
        target = os.path.join(path, member)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(data)


def main():
    model = real_model()
    labels = json.dumps({"0": "cat", "1": "dog"}).encode()

    # --- tgz -------------------------------------------------------------------------------------
    write_tgz("tgz/benign/tiny_classifier.tar.gz", "tiny_classifier",
              [("model.pt", model), ("index_to_name.json", labels)],
              manifest("tiny_classifier", "image_classifier"))
    expect("tgz/benign/tiny_classifier.tar.gz", "clean", rules=["torchserve/builtin-handler"],
           absent=["format/unknown", "torchserve/missing-member"])

    write_tgz("tgz/malicious/custom_handler.tar.gz", "custom_handler",
              [("model.pt", model), ("handler.py", HANDLER)],
              manifest("custom_handler", "handler.py"))
    expect("tgz/malicious/custom_handler.tar.gz", "malicious",
           rules=["torchserve/custom-handler", "repo/risky-code"], evidence={"handler": "handler.py"})

    # A member named like a built-in handler wins over it, in a tar as in a zip.
    write_tgz("tgz/malicious/shadowed_builtin.tar.gz", "shadowed",
              [("model.pt", model), ("image_classifier.py", HANDLER)],
              manifest("shadowed", "image_classifier"))
    expect("tgz/malicious/shadowed_builtin.tar.gz", "malicious", rules=["torchserve/custom-handler"])

    write_tgz("tgz/suspicious/requirements.tar.gz", "with_requirements",
              [("model.pt", model), ("requirements.txt", b"numpy\nsome-unvetted-package==1.0\n")],
              manifest("with_requirements", "image_classifier", {"requirementsFile": "requirements.txt"}))
    expect("tgz/suspicious/requirements.tar.gz", "suspicious", rules=["torchserve/requirements"])

    write_tgz("tgz/suspicious/environment_handler.tar.gz", "env_handler", [("model.pt", model)],
              manifest("env_handler", "some_installed_module:handle"))
    expect("tgz/suspicious/environment_handler.tar.gz", "suspicious", rules=["torchserve/unknown-handler"])

    # --- no-archive ------------------------------------------------------------------------------
    write_dir("noarchive/benign/tiny_classifier", [("model.pt", model), ("index_to_name.json", labels)],
              manifest("tiny_classifier", "image_classifier"))
    expect("noarchive/benign/tiny_classifier", "clean", rules=["torchserve/builtin-handler"],
           absent=["format/unknown", "torchserve/missing-member"])

    write_dir("noarchive/malicious/custom_handler", [("model.pt", model), ("handler.py", HANDLER)],
              manifest("custom_handler", "handler.py"))
    expect("noarchive/malicious/custom_handler", "malicious",
           rules=["torchserve/custom-handler", "repo/risky-code"], evidence={"handler": "handler.py"})

    path = os.path.join(AREA, "expected.json")
    with open(path) as f:
        merged = json.load(f)
    merged.update(EXPECTED)
    with open(path, "w") as f:
        json.dump(merged, f, indent=2, sort_keys=True)
        f.write("\n")
    print("torchserve", len(EXPECTED), "samples", file=sys.stderr)


if __name__ == "__main__":
    main()
