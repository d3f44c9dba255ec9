#!/usr/bin/env python3
"""Harvests aws/event-ruler's test material into trailbell's corpus format, with event-ruler's answers.

Usage: harvest.py EVENT_RULER_GIT_DIR COMMIT ORACLE_COMMAND... > cases.json

Reads, at COMMIT: src/test/resources/correctness-cases.json, the rule/event pairs of src/test/data,
and every JSON text written as a Java string in src/test/**/*Test.java. Within one test method,
each text is tried as a pattern and every text that is not pattern-shaped as an event. The oracle
(tools/Oracle.java, event-ruler built from the same commit) gives each pattern's refusal or each
pair's match. Prints the cases as JSON; tools/to_toml.py writes the corpus files.
"""
import json
import re
import subprocess
import sys

PER_METHOD_PAIRS = 16


def git_show(git_dir, commit, path):
    return subprocess.run(["git", "-C", git_dir, "show", f"{commit}:{path}"],
                          check=True, capture_output=True).stdout.decode("utf-8")


def git_ls(git_dir, commit):
    out = subprocess.run(["git", "-C", git_dir, "ls-tree", "-r", "--name-only", commit],
                         check=True, capture_output=True).stdout.decode("utf-8")
    return out.split("\n")


def java_unescape(body):
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        n = body[i + 1]
        if n == "u":
            j = i + 1
            while body[j] == "u":
                j += 1
            out.append(chr(int(body[j:j + 4], 16)))
            i = j + 4
            continue
        out.append({"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0"}.get(n, n))
        i += 2
    return "".join(out)


LITERAL = r'"(?:[^"\\\n]|\\.)*"'
CONCAT = re.compile(rf'{LITERAL}(?:\s*\+\s*{LITERAL})*')
CONSTANT = re.compile(rf'static\s+final\s+String\s+(\w+)\s*=\s*({LITERAL}(?:\s*\+\s*{LITERAL})*)\s*;')
METHOD = re.compile(r'@Test[^\n]*\n\s*public\s+void\s+(\w+)\s*\(')


def concat_value(expr):
    return "".join(java_unescape(m[1:-1]) for m in re.findall(LITERAL, expr))


def json_object(text):
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def pattern_shaped(value):
    """Every leaf sits in an array or in a matcher object: what a pattern looks like."""
    if not isinstance(value, dict) or not value:
        return False
    for v in value.values():
        if isinstance(v, dict):
            if not pattern_shaped(v):
                return False
        elif not isinstance(v, list):
            return False
    return True


def looks_like_pattern_text(text):
    s = text.strip()
    return s.startswith("{") and ("[" in s or "{" in s[1:])


def methods(source):
    starts = [(m.start(), m.group(1)) for m in METHOD.finditer(source)]
    for k, (start, name) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(source)
        yield name, source[start:end]


def java_cases(git_dir, commit, path):
    source = git_show(git_dir, commit, path)
    constants = {name: concat_value(expr) for name, expr in CONSTANT.findall(source)}
    stem = path.rsplit("/", 1)[-1].removesuffix(".java")
    for name, body in methods(source):
        texts = [concat_value(m.group(0)) for m in CONCAT.finditer(body)]
        texts += [value for const, value in constants.items() if re.search(rf'\b{const}\b', body)]
        seen, patterns, events = set(), [], []
        for text in texts:
            if text in seen or not looks_like_pattern_text(text):
                continue
            seen.add(text)
            value = json_object(text)
            if value is None or pattern_shaped(value):
                patterns.append(text)
            else:
                events.append(text)
        yield f"{stem}.{name}", patterns, events


def main():
    git_dir, commit, oracle = sys.argv[1], sys.argv[2], sys.argv[3:]
    files = git_ls(git_dir, commit)
    requests = []  # (origin, pattern, event or None)

    for i, case in enumerate(json.loads(git_show(git_dir, commit, "src/test/resources/correctness-cases.json"))):
        requests.append((f"correctness-cases.json: {case['name']}", json.dumps(case["rule"]), json.dumps(case["event"])))
    for path in files:
        m = re.fullmatch(r"src/test/data/(\w*)Rule(\d*)\.json", path)
        event_path = m and f"src/test/data/{m.group(1)}Event{m.group(2)}.json"
        if m and event_path in files:
            requests.append((path.rsplit("/", 1)[-1], git_show(git_dir, commit, path), git_show(git_dir, commit, event_path)))
    for path in files:
        if not (path.startswith("src/test/") and path.endswith("Test.java")):
            continue
        for origin, patterns, events in java_cases(git_dir, commit, path):
            pairs = 0
            for pattern in patterns:
                requests.append((origin, pattern, None))
                for event in events:
                    if pairs < PER_METHOD_PAIRS:
                        requests.append((origin, pattern, event))
                        pairs += 1

    lines = "".join(json.dumps({"pattern": p, "event": e}) + "\n" for _, p, e in requests)
    answers = subprocess.run(oracle, input=lines.encode(), check=True, capture_output=True).stdout.decode().splitlines()
    assert len(answers) == len(requests), (len(answers), len(requests))
    cases = []
    for (origin, pattern, event), answer in zip(requests, answers):
        answer = json.loads(answer)
        if "refused" in answer:
            if event is None:
                cases.append({"origin": origin, "pattern": pattern, "refused": answer["refused"].split("\n")[0]})
        elif event is not None:
            cases.append({"origin": origin, "pattern": pattern, "event": event, "matches": answer["matches"]})
    json.dump({"commit": commit, "cases": cases}, sys.stdout, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
