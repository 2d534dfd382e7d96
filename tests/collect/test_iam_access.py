"""Invoke access: identity policies read once per account decide who can invoke each endpoint, and how."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from auditor.collect.iam_access import allows_invoke, grants_on, principal_grants
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from tests.collect.faults import deny, empty
from tests.collect.test_errors_and_paging import REGION, run, seed_endpoint

ACCT = "123456789012"
EP = f"arn:aws:sagemaker:{REGION}:{ACCT}:endpoint/"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_action_forms_that_cover_invoke_endpoint() -> None:
    for action in ("sagemaker:InvokeEndpoint", "sagemaker:*", "sagemaker:Invoke*", "*", ["s3:GetObject", "SageMaker:invoke*"]):
        assert allows_invoke({"Effect": "Allow", "Action": action, "Resource": "*"}), action
    assert allows_invoke({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert not allows_invoke({"Effect": "Allow", "NotAction": "sagemaker:*", "Resource": "*"})
    assert not allows_invoke({"Effect": "Allow", "Action": "sagemaker:InvokeEndpointAsync", "Resource": "*"})
    assert not allows_invoke({"Effect": "Allow", "Action": "sagemaker:Describe*", "Resource": "*"})


def test_resource_forms_wildcards_denies_and_group_inheritance() -> None:
    details = {
        "RoleDetailList": [
            {"Arn": "role/named", "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": _doc(
                {"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": EP + "fraud-detector"})}]},
            {"Arn": "role/prefix", "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": _doc(
                {"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": EP + "fraud-*"})}]},
            {"Arn": "role/denied", "AttachedManagedPolicies": [{"PolicyName": "Full", "PolicyArn": "arn:full"}],
             "RolePolicyList": [{"PolicyName": "d", "PolicyDocument": _doc(
                 {"Effect": "Deny", "Action": "sagemaker:*", "Resource": EP + "*"})}]},
            {"Arn": "role/notresource", "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": _doc(
                {"Effect": "Allow", "Action": "sagemaker:*", "NotResource": EP + "fraud-detector"})}]},
        ],
        "GroupDetailList": [{"GroupName": "ds", "GroupPolicyList": [{"PolicyName": "g", "PolicyDocument": _doc(
            {"Effect": "Allow", "Action": "sagemaker:Invoke*", "Resource": "*",
             "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})}]}],
        "UserDetailList": [{"Arn": "user/ana", "GroupList": ["ds"]}],
        "Policies": [{"Arn": "arn:full", "PolicyVersionList": [{"IsDefaultVersion": True, "Document": _doc(
            {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"})}]}],
    }
    grants, missing = principal_grants(details)
    assert missing == []
    fraud = {g["principal"]: g for g in grants_on(grants, EP + "fraud-detector")}
    assert set(fraud) == {"role/named", "role/prefix", "user/ana"}  # denied: Deny wins; NotResource excludes it
    assert not fraud["role/named"]["wildcard"] and fraud["role/prefix"]["wildcard"]
    assert fraud["user/ana"]["condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    assert fraud["user/ana"]["basis"] == "inferred" and fraud["user/ana"]["policy"] == "group ds: inline g"
    other = {g["principal"] for g in grants_on(grants, EP + "search")}
    assert other == {"role/notresource", "user/ana"}


def test_a_grant_whose_managed_policy_document_is_missing_is_unknown() -> None:
    details = {"RoleDetailList": [{"Arn": "role/r", "AttachedManagedPolicies": [
        {"PolicyName": "Gone", "PolicyArn": "arn:gone"}]}], "GroupDetailList": [], "UserDetailList": [], "Policies": []}
    assert principal_grants(details)[1] == ["Gone"]


def _invoke_findings(graph: Any) -> dict[str, Any]:
    rule = [r for r in load_rules() if r.id == "SM-11-invoke-access"]
    return {f.resource.name: f for f in evaluate_rules(graph, rule).findings}


def test_endpoint_invokable_through_a_wildcard_fails_with_principals_and_statements(aws: None) -> None:
    seed_endpoint("fraud", model="fraud-model")
    seed_endpoint("search", model="search-model")
    iam = boto3.client("iam", region_name=REGION)
    iam.create_role(RoleName="caller", AssumeRolePolicyDocument=_doc())
    iam.put_role_policy(RoleName="caller", PolicyName="invoke-search", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": EP + "search"}))
    iam.create_user(UserName="ana")
    iam.put_user_policy(UserName="ana", PolicyName="invoke-fraud", PolicyDocument=_doc(
        {"Sid": "AllFraud", "Effect": "Allow", "Action": "sagemaker:Invoke*", "Resource": EP + "fraud*"}))
    graph, factory = run()
    got = _invoke_findings(graph)
    assert got["search"].status.value == "pass"
    fail = got["fraud"]
    assert fail.status.value == "fail"
    assert "user/ana (inline invoke-fraud statement AllFraud" in fail.message
    assert "permission boundaries and SCPs were not evaluated" in fail.message
    grants = graph.attrs(next(e for e in graph.nodes_of_type("sagemaker.endpoint") if e.endswith("/fraud")))["data"]
    assert grants["invoke_principals"] == [f"arn:aws:iam::{ACCT}:user/ana"]
    assert factory.counter.to_dict()["by_operation"].get("iam:GetAccountAuthorizationDetails") == 1


def test_unreadable_authorisation_details_make_invoke_access_error(aws: None) -> None:
    seed_endpoint("fraud", model="fraud-model")
    graph, _ = run(deny("iam.GetAccountAuthorizationDetails"))
    assert _invoke_findings(graph)["fraud"].status.value == "error"
    assert any(e.operation == "get_account_authorization_details" for e in graph.errors)


def test_details_leaving_out_an_existing_execution_role_are_incomplete_not_clean(aws: None) -> None:
    seed_endpoint("fraud", model="fraud-model")  # its model runs as role/none, which does not exist (deleted)
    graph, _ = run(empty("iam.GetAccountAuthorizationDetails"))
    assert _invoke_findings(graph)["fraud"].status.value == "pass"  # a deleted role proves nothing missing
    boto3.client("iam", region_name=REGION).create_role(RoleName="none", AssumeRolePolicyDocument=_doc())
    graph, factory = run(empty("iam.GetAccountAuthorizationDetails"))
    got = _invoke_findings(graph)["fraud"]
    assert got.status.value == "error"
    assert "left out role(s) that GetRole reads in this account: none" in got.message
    assert factory.counter.to_dict()["by_operation"].get("iam:GetRole") == 1  # the iam collector's read, shared
    graph, _ = run()  # the real answer lists it: decided again
    assert _invoke_findings(graph)["fraud"].status.value == "pass"


def _role_facts(graph: Any) -> dict[str, Any]:
    return {graph.attrs(r)["name"]: (graph.attrs(r)["data"], graph.attrs(r)["tags"], graph.attrs(r)["errors"])
            for r in graph.nodes_of_type("iam.role")}


def test_execution_roles_come_from_the_authorization_details_with_no_call_of_their_own(aws: None) -> None:
    seed_endpoint("fraud", model="fraud-model")  # runs as role/none
    iam = boto3.client("iam", region_name=REGION)
    iam.create_role(RoleName="none", AssumeRolePolicyDocument=_doc(), Tags=[{"Key": "team", "Value": "ml"}])
    iam.put_role_policy(RoleName="none", PolicyName="all-s3", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))
    wide = iam.create_policy(PolicyName="wide", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": ["ecr:*", "logs:PutLogEvents"], "Resource": "*"}))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="none", PolicyArn=wide)
    listed, factory = run()
    calls = factory.counter.to_dict()["by_operation"]
    assert calls["iam:GetAccountAuthorizationDetails"] == 1
    assert not {op for op in calls if op.startswith("iam:") and op != "iam:GetAccountAuthorizationDetails"}
    data, tags, errors = _role_facts(listed)["none"]
    assert data["wildcard_grants"] == ["wide: Allow ecr:* on Resource *", "inline all-s3: Allow s3:* on Resource *"]
    assert data["attached_policies"] == [wide] and data["inline_policies"] == ["all-s3"]
    assert tags == {"team": "ml"} and errors == {}
    # the same facts as the role's own reads give (the details refused: GetRole and its policy lists)
    own, factory = run(deny("iam.GetAccountAuthorizationDetails"))
    assert factory.counter.to_dict()["by_operation"]["iam:GetRole"] == 1
    assert _role_facts(own)["none"] == _role_facts(listed)["none"]


def test_a_managed_policy_document_the_details_leave_out_is_read_itself(aws: None) -> None:
    from auditor.collect.base import CollectError, Context
    from auditor.collect.iam import _listed_grants

    iam = boto3.client("iam", region_name=REGION)
    arn = iam.create_policy(PolicyName="p", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}))["Policy"]["Arn"]
    factory = run()[1]
    ctx = Context(factory=factory, account=ACCT, region=REGION, graph=None)  # type: ignore[arg-type]
    role = {"RoleName": "r", "AttachedManagedPolicies": [{"PolicyName": "p", "PolicyArn": arn}]}
    assert _listed_grants(ctx, role, {}) == ([arn], [], ["p: Allow kms:* on Resource *"])
    assert factory.counter.to_dict()["by_operation"]["iam:GetPolicyVersion"] == 1
    broken = {"RoleName": "r", "AttachedManagedPolicies": [{"PolicyName": "p"}]}
    with pytest.raises(CollectError, match="MalformedResponse.*without a PolicyArn"):
        _listed_grants(ctx, broken, {})
