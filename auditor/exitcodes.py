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
    OK: "compliant: the audit is complete and no violation at or above --fail-on",
    VIOLATIONS: "violations at or above --fail-on (audit complete)",
    INVALID_INPUT: "invalid input: bad flag, rule, config, waiver, snapshot or report file (nothing evaluated)",
    INCOMPLETE: "incomplete audit: some data could not be read (takes precedence over 1; report.json says which)",
    DELIVERY_FAILED: "compliant, but findings could not be delivered (Security Hub import or notification failed)",
    REFUSED: "remediation refused (plan over --max-changes, no confirmation, no terminal without --yes; with "
             "`audit apply`: a reviewed change no longer matches): nothing refused was changed, and the audit report "
             "was written with the reason in remediation.refused",
    OUTPUT_FAILED: "a report, journal or history could not be written; the previous report is left intact",
    NO_CREDENTIALS: "no AWS credentials found: nothing audited, no report written (try --demo)",
    INTERNAL_ERROR: "unexpected failure: one line on stderr (--debug prints the traceback)",
    INTERRUPTED: "interrupted (Ctrl-C): reports are written atomically, so no half-written file is left",
}


def markdown_table() -> str:
    """The README's exit-code table, from DOC (a test keeps the README equal to it)."""
    return "| code | meaning |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in DOC.items())
