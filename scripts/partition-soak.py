#!/usr/bin/env python3
"""A long partition soak, not run in CI: random partitions of a kv-node cluster (each node in
its own network namespace, packets dropped with nftables) under concurrent clients, checked
like the CI suite (Tests/partition): linearizable history, a write acknowledged within the
budget after every heal, convergence at the end.

    sudo scripts/partition-soak.py [--build release] [--minutes 10] [--nodes 5] [--seed N]

Each round picks a random fault: the leader cut off, a follower cut off, a random minority
split, or one random link; holds it 1-6 s; heals; stays healed 1-4 s. Exits 1 when a check
fails (node logs and the history are kept under .build/partition-artifacts/soak-*).
"""

import argparse
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "partition"))

import linearizability  # noqa: E402
from netcluster import NetworkedCluster, is_root, missing_tools  # noqa: E402
from scenarios import HEAL_WAIT_CAP_S, Report, _current_leader, _record_exits  # noqa: E402
from workload import Workload  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="release", choices=["debug", "release"])
    parser.add_argument("--binary", help="kv-node to run (default .build/<build>/kv-node)")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--threads", type=int, default=12)
    parser.add_argument("--value-bytes", type=int, default=512)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds from a heal to the first acknowledged write")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    if not is_root() or missing_tools():
        sys.exit("needs root and iproute2 + nftables (missing: %s)" % (missing_tools() or "root"))
    binary = args.binary or os.path.join(ROOT, ".build", args.build, "kv-node")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    print("soak: %s, %d nodes, %.1f min, seed %d" % (binary, args.nodes, args.minutes, seed), flush=True)

    report = Report("soak", args.build, seed)
    cluster = NetworkedCluster(binary, size=args.nodes)
    workload = Workload(cluster, threads=args.threads, seed=seed, value_bytes=args.value_bytes, read_share=0.3)
    started = time.monotonic()
    try:
        leader = _current_leader(cluster, timeout=30.0)
        workload.start()
        round_number = 0
        while time.monotonic() - started < args.minutes * 60:
            round_number += 1
            leader = _current_leader(cluster, leader)
            others = [n for n in cluster.nodes if n is not leader]
            fault = rng.choice(["leader", "follower", "minority", "link"])
            if fault == "leader":
                cluster.isolate([leader])
            elif fault == "follower":
                cluster.isolate([rng.choice(others)])
            elif fault == "minority":
                cluster.isolate(rng.sample(cluster.nodes, (len(cluster.nodes) - 1) // 2))
            else:
                cluster.set_cuts([tuple(rng.sample(cluster.nodes, 2))])
            time.sleep(rng.uniform(1.0, 6.0))
            healed_at = time.monotonic()
            cluster.heal()
            seconds = workload.wait_for_ok_write_after(healed_at, HEAL_WAIT_CAP_S)
            report.heals.append(seconds)
            print("round %d %-8s heal -> first ok write %s" % (
                round_number, fault, "none" if seconds is None else "%.2f s" % seconds), flush=True)
            time.sleep(max(0.0, healed_at + rng.uniform(1.0, 4.0) - time.monotonic()))
        workload.stop()
        try:
            cluster.converged(timeout=60.0)
            report.converged = True
        except TimeoutError as error:
            report.converged = str(error)
        workload.final_reads()
        report.checker = linearizability.check(workload.ops)
    finally:
        workload.stop()
        _record_exits(cluster, report)
        report.counts = workload.counts()
        report.duration = time.monotonic() - started
        problems = report.failures(args.budget)
        if problems:
            directory = os.path.join(ROOT, ".build", "partition-artifacts", "soak-%d" % seed)
            cluster.save_logs(directory)
            with open(os.path.join(directory, "history.txt"), "w") as history:
                history.write("\n".join(repr(op) for op in sorted(workload.ops, key=lambda op: op.call)) + "\n")
        cluster.close()
    print(report.summary())
    for problem in problems:
        print("FAIL", problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
