"""AWS session and client factory: profile, assumed roles, regions, retries, API-call counting."""

from __future__ import annotations

import os
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

from auditor.limits import Limits

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


_LOADER: Any = None
_LOADER_LOCK = threading.Lock()


def _shared_loader() -> Any:
    """One botocore data loader for every session of the run. Each session would otherwise parse and keep its own
    copy of every service model: with an organisation's accounts that was most of the memory."""
    global _LOADER
    with _LOADER_LOCK:
        if _LOADER is None:
            from botocore.loaders import create_loader

            _LOADER = create_loader()
        return _LOADER


class SessionFactory:
    """Creates one boto3 session and shared, thread-safe clients on demand; nothing is created at import time.

    Clients are shared by all threads (botocore clients are thread-safe; sessions are not, so the session is
    only touched under a lock). Retries are botocore's standard mode: pacing is auditor.limits' job, per API as AWS
    throttles. botocore's adaptive mode would add a rate limiter per client, so one throttled API would slow every
    other API of the service (1.36 x the throttled floor against 1.09 x, bench/scale.py --throttle 20).

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
        max_pool_connections: int = 10,
    ) -> None:
        self.profile = profile
        self.default_region = region
        self.max_attempts = max_attempts
        self.read_timeout = read_timeout
        self.counter = counter or CallCounter()
        # botocore event hooks (event name, handler): fault injection in tests, call recording for permissions.
        self.hooks = list(hooks or [])
        self.max_pool_connections = max_pool_connections
        # This account's in-flight and rate limits (per Region), fed by every HTTP attempt's outcome.
        self.limits = Limits()
        self.role_arn: str | None = None
        self._assume: dict[str, Any] | None = None  # parent factory and AssumeRole arguments
        self._lock = threading.RLock()
        self._sess: boto3.Session | None = None
        self._clients: dict[tuple[str, str | None], Any] = {}

    def assumed(self, role_arn: str, external_id: str | None = None,
                session_name: str = "sagemaker-auditor") -> SessionFactory:
        """A factory for another account: the role is assumed lazily and its credentials refresh themselves."""
        child = SessionFactory(self.profile, self.default_region, self.max_attempts, self.read_timeout,
                               self.counter, self.hooks, self.max_pool_connections)
        child.limits.configure(self.limits.overrides)  # the same settings; AWS's quotas are per account
        args: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": session_name}
        if external_id:
            args["ExternalId"] = external_id
        child.role_arn = role_arn
        child._assume = {"parent": self, "args": args}
        return child

    def _session(self) -> boto3.Session:
        with self._lock:
            if self._sess is None:
                import boto3
                import botocore.session

                bc = botocore.session.Session(profile=self.profile) if self._assume is None \
                    else self._assumed_botocore()
                loader = _shared_loader()
                bc.register_component("data_loader", loader)
                sess = boto3.Session(botocore_session=bc, region_name=self.default_region)
                # boto3 appends its own data directory to the loader's search path for every session
                loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
                sess.events.register("before-call", self.counter.on_call)
                sess.events.register("before-send", self.counter.on_send)
                sess.events.register("needs-retry", self._on_attempt)
                for event, handler in self.hooks:
                    sess.events.register(event, handler)
                self._sess = sess
            return self._sess

    def _on_attempt(self, operation: Any = None, request_dict: Any = None, response: Any = None,
                    caught_exception: Any = None, **_: Any) -> None:
        """Every attempt's outcome (throttled, succeeded) to the API's adaptive token bucket; never asks a retry."""
        if operation is None or caught_exception is not None or response is None:
            return
        status = getattr(response[0], "status_code", 0)
        code = ((response[1] or {}).get("Error") or {}).get("Code") if status >= 400 else None
        if status >= 400 and not code:
            code = "SlowDown" if status == 503 else str(status)  # S3 HEAD answers and CBOR 503s carry no code
        region = ((request_dict or {}).get("context") or {}).get("client_region") or ""
        self.limits.on_attempt(region, operation.service_model.service_name, operation.name, code)

    def _assumed_botocore(self) -> Any:
        import botocore.session
        from botocore.credentials import RefreshableCredentials

        assert self._assume is not None
        parent: SessionFactory = self._assume["parent"]
        args = self._assume["args"]

        def refresh() -> dict[str, str]:
            creds = parent.client("sts").assume_role(**args)["Credentials"]
            return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
                    "token": creds["SessionToken"], "expiry_time": creds["Expiration"].isoformat()}

        bc = botocore.session.Session(profile=self.profile)
        # The first AssumeRole happens here, so a role that cannot be assumed fails before any collection.
        bc._credentials = RefreshableCredentials.create_from_metadata(  # noqa: SLF001 - botocore's documented pattern
            metadata=refresh(), refresh_using=refresh, method="sts-assume-role")
        return bc

    def region_name(self) -> str | None:
        return self.default_region or self._session().region_name or os.environ.get("AWS_DEFAULT_REGION")

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region)
        client = self._clients.get(key)
        if client is not None:
            return client
        from botocore.config import Config

        with self._lock:
            if key not in self._clients:
                cfg = Config(
                    retries={"mode": "standard", "max_attempts": self.max_attempts},
                    read_timeout=self.read_timeout,
                    connect_timeout=10,
                    user_agent_extra="sagemaker-auditor",
                    # as many connections as calls may be in flight to one service
                    max_pool_connections=max(self.max_pool_connections, self.limits.max_in_flight()),
                )
                self._clients[key] = self._session().client(service, region_name=region or self.region_name(),
                                                            config=cfg)
            return self._clients[key]

    def account_id(self) -> str:
        ident = self.client("sts").get_caller_identity()
        return str(ident["Account"])
