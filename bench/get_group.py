"""GET /student_groups/{id} with a key, against the same server's constant-JSON /healthz.

One worker, PostgreSQL (or --sqlite), 32 concurrent keep-alive connections on 127.0.0.1.
Rounds alternate baseline and target so drifts on this shared machine hit both alike.
Run: .venv/bin/python bench/get_group.py [--sqlite] [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import time

from harness import fresh_database, load, one_group, running_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sqlite", action="store_true", help="run on SQLite instead of PostgreSQL")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    with fresh_database("sqlite" if args.sqlite else "postgresql") as url:
        key, group_id = one_group(url)

        with running_server(url, workers=1) as server:
            auth = {"Authorization": f"Token token={key}"}
            baseline, target = [], []
            client_cpu = []
            for _ in range(args.rounds):
                cpu0, wall0 = time.process_time(), time.perf_counter()
                baseline.append(
                    load(server.port, "/healthz", {}, connections=args.connections, seconds=args.seconds)
                )
                client_cpu.append((time.process_time() - cpu0) / (time.perf_counter() - wall0))
                target.append(
                    load(
                        server.port,
                        f"/student_groups/{group_id}",
                        auth,
                        connections=args.connections,
                        seconds=args.seconds,
                    )
                )

    best_base = max(baseline, key=lambda r: r.rps)
    best_target = max(target, key=lambda r: r.rps)
    ratios = [t.rps / b.rps for b, t in zip(baseline, target, strict=True)]
    result = {
        "benchmark": "get_group",
        "database": "sqlite" if args.sqlite else "postgresql",
        "connections": args.connections,
        "rounds": args.rounds,
        "seconds_per_round": args.seconds,
        "baseline_healthz": best_base.summary(),
        "get_student_group": best_target.summary(),
        "ratio_per_round": [round(r, 3) for r in ratios],
        "ratio": round(sorted(ratios)[len(ratios) // 2], 3),
        "load_generator_cpu_share_during_baseline": round(max(client_cpu), 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
