"""Partition scenarios: cut, hold, heal, measure; then check the whole history.

A scenario runs a fresh NetworkedCluster under a Workload, repeats `rounds` times
"partition for `hold_s`, heal, stay healed for `healed_s`", and reports:
- per heal, seconds from the heal to the first acknowledged PUT completing after it (None
  when none came within `HEAL_WAIT_CAP_S`; the healed phase waits for it up to that cap, so
  the figure is measured even when it is far over budget);
- for a cut-off leader, seconds from the cut until it stopped calling itself leader;
- whether all nodes reached the same commit and applied index after the last heal;
- the linearizability checker's verdict over the history, final reads included.

`Report.failures(budget)` lists what violates the checks; the tests assert it is empty.
"""

import os
import statistics
import threading
import time
import traceback

import linearizability
from netcluster import NetworkedCluster
from workload import Workload

HEAL_WAIT_CAP_S = 15.0

KINDS = {
    # name: (nodes, what to cut each round, description)
    "leader": (3, "the leader from both followers"),
    "follower": (3, "one follower from the leader and the other follower"),
    "split": (5, "the leader and one follower (minority) from the other three (majority)"),
    "flap": (3, "one leader-follower link only, cut and healed quickly"),
}


class Report:
    def __init__(self, kind, build, seed):
        self.kind, self.build, self.seed = kind, build, seed
        self.heals = []          # seconds to the first acknowledged write after each heal, or None
        self.gaps = []           # per heal, the longest stretch without an acknowledged write while healed
        self.exits = {}          # node id -> exit code, for nodes that stopped during the scenario
        self.stepdowns = []      # seconds until a cut-off leader stopped claiming leadership, or None
        self.converged = None    # None: not checked; True / error text
        self.checker = None
        self.counts = {}
        self.duration = 0.0
        self.error = None

    def failures(self, budget):
        problems = []
        if self.error:
            problems.append("scenario error: %s" % self.error)
        for node, (code, tail) in sorted(self.exits.items()):
            problems.append("%s exited with code %s during the scenario; log tail:\n%s" % (node, code, tail))
        if self.checker is not None and not self.checker.valid:
            problems += ["linearizability: " + p for p in self.checker.problems]
        if self.converged is not True and self.converged is not None:
            problems.append("convergence: %s" % self.converged)
        for n, seconds in enumerate(self.heals, 1):
            if seconds is None:
                problems.append("heal %d: no write acknowledged within %.0f s" % (n, HEAL_WAIT_CAP_S))
            elif seconds > budget:
                problems.append("heal %d: first acknowledged write after %.2f s (budget %.1f s)" % (n, seconds, budget))
        return problems

    def summary(self):
        heals = ", ".join("-" if s is None else "%.2f" % s for s in self.heals)
        known = [s for s in self.heals if s is not None]
        spread = " (min %.2f / median %.2f / max %.2f)" % (min(known), statistics.median(known), max(known)) if known else ""
        line = "%s/%s: heal->first ok write s: [%s]%s" % (self.build, self.kind, heals, spread)
        if self.gaps:
            line += "; longest healed gap s: [%s]" % ", ".join("%.2f" % s for s in self.gaps)
        if self.exits:
            line += "; EXITED: %s" % ", ".join("%s(%s)" % (n, c) for n, (c, _) in sorted(self.exits.items()))
        if self.stepdowns:
            line += "; leader step-down s: [%s]" % ", ".join("-" if s is None else "%.2f" % s for s in self.stepdowns)
        line += "; linearizable: %s" % ("?" if self.checker is None else self.checker.valid)
        line += "; converged: %s" % self.converged
        line += "; ops %s; %.0f s; seed %d" % (
            " ".join("%s=%d" % kv for kv in sorted(self.counts.items())), self.duration, self.seed)
        return line


def _current_leader(cluster, previous=None, timeout=10.0):
    """The agreed leader; when none is agreed in time, whichever node claims the highest term
    (or `previous`), so a wedged cluster still gets partitioned and measured."""
    try:
        return cluster.leader(timeout=timeout)
    except TimeoutError:
        claims = [(s["term"], n) for n in cluster.nodes for s in [n.status()] if s and s.get("role") == "leader"]
        return max(claims, key=lambda c: c[0])[1] if claims else (previous or cluster.nodes[0])


class _StepDownWatch(threading.Thread):
    """Polls a cut-off leader until it no longer calls itself leader."""

    def __init__(self, node, since):
        super().__init__(daemon=True)
        self.node, self.since, self.seconds = node, since, None
        self._done = threading.Event()

    def run(self):
        while not self._done.is_set():
            status = self.node.status(timeout=0.5)
            if status is not None and status.get("role") != "leader":
                self.seconds = time.monotonic() - self.since
                return
            time.sleep(0.02)

    def finish(self):
        self._done.set()
        self.join(timeout=2)
        return self.seconds


def _record_exits(cluster, report):
    for node in cluster.nodes:
        code = None if node.process is None else node.process.poll()
        if code is not None and node.id not in report.exits:
            report.exits[node.id] = (code, node.log_tail(30))


def run_scenario(binary, kind, build, rounds, hold_s, healed_s, seed=None, threads=4, value_bytes=0,
                 read_share=0.5, artifacts=None, heal_budget=2.0, log=print):
    """Runs one scenario on a fresh cluster and returns its Report. Removes everything it
    created, also on failure; copies the node logs to `artifacts` when a check fails."""
    size, _ = KINDS[kind]
    started = time.monotonic()
    cluster = NetworkedCluster(binary, size=size)
    workload = Workload(cluster, threads=threads, seed=seed, value_bytes=value_bytes, read_share=read_share)
    report = Report(kind, build, workload.seed)
    try:
        leader = _current_leader(cluster, timeout=30.0)
        workload.start()
        time.sleep(1.0)
        for round_number in range(rounds):
            leader = _current_leader(cluster, leader)
            followers = [n for n in cluster.nodes if n is not leader]
            watch = None
            if kind == "leader":
                cluster.isolate([leader])
                watch = _StepDownWatch(leader, time.monotonic())
                watch.start()
            elif kind == "follower":
                cluster.isolate([followers[round_number % len(followers)]])
            elif kind == "split":
                cluster.isolate([leader, followers[round_number % len(followers)]])
                watch = _StepDownWatch(leader, time.monotonic())
                watch.start()
            elif kind == "flap":
                cluster.set_cuts([(leader, followers[round_number % len(followers)])])
            time.sleep(hold_s)
            if watch is not None:
                report.stepdowns.append(watch.finish())
            healed_at = time.monotonic()
            cluster.heal()
            report.heals.append(workload.wait_for_ok_write_after(healed_at, HEAL_WAIT_CAP_S))
            log("  %s/%s round %d: heal -> first ok write %s" % (
                build, kind, round_number + 1,
                "none" if report.heals[-1] is None else "%.2f s" % report.heals[-1]))
            remaining = healed_at + healed_s - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)
            report.gaps.append(workload.longest_write_gap(healed_at, time.monotonic()))
        workload.stop()
        _record_exits(cluster, report)
        try:
            cluster.converged(timeout=30.0)
            report.converged = True
        except TimeoutError as error:
            report.converged = "%s; statuses: %s" % (error, {
                n.id: None if s is None else {k: s.get(k) for k in ("role", "term", "commit_index", "applied_index")}
                for n, s in ((n, n.status()) for n in cluster.nodes)})
        workload.final_reads()
        report.checker = linearizability.check(workload.ops)
    except Exception as error:  # reported as a failure with the logs kept
        report.error = "%s: %s\n%s" % (type(error).__name__, error, traceback.format_exc())
    finally:
        workload.stop()
        _record_exits(cluster, report)
        report.counts = workload.counts()
        report.duration = time.monotonic() - started
        if artifacts and (report.error or report.exits or report.converged is not True
                          or (report.checker is not None and not report.checker.valid)
                          or any(s is None or s > heal_budget for s in report.heals)):
            directory = os.path.join(artifacts, "%s-%s" % (build, kind))
            cluster.save_logs(directory)
            with open(os.path.join(directory, "history.txt"), "w") as history:
                history.write("\n".join(repr(op) for op in sorted(workload.ops, key=lambda op: op.call)) + "\n")
        cluster.close()
    return report
