"""EC2 collector: the subnets (with AZ), security groups and VPCs of model VpcConfigs, and VPC endpoints."""

from __future__ import annotations

from typing import Any

from auditor.collect.base import STAGE_RELATED, CollectError, Context, collector, tags_to_dict

WORLD = {"0.0.0.0/0", "::/0"}


@collector("ec2", STAGE_RELATED, permissions=[
    "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcEndpoints",
], finds=["ec2.subnet", "ec2.security_group", "ec2.vpc", "ec2.vpc_endpoint"],
   fills=[("sagemaker.model", "rel:in_subnet"), ("sagemaker.model", "rel:has_security_group")])
def collect_ec2(ctx: Context) -> None:
    """Batch-describes referenced subnets and groups; falls back to one-by-one when an id is missing."""
    g = ctx.graph
    refs: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = ctx.cache.get("vpc_refs", [])
    subnet_ids = sorted({s for _, subnets, _ in refs for s in subnets})
    group_ids = sorted({s for _, _, groups in refs for s in groups})
    vpcs: set[str] = set()
    for item in _describe(ctx, "describe_subnets", "Subnets", "SubnetIds", subnet_ids, "ec2.subnet"):
        if isinstance(item, str):
            continue
        sid = _arn(ctx, "subnet", item["SubnetId"])
        g.add_node(sid, "ec2.subnet", name=item["SubnetId"], account=ctx.account, region=ctx.region,
                   tags=tags_to_dict(item.get("Tags")), data={
                       "subnet_id": item["SubnetId"], "availability_zone": item.get("AvailabilityZone"),
                       "availability_zone_id": item.get("AvailabilityZoneId"), "vpc_id": item.get("VpcId"),
                       "cidr_block": item.get("CidrBlock"),
                   })
        vpcs.add(item.get("VpcId", ""))
    for item in _describe(ctx, "describe_security_groups", "SecurityGroups", "GroupIds", group_ids,
                          "ec2.security_group"):
        if isinstance(item, str):
            continue
        open_rules = [_rule_text(r) for r in item.get("IpPermissions", []) if _open(r)]
        g.add_node(_arn(ctx, "security-group", item["GroupId"]), "ec2.security_group", name=item["GroupId"],
                   account=ctx.account, region=ctx.region, tags=tags_to_dict(item.get("Tags")), data={
                       "group_id": item["GroupId"], "group_name": item.get("GroupName"), "vpc_id": item.get("VpcId"),
                       "open_ingress_rules": open_rules,
                   })
        vpcs.add(item.get("VpcId", ""))
    for model, subnets, groups in refs:
        for s in subnets:
            g.add_edge(model, "in_subnet", _ensure(ctx, "ec2.subnet", _arn(ctx, "subnet", s), s))
        for s in groups:
            g.add_edge(model, "has_security_group", _ensure(ctx, "ec2.security_group",
                                                             _arn(ctx, "security-group", s), s))
    _vpcs(ctx, sorted(v for v in vpcs if v))


def _vpcs(ctx: Context, vpc_ids: list[str]) -> None:
    g = ctx.graph
    for vpc_id in vpc_ids:
        g.add_node(_arn(ctx, "vpc", vpc_id), "ec2.vpc", name=vpc_id, account=ctx.account, region=ctx.region,
                   data={"vpc_id": vpc_id})
    for nid in g.nodes_of_type("ec2.subnet") + g.nodes_of_type("ec2.security_group"):
        vid = g.attrs(nid)["data"].get("vpc_id")
        if vid and g.attrs(nid)["region"] == ctx.region:
            g.add_edge(nid, "in_vpc", _arn(ctx, "vpc", vid))
    if not vpc_ids:
        return
    try:
        eps = ctx.paginate("ec2", "describe_vpc_endpoints", "VpcEndpoints",
                           Filters=[{"Name": "vpc-id", "Values": vpc_ids}])
    except CollectError as err:
        ctx.listing_failed(err, ("ec2.vpc_endpoint",))
        for vpc_id in vpc_ids:
            g.set_error(_arn(ctx, "vpc", vpc_id), "rel:has_vpc_endpoint", err.reason)
        return
    for e in eps:
        eid = _arn(ctx, "vpc-endpoint", e["VpcEndpointId"])
        g.add_node(eid, "ec2.vpc_endpoint", name=e["VpcEndpointId"], account=ctx.account, region=ctx.region,
                   tags=tags_to_dict(e.get("Tags")), data={
                       "service_name": e.get("ServiceName"), "endpoint_type": e.get("VpcEndpointType"),
                       "state": (e.get("State") or "").lower(), "private_dns_enabled": e.get("PrivateDnsEnabled"),
                   })
        g.add_edge(_arn(ctx, "vpc", e["VpcId"]), "has_vpc_endpoint", eid)


def _describe(ctx: Context, op: str, key: str, param: str, ids: list[str], type_: str) -> list[Any]:
    """One batched call; if it fails because one id is missing, describe one by one so the rest survive."""
    if not ids:
        return []
    try:
        items = ctx.paginate("ec2", op, key, **{param: ids})
    except CollectError as err:
        if not err.not_found:
            for i in ids:
                ctx.node_failed(_ensure(ctx, type_, _arn(ctx, _kind(type_), i), i), "describe", err)
            return []
    else:
        return _returned(ctx, op, ids, items, type_)
    out: list[Any] = []
    for i in ids:
        try:
            out.extend(_returned(ctx, op, [i], ctx.paginate("ec2", op, key, **{param: [i]}), type_))
        except CollectError as err:
            nid = _ensure(ctx, type_, _arn(ctx, _kind(type_), i), i)
            if err.not_found:
                ctx.graph.attrs(nid)["dangling"] = True
            else:
                ctx.node_failed(nid, "describe", err)
    return out


def _returned(ctx: Context, op: str, ids: list[str], items: list[Any], type_: str) -> list[Any]:
    """EC2 answers an id it does not know with an error (InvalidGroup.NotFound, ...), so a successful answer that
    leaves out a requested id is malformed: that resource is unread, never a resource with nothing wrong in it."""
    field = {"ec2.subnet": "SubnetId", "ec2.security_group": "GroupId"}[type_]
    got = {i.get(field) for i in items if isinstance(i, dict)}
    for i in ids:
        if i not in got:
            ctx.node_failed(_ensure(ctx, type_, _arn(ctx, _kind(type_), i), i), "describe", CollectError(
                "ec2", "".join(w.title() for w in op.split("_")), "MalformedResponse",
                f"the answer leaves out the requested {i}"))
    return items


def _kind(type_: str) -> str:
    return {"ec2.subnet": "subnet", "ec2.security_group": "security-group"}[type_]


def _ensure(ctx: Context, type_: str, nid: str, name: str) -> str:
    if nid not in ctx.graph:
        ctx.graph.add_node(nid, type_, name=name, account=ctx.account, region=ctx.region)
    return nid


def _arn(ctx: Context, kind: str, ident: str) -> str:
    return f"arn:aws:ec2:{ctx.region}:{ctx.account}:{kind}/{ident}"


def _open(rule: dict[str, Any]) -> bool:
    cidrs = {r.get("CidrIp") for r in rule.get("IpRanges", [])}
    cidrs |= {r.get("CidrIpv6") for r in rule.get("Ipv6Ranges", [])}
    return bool(cidrs & WORLD)


def _rule_text(rule: dict[str, Any]) -> str:
    proto = rule.get("IpProtocol", "-1")
    ports = "all" if proto == "-1" else f"{rule.get('FromPort')}-{rule.get('ToPort')}"
    return f"{'all' if proto == '-1' else proto}:{ports} from the internet"
