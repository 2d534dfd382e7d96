"""botocore's own CPU per call, run on demand (not in CI): the floor under any one-process audit's collection.

    python bench/botocore_floor.py [--cache bench/cache/replay-1000-*.json.gz] [--latency 0.04] [--threads 1 8 32 64]

Replays a recorded 1,000-endpoint account (bench/replay.py, in its own process) and makes DescribeEndpoint for
every endpoint with plain boto3 (adaptive retries, as the auditor configures them) from a thread pool of each
size: no auditor code runs. Prints CPU milliseconds per call and wall time. Multiplied by an audit's call count,
this is the CPU its collection needs in one interpreter before the auditor does anything with the answers.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    caches = sorted((ROOT / "bench" / "cache").glob("replay-1000-*.json.gz"))
    p.add_argument("--cache", type=Path, default=caches[-1] if caches else None)
    p.add_argument("--latency", type=float, default=0.04)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 8, 32, 64])
    a = p.parse_args()
    if a.cache is None:
        p.error("no replay cache: run `python bench/scale.py --replay --endpoints 1000` once to record it")
    import boto3
    from botocore.config import Config

    server = subprocess.Popen([sys.executable, str(ROOT / "bench" / "replay.py"), "serve", str(a.cache),  # noqa: S603
                               "--latency", str(a.latency)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        word, port = server.stdout.readline().split()
        assert word == "ready"
        session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench",  # noqa: S106
                                        region_name="us-east-1")  # a local replay: no AWS, no real credentials
        print("| threads | calls | wall s | CPU ms per call |")
        print("|---:|---:|---:|---:|")
        for n in a.threads:
            client = session.client("sagemaker", endpoint_url=f"http://127.0.0.1:{port}",
                                    config=Config(retries={"mode": "adaptive"}, max_pool_connections=max(10, n)))
            names = [e["EndpointName"] for page in client.get_paginator("list_endpoints").paginate(
                PaginationConfig={"PageSize": 100}) for e in page["Endpoints"]]
            wall, cpu = time.perf_counter(), time.process_time()
            with ThreadPoolExecutor(n) as pool:
                list(pool.map(lambda name, c=client: c.describe_endpoint(EndpointName=name), names))
            print(f"| {n} | {len(names)} | {time.perf_counter() - wall:.2f} | "
                  f"{(time.process_time() - cpu) / len(names) * 1000:.2f} |", flush=True)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
