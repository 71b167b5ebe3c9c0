#!/usr/bin/env python3
"""Cluster benchmark helper: kv-node vs etcd, 3 members each on loopback.

run.sh calls one phase at a time; every phase starts its own clusters under --work and stops
them before it returns (also on Ctrl-C), and appends its figures as JSON lines to --results.
`report` turns that file into the Markdown tables of Docs/BENCHMARKS.md.

    cluster.py throughput --kv-bin BIN --work DIR --results FILE [--conns 1,16,64,256] ...
    cluster.py throughput --kv-bin BIN --work DIR --results FILE --peer-tls DIR [--ab-rounds 3]
        (kv-node with peer mutual TLS against plaintext kv-node instead of etcd; openssl
        makes the CA and node certificates in DIR)
    cluster.py throughput --kv-bin BIN --baseline-bin OLD --work DIR --results FILE [--ab-rounds 3]
        (two kv-node binaries, alternating round by round, instead of etcd)
    cluster.py throughput ... --etcd-native
        (also etcd through its own Go client over gRPC, beside its JSON gateway; etcdnative.py)
    cluster.py throughput ... --ops cas [--cas-read always|conflict] [--cas-keys K]
        (compare-and-swap: read-modify-write with If-Match / etcd txn; cas.py)
    cluster.py watch-fanout --kv-bin BIN --work DIR --results FILE [--watchers 1000]
        [--watch-rate 1000] [--watch-seconds 10]   (SSE watch against etcd's; watchfanout.py)
    cluster.py failover   --kv-bin BIN --work DIR --results FILE [--rounds 20]
    cluster.py footprint  --kv-bin BIN --work DIR --results FILE [--keys 1000000]
    cluster.py profile    --kv-bin BIN --work DIR --results FILE --out DIR
    cluster.py report     --results FILE

Standard library only, so it runs wherever python3 does.
"""

import argparse
import asyncio
import base64
import collections
import glob
import http.client
import json
import os
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

import backup  # noqa: E402  (the backup phase, Benchmarks/cluster/backup.py)
import cas  # noqa: E402  (throughput --ops cas, Benchmarks/cluster/cas.py)
import etcdnative  # noqa: E402  (throughput --etcd-native, Benchmarks/cluster/etcdnative.py)
import partition  # noqa: E402  (the partition phase, Benchmarks/cluster/partition.py)
import watchfanout  # noqa: E402  (the watch-fanout phase, Benchmarks/cluster/watchfanout.py)

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "lua")
CLK_TCK = os.sysconf("SC_CLK_TCK")
VALUE = "v" * 100


def key(n):
    """The benchmark's key shape: 'k' + 15 digits = 16 bytes (same as lua/common.lua)."""
    return "k%015d" % n


def log(*parts):
    print("[%s]" % time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def b64(text):
    return base64.b64encode(text.encode()).decode()


def http_call(host, port, method, path, body=None, timeout=2.0):
    """One request on a fresh connection. Returns (status, body bytes); raises OSError."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def try_json(host, port, method, path, body=None, timeout=1.0):
    try:
        status, data = http_call(host, port, method, path, body, timeout)
        return json.loads(data) if status == 200 else None
    except (OSError, ValueError, http.client.HTTPException):
        return None


def wait_until(what, predicate, timeout=60.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError("timed out waiting for " + what)


# ---------------------------------------------------------------------------------------
# Processes: CPU time, memory, disk

def cpu_seconds(pid, task=None):
    """utime + stime of a process, or of one of its threads, from /proc/PID[/task/TID]/stat
    (fields 14 and 15); 0 once it is gone."""
    path = "/proc/%d/stat" % pid if task is None else "/proc/%d/task/%s/stat" % (pid, task)
    try:
        with open(path) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except OSError:
        return 0.0


def memory_kib(pid):
    """VmRSS, RssAnon and RssFile (KiB) from /proc/PID/status. RssFile is mostly mapped data
    files (LMDB's map, bbolt's mmap), which the kernel may drop under pressure."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile"):
                out[name] = int(rest.split()[0])
    return out


def dir_bytes(path):
    return int(subprocess.run(["du", "-sb", path], capture_output=True, text=True, check=True).stdout.split()[0])


def parse_prometheus(text, names):
    """Sums of the unlabelled-or-labelled samples of the given metric names."""
    out = {name: 0.0 for name in names}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        metric, _, value = line.rpartition(" ")
        base = metric.split("{", 1)[0]
        if base in out:
            out[base] += float(value)
    return out


# ---------------------------------------------------------------------------------------
# Clusters

class Member:
    def __init__(self, name, argv, data_dir, log_path, host, port):
        self.name, self.argv, self.data_dir, self.log_path = name, argv, data_dir, log_path
        self.host, self.port = host, port
        self.proc = None

    def start(self):
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        logf = open(self.log_path, "ab")
        # Own process group: Ctrl-C in the terminal reaches this script, which stops the
        # members in order, instead of killing them mid-measurement behind its back.
        self.proc = subprocess.Popen(self.argv, stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        logf.close()
        with open(os.path.join(os.environ.get("BENCH_WORK", "/tmp"), "pids"), "a") as f:
            f.write("%d\n" % self.proc.pid)
        return time.monotonic()

    @property
    def pid(self):
        return self.proc.pid

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.alive:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()


class Cluster:
    system = "?"

    def __init__(self, root, base_port, fast_failover):
        self.root, self.base_port, self.fast = root, base_port, fast_failover
        self.members = []

    def start(self):
        for m in self.members:
            m.start()
        self.wait_healthy()
        return self

    def stop(self):
        for m in self.members:
            m.stop()

    def remove_data(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def leader(self):
        """The member every live member names as leader, or None."""
        raise NotImplementedError

    def wait_healthy(self, timeout=60.0):
        return wait_until(self.system + " leader", self.leader, timeout)

    def cpu(self):
        return sum(cpu_seconds(m.pid) for m in self.members if m.alive)

    def follower(self):
        leader = self.wait_healthy()
        return next(m for m in self.members if m is not leader)


def make_peer_certificates(directory, names):
    """A CA and, for each node, a certificate with CN and SAN DNS = its id, made with openssl as
    Docs/SECURITY.md describes; keys 0600. Returns {name: kv-node flags}."""
    os.makedirs(directory, exist_ok=True)

    def run(*argv):
        subprocess.run(["openssl"] + list(argv), check=True, capture_output=True, cwd=directory)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bench peer CA")
    flags = {}
    for name in names:
        with open(os.path.join(directory, name + ".ext"), "w") as f:
            f.write("subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\n" % name)
        run("req", *ec, "-keyout", name + "-key.pem", "-out", name + ".csr", "-subj", "/CN=" + name)
        run("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
            "-days", "2", "-extfile", name + ".ext", "-out", name + ".pem")
        for key_file in (name + "-key.pem", "ca-key.pem"):
            os.chmod(os.path.join(directory, key_file), 0o600)
        flags[name] = ["--peer-cert-file", os.path.join(directory, name + ".pem"),
                       "--peer-key-file", os.path.join(directory, name + "-key.pem"),
                       "--peer-trusted-ca-file", os.path.join(directory, "ca.pem")]
    return flags


class KVCluster(Cluster):
    system = "kv-node"

    def __init__(self, binary, root, base_port, fast_failover=False, peer_tls=None, label=None, extra_args=()):
        super().__init__(root, base_port, fast_failover)
        self.peer_tls = peer_tls
        if peer_tls:
            self.system = "kv-node mTLS"
        if label:
            self.system = label
        spec = []
        for i in range(3):
            api, raft = base_port + 10 * i, base_port + 10 * i + 1
            spec.append(("n%d" % i, api, raft))
        peers = ",".join("%s=127.0.0.1:%d@127.0.0.1:%d" % (n, raft, api) for n, api, raft in spec)
        tls_flags = make_peer_certificates(peer_tls, [n for n, _, _ in spec]) if peer_tls else {}
        for name, api, raft in spec:
            data = os.path.join(root, name)
            argv = [binary, "--id", name, "--api-addr", "127.0.0.1:%d" % api,
                    "--raft-addr", "127.0.0.1:%d" % raft, "--data-dir", data,
                    "--bootstrap", "--peers", peers, "--log-level", "notice"] + tls_flags.get(name, []) \
                + list(extra_args)
            if fast_failover:
                # 150-300 ms election timeouts (randomised up to twice --election-ticks).
                argv += ["--tick-ms", "10", "--heartbeat-ticks", "5", "--election-ticks", "15"]
            self.members.append(Member(name, argv, data, os.path.join(root, name + ".log"), "127.0.0.1", api))

    def remove_data(self):
        super().remove_data()
        if self.peer_tls:
            shutil.rmtree(self.peer_tls, ignore_errors=True)  # the keys go with the cluster

    def status(self, m):
        return try_json(m.host, m.port, "GET", "/cluster/status", timeout=0.5)

    def leader(self):
        views = [self.status(m) for m in self.members if m.alive]
        if not views or any(v is None or not v.get("leader_api_addr") for v in views):
            return None
        addrs = {v["leader_api_addr"] for v in views}
        if len(addrs) != 1:
            return None
        port = int(addrs.pop().rsplit(":", 1)[1])
        return next((m for m in self.members if m.port == port and m.alive), None)

    def caught_up(self):
        """Every live member has applied what the leader has committed."""
        views = [self.status(m) for m in self.members if m.alive]
        if any(v is None for v in views):
            return False
        leader = [v for v in views if v["role"] == "leader"]
        return len(leader) == 1 and all(v["applied_index"] >= leader[0]["commit_index"] for v in views)

    def term(self):
        """The highest Raft term any live member reports (an election raises it)."""
        views = [self.status(m) for m in self.members if m.alive]
        return max((int(v["term"]) for v in views if v), default=None)

    def metrics(self, m):
        try:
            status, text = http_call(m.host, m.port, "GET", "/metrics", timeout=2)
        except OSError:
            return {}
        return parse_prometheus(text.decode(), ["kv_proposals_total", "kv_storage_sync_seconds_count",
                                                "kv_storage_durable_commits_total",
                                                "kv_storage_sync_seconds_sum",
                                                "kv_wal_sync_seconds_count", "kv_wal_sync_seconds_sum",
                                                "kv_entries_persisted_total"])

    def put(self, m, n, timeout=2.0):
        status, _ = http_call(m.host, m.port, "PUT", "/kv/" + key(n), json.dumps({"value": VALUE}), timeout)
        return status == 200

    def read(self, m, n, linearizable, timeout=2.0):
        path = "/kv/" + key(n) + ("" if linearizable else "?consistency=stale")
        status, _ = http_call(m.host, m.port, "GET", path, timeout=timeout)
        return status == 200

    scripts = {"write": "kv_put.lua", "read": "kv_get.lua", "stale read": "kv_get_stale.lua"}


class EtcdCluster(Cluster):
    system = "etcd"

    def __init__(self, binary, root, base_port, fast_failover=False):
        super().__init__(root, base_port, fast_failover)
        spec = [("e%d" % i, base_port + 10 * i, base_port + 10 * i + 1) for i in range(3)]
        initial = ",".join("%s=http://127.0.0.1:%d" % (n, peer) for n, _, peer in spec)
        for name, client, peer in spec:
            data = os.path.join(root, name)
            argv = [binary, "--name", name, "--data-dir", data,
                    "--listen-client-urls", "http://127.0.0.1:%d" % client,
                    "--advertise-client-urls", "http://127.0.0.1:%d" % client,
                    "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
                    "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
                    "--initial-cluster", initial, "--initial-cluster-state", "new",
                    "--initial-cluster-token", "bench", "--logger", "zap", "--log-level", "warn"]
            if fast_failover:
                # etcd randomises the election timeout in [T, 2T): 150-300 ms like kv-node's
                # fast setting. It insists on T >= 5 heartbeats, hence 30 ms heartbeats.
                # PreVote is on in kv-node, so it is on here too.
                argv += ["--heartbeat-interval", "30", "--election-timeout", "150", "--pre-vote"]
            self.members.append(Member(name, argv, data, os.path.join(root, name + ".log"), "127.0.0.1", client))

    def status(self, m):
        return try_json(m.host, m.port, "POST", "/v3/maintenance/status", "{}", timeout=0.5)

    def leader(self):
        views = [(m, self.status(m)) for m in self.members if m.alive]
        if not views or any(v is None or v.get("leader", "0") == "0" for _, v in views):
            return None
        leaders = {v["leader"] for _, v in views}
        if len(leaders) != 1:
            return None
        lead = leaders.pop()
        return next((m for m, v in views if v["header"]["member_id"] == lead), None)

    def term(self):
        """The highest Raft term any live member reports (an election raises it)."""
        views = [self.status(m) for m in self.members if m.alive]
        return max((int(v.get("raftTerm", v.get("header", {}).get("raft_term", 0))) for v in views if v), default=None)

    def caught_up(self):
        views = [self.status(m) for m in self.members if m.alive]
        if any(v is None for v in views):
            return False
        indexes = [int(v.get("raftAppliedIndex", v.get("raftIndex", 0))) for v in views]
        return max(indexes) - min(indexes) <= 2

    def metrics(self, m):
        try:
            status, text = http_call(m.host, m.port, "GET", "/metrics", timeout=2)
        except OSError:
            return {}
        return parse_prometheus(text.decode(), ["etcd_server_proposals_committed_total",
                                                "etcd_disk_wal_fsync_duration_seconds_count",
                                                "etcd_disk_wal_fsync_duration_seconds_sum",
                                                "etcd_disk_backend_commit_duration_seconds_count",
                                                "etcd_disk_backend_commit_duration_seconds_sum"])

    def put(self, m, n, timeout=2.0):
        body = json.dumps({"key": b64(key(n)), "value": b64(VALUE)})
        status, data = http_call(m.host, m.port, "POST", "/v3/kv/put", body, timeout)
        return status == 200 and b"error" not in data

    def read(self, m, n, linearizable, timeout=2.0):
        query = {"key": b64(key(n))}
        if not linearizable:
            query["serializable"] = True
        status, data = http_call(m.host, m.port, "POST", "/v3/kv/range", json.dumps(query), timeout)
        return status == 200 and b'"kvs"' in data

    scripts = {"write": "etcd_put.lua", "read": "etcd_range.lua", "stale read": "etcd_range_serializable.lua"}


def _interrupted(*_):
    raise KeyboardInterrupt()


class Clusters:
    """Starts clusters and guarantees they are stopped and their data removed, also when a
    phase fails or is interrupted (SIGINT/SIGTERM raise KeyboardInterrupt here)."""

    def __init__(self, args):
        self.args, self.started = args, []

    def kv(self, name, port_offset, fast=False, peer_tls=None, binary=None, label=None, extra_args=None):
        if extra_args is None:
            extra_args = shlex.split(self.args.kv_args)
        c = KVCluster(binary or self.args.kv_bin, os.path.join(self.args.work, name), 22000 + port_offset, fast,
                      peer_tls, label, extra_args)
        self.started.append(c)
        return c.start()

    def etcd(self, name, port_offset, fast=False):
        c = EtcdCluster(self.args.etcd_bin, os.path.join(self.args.work, name), 23000 + port_offset, fast)
        self.started.append(c)
        return c.start()

    def __enter__(self):
        signal.signal(signal.SIGTERM, _interrupted)
        return self

    def __exit__(self, *exc):
        for c in self.started:
            c.stop()
            c.remove_data()
        return False


def append_result(args, record):
    with open(args.results, "a") as f:
        f.write(json.dumps(record) + "\n")


# ---------------------------------------------------------------------------------------
# wrk

RESULT_RE = re.compile(r"BENCH_RESULT (.*)")


def wrk_argv(url, script, connections, seconds, timeout_s=5):
    threads = max(1, min(2, connections))
    argv = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds, "--timeout", "%ds" % timeout_s,
            "-s", os.path.join(LUA, script), url]
    return argv, threads


def parse_wrk(stdout, stderr=""):
    match = RESULT_RE.search(stdout)
    if not match:
        raise RuntimeError("wrk printed no result:\n" + stdout + stderr)
    fields = {k: float(v) for k, v in (kv.split("=") for kv in match.group(1).split())}
    fields["rps"] = fields["requests"] / (fields["duration_us"] / 1e6)
    fields["errors"] = fields["non2xx"] + fields["connect_errors"] + fields["read_errors"] \
        + fields["write_errors"] + fields["timeouts"]
    return fields


def wrk(url, script, connections, seconds, env=None):
    """Runs wrk with one of our scripts; returns the numbers its done() printed, and wrk's
    own CPU seconds (`client_cpu_s`: on two cores the load generator competes with the
    servers). Only wrk ends during the run, so the children's usage grows by wrk's alone."""
    argv, threads = wrk_argv(url, script, connections, seconds)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(argv, capture_output=True, text=True,
                         env=dict(os.environ, BENCH_THREADS=str(threads), **(env or {})))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    fields = parse_wrk(out.stdout, out.stderr)
    fields["client_cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return fields


async def _put_stream(host, port, system, keys, connections, counts):
    """`connections` keep-alive connections, each taking the next key from `keys` and
    waiting for the answer before the next; a failed write is retried (a few times) on a
    fresh connection, so the loaded keyspace has no holes."""
    value_b64 = b64(VALUE)

    def encode(n):
        if system == "etcd":
            body = '{"key":"%s","value":"%s"}' % (b64(key(n)), value_b64)
            line = "POST /v3/kv/put"
        else:
            body = '{"value":"%s"}' % VALUE
            line = "PUT /kv/" + key(n)
        return ("%s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (line, host, port, len(body), body)).encode()

    async def read_response(reader):
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                body += await reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            body = b""
        return status, body

    async def worker():
        reader = writer = None
        for n in keys:
            for attempt in range(6):
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection(host, port)
                    writer.write(encode(n))
                    status, body = await read_response(reader)
                    if status == 200 and b'"error"' not in body:
                        counts["ok"] += 1
                        break
                    counts["retried"] += 1
                    why = "HTTP %d %s" % (status, body[:80].decode(errors="replace"))
                    counts["reasons"][why] = counts["reasons"].get(why, 0) + 1
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as error:
                    counts["retried"] += 1
                    why = type(error).__name__
                    counts["reasons"][why] = counts["reasons"].get(why, 0) + 1
                    if writer is not None:
                        writer.close()
                    reader = writer = None
                await asyncio.sleep(0.05 * (attempt + 1))
            else:
                counts["failed"] += 1
        if writer is not None:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))


def load_keys(cluster, target, count, connections):
    """Writes keys 0..count-1 once each through `target` with `connections` concurrent
    requests. A small asyncio loader rather than wrk: wrk cannot stop after exactly N
    requests, and a loader that retries failures leaves no holes for the reads to hit."""
    counts = {"ok": 0, "retried": 0, "failed": 0, "reasons": {}}
    started = time.monotonic()
    system = "etcd" if cluster.system == "etcd" else "kv"
    asyncio.run(_put_stream(target.host, target.port, system, iter(range(count)), connections, counts))
    counts["seconds"] = time.monotonic() - started
    counts["errors"] = counts["failed"]
    return counts


# ---------------------------------------------------------------------------------------
# Phases

def phase_throughput(args):
    conns = [int(c) for c in args.conns.split(",")]
    with Clusters(args) as clusters:
        kv = clusters.kv("tp-kv", 0)
        if args.peer_tls:
            # The same binary with and without peer mutual TLS, in place of etcd.
            other = clusters.kv("tp-kv-tls", 100, peer_tls=args.peer_tls)
        elif args.baseline_bin:
            # Another kv-node binary (an older commit), in place of etcd.
            other = clusters.kv("tp-kv-base", 100, binary=args.baseline_bin, label=args.baseline_label,
                                extra_args=shlex.split(args.baseline_args))
        else:
            other = clusters.etcd("tp-etcd", 0)
        for c in (kv, other):
            leader = c.wait_healthy()
            log("preloading %d keys into %s" % (args.keyspace, c.system))
            r = load_keys(c, leader, args.keyspace, 32)
            if r["errors"]:
                raise RuntimeError("%s preload had %d errors" % (c.system, r["errors"]))
        ab = args.peer_tls or args.baseline_bin
        if ab:
            # A/B rounds, alternating which goes first, through each member kind of --ab-via.
            targets = []
            for i in range(args.ab_rounds):
                for role in args.ab_via.split(","):
                    pair = [("kv-node", role, kv), (other.system, role, other)]
                    targets += pair if i % 2 == 0 else pair[::-1]
        else:
            targets = [("kv-node", "leader", kv), ("kv-node", "follower", kv), ("etcd", "leader", other)]
        if args.etcd_follower and not ab:
            targets.append(("etcd", "follower", other))
        if args.etcd_native and not ab:
            # etcd through its own Go client over gRPC, beside the same cluster's gateway.
            loader = etcdnative.build(args.work)
            targets.append((etcdnative.SYSTEM, "leader", other))
        # Interleave the systems at each step, so a noisy neighbour hurts both alike.
        for op in [o for o in ["write", "read", "stale read", "cas"] if o in args.ops.split(",")]:
            for n in conns:
                for system, role, cluster in targets:
                    leader = cluster.wait_healthy()
                    member = leader if role == "leader" else cluster.follower()
                    if op == "cas":
                        measure_cas(args, system, role, cluster, member, n)
                        continue
                    url = "http://%s:%d" % (member.host, member.port)
                    script = cluster.scripts[op]
                    native = system == etcdnative.SYSTEM
                    load = (lambda seconds: etcdnative.run(loader, member, op, n, seconds, args.keyspace)) if native \
                        else (lambda seconds: wrk(url, script, n, seconds))
                    if args.warmup:
                        load(args.warmup)
                    before_metrics = cluster.metrics(leader)
                    follower_metrics = [cluster.metrics(m) for m in cluster.members if m is not leader]
                    term0 = cluster.term()
                    cpu0 = cluster.cpu()
                    r = load(args.duration)
                    cpu1 = cluster.cpu()
                    term1 = cluster.term()
                    after_metrics = cluster.metrics(leader)
                    follower_after = [cluster.metrics(m) for m in cluster.members if m is not leader]
                    ok = r["requests"] - r["errors"]
                    record = {"kind": "throughput", "system": system, "via": role, "op": op, "conns": n,
                              "seconds": args.duration, "rps": r["rps"], "ok": ok,
                              "p50_ms": r["p50_us"] / 1000, "p90_ms": r["p90_us"] / 1000,
                              "p99_ms": r["p99_us"] / 1000, "max_ms": r["max_us"] / 1000,
                              "non2xx": r["non2xx"], "socket_errors": r["errors"] - r["non2xx"],
                              "term_before": term0, "term_after": term1, "client_cpu_s": r.get("client_cpu_s"),
                              "cpu_s": cpu1 - cpu0, "cpu_us_per_op": (cpu1 - cpu0) * 1e6 / ok if ok else None,
                              "leader_delta": {k: after_metrics.get(k, 0) - v for k, v in before_metrics.items()},
                              "follower_delta": [{k: a.get(k, 0) - v for k, v in b.items()}
                                                 for b, a in zip(follower_metrics, follower_after)]}
                    append_result(args, record)
                    log("%-8s %-8s via %-8s c=%-3d %8.0f req/s p50 %.2f ms p99 %.2f ms non-2xx %d cpu %.0f us/op"
                        % (system, op, role, n, r["rps"], record["p50_ms"], record["p99_ms"], r["non2xx"],
                           record["cpu_us_per_op"] or 0))


def measure_cas(args, system, role, cluster, member, conns):
    """One CAS cell (cas.py): read-modify-write with If-Match, or etcd's txn, for
    warmup + duration seconds through `member`."""
    term0 = cluster.term()
    r = cas.measure("etcd" if isinstance(cluster, EtcdCluster) else "kv-node", member, cluster, conns,
                    args.warmup, args.duration, args.cas_processes, args.cas_read, args.cas_keys)
    r.update({"system": system, "via": role, "term_before": term0, "term_after": cluster.term()})
    append_result(args, r)
    log("%-8s cas      via %-8s c=%-3d %8.0f CAS/s p50 %.2f ms p99 %.2f ms conflicts %d errors %d "
        "counter mismatch %d cpu %.0f us/op, client %.2f cores"
        % (system, role, conns, r["cas_per_s"], r["p50_ms"] or -1, r["p99_ms"] or -1, r["conflicts"],
           r["errors"], r["counter_mismatch"], r["cpu_us_per_op"] or 0, r["client_cores"]))
    if r["last_error"]:
        log("  last error: %s" % r["last_error"])


class FirstSuccess:
    """Fires a write at the survivors every `interval` seconds, each on its own thread with
    its own timeout, and keeps the time the first one succeeded. Concurrent attempts matter:
    a write sent while the old leader is still believed alive may hang until the server's
    own timeout, and a client would not wait for it before trying again."""

    def __init__(self, cluster, survivors, interval=0.01, attempt_timeout=2.0):
        self.cluster, self.survivors = cluster, survivors
        self.interval, self.timeout = interval, attempt_timeout
        self.lock = threading.Lock()
        self.first = None

    def attempt(self, member, n):
        try:
            if self.cluster.put(member, n, timeout=self.timeout):
                now = time.monotonic()
                with self.lock:
                    if self.first is None or now < self.first:
                        self.first = now
        except (OSError, http.client.HTTPException):
            pass

    def run(self, give_up_after):
        deadline = time.monotonic() + give_up_after
        i = 0
        while time.monotonic() < deadline:
            with self.lock:
                if self.first is not None:
                    return self.first
            member = self.survivors[i % len(self.survivors)]
            threading.Thread(target=self.attempt, args=(member, 900000 + i), daemon=True).start()
            i += 1
            time.sleep(self.interval)
        return None


def phase_failover(args):
    with Clusters(args) as clusters:
        systems = [clusters.kv("fo-kv", 100, fast=True), clusters.etcd("fo-etcd", 100, fast=True)]
        times = {c.system: [] for c in systems}
        failures = {c.system: 0 for c in systems}
        for round_no in range(args.rounds):
            # Alternate the systems round by round, for the same reason as in throughput.
            for c in systems:
                leader = c.wait_healthy()
                wait_until("caught up", c.caught_up, 30)
                time.sleep(args.settle)
                survivors = [m for m in c.members if m is not leader]
                probe = FirstSuccess(c, survivors)
                killed = time.monotonic()
                leader.kill9()
                first = probe.run(give_up_after=15)
                if first is None:
                    failures[c.system] += 1
                    log("%s round %d: no write succeeded within 15 s" % (c.system, round_no + 1))
                else:
                    times[c.system].append((first - killed) * 1000)
                    log("%s round %d: first write %.0f ms after kill -9 of %s"
                        % (c.system, round_no + 1, times[c.system][-1], leader.name))
                leader.start()
        for c in systems:
            append_result(args, {"kind": "failover", "system": c.system, "rounds": args.rounds,
                                 "failures": failures[c.system], "ms": times[c.system]})


def phase_footprint(args):
    with Clusters(args) as clusters:
        for make, name in ((clusters.kv, "fp-kv"), (clusters.etcd, "fp-etcd")):
            c = make(name, 200)
            leader = c.wait_healthy()
            time.sleep(args.idle_wait)
            idle = {m.name: memory_kib(m.pid) for m in c.members}
            idle_size = {m.name: dir_bytes(m.data_dir) for m in c.members}
            # What an idle cluster burns (ticks, heartbeats): the floor under CPU per write.
            cpu_idle0 = c.cpu()
            time.sleep(5)
            idle_cores = (c.cpu() - cpu_idle0) / 5
            log("%s idle RSS %s, idle CPU %.3f cores" % (c.system, {k: v["VmRSS"] for k, v in idle.items()}, idle_cores))
            cpu0 = c.cpu()
            log("%s: loading %d keys" % (c.system, args.keys))
            load = load_keys(c, leader, args.keys, args.load_conns)
            cpu1 = c.cpu()
            log("%s: loaded in %.1f s (%.0f writes/s, %d retried, %d failed)%s"
                % (c.system, load["seconds"], args.keys / load["seconds"], load["retried"], load["failed"],
                   "; retried because: %s" % load["reasons"] if load.get("reasons") else ""))
            wait_until("caught up", c.caught_up, 120)
            time.sleep(args.idle_wait)
            loaded = {m.name: memory_kib(m.pid) for m in c.members}
            size = {m.name: dir_bytes(m.data_dir) for m in c.members}
            # Restart a follower after kill -9 (crash recovery, the slow path) and time it
            # from exec to the first read it serves: local (stale/serializable) and linearizable.
            restarts = []
            for _ in range(args.restarts):
                leader = c.wait_healthy()
                wait_until("caught up", c.caught_up, 120)
                m = next(x for x in c.members if x is not leader)
                m.kill9()
                time.sleep(0.5)
                t0 = m.start()
                probe_key = args.keys - 1

                def serves(linearizable):
                    try:
                        return c.read(m, probe_key, linearizable, timeout=1.0)
                    except (OSError, http.client.HTTPException):
                        return False

                wait_until("local read", lambda: serves(False), 300, 0.01)
                t_local = time.monotonic()
                wait_until("linearizable read", lambda: serves(True), 300, 0.01)
                t_lin = time.monotonic()
                restarts.append({"local_ms": (t_local - t0) * 1000, "linearizable_ms": (t_lin - t0) * 1000})
                log("%s restart: first local read %.0f ms, linearizable %.0f ms"
                    % (c.system, restarts[-1]["local_ms"], restarts[-1]["linearizable_ms"]))
            time.sleep(args.idle_wait)
            restarted = memory_kib(m.pid)
            append_result(args, {"kind": "footprint", "system": c.system, "keys": args.keys,
                                 "load_conns": args.load_conns,
                                 "idle_kib": idle, "idle_dir_bytes": idle_size, "idle_cores": idle_cores,
                                 "loaded_kib": loaded, "dir_bytes": size, "leader": leader.name,
                                 "load_seconds": load["seconds"], "load_retried": load["retried"], "load_failed": load["failed"], "load_retry_reasons": load["reasons"],
                                 "load_cpu_s": cpu1 - cpu0, "restarts": restarts,
                                 "restarted_member": m.name, "restarted_kib": restarted})
            c.stop()
            c.remove_data()


# Where a sample's stack belongs, first match wins (checked against the whole demangled
# stack, so a malloc inside JSON encoding counts as JSON). Async Swift stacks stop at task
# boundaries, so each job is attributed on its own.
PROFILE_CATEGORIES = [
    ("disk: fdatasync", r"fdatasync|fsync|ext4_sync_file"),
    ("disk: LMDB pages and pwrite", r"pwrite|\bmdb_|liblmdb"),
    ("socket syscalls and loopback TCP (kernel)", r"writev|__libc_write|\bread\b|recvmsg|sendmsg|tcp_|sock_"),
    ("JSON encode/decode (Foundation)", r"JSONEncoder|JSONSerialization|JSONParser|JSONDecoder|JSON\.response|JSON\.object"),
    ("HTTP parsing and encoding (NIOHTTP1)", r"HTTPDecoder|llhttp|HTTP1ToHTTPServerCodec|HTTPResponseEncoder|HTTPServerPipelineHandler|HTTPConnectionStateHandler|BetterHTTPParser"),
    ("request handling (Hummingbird router, routes, logger, metrics)", r"Router|Middleware|Logger|KVRoutes|Hummingbird|NodeMetrics|removingPercentEncoding"),
    ("Raft and node runtime", r"RaftNode|NodeRuntime|RaftLog|Progress|KVStateMachine|KVCommand|DurableStore|LMDBRaftStorage"),
    ("peer transport (frames, codec)", r"PeerConnection|FrameDecoder|FrameEncoder|MessageCodec|RaftTransport"),
    ("async bridging (NIOAsyncChannel, async sequences)", r"NIOAsyncChannel|NIOThrowingAsyncSequenceProducer|NIOAsyncWriter|AsyncStream"),
    ("thread wake-ups, context switches, executors", r"futex|sem_post|sem_wait|swift_task_enqueue|_dispatch|epoll_wait|schedule|finish_task_switch|swift_job_run"),
    ("ARC and malloc", r"swift_retain|swift_release|malloc|free|swift_allocObject"),
]


def profile_categories(data):
    """Share of perf samples per category (see PROFILE_CATEGORIES)."""
    text = subprocess.run(["perf", "script", "-i", data, "-F", "comm,ip,sym"], capture_output=True, text=True).stdout
    stacks = collections.Counter(" ".join(l.strip() for l in s.strip().splitlines()[1:])
                                 for s in text.split("\n\n") if s.strip())
    keys = list(stacks)
    if shutil.which("swift-demangle"):
        names = subprocess.run(["swift-demangle", "--simplified"], input="\x00".join(keys),
                               capture_output=True, text=True).stdout.split("\x00")
    else:
        names = keys
    shares, total = collections.Counter(), sum(stacks.values())
    for k, name in zip(keys, names):
        shares[next((c for c, rx in PROFILE_CATEGORIES if re.search(rx, name)), "other")] += stacks[k]
    lines = ["%d samples" % total] + ["%5.1f%%  %s" % (100.0 * n / total, c) for c, n in shares.most_common()]
    return "\n".join(lines)



def thread_cpu(pids, seconds):
    """Each thread's CPU over `seconds`, in cores, from /proc/PID/task/TID/stat: on this VM
    perf's timer samples land late after a wake-up (in `finish_task_switch`), which charges
    idle time to the threads that wake most, so the kernel's own accounting is the one to trust."""
    def sample():
        out = {}
        for pid in pids:
            for task in glob.glob("/proc/%d/task/*" % pid):
                try:
                    with open(task + "/comm") as f:
                        comm = f.read().strip()
                except OSError:
                    continue
                tid = task.rsplit("/", 1)[1]
                out[(pid, tid)] = (comm, cpu_seconds(pid, tid))
        return out
    before = sample()
    time.sleep(seconds)
    after = sample()
    busy = [(key[0], comm, (cpu - before[key][1]) / seconds) for key, (comm, cpu) in after.items() if key in before]
    return sorted((b for b in busy if b[2] > 0.001), key=lambda b: -b[2])


def phase_profile(args):
    """perf record -g on each leader (or, with --profile-system, on both cores) under the
    64-connection load of `--profile-op`, then each thread's CPU from /proc."""
    os.makedirs(args.out, exist_ok=True)
    with Clusters(args) as clusters:
        for make, name in ((clusters.kv, "pf-kv"), (clusters.etcd, "pf-etcd")):
            c = make(name, 300)
            leader = c.wait_healthy()
            url = "http://%s:%d" % (leader.host, leader.port)
            data = os.path.join(args.out, "perf-%s.data" % c.system)
            if args.profile_op != "write":
                # Reads of keys that exist: the write script fills the key space first.
                subprocess.run(["wrk", "-t2", "-c%d" % args.profile_conns, "-d3s",
                                "-s", os.path.join(LUA, c.scripts["write"]), url],
                               stdout=subprocess.DEVNULL, env=dict(os.environ, BENCH_THREADS="2"))
            load = subprocess.Popen(["wrk", "-t2", "-c%d" % args.profile_conns, "-d%ds" % (args.seconds + 4),
                                     "-s", os.path.join(LUA, c.scripts[args.profile_op]), url],
                                    stdout=subprocess.DEVNULL, env=dict(os.environ, BENCH_THREADS="2"))
            time.sleep(2)
            target = ["-a"] if args.profile_system else ["-p", str(leader.pid)]
            recorder = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-o", data] + target
                                        + ["--", "sleep", str(args.seconds)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            members = [m.pid for m in c.members]
            busy = thread_cpu(members + [load.pid], args.seconds)
            recorder.wait()
            load.wait()
            with open(os.path.join(args.out, "threads-cpu-%s.txt" % c.system), "w") as f:
                f.write("cores busy per thread over %d s of %s load (leader pid %d, wrk pid %d)\n"
                        % (args.seconds, args.profile_op, leader.pid, load.pid))
                f.write("".join("%7d  %-20s %5.3f\n" % b for b in busy))
                f.write("total %.3f cores, members %.3f\n" % (sum(b[2] for b in busy),
                                                              sum(b[2] for b in busy if b[0] in members)))
            views = [("self", "--no-children", "symbol"), ("children", "--children", "symbol"),
                     ("dso", "--no-children", "dso"), ("threads", "--no-children", "comm")]
            if args.profile_system:
                views.append(("pids", "--no-children", "pid"))
            for view, flag, sort in views:
                report = subprocess.run(["perf", "report", "-i", data, flag, "--stdio", "--sort", sort,
                                         "-g", "none", "--percent-limit", "0.5"], capture_output=True, text=True)
                text = report.stdout
                if shutil.which("swift-demangle"):
                    text = subprocess.run(["swift-demangle", "--simplified"], input=text,
                                          capture_output=True, text=True).stdout
                # Drop the empty IPC columns and cap the width of long Swift symbols.
                text = "\n".join(re.sub(r"\s+-\s+-\s*$", "", line)[:240] for line in text.splitlines()
                                  if line.strip() and not line.startswith("#"))
                with open(os.path.join(args.out, "perf-%s-%s.txt" % (c.system, view)), "w") as f:
                    f.write(text)
            with open(os.path.join(args.out, "perf-%s-categories.txt" % c.system), "w") as f:
                f.write(profile_categories(data) + "\n")
            log("profile of the %s leader: %s" % (c.system, args.out))
            c.stop()
            c.remove_data()


# ---------------------------------------------------------------------------------------
# Report

def fmt(x, digits=0):
    if x is None:
        return "n/a"
    return "{:,.{}f}".format(x, digits)


def ratio(a, b, fmt_str="%.2f"):
    return fmt_str % (a / b) if a and b else "n/a"


def report(args):
    records = [json.loads(line) for line in open(args.results) if line.strip()]
    out = []
    meta = next((r for r in records if r["kind"] == "machine"), None)
    if meta:
        out.append("Machine: %s" % meta["text"])
        out.append("")

    tp = [r for r in records if r["kind"] == "throughput"]
    if tp:
        by = {(r["system"], r["via"], r["op"], r["conns"]): r for r in tp}
        out.append("| operation | conns | kv-node leader req/s | p50 ms | p99 ms | kv-node via follower req/s | p50 ms | p99 ms "
                   "| etcd leader req/s | p50 ms | p99 ms | kv-node / etcd req/s | non-2xx (kv L / kv F / etcd) |")
        out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for op in ["write", "read", "stale read"]:
            label = {"write": "write", "read": "linearizable read", "stale read": "stale / serializable read"}[op]
            for n in sorted({r["conns"] for r in tp}):
                kl, kf, el = by.get(("kv-node", "leader", op, n)), by.get(("kv-node", "follower", op, n)), by.get(("etcd", "leader", op, n))
                cells = [label, str(n)]
                for r in (kl, kf, el):
                    cells += [fmt(r["rps"]), fmt(r["p50_ms"], 2), fmt(r["p99_ms"], 2)] if r else ["", "", ""]
                cells.append(ratio(kl and kl["rps"], el and el["rps"]))
                cells.append(" / ".join(str(int(r["non2xx"])) if r else "-" for r in (kl, kf, el)))
                out.append("| " + " | ".join(cells) + " |")
        ef = [r for r in tp if r["system"] == "etcd" and r["via"] == "follower"]
        if ef:
            out.append("")
            out.append("etcd through a follower:")
            out.append("")
            out.append("| operation | conns | req/s | p50 ms | p99 ms | non-2xx |")
            out.append("| --- | ---: | ---: | ---: | ---: | ---: |")
            for r in ef:
                out.append("| %s | %d | %s | %s | %s | %d |" % (r["op"], r["conns"], fmt(r["rps"]), fmt(r["p50_ms"], 2),
                                                            fmt(r["p99_ms"], 2), r["non2xx"]))
        out.append("")
        out.append("Batching and CPU (leader's counters over each measured run; CPU is user+system time of all "
                   "three members divided by the successful requests):")
        out.append("")
        out.append("| conns | kv-node writes per fdatasync | writes per WAL flush | writes per LMDB commit "
                   "| WAL append ms | LMDB commit ms | cores busy | CPU us/write | etcd writes per WAL fsync "
                   "| writes per backend commit | WAL fsync ms | cores busy | CPU us/write | CPU per write kv-node / etcd |")
        out.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in sorted({r["conns"] for r in tp}):
            k, e = by.get(("kv-node", "leader", "write", n)), by.get(("etcd", "leader", "write", n))
            if not k or not e:
                continue
            kd, ed = k["leader_delta"], e["leader_delta"]
            props, syncs = kd.get("kv_proposals_total", 0), kd.get("kv_storage_sync_seconds_count", 0)
            durable = kd.get("kv_storage_durable_commits_total", 0)
            wal = kd.get("kv_wal_sync_seconds_count", 0)
            # A WAL append is one flush, an LMDB commit one more (two for snapshot data).
            fdatasyncs = wal + syncs + durable
            wal_ms = 1000 * kd.get("kv_wal_sync_seconds_sum", 0) / wal if wal else None
            commits, fsyncs, backend = ed.get("etcd_server_proposals_committed_total", 0), ed.get("etcd_disk_wal_fsync_duration_seconds_count", 0), ed.get("etcd_disk_backend_commit_duration_seconds_count", 0)
            sync_ms = 1000 * kd.get("kv_storage_sync_seconds_sum", 0) / syncs if syncs else None
            fsync_ms = 1000 * ed.get("etcd_disk_wal_fsync_duration_seconds_sum", 0) / fsyncs if fsyncs else None
            out.append("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                n, ratio(props, fdatasyncs, "%.1f"), ratio(props, wal, "%.1f"), ratio(props, syncs, "%.1f"),
                fmt(wal_ms, 2), fmt(sync_ms, 2),
                fmt(k["cpu_s"] / k["seconds"], 2), fmt(k["cpu_us_per_op"]),
                ratio(commits, fsyncs, "%.1f"), ratio(commits, backend, "%.0f"), fmt(fsync_ms, 2),
                fmt(e["cpu_s"] / e["seconds"], 2), fmt(e["cpu_us_per_op"]),
                ratio(k["cpu_us_per_op"], e["cpu_us_per_op"])))
        out.append("")
        elections = {}
        for r in tp:
            if r.get("term_before") is not None and r.get("term_after") is not None:
                elections[r["system"]] = elections.get(r["system"], 0) + r["term_after"] - r["term_before"]
        out.append("Elections during the measured load runs (sum of the highest term's rise over each run): %s" % (
            ", ".join("%s %d" % kv for kv in sorted(elections.items())) or "not recorded"))
        out.append("")
        out.append("CPU per read (us, all three members):")
        out.append("")
        out.append("| operation | conns | kv-node via leader | kv-node via follower | etcd via leader |")
        out.append("| --- | ---: | ---: | ---: | ---: |")
        for op in ["read", "stale read"]:
            for n in sorted({r["conns"] for r in tp}):
                cells = [by.get((s, v, op, n)) for s, v in (("kv-node", "leader"), ("kv-node", "follower"), ("etcd", "leader"))]
                out.append("| %s | %d | %s |" % (op, n, " | ".join(fmt(c and c["cpu_us_per_op"]) for c in cells)))
        out.append("")

    fo = [r for r in records if r["kind"] == "failover"]
    if fo:
        out.append("Failover: kill -9 of the leader until the first successful write through a survivor (ms):")
        out.append("")
        out.append("| system | rounds | min | median | max | rounds with no write in 15 s |")
        out.append("| --- | ---: | ---: | ---: | ---: | ---: |")
        for r in fo:
            ms = r["ms"]
            out.append("| %s | %d | %s | %s | %s | %d |" % (
                r["system"], r["rounds"], fmt(min(ms)) if ms else "n/a", fmt(statistics.median(ms)) if ms else "n/a",
                fmt(max(ms)) if ms else "n/a", r["failures"]))
        out.append("")

    fp = [r for r in records if r["kind"] == "footprint"]
    if fp:
        mib = lambda kib: fmt(kib / 1024, 1)
        out.append("Recovery and footprint (%s keys of 16 + 100 bytes; RSS per member in MiB, VmRSS (anonymous + file-backed)):"
                   % fmt(fp[0]["keys"]))
        out.append("")
        out.append("| system | idle RSS | RSS with the keys (leader) | RSS after restart (follower) | data dir idle | data dir with the keys "
                   "| load time (writes/s) | restart to first local read ms | restart to first linearizable read ms |")
        out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in fp:
            idle = max(v["VmRSS"] for v in r["idle_kib"].values())
            loaded = r["loaded_kib"][r["leader"]] if r["leader"] in r["loaded_kib"] else max(r["loaded_kib"].values(), key=lambda v: v["VmRSS"])
            rs = r["restarted_kib"]
            size = max(r["dir_bytes"].values())
            local = [x["local_ms"] for x in r["restarts"]]
            lin = [x["linearizable_ms"] for x in r["restarts"]]
            out.append("| %s | %s | %s (anon %s) | %s (anon %s) | %s MB | %s MB | %.0f s (%s/s) | %s | %s |" % (
                r["system"], mib(idle), mib(loaded["VmRSS"]), mib(loaded["RssAnon"]), mib(rs["VmRSS"]), mib(rs["RssAnon"]),
                fmt(max(r["idle_dir_bytes"].values()) / 1e6, 1), fmt(size / 1e6, 1), r["load_seconds"],
                fmt(r["keys"] / r["load_seconds"]),
                "/".join(fmt(x) for x in local), "/".join(fmt(x) for x in lin)))
        out.append("")
        out.append("Idle CPU of the whole 3-member cluster (user+system over 5 s, in cores): "
                   + ", ".join("%s %.3f" % (r["system"], r["idle_cores"]) for r in fp if "idle_cores" in r))
        out.append("")
    out += etcdnative.report(records)
    out += ab_report(records)
    out += cas_report(records)
    out += watchfanout.report(records)
    out += partition.report(records)
    out += backup.report(records)
    text = "\n".join(out)
    print(text)


def ab_report(records):
    """Rounds of an A/B throughput run (--baseline-bin or --peer-tls), one row per system."""
    tp = [r for r in records if r["kind"] == "throughput"]
    if not any(r["system"] not in ("kv-node", "etcd", etcdnative.SYSTEM) for r in tp):
        return []
    out = ["A/B rounds (req/s per round, in the order run; CPU us per request):", "",
           "| operation | conns | via | system | rounds | mean | CPU us/op |", "| --- | ---: | --- | --- | --- | ---: | ---: |"]
    groups = collections.OrderedDict()
    for r in tp:
        groups.setdefault((r["op"], r["conns"], r["via"], r["system"]), []).append(r)
    for (op, conns, via, system), rows in groups.items():
        cpu = [r["cpu_us_per_op"] for r in rows if r["cpu_us_per_op"]]
        out.append("| %s | %d | %s | %s | %s | %s | %s |" % (
            op, conns, via, system, " / ".join(fmt(r["rps"]) for r in rows), fmt(statistics.fmean(r["rps"] for r in rows)),
            "%s-%s" % (fmt(min(cpu)), fmt(max(cpu))) if cpu else "n/a"))
    out.append("")
    return out


def cas_report(records):
    rows = [r for r in records if r["kind"] == "cas"]
    if not rows:
        return []
    out = ["Compare-and-swap (read, then conditional write of value + 1; a CAS counts when its write succeeds; "
           "latency from the first read to the success):", "",
           "| system | via | conns | keys | read | CAS/s | p50 ms | p99 ms | max ms | conflicts | errors "
           "| counter mismatch | CPU us/CAS |",
           "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        out.append("| %s | %s | %d | %d | %s | %s | %s | %s | %s | %d | %d | %d | %s |" % (
            r["system"], r["via"], r["conns"], r["keys"], r["read_mode"], fmt(r["cas_per_s"]), fmt(r["p50_ms"], 2),
            fmt(r["p99_ms"], 2), fmt(r["max_ms"], 1), r["conflicts"], r["errors"], r["counter_mismatch"],
            fmt(r["cpu_us_per_op"])))
    out.append("")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("phase", choices=["throughput", "failover", "footprint", "profile", "partition", "watch-fanout",
                                     "backup", "report", "categories"])
    p.add_argument("--kv-bin")
    p.add_argument("--kvctl-bin", help="backup: kvctl (default: next to --kv-bin)")
    p.add_argument("--backup-rounds", type=int, default=3, help="backup: saves and restores of each system")
    p.add_argument("--etcd-bin", default=shutil.which("etcd") or "etcd")
    p.add_argument("--work", default=os.environ.get("BENCH_WORK", "/tmp/kv-bench"))
    p.add_argument("--results", required=True)
    p.add_argument("--conns", default="1,16,64,256")
    p.add_argument("--ops", default="write,read,stale read", help="throughput operations, comma-separated")
    p.add_argument("--duration", type=int, default=10, help="seconds per measured wrk run")
    p.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured load before each run")
    p.add_argument("--keyspace", type=int, default=10000)
    p.add_argument("--etcd-follower", action="store_true", help="also drive etcd through a follower")
    p.add_argument("--etcd-native", action="store_true", help="also drive etcd through its own Go client over gRPC "
                   "(etcdnative.py builds Benchmarks/cluster/etcdload; needs golang-go and golang-etcd-server-dev)")
    p.add_argument("--peer-tls", metavar="DIR", help="throughput: compare kv-node with peer mutual TLS "
                   "(certificates made with openssl in DIR) against plaintext kv-node, instead of etcd")
    p.add_argument("--baseline-bin", metavar="BIN", help="throughput: compare --kv-bin against this kv-node binary "
                   "(e.g. built from an older commit) instead of etcd")
    p.add_argument("--baseline-label", default="kv-node baseline", help="A/B: the name of the --baseline-bin rows")
    p.add_argument("--baseline-args", default="", help="A/B: extra kv-node flags for the --baseline-bin cluster")
    p.add_argument("--kv-args", default="", help="extra kv-node flags for the --kv-bin clusters, e.g. "
                   "'--history-revisions 1000'")
    p.add_argument("--ab-rounds", type=int, default=3, help="throughput with --peer-tls or --baseline-bin: alternating rounds")
    p.add_argument("--ab-via", default="leader", help="A/B: leader, follower or both (comma-separated)")
    p.add_argument("--cas-read", choices=["always", "conflict"], default="always",
                   help="cas: read before every CAS, or only after a failed one (then the last write's revision)")
    p.add_argument("--cas-keys", type=int, default=0, help="cas: counters shared by the connections (0: one each)")
    p.add_argument("--cas-processes", type=int, default=2, help="cas: Python client processes")
    p.add_argument("--watchers", type=int, default=1000)
    p.add_argument("--watch-rate", type=int, default=1000, help="watch-fanout: writes per second")
    p.add_argument("--watch-seconds", type=int, default=10)
    p.add_argument("--watch-writers", type=int, default=64, help="watch-fanout: writes in flight at most")
    p.add_argument("--watch-processes", type=int, default=2, help="watch-fanout: Python processes for the watchers")
    p.add_argument("--watch-grace", type=float, default=60, help="watch-fanout: seconds after the last write for "
                   "every watcher to catch up")
    p.add_argument("--watch-systems", default="kv-node,etcd")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--settle", type=float, default=0.5, help="seconds between failover rounds")
    p.add_argument("--keys", type=int, default=1000000)
    p.add_argument("--load-conns", type=int, default=64)
    p.add_argument("--restarts", type=int, default=3)
    p.add_argument("--idle-wait", type=float, default=3)
    p.add_argument("--out", default="")
    p.add_argument("--seconds", type=int, default=10, help="profile length")
    p.add_argument("--profile-conns", type=int, default=64)
    p.add_argument("--profile-system", action="store_true", help="profile: perf record -a (both cores: every "
                   "member, the load generator, the kernel) instead of the leader alone")
    p.add_argument("--profile-op", choices=["write", "read", "stale read"], default="write",
                   help="profile: the load the leaders are profiled under")
    p.add_argument("--partition-seconds", type=float, default=5, help="how long each partition lasts")
    args = p.parse_args()
    if args.phase == "report":
        report(args)
        return
    if args.phase == "categories":
        # Re-summarise a recorded profile: cluster.py categories --results X --out PERF.DATA
        print(profile_categories(args.out))
        return
    os.environ.setdefault("BENCH_WORK", args.work)
    os.makedirs(args.work, exist_ok=True)
    try:
        {"throughput": phase_throughput, "failover": phase_failover,
         "footprint": phase_footprint, "profile": phase_profile,
         "partition": lambda a: partition.phase(a, sys.modules[__name__]),
         "backup": lambda a: backup.phase(a, sys.modules[__name__]),
         "watch-fanout": lambda a: watchfanout.phase(a, sys.modules[__name__])}[args.phase](args)
    except KeyboardInterrupt:
        log("interrupted; clusters stopped")
        sys.exit(130)


if __name__ == "__main__":
    main()
