#!/usr/bin/python3
"""Images, audio and SVG as model repositories carry them, plus hostile variants.

Benign files are made by the real tools: Pillow (PNG, JPEG, GIF, WebP), Python's `wave` (WAV),
`flac`, `oggenc` (vorbis-tools) and `lame` (Debian packages), matplotlib (SVG), sentencepiece
(a real `tokenizer.model` for the repository tree). Hostile variants are those files cut short,
with bytes appended (a pickle, a zip), or an SVG with a script; payloads are harmless (`echo`).

Writes samples/media/ and samples/media/expected.json. Run with /usr/bin/python3.
"""

import io
import json
import math
import os
import pickle
import shutil
import struct
import subprocess
import tempfile
import wave
import zipfile

from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "media")
EXPECTED = {}


def path(rel):
    p = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def write(rel, data):
    with open(path(rel), "wb") as f:
        f.write(data)


def read(rel):
    with open(path(rel), "rb") as f:
        return f.read()


def expect(rel, verdict, rules=(), absent=()):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    if absent:
        entry["absentRules"] = list(absent)
    EXPECTED["media/" + rel] = entry


def image(mode="RGB", size=(24, 16)):
    img = Image.new(mode, size)
    w, h = size
    for y in range(h):
        for x in range(w):
            v = (x * 255 // max(1, w - 1), y * 255 // max(1, h - 1), (x ^ y) * 16 % 256)
            img.putpixel((x, y), v if mode == "RGB" else (*v, 200) if mode == "RGBA" else v[0])
    return img


def saved(img, fmt, **options):
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def pcm(seconds=0.05, rate=8000, hz=440):
    n = int(seconds * rate)
    return b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / rate))) for i in range(n))


def tool(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if os.path.isdir(OUT):
    shutil.rmtree(OUT)
os.makedirs(OUT)

CLEAN = ("media/trailing-data", "format/unknown", "format/malformed", "format/extension-mismatch")

# ---------------------------------------------------------------- benign images (Pillow)
write("clean/gradient.png", saved(image(), "PNG"))
write("clean/palette.png", saved(image().convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "PNG"))
write("clean/alpha-interlaced.png", saved(image("RGBA"), "PNG", interlace=1))
write("clean/photo.jpg", saved(image(), "JPEG", quality=85))
write("clean/progressive.jpeg", saved(image(), "JPEG", quality=70, progressive=True, optimize=True))
frames = [image(), image().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
write("clean/animated.gif", saved(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0))
write("clean/lossy.webp", saved(image(), "WEBP", quality=80))
write("clean/lossless.webp", saved(image("RGBA"), "WEBP", lossless=True))
# a JPEG saved under .png (common, harmless): no mismatch between image extensions
write("clean/actually-jpeg.png", saved(image(), "JPEG"))

# ---------------------------------------------------------------- benign audio
with wave.open(path("clean/tone.wav"), "wb") as wav:
    wav.setnchannels(1)
    wav.setsampwidth(2)
    wav.setframerate(8000)
    wav.writeframes(pcm())
with tempfile.TemporaryDirectory() as work:
    src = os.path.join(work, "tone.wav")
    shutil.copy(path("clean/tone.wav"), src)
    tool("flac", "--silent", "--best", "-f", "-o", os.path.join(work, "tone.flac"), src)
    tool("oggenc", "--quiet", "--serial", "1", "-q", "1", "-o", os.path.join(work, "tone.ogg"), src)
    tool("lame", "--quiet", "-b", "32", src, os.path.join(work, "tone.mp3"))
    tool("lame", "--quiet", "-b", "32", "--add-id3v2", "--tt", "tone", "--ta", "modelgate", src,
         os.path.join(work, "tagged.mp3"))
    for name in ("tone.flac", "tone.ogg", "tone.mp3", "tagged.mp3"):
        shutil.copy(os.path.join(work, name), path("clean/" + name))

# ---------------------------------------------------------------- benign SVG (matplotlib)
import matplotlib  # noqa: E402

matplotlib.use("svg")
matplotlib.rcParams["svg.hashsalt"] = "modelgate"
matplotlib.rcParams["svg.fonttype"] = "none"
import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(2, 1.5))
ax.plot([0, 1, 2, 3], [0.9, 0.5, 0.3, 0.2])
ax.set_title("loss")
buf = io.BytesIO()
fig.savefig(buf, format="svg", metadata={"Date": None})
write("clean/loss.svg", buf.getvalue())

for rel in sorted(os.listdir(OUT + "/clean")):
    expect("clean/" + rel, "clean", absent=CLEAN + ("media/svg-script",))

# ---------------------------------------------------------------- a model repository tree
# What a Hugging Face repository carries besides weights: none of it may raise an alarm.
REPO = "hf-repo"
import sentencepiece as spm  # noqa: E402

with tempfile.TemporaryDirectory() as work:
    corpus = os.path.join(work, "corpus.txt")
    with open(corpus, "w") as f:
        for i in range(200):
            f.write(f"the model reads token {i} and the image shows a cat number {i % 7}\n")
    spm.SentencePieceTrainer.train(input=corpus, model_prefix=os.path.join(work, "sp"), vocab_size=60,
                                   model_type="unigram", minloglevel=2,
                                   normalization_rule_name="identity")
    shutil.copy(os.path.join(work, "sp.model"), path(f"{REPO}/tokenizer.model"))
write(f"{REPO}/.gitattributes", b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
      b"*.png filter=lfs diff=lfs merge=lfs -text\ntokenizer.model filter=lfs diff=lfs merge=lfs -text\n")
write(f"{REPO}/README.md", b"---\nlicense: mit\n---\n# tiny\n\n![architecture](assets/architecture.png)\n")
write(f"{REPO}/vocab.txt", b"[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\nmodel\ncat\n")
write(f"{REPO}/merges.txt", b"#version: 0.2\nt h\nth e\nm o\nmo del\n")
write(f"{REPO}/config.json", json.dumps({"architectures": ["BertModel"], "model_type": "bert",
                                          "hidden_size": 8}, indent=2).encode())
write(f"{REPO}/tokenizer_config.json", json.dumps({"model_max_length": 512, "do_lower_case": True}).encode())
write(f"{REPO}/special_tokens_map.json", json.dumps({"unk_token": "[UNK]", "pad_token": "[PAD]"}).encode())
shutil.copy(path("clean/gradient.png"), path(f"{REPO}/assets/architecture.png"))
shutil.copy(path("clean/photo.jpg"), path(f"{REPO}/assets/example.jpg"))
shutil.copy(path("clean/tone.flac"), path(f"{REPO}/assets/sample.flac"))
shutil.copy(path("clean/loss.svg"), path(f"{REPO}/assets/loss.svg"))
EXPECTED[f"media/{REPO}"] = {"verdict": "clean"}


# ---------------------------------------------------------------- hostile
class Payload:
    def __reduce__(self):
        return (os.system, ("echo modelgate-media-sample",))


PICKLE = pickle.dumps(Payload(), protocol=4)
png = read("clean/gradient.png")
jpg = read("clean/photo.jpg")

# cut inside the IDAT chunk / the entropy-coded data / the GIF blocks / the RIFF
write("hostile/truncated.png", png[: len(png) - 30])
expect("hostile/truncated.png", "invalid", ["format/malformed"])
write("hostile/truncated.jpg", jpg[: len(jpg) // 2])
expect("hostile/truncated.jpg", "invalid", ["format/malformed"])
gif = read("clean/animated.gif")
write("hostile/truncated.gif", gif[: len(gif) - 40])
expect("hostile/truncated.gif", "invalid", ["format/malformed"])
wav = read("clean/tone.wav")
write("hostile/truncated.wav", wav[: len(wav) - 100])
expect("hostile/truncated.wav", "invalid", ["format/malformed"])
# a chunk type that is not four letters after IHDR
bad = bytearray(png)
bad[33 + 4 : 33 + 8] = b"\x00\x01\x02\x03"
write("hostile/bad-chunk.png", bytes(bad))
expect("hostile/bad-chunk.png", "invalid", ["format/malformed"])

# a pickle behind IEND: viewers show the image, the tail is a pickle that calls os.system
write("hostile/pickle-after-iend.png", png + PICKLE)
expect("hostile/pickle-after-iend.png", "malicious", ["media/trailing-data", "pickle/dangerous-global"])
# a zip appended to a PNG (found by its end-of-central-directory record): both readings analysed
zbuf = io.BytesIO()
with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_STORED) as z:
    zi = zipfile.ZipInfo("payload.pkl", date_time=(2024, 1, 1, 0, 0, 0))
    z.writestr(zi, PICKLE)
write("hostile/zip-after-iend.png", png + zbuf.getvalue())
expect("hostile/zip-after-iend.png", "malicious", ["format/polyglot", "media/trailing-data", "pickle/dangerous-global"])
# unexplained bytes after a JPEG's EOI
write("hostile/junk-after-eoi.jpg", jpg + bytes(range(256)) * 4)
expect("hostile/junk-after-eoi.jpg", "suspicious", ["media/trailing-data"])
# a pickle under an image name
write("hostile/pickle-named.png", PICKLE)
expect("hostile/pickle-named.png", "malicious", ["pickle/dangerous-global", "format/extension-mismatch"])

# SVGs with active content (what a browser would run when a model card shows them)
SVG_SCRIPT = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
              b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">\n'
              b'  <rect width="10" height="10" fill="red"/>\n'
              b'  <script type="text/javascript">console.log("modelgate-media-sample")</script>\n'
              b'</svg>\n')
write("hostile/script.svg", SVG_SCRIPT)
expect("hostile/script.svg", "suspicious", ["media/svg-script"])
SVG_ONLOAD = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
              b'onload="console.log(1)">\n'
              b'  <a xlink:href=" java&#x09;script:console.log(2)"><text y="9">x</text></a>\n'
              b'</svg>\n')
write("hostile/onload.svg", SVG_ONLOAD)
expect("hostile/onload.svg", "suspicious", ["media/svg-script"])
write("hostile/malformed.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>\n')
expect("hostile/malformed.svg", "invalid", ["xml/malformed"])

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(dict(sorted(EXPECTED.items())), f, indent=1)
    f.write("\n")
print(f"media: {len(EXPECTED)} expectations")
