"""Many accounts: Organizations listing, AssumeRole per member account, resources kept apart, failures contained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from auditor.collect import collect_scope
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from auditor.report.merge import merge_reports
from auditor.report.model import Report, build_report
from auditor.scope import Shard, resolve_accounts
from auditor.session import SessionFactory
from tests.history.factories import typed

REGION = "us-east-1"
MANAGEMENT = "123456789012"


def member_session(account: str) -> boto3.Session:
    creds = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/Audit",
                                            RoleSessionName="seed")["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name=REGION)


def seed_endpoint(session: Any, name: str) -> None:
    sm = session.client("sagemaker", region_name=REGION)
    sm.create_model(ModelName=f"{name}-model", ExecutionRoleArn="arn:aws:iam::123456789012:role/none",
                    PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2"})
    sm.create_endpoint_config(EndpointConfigName=f"{name}-cfg", ProductionVariants=[
        {"VariantName": "main", "ModelName": f"{name}-model", "InstanceType": "ml.m5.large",
         "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-cfg",
                       Tags=[{"Key": "environment", "Value": "production"}])


@pytest.fixture
def org(aws: None) -> dict[str, str]:
    """An organisation: the management account and three members, one endpoint in each (named after it)."""
    client = boto3.client("organizations")
    client.create_organization(FeatureSet="ALL")
    accounts = {MANAGEMENT: "ep-management"}
    for name in ("data", "ml", "sandbox"):
        acct = client.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]["AccountId"]
        accounts[acct] = f"ep-{name}"
    for acct, endpoint in accounts.items():
        seed_endpoint(boto3.Session(region_name=REGION) if acct == MANAGEMENT else member_session(acct), endpoint)
    return accounts


def fail_assume_role_for(account: str) -> list[tuple[str, Any]]:
    def handler(params: dict[str, Any], model: Any = None, **_: Any) -> None:
        if f"::{account}:" in params.get("RoleArn", ""):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized to assume"},
                               "ResponseMetadata": {"HTTPStatusCode": 403}}, model.name)

    return [("before-parameter-build.sts.AssumeRole", handler)]


def audit(hooks: list[tuple[str, Any]] | None = None, shard: Shard | None = None, workers: int = 4):  # type: ignore[no-untyped-def]
    factory = SessionFactory(region=REGION, hooks=hooks, max_attempts=1)
    targets = resolve_accounts(factory, "org", "Audit", "audit-external-id", shard)
    graph = collect_scope(targets, [REGION], workers=workers)
    return graph, build_report(evaluate_rules(graph, load_rules()), graph)


def test_every_account_of_the_org_is_audited_with_its_own_resources(org: dict[str, str]) -> None:
    graph, doc = audit()
    endpoints = {graph.attrs(n)["name"]: graph.attrs(n)["account"] for n in graph.nodes_of_type("sagemaker.endpoint")}
    assert endpoints == {name: acct for acct, name in org.items()}
    # every node of a member account carries that account, in its id too
    for n in graph.nodes_of_type("sagemaker.model"):
        assert f":{graph.attrs(n)['account']}:" in n
    assert doc["scope"]["accounts"] == sorted(org)
    assert {c["account"]: c["status"] for c in doc["scope"]["coverage"]} == {a: "audited" for a in org}
    assert not doc["collection_errors"]
    calls = doc["api_calls"]["by_operation"]
    assert calls["sts:AssumeRole"] == 3  # the management account is read with the caller's own credentials
    assert calls["organizations:ListAccounts"] == 1


def test_a_failing_account_is_reported_and_the_others_are_audited(org: dict[str, str]) -> None:
    broken = next(a for a, n in org.items() if n == "ep-ml")
    _, clean = audit()
    graph, doc = audit(fail_assume_role_for(broken))
    assert not doc["complete"]
    coverage = {c["account"]: c for c in doc["scope"]["coverage"]}
    assert coverage[broken]["status"] == "failed" and "AccessDenied" in coverage[broken]["reason"]
    assert all(c["status"] == "audited" for a, c in coverage.items() if a != broken)
    assert [(e["account"], e["operation"]) for e in doc["collection_errors"]] == [(broken, "AssumeRole")]
    names = {graph.attrs(n)["name"] for n in graph.nodes_of_type("sagemaker.endpoint")}
    assert names == {n for a, n in org.items() if a != broken}
    # the other accounts' findings are exactly those of a clean run: the broken account changes nothing else
    assert doc["findings"] == [f for f in clean["findings"] if f["resource"]["account"] != broken]


def test_sequential_and_concurrent_collection_give_the_same_snapshot(org: dict[str, str]) -> None:
    one, _ = audit(workers=1)
    many, _ = audit(workers=8)
    a, b = one.to_dict(), many.to_dict()
    assert a["nodes"] == b["nodes"] and a["edges"] == b["edges"]
    assert [e.to_dict() for e in one.errors] == [e.to_dict() for e in many.errors]


def test_merged_shards_equal_the_single_run(org: dict[str, str]) -> None:
    _, whole = audit()
    shards = [audit(shard=Shard(i, 3))[1] for i in range(3)]
    audited = [c["account"] for s in shards for c in s["scope"]["coverage"]]
    assert sorted(audited) == sorted(org)  # every account in exactly one shard
    merged = merge_reports([(Path(f"shard{i}"), Report.from_json(s)) for i, s in enumerate(shards)]).to_json()
    for key in ("findings", "summary", "complete", "collection_errors", "manual_checks", "expired_waivers"):
        assert merged[key] == whole[key], key
    assert merged["scope"]["accounts"] == whole["scope"]["accounts"]
    assert merged["scope"]["coverage"] == whole["scope"]["coverage"]
    assert merged["api_calls"]["by_operation"]["sagemaker:DescribeEndpoint"] == 4


def test_role_name_is_required_to_reach_other_accounts(org: dict[str, str]) -> None:
    from auditor.scope import ScopeError

    with pytest.raises(ScopeError, match="--role-name"):
        resolve_accounts(SessionFactory(region=REGION), "org", None, None)
    # the caller's own account alone needs no role
    targets = resolve_accounts(SessionFactory(region=REGION), [MANAGEMENT], None, None)
    assert [t.account_id for t in targets] == [MANAGEMENT] and targets[0].factory.role_arn is None


def test_external_id_is_sent_with_assume_role(org: dict[str, str]) -> None:
    seen: list[dict[str, Any]] = []
    hooks = [("before-parameter-build.sts.AssumeRole", lambda params, **_: seen.append(dict(params)))]
    audit(hooks, workers=1)
    assert seen and all(p["ExternalId"] == "audit-external-id" for p in seen)
    assert {p["RoleArn"].split(":")[4] for p in seen} == set(org) - {MANAGEMENT}


def test_a_failed_account_is_shown_in_the_html_and_terminal_summaries(org: dict[str, str]) -> None:
    from rich.console import Console

    from auditor.report import terminal
    from auditor.report.html import render

    broken = next(a for a, n in org.items() if n == "ep-data")
    _, doc = audit(fail_assume_role_for(broken))
    html = render(typed(doc))
    scope_table = html[html.index("<h2>Scope</h2>"):html.index("<h2>Summary</h2>")]
    row = scope_table[scope_table.index(broken):]
    assert "failed" in row[:300] and "AccessDenied" in row[:400]
    console = Console(record=True, width=200)
    terminal.print_summary(Report.from_json(doc), console)
    text = console.export_text()
    assert f"account {broken} FAILED: sts:AssumeRole: AccessDenied" in text
    assert broken not in doc["scope"]["accounts"] and len(doc["scope"]["accounts"]) == 3  # audited ones only


def test_an_unusable_region_costs_one_call_and_is_reported(org: dict[str, str]) -> None:
    """A region that refuses the credentials (an opt-in region not enabled) stops after its first collector."""
    def refuse_eu(params: dict[str, Any], model: Any = None, **_: Any) -> None:
        if ".eu-west-1." in params.get("url", ""):
            raise ClientError({"Error": {"Code": "UnrecognizedClientException",
                                         "Message": "The security token included in the request is invalid"},
                               "ResponseMetadata": {"HTTPStatusCode": 400}}, model.name)

    factory = SessionFactory(region=REGION, hooks=[("before-call", refuse_eu)], max_attempts=1)
    targets = resolve_accounts(factory, [MANAGEMENT], None, None)
    graph = collect_scope(targets, [REGION, "eu-west-1"], workers=2)
    doc = build_report(evaluate_rules(graph, load_rules()), graph)
    (cov,) = doc["scope"]["coverage"]
    assert cov["status"] == "audited" and list(cov["failed_regions"]) == ["eu-west-1"]
    assert "UnrecognizedClientException" in cov["failed_regions"]["eu-west-1"]
    eu_errors = [e for e in doc["collection_errors"] if e["region"] == "eu-west-1"]
    # the first collector's two list calls, then nothing: no other service was asked in that region
    assert {(e["service"], e["operation"]) for e in eu_errors} == {("sagemaker", "list_endpoints"),
                                                                   ("sagemaker", "list_transform_jobs")}
    assert any("*" in e["affects"] for e in eu_errors) and not doc["complete"]
    assert {graph.attrs(n)["name"] for n in graph.nodes_of_type("sagemaker.endpoint")} == {"ep-management"}


def test_a_region_without_endpoints_costs_two_calls_and_changes_no_finding(org: dict[str, str]) -> None:
    from auditor.app import collect_options
    from auditor.engine.config import Config

    rules = load_rules()
    # the empty region's saving alone: endpoints in the other region are described as in the full run (reading
    # them from Search records instead is measured in tests/collect/test_endpoint_search.py)
    options = {**collect_options(rules, Config()), "endpoint_describe_needed": None}
    assert options["skip_regions_without_endpoints"] is True  # no built-in rule judges an endpoint-less region

    def run(opts: dict[str, Any]):  # type: ignore[no-untyped-def]
        factory = SessionFactory(region=REGION, max_attempts=1)
        graph = collect_scope(resolve_accounts(factory, [MANAGEMENT], None, None), [REGION, "eu-west-1"], opts,
                              workers=2)
        return graph, build_report(evaluate_rules(graph, rules), graph)

    full, full_doc = run({})
    lean, lean_doc = run(options)
    assert lean_doc["findings"] == full_doc["findings"] and lean_doc["complete"] == full_doc["complete"]
    saved = full_doc["api_calls"]["total"] - lean_doc["api_calls"]["total"]
    assert saved >= 8  # every collector after SageMaker's two list calls, in eu-west-1
    assert lean_doc["scope"]["coverage"][0]["regions_without_endpoints"] == ["eu-west-1"]
    assert "regions_without_endpoints" not in full_doc["scope"]["coverage"][0]


def test_an_unreadable_organization_is_an_incomplete_audit_not_an_empty_one(org: dict[str, str]) -> None:
    from tests.collect.faults import deny

    graph, doc = audit(deny("organizations.ListAccounts"))
    assert not doc["complete"] and not doc["findings"]
    assert [(e["service"], e["operation"], e["code"]) for e in doc["collection_errors"]] == [
        ("organizations", "ListAccounts", "AccessDenied")]
    (cov,) = doc["scope"]["coverage"]
    assert cov["status"] == "failed" and cov["account"] == MANAGEMENT


def test_a_lean_snapshot_cannot_silently_answer_rules_about_empty_regions(org: dict[str, str], tmp_path: Any) -> None:
    """Collected with the built-in rules (empty regions only listed), then evaluated with a rule about alarms."""
    from auditor.cli import main

    snap = tmp_path / "snap.json"
    boto3.client("cloudwatch", region_name="eu-west-1").put_metric_alarm(
        AlarmName="eu-alarm", MetricName="CPUUtilization", Namespace="AWS/EC2", Statistic="Average", Period=60,
        EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    main(["snapshot", "--output", str(snap), "--region", "us-east-1,eu-west-1", "-q"])
    rule = Path(__file__).parent.parent / "rules" / "SM-07-alarm-actions.yaml"
    out = tmp_path / "out"
    code = main(["--snapshot", str(snap), "--rules-dir", str(rule), "--output", str(out), "-q", "--format", "json"])
    import json

    doc = json.loads((out / "report.json").read_text())
    assert code == 3 and not doc["complete"]
    lean = [e for e in doc["collection_errors"] if e["code"] == "NotCollected"]
    assert [e["region"] for e in lean] == ["eu-west-1"] and "cloudwatch" in lean[0]["message"]
