"""SageMaker collector: endpoints, configs, variants, models, containers, registry packages, transform jobs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from auditor.collect.base import (
    STAGE_ROOTS,
    CollectError,
    Context,
    collector,
    parse_s3_uri,
    read_ahead,
    tags_to_dict,
)
from auditor.collect.registry_match import match_unregistered
from auditor.collect.sagemaker_bulk import (
    DESCRIBE_ONLY,
    SEARCHED_NOT_DESCRIBED,
    describe_config,
    describe_endpoint,
    describe_model,
    describe_package,
    list_endpoints,
    list_group,
    list_tags,
    prefetch,
)
from auditor.collect.sagemaker_shapes import package_pipeline, shape_limits, undisclosed

SM = "sagemaker"
ENDPOINT_TYPES = (
    "sagemaker.endpoint", "sagemaker.endpoint_config", "sagemaker.variant", "sagemaker.model",
    "sagemaker.container", "sagemaker.model_package",
)
# ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn]/REPO[:tag|@digest]
IMAGE_RE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repo>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>.+))?$"
)


@cache
def instance_types() -> dict[str, dict[str, int]]:
    text = resources.files("auditor.data").joinpath("instance_types.json").read_text()
    return json.loads(text)["types"]


def parse_image(uri: str) -> dict[str, Any]:
    m = IMAGE_RE.match(uri or "")
    if not m:
        location = re.split(r"[@]|:(?=[^/]*$)", uri or "")[0] or None
        return {"image_registry_account": None, "image_region": None, "image_repository": None,
                "image_tag": None, "image_digest": None, "image_is_ecr": False, "image_location": location}
    return {"image_registry_account": m["account"], "image_region": m["region"], "image_repository": m["repo"],
            "image_tag": m["tag"], "image_digest": m["digest"], "image_is_ecr": True,
            "image_location": f"{m['account']}.dkr.ecr.{m['region']}.amazonaws.com/{m['repo']}"}


def _tags(ctx: Context, node_id: str, arn: str, inline: list[dict[str, Any]] | None = None) -> None:
    """Tags from the bulk read (or the resource's own search record); ListTags only for what neither covered.
    Tags no rule reads are not asked for: they stay None, which a rule reading them later takes as unknown ("tags
    could not be read: not collected"); no error entry, so the node's other attributes keep the fast read."""
    if inline is None and not ctx.wants(ctx.graph.attrs(node_id)["type"], "tags"):
        return
    got = tags_to_dict(inline) if inline is not None else ctx.cache.get("tags", {}).get(arn)
    if got is None:
        try:
            got = list_tags(ctx)(arn)
        except CollectError as err:
            got = err
    if isinstance(got, CollectError):
        ctx.node_failed(node_id, "tags", got)
    else:
        ctx.graph.set_tags(node_id, got)


def _prefetched(ctx: Context, kind: str, key: str, fetch: Callable[[str], Any]) -> dict[str, Any]:
    """A response read ahead by `prefetch` (or read now); raises the CollectError it failed with."""
    got = ctx.cache.get(kind, {}).get(key)
    if got is None:
        got = fetch(key)
    if isinstance(got, CollectError):
        raise got
    return dict(got)


@collector("sagemaker", STAGE_ROOTS, permissions=[
    "sagemaker:ListEndpoints", "sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeModel", "sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages",
    "sagemaker:BatchDescribeModelPackage",
    "sagemaker:ListTags", "sagemaker:ListTransformJobs", "sagemaker:Search", "tag:GetResources",
])
def collect_sagemaker(ctx: Context) -> None:
    """Endpoints and everything they deploy, following the chain endpoint -> config -> variant -> model."""
    g = ctx.graph
    g.add_node(ctx.region_node, "aws.region", name=ctx.region, account=ctx.account, region=ctx.region)
    by_name: dict[str, str] = ctx.cache.setdefault("endpoint_by_name", {})
    try:
        summaries = list_endpoints(ctx)  # each page's endpoints are described while the next page is read
    except CollectError as err:
        ctx.listing_failed(err, ENDPOINT_TYPES)
        summaries = []
    prefetch(ctx, summaries)
    for s in summaries:
        by_name[s["EndpointName"]] = s["EndpointArn"]
        try:
            _endpoint(ctx, s["EndpointName"], s["EndpointArn"])
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            # a response missing fields or shaped unexpectedly: this endpoint is unreadable, the rest goes on
            unexpected = CollectError(SM, "describe_endpoint", "UnexpectedResponse", f"{type(exc).__name__}: {exc}")
            ctx.node_failed(s["EndpointArn"], "describe", unexpected)
    match_unregistered(ctx, lambda arn: _package(ctx, arn), describe_package(ctx))
    _transform_jobs(ctx)


def _endpoint(ctx: Context, name: str, arn: str) -> None:
    g = ctx.graph
    g.add_node(arn, "sagemaker.endpoint", name=name, account=ctx.account, region=ctx.region)
    g.add_edge(arn, "in_region", ctx.region_node)
    try:
        d = _prefetched(ctx, "endpoints", name, describe_endpoint(ctx))
    except CollectError as err:
        if err.not_found:  # deleted between list and describe
            g.set_data(arn, status="Deleted")
            g.attrs(arn)["dangling"] = True
        else:
            ctx.node_failed(arn, "describe", err)
        return
    runtime = {v["VariantName"]: v for v in d.get("ProductionVariants", [])}
    g.set_data(
        arn,
        status=d.get("EndpointStatus"),
        creation_time=d.get("CreationTime"),
        last_modified_time=d.get("LastModifiedTime"),
        config_name=d.get("EndpointConfigName"),
        data_capture=d.get("DataCaptureConfig"),
    )
    searched = name in ctx.cache.get("endpoints_searched", ())
    if searched:  # read from its Search record: what only DescribeEndpoint answers is unknown, and said so
        ctx.not_collected(arn, *sorted(DESCRIBE_ONLY), why=SEARCHED_NOT_DESCRIBED)
    else:
        g.set_data(arn, last_deployment_config=d.get("LastDeploymentConfig"),
                   deployment_config_present=bool(d.get("LastDeploymentConfig")))
    _tags(ctx, arn, arn)
    cfg_id = _endpoint_config(ctx, d["EndpointConfigName"])
    g.add_edge(arn, "uses_config", cfg_id)
    cfg = g.attrs(cfg_id)
    variants = cfg["data"].get("production_variants")
    unread = None
    if variants is None:  # config unreadable or gone: the variants and what the config says of them are unknown
        unread = f"endpoint config {d['EndpointConfigName']} could not be read"
        g.set_error(arn, "rel:has_variant", unread)
        g.set_error(arn, "config", unread)
        variants = [{"VariantName": n} for n in runtime]
    serverless_all = True
    for pv in variants:
        vid = _variant(ctx, arn, name, pv, runtime.get(pv["VariantName"], {}))
        g.add_edge(arn, "has_variant", vid)
        serverless_all &= bool(g.attrs(vid)["data"].get("serverless"))
        if unread:
            g.set_error(vid, "config", unread)
            g.set_error(vid, "rel:serves_model", unread)
    _shadow_variants(ctx, arn, name, d, unread)
    g.set_read(arn, "config", serverless=serverless_all and bool(variants))
    shape_limits(ctx, arn)


def _endpoint_config(ctx: Context, name: str) -> str:
    g = ctx.graph
    known: dict[str, str] = ctx.cache.setdefault("config_by_name", {})
    if name in known:
        return known[name]
    arn = f"arn:aws:sagemaker:{ctx.region}:{ctx.account}:endpoint-config/{name.lower()}"
    try:
        d = _prefetched(ctx, "configs", name, describe_config(ctx))
        if not d.get("ProductionVariants"):  # AWS requires 1 to 10: an answer without any is not this config
            raise CollectError(SM, "DescribeEndpointConfig", "MalformedResponse", "the answer has no variants")
        arn = d.get("EndpointConfigArn", arn)
        g.add_node(arn, "sagemaker.endpoint_config", name=name, account=ctx.account, region=ctx.region, data={
            "production_variants": d.get("ProductionVariants", []),
            "data_capture_config": d.get("DataCaptureConfig"),
            "kms_key_id": d.get("KmsKeyId"),
            "async_inference_config": d.get("AsyncInferenceConfig"),
            "shadow_production_variants": d.get("ShadowProductionVariants", []),
            "creation_time": d.get("CreationTime"),
        })
        _tags(ctx, arn, arn)
        if d.get("KmsKeyId"):
            ctx.cache.setdefault("kms_refs", []).append((arn, d["KmsKeyId"]))
    except CollectError as err:
        ctx.describe_failed(arn, "sagemaker.endpoint_config", name, err)
    known[name] = arn
    return arn


def _shadow_variants(ctx: Context, arn: str, name: str, d: dict[str, Any], unread: str | None) -> None:
    """ShadowProductionVariants: variants flagged `shadow` that serve copies of the production traffic.

    They run a model chain like any variant (image, artifact, role, network), so the rules about those reach them
    through has_variant; the rules that are about serving answers (instance minimum, autoscaling, weights, traffic
    pattern) leave them out by their `shadow` flag.
    """
    g = ctx.graph
    runtime = {v["VariantName"]: v for v in d.get("ShadowProductionVariants") or []}
    cfg = g.attrs(ctx.cache["config_by_name"][d["EndpointConfigName"]])
    shadows = cfg["data"].get("shadow_production_variants")
    if unread or shadows is None:  # the config is unknown: only the endpoint's runtime view names them
        shadows = [{"VariantName": n} for n in runtime]
    for pv in shadows:
        vid = _variant(ctx, arn, name, pv, runtime.get(pv["VariantName"], {}), shadow=True)
        g.add_edge(arn, "has_variant", vid)
        if unread:
            g.set_error(vid, "config", unread)
            g.set_error(vid, "rel:serves_model", unread)


def _variant(ctx: Context, endpoint_arn: str, endpoint_name: str, pv: dict[str, Any], rt: dict[str, Any],
             shadow: bool = False) -> str:
    g = ctx.graph
    vname = pv["VariantName"]
    vid = f"{endpoint_arn}/{'shadow-variant' if shadow else 'variant'}/{vname}"
    itype = pv.get("InstanceType")
    spec = instance_types().get(itype or "", {})
    serverless = bool(pv.get("ServerlessConfig") or rt.get("CurrentServerlessConfig"))
    g.add_node(vid, "sagemaker.variant", name=f"{endpoint_name}/{vname}" + (" (shadow)" if shadow else ""),
               account=ctx.account, region=ctx.region, data={
        "variant_name": vname,
        "endpoint_name": endpoint_name,
        "shadow": shadow,
        "current_instance_count": rt.get("CurrentInstanceCount"),
        "desired_instance_count": rt.get("DesiredInstanceCount"),
        "deployed_images": rt.get("DeployedImages", []),
    })
    # what the endpoint config says of the variant (unknown when the config could not be read)
    g.set_read(vid, "config", **{
        "instance_type": itype,
        "serverless": serverless,
        "serverless_config": pv.get("ServerlessConfig") or rt.get("CurrentServerlessConfig"),
        "initial_instance_count": pv.get("InitialInstanceCount"),
        "initial_weight": pv.get("InitialVariantWeight"),
        "current_weight": rt.get("CurrentWeight", pv.get("InitialVariantWeight")),
        "vcpus": spec.get("vcpus"),
        "gpus": spec.get("gpus"),
        "is_gpu": bool(spec.get("gpus")),
        "instance_type_known": bool(spec) or serverless,
        "model_name": pv.get("ModelName"),
    })
    if pv.get("ModelName"):
        g.add_edge(vid, "serves_model", _model(ctx, pv["ModelName"]))
    return vid


def _model(ctx: Context, name: str) -> str:
    g = ctx.graph
    known: dict[str, str] = ctx.cache.setdefault("model_by_name", {})
    if name in known:
        return known[name]
    arn = f"arn:aws:sagemaker:{ctx.region}:{ctx.account}:model/{name.lower()}"
    try:
        d = _prefetched(ctx, "models", name, describe_model(ctx))
        if not d.get("Containers") and not d.get("PrimaryContainer"):  # CreateModel requires one: not this model
            raise CollectError(SM, "DescribeModel", "MalformedResponse", "the answer names no container")
    except CollectError as err:
        ctx.describe_failed(arn, "sagemaker.model", name, err)
        known[name] = arn
        return arn
    arn = d.get("ModelArn", arn)
    vpc = d.get("VpcConfig") or {}
    # moto (and older SDKs) return VpcConfig: {} for a model without one: that is "not configured".
    in_vpc = bool(vpc.get("Subnets")) and bool(vpc.get("SecurityGroupIds"))  # which subnets and groups to read
    g.add_node(arn, "sagemaker.model", name=name, account=ctx.account, region=ctx.region, data={
        "execution_role_arn": d.get("ExecutionRoleArn"),
        "vpc_config": d.get("VpcConfig"),  # as returned: the rules decide what counts as configured
        "enable_network_isolation": bool(d.get("EnableNetworkIsolation", False)),
        "creation_time": d.get("CreationTime"),
        "container_count": len(d.get("Containers") or []) or (1 if d.get("PrimaryContainer") else 0),
    })
    g.add_edge(arn, "in_region", ctx.region_node)
    known[name] = arn
    _tags(ctx, arn, arn, d.get("Tags"))  # a model found by Search carries its tags
    containers = d.get("Containers") or ([d["PrimaryContainer"]] if d.get("PrimaryContainer") else [])
    for i, c in enumerate(containers):
        cid = _container(ctx, arn, name, i, c)
        g.add_edge(arn, "has_container", cid)
    if in_vpc:
        refs = ctx.cache.setdefault("vpc_refs", [])
        refs.append((arn, tuple(vpc.get("Subnets", [])), tuple(vpc.get("SecurityGroupIds", []))))
    if d.get("ExecutionRoleArn"):
        ctx.cache.setdefault("role_refs", []).append((arn, d["ExecutionRoleArn"]))
    return arn


def _artifact_uri(c: dict[str, Any]) -> tuple[str | None, bool]:
    """A container's artifact URI (ModelDataUrl, else ModelDataSource's S3 URI) and whether it is a prefix."""
    # A multi-model endpoint's ModelDataUrl is the S3 prefix holding every model it may load.
    multi = c.get("Mode") == "MultiModel"
    if c.get("ModelDataUrl"):
        return c["ModelDataUrl"], multi
    src = (c.get("ModelDataSource") or {}).get("S3DataSource") or {}
    if src.get("S3Uri"):
        return src["S3Uri"], multi or src.get("S3DataType") == "S3Prefix"
    return None, False


def _container(ctx: Context, model_arn: str, model_name: str, index: int, c: dict[str, Any]) -> str:
    g = ctx.graph
    cid = f"{model_arn}/container/{index}"
    uri, is_prefix = _artifact_uri(c)
    image = c.get("Image") or ""
    g.add_node(cid, "sagemaker.container", name=f"{model_name}#{index}", account=ctx.account, region=ctx.region, data={
        "image": image or None,
        **parse_image(image),
        "repository_access_mode": (c.get("ImageConfig") or {}).get("RepositoryAccessMode", "Platform"),
        "model_package_name": c.get("ModelPackageName"),
        # how the registry link is known: named by the container, or inferred from equal image and artifact
        "package_basis": "declared" if c.get("ModelPackageName") else None,
        "artifact_uri": uri,
        "has_artifact": uri is not None,
        "mode": c.get("Mode", "SingleModel"),
    })
    if uri:
        obj = artifact_node(ctx, uri, is_prefix)
        if obj:
            g.add_edge(cid, "artifact", obj)
    if c.get("ModelPackageName"):
        pid = _package(ctx, c["ModelPackageName"])
        g.add_edge(cid, "from_package", pid)
        node = g.attrs(pid)
        pkg = node["data"]
        # A model built from a package takes its image and artifact from the package's inference spec: when
        # the package could not be read (or is gone), they are unknown, not absent.
        unread = node["errors"].get("describe") or ("it does not exist" if node["dangling"] else None)
        specs = pkg.get("containers") or [{}]
        if not image and not uri and not unread and len(specs) > 1:
            package_pipeline(ctx, cid, model_arn, model_name, index, c["ModelPackageName"], pid, specs)
            return cid
        if not image:
            first = (pkg.get("images") or [""])[0]
            g.set_read(cid, "package", image=first or None, **parse_image(first))
        if uri is None:
            for obj in g.related(pid, "artifact"):
                g.add_edge(cid, "artifact", obj)
            g.set_read(cid, "package", has_artifact=bool(g.related(pid, "artifact")),
                       artifact_uri=(pkg.get("artifact_uris") or [None])[0])
        if unread and (not image or uri is None):
            why = f"model package {c['ModelPackageName']}: {unread}"
            g.set_error(cid, "package", why)
            if uri is None:
                g.set_error(cid, "rel:artifact", why)
        elif not unread:
            undisclosed(ctx, cid, c["ModelPackageName"], pid, image_known=bool(image or pkg.get("images")),
                         artifact_known=uri is not None or bool(g.related(pid, "artifact")))
    return cid


def artifact_node(ctx: Context, uri: str, is_prefix: bool = False) -> str | None:
    """An s3.object stub for an artifact URI; the S3 collector fills it in."""
    parsed = parse_s3_uri(uri)
    if not parsed:
        return None
    bucket, key = parsed
    oid = f"arn:aws:s3:::{bucket}/{key}"
    ctx.graph.add_node(oid, "s3.object", name=uri, account=ctx.account, region=ctx.region, data={
        "uri": uri, "bucket": bucket, "key": key, "is_prefix": is_prefix or key.endswith("/") or key == "",
    })
    return oid


def _package(ctx: Context, name_or_arn: str) -> str:
    g = ctx.graph
    known: dict[str, str] = ctx.cache.setdefault("package_by_ref", {})
    if name_or_arn in known:
        return known[name_or_arn]
    pid = name_or_arn if name_or_arn.startswith("arn:") else \
        f"arn:aws:sagemaker:{ctx.region}:{ctx.account}:model-package/{name_or_arn.lower()}"
    try:
        d = _prefetched(ctx, "packages", name_or_arn, describe_package(ctx))
    except CollectError as err:
        ctx.describe_failed(pid, "sagemaker.model_package", name_or_arn, err)
        known[name_or_arn] = pid
        return pid
    pid = d.get("ModelPackageArn", pid)
    metrics = d.get("ModelMetrics") or {}
    spec = d.get("InferenceSpecification") or {}
    g.add_node(pid, "sagemaker.model_package", name=d.get("ModelPackageName", name_or_arn), account=ctx.account,
               region=ctx.region, data={
                   "group_name": d.get("ModelPackageGroupName"),
                   "version": d.get("ModelPackageVersion"),
                   "approval_status": d.get("ModelApprovalStatus"),
                   "has_model_metrics": any(bool(v) for v in metrics.values()),
                   "model_metrics": metrics,
                   "has_inference_specification": bool(spec.get("Containers")),
                   "customer_metadata": d.get("CustomerMetadataProperties") or {},
                   "images": [c["Image"] for c in spec.get("Containers", []) if c.get("Image")],
                   "artifact_uris": [u for u in (_artifact_uri(c)[0] for c in spec.get("Containers", [])) if u],
                   "containers": [_package_container(c) for c in spec.get("Containers", [])],
                   "creation_time": d.get("CreationTime"),
               })
    known[name_or_arn] = pid
    for c in spec.get("Containers", []):
        uri, is_prefix = _artifact_uri(c)
        obj = artifact_node(ctx, uri, is_prefix) if uri else None
        if obj:
            g.add_edge(pid, "artifact", obj)
    if d.get("ModelPackageGroupName"):
        gid = _package_group(ctx, d["ModelPackageGroupName"])
        g.add_edge(pid, "in_group", gid)
        gdata = g.attrs(gid)
        if "versions" in gdata["errors"]:
            g.set_error(pid, "older_approved_versions", gdata["errors"]["versions"])
        else:
            own = d.get("ModelPackageVersion") or 0
            older = [v for v in gdata["data"].get("approved_versions", []) if (v or 0) < own]
            g.set_data(pid, older_approved_versions=len(older))
    return pid


def _package_container(c: dict[str, Any]) -> dict[str, Any]:
    uri, is_prefix = _artifact_uri(c)
    return {"image": c.get("Image"), "artifact_uri": uri, "is_prefix": is_prefix, "mode": c.get("Mode")}


def _package_group(ctx: Context, group: str) -> str:
    """The group node, plus each member's count of older Approved versions (what rollback needs)."""
    g = ctx.graph
    gid = f"arn:aws:sagemaker:{ctx.region}:{ctx.account}:model-package-group/{group.lower()}"
    if gid in g:
        return gid
    g.add_node(gid, "sagemaker.model_package_group", name=group, account=ctx.account, region=ctx.region)
    try:
        pkgs = _prefetched(ctx, "groups", group, list_group(ctx))["packages"]
    except CollectError as err:
        ctx.node_failed(gid, "versions", err)
        return gid
    versions = sorted(
        ({"version": p.get("ModelPackageVersion"), "status": p.get("ModelApprovalStatus"),
          "arn": p.get("ModelPackageArn")} for p in pkgs),
        key=lambda v: v["version"] or 0,
    )
    g.set_data(gid, versions=versions, approved_versions=[v["version"] for v in versions if v["status"] == "Approved"])
    _tags(ctx, gid, gid)
    return gid


@read_ahead("sagemaker")
def read_transform_jobs(ctx: Context) -> list[Any]:
    """The region's transform jobs (a listing that needs nothing from the graph)."""
    return ctx.paginate(SM, "list_transform_jobs", "TransformJobSummaries")


def _transform_jobs(ctx: Context) -> None:
    g = ctx.graph
    jobs = ctx.ahead(read_transform_jobs)
    if isinstance(jobs, CollectError):
        ctx.listing_failed(jobs, ("sagemaker.transform_job",))
        return
    for j in jobs:
        jid = j["TransformJobArn"]
        g.add_node(jid, "sagemaker.transform_job", name=j["TransformJobName"], account=ctx.account, region=ctx.region,
                   data={"status": j.get("TransformJobStatus"), "creation_time": j.get("CreationTime"),
                         "end_time": j.get("TransformEndTime")})
        g.add_edge(ctx.region_node, "has_transform_job", jid)
    g.set_data(ctx.region_node, transform_job_count=len(jobs))
