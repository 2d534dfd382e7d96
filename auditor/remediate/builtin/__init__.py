"""Built-in remediators; importing this package registers them."""

from auditor.remediate.builtin import endpoints, observability, scaling, storage  # noqa: F401
