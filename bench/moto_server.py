"""A moto server with our extension, in its own process (so the audit under test does not share its GIL)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    from moto.server import ThreadedMotoServer

    from auditor_demo import moto_ext

    moto_ext.install()
    # Port 0 by default: the server binds a free port itself and reports it, so nothing can take it in between.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]) if len(sys.argv) > 1 else 0,
                                verbose=False)
    server.start()
    print(f"ready {server.get_host_and_port()[1]}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
