"""The optional audit.yaml: designations, parameters, image allowlist, rule selection, and the waivers file."""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.engine.conditions import Designation
from auditor.engine.schema import config_schema, waivers_schema
from auditor.model import Severity
from auditor.yamlsafe import InputError, load_yaml, schema_errors

DEFAULT_DESIGNATIONS = {
    "production": Designation("environment", ("production", "prod")),
    "always_on": Designation("always-on", ("true",)),
    "batch": Designation("workload", ("batch",)),
}


@dataclass(frozen=True)
class Waiver:
    resource: str
    reason: str
    owner: str
    expires: dt.date
    rule: str | None = None
    policy: int | None = None
    source: str = ""

    def matches(self, rule_id: str, policy: int, arn: str, name: str) -> bool:
        if self.rule is not None and self.rule != rule_id:
            return False
        if self.policy is not None and self.policy != policy:
            return False
        return fnmatch.fnmatchcase(arn, self.resource) or fnmatch.fnmatchcase(name, self.resource)

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "policy": self.policy, "resource": self.resource, "reason": self.reason,
                "owner": self.owner, "expires": self.expires.isoformat(), "source": self.source}


@dataclass
class Config:
    designations: dict[str, Designation] = field(default_factory=lambda: dict(DEFAULT_DESIGNATIONS))
    parameters: dict[str, Any] = field(default_factory=dict)
    rule_parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: list[str] = field(default_factory=list)
    exclude_rules: list[str] = field(default_factory=list)
    policies: list[int] = field(default_factory=list)
    severity: Severity | None = None
    waivers: list[Waiver] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    remediation: dict[str, dict[str, Any]] = field(default_factory=dict)
    registry_table: dict[str, Any] | None = None  # policy 3's custom DynamoDB registry, read by the collector
    limits: dict[str, dict[str, Any]] = field(default_factory=dict)  # collection's request limits (auditor.limits)
    source: str | None = None


def load_config(path: Path | None, remediators: Mapping[str, Collection[str]] | None = None) -> Config:
    """The config file; `remediators` (name -> parameter names) checks its remediation section (None: unchecked)."""
    cfg = Config()
    if path is None:
        return cfg
    located = load_yaml(path)
    doc = located.data if located.data is not None else {}
    errors = schema_errors(type(located)(doc, located._root), config_schema(), path)
    if errors:
        raise errors[0]
    cfg.source = str(path)
    for name, d in (doc.get("designations") or {}).items():
        cfg.designations[name] = Designation(d["tag"], tuple(d["values"]))
    cfg.parameters = dict(doc.get("parameters") or {})
    if doc.get("allowed_repositories"):
        cfg.parameters["allowed_repositories"] = list(doc["allowed_repositories"])
    cfg.rule_parameters = {k: dict(v) for k, v in (doc.get("rule_parameters") or {}).items()}
    cfg.rules = list(doc.get("rules") or [])
    cfg.exclude_rules = list(doc.get("exclude_rules") or [])
    cfg.policies = list(doc.get("policies") or [])
    cfg.severity = Severity(doc["severity"]) if doc.get("severity") else None
    cfg.regions = list(doc.get("regions") or [])
    cfg.remediation = {k: dict(v) for k, v in (doc.get("remediation") or {}).items()}
    cfg.registry_table = dict(doc["registry_table"]) if doc.get("registry_table") else None
    cfg.limits = {str(k): dict(v) for k, v in (doc.get("limits") or {}).items()}
    if cfg.registry_table and (cfg.registry_table.get("key") or {}).get("kind") == "tag" \
            and not cfg.registry_table["key"].get("tag"):
        raise InputError(path, located.line(["registry_table", "key"]),
                         "registry_table.key: kind tag needs the tag key whose value identifies the model (tag: NAME)")
    for name, params in cfg.remediation.items():
        if remediators is None:
            break
        if name not in remediators:
            raise InputError(path, located.line(["remediation", name]),
                             f"remediation: unknown remediator {name!r}; known: {', '.join(sorted(remediators))}")
        for k in params:
            if k not in remediators[name]:
                raise InputError(path, located.line(["remediation", name, k]),
                                 f"remediation.{name}: no parameter {k!r} (it takes: "
                                 f"{', '.join(sorted(remediators[name])) or 'none'})")
    if doc.get("waivers"):
        cfg.waivers = load_waivers(Path(path).parent / doc["waivers"])
    return cfg


def load_waivers(path: Path) -> list[Waiver]:
    located = load_yaml(path)
    errors = schema_errors(located, waivers_schema(), path)
    if errors:
        raise errors[0]
    out = []
    for i, w in enumerate(located.data["waivers"]):
        try:
            expires = dt.date.fromisoformat(w["expires"])
        except ValueError:
            raise InputError(path, located.line(["waivers", i, "expires"]),
                             f"expires {w['expires']!r} is not a date (YYYY-MM-DD)") from None
        out.append(Waiver(resource=w["resource"], reason=w["reason"], owner=w["owner"], expires=expires,
                          rule=w.get("rule"), policy=w.get("policy"),
                          source=f"{path}:{located.line(['waivers', i])}"))
    return out
