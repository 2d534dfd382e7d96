"""Benchmarks, run on demand (not in CI): rule evaluation over large synthetic graphs, API calls per endpoint.

    python bench/run.py                      # evaluation at 1k and 10k endpoints, collection at 25 and 100
    python bench/run.py --eval 10000 --collect 50
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.engine.config import Config  # noqa: E402
from auditor.engine.evaluator import evaluate_rules  # noqa: E402
from auditor.engine.loader import load_rules  # noqa: E402
from auditor.graph import ResourceGraph, region_id  # noqa: E402

ACCOUNT, REGION = "123456789012", "us-east-1"


def synthetic_graph(n: int) -> ResourceGraph:
    """n endpoints with the full chain (config, 2 variants, model, container, package, artifact, alarms...)."""
    g = ResourceGraph(meta={"account": ACCOUNT, "regions": [REGION], "collected_at": "2026-11-25T00:00:00Z"})
    kw = {"account": ACCOUNT, "region": REGION}
    reg = g.add_node(region_id(ACCOUNT, REGION), "aws.region", **kw)
    trail = g.add_node("trail", "cloudtrail.trail", data={"is_logging": True, "captures_endpoint_data_events": True},
                       **kw)
    g.add_edge(reg, "has_trail", trail)
    bucket = g.add_node("arn:aws:s3:::models", "s3.bucket", data={"versioning_status": "Enabled",
                                                                   "default_encryption": "aws:kms"}, tags={}, **kw)
    key = g.add_node("key", "kms.key", data={"key_state": "Enabled", "rotation_enabled": True}, **kw)
    g.add_edge(bucket, "encrypted_by", key)
    role = g.add_node("role", "iam.role", data={"wildcard_grants": []}, tags={}, **kw)
    subnets = [g.add_node(f"subnet-{az}", "ec2.subnet", data={"availability_zone": f"us-east-1{az}"}, **kw)
               for az in "ab"]
    for i in range(n):
        prod = i % 3 != 0
        e = g.add_node(f"ep-{i}", "sagemaker.endpoint", name=f"ep-{i}", tags={"environment": "production" if prod
                                                                               else "dev"}, **kw,
                       data={"status": "InService", "serverless": False, "creation_time": "2026-01-01T00:00:00Z",
                             "invocations_window": float(i % 7), "dashboard_metrics": {"ModelLatency": ["p50"]},
                             "last_deployment_config": None})
        g.add_edge(e, "in_region", reg)
        cfg = g.add_node(f"cfg-{i}", "sagemaker.endpoint_config",
                         data={"data_capture_config": {"EnableCapture": i % 2 == 0}}, tags={}, **kw)
        g.add_edge(e, "uses_config", cfg)
        vpc = {"Subnets": list(subnets), "SecurityGroupIds": ["sg-1"]}
        m = g.add_node(f"model-{i}", "sagemaker.model", data={"vpc_config": vpc, "enable_network_isolation": True},
                       tags={}, **kw)
        g.add_edge(m, "runs_as", role)
        for s in subnets:
            g.add_edge(m, "in_subnet", s)
        c = g.add_node(f"c-{i}", "sagemaker.container", **kw, data={
            "repository_access_mode": "Platform", "image_registry_account": "763104351884", "image_region": REGION,
            "image_location": "763104351884.dkr.ecr.us-east-1.amazonaws.com/x", "image_is_ecr": True,
            "has_artifact": True})
        g.add_edge(m, "has_container", c)
        p = g.add_node(f"pkg-{i}", "sagemaker.model_package", **kw, data={
            "approval_status": "Approved", "has_model_metrics": True, "has_inference_specification": True,
            "older_approved_versions": i % 2})
        g.add_edge(c, "from_package", p)
        o = g.add_node(f"obj-{i}", "s3.object", data={"key": f"models/m{i}/v1.0.{i}/model.tar.gz", "sse": "aws:kms"},
                       **kw)
        g.add_edge(c, "artifact", o)
        g.add_edge(o, "stored_in", bucket)
        g.add_edge(o, "encrypted_by", key)
        for v in ("a", "b"):
            vid = g.add_node(f"ep-{i}/{v}", "sagemaker.variant", **kw, data={
                "serverless": False, "instance_type": "ml.m5.large", "current_instance_count": 1 + i % 3,
                "initial_instance_count": 2, "current_weight": 0.5, "is_gpu": False,
                "metrics": {"cpu_p95_per_vcpu": float(i % 40), "invocations_window": 10.0,
                            "invocations_top4h_share": 0.3}})
            g.add_edge(e, "has_variant", vid)
            g.add_edge(vid, "serves_model", m)
            t = g.add_node(f"t-{i}-{v}", "autoscaling.target", data={"min_capacity": 2, "max_capacity": 4}, **kw)
            g.add_edge(vid, "scaled_by", t)
        for metric in ("ModelLatency", "Invocation5XXErrors"):
            a = g.add_node(f"alarm-{i}-{metric}", "cloudwatch.alarm", data={"metric_names": [metric]}, **kw)
            g.add_edge(e, "alarmed_by", a)
    return g


def bench_eval(n: int) -> None:
    rules = load_rules()
    t0 = time.perf_counter()
    g = synthetic_graph(n)
    t1 = time.perf_counter()
    ev = evaluate_rules(g, rules, Config())
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"eval  endpoints={n:>6} nodes={g.g.number_of_nodes():>7} rules={len(rules)} "
          f"findings={len(ev.findings):>7} build={t1 - t0:6.2f}s evaluate={t2 - t1:6.2f}s "
          f"({(t2 - t1) / n * 1000:.2f} ms/endpoint) peak RSS={peak / 2**20:.0f} MiB")


def bench_reports(n_endpoints: int) -> None:
    """Render every report format for the findings of n endpoints; size and time of each."""
    from auditor.report.model import build_report
    from auditor.report.writers import WRITERS

    rules = load_rules()
    g = synthetic_graph(n_endpoints)
    ev = evaluate_rules(g, rules, Config())
    t0 = time.perf_counter()
    doc = build_report(ev, g)
    print(f"report findings={len(ev.findings)} build_document={time.perf_counter() - t0:.2f}s")
    for fmt, (name, render) in WRITERS.items():
        t0 = time.perf_counter()
        out = render(doc, rules)
        text = out if isinstance(out, str) else "".join(out)
        print(f"       {fmt:<6} {name:<13} {len(text.encode()) / 2**20:7.1f} MiB  {time.perf_counter() - t0:6.2f}s")


def bench_collect(n: int) -> None:
    """API calls for n endpoints in a moto account: total and per endpoint (fixed per-region calls included)."""
    fake = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": REGION}
    os.environ.update(fake)  # moto only: never real credentials  # noqa: S106 - moto
    import boto3
    from moto import mock_aws

    from auditor.collect import collect
    from auditor.session import SessionFactory
    from auditor_demo import moto_ext

    moto_ext.install()
    with mock_aws():
        sm = boto3.client("sagemaker", region_name=REGION)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="bench-models")
        for i in range(n):
            key = f"models/m{i}/v1.0.0/model.tar.gz"
            s3.put_object(Bucket="bench-models", Key=key, Body=b"x")
            sm.create_model(ModelName=f"m{i}", ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
                            PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1",
                                              "ModelDataUrl": f"s3://bench-models/{key}"})
            sm.create_endpoint_config(EndpointConfigName=f"c{i}", ProductionVariants=[
                {"VariantName": "v", "ModelName": f"m{i}", "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}])
            sm.create_endpoint(EndpointName=f"e{i}", EndpointConfigName=f"c{i}")
        factory = SessionFactory(region=REGION)
        t0 = time.perf_counter()
        g = collect(factory, [REGION], now=dt.datetime.now(dt.UTC))
        t1 = time.perf_counter()
    calls = factory.counter
    per = {k: v for k, v in sorted(calls.calls.items()) if v >= n}
    print(f"collect endpoints={n:>5} calls={calls.total:>6} per-endpoint={calls.total / n:5.2f} "
          f"wall={t1 - t0:5.2f}s (in-process moto) nodes={g.g.number_of_nodes()}")
    print(f"        calls that scale with endpoints: {per}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--eval", type=int, nargs="*", default=[1000, 10000])
    p.add_argument("--collect", type=int, nargs="*", default=[25, 100])
    p.add_argument("--reports", type=int, nargs="*", default=[261],
                   help="endpoints whose findings to render (261 endpoints give ~10,000 findings)")
    a = p.parse_args()
    for n in a.reports:
        bench_reports(n)
    for n in a.eval:
        bench_eval(n)
    for n in a.collect:
        bench_collect(n)


if __name__ == "__main__":
    main()
