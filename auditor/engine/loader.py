"""Rule loading: YAML files -> validated, immutable Rule objects; any problem stops the run, naming file and line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.engine.operators import OPERATORS, parse_duration
from auditor.engine.schema import rule_schema
from auditor.graph import EDGE_TYPES, NODE_TYPES
from auditor.model import Severity
from auditor.yamlsafe import InputError, Located, load_yaml, schema_errors

COMBINATORS = ("all", "any", "not", "related", "attr", "tag", "designation")
QUANTIFIERS = ("each", "any", "none", "count", "distinct", "exists")


class RuleLoadError(Exception):
    """One or more rule files are invalid; carries every problem found."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass(frozen=True)
class Rule:
    id: str
    policy: int
    title: str
    severity: Severity
    rationale: str
    resource: str
    kind: str
    basis: str
    scope: dict[str, Any] | None
    assertion: dict[str, Any] | None
    exempt_when: dict[str, Any] | None
    undecidable: dict[str, Any] | None
    params: dict[str, Any]
    messages: dict[str, str]
    remediation: dict[str, Any]
    references: dict[str, Any]
    source: str
    notes: str = ""
    out_of_scope: dict[str, Any] | None = None
    advisory: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def manual(self) -> bool:
        return self.kind == "manual"


class _Checker:
    """Walks conditions with the resource type in hand, so edge labels and params are checked in context."""

    def __init__(self, file: Path, located: Located, params: dict[str, Any], designations: set[str],
                 remediators: set[str] | None) -> None:
        self.file = file
        self.loc = located
        self.params = params
        self.designations = designations
        self.remediators = remediators
        self.errors: list[InputError] = []

    def err(self, path: list[str | int], msg: str) -> None:
        self.errors.append(InputError(self.file, self.loc.line(path), msg))

    def value(self, path: list[str | int], v: Any) -> None:
        if isinstance(v, dict) and set(v) == {"param"} and v["param"] not in self.params:
            declared = ", ".join(sorted(self.params)) or "none"
            self.err(path, f"parameter {v['param']!r} is not declared in params (declared: {declared})")

    def condition(self, path: list[str | int], cond: Any, types: set[str]) -> None:
        if not isinstance(cond, dict):
            self.err(path, f"a condition must be a mapping, got {type(cond).__name__}")
            return
        # In a related condition, any/each/none are quantifiers, not combinators.
        kinds = ["related"] if "related" in cond else [k for k in COMBINATORS if k in cond]
        if len(kinds) != 1:
            self.err(path, f"a condition needs exactly one of {', '.join(COMBINATORS)}; found {kinds or 'none'}")
            return
        kind = kinds[0]
        if kind in ("all", "any"):
            items = cond[kind]
            if not isinstance(items, list) or not items:
                self.err(path + [kind], f"{kind} takes a non-empty list of conditions")
                return
            for i, c in enumerate(items):
                self.condition(path + [kind, i], c, types)
        elif kind == "not":
            self.condition(path + ["not"], cond["not"], types)
        elif kind == "related":
            self.related(path, cond, types)
        elif kind == "designation":
            if cond["designation"] not in self.designations:
                self.err(path + ["designation"], f"unknown designation {cond['designation']!r} "
                         f"(configured: {', '.join(sorted(self.designations))})")
        else:
            self.leaf(path, cond)

    def leaf(self, path: list[str | int], cond: dict[str, Any]) -> None:
        op_name = cond.get("op", "present")
        op = OPERATORS.get(op_name)
        if op is None:
            self.err(path + ["op"], f"unknown operator {op_name!r}; allowed: {', '.join(sorted(OPERATORS))}")
            return
        if op.needs_value and "value" not in cond:
            self.err(path + ["op"], f"operator {op_name!r} needs a value")
            return
        if not op.needs_value and "value" in cond:
            self.err(path + ["value"], f"operator {op_name!r} takes no value")
            return
        v = cond.get("value")
        self.value(path + ["value"], v)
        literal = not (isinstance(v, dict) and set(v) & {"param", "attr"})
        try:
            if literal and op_name == "regex":
                re.compile(str(v))
            if literal and op_name in ("older-than", "newer-than"):
                parse_duration(v)
            if literal and op_name in ("in", "not-in", "in-ci", "contains-all", "glob-any") and not isinstance(v, list):
                raise ValueError(f"operator {op_name!r} needs a list value")
            if literal and op_name == "between" and not (isinstance(v, list) and len(v) == 2):
                raise ValueError("operator 'between' needs a list of two numbers [low, high]")
        except (re.error, ValueError) as exc:
            self.err(path + ["value"], str(exc))

    def related(self, path: list[str | int], cond: dict[str, Any], types: set[str]) -> None:
        labels = cond["related"] if isinstance(cond["related"], list) else [cond["related"]]
        cur = set(types)
        for i, label in enumerate(labels):
            if not isinstance(label, str):
                self.err(path + ["related"], "edge labels must be strings")
                return
            name = label.lstrip("~")
            et = EDGE_TYPES.get(name)
            if et is None:
                self.err(path + ["related"], f"unknown edge label {label!r}; known: {', '.join(sorted(EDGE_TYPES))}")
                return
            if label.startswith("~"):
                if et.target not in cur:
                    self.err(path + ["related"], f"~{name} walks back from {et.target}, not from {sorted(cur)}")
                    return
                cur = set(et.sources)
            else:
                if not cur & et.sources:
                    self.err(path + ["related"], f"edge {name!r} starts at {sorted(et.sources)}, "
                             f"not at {sorted(cur)} (step {i + 1} of the path)")
                    return
                cur = {et.target}
        quant = [q for q in QUANTIFIERS if q in cond and not (q == "count" and "distinct" in cond)]
        if len(quant) > 1:
            self.err(path, f"a related condition takes one of {', '.join(QUANTIFIERS)}; found {quant}")
        if "where" in cond:
            self.condition(path + ["where"], cond["where"], cur)
        for q in ("each", "any", "none"):
            if q in cond:
                self.condition(path + [q], cond[q], cur)
        for q in ("count",):
            if q in cond and isinstance(cond[q], dict):
                self.value(path + [q, "value"], cond[q].get("value"))


def check_rule(file: Path, located: Located, designations: set[str],
               remediators: set[str] | None = None) -> list[InputError]:
    doc = located.data
    if not isinstance(doc, dict):
        return [InputError(file, located.line([]), "a rule file must be a YAML mapping")]
    params: dict[str, Any] = doc["params"] if isinstance(doc.get("params"), dict) else {}
    checker = _Checker(file, located, params, designations, remediators)
    resource = doc.get("resource")
    types = {resource} if resource in NODE_TYPES else set(NODE_TYPES)
    if resource is not None and resource not in NODE_TYPES:
        checker.err(["resource"], f"unknown resource type {resource!r}; known: {', '.join(sorted(NODE_TYPES))}")
    for key in ("scope", "assert"):
        if key in doc:
            checker.condition([key], doc[key], types)
    if isinstance(doc.get("undecidable"), dict) and "when" in doc["undecidable"]:
        checker.condition(["undecidable", "when"], doc["undecidable"]["when"], types)
    if isinstance(doc.get("out_of_scope"), dict) and "when" in doc["out_of_scope"]:
        checker.condition(["out_of_scope", "when"], doc["out_of_scope"]["when"], types)
    if doc.get("advisory") is True and doc.get("severity") != "info":
        checker.err(["advisory"], "an advisory rule has severity info (it is never a violation)")
    if isinstance(doc.get("exempt_when"), dict) and "condition" in doc["exempt_when"]:
        checker.condition(["exempt_when", "condition"], doc["exempt_when"]["condition"], types)
    rem = doc.get("remediation")
    if isinstance(rem, dict) and rem.get("remediator") is not None and remediators is not None \
            and rem["remediator"] not in remediators:
        checker.err(["remediation", "remediator"], f"unknown remediator {rem['remediator']!r}; "
                    f"known: {', '.join(sorted(remediators)) or 'none'}")
    if isinstance(doc.get("id"), str) and isinstance(doc.get("policy"), int):
        m = re.match(r"^SM-(\d\d)-", doc["id"])
        if m and int(m.group(1)) != doc["policy"]:
            checker.err(["id"], f"rule id {doc['id']} names policy {int(m.group(1))} but policy is {doc['policy']}")
    if checker.errors:
        return checker.errors
    return schema_errors(located, rule_schema(), file)


def _to_rule(file: Path, doc: dict[str, Any]) -> Rule:
    return Rule(
        id=doc["id"], policy=doc["policy"], title=doc["title"], severity=Severity(doc["severity"]),
        rationale=doc["rationale"].strip(), resource=doc["resource"], kind=doc.get("kind", "automated"),
        basis=doc.get("basis", "proven"), scope=doc.get("scope"), assertion=doc.get("assert"),
        exempt_when=doc.get("exempt_when"), undecidable=doc.get("undecidable"), params=dict(doc.get("params") or {}),
        messages=dict(doc.get("messages") or {}), remediation=dict(doc.get("remediation") or {}),
        references=dict(doc.get("references") or {}), source=str(file), notes=doc.get("notes", ""),
        out_of_scope=doc.get("out_of_scope"), advisory=bool(doc.get("advisory", False)), raw=doc,
    )


def default_rules_dir() -> Path:
    """rules/ beside the package in a checkout, else the copy installed inside the package."""
    here = Path(__file__).resolve().parent.parent
    for cand in (here.parent / "rules", here / "rules"):
        if cand.is_dir():
            return cand
    return here.parent / "rules"


def load_rules(paths: list[Path] | None = None, designations: set[str] | None = None,
               remediators: set[str] | None = None) -> list[Rule]:
    """Load every *.yaml under the given files/directories; raise RuleLoadError listing all problems."""
    from auditor.engine.config import DEFAULT_DESIGNATIONS

    designations = designations or set(DEFAULT_DESIGNATIONS)
    if remediators is None:
        from auditor.remediate.registry import load_builtin

        remediators = set(load_builtin())
    files: list[Path] = []
    errors: list[InputError] = []
    for p in paths or [default_rules_dir()]:
        if p.is_dir():
            files += sorted(x for x in p.rglob("*") if x.suffix in (".yaml", ".yml") and x.is_file())
        elif p.is_file():
            files.append(p)
        else:
            errors.append(InputError(p, None, "no such rule file or directory"))
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for f in files:
        try:
            located = load_yaml(f)
        except InputError as exc:
            errors.append(exc)
            continue
        problems = check_rule(f, located, designations, remediators)
        if problems:
            errors += problems
            continue
        rule = _to_rule(f, located.data)
        if rule.id in seen:
            errors.append(InputError(f, located.line(["id"]), f"duplicate rule id {rule.id} (also in {seen[rule.id]})"))
            continue
        seen[rule.id] = str(f)
        rules.append(rule)
    if errors:
        raise RuleLoadError(errors)
    if not rules:
        raise RuleLoadError([InputError(", ".join(map(str, paths or [default_rules_dir()])), None,
                                        "no rule files found")])
    return sorted(rules, key=lambda r: (r.policy, r.id))
