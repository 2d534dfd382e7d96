"""Scope: account lists, shards that partition an organisation exactly, and the flags' errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.scope import ScopeError, Shard, parse_accounts, resolve_accounts

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
