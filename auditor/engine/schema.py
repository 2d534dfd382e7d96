"""The published JSON Schemas: rule files, the config file, the waivers file."""

from __future__ import annotations

from typing import Any

from auditor.engine.grammar import PARAM_NAME, condition_defs
from auditor.graph import NODE_TYPES
from auditor.model import Severity

RULE_ID = r"^SM-(0[1-9]|1[0-5])-[a-z0-9]+(-[a-z0-9]+)*$"
__all__ = ["PARAM_NAME", "RULE_ID", "SCHEMAS", "condition_defs", "config_schema", "rule_schema", "waivers_schema"]


def rule_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://sagemaker-auditor.dev/schemas/rule.schema.json",
        "title": "SageMaker auditor rule",
        "type": "object",
        "required": ["id", "policy", "title", "severity", "rationale", "resource"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "pattern": RULE_ID,
                   "description": "stable id: SM-<policy 01..15>-<slug>; never reuse or renumber"},
            "policy": {"type": "integer", "minimum": 1, "maximum": 15},
            "title": {"type": "string", "minLength": 5},
            "severity": {"enum": [s.value for s in Severity]},
            "rationale": {"type": "string", "minLength": 10},
            "resource": {"enum": sorted(NODE_TYPES)},
            "kind": {"enum": ["automated", "manual"], "default": "automated",
                     "description": "manual: the API cannot decide it; listed for reviewers, never a pass"},
            "basis": {"enum": ["proven", "inferred"], "default": "proven"},
            "scope": {"$ref": "#/$defs/condition"},
            "assert": {"$ref": "#/$defs/condition"},
            "undecidable": {
                "type": "object", "required": ["when", "reason"], "additionalProperties": False,
                "description": "when the condition holds, the finding is error with this reason: the API cannot decide",
                "properties": {"when": {"$ref": "#/$defs/condition"}, "reason": {"type": "string", "minLength": 5}},
            },
            "out_of_scope": {
                "type": "object", "required": ["when", "reason"], "additionalProperties": False,
                "description": "when the condition holds, the resource is reported exempt (kind out_of_scope) with "
                               "this reason and the evidence that decided it, instead of being judged: e.g. an "
                               "endpoint that is not running has no utilisation to measure",
                "properties": {"when": {"$ref": "#/$defs/condition"}, "reason": {"type": "string", "minLength": 5}},
            },
            "advisory": {
                "type": "boolean", "default": False,
                "description": "the policy text does not require this: its failures are reported apart and never "
                               "count against the policy or the exit code (use severity info)",
            },
            "exempt_when": {
                "type": "object", "required": ["condition", "reason"], "additionalProperties": False,
                "properties": {"condition": {"$ref": "#/$defs/condition"}, "reason": {"type": "string"}},
            },
            "params": {"type": "object", "propertyNames": {"pattern": PARAM_NAME}},
            "messages": {
                "type": "object", "additionalProperties": False,
                "properties": {k: {"type": "string"} for k in ("pass", "fail", "error")},
            },
            "remediation": {
                "type": "object", "additionalProperties": False, "required": ["guidance"],
                "properties": {
                    "remediator": {"type": "string"}, "params": {"type": "object"},
                    "guidance": {"type": "string", "minLength": 10},
                },
            },
            "references": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "policy_section": {"type": "string"},
                    "aws_docs": {"type": "array", "items": {"type": "string"}},
                    "security_hub": {"type": "array", "items": {"type": "string"}},
                    "config_rules": {"type": "array", "items": {"type": "string"}},
                },
            },
            "notes": {"type": "string"},
        },
        "allOf": [{"if": {"properties": {"kind": {"const": "manual"}}, "required": ["kind"]},
                   "else": {"required": ["assert"]}}],
        "$defs": condition_defs(),
    }


def config_schema() -> dict[str, Any]:
    designation = {
        "type": "object", "required": ["tag", "values"], "additionalProperties": False,
        "properties": {"tag": {"type": "string", "minLength": 1},
                       "values": {"type": "array", "minItems": 1, "items": {"type": "string"}}},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://sagemaker-auditor.dev/schemas/config.schema.json",
        "title": "SageMaker auditor configuration (audit.yaml)",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "designations": {"type": "object", "additionalProperties": designation,
                             "propertyNames": {"pattern": PARAM_NAME}},
            "parameters": {"type": "object", "propertyNames": {"pattern": PARAM_NAME}},
            "rule_parameters": {"type": "object", "additionalProperties": {"type": "object"}},
            "allowed_repositories": {"type": "array", "items": {"type": "string"}},
            "rules": {"type": "array", "items": {"type": "string"}},
            "exclude_rules": {"type": "array", "items": {"type": "string"}},
            "policies": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 15}},
            "severity": {"enum": [s.value for s in Severity]},
            "waivers": {"type": "string", "description": "path of a waivers file, relative to this file"},
            "remediation": {"type": "object", "description": "remediator name -> parameter overrides",
                            "additionalProperties": {"type": "object"}},
            "regions": {"type": "array", "items": {"type": "string"}},
            "registry_table": registry_table_schema(),
            "limits": limits_schema(),
        },
    }


def limits_schema() -> dict[str, Any]:
    """Per-service (or per-API) request limits of collection; the defaults follow AWS's documented quotas."""
    return {
        "type": "object",
        "description": "calls in flight and requests per second per account-region, by service (boto3 client name, "
                       "e.g. sagemaker), API (e.g. sagemaker:DescribeEndpoint) or API prefix (sagemaker:Describe*); "
                       "'*' is every other service",
        "propertyNames": {"pattern": r"^(\*|[a-z0-9-]+(:[A-Za-z0-9]+\*?)?)$"},
        "additionalProperties": {
            "type": "object", "additionalProperties": False, "minProperties": 1,
            "properties": {
                "in_flight": {"type": "integer", "minimum": 1, "maximum": 256,
                              "description": "calls at once to this service (or API) per account-region"},
                "rate": {"type": "number", "exclusiveMinimum": 0,
                         "description": "requests per second per API per account-region (AWS throttles above it)"},
                "burst": {"type": "number", "minimum": 1, "description": "requests allowed at once above the rate"},
            },
        },
    }


def registry_table_schema() -> dict[str, Any]:
    """Policy 3's custom DynamoDB registry: where it is, what identifies a model, which attributes hold what."""
    name = {"type": "string", "minLength": 1}
    return {
        "type": "object", "required": ["table"], "additionalProperties": False,
        "description": "a DynamoDB table used as the model registry (policy 3 allows it beside SageMaker's)",
        "properties": {
            "table": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]{3,255}$"},
            "region": {"type": "string", "pattern": r"^[a-z]{2}(-[a-z]+)+-\d$",
                       "description": "the table's region (default: each audited region's own)"},
            "key": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "kind": {"enum": ["model_name", "image_artifact", "tag"], "default": "model_name",
                             "description": "what identifies a model: its SageMaker name, its container image and "
                                            "artifact URI, or the value of one of its tags"},
                    "attribute": dict(name, description="the item attribute holding the model name or tag value "
                                                        "(default model_name); BatchGetItem when it is the table's "
                                                        "whole primary key, else a paged Scan"),
                    "tag": dict(name, description="kind tag: the tag key whose value identifies the model"),
                    "image_attribute": dict(name, description="kind image_artifact: default image"),
                    "artifact_attribute": dict(name, description="kind image_artifact: default artifact_uri"),
                },
            },
            "attributes": {
                "type": "object", "additionalProperties": False,
                "properties": {"version": name, "metrics": name, "deployment_config": name, "approval": name},
                "description": "attribute names (defaults: version, training_metrics, deployment_config, "
                               "approval_status)",
            },
        },
    }


def waivers_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://sagemaker-auditor.dev/schemas/waivers.schema.json",
        "title": "SageMaker auditor waivers",
        "type": "object",
        "required": ["waivers"],
        "additionalProperties": False,
        "properties": {"waivers": {"type": "array", "items": {
            "type": "object",
            "required": ["resource", "reason", "owner", "expires"],
            "additionalProperties": False,
            "properties": {
                "rule": {"type": "string", "pattern": RULE_ID},
                "policy": {"type": "integer", "minimum": 1, "maximum": 15},
                "resource": {"type": "string", "minLength": 1,
                             "description": "shell-style pattern over the resource ARN or name"},
                "reason": {"type": "string", "minLength": 5},
                "owner": {"type": "string", "minLength": 1},
                "expires": {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
            },
            "oneOf": [{"required": ["rule"]}, {"required": ["policy"]}],
        }}},
    }


SCHEMAS = {"rule": rule_schema, "config": config_schema, "waivers": waivers_schema}
