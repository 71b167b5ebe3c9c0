"""`throughput --ops cas`: compare-and-swap throughput, kv-node against etcd (issue 18).

Each connection runs read-modify-write on a counter: read the key and its revision, write
value + 1 on condition that the revision is still the one read, and on a failed condition
(kv-node: 412 to `If-Match`; etcd: a `/v3/kv/txn` whose `mod_revision` compare is false)
read again and retry. By default every connection has a counter of its own, so the figure is
the cost of a conditional write and its read, not of contention; `--cas-keys K` makes the
connections share K counters. `--cas-read conflict` skips the read after a success (the
client knows the value it wrote and the revision the answer carried), which is how a client
that owns a key runs CAS in a loop.

A CAS counts when its conditional write succeeds; its latency runs from the first read to
that success, retries included. At the end each counter must hold exactly the number of
successful CAS on it (writes whose answer was lost are counted apart, since they may or may
not have applied). The load runs in `--cas-processes` Python processes (asyncio, keep-alive
connections), since one Python process cannot keep 64 connections busy.
"""

import array
import asyncio
import base64
import json
import multiprocessing
import re
import statistics
import time

import rawhttp

ETCD_VALUE_RE = re.compile(rb'"value":"([A-Za-z0-9+/=]*)"')
ETCD_MOD_RE = re.compile(rb'"mod_revision":"(\d+)"')
ETCD_HEADER_REV_RE = re.compile(rb'"header":\{[^}]*"revision":"(\d+)"')


def b64(text):
    return base64.b64encode(text.encode()).decode()


class Conflict(Exception):
    """The condition failed: another write changed the key since it was read."""


class KVNodeCAS:
    """GET /kv/{key}, then PUT /kv/{key} with If-Match: "<revision>" (412 when it moved)."""

    @staticmethod
    def key(i):
        return "cas-%04d" % i

    @staticmethod
    def put(host, port, key, value):
        return rawhttp.request("PUT", "/kv/" + key, host, port, json.dumps({"value": value}))

    @staticmethod
    def read(host, port, key):
        return rawhttp.request("GET", "/kv/" + key, host, port)

    @staticmethod
    def parse_read(status, body):
        if status != 200:
            raise ValueError("read answered %d %r" % (status, body[:80]))
        doc = json.loads(body)
        return int(doc["value"]), int(doc["revision"])

    @staticmethod
    def write(host, port, key, value, revision):
        return rawhttp.request("PUT", "/kv/" + key, host, port, '{"value":"%d"}' % value,
                               {"If-Match": '"%d"' % revision})

    @staticmethod
    def parse_write(status, body):
        """The key's new revision, or Conflict."""
        if status == 412:
            raise Conflict()
        if status != 200:
            raise ValueError("conditional write answered %d %r" % (status, body[:80]))
        return int(json.loads(body)["revision"])


class EtcdCAS:
    """POST /v3/kv/range, then POST /v3/kv/txn comparing mod_revision (etcd's own CAS)."""

    @staticmethod
    def key(i):
        return "cas-%04d" % i

    @staticmethod
    def put(host, port, key, value):
        return rawhttp.request("POST", "/v3/kv/put", host, port,
                               json.dumps({"key": b64(key), "value": b64(value)}))

    @staticmethod
    def read(host, port, key):
        return rawhttp.request("POST", "/v3/kv/range", host, port, '{"key":"%s"}' % b64(key))

    @staticmethod
    def parse_read(status, body):
        value, mod = ETCD_VALUE_RE.search(body), ETCD_MOD_RE.search(body)
        if status != 200 or not value or not mod:
            raise ValueError("range answered %d %r" % (status, body[:80]))
        return int(base64.b64decode(value.group(1))), int(mod.group(1))

    @staticmethod
    def write(host, port, key, value, revision):
        k = b64(key)
        body = ('{"compare":[{"key":"%s","target":"MOD","mod_revision":"%d","result":"EQUAL"}],'
                '"success":[{"request_put":{"key":"%s","value":"%s"}}]}' % (k, revision, k, b64(str(value))))
        return rawhttp.request("POST", "/v3/kv/txn", host, port, body)

    @staticmethod
    def parse_write(status, body):
        if status != 200:
            raise ValueError("txn answered %d %r" % (status, body[:80]))
        # The gateway leaves out fields at their default: a failed compare has no "succeeded".
        if b'"succeeded":true' not in body:
            raise Conflict()
        match = ETCD_HEADER_REV_RE.search(body)
        if not match:
            raise ValueError("txn answer without a revision %r" % body[:80])
        return int(match.group(1))


ADAPTERS = {"kv-node": KVNodeCAS, "etcd": EtcdCAS}


async def _connection(adapter, host, port, key, read_mode, window, stats):
    """One keep-alive connection doing CAS on `key` until the window closes."""
    t_measure, t_end = window
    reader = writer = None
    known = None   # (value, revision) after our own success, when read_mode == "conflict"
    while time.monotonic() < t_end:
        began = time.monotonic()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            while True:
                if known is None:
                    writer.write(adapter.read(host, port, key))
                    status, _, body = await rawhttp.read_response(reader)
                    known = adapter.parse_read(status, body)
                    if time.monotonic() >= t_measure:
                        stats["reads"] += 1
                value, revision = known
                writer.write(adapter.write(host, port, key, value + 1, revision))
                try:
                    status, _, body = await rawhttp.read_response(reader)
                except (OSError, asyncio.IncompleteReadError):
                    stats["unknown_outcome"] += 1   # sent, answer lost: may have applied
                    raise
                try:
                    new_revision = adapter.parse_write(status, body)
                except Conflict:
                    known = None
                    if time.monotonic() >= t_measure:
                        stats["conflicts"] += 1
                    continue
                known = (value + 1, new_revision) if read_mode == "conflict" else None
                break
        except (OSError, asyncio.IncompleteReadError, ValueError, KeyError) as error:
            stats["errors"] += 1
            stats["last_error"] = "%s: %s" % (type(error).__name__, error)
            if writer is not None:
                writer.close()
            reader = writer = None
            known = None
            await asyncio.sleep(0.05)
            continue
        done = time.monotonic()
        stats["successes"][key] = stats["successes"].get(key, 0) + 1
        if t_measure <= done < t_end:
            stats["ok"] += 1
            stats["latencies"].append(done - began)
    if writer is not None:
        writer.close()


def _process(pipe, system, host, port, keys, read_mode, t_start, window):
    stats = {"ok": 0, "reads": 0, "conflicts": 0, "errors": 0, "unknown_outcome": 0, "last_error": None,
             "successes": {}, "latencies": array.array("d")}

    async def main():
        await asyncio.sleep(max(0.0, t_start - time.monotonic()))
        await asyncio.gather(*(_connection(ADAPTERS[system], host, port, k, read_mode, window, stats) for k in keys))

    asyncio.run(main())
    stats["latencies"] = stats["latencies"].tobytes()
    stats["cpu_s"] = time.process_time()
    pipe.send(stats)
    pipe.close()


def _call(host, port, payload, timeout=5.0):
    """One request on a fresh blocking connection: (status, body)."""
    async def once():
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(payload)
            status, _, body = await asyncio.wait_for(rawhttp.read_response(reader), timeout)
            return status, body
        finally:
            writer.close()
    return asyncio.run(once())


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(round(p / 100.0 * (len(sorted_values) - 1))))]


def measure(system, member, cluster, conns, warmup, duration, processes=2, read_mode="always", shared_keys=0,
            log=print):
    """CAS through `member` of `cluster` for warmup + duration seconds; returns the record."""
    adapter = ADAPTERS[system]
    host, port = member.host, member.port
    key_count = shared_keys or conns
    keys = [adapter.key(i) for i in range(key_count)]
    for k in keys:
        status, body = _call(host, port, adapter.put(host, port, k, "0"))
        if status != 200:
            raise RuntimeError("could not reset counter %s: %d %r" % (k, status, body[:80]))
    per_connection = [keys[i % key_count] for i in range(conns)]
    processes = max(1, min(processes, conns))
    t_start = time.monotonic() + 0.5
    window = (t_start + warmup, t_start + warmup + duration)
    ctx = multiprocessing.get_context("fork")
    workers = []
    for p in range(processes):
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_process, args=(child, system, host, port, per_connection[p::processes],
                                                  read_mode, t_start, window), daemon=True)
        proc.start()
        child.close()
        workers.append((proc, parent))
    time.sleep(max(0.0, window[0] - time.monotonic()))
    cpu0 = cluster.cpu()
    time.sleep(max(0.0, window[1] - time.monotonic()))
    cpu1 = cluster.cpu()
    results = []
    for proc, pipe in workers:
        if not pipe.poll(60):
            proc.kill()
            raise RuntimeError("a CAS worker did not report within 60 s")
        results.append(pipe.recv())
        proc.join()
    latencies = array.array("d")
    successes = {}
    for r in results:
        latencies.frombytes(r["latencies"])
        for k, n in r["successes"].items():
            successes[k] = successes.get(k, 0) + n
    # Every counter must hold the successes on it: a lost update would show here.
    lost = 0
    for k in keys:
        status, body = _call(host, port, adapter.read(host, port, k))
        value, _ = adapter.parse_read(status, body)
        lost += abs(value - successes.get(k, 0))
    lat = sorted(latencies)
    ok = sum(r["ok"] for r in results)
    record = {"kind": "cas", "conns": conns, "seconds": duration, "read_mode": read_mode, "keys": key_count,
              "client_processes": processes, "cas_per_s": ok / duration, "ok": ok,
              "p50_ms": 1000 * percentile(lat, 50) if lat else None,
              "p99_ms": 1000 * percentile(lat, 99) if lat else None,
              "max_ms": 1000 * lat[-1] if lat else None,
              "mean_ms": 1000 * statistics.fmean(lat) if lat else None,
              "conflicts": sum(r["conflicts"] for r in results), "reads": sum(r["reads"] for r in results),
              "errors": sum(r["errors"] for r in results),
              "unknown_outcome": sum(r["unknown_outcome"] for r in results),
              "last_error": next((r["last_error"] for r in results if r["last_error"]), None),
              "counter_mismatch": lost, "cpu_s": cpu1 - cpu0,
              "client_cores": sum(r["cpu_s"] for r in results) / (window[1] - t_start),
              "cpu_us_per_op": (cpu1 - cpu0) * 1e6 / ok if ok else None}
    return record
