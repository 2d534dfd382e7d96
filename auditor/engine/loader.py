"""Rule loading: YAML files -> validated, immutable Rule objects; any problem stops the run, naming file and line."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.engine.compiler import Compiler
from auditor.engine.grammar import Condition, ExemptWhen, Undecidable
from auditor.engine.messages import template_problem
from auditor.engine.operators import parse_duration
from auditor.engine.schema import rule_schema
from auditor.graph import NODE_TYPES
from auditor.model import Severity
from auditor.yamlsafe import InputError, Located, load_yaml, schema_errors


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
    scope: Condition | None
    assertion: Condition | None  # None only for kind: manual
    exempt_when: ExemptWhen | None
    undecidable: Undecidable | None
    params: dict[str, Any]
    messages: dict[str, str]
    remediation: dict[str, Any]
    references: dict[str, Any]
    source: str
    notes: str = ""
    out_of_scope: Undecidable | None = None  # same shape (condition, reason): when it holds, exempt, not judged
    advisory: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def manual(self) -> bool:
        return self.kind == "manual"


def check_rule(file: Path, located: Located, designations: set[str],
               remediators: Collection[str] | None = None) -> list[InputError]:
    """Every problem of one rule file (empty when it is valid)."""
    return compile_rule(file, located, designations, remediators)[0]


def compile_rule(file: Path, located: Located, designations: set[str],
                 remediators: Collection[str] | None = None) -> tuple[list[InputError], Rule | None]:
    """One rule file -> its problems, or the Rule with its conditions compiled (remediators=None: not checked)."""
    doc = located.data
    if not isinstance(doc, dict):
        return [InputError(file, located.line([]), "a rule file must be a YAML mapping")], None
    params: dict[str, Any] = doc["params"] if isinstance(doc.get("params"), dict) else {}
    c = Compiler(file, located, params, designations)
    resource = doc.get("resource")
    types = {resource} if isinstance(resource, str) and resource in NODE_TYPES else set(NODE_TYPES)
    if resource is not None and resource not in types:
        c.err(["resource"], f"unknown resource type {resource!r}; known: {', '.join(sorted(NODE_TYPES))}")
    for name, value in params.items():  # windows are durations: a bad one is a load error, not a crash later
        if str(name).endswith("_window"):
            try:
                parse_duration(value)
            except ValueError as exc:
                c.err(["params", name], str(exc))
    messages = doc.get("messages")
    for key, text in (messages.items() if isinstance(messages, dict) else ()):
        problem = template_problem(text, params) if isinstance(text, str) else None
        if problem:  # found here, not at the first finding (which would stop the audit)
            c.err(["messages", key], problem)
    compiled: dict[str, Any] = {}
    places: list[tuple[str, list[str | int]]] = [("scope", ["scope"]), ("assert", ["assert"]),
                                                 ("undecidable", ["undecidable", "when"]),
                                                 ("out_of_scope", ["out_of_scope", "when"]),
                                                 ("exempt_when", ["exempt_when", "condition"])]
    for key, path in places:
        holder = doc.get(str(path[0]))
        if len(path) == 2 and not (isinstance(holder, dict) and path[1] in holder):
            c.deferred |= holder is not None  # the schema says what an undecidable/exempt_when block needs
            continue
        if holder is not None:
            compiled[key] = c.condition(path, holder if len(path) == 1 else holder[path[1]], types)
    if doc.get("advisory") is True and doc.get("severity") != "info":
        c.err(["advisory"], "an advisory rule has severity info (it is never a violation)")
    rem = doc.get("remediation")
    if isinstance(rem, dict) and rem.get("remediator") is not None and remediators is not None \
            and rem["remediator"] not in remediators:
        c.err(["remediation", "remediator"], f"unknown remediator {rem['remediator']!r}; "
              f"known: {', '.join(sorted(remediators)) or 'none'}")
    if isinstance(doc.get("id"), str) and isinstance(doc.get("policy"), int):
        m = re.match(r"^SM-(\d\d)-", doc["id"])
        if m and int(m.group(1)) != doc["policy"]:
            c.err(["id"], f"rule id {doc['id']} names policy {int(m.group(1))} but policy is {doc['policy']}")
    if c.errors:
        return c.errors, None
    errors = schema_errors(located, rule_schema(), file)
    if errors:
        return errors, None
    if c.deferred or None in compiled.values():  # the schema found nothing the compiler left to it: say so
        return [InputError(file, located.line([]), "a condition could not be compiled")], None
    return [], _to_rule(file, doc, compiled)


def _to_rule(file: Path, doc: dict[str, Any], compiled: dict[str, Any]) -> Rule:
    und, ex, oos = doc.get("undecidable"), doc.get("exempt_when"), doc.get("out_of_scope")
    return Rule(
        id=doc["id"], policy=doc["policy"], title=doc["title"], severity=Severity(doc["severity"]),
        rationale=doc["rationale"].strip(), resource=doc["resource"], kind=doc.get("kind", "automated"),
        basis=doc.get("basis", "proven"), scope=compiled.get("scope"), assertion=compiled.get("assert"),
        exempt_when=ExemptWhen(compiled["exempt_when"], ex["reason"]) if ex else None,
        undecidable=Undecidable(compiled["undecidable"], und["reason"]) if und else None,
        params=dict(doc.get("params") or {}), messages=dict(doc.get("messages") or {}),
        remediation=dict(doc.get("remediation") or {}), references=dict(doc.get("references") or {}),
        source=str(file), notes=doc.get("notes", ""),
        out_of_scope=Undecidable(compiled["out_of_scope"], oos["reason"]) if oos else None,
        advisory=bool(doc.get("advisory", False)), raw=doc,
    )


def default_rules_dir() -> Path:
    """The built-in rules: installed inside the package, or rules/ at the top of a checkout."""
    from auditor.resources import rules_dir

    return rules_dir()


def load_rules(paths: list[Path] | None = None, designations: set[str] | None = None,
               remediators: Collection[str] | None = None) -> list[Rule]:
    """Load every *.yaml under the given files/directories; raise RuleLoadError listing all problems.

    `remediators` are the names rules may name (the caller has the registry: the engine does not import the
    remediation package); None skips that check, for callers that only evaluate.
    """
    from auditor.engine.config import DEFAULT_DESIGNATIONS

    designations = designations or set(DEFAULT_DESIGNATIONS)
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
        problems, rule = compile_rule(f, located, designations, remediators)
        if rule is None:
            errors += problems
            continue
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
