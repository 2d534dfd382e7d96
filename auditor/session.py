"""AWS session and client factory: profile, regions, adaptive retries, API-call counting."""

from __future__ import annotations

import os
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # boto3 is imported lazily so that `audit --help` stays fast
    import boto3


class CallCounter:
    """Counts every API call (operation) and every HTTP attempt, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.attempts = 0

    def on_call(self, model: Any = None, **_: Any) -> None:
        name = f"{model.service_model.service_name}:{model.name}" if model is not None else "unknown"
        with self._lock:
            self.calls[name] += 1

    def on_send(self, **_: Any) -> None:
        with self._lock:
            self.attempts += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "http_attempts": self.attempts, "by_operation": dict(sorted(self.calls.items()))}


class SessionFactory:
    """Creates boto3 sessions and clients on demand; nothing is created at import time.

    AWS_ENDPOINT_URL (and the per-service AWS_ENDPOINT_URL_<SERVICE>) is honoured by botocore itself.
    """

    def __init__(
        self,
        profile: str | None = None,
        region: str | None = None,
        max_attempts: int = 8,
        read_timeout: int = 30,
        counter: CallCounter | None = None,
        hooks: list[tuple[str, Any]] | None = None,
    ) -> None:
        self.profile = profile
        self.default_region = region
        self.max_attempts = max_attempts
        self.read_timeout = read_timeout
        self.counter = counter or CallCounter()
        # botocore event hooks (event name, handler): fault injection in tests, call recording for permissions.
        self.hooks = list(hooks or [])
        self._local = threading.local()

    def _session(self) -> boto3.Session:
        # boto3 sessions are not thread-safe: one per thread.
        sess = getattr(self._local, "session", None)
        if sess is None:
            import boto3

            sess = boto3.Session(profile_name=self.profile, region_name=self.default_region)
            sess.events.register("before-call", self.counter.on_call)
            sess.events.register("before-send", self.counter.on_send)
            for event, handler in self.hooks:
                sess.events.register(event, handler)
            self._local.session = sess
        return sess

    def region_name(self) -> str | None:
        return self.default_region or self._session().region_name or os.environ.get("AWS_DEFAULT_REGION")

    def client(self, service: str, region: str | None = None) -> Any:
        from botocore.config import Config

        cache: dict[tuple[str, str | None], Any] = getattr(self._local, "clients", None) or {}
        self._local.clients = cache
        key = (service, region)
        if key not in cache:
            cfg = Config(
                retries={"mode": "adaptive", "max_attempts": self.max_attempts},
                read_timeout=self.read_timeout,
                connect_timeout=10,
                user_agent_extra="sagemaker-auditor",
            )
            cache[key] = self._session().client(service, region_name=region or self.region_name(), config=cfg)
        return cache[key]

    def account_id(self) -> str:
        ident = self.client("sts").get_caller_identity()
        return str(ident["Account"])
