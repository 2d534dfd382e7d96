"""IAM collector: model execution roles with attached and inline policies, judged for wildcard grants."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from typing import Any

from auditor.collect.base import STAGE_RELATED, CollectError, Context, collector, tags_to_dict

ADMIN_POLICIES = {"arn:aws:iam::aws:policy/AdministratorAccess"}


def _unread_roles(ctx: Context) -> list[str]:
    return [arn.rsplit("/", 1)[-1] for _, arn in ctx.cache.get("role_refs", []) if arn not in ctx.graph]


def _role_reader(ctx: Context) -> Callable[[str], dict[str, Any]]:
    return lambda name: ctx.once(("iam.role", name), lambda: _read_role(ctx, name))


def start_iam(ctx: Context) -> None:
    """Early hook: the models' execution roles are known once the roots stage is done."""
    ctx.start("iam.roles", _role_reader(ctx), _unread_roles(ctx))


@collector("iam", STAGE_RELATED, permissions=[
    "iam:GetAccountAuthorizationDetails", "iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies",
    "iam:GetRolePolicy", "iam:GetPolicy", "iam:GetPolicyVersion",
], early=start_iam, finds=["iam.role"], fills=[("sagemaker.model", "rel:runs_as")])
def collect_iam(ctx: Context) -> None:
    """IAM is global: each role and each managed policy document is read once per account."""
    g = ctx.graph
    refs = ctx.cache.get("role_refs", [])
    # each role's reads on the call pool (memoised per account); applied below in reference order
    ctx.fetch_all(_role_reader(ctx), _unread_roles(ctx), started="iam.roles")
    for model, role_arn in refs:
        if role_arn not in g:
            _role(ctx, role_arn)
        g.add_edge(model, "runs_as", role_arn)


def _role(ctx: Context, arn: str) -> None:
    g = ctx.graph
    name = arn.rsplit("/", 1)[-1]
    g.add_node(arn, "iam.role", name=name, account=ctx.account, region="global")
    read = ctx.once(("iam.role", name), lambda: _read_role(ctx, name))
    if isinstance(read["role"], CollectError):
        ctx.describe_failed(arn, "iam.role", name, read["role"])
        return
    g.set_tags(arn, tags_to_dict(read["role"].get("Tags")))
    if isinstance(read["policies"], CollectError):
        ctx.node_failed(arn, "wildcard_grants", read["policies"])
        return
    attached, inline, findings = read["policies"]
    g.set_data(arn, attached_policies=attached, inline_policies=inline, wildcard_grants=findings)


AUTH_PAGE = 1000  # GetAccountAuthorizationDetails MaxItems: 1 to 1000 (botocore's IAM model)


def authorization_details(ctx: Context) -> dict[str, list[Any]] | CollectError:
    """Every page of the account's users, groups, roles and managed policies (one call per page, not per
    principal), read once per account: the invoke-access collector needs all of it, and the roles it lists spare
    each execution role its own reads. A failed page gives its CollectError."""
    return ctx.once(("iam.authorization_details",), lambda: _read_details(ctx))


def _read_details(ctx: Context) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    marker = None
    while True:
        page = ctx.call("iam", "get_account_authorization_details", MaxItems=AUTH_PAGE,
                        **({"Marker": marker} if marker else {}))
        for k in out:
            out[k] += page.get(k) or []
        marker = page.get("Marker")
        if not page.get("IsTruncated") or not marker:
            return out


def managed_documents(details: dict[str, list[Any]]) -> dict[Any, Any]:
    """Managed policy ARN -> its default version's document (None where the details left the document out)."""
    out = {}
    for p in details.get("Policies", []):
        default = next((v for v in p.get("PolicyVersionList") or [] if v.get("IsDefaultVersion")), None)
        out[p.get("Arn")] = (default or {}).get("Document")
    return out


def _read_role(ctx: Context, name: str) -> dict[str, Any]:
    """The role and what its policies grant: IAM is global, so every region of the account shares this read.

    From the account's authorization details when they list the role (no call of its own); otherwise (the
    details refused, or the role left out of them) from GetRole and the role's policy lists."""
    roles, documents = ctx.once(("iam.authorization_index",), lambda: _index(authorization_details(ctx)))
    listed = roles.get(name)
    if listed is not None:
        try:
            return {"role": listed, "policies": _listed_grants(ctx, listed, documents)}
        except CollectError as err:
            return {"role": listed, "policies": err}
    try:
        role = ctx.call("iam", "get_role", RoleName=name)["Role"]
    except CollectError as err:
        return {"role": err, "policies": err}
    try:
        attached = [(p["PolicyName"], p["PolicyArn"]) for p in
                    ctx.paginate("iam", "list_attached_role_policies", "AttachedPolicies", RoleName=name)]
        inline = [(pname, ctx.call("iam", "get_role_policy", RoleName=name, PolicyName=pname)["PolicyDocument"])
                  for pname in ctx.paginate("iam", "list_role_policies", "PolicyNames", RoleName=name)]
        return {"role": role, "policies": _grants(ctx, attached, inline, {})}
    except CollectError as err:
        return {"role": role, "policies": err}


def _index(details: dict[str, list[Any]] | CollectError) -> tuple[dict[str, Any], dict[Any, Any]]:
    """The details' roles by name and managed documents by ARN, made once per account (nothing when refused)."""
    if isinstance(details, CollectError):
        return {}, {}
    roles = {r["RoleName"]: r for r in details["RoleDetailList"] if isinstance(r, dict) and r.get("RoleName")}
    return roles, managed_documents(details)


def _listed_grants(ctx: Context, role: dict[str, Any],
                   documents: dict[Any, Any]) -> tuple[list[str], list[str], list[str]]:
    """_grants of a role the authorization details list; a policy they give without what judging it needs is a
    malformed answer, never judged."""
    attached = []
    for p in role.get("AttachedManagedPolicies") or []:
        arn = p.get("PolicyArn")
        if not isinstance(arn, str) or not arn:  # optional in the API's shape, but a grant we could not judge
            raise CollectError("iam", "get_account_authorization_details", "MalformedResponse",
                               f"role {role.get('RoleName')}: an attached policy without a PolicyArn")
        attached.append((p.get("PolicyName") or arn, arn))
    inline = []
    for p in role.get("RolePolicyList") or []:
        if not isinstance(p.get("PolicyName"), str) or p.get("PolicyDocument") is None:
            raise CollectError("iam", "get_account_authorization_details", "MalformedResponse",
                               f"role {role.get('RoleName')}: an inline policy without its name or document")
        inline.append((p["PolicyName"], p["PolicyDocument"]))
    return _grants(ctx, attached, inline, documents)


def _grants(ctx: Context, attached: list[tuple[str, str]], inline: list[tuple[str, Any]],
            documents: dict[Any, Any]) -> tuple[list[str], list[str], list[str]]:
    """(attached policy ARNs, inline policy names, wildcard grants) of a role's (name, ARN) attached and (name,
    document) inline policies, whichever read listed them; a managed document not in `documents` is read (once
    per account)."""
    findings: list[str] = []
    for pname, arn in attached:
        if arn in ADMIN_POLICIES:
            findings.append(f"attached {pname}")
        elif documents.get(arn) is not None:
            findings += [f"{pname}: {w}" for w in wildcard_grants(_doc(documents[arn]))]
        else:
            findings += [f"{pname}: {w}" for w in _managed_wildcards(ctx, arn)]
    findings += [f"inline {pname}: {w}" for pname, doc in inline for w in wildcard_grants(_doc(doc))]
    return [arn for _, arn in attached], [pname for pname, _ in inline], findings


def _managed_wildcards(ctx: Context, policy_arn: str) -> list[str]:
    def read() -> list[str]:
        pol = ctx.call("iam", "get_policy", PolicyArn=policy_arn)["Policy"]
        ver = ctx.call("iam", "get_policy_version", PolicyArn=policy_arn, VersionId=pol["DefaultVersionId"])
        return wildcard_grants(_doc(ver["PolicyVersion"]["Document"]))

    got = ctx.once(("iam.policy", policy_arn), read)
    if isinstance(got, CollectError):
        raise got
    return list(got)


def _doc(doc: Any) -> dict[str, Any]:
    if isinstance(doc, str):  # IAM returns URL-encoded JSON over the query protocol
        doc = json.loads(urllib.parse.unquote(doc))
    return doc if isinstance(doc, dict) else {}


def wildcard_grants(doc: dict[str, Any]) -> list[str]:
    """Allow statements granting `*` or `service:*` on `Resource: *` (least-privilege violations)."""
    out = []
    statements = doc.get("Statement", [])
    for st in statements if isinstance(statements, list) else [statements]:
        if not isinstance(st, dict) or st.get("Effect") != "Allow" or "NotAction" in st:
            if isinstance(st, dict) and st.get("Effect") == "Allow" and "NotAction" in st:
                out.append("Allow with NotAction (grants everything not listed)")
            continue
        actions = st.get("Action", [])
        resources = st.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if "*" not in resources:
            continue
        for a in actions:
            if a == "*" or a.endswith(":*"):
                out.append(f"Allow {a} on Resource *")
    return out
