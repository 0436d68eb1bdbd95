#!/usr/bin/python3
"""Writes samples/xml-encodings/: XML model documents (PMML, OpenVINO IR) in the encodings XML
parsers detect or are told (UTF-16 and UTF-32 with and without a byte order mark, UTF-8 with one,
ISO-8859-1 and windows-1252 by declaration, EBCDIC IBM037 and IBM500, which Xerces detects from the
bytes of `<?xm` and the JDK's DocumentBuilder reads). An external entity in a UTF-16 PMML was once scanned
`clean` (and the JDK parser fetched it): the detector stopped at the NUL bytes of UTF-16.

- xxe-*.pmml / xxe-*.xml: a PMML whose DOCTYPE declares `<!ENTITY x SYSTEM "http://127.0.0.1:8999/leak">`
  and references it (malicious: xml/external-entity);
- openvino-xxe-utf16.xml: samples/openvino/xxe.xml in UTF-16, the entity declared only (malicious);
- tree-*.pmml: samples/pmml/tree.pmml in each encoding, with a non-ASCII description (must stay clean).

Encoded with Python's codecs; each document Python's expat reads (UTF-8, UTF-16, ISO-8859-1,
windows-1252) is parsed with xml.dom.minidom here, and the UTF-32 and EBCDIC ones are checked to decode.
Run from the repository root with /usr/bin/python3.
"""
import codecs
import json
import os
import shutil
import xml.dom.minidom

OUT = os.path.join("samples", "xml-encodings")
expected = {}

with open(os.path.join("samples", "pmml", "tree.pmml"), encoding="utf-8") as f:
    TREE = f.read().split("\n", 1)[1].replace("Iris decision tree", "Iris décision tree")
with open(os.path.join("samples", "openvino", "xxe.xml"), encoding="utf-8") as f:
    # the entity is declared, not referenced: an external entity in an attribute is not well-formed
    IR_XXE = f.read().split("\n", 1)[1].replace('name="&x;"', 'name="model"')
XXE = (
    '<!DOCTYPE PMML [<!ENTITY x SYSTEM "http://127.0.0.1:8999/leak">]>\n'
    '<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header><Annotation>&x;</Annotation></Header>'
    '<DataDictionary numberOfFields="0"/><TreeModel functionName="classification"><MiningSchema/>'
    '<Node score="a"><True/></Node></TreeModel></PMML>\n'
)

# name: (python codec, declared encoding, byte order mark written here)
ENCODINGS = {
    "utf16": ("utf-16-le", "UTF-16", codecs.BOM_UTF16_LE),
    "utf16be": ("utf-16-be", "UTF-16", codecs.BOM_UTF16_BE),
    "utf16le-nobom": ("utf-16-le", "UTF-16", b""),
    "utf16be-nobom": ("utf-16-be", "UTF-16", b""),
    "utf32": ("utf-32-le", "UTF-32", codecs.BOM_UTF32_LE),
    "utf32be-nobom": ("utf-32-be", "UTF-32", b""),
    "utf8-bom": ("utf-8", "UTF-8", codecs.BOM_UTF8),
    "latin1": ("latin-1", "ISO-8859-1", b""),
    "cp1252": ("cp1252", "windows-1252", b""),
    "ebcdic037": ("cp037", "IBM037", b""),
    "ebcdic500": ("cp500", "IBM500", b""),
}
EXPAT = {"utf-16-le", "utf-16-be", "utf-8", "latin-1", "cp1252"}


def write(name, text, codec, declared, bom):
    data = bom + f'<?xml version="1.0" encoding="{declared}"?>\n{text}'.encode(codec)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    if codec in EXPAT:
        xml.dom.minidom.parseString(data)
    assert data[len(bom):].decode(codec).startswith("<?xml"), name


def expect(name, verdict, rules=()):
    entry = {"verdict": verdict}
    if rules:
        entry["rules"] = list(rules)
    expected[f"xml-encodings/{name}"] = entry


if os.path.isdir(OUT):
    shutil.rmtree(OUT)
os.makedirs(OUT)

for case, (codec, declared, bom) in ENCODINGS.items():
    write(f"tree-{case}.pmml", TREE, codec, declared, bom)
    expect(f"tree-{case}.pmml", "clean")
    if case in ("utf16", "utf16be-nobom", "utf32", "latin1", "ebcdic037"):
        for ext in ("pmml", "xml"):
            write(f"xxe-{case}.{ext}", XXE, codec, declared, bom)
            expect(f"xxe-{case}.{ext}", "malicious", ["xml/external-entity"])

write("openvino-xxe-utf16.xml", IR_XXE, "utf-16-le", "UTF-16", codecs.BOM_UTF16_LE)
expect("openvino-xxe-utf16.xml", "malicious", ["xml/external-entity"])

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
