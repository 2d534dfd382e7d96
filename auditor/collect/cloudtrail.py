"""CloudTrail collector: trails that log this region, their status and whether they capture endpoint data events."""

from __future__ import annotations

from functools import partial
from typing import Any

from auditor.collect.base import STAGE_RELATED, CollectError, Context, collector, read_ahead

DATA_RESOURCE = "AWS::SageMaker::Endpoint"


@collector("cloudtrail", STAGE_RELATED, permissions=[
    "cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors",
], finds=["cloudtrail.trail"], fills=[("aws.region", "rel:has_trail")])
def collect_cloudtrail(ctx: Context) -> None:
    """Only trails that cover this region (multi-region, or home region here) are linked to it."""
    g = ctx.graph
    g.add_node(ctx.region_node, "aws.region", name=ctx.region, account=ctx.account, region=ctx.region)
    trails = ctx.ahead(read_trails)
    if isinstance(trails, CollectError):
        ctx.listing_failed(trails, ("cloudtrail.trail",))
        g.set_error(ctx.region_node, "rel:has_trail", trails.reason)
        return
    for t in trails:
        if not (t.get("IsMultiRegionTrail") or t.get("HomeRegion") == ctx.region):
            continue
        tid = t["TrailARN"]
        if tid not in g:
            g.add_node(tid, "cloudtrail.trail", name=t["Name"], account=ctx.account, region=t.get("HomeRegion", ""),
                       data={"multi_region": bool(t.get("IsMultiRegionTrail")), "home_region": t.get("HomeRegion"),
                             "organization_trail": bool(t.get("IsOrganizationTrail")),
                             "log_file_validation": bool(t.get("LogFileValidationEnabled"))})
            _status(ctx, tid, t.get("HomeRegion") or ctx.region)
        g.add_edge(ctx.region_node, "has_trail", tid)


@read_ahead("cloudtrail")
def read_trails(ctx: Context) -> list[dict[str, Any]]:
    trails: list[dict[str, Any]] = ctx.call("cloudtrail", "describe_trails", includeShadowTrails=True).get(
        "trailList", [])
    for t in trails:  # status and selectors too (memoised per account, so _status below finds them read)
        if (t.get("IsMultiRegionTrail") or t.get("HomeRegion") == ctx.region) and t.get("TrailARN"):
            tid: str = t["TrailARN"]
            ctx.once(("cloudtrail.trail", tid), partial(_read_trail, ctx, tid, t.get("HomeRegion") or ctx.region))
    return trails


def _read_trail(ctx: Context, tid: str, home: str) -> dict[str, Any]:
    """Status and selectors, asked of the trail's home region (a shadow trail is not always answered elsewhere)."""
    out: dict[str, Any] = {}
    for key, op, args in (("status", "get_trail_status", {"Name": tid}),
                          ("selectors", "get_event_selectors", {"TrailName": tid})):
        try:
            out[key] = ctx.call_in(home, "cloudtrail", op, **args)
        except CollectError as err:
            out[key] = err
    return out


def _status(ctx: Context, tid: str, home: str) -> None:
    g = ctx.graph
    read = ctx.once(("cloudtrail.trail", tid), lambda: _read_trail(ctx, tid, home))
    st, sel = read["status"], read["selectors"]
    if isinstance(st, CollectError):
        ctx.node_failed(tid, "is_logging", st)
    else:
        g.set_data(tid, is_logging=bool(st.get("IsLogging")))
    if isinstance(sel, CollectError):
        ctx.node_failed(tid, "captures_endpoint_data_events", sel)
    else:
        advanced = sel.get("AdvancedEventSelectors") or []
        g.set_data(tid, advanced_event_selectors=advanced, uses_basic_selectors=bool(sel.get("EventSelectors")),
                   captures_endpoint_data_events=any(captures_endpoint_data(s) for s in advanced))


def captures_endpoint_data(selector: dict[str, Any]) -> bool:
    """True when an advanced selector logs data events for SageMaker endpoints (InvokeEndpoint)."""
    fields = {f.get("Field"): f for f in selector.get("FieldSelectors", [])}
    category = fields.get("eventCategory", {})
    rtype = fields.get("resources.type", {})
    return "Data" in (category.get("Equals") or []) and DATA_RESOURCE in (rtype.get("Equals") or [])
