"""Documented exit codes of the `audit` command (cron jobs branch on these)."""

OK = 0  # audit complete, no violation at or above --fail-on
VIOLATIONS = 1  # audit complete, violations at or above --fail-on
INVALID_INPUT = 2  # bad flag, rule file, config, waiver or snapshot: nothing was evaluated
INCOMPLETE = 3  # some data could not be read (collection errors or findings with status error)
DELIVERY_FAILED = 4  # audit complete and compliant, but the Security Hub import failed
INTERRUPTED = 130  # Ctrl-C: nothing half-written was left behind

DOC = {
    OK: "compliant: audit complete and no violation at or above --fail-on",
    VIOLATIONS: "violations at or above --fail-on (audit complete)",
    INVALID_INPUT: "invalid input: bad flag, rule, config, waiver or snapshot file",
    INCOMPLETE: "incomplete audit: some data could not be read; takes precedence over 1",
    DELIVERY_FAILED: "compliant, but findings could not be delivered to Security Hub",
    INTERRUPTED: "interrupted (Ctrl-C)",
}
