"""What to audit: accounts (one, a list, or the whole Organization), their regions, and a shard of them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from auditor.session import SessionFactory

ACCOUNT_RE = re.compile(r"^\d{12}$")
ALL_REGIONS = "all"


class ScopeError(ValueError):
    """A bad --accounts/--region/--shard value: exit code 2, with what is allowed."""


@dataclass
class AccountTarget:
    """One account to audit and how to reach it; `reason` is set when it cannot be audited."""

    account_id: str | None  # None: whichever account the credentials belong to
    factory: SessionFactory
    name: str = ""
    status: str = "pending"  # pending -> audited | failed | skipped
    reason: str = ""
    error: tuple[str, str, str, str] | None = None  # (service, operation, code, message) when failed
    regions: list[str] = field(default_factory=list)
    failed_regions: dict[str, str] = field(default_factory=dict)  # region -> why it could not be read
    regions_without_endpoints: list[str] = field(default_factory=list)  # listed, empty, nothing more read

    def fail(self, service: str, operation: str, code: str, message: str) -> None:
        self.status, self.error = "failed", (service, operation, code, message[:500])
        self.reason = f"{service}:{operation}: {code}: {message}"[:500]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"account": self.account_id or "unknown", "status": self.status,
                               "regions": list(self.regions)}
        if self.failed_regions:
            out["failed_regions"] = dict(sorted(self.failed_regions.items()))
        if self.regions_without_endpoints:
            out["regions_without_endpoints"] = sorted(self.regions_without_endpoints)
        if self.name:
            out["name"] = self.name
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class Shard:
    index: int  # 0-based, as Kubernetes JOB_COMPLETION_INDEX and AWS_BATCH_JOB_ARRAY_INDEX are
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
        if not m or int(m[2]) < 1 or int(m[1]) >= int(m[2]):
            raise ScopeError(f"--shard {text!r}: expected I/N with 0 <= I < N, e.g. 0/4 .. 3/4 "
                             "(I is 0-based, like JOB_COMPLETION_INDEX and AWS_BATCH_JOB_ARRAY_INDEX)")
        return cls(int(m[1]), int(m[2]))

    def owns(self, account_id: str) -> bool:
        """Each account's shard depends on its id alone, so shards that list the organisation at slightly
        different moments still never audit an account twice or lose one that both lists contain."""
        digest = hashlib.sha256(account_id.encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_accounts(text: str | None) -> list[str] | str | None:
    """None (the caller's account), "org", or a list of 12-digit account ids."""
    if text is None or not text.strip():
        return None
    if text.strip().lower() == "org":
        return "org"
    ids = [a.strip() for a in text.split(",") if a.strip()]
    bad = [a for a in ids if not ACCOUNT_RE.match(a)]
    if bad:
        raise ScopeError(f"--accounts: {', '.join(bad)} is not a 12-digit account id; "
                         "allowed: ID[,ID...] or 'org' (every active account of the AWS Organization)")
    return list(dict.fromkeys(ids))


def resolve_accounts(base: SessionFactory, spec: list[str] | str | None, role_name: str | None,
                     external_id: str | None, shard: Shard | None = None) -> list[AccountTarget]:
    """The accounts to audit. The caller's own account is used directly; every other one through the role.

    Raises ScopeError only for input mistakes. An AWS failure (Organizations unreadable, identity unknown)
    comes back as a failed target, so the run reports an incomplete scope rather than aborting.
    """
    if spec is None:  # one account, id unknown until asked: the first shard has it
        return [AccountTarget(None, base)] if shard is None or shard.index == 0 else []
    from auditor.collect.errors import classify

    try:
        caller = base.account_id()
    except Exception as exc:  # noqa: BLE001 - reported as the scope's failure
        err = classify("sts", "GetCallerIdentity", exc)
        failed = AccountTarget(None, base)
        failed.fail("sts", "GetCallerIdentity", err.code, err.message)
        return [failed]
    names: dict[str, str] = {}
    skipped: list[AccountTarget] = []
    if spec == "org":
        try:
            accounts = _org_accounts(base)
        except Exception as exc:  # noqa: BLE001
            err = classify("organizations", "ListAccounts", exc)
            failed = AccountTarget(caller, base)
            failed.fail("organizations", "ListAccounts", err.code, err.message)
            return [failed]
        ids = []
        for a in accounts:
            names[a["Id"]] = a.get("Name", "")
            if a.get("Status", "ACTIVE") == "ACTIVE":
                ids.append(a["Id"])
            else:
                skipped.append(AccountTarget(a["Id"], base, a.get("Name", ""), "skipped",
                                             f"account status is {a.get('Status')}"))
    else:
        ids = list(spec)
    if any(i != caller for i in ids) and not role_name:
        raise ScopeError("--accounts reaches accounts other than the caller's: pass --role-name ROLE "
                         "(the role to assume in each, e.g. a read-only audit role)")
    targets = []
    for account_id in sorted(ids):
        if account_id == caller:
            targets.append(AccountTarget(caller, base, names.get(caller, "")))
        else:
            role = f"arn:aws:iam::{account_id}:role/{role_name}"
            targets.append(AccountTarget(account_id, base.assumed(role, external_id), names.get(account_id, "")))
    out = targets + skipped
    if shard is not None:
        out = [t for t in out if shard.owns(t.account_id or "")]
    return sorted(out, key=lambda t: t.account_id or "")


def _org_accounts(base: SessionFactory) -> list[dict[str, Any]]:
    client = base.client("organizations")
    out: list[dict[str, Any]] = []
    from auditor.collect.answers import check_answer

    # ListAccounts MaxResults: 1 to 20 (botocore's Organizations model); the default page is smaller
    for page in client.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 20}):
        check_answer(client, "organizations", "list_accounts", page)  # a malformed page is a failure, not no account
        out.extend(page["Accounts"])
    return out


def enabled_regions(factory: SessionFactory) -> list[str]:
    """The regions enabled for the account (opt-in regions only once opted in)."""
    from auditor.collect.answers import check_answer
    from auditor.collect.errors import MALFORMED, CollectError

    client = factory.client("ec2", region=factory.region_name() or "us-east-1")
    resp = client.describe_regions(AllRegions=False)
    check_answer(client, "ec2", "describe_regions", resp)
    if not resp.get("Regions"):  # neither required nor paginated in the model, but no account has no region
        raise CollectError("ec2", "DescribeRegions", MALFORMED, "answer not valid for the operation: no Regions")
    return sorted(r["RegionName"] for r in resp["Regions"]
                  if r.get("OptInStatus", "opt-in-not-required") != "not-opted-in")
