"""Documented exit codes of the `audit` command (cron jobs branch on these)."""

OK = 0  # audit complete, no violation at or above --fail-on
VIOLATIONS = 1  # audit complete, violations at or above --fail-on
INVALID_INPUT = 2  # bad flag, rule file, config, waiver or snapshot: nothing was evaluated
INCOMPLETE = 3  # some data could not be read (collection errors or findings with status error)
DELIVERY_FAILED = 4  # audit complete and compliant, but the Security Hub import failed
REFUSED = 5  # remediation refused (change cap, no confirmation, no TTY without --yes); the audit report was written
OUTPUT_FAILED = 6  # a report, journal or history could not be written; the previous report is left intact
NO_CREDENTIALS = 7  # no AWS credentials found: nothing was audited (try --demo)
INTERNAL_ERROR = 8  # an unexpected failure: one line on stderr (--debug shows the traceback)
INTERRUPTED = 130  # Ctrl-C: nothing half-written was left behind

DOC = {
    OK: "compliant: audit complete and no violation at or above --fail-on",
    VIOLATIONS: "violations at or above --fail-on (audit complete)",
    INVALID_INPUT: "invalid input: bad flag, rule, config, waiver or snapshot file",
    INCOMPLETE: "incomplete audit: some data could not be read; takes precedence over 1",
    DELIVERY_FAILED: "compliant, but findings could not be delivered to Security Hub",
    REFUSED: "remediation refused (change cap, no confirmation); the audit report was still written",
    OUTPUT_FAILED: "a report, journal or history could not be written; the previous report is intact",
    NO_CREDENTIALS: "no AWS credentials: nothing audited (try --demo)",
    INTERNAL_ERROR: "unexpected failure (one line on stderr; --debug for the traceback)",
    INTERRUPTED: "interrupted (Ctrl-C)",
}
