#!/usr/bin/env python3
"""Extracts the schemas the k8s export's test validates against from the
kubernetes-validate wheel: the per-kind files unchanged, and the shared
_definitions.json cut down to the definitions those kinds reach.

    pip download --no-deps kubernetes-validate==1.37.0
    python3 extract.py kubernetes_validate-1.37.0-py3-none-any.whl v1.33.0-local-strict .
"""
import json
import sys
import zipfile

KINDS = ["namespace-v1", "configmap-v1", "service-v1", "pod-v1", "daemonset-apps-v1"]
PREFIX = "/api/_definitions.json#/$defs/"


def refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.add(v.rsplit("/", 1)[-1])
            else:
                refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


def main(wheel, version, dest):
    base = f"kubernetes_validate/kubernetes-json-schema/{version}/"
    z = zipfile.ZipFile(wheel)
    defs = json.loads(z.read(base + "_definitions.json"))
    todo = set()
    for kind in KINDS:
        text = z.read(base + kind + ".json")
        with open(f"{dest}/{kind}.json", "wb") as f:
            f.write(text)
        refs(json.loads(text), todo)
    keep = {}
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep[name] = defs["$defs"][name]
        found = set()
        refs(keep[name], found)
        todo |= found - keep.keys()
    cut = dict(defs)
    cut["$defs"] = {k: keep[k] for k in sorted(keep)}
    with open(f"{dest}/_definitions.json", "w") as f:
        json.dump(cut, f, indent=2, sort_keys=False)
        f.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
