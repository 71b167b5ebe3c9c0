"""Concurrent clients against a NetworkedCluster, recording a history for the checker.

Each client thread loops: pick a node (any, partitioned or not: a follower forwards), a key
k0..k4, and either PUT a value no one else writes or a linearizable GET, one request at a
time with a per-request timeout. Every request becomes one `linearizability.Op` with
monotonic call and return times.

Outcome of a PUT:
- 200 is ok;
- 4xx, or a refused connection (nothing was sent), is a definite fail;
- anything else is indeterminate (info): a timeout or broken connection may hide an
  applied write, and a 503 may too: a follower that forwarded the write, or a leader whose
  entry was appended but not committed in time, cannot tell whether it will commit. Only a
  few 503s are certainly before the log ("not the leader"), and treating them as unknown
  costs the checker nothing, since unknown writes nobody read are dropped.
A GET answering 200 or 404 (absent) is an ok read; any other answer is left out.
"""

import http.client
import random
import threading
import time

from linearizability import FAIL, INFO, OK, Op
from netcluster import http_call

KEYS = ["k%d" % i for i in range(5)]


class Workload:
    def __init__(self, cluster, threads=4, request_timeout=2.0, read_share=0.5, seed=None, value_bytes=0):
        self.cluster = cluster
        #: Padding added to every written value, so a partition leaves a follower a log tail
        #: of realistic size to catch up on.
        self.padding = "x" * value_bytes
        self.threads = threads
        self.request_timeout = request_timeout
        self.read_share = read_share
        self.seed = seed if seed is not None else random.randrange(1 << 30)
        self.ops = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers = []

    # -- running

    def start(self):
        for n in range(self.threads):
            worker = threading.Thread(target=self._client, args=(n,), name="client-%d" % n, daemon=True)
            self._workers.append(worker)
            worker.start()

    def stop(self):
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=self.request_timeout + 5)
        self._workers = []

    def _client(self, n):
        rng = random.Random(self.seed * 1000 + n)
        seq = 0
        while not self._stop.is_set():
            node = rng.choice(self.cluster.nodes)
            key = rng.choice(KEYS)
            if rng.random() < self.read_share:
                self.read(node, key, process=n)
            else:
                seq += 1
                self.write(node, key, "p%d-%d-%s" % (n, seq, self.padding), process=n)

    def write(self, node, key, value, process=None):
        call = time.monotonic()
        try:
            status, _ = http_call(node.ip, "PUT", "/kv/" + key, {"value": value}, timeout=self.request_timeout)
            outcome = OK if status == 200 else FAIL if 400 <= status < 500 else INFO
        except ConnectionRefusedError:
            outcome = FAIL
        except (OSError, http.client.HTTPException):
            outcome = INFO
        ret = time.monotonic()
        self._record(Op(key, "put", value, call, ret if outcome != INFO else None, outcome, process, node.id))
        return outcome

    def read(self, node, key, process=None):
        call = time.monotonic()
        try:
            status, body = http_call(node.ip, "GET", "/kv/" + key, timeout=self.request_timeout)
        except (OSError, http.client.HTTPException):
            return None
        ret = time.monotonic()
        if status == 200 and isinstance(body, dict) and isinstance(body.get("value"), str):
            self._record(Op(key, "get", body["value"], call, ret, OK, process, node.id))
            return body["value"]
        if status == 404:
            self._record(Op(key, "get", None, call, ret, OK, process, node.id))
        return None

    def _record(self, op):
        with self._lock:
            self.ops.append(op)

    def final_reads(self):
        """A linearizable read of every key through every node, after the run: an acknowledged
        write lost at the end shows up here."""
        for node in self.cluster.nodes:
            for key in KEYS:
                self.read(node, key, process="final")

    # -- figures

    def first_ok_write_after(self, moment):
        """Return time of the earliest acknowledged PUT that completed after `moment`, or None."""
        with self._lock:
            times = [op.ret for op in self.ops if op.kind == "put" and op.outcome == OK and op.ret > moment]
        return min(times) if times else None

    def wait_for_ok_write_after(self, moment, timeout):
        """Seconds from `moment` to the first acknowledged PUT completing after it; None if none
        completes within `timeout` s of `moment`."""
        deadline = moment + timeout
        while True:
            first = self.first_ok_write_after(moment)
            if first is not None:
                return first - moment
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)

    def longest_write_gap(self, start, end):
        """The longest time within [start, end] with no acknowledged PUT completing, counting
        from `start`: how long the cluster stopped acknowledging writes after a heal."""
        with self._lock:
            times = sorted(op.ret for op in self.ops if op.kind == "put" and op.outcome == OK and start < op.ret <= end)
        edges = [start] + times + [end]
        return max(b - a for a, b in zip(edges, edges[1:]))

    def counts(self):
        with self._lock:
            ops = list(self.ops)
        table = {}
        for op in ops:
            name = "%s_%s" % (op.kind, op.outcome)
            table[name] = table.get(name, 0) + 1
        return table
