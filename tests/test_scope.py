"""Scope: account lists, shards that partition an organisation exactly, and the flags' errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.scope import AccountTarget, ScopeError, Shard, enabled_regions, parse_accounts, resolve_accounts

ids = st.lists(st.from_regex(r"\A\d{12}\Z"), min_size=0, max_size=60, unique=True)


class StubFactory:
    """Just enough of SessionFactory: who the caller is, and a child per assumed role."""

    role_arn = None

    def __init__(self, caller: str = "000000000000") -> None:
        self.caller = caller

    def account_id(self) -> str:
        return self.caller

    def assumed(self, role_arn: str, external_id: str | None = None) -> Any:
        child = StubFactory(self.caller)
        child.role_arn = role_arn  # type: ignore[assignment]
        return child


@given(accounts=ids, n=st.integers(min_value=1, max_value=12))
def test_shards_partition_the_accounts_exactly(accounts: list[str], n: int) -> None:
    factory: Any = StubFactory()
    picked = [[t.account_id for t in resolve_accounts(factory, accounts, "Audit", None, Shard(i, n))]
              for i in range(n)]
    flat = [a for shard in picked for a in shard]
    assert sorted(flat) == sorted(accounts)  # every account once: none lost, none twice
    for shard in picked:
        assert shard == sorted(shard)


@given(accounts=ids, extra=ids, n=st.integers(min_value=1, max_value=8))
def test_an_account_keeps_its_shard_when_others_join(accounts: list[str], extra: list[str], n: int) -> None:
    """Shards listing the organisation at different moments still agree on every account both saw."""
    before = {a: i for i in range(n) for a in accounts if Shard(i, n).owns(a)}
    after = {a: i for i in range(n) for a in accounts + [e for e in extra if e not in accounts] if Shard(i, n).owns(a)}
    assert all(after[a] == i for a, i in before.items())


def test_shards_are_roughly_balanced() -> None:
    accounts = [f"{i:012d}" for i in range(1000)]
    sizes = [sum(Shard(i, 4).owns(a) for a in accounts) for i in range(4)]
    assert sum(sizes) == 1000 and min(sizes) > 200


def test_a_single_account_run_goes_to_shard_zero() -> None:
    factory: Any = StubFactory()
    assert [len(resolve_accounts(factory, None, None, None, Shard(i, 3))) for i in range(3)] == [1, 0, 0]


@pytest.mark.parametrize("text", ["", "3", "1/0", "4/4", "-1/4", "a/b", "1/2/3", " / "])
def test_bad_shard_says_what_is_allowed(text: str) -> None:
    with pytest.raises(ScopeError, match="0 <= I < N"):
        Shard.parse(text)


def test_shard_parse_round_trips() -> None:
    assert str(Shard.parse(" 2 / 5 ")) == "2/5" and Shard.parse("0/1") == Shard(0, 1)


def test_accounts_parse() -> None:
    assert parse_accounts(None) is None and parse_accounts(" ") is None
    assert parse_accounts("ORG") == "org"
    assert parse_accounts("111111111111, 222222222222,111111111111") == ["111111111111", "222222222222"]
    with pytest.raises(ScopeError, match="12-digit"):
        parse_accounts("111111111111,12345")


def test_the_callers_account_is_used_without_assuming() -> None:
    factory: Any = StubFactory("111111111111")
    targets = resolve_accounts(factory, ["222222222222", "111111111111"], "Audit", "xid")
    assert [(t.account_id, t.factory.role_arn) for t in targets] == [
        ("111111111111", None), ("222222222222", "arn:aws:iam::222222222222:role/Audit")]


# Pinned: an account's shard is part of the deployment contract (an indexed Job's pod i audits exactly these), so
# it must not change between versions, processes or machines. Python's hash() would pass any in-process test.
PINNED_SHARDS_OF_4 = {"111111111111": 2, "123456789012": 2, "222222222222": 3, "333333333333": 0,
                      "444444444444": 1, "555555555555": 3, "999999999999": 0, "000000000001": 2}


def test_shard_ownership_is_pinned_to_fixed_shards() -> None:
    for account, index in PINNED_SHARDS_OF_4.items():
        assert [i for i in range(4) if Shard(i, 4).owns(account)] == [index], account


def test_shard_ownership_is_the_same_in_another_process() -> None:
    import json
    import os
    import subprocess
    import sys

    probe = ("import json, sys\nfrom auditor.scope import Shard\n"
             "ids = json.loads(sys.argv[1])\n"
             "print(json.dumps({a: [i for i in range(4) if Shard(i, 4).owns(a)][0] for a in ids}))\n")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # a different str-hash salt than this process's
    out = subprocess.run([sys.executable, "-c", probe, json.dumps(sorted(PINNED_SHARDS_OF_4))], env=env,
                         capture_output=True, text=True, check=True, timeout=60).stdout
    assert json.loads(out) == PINNED_SHARDS_OF_4


# --- the exact contract of the scope: targets, their report form, shards' bounds, Organizations and regions -----

def test_a_failed_target_reports_why_in_at_most_500_characters() -> None:
    t: Any = AccountTarget("111111111111", StubFactory())
    assert t.to_dict() == {"account": "111111111111", "status": "pending", "regions": []}
    t.fail("sts", "AssumeRole", "AccessDenied", "x" * 600)
    assert t.status == "failed" and t.error == ("sts", "AssumeRole", "AccessDenied", "x" * 500)
    assert t.reason == ("sts:AssumeRole: AccessDenied: " + "x" * 600)[:500]
    t.regions, t.name = ["us-east-1"], "prod"
    t.failed_regions = {"eu-west-1": "AccessDenied", "ap-south-1": "Throttling"}
    t.regions_without_endpoints = ["us-west-2", "ca-central-1"]
    assert t.to_dict() == {"account": "111111111111", "status": "failed", "regions": ["us-east-1"],
                           "failed_regions": {"ap-south-1": "Throttling", "eu-west-1": "AccessDenied"},
                           "regions_without_endpoints": ["ca-central-1", "us-west-2"], "name": "prod",
                           "reason": t.reason}
    assert list(t.to_dict()["failed_regions"]) == ["ap-south-1", "eu-west-1"]
    assert AccountTarget(None, StubFactory()).to_dict()["account"] == "unknown"  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "shard"), [("0/1", Shard(0, 1)), (" 3 / 4 ", Shard(3, 4)), ("12/13", Shard(12, 13))])
def test_a_shard_is_index_over_count(text: str, shard: Shard) -> None:
    assert Shard.parse(text) == shard and str(shard) == f"{shard.index}/{shard.count}"


@pytest.mark.parametrize("text", ["1/1", "4/4", "0/0", "-1/4", "a/4", "", "0/4/1"])
def test_a_shard_out_of_range_is_refused_with_the_allowed_form(text: str) -> None:
    with pytest.raises(ScopeError) as exc:
        Shard.parse(text)
    assert str(exc.value) == (f"--shard {text!r}: expected I/N with 0 <= I < N, e.g. 0/4 .. 3/4 (I is 0-based, like "
                              "JOB_COMPLETION_INDEX and AWS_BATCH_JOB_ARRAY_INDEX)")


def test_a_bad_account_list_names_every_bad_id() -> None:
    with pytest.raises(ScopeError) as exc:
        parse_accounts("12345, 111111111111,abc")
    assert str(exc.value) == ("--accounts: 12345, abc is not a 12-digit account id; allowed: ID[,ID...] or 'org' "
                              "(every active account of the AWS Organization)")
    assert parse_accounts(" org ") == "org" and parse_accounts(",111111111111,") == ["111111111111"]


def test_the_callers_own_account_goes_to_the_first_shard_only() -> None:
    base: Any = StubFactory()
    assert [t.account_id for t in resolve_accounts(base, None, None, None)] == [None]
    assert [t.factory for t in resolve_accounts(base, None, None, None, Shard(0, 3))] == [base]
    assert resolve_accounts(base, None, None, None, Shard(1, 3)) == []


def test_other_accounts_need_a_role_and_get_it_with_the_external_id() -> None:
    base: Any = StubFactory("111111111111")
    with pytest.raises(ScopeError) as exc:
        resolve_accounts(base, ["222222222222"], None, None)
    assert str(exc.value) == ("--accounts reaches accounts other than the caller's: pass --role-name ROLE (the role "
                              "to assume in each, e.g. a read-only audit role)")
    assert [(t.account_id, t.name) for t in resolve_accounts(base, ["111111111111"], None, None)] == [
        ("111111111111", "")]  # a listed account has no name to show (only the Organization gives names)
    seen: list[tuple[str, str | None]] = []
    base.assumed = lambda arn, xid=None: seen.append((arn, xid)) or StubFactory()
    assert {t.name for t in resolve_accounts(base, ["333333333333", "222222222222"], "Audit", "xid-1")} == {""}
    assert seen == [("arn:aws:iam::222222222222:role/Audit", "xid-1"), ("arn:aws:iam::333333333333:role/Audit",
                                                                       "xid-1")]


def test_a_shard_keeps_only_the_accounts_it_owns_in_order() -> None:
    base: Any = StubFactory("111111111111")
    spec = sorted(PINNED_SHARDS_OF_4, reverse=True)
    for i in range(4):
        got = [t.account_id for t in resolve_accounts(base, spec, "Audit", None, Shard(i, 4))]
        assert got == sorted(a for a, s in PINNED_SHARDS_OF_4.items() if s == i)


class Raising(StubFactory):
    def account_id(self) -> str:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "ExpiredToken", "Message": "the token expired"}}, "GetCallerIdentity")


def test_an_unknown_caller_is_a_failed_target_not_an_abort() -> None:
    base: Any = Raising()
    [t] = resolve_accounts(base, ["222222222222"], "Audit", None)
    assert (t.account_id, t.status, t.factory) == (None, "failed", base)
    assert t.error == ("sts", "GetCallerIdentity", "ExpiredToken", "the token expired")


class OrgFactory(StubFactory):
    """A factory whose clients are real botocore clients answering from a Stubber (no network, no server)."""

    def __init__(self, caller: str, service: str, *answers: dict[str, Any] | str, region: str | None = "eu-west-1"):
        super().__init__(caller)
        import boto3
        from botocore.stub import Stubber

        self.asked: list[tuple[str, str | None]] = []
        self._region = region
        self._client = boto3.client(service, region_name="us-east-1")
        self.stub = Stubber(self._client)
        for a in answers:
            op = "list_accounts" if service == "organizations" else "describe_regions"
            if isinstance(a, str):
                self.stub.add_client_error(op, a, "no")
            elif op == "list_accounts":  # pages of 20, the most ListAccounts gives
                self.stub.add_response(op, a, {"MaxResults": 20, **({"NextToken": "t"} if "NextToken" not in a
                                                                    and len(answers) > 1 else {})})
            else:
                self.stub.add_response(op, a, {"AllRegions": False})
        self.stub.activate()

    def client(self, service: str, region: str | None = None) -> Any:
        self.asked.append((service, region))
        return self._client

    def region_name(self) -> str | None:
        return self._region


def account(i: str, status: str = "ACTIVE", name: str = "") -> dict[str, Any]:
    return {"Id": i * 12, "Arn": f"arn:aws:organizations::{i * 12}:account/o-x/{i * 12}", "Email": "a@b.cd",
            "Name": name or f"acct-{i}", "Status": status}


def test_the_organisation_is_read_page_by_page_and_inactive_accounts_are_skipped_and_said() -> None:
    pages = [{"Accounts": [account("3"), account("1", name="mgmt")], "NextToken": "t"},
             {"Accounts": [account("2", "SUSPENDED"), account("4", "PENDING_CLOSURE")]}]
    base: Any = OrgFactory("111111111111", "organizations", *pages)
    targets = resolve_accounts(base, "org", "Audit", None)
    assert [(t.account_id, t.name, t.status, t.reason) for t in targets] == [
        ("111111111111", "mgmt", "pending", ""), ("222222222222", "acct-2", "skipped", "account status is SUSPENDED"),
        ("333333333333", "acct-3", "pending", ""),
        ("444444444444", "acct-4", "skipped", "account status is PENDING_CLOSURE")]
    assert targets[0].factory is base and targets[2].factory.role_arn == "arn:aws:iam::333333333333:role/Audit"
    assert base.asked == [("organizations", None)]
    base.stub.assert_no_pending_responses()


def test_an_account_without_a_status_is_taken_as_active() -> None:
    acct = account("2")
    del acct["Status"]
    base: Any = OrgFactory("111111111111", "organizations", {"Accounts": [acct]})
    assert [(t.account_id, t.status) for t in resolve_accounts(base, "org", "Audit", None)] == [
        ("222222222222", "pending")]


@pytest.mark.parametrize(("answer", "code"), [("AWSOrganizationsNotInUseException", "AWSOrganizationsNotInUseException"),
                                              ({"NextToken": "t"}, "MalformedResponse")])
def test_an_unreadable_organisation_is_a_failed_target(answer: dict[str, Any] | str, code: str) -> None:
    base: Any = OrgFactory("111111111111", "organizations", answer)
    [t] = resolve_accounts(base, "org", "Audit", None)
    assert (t.account_id, t.status, t.factory) == ("111111111111", "failed", base)
    assert t.error is not None and t.error[:3] == ("organizations", "ListAccounts", code)


def region(name: str, opt: str | None = None) -> dict[str, Any]:
    return {"RegionName": name, "Endpoint": f"ec2.{name}.amazonaws.com", **({"OptInStatus": opt} if opt else {})}


def test_enabled_regions_are_the_opted_in_ones_sorted() -> None:
    answer = {"Regions": [region("us-west-2"), region("af-south-1", "opted-in"), region("me-south-1", "not-opted-in"),
                          region("eu-west-1", "opt-in-not-required")]}
    factory: Any = OrgFactory("1", "ec2", answer)
    assert enabled_regions(factory) == ["af-south-1", "eu-west-1", "us-west-2"]
    assert factory.asked == [("ec2", "eu-west-1")]
    factory = OrgFactory("1", "ec2", answer, region=None)
    enabled_regions(factory)
    assert factory.asked == [("ec2", "us-east-1")]


def test_no_region_at_all_is_a_malformed_answer_not_an_empty_scope() -> None:
    from auditor.collect.errors import CollectError

    for answer in ({"Regions": []}, {}):
        with pytest.raises(CollectError) as exc:
            enabled_regions(OrgFactory("1", "ec2", answer))  # type: ignore[arg-type]
        assert (exc.value.service, exc.value.operation, exc.value.code) == ("ec2", "DescribeRegions",
                                                                          "MalformedResponse")


def test_an_account_without_a_name_is_named_by_nothing() -> None:
    nameless = [{k: v for k, v in account(i, status).items() if k != "Name"}
                for i, status in (("1", "ACTIVE"), ("2", "ACTIVE"), ("3", "SUSPENDED"))]
    base: Any = OrgFactory("111111111111", "organizations", {"Accounts": nameless})
    assert [(t.account_id, t.name) for t in resolve_accounts(base, "org", "Audit", None)] == [
        ("111111111111", ""), ("222222222222", ""), ("333333333333", "")]


def test_a_regions_answer_without_regions_says_what_is_missing() -> None:
    from auditor.collect.errors import CollectError

    with pytest.raises(CollectError) as exc:
        enabled_regions(OrgFactory("1", "ec2", {"Regions": []}))  # type: ignore[arg-type]
    assert exc.value.message == "answer not valid for the operation: no Regions"


def test_a_malformed_regions_answer_is_an_ec2_error_naming_the_problem() -> None:
    """botocore's Stubber refuses malformed answers, so a real client's method is replaced by a plain function."""
    import boto3

    from auditor.collect.errors import CollectError

    client = boto3.client("ec2", region_name="us-east-1")
    client.describe_regions = lambda **kw: {"Regions": [{"RegionName": 5}]}
    factory: Any = OrgFactory("1", "ec2", {"Regions": [region("us-east-1")]})
    factory._client = client
    with pytest.raises(CollectError) as exc:
        enabled_regions(factory)
    assert (exc.value.service, exc.value.code) == ("ec2", "MalformedResponse")
    assert exc.value.message == "answer not valid for the operation: Regions[0].RegionName is int, expected string"
