"""Print a free TCP port on 127.0.0.1 for a benchmark server: any, or the first free one in BENCH_PORTS=LOW-HIGH.

A shared machine may give each engineer a port range (e.g. BENCH_PORTS=18100-18199); without it the kernel picks.
"""

from __future__ import annotations

import os
import socket
import sys


def free_port(spec: str) -> int:
    if not spec:
        candidates = [0]
    else:
        low, _, high = spec.partition("-")
        candidates = list(range(int(low), int(high or low) + 1))
    for port in candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    sys.exit(f"error: no free port in BENCH_PORTS={spec}")


if __name__ == "__main__":
    print(free_port(os.environ.get("BENCH_PORTS", "")))
