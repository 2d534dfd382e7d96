"""Registry membership by content: a container whose image and artifact equal a registered package version's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditor.collect.base import CollectError, Context, parse_s3_uri

SM = "sagemaker"
BATCH_PACKAGES = 100  # BatchDescribeModelPackage: 1 to 100 ARNs a call
Key = tuple[str, str]  # (image reference, normalised artifact URI)


def artifact_key(uri: str | None) -> str | None:
    """s3://bucket/key with the scheme and bucket lower-cased (S3 bucket names are case-insensitive in URIs)."""
    text = (uri or "").strip()
    parsed = parse_s3_uri("s3://" + text[5:]) if text[:5].lower() == "s3://" else None
    return f"s3://{parsed[0].lower()}/{parsed[1]}" if parsed else None


def image_refs(image: str | None, digest: str | None = None) -> set[str]:
    """Every way the API may name the same ECR image: REPO:TAG (latest when neither tag nor digest is given) and
    REPO@DIGEST, the digest from the URI or, for a package, from its ImageDigest field."""
    from auditor.collect.sagemaker import parse_image

    if not image:
        return set()
    p = parse_image(image)
    if not p["image_is_ecr"]:
        return {image.strip()}
    loc = p["image_location"]
    refs = set()
    if p["image_tag"] or not p["image_digest"]:
        refs.add(f"{loc}:{p['image_tag'] or 'latest'}")
    for d in (p["image_digest"], digest):
        if d:
            refs.add(f"{loc}@{d}")
    return refs


def package_index(described: dict[str, Any]) -> dict[Key, list[tuple[int, str]]]:
    """(image ref, artifact) -> [(version, package ARN)] over every readable package's inference containers."""
    index: dict[Key, list[tuple[int, str]]] = {}
    for arn, d in described.items():
        if not isinstance(d, dict):
            continue
        for c in (d.get("InferenceSpecification") or {}).get("Containers") or []:
            art = artifact_key(c.get("ModelDataUrl") or ((c.get("ModelDataSource") or {}).get("S3DataSource") or {})
                               .get("S3Uri"))
            if art is None:
                continue
            for ref in image_refs(c.get("Image"), c.get("ImageDigest")):
                index.setdefault((ref, art), []).append((int(d.get("ModelPackageVersion") or 0), arn))
    return index


def match_unregistered(ctx: Context, package_node: Callable[[str], str],
                       describe: Callable[[str], dict[str, Any]]) -> None:
    """Link containers that name no package to the package version whose image and artifact they equal.

    The registry is listed only when such a container exists. The link says `package_basis: inferred`; a package
    that could not be read (or a failed listing) leaves the unmatched containers' registry link unknown, never
    "not registered".
    """
    g = ctx.graph
    loose = [c for c in g.nodes_of_type("sagemaker.container")
             if g.attrs(c)["region"] == ctx.region and not g.related(c, "from_package")
             and not g.attrs(c)["errors"] and g.attrs(c)["data"].get("artifact_uri")]
    if not loose:
        return
    try:
        summaries = ctx.paginate(SM, "list_model_packages", "ModelPackageSummaryList", ModelPackageType="Both")
    except CollectError as err:
        ctx.listing_failed(err, ("sagemaker.model_package",))
        for c in loose:
            _unknown(ctx, c, err, record=False)
        return
    arns = [s["ModelPackageArn"] for s in summaries if isinstance(s, dict) and s.get("ModelPackageArn")]
    described = batch_describe(ctx, arns, describe)
    unreadable = [r for r in described.values() if isinstance(r, CollectError)]
    index = package_index(described)
    for c in loose:
        d = g.attrs(c)["data"]
        art = artifact_key(d.get("artifact_uri"))
        refs = image_refs(d.get("image"))
        found = sorted({m for ref in refs for m in index.get((ref, art or ""), [])}, reverse=True)
        if found:
            version, arn = found[0]  # the newest version registered with this image and artifact
            pid = package_node(arn)
            g.add_edge(c, "from_package", pid)
            g.set_data(c, package_basis="inferred", package_match={
                "package": arn, "version": version, "image": d.get("image"), "artifact_uri": d.get("artifact_uri"),
                "candidates": len(found)})
        elif unreadable:  # the match may be among the packages that could not be read
            _unknown(ctx, c, unreadable[0], record=True)


def batch_describe(ctx: Context, arns: list[str], describe: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """Each package's inference specification: BatchDescribeModelPackage (100 a call); if the bulk read is refused,
    one DescribeModelPackage each (more calls, same answer). {arn: answer, or the CollectError it failed with}."""
    cached = ctx.cache.setdefault("packages", {})
    out: dict[str, Any] = {a: cached[a] for a in arns if a in cached}
    todo = [a for a in arns if a not in cached]
    try:
        for i in range(0, len(todo), BATCH_PACKAGES):
            resp = ctx.call(SM, "batch_describe_model_package", ModelPackageArnList=todo[i:i + BATCH_PACKAGES])
            out.update(resp.get("ModelPackageSummaries") or {})
            for arn, e in (resp.get("BatchDescribeModelPackageErrorMap") or {}).items():
                out[arn] = CollectError(SM, "batch_describe_model_package", str(e.get("ErrorCode") or "Error"),
                                        str(e.get("ErrorResponse") or ""))
    except CollectError:
        fetched = ctx.fetch_all(describe, todo)
        cached.update(fetched)
        out.update(fetched)
    for a in arns:  # an ARN the answer left out is not "no match": it is unread
        out.setdefault(a, CollectError(SM, "batch_describe_model_package", "Missing", "not in the answer"))
    return out


def _unknown(ctx: Context, container: str, err: CollectError, record: bool) -> None:
    """Whether (and how) the container is registered cannot be told: both facets say why."""
    if record:
        ctx.node_failed(container, "rel:from_package", err)
    else:
        ctx.graph.set_error(container, "rel:from_package", err.reason)
    ctx.graph.set_error(container, "package_basis", err.reason)
