"""Rule mutation testing: plant one plausible mistake in one rule at a time and check that a golden case sees it.

Mutations (each applied alone to the rule's YAML data): an operator swapped for its neighbour (ge->gt, eq->ne,
in->not-in, older-than->newer-than, true->false ...), a numeric threshold or duration moved past its boundary, one
member of an `all:`/`any:` removed, and a quantifier swapped (each->any, any->none). A mutant is *killed* when at
least one golden case of that rule changes outcome; a mutant that no longer loads is not counted. Survivors are
listed: each is either a missing golden case or an equivalent mutant to explain.

    python tools/mutate_rules.py [--rules SM-04-*] [--json] [--min-score 85]
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import json
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SWAPS = {"ge": "gt", "gt": "ge", "le": "lt", "lt": "le", "eq": "ne", "ne": "eq", "in": "not-in", "not-in": "in",
         "in-ci": "in", "older-than": "newer-than", "newer-than": "older-than", "true": "false", "false": "true",
         "present": "absent", "absent": "present", "contains-all": "contains"}
QUANTIFIERS = {"each": "any", "any": "none", "none": "any"}
DURATION = re.compile(r"^(\d+)\s*([mhdw])$")

Path_ = tuple[Any, ...]

# Mutants no golden case can kill because they change nothing observable, each with why; they are reported apart
# and not scored. Empty today: every mutant of every rule is killed (keep it so; a new entry needs a reason).
EQUIVALENT: dict[tuple[str, str], str] = {}


def _walk(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, (*path, i))


def _get(doc: Any, path: Path_) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _nudge(value: Any, up: bool) -> Any:
    """A threshold moved just past its boundary, both ways."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value + 1 if up else value - 1
    if isinstance(value, float):
        return round(value * (1.1 if up else 0.9), 6) if value else (0.1 if up else -0.1)
    if isinstance(value, str) and (m := DURATION.match(value.strip())):
        n = int(m[1])
        return f"{n * 7 if up else max(1, n // 2)}{m[2]}" if n > 1 or up else None
    return None


def mutants(rule: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(description, mutated rule) for every single mutation of the rule's logic and parameters."""
    for key in ("scope", "assert"):
        if key not in rule:
            continue
        for path, node in _walk(rule[key], (key,)):
            if isinstance(node, dict) and node.get("op") in SWAPS:
                m = copy.deepcopy(rule)
                _get(m, path)["op"] = SWAPS[node["op"]]
                yield f"{'/'.join(map(str, path))}: op {node['op']} -> {SWAPS[node['op']]}", m
            if isinstance(node, dict) and "value" in node and not isinstance(node["value"], dict):
                for up in (True, False):
                    new = _nudge(node["value"], up)
                    if new is not None:
                        m = copy.deepcopy(rule)
                        _get(m, path)["value"] = new
                        yield f"{'/'.join(map(str, path))}: value {node['value']!r} -> {new!r}", m
            if isinstance(node, dict):
                for q, other in QUANTIFIERS.items():
                    if q in node and "related" in node and other not in node:
                        m = copy.deepcopy(rule)
                        target = _get(m, path)
                        target[other] = target.pop(q)
                        yield f"{'/'.join(map(str, path))}: quantifier {q} -> {other}", m
            if isinstance(node, dict):
                for combo in ("all", "any"):
                    members = node.get(combo)
                    if isinstance(members, list) and len(members) > 1:
                        for i in range(len(members)):
                            m = copy.deepcopy(rule)
                            del _get(m, path)[combo][i]
                            yield f"{'/'.join(map(str, path))}/{combo}[{i}] removed", m
    for name, value in (rule.get("params") or {}).items():
        for up in (True, False):
            new = _nudge(value, up)
            if new is not None:
                m = copy.deepcopy(rule)
                m["params"][name] = new
                yield f"params/{name}: {value!r} -> {new!r}", m


def golden_cases() -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for f in sorted((ROOT / "tests" / "golden").glob("*.yaml")):
        doc = yaml.safe_load(f.read_text())
        out.setdefault(doc["rule"], []).extend(doc["cases"])
    return out


def outcomes(rule: Any, cases: list[dict[str, Any]]) -> list[dict[str, str]]:
    from auditor.engine.config import Config
    from auditor.engine.evaluator import evaluate_rules
    from tests.conftest import build_graph

    got = []
    for case in cases:
        config = Config()
        config.parameters = dict(case.get("parameters") or {})
        ev = evaluate_rules(build_graph(case), [rule], config)
        got.append({f.resource.arn: f.status.value for f in ev.findings})
    return got


def run(patterns: list[str]) -> dict[str, Any]:
    from auditor.engine.loader import RuleLoadError, load_rules

    cases = golden_cases()
    files = {r.id: r.source for r in load_rules()}
    report: dict[str, Any] = {"rules": {}, "killed": 0, "survived": 0, "invalid": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for rule_id, source in sorted(files.items()):
            if not any(fnmatch.fnmatchcase(rule_id, p) for p in patterns) or rule_id not in cases:
                continue
            original = yaml.safe_load(Path(source).read_text())
            if original.get("kind") == "manual":
                continue
            expected = [c["expect"] for c in cases[rule_id]]
            entry: dict[str, Any] = {"killed": 0, "survived": [], "invalid": 0, "equivalent": []}
            for i, (what, mutant) in enumerate(mutants(original)):
                path = Path(tmp) / f"{rule_id}-{i}.yaml"
                path.write_text(yaml.safe_dump(mutant, sort_keys=False))
                try:
                    (loaded,) = load_rules([path])
                except RuleLoadError:
                    entry["invalid"] += 1
                    continue
                finally:
                    path.unlink()
                if outcomes(loaded, cases[rule_id]) != expected:
                    entry["killed"] += 1
                elif (rule_id, what) in EQUIVALENT:
                    entry["equivalent"].append(f"{what} ({EQUIVALENT[rule_id, what]})")
                else:
                    entry["survived"].append(what)
            report["rules"][rule_id] = entry
            report["killed"] += entry["killed"]
            report["survived"] += len(entry["survived"])
            report["invalid"] += entry["invalid"]
    total = report["killed"] + report["survived"]
    report["score"] = round(100.0 * report["killed"] / total, 1) if total else None
    return report


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rules", default="*", help="comma-separated rule id patterns (default: every rule)")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--min-score", type=float, default=0.0, help="exit 1 below this killed percentage")
    a = p.parse_args()
    report = run([x.strip() for x in a.rules.split(",") if x.strip()])
    if a.json:
        print(json.dumps(report, indent=1))
    else:
        for rule_id, e in report["rules"].items():
            n = e["killed"] + len(e["survived"])
            invalid = f"  ({e['invalid']} invalid)" if e["invalid"] else ""
            print(f"{rule_id:34} {e['killed']:3}/{n:<3} killed{invalid}")
            for s in e["survived"]:
                print(f"    survived: {s}")
            for s in e["equivalent"]:
                print(f"    equivalent: {s}")
        print(f"rule mutants: {report['killed']} killed, {report['survived']} survived, {report['invalid']} "
              f"invalid; score {report['score']}%")
    return 1 if report["score"] is not None and report["score"] < a.min_score else 0


if __name__ == "__main__":
    raise SystemExit(main())
