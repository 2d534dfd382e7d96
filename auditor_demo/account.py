"""Start the demo account: moto in-process (with our extension), fake credentials, the fleet seeded."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator

from auditor_demo.fleet import REGIONS

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIADEMODEMODEMODEMO",
    "AWS_SECRET_ACCESS_KEY": "demo-secret-not-a-real-key",
    "AWS_SESSION_TOKEN": "demo-session-token",
    "AWS_DEFAULT_REGION": REGIONS[0],
}
CLEARED = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


class DemoUnavailable(RuntimeError):
    """moto is not installed: the demo needs the `demo` extra."""


@contextlib.contextmanager
def demo_account(now: dt.datetime | None = None) -> Iterator[list[str]]:
    """Yield the demo regions while a seeded moto account answers every boto3 call in this process."""
    try:
        from moto import mock_aws
    except ImportError as exc:
        raise DemoUnavailable("the demo needs moto: pip install 'sagemaker-auditor[demo]'") from exc
    from auditor_demo import moto_ext

    moto_ext.install()
    saved = {k: os.environ.get(k) for k in (*FAKE_CREDENTIALS, *CLEARED)}
    os.environ.update(FAKE_CREDENTIALS)
    for k in CLEARED:
        os.environ.pop(k, None)
    try:
        with mock_aws():
            import boto3

            from auditor_demo.seed import Seeder

            seeder = Seeder(boto3.Session(), now or dt.datetime.now(dt.UTC))
            seeder.run()
            seeder.backdate()
            yield list(REGIONS)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
