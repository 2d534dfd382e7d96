"""Organisation-scale benchmark, run on demand (not in CI): the real CLI against a seeded moto server.

    python bench/scale.py                                   # N=100,1000; no latency and 40 ms; workers 1 and 8
    python bench/scale.py --endpoints 5000 --runs 0:1,0:8,0.04:8
    python bench/scale.py --org 20 --endpoints 10 --runs 0.04:1,0.04:8      # 20 accounts x 5 regions
    python bench/scale.py --endpoints 200 --runs 0.04:8 --throttle 20      # AWS throttling SageMaker Describe*
    python bench/scale.py --replay --endpoints 1000 --runs 0:8,0.04:8      # answers replayed from a cache

Starts a moto server (with our extension) in its own process, seeds N endpoints with realistic related
resources, optionally puts a latency-injecting proxy in front (each request waits, as real AWS answers in tens
of milliseconds), runs `audit` as a subprocess through AWS_ENDPOINT_URL and reports wall time, API calls in
total and per endpoint, peak memory (max RSS of the audit process) and rule-evaluation time.

With --replay the moto server answers once, through a recording proxy, into bench/cache/ (one file per seed size
and seed code; --record redoes it), and every measured run is answered from that cache by bench/replay.py's
threaded server in its own process: the moto server's own CPU no longer counts, only the auditor's work and the
latency. A replayed run must reach the recording run's findings (digest) with no request missing from the cache.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REGION, ACCOUNT = "us-east-1", "123456789012"
FAKE = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1-cpu"
TYPES = ["ml.m5.large", "ml.c5.xlarge", "ml.m5.xlarge", "ml.g5.xlarge"]


def start_server() -> tuple[subprocess.Popen[str], str]:
    """A moto server in its own process; it binds a free port and reports it ("ready PORT")."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "moto_server.py")],  # noqa: S603
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    word, port = proc.stdout.readline().split()
    assert word == "ready"
    return proc, f"http://127.0.0.1:{port}"


def seed(url: str, n: int, session: Any = None, account: str = ACCOUNT) -> float:
    """n endpoints: model + artifact, config, tags, 70 % autoscaled, 60 % with alarms, half with log groups,
    10 % monitored; 10 buckets, 5 execution roles, a dashboard per 50 endpoints."""
    import boto3

    os.environ.update(FAKE)
    session = session or boto3.Session(region_name=REGION)

    def c(service: str) -> Any:
        return session.client(service, endpoint_url=url)

    t0 = time.perf_counter()
    s3, iam = c("s3"), c("iam")
    buckets = [f"bench-models-{account}-{b}" for b in range(10)]  # bucket names are global
    for b, name in enumerate(buckets):
        s3.create_bucket(Bucket=name)
        if b % 2:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    principal = {"Service": "sagemaker.amazonaws.com"}
    trust = json.dumps({"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal}]})
    for r in range(5):
        iam.create_role(RoleName=f"bench-exec-{r}", AssumeRolePolicyDocument=trust)

    def one(i: int) -> None:
        sm, s3c, aas, cw, logs = c("sagemaker"), c("s3"), c("application-autoscaling"), c("cloudwatch"), c("logs")
        bucket, key = buckets[i % 10], f"models/m{i}/v1/model.tar.gz"
        s3c.put_object(Bucket=bucket, Key=key, Body=b"model")
        sm.create_model(ModelName=f"m{i}", ExecutionRoleArn=f"arn:aws:iam::{account}:role/bench-exec-{i % 5}",
                        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{bucket}/{key}"},
                        Tags=[{"Key": "owner", "Value": f"team-{i % 7}"}])
        variants = [{"VariantName": "main", "ModelName": f"m{i}", "InstanceType": TYPES[i % 4],
                     "InitialInstanceCount": 2 if i % 3 else 1, "InitialVariantWeight": 1.0}]
        capture = {"EnableCapture": True, "InitialSamplingPercentage": 10,
                   "DestinationS3Uri": f"s3://{bucket}/capture/", "CaptureOptions": [{"CaptureMode": "Input"}]}
        sm.create_endpoint_config(EndpointConfigName=f"c{i}", ProductionVariants=variants,
                                  **({"DataCaptureConfig": capture} if i % 2 else {}))
        env = ("production", "staging", "dev")[i % 3]
        sm.create_endpoint(EndpointName=f"e{i}", EndpointConfigName=f"c{i}",
                           Tags=[{"Key": "environment", "Value": env}, {"Key": "team", "Value": f"team-{i % 7}"}])
        if i % 10 < 7:
            rid = f"endpoint/e{i}/variant/main"
            aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid,
                                         ScalableDimension="sagemaker:variant:DesiredInstanceCount",
                                         MinCapacity=2, MaxCapacity=6)
            aas.put_scaling_policy(PolicyName=f"e{i}-invocations", ServiceNamespace="sagemaker", ResourceId=rid,
                                   ScalableDimension="sagemaker:variant:DesiredInstanceCount",
                                   PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration={
                                       "TargetValue": 70.0, "PredefinedMetricSpecification": {
                                           "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})
        if i % 10 < 6:
            dims = [{"Name": "EndpointName", "Value": f"e{i}"}, {"Name": "VariantName", "Value": "main"}]
            for metric, stat, threshold in (("ModelLatency", "p99", 500000.0), ("Invocation5XXErrors", "Sum", 5.0)):
                alarm: dict[str, Any] = {"AlarmName": f"e{i}-{metric}", "MetricName": metric,
                                         "Namespace": "AWS/SageMaker", "Dimensions": dims, "Period": 300,
                                         "EvaluationPeriods": 3, "Threshold": threshold,
                                         "ComparisonOperator": "GreaterThanThreshold"}
                alarm.update({"ExtendedStatistic": stat} if stat.startswith("p") else {"Statistic": stat})
                cw.put_metric_alarm(**alarm)
        if i % 2:
            logs.create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/e{i}")
        if i % 10 == 0:
            sm.create_data_quality_job_definition(
                JobDefinitionName=f"e{i}-dq", RoleArn=f"arn:aws:iam::{account}:role/bench-exec-0",
                DataQualityAppSpecification={"ImageUri": IMAGE},
                DataQualityJobInput={"EndpointInput": {"EndpointName": f"e{i}", "LocalPath": "/opt/ml/input"}},
                DataQualityJobOutputConfig={"MonitoringOutputs": [{"S3Output": {
                    "S3Uri": f"s3://{bucket}/monitor/", "LocalPath": "/opt/ml/output"}}]},
                DataQualityBaselineConfig={"ConstraintsResource": {"S3Uri": f"s3://{bucket}/baseline/c.json"},
                                           "StatisticsResource": {"S3Uri": f"s3://{bucket}/baseline/s.json"}},
                JobResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                "VolumeSizeInGB": 20}})
            sm.create_monitoring_schedule(MonitoringScheduleName=f"e{i}-dq", MonitoringScheduleConfig={
                "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                "MonitoringJobDefinitionName": f"e{i}-dq", "MonitoringType": "DataQuality"})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(n)))
    cw = c("cloudwatch")
    for d in range(0, n, 50):
        widgets = [{"type": "metric", "properties": {"metrics": [
            ["AWS/SageMaker", m, "EndpointName", f"e{i}", "VariantName", "main"]
            for i in range(d, min(n, d + 50)) for m in ("Invocations", "ModelLatency")]}}]
        cw.put_dashboard(DashboardName=f"bench-{d // 50}", DashboardBody=json.dumps({"widgets": widgets}))
    return time.perf_counter() - t0


def seed_org(url: str, accounts: int, per_account: int) -> float:
    """An organisation: `accounts` member accounts (reached through the role Audit), each with endpoints."""
    import boto3

    os.environ.update(FAKE)
    t0 = time.perf_counter()
    base = boto3.Session(region_name=REGION)
    org = base.client("organizations", endpoint_url=url)
    org.create_organization(FeatureSet="ALL")
    for k in range(accounts):
        acct = org.create_account(AccountName=f"member-{k}", Email=f"m{k}@example.com")["CreateAccountStatus"][
            "AccountId"]
        creds = base.client("sts", endpoint_url=url).assume_role(
            RoleArn=f"arn:aws:iam::{acct}:role/Audit", RoleSessionName="seed")["Credentials"]
        member = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                               aws_session_token=creds["SessionToken"], region_name=REGION)
        seed(url, per_account, member, acct)
    return time.perf_counter() - t0


def alarm_rule() -> Path:
    """A custom rule judging every alarm: it makes regions without endpoints worth reading."""
    return ROOT / "tests" / "rules" / "SM-07-alarm-actions.yaml"


class Throttle:
    """A proxy rule: AWS's per-API token bucket (`rate` requests per second, one second's burst) for every
    SageMaker Describe* API, answering ThrottlingException (HTTP 400, the JSON protocol's error body) beyond it;
    every answer, throttled or not, takes `latency`."""

    PREFIX = "SageMaker.Describe"

    def __init__(self, rate: float, latency: float) -> None:
        self.rate, self.latency = rate, latency
        self.lock = threading.Lock()
        self.buckets: dict[str, tuple[float, float]] = {}  # api -> (tokens, stamp)
        self.throttled = 0

    def __call__(self, op: str, _: int) -> tuple[Any, ...] | None:
        if self.latency:
            time.sleep(self.latency)
        if not op.startswith(self.PREFIX):
            return None
        with self.lock:
            now = time.monotonic()
            tokens, stamp = self.buckets.get(op, (self.rate, now))
            tokens = min(self.rate, tokens + (now - stamp) * self.rate)
            ok = tokens >= 1
            self.buckets[op] = (tokens - 1 if ok else tokens, now)
            if not ok:
                self.throttled += 1
        return None if ok else ("status", 400, "ThrottlingException")


def floor_seconds(by_operation: dict[str, int], rate: float) -> float:
    """The least time the throttled APIs allow: each API's calls at its rate (the APIs' buckets are separate)."""
    return max((c / rate for op, c in by_operation.items() if op.startswith("sagemaker:Describe")), default=0.0)


# `python -m auditor` that writes its own peak RSS (VmHWM) to $BENCH_PEAK_FILE as it exits. Not wait4's
# ru_maxrss: exec keeps the high-water mark of the process it replaced, so a child of this bench (which holds
# every seeded resource) would report this process's size, not its own.
PEAK_RSS = """
import atexit, os, runpy, sys

def _peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["BENCH_PEAK_FILE"], "w") as out:
        out.write(kib)

atexit.register(_peak)
sys.argv[0] = "audit"
runpy.run_module("auditor", run_name="__main__", alter_sys=True)
"""


def run_audit(url: str, workers: int, n: int, scope: list[str] | None = None, production: int | None = None,
              limits: dict[str, Any] | None = None, root: Path = ROOT) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as out:
        if limits:  # an audit.yaml with only these request limits
            (Path(out) / "audit.yaml").write_text(json.dumps({"limits": limits}))
            scope = [*(scope or ["--region", REGION]), "--config", str(Path(out) / "audit.yaml")]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        # a history of its own: every run is a first run (no drift against earlier bench runs, whose size would
        # grow the run's time), and the user's history is left alone
        env.update(FAKE, AWS_ENDPOINT_URL=url, XDG_STATE_HOME=str(Path(out) / "state"))
        peak_file = Path(out) / "peak-kib"
        env["BENCH_PEAK_FILE"] = str(peak_file)
        cmd = [sys.executable, "-c", PEAK_RSS, *(scope or ["--region", REGION]), "--output", out, "--format",
               "json", "-q", "--workers", str(workers)]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=subprocess.DEVNULL,  # noqa: S603 - our own CLI
                                stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)  # wait4: the audit process's own CPU time
        wall = time.perf_counter() - t0
        peak_kib = int(peak_file.read_text()) if peak_file.exists() else usage.ru_maxrss
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1, 3):
            raise SystemExit(f"audit failed ({proc.returncode}): {proc.stderr.read().decode() if proc.stderr else ''}")
        doc = json.loads((Path(out) / "report.json").read_text())
    calls = doc["api_calls"]
    endpoints = len({f["resource"]["arn"] for f in doc["findings"] if f["resource"]["type"] == "sagemaker.endpoint"})
    assert endpoints == n, f"audited {endpoints} endpoints, seeded {n}"
    # every third endpoint is tagged production: a lost tag would silently shrink the production rules' scope
    seen = sum(1 for f in doc["findings"] if f["rule_id"] == "SM-12-production-kms")
    expected = len(range(0, n, 3)) if production is None else production
    assert seen == expected, f"{seen} production endpoints seen, {expected} seeded"
    per_ep = {op: c for op, c in calls["by_operation"].items() if c >= n // 2}
    # what the audit concluded, independent of order: equal digests mean identical findings
    digest = hashlib.sha256(json.dumps(sorted(
        (f["rule_id"], f["resource"]["arn"], f["status"]) for f in doc["findings"])).encode()).hexdigest()[:12]
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "collect": doc["timings"]["collect_seconds"],
            "evaluate": doc["timings"]["evaluate_seconds"],
            "calls": calls["total"], "per_endpoint": calls["total"] / n, "rss_mib": peak_kib / 1024,
            "findings": len(doc["findings"]), "errors": len(doc["collection_errors"]), "scaling_ops": per_ep,
            "digest": digest, "by_operation": calls["by_operation"], "attempts": calls["http_attempts"],
            "account_regions": sum(len(c["regions"]) for c in doc["scope"]["coverage"]),
            "empty_regions": sum(len(c.get("regions_without_endpoints", [])) for c in doc["scope"]["coverage"]),
            "error_samples": [f"{e['service']}:{e['operation']} {e['code']}: {e['message'][:120]}"
                              for e in doc["collection_errors"][:3]]}


CACHE = ROOT / "bench" / "cache"


def cache_path(n: int) -> Path:
    """The replay cache of an n-endpoint seed: a new seed (or moto) makes a new file, never a stale answer."""
    from importlib.metadata import version

    fingerprint = hashlib.sha256((inspect.getsource(seed) + version("moto")).encode()).hexdigest()[:10]
    return CACHE / f"replay-{n}-{fingerprint}.json.gz"


def record(n: int, workers: int) -> Path:
    """Seed a live moto server with n endpoints and record one audit's answers (bench/replay.py's Recorder)."""
    from bench.replay import Cache, Recorder

    path, cache = cache_path(n), Cache()
    server, url = start_server()
    try:
        took = seed(url, n)
        print(f"seeding {n} endpoints ... {took:.1f} s", file=sys.stderr, flush=True)
        with Recorder(int(url.rsplit(":", 1)[1]), cache) as rec:
            r = run_audit(rec.url, workers, n)
        cache.meta = {"endpoints": n, "digest": r["digest"], "calls": r["calls"], "recorded": rec.recorded,
                      "repeats": rec.repeats, "live_wall": r["wall"], "live_collect": r["collect"]}
        cache.save(path)
        print(f"recorded {rec.recorded} answers ({rec.repeats} repeated requests) to {path}; live run: "
              f"{json.dumps(r)}", file=sys.stderr, flush=True)
    finally:
        server.terminate()
        server.wait()
    return path


def start_replay(path: Path, latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "replay.py"), "serve", str(path),  # noqa: S603
                             "--latency", str(latency)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    word, port = proc.stdout.readline().split()
    assert word == "ready"
    return proc, f"http://127.0.0.1:{port}"


def run_replay(a: argparse.Namespace, runs: list[tuple[float, int]]) -> None:
    from bench.replay import Cache, stats

    rows: list[tuple[int, float, int, dict[str, Any]]] = []
    for n in a.endpoints:
        path = cache_path(n)
        if a.record or not path.exists():
            record(n, max(w for _, w in runs))
        meta = Cache.load(path).meta
        for latency in sorted({lat for lat, _ in runs}):
            server, url = start_replay(path, latency)
            try:
                for lat, workers in runs:
                    if lat != latency:
                        continue
                    for _ in range(a.repeat):
                        stats(url, reset=True)
                        r = run_audit(url, workers, n)
                        s = stats(url)
                        if s["misses"]:
                            raise SystemExit(f"{s['misses']} requests not in the replay cache {path} (the auditor "
                                             f"asks something new: --record), e.g. {s['miss_keys'][:3]}")
                        r.update(in_flight=s["busy"] / r["collect"] if r["collect"] else 0.0, peak=s["peak"],
                                 same=r["digest"] == meta["digest"])
                        rows.append((n, latency, workers, r))
                        print(f"replay N={n} latency={latency * 1000:.0f}ms workers={workers}: {json.dumps(r)}",
                              file=sys.stderr, flush=True)
            finally:
                server.terminate()
                server.wait()
    print("| endpoints | latency | workers | wall s | audit CPU s | collect s | eval+report s | API calls "
          "| calls/endpoint | in flight avg (peak) | peak RSS MiB | findings as recorded |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for n, latency, workers, r in rows:
        print(f"| {n} | {latency * 1000:.0f} ms | {workers} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['collect']:.1f} "
              f"| {r['evaluate']:.2f} | {r['calls']} | {r['per_endpoint']:.2f} | {r['in_flight']:.1f} ({r['peak']}) "
              f"| {r['rss_mib']:.0f} | {'yes' if r['same'] else 'NO'} ({r['digest']}) |")
    print("\ncalls by operation:", rows[-1][3]["by_operation"] if rows else {})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoints", type=int, nargs="+", default=[100, 1000])
    p.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.04], help="seconds added to each request")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 8])
    p.add_argument("--runs", help="instead of latency x workers: LATENCY:WORKERS pairs, e.g. 0:1,0:8,0.04:8")
    p.add_argument("--compare", type=Path, metavar="DIR",
                   help="also run each audit with the auditor source in DIR (e.g. a git worktree of an older "
                   "commit) against the same seeded server, right before this one: before/after in equal conditions")
    p.add_argument("--throttle", type=float, metavar="RATE",
                   help="also run each latency throttled: every SageMaker Describe* API limited to RATE requests/s "
                   "(ThrottlingException beyond), reported against its floor (calls / RATE) and the unthrottled "
                   "run's findings")
    p.add_argument("--org", type=int, metavar="ACCOUNTS",
                   help="an organisation of ACCOUNTS member accounts, N endpoints each in us-east-1, audited with "
                   "--accounts org across --org-regions (all but us-east-1 empty)")
    p.add_argument("--org-regions", default="us-east-1,us-west-2,eu-west-1,eu-central-1,ap-southeast-2")
    p.add_argument("--full-regions", action="store_true",
                   help="add a rule about alarms, which any region can have: empty regions are then read in full")
    p.add_argument("--replay", action="store_true",
                   help="answer every run from a cache recorded once per seed (bench/replay.py): times the auditor "
                   "and the latency alone")
    p.add_argument("--record", action="store_true", help="with --replay: record the cache again")
    p.add_argument("--repeat", type=int, default=1, help="with --replay: runs of each LATENCY:WORKERS pair")
    a = p.parse_args()
    runs = [(float(x.split(":")[0]), int(x.split(":")[1])) for x in a.runs.split(",")] if a.runs else \
        [(lat, w) for lat in a.latency for w in a.workers]
    if a.replay:
        if a.org or a.compare or a.throttle or a.full_regions:
            p.error("--replay measures one account's audit: no --org, --compare, --throttle or --full-regions")
        run_replay(a, runs)
        return
    from tests.faultproxy import FaultProxy

    rows: list[tuple[int, float, int, dict[str, Any]]] = []
    throttled: list[tuple[int, float, int, dict[str, Any]]] = []
    for n in a.endpoints:
        server, url = start_server()
        scope = ["--accounts", "org", "--role-name", "Audit", "--region", a.org_regions] if a.org else \
            ["--region", REGION]
        if a.full_regions:
            scope += ["--rules-dir", str(ROOT / "rules"), "--rules-dir", str(alarm_rule())]
        total = n * a.org if a.org else n
        try:
            took = seed_org(url, a.org, n) if a.org else seed(url, n)
            print(f"seeding {total} endpoints ... {took:.1f} s", file=sys.stderr, flush=True)
            port = int(url.rsplit(":", 1)[1])
            for latency, workers in runs:
                if a.compare:
                    with FaultProxy(port, lambda op, i, d=latency: ("slow", d) if d else None) as proxy:
                        b = run_audit(proxy.url, workers, total, scope,
                                      len(range(0, n, 3)) * a.org if a.org else None, root=a.compare.resolve())
                    b["label"] = a.compare.name
                    rows.append((total, latency, workers, b))
                    print(f"N={n} latency={latency * 1000:.0f}ms workers={workers} {a.compare}: {json.dumps(b)}",
                          file=sys.stderr, flush=True)
                with FaultProxy(port, lambda op, i, d=latency: ("slow", d) if d else None) as proxy:
                    r = run_audit(proxy.url, workers, total, scope,
                                  len(range(0, n, 3)) * a.org if a.org else None)
                rows.append((total, latency, workers, r))
                print(f"N={n} latency={latency * 1000:.0f}ms workers={workers}: {json.dumps(r)}",
                      file=sys.stderr, flush=True)
                # throttled: with the default limits (adaptive), then told the rate in audit.yaml
                for limits in ([None, {"sagemaker:Describe*": {"rate": a.throttle}}] if a.throttle else []):
                    rule = Throttle(a.throttle, latency)
                    with FaultProxy(port, rule, qualified=True) as proxy:
                        t = run_audit(proxy.url, workers, total, scope,
                                      len(range(0, n, 3)) * a.org if a.org else None, limits)
                    t.update(throttled=rule.throttled, floor=floor_seconds(t["by_operation"], a.throttle),
                             same_findings=t["digest"] == r["digest"], limits="audit.yaml" if limits else "default")
                    throttled.append((total, latency, workers, t))
                    print(f"N={n} latency={latency * 1000:.0f}ms workers={workers} throttled {a.throttle}/s "
                          f"limits={t['limits']}: {json.dumps(t)}", file=sys.stderr, flush=True)
        finally:
            server.terminate()
            server.wait()
    print("| source | endpoints | account-regions (empty) | latency | workers | wall s | collect s | eval+report s "
          "| API calls | calls/endpoint | peak RSS MiB | findings |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, latency, workers, r in rows:
        print(f"| {r.get('label', 'this')} | {n} | {r['account_regions']} ({r['empty_regions']}) | "
              f"{latency * 1000:.0f} ms | {workers} | {r['wall']:.1f} | {r['collect']:.1f} | {r['evaluate']:.2f} | "
              f"{r['calls']} | {r['per_endpoint']:.2f} | "
              f"{r['rss_mib']:.0f} | {r['findings']} |")
    print("\ncalls that scale with endpoints:", rows[-1][3]["scaling_ops"] if rows else {})
    if throttled:
        print(f"\nthrottled: SageMaker Describe* at {a.throttle:g} requests/s per API")
        print("| endpoints | latency | workers | limits | wall s | collect s | floor s | wall / floor "
              "| collect / floor | throttled answers | HTTP attempts | findings as unthrottled |")
        print("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for n, latency, workers, t in throttled:
            print(f"| {n} | {latency * 1000:.0f} ms | {workers} | {t['limits']} | {t['wall']:.1f} | "
                  f"{t['collect']:.1f} | {t['floor']:.1f} | {t['wall'] / t['floor']:.2f} | "
                  f"{t['collect'] / t['floor']:.2f} | {t['throttled']} | {t['attempts']} | "
                  f"{'yes' if t['same_findings'] else 'NO'} |")


if __name__ == "__main__":
    main()
