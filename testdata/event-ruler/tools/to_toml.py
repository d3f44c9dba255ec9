#!/usr/bin/env python3
"""Writes harvest.py's cases as corpus files: one TOML file per event-ruler source, in OUT_DIR.

Usage: to_toml.py CASES_JSON DEPARTURES_TOML OUT_DIR

A case listed in DEPARTURES_TOML (by pattern and event) is written with trailbell's answer and a
comment that names event-ruler's answer and the reason: those are the documented departures.
"""
import collections
import json
import re
import sys
import tomllib


def toml_string(text):
    if "'''" not in text and not text.endswith("'") and not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text):
        return "'''" + text + "'''" if "\n" not in text[:1] else "'''\n" + text + "'''"
    return json.dumps(text, ensure_ascii=False)


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def file_of(origin):
    if origin.startswith("correctness-cases.json"):
        return "correctness_cases"
    if origin.endswith(".json"):
        return "test_data"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", origin.split(".")[0]).lower()


def main():
    cases_path, departures_path, out_dir = sys.argv[1:4]
    harvest = json.load(open(cases_path, encoding="utf-8"))
    with open(departures_path, "rb") as f:
        departures = {(d["pattern"], d.get("event")): d for d in tomllib.load(f).get("departure", [])}
    files, seen, used = collections.defaultdict(list), set(), set()
    for case in harvest["cases"]:
        key = (case["pattern"], case.get("event"))
        if key in seen:
            continue
        seen.add(key)
        files[file_of(case["origin"])].append(case)
    for stem, cases in sorted(files.items()):
        out = [f"# Harvested from aws/event-ruler {harvest['commit']} (Apache-2.0) by tools/harvest.py;",
               "# expected answers are event-ruler's own. See README.md. Do not edit by hand.", ""]
        for n, case in enumerate(cases, 1):
            key = (case["pattern"], case.get("event"))
            name = f"er-{slug(stem)}-{n}"
            out.append("[[case]]")
            out.append(f"# from {case['origin']}")
            departure = departures.get(key)
            if departure:
                used.add(key)
                said = f"refused ({case['refused']})" if "refused" in case else f"matches = {str(case['matches']).lower()}"
                out.append(f"# event-ruler: {said}; trailbell departs: {departure['reason']}")
            out.append(f"name = \"{name}\"")
            out.append(f"pattern = {toml_string(case['pattern'])}")
            refused = "refused" in case
            if departure:
                refused = departure["trailbell"] == "refused"
            if refused:
                if "refused" in case:
                    out.append(f"# event-ruler: {case['refused']}")
                out.append('error_path = "*"')
            else:
                out.append(f"event = {toml_string(case['event'])}")
                matches = case["matches"] if not departure else departure["trailbell"] == "matches"
                out.append(f"matches = {str(matches).lower()}")
            out.append("")
        with open(f"{out_dir}/{stem}.toml", "w", encoding="utf-8") as f:
            f.write("\n".join(out))
    unused = set(departures) - used
    if unused:
        sys.exit(f"departures that match no harvested case: {sorted(unused)}")


if __name__ == "__main__":
    main()
