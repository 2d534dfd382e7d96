"""Tags in bulk: the Resource Groups Tagging API, 100 ARNs per call, instead of one ListTags per resource."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditor.collect.base import CollectError, Context, tags_to_dict

ARNS_PER_CALL = 100  # GetResources ResourceARNList: 1 to 100 ARNs, and then no paging


def bulk_tags(ctx: Context, arns: list[str],
              fallback: Callable[[str], dict[str, str]]) -> dict[str, dict[str, str] | CollectError]:
    """{arn: tags or the CollectError that kept them unknown}, for every ARN asked for.

    GetResources returns only resources that have (or had) tags, so an ARN missing from a successful
    answer has none. A failed chunk (e.g. no tag:GetResources permission) falls back to `fallback`, the
    service's own per-resource call, so a missing permission costs calls, never correctness.
    """
    unique = list(dict.fromkeys(arns))
    chunks = [tuple(unique[i:i + ARNS_PER_CALL]) for i in range(0, len(unique), ARNS_PER_CALL)]

    def read(chunk: tuple[str, ...]) -> dict[str, dict[str, str]]:
        resp = ctx.call("resourcegroupstaggingapi", "get_resources", ResourceARNList=list(chunk))
        if resp.get("PaginationToken"):
            # AWS answers an ARN list in one page; a truncated answer cannot say which ARNs have no tags
            raise CollectError("resourcegroupstaggingapi", "get_resources", "TruncatedResponse",
                               "GetResources paged an ARN-list answer")
        return {str(m.get("ResourceARN", "")).lower(): tags_to_dict(m.get("Tags"))
                for m in resp.get("ResourceTagMappingList", []) if isinstance(m, dict)}

    out: dict[str, Any] = {}
    retry: list[str] = []
    for chunk, got in ctx.fetch_all(read, chunks).items():
        if isinstance(got, CollectError):
            retry.extend(chunk)
            continue
        for arn in chunk:  # ARNs compare case-insensitively: SageMaker lower-cases resource names in ARNs
            out[arn] = got.get(arn.lower(), {})
    out.update(ctx.fetch_all(fallback, retry))
    return out
