"""Progress: a bar per account-region on a terminal, log lines otherwise, nothing when quiet."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from auditor.app import progress_reporter


def test_quiet_reports_nothing() -> None:
    with progress_reporter(quiet=True) as progress:
        assert progress is None


def test_without_a_terminal_progress_is_log_lines(caplog: pytest.LogCaptureFixture,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.INFO, logger="auditor")
    with progress_reporter(quiet=False) as progress:
        progress("111111111111/us-east-1", "sagemaker", 0, 11)
        progress("111111111111/us-east-1", "done", 11, 11)
    assert capsys.readouterr().err == "collected 111111111111/us-east-1\n"  # a line per account-region
    assert [r.getMessage() for r in caplog.records] == ["collecting 111111111111/us-east-1: sagemaker (0/11)"]


def test_on_a_terminal_each_account_region_gets_a_bar_that_leaves_when_done(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    monkeypatch.setattr(sys, "stderr", out)
    with progress_reporter(quiet=False) as progress:
        bars = progress.bars
        progress("111111111111/us-east-1", "sagemaker", 0, 11)
        progress("222222222222/eu-west-1", "s3", 3, 11)
        assert sorted(t.description for t in bars.tasks) == [
            "111111111111/us-east-1 sagemaker", "222222222222/eu-west-1 s3"]
        progress("111111111111/us-east-1", "done", 11, 11)
        assert [t.description for t in bars.tasks] == ["222222222222/eu-west-1 s3"]
