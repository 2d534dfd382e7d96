"""Who may invoke each endpoint: identity policies from one paged GetAccountAuthorizationDetails read per account."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from typing import Any

from auditor.collect.base import STAGE_RELATED, CollectError, Context, collector, read_ahead
from auditor.collect.iam import _doc, _read_role, authorization_details, managed_documents

ACTION = "sagemaker:invokeendpoint"
NOT_EVALUATED = "permission boundaries and SCPs were not evaluated (they can only narrow this access)"
MAX_LISTED = 10  # grants quoted in a finding's explanation; the attribute keeps them all


FACETS = ("invoke_wildcard_grants", "invoke_principals", "invoke_access_basis")  # what it sets on each endpoint


@collector("iam-access", STAGE_RELATED, permissions=["iam:GetAccountAuthorizationDetails"], finds=[],
           fills=[("sagemaker.endpoint", f) for f in FACETS], needs=["iam"])  # its role reads (_roles_left_out)
def collect_invoke_access(ctx: Context) -> None:
    """For each endpoint of the region: the principals whose identity policies allow InvokeEndpoint on it."""
    g = ctx.graph
    endpoints = [e for e in g.nodes_of_type("sagemaker.endpoint")
                 if g.attrs(e)["region"] == ctx.region and not g.attrs(e)["dangling"]]
    if not endpoints:
        return
    details = ctx.ahead(read_authorization_details)
    if isinstance(details, CollectError):
        _unknown(ctx, endpoints, details.reason)  # every endpoint's access is unknown
        ctx.listing_failed(details, ())
        return
    absent = _roles_left_out(ctx, details)
    if absent:  # not the account's whole list of principals: unknown, never "no one may invoke"
        _unknown(ctx, endpoints, "GetAccountAuthorizationDetails left out role(s) that GetRole reads in this account: "
                                 f"{', '.join(absent)}")
        return
    grants, missing = principal_grants(details)
    if missing:  # an attached policy whose document was not returned might grant it: unknown, never "no grant"
        _unknown(ctx, endpoints, "attached managed policy document(s) not returned by "
                                 f"GetAccountAuthorizationDetails: {', '.join(missing)}")
        return
    for e in endpoints:
        found = grants_on(grants, e)
        wildcard = [x for x in found if x["wildcard"]]
        g.set_data(e, invoke_principals=sorted({x["principal"] for x in found}), invoke_wildcard_grants=wildcard,
                   invoke_access_basis="inferred" if any(x.get("condition") for x in wildcard) else "proven",
                   explain={**(g.attrs(e)["data"].get("explain") or {}),
                            "invoke_wildcard_grants": explain(wildcard)})


def _roles_left_out(ctx: Context, details: dict[str, list[Any]]) -> list[str]:
    """The execution roles of this account's models that exist (GetRole answered) but the details do not list.

    A role GetRole cannot find was deleted after the model was made (a real state: the endpoint keeps serving), so
    only roles known to exist now prove the answer incomplete. The read is the iam collector's, memoised per account:
    no extra call."""
    listed = {r.get("RoleName") for r in details.get("RoleDetailList", []) if isinstance(r, dict)}
    out = set()
    for _, arn in ctx.cache.get("role_refs", []):
        if not isinstance(arn, str) or arn.split(":")[4:5] != [ctx.account]:
            continue
        name = arn.rsplit("/", 1)[-1]
        role = ctx.once(("iam.role", name), _reader(ctx, name))["role"]
        if isinstance(role, dict) and role.get("RoleName", name) not in listed:
            out.add(name)
    return sorted(out)


def _reader(ctx: Context, name: str) -> Callable[[], dict[str, Any]]:
    return lambda: _read_role(ctx, name)


def _unknown(ctx: Context, endpoints: list[str], why: str) -> None:
    for e in endpoints:
        for facet in FACETS:
            ctx.graph.set_error(e, facet, why)


@read_ahead("iam-access", "iam")
def read_authorization_details(ctx: Context) -> Any:
    """Once per account (every region's unit, and the iam collector's role reads, share it)."""
    return authorization_details(ctx)


def _statements(doc: Any) -> list[dict[str, Any]]:
    st = _doc(doc).get("Statement", [])
    return [s for s in (st if isinstance(st, list) else [st]) if isinstance(s, dict)]


def _list(v: Any) -> list[str]:
    return [v] if isinstance(v, str) else [x for x in v if isinstance(x, str)] if isinstance(v, list) else []


def _matches(patterns: list[str], value: str) -> bool:
    # IAM wildcards: * and ? only (no character classes); actions compare case-insensitively
    return any(fnmatch.fnmatchcase(value.lower(), p.lower().replace("[", "[[]")) for p in patterns)


def allows_invoke(st: dict[str, Any]) -> bool:
    """The statement's action part covers sagemaker:InvokeEndpoint (Action patterns, or a NotAction not listing it)."""
    if "NotAction" in st:
        return not _matches(_list(st["NotAction"]), ACTION)
    return _matches(_list(st.get("Action")), ACTION)


def _policy_docs(principal: dict[str, Any], inline_key: str, managed: dict[str, Any]) -> list[tuple[str, Any]]:
    docs = [(f"inline {p.get('PolicyName')}", p.get("PolicyDocument") or {}) for p in principal.get(inline_key) or []]
    for p in principal.get("AttachedManagedPolicies") or []:
        docs.append((p.get("PolicyName") or p.get("PolicyArn"), managed.get(p.get("PolicyArn"))))
    return docs


def principal_grants(details: dict[str, list[Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Every Allow (and Deny) statement covering InvokeEndpoint, per principal (users inherit their groups'), and
    the attached managed policies whose document the answer did not include."""
    managed = managed_documents(details)
    groups = {g.get("GroupName"): _policy_docs(g, "GroupPolicyList", managed) for g in details["GroupDetailList"]}
    principals = [(r.get("Arn"), _policy_docs(r, "RolePolicyList", managed)) for r in details["RoleDetailList"]]
    for u in details["UserDetailList"]:
        docs = _policy_docs(u, "UserPolicyList", managed)
        for gname in u.get("GroupList") or []:
            docs += [(f"group {gname}: {name}", d) for name, d in groups.get(gname, [])]
        principals.append((u.get("Arn"), docs))
    out = []
    missing: set[str] = set()
    for arn, docs in principals:
        for policy, doc in docs:
            if doc is None:
                missing.add(str(policy))
                continue
            for i, st in enumerate(_statements(doc)):
                if st.get("Effect") in ("Allow", "Deny") and allows_invoke(st):
                    out.append({"principal": arn, "policy": policy, "statement": st.get("Sid") or i,
                                "effect": st["Effect"], "statement_json": st})
    return out, sorted(missing)


def _resource_hit(st: dict[str, Any], arn: str) -> tuple[bool, bool]:
    """(the statement's resources cover the endpoint ARN, through a wildcard pattern)."""
    if "NotResource" in st:
        excluded = _matches(_list(st["NotResource"]), arn)
        return (not excluded, not excluded)
    hits = [r for r in _list(st.get("Resource")) if _matches([r], arn)]
    return (bool(hits), any("*" in r or "?" in r for r in hits))


def grants_on(grants: list[dict[str, Any]], endpoint_arn: str) -> list[dict[str, Any]]:
    """Principals allowed to invoke this endpoint, unless an unconditioned Deny of theirs covers it."""
    denied = {x["principal"] for x in grants if x["effect"] == "Deny" and not x["statement_json"].get("Condition")
              and _resource_hit(x["statement_json"], endpoint_arn)[0]}
    out = []
    for x in grants:
        st = x["statement_json"]
        hit, wildcard = _resource_hit(st, endpoint_arn)
        if x["effect"] != "Allow" or not hit or x["principal"] in denied:
            continue
        grant = {"principal": x["principal"], "policy": x["policy"], "statement": x["statement"],
                 "action": _list(st.get("Action")) or {"NotAction": _list(st.get("NotAction"))},
                 "resource": _list(st.get("Resource")) or {"NotResource": _list(st.get("NotResource"))},
                 "wildcard": wildcard}
        if st.get("Condition"):
            grant["condition"] = st["Condition"]
            grant["basis"] = "inferred"  # whether the condition holds for a caller is not known here
        out.append(grant)
    return sorted(out, key=lambda x: (x["principal"], str(x["policy"]), str(x["statement"])))


def explain(wildcard: list[dict[str, Any]]) -> str:
    if not wildcard:
        return f"no identity policy grants sagemaker:InvokeEndpoint on it through a wildcard resource; {NOT_EVALUATED}"
    shown = "; ".join(
        f"{x['principal']} ({x['policy']} statement {x['statement']}: {json.dumps(x['action'])} on "
        f"{json.dumps(x['resource'])}" + (f", if {json.dumps(x['condition'])}" if x.get("condition") else "") + ")"
        for x in wildcard[:MAX_LISTED])
    more = f" and {len(wildcard) - MAX_LISTED} more" if len(wildcard) > MAX_LISTED else ""
    return (f"{len({x['principal'] for x in wildcard})} principal(s) can invoke it through a wildcard resource: "
            f"{shown}{more}; {NOT_EVALUATED}")
