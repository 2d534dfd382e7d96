"""Policy-as-code compliance auditor for Amazon SageMaker model deployments."""

__version__ = "0.1.0"
