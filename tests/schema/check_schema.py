#!/usr/bin/env python3
"""Checks that schema/mdcctl.schema.json and `mdcctl validate` agree.

Every examples/*.yaml must be accepted by both; every tests/schema/invalid/*.yaml must be
rejected by both (the loader's first error is printed). The schema's plan table must list
exactly the catalogue's plans, sub-plans and extensions. Run from the project root:
    python3 tests/schema/check_schema.py build/cmd/mdcctl
"""
import glob
import json
import subprocess
import sys

import jsonschema
import yaml

passed = failed = 0


def result(ok, name, detail=""):
    global passed, failed
    print(("ok   " if ok else "FAIL ") + name + (": " + detail if detail else ""))
    if ok:
        passed += 1
    else:
        failed += 1


def loader(mdcctl, path):
    p = subprocess.run([mdcctl, "validate", "-f", path], capture_output=True, text=True)
    return p.returncode, p.stderr.strip()


def main():
    mdcctl = sys.argv[1]
    schema = json.load(open("schema/mdcctl.schema.json"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)

    for path in sorted(glob.glob("examples/*.yaml")):
        with open(path) as f:
            first = f.readline().strip()
            doc = yaml.safe_load(open(path))
        result(first == "# yaml-language-server: $schema=../schema/mdcctl.schema.json",
               path + " names the schema for editors", first)
        errs = [e.message for e in validator.iter_errors(doc)]
        result(not errs, path + " valid for the schema", "; ".join(errs))
        rc, err = loader(mdcctl, path)
        result(rc == 0, path + " valid for mdcctl", err)

    invalid = sorted(glob.glob("tests/schema/invalid/*.yaml"))
    result(len(invalid) >= 5, "at least five invalid documents", str(len(invalid)))
    for path in invalid:
        doc = yaml.safe_load(open(path))
        errs = list(validator.iter_errors(doc))
        result(bool(errs), path + " rejected by the schema",
               errs[0].message if errs else "accepted")
        rc, err = loader(mdcctl, path)
        result(rc == 1, path + " rejected by mdcctl", err.splitlines()[0] if err else "accepted")

    cat = json.load(open("schema/catalog.json"))
    table = schema["$defs"]["plans"]["properties"]
    result(sorted(table) == sorted(p["name"] for p in cat["plans"]),
           "schema plans = catalogue plans")
    for p in cat["plans"]:
        if p.get("deprecated"):
            continue
        obj = table[p["name"]]["oneOf"][1]["properties"]
        result(obj.get("subPlan", {}).get("enum", []) == p.get("subPlans", []),
               p["name"] + " sub-plans agree")
        result(sorted(obj.get("extensions", {}).get("properties", {})) ==
               sorted(p.get("extensions", [])), p["name"] + " extensions agree")

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
