"""What the operations pipeline costs: the service at default settings against the same app without it.

The pipeline (studentgroups.operations): request id, metrics and the access line, security headers,
the body limit and the last-resort 500; rate limiting and CORS are off by default. The baseline is
the same app with those layers taken out. Both are the real server (uvicorn, one worker) in a
subprocess, each GET from 32 keep-alive connections: GET /student_groups/{id} with a key (a cheap
read), and /healthz (no database: the pipeline's share at its largest). Rounds alternate the two
servers so drifts on this shared machine hit both alike. Besides throughput, the CPU time each
server spends per request (from /proc): on a machine shared with other work it is the steadier
figure. The access log goes to /dev/null (its JSON lines are still formatted and written).

Run: .venv/bin/python bench/middleware.py [--sqlite] [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from harness import LoadResult, Server, cpu_seconds_of, free_port, fresh_database, load, one_group, spawned
from studentgroups.main import create_app
from studentgroups.settings import Settings

VARIANTS = ("pipeline", "bare")


def serve(variant: str, database_url: str, port: int) -> None:
    """In the subprocess: the app, with its pipeline or without, under uvicorn as `serve` runs it."""
    # The limiter is on by default on PostgreSQL: keep it on, at a rate no load here reaches, so
    # that its cost is measured and none of the load is refused.
    app = create_app(Settings(database_url=database_url, log_level="info", rate_limit_per_minute=10**9))
    if variant == "bare":
        app.user_middleware = [m for m in app.user_middleware if not _is_operations(m.cls)]
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _cpu_seconds(server: Server) -> float:
    seconds = cpu_seconds_of(server.process.pid)
    assert seconds is not None, "the server is gone"
    return seconds


def _is_operations(layer: object) -> bool:
    module = getattr(layer, "__module__", "")
    return module.startswith("studentgroups.operations") or module.startswith("starlette.middleware.cors")


@dataclass
class Measured:
    load: LoadResult
    cpu_ms_per_request: float


@contextmanager
def running(variant: str, database_url: str) -> Iterator[Server]:
    """The variant's server on a free port; stopped afterwards."""
    port = free_port()
    command = [
        sys.executable,
        __file__,
        "--serve",
        variant,
        "--port",
        str(port),
        "--database-url",
        database_url,
    ]
    with spawned(command, port, seconds=120, quiet=True) as server:
        yield server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sqlite", action="store_true", help="run on SQLite instead of PostgreSQL")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--serve", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.database_url, args.port)
        return

    with fresh_database("sqlite" if args.sqlite else "postgresql") as url:
        key, group_id = one_group(url)

        targets = {
            "get_student_group": (f"/student_groups/{group_id}", {"Authorization": f"Token token={key}"}),
            "healthz": ("/healthz", {}),
        }
        runs: dict[tuple[str, str], list[Measured]] = {}
        with running("pipeline", url) as with_pipeline, running("bare", url) as without:
            servers = {"pipeline": with_pipeline, "bare": without}
            for _ in range(args.rounds):
                for target, (path, headers) in targets.items():
                    for variant in VARIANTS:
                        server = servers[variant]
                        load(server.port, path, headers, connections=args.connections, seconds=1, warmup=0)
                        before = _cpu_seconds(server)
                        measured = load(
                            server.port,
                            path,
                            headers,
                            connections=args.connections,
                            seconds=args.seconds,
                            warmup=0,
                        )
                        cpu_ms = (_cpu_seconds(server) - before) * 1000 / measured.requests
                        runs.setdefault((target, variant), []).append(Measured(measured, cpu_ms))

    result: dict[str, object] = {
        "benchmark": "middleware",
        "database": "sqlite" if args.sqlite else "postgresql",
        "connections": args.connections,
        "rounds": args.rounds,
        "seconds_per_round": args.seconds,
    }
    for target in targets:
        pipeline, bare = runs[(target, "pipeline")], runs[(target, "bare")]
        ratios = sorted(p.load.rps / b.load.rps for p, b in zip(pipeline, bare, strict=True))
        cpu_ratios = sorted(
            p.cpu_ms_per_request / b.cpu_ms_per_request for p, b in zip(pipeline, bare, strict=True)
        )
        result[target] = {
            "pipeline": max(pipeline, key=lambda m: m.load.rps).load.summary(),
            "bare": max(bare, key=lambda m: m.load.rps).load.summary(),
            "cpu_ms_per_request": {
                "pipeline": round(statistics.median(m.cpu_ms_per_request for m in pipeline), 3),
                "bare": round(statistics.median(m.cpu_ms_per_request for m in bare), 3),
            },
            "throughput_ratio_per_round": [round(r, 3) for r in ratios],
            "throughput_ratio": round(statistics.median(ratios), 3),
            "cpu_per_request_ratio_per_round": [round(r, 3) for r in cpu_ratios],
            "cpu_per_request_ratio": round(statistics.median(cpu_ratios), 3),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
