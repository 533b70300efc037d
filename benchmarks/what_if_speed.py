"""How long a what-if replay of a busy day takes (server/domain/replay.py), and how close it comes to the day.

A simulated day of a busy telecom hall (benchmarks/sim/replay_day.py: about 1,500 tickets, up to 33 counters,
walk-outs, no-shows, pauses) is turned into the replay's input as the server reads a closed day, then replayed
``--runs`` times as it was and with one more counter from 11:00 to 14:00, each with another seed. Prints the
milliseconds per replay and the figures of the three runs, and ends with one JSON line.

    python benchmarks/what_if_speed.py [--runs 20] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.sim.replay_day import simulated_day
from server.domain import replay
from server.domain.policy import PolicyRules
from server.services.what_if import compare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    day, _ = simulated_day(seed=args.seed)
    rules = PolicyRules()
    change = [replay.AddCounter(11 * 60, 14 * 60, ("bill", "sim", "device"))]
    changed = replay.apply_changes(day.shifts, change)
    timings, cpu = [], []  # wall clock, and this process's CPU time (what a loaded machine does not inflate)
    for seed in range(args.runs):
        for shifts in (day.shifts, changed):
            started, started_cpu = time.perf_counter(), time.process_time()
            replay.replay(day, shifts, rules, seed)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
    timings.sort()
    cpu.sort()
    whole = compare(day, change, rules, args.seed)  # what one request computes: the three runs' figures
    totals = {name: run["totals"] for name, run in whole["runs"].items()}
    p50, worst = timings[len(timings) // 2], timings[-1]
    print(f"{len(day.tickets)} tickets, {len(day.shifts)} shifts; {len(timings)} replays: p50 {p50:.1f} ms, "
          f"max {worst:.1f} ms (CPU p50 {cpu[len(cpu) // 2]:.1f} ms); one request's computation "
          f"{whole['total_ms']:.1f} ms")
    for name, figures in totals.items():
        print(f"  {name:<8} mean wait {figures['wait_mean_min']:>5} min  p90 {figures['wait_p90_min']:>5} min  "
              f"service level {figures['service_level']:.1%}  walk-outs {figures['walk_outs']}")
    print(json.dumps({"benchmark": "what_if_speed", "tickets": len(day.tickets), "shifts": len(day.shifts),
                      "replays": len(timings), "replay_p50_ms": round(p50, 1), "replay_max_ms": round(worst, 1),
                      "replay_cpu_p50_ms": round(cpu[len(cpu) // 2], 1),
                      "request_ms": whole["total_ms"],
                      "wait_mean_min": {name: f["wait_mean_min"] for name, f in totals.items()},
                      "service_level": {name: f["service_level"] for name, f in totals.items()},
                      "load_average": [round(x, 2) for x in os.getloadavg()]}))


if __name__ == "__main__":
    main()
