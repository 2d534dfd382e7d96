"""Remediation: registry of remediators (plan -> apply -> verify -> journal)."""
