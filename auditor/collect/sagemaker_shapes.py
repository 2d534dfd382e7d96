"""Hosting shapes (serverless, asynchronous, multi-model, shadow, pipeline), their AWS limits, and package pipelines."""

from __future__ import annotations

from typing import Any

from auditor.collect.base import Context

# What AWS does not support on a shape, in the words a finding quotes: the endpoint cannot comply as hosted.
SERVERLESS_LIMIT = ("AWS does not support {what} on serverless endpoints: this endpoint cannot comply as hosted; "
                    "host the model on instances, or waive the rule for it")
MULTI_MODEL_LIMIT = ("AWS does not support {what} on multi-model endpoints: this endpoint cannot comply as hosted; "
                     "host the models on single-model endpoints, or waive the rule for it")
ENDPOINT_LIMITS = {
    "serverless": {"data_capture": "data capture", "model_monitor": "Model Monitor"},
    "multi-model": {"model_monitor": "Model Monitor"},
}
MODEL_LIMITS = {"vpc": "VPC configuration", "network_isolation": "network isolation"}


def shape_limits(ctx: Context, arn: str) -> None:
    """Record an endpoint's hosting shapes, and on it (and on the models its serverless variants serve) what AWS
    does not support for those shapes; rules quote these as "cannot comply", not "not configured"."""
    g = ctx.graph
    node = g.attrs(arn)
    if "config" in node["errors"]:
        # the configuration is unknown: so are the shapes and their limits (the config read's error covers them)
        g.set_read(arn, "config", async_inference=None, multi_model=None, hosting_shapes=None, unsupported=None)
        return
    configs = g.related(arn, "uses_config")
    cfg = g.attrs(configs[0])["data"] if configs else {}
    variants = [(v, g.attrs(v)["data"]) for v in g.related(arn, "has_variant")]
    production = [v for v, d in variants if not d.get("shadow")]
    is_async = bool(cfg.get("async_inference_config"))
    models = sorted({m for v in production for m in g.related(v, "serves_model")})
    containers = [c for m in models for c in g.related(m, "has_container")]
    multi_model = any(g.attrs(c)["data"].get("mode") == "MultiModel" for c in containers)
    # a model that could not be read may be multi-model: then so may the endpoint, and its limits are unknown
    unread = [m for m in models if "describe" in g.attrs(m)["errors"] or g.attrs(m)["dangling"]]
    shapes = ["asynchronous" if is_async else "serverless" if node["data"].get("serverless") else "real-time"]
    if multi_model:
        shapes.append("multi-model")
    if any(d.get("shadow") for _, d in variants):
        shapes.append("shadow")
    if any(len(g.related(m, "has_container")) > 1 for m in models):
        shapes.append("inference-pipeline")
    for v, _ in variants:
        g.set_read(v, "config", async_inference=is_async)
    g.set_read(arn, "config", async_inference=is_async, multi_model=multi_model, hosting_shapes=shapes)
    if unread and not multi_model:
        why = f"model {g.attrs(unread[0])['name']} could not be read, so whether the endpoint is multi-model is unknown"
        g.set_error(arn, "multi_model", why)
        if not node["data"].get("serverless"):
            g.set_error(arn, "unsupported", why)
    unsupported: dict[str, str] = {}
    for shape in ("serverless", "multi-model"):
        if shape in shapes:
            template = SERVERLESS_LIMIT if shape == "serverless" else MULTI_MODEL_LIMIT
            for key, what in ENDPOINT_LIMITS[shape].items():
                unsupported.setdefault(key, template.format(what=what))
    if unsupported:
        _limit(ctx, arn, unsupported)
    serverless_models = {m for v, d in variants if d.get("serverless") for m in g.related(v, "serves_model")}
    for m in sorted(serverless_models):
        if not g.attrs(m)["dangling"] and "describe" not in g.attrs(m)["errors"]:
            _limit(ctx, m, {k: SERVERLESS_LIMIT.format(what=w) for k, w in MODEL_LIMITS.items()})


def _limit(ctx: Context, node_id: str, limits: dict[str, str]) -> None:
    """Merge limits into the node's `unsupported` map and explain each (a model may serve several endpoints)."""
    data = ctx.graph.attrs(node_id)["data"]
    merged = {**(data.get("unsupported") or {}), **limits}
    explain = {**(data.get("explain") or {}), **{f"unsupported.{k}": v for k, v in limits.items()}}
    ctx.graph.set_data(node_id, unsupported=merged, explain=explain)


def package_pipeline(ctx: Context, cid: str, model_arn: str, model_name: str, index: int, ref: str, pid: str,
                      specs: list[dict[str, Any]]) -> None:
    """A model built from a multi-container package (an inference pipeline): one container node per package
    container (`model#0`, `model#0.1`, ...), each with that container's image and artifact, so every one is judged."""
    from auditor.collect.sagemaker import artifact_node, parse_image  # that module imports this one

    g = ctx.graph
    base = g.attrs(cid)["data"]
    for j, spec in enumerate(specs):
        node = cid if j == 0 else f"{cid}.{j}"
        if j:
            g.add_node(node, "sagemaker.container", name=f"{model_name}#{index}.{j}", account=ctx.account,
                       region=ctx.region, data={
                           "image": None, "repository_access_mode": base.get("repository_access_mode"),
                           "model_package_name": ref, "package_basis": "declared", "artifact_uri": None,
                           "has_artifact": False, "mode": spec.get("mode") or "SingleModel"})
            g.add_edge(model_arn, "has_container", node)
            g.add_edge(node, "from_package", pid)
        image = spec.get("image") or ""
        g.set_read(node, "package", image=image or None, **parse_image(image), artifact_uri=spec.get("artifact_uri"),
                   has_artifact=bool(spec.get("artifact_uri")))
        uri = spec.get("artifact_uri")
        obj = artifact_node(ctx, uri, bool(spec.get("is_prefix"))) if uri else None
        if obj:
            g.add_edge(node, "artifact", obj)
        undisclosed(ctx, node, ref, pid, image_known=bool(image), artifact_known=obj is not None)


def undisclosed(ctx: Context, cid: str, ref: str, pid: str, image_known: bool, artifact_known: bool) -> None:
    """A readable package that does not disclose its image (or, when it belongs to another account such as an AWS
    Marketplace seller's, its artifact) leaves them unknown, never absent: no rule may fail it on a missing value."""
    g = ctx.graph
    foreign = pid.split(":")[4:5] != [ctx.account] if pid.startswith("arn:") else False
    owner = f"model package {ref}" + (f" (account {pid.split(':')[4]}, e.g. an AWS Marketplace package)"
                                      if foreign else "")
    if not image_known:
        g.set_error(cid, "package", f"{owner} does not disclose its container image to this account")
    if not artifact_known and foreign:
        why = f"{owner} does not disclose its model artifact to this account"
        g.set_error(cid, "has_artifact", why)
        g.set_error(cid, "rel:artifact", why)
