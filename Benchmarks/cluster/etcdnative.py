"""etcd through its own Go client (clientv3 over gRPC), for `cluster.py throughput --etcd-native`.

The JSON gateway that wrk drives adds a gRPC hop inside etcd that its real users do not pay,
so the driver also measures etcd the way etcd's tools/benchmark does: `etcdload` (a small Go
program beside this file) runs N clients over a few gRPC connections. It is built offline
from Debian's packages of etcd's Go sources:

    apt-get install -y golang-go golang-etcd-server-dev

and reports the same fields as wrk's summary, plus its own CPU time (on two cores the load
generator competes with the servers).
"""

import json
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "etcdload")
SYSTEM = "etcd gRPC"
# As etcd's tools/benchmark: the clients share this many connections.
CONNECTIONS = 4
OPS = {"write": "put", "read": "get", "stale read": "get-serializable"}


def build(work):
    """Builds etcdload into `work` (once per source change); returns the binary's path."""
    if not shutil.which("go"):
        raise RuntimeError("--etcd-native needs Go and etcd's sources: apt-get install -y golang-go golang-etcd-server-dev")
    binary = os.path.join(work, "etcdload")
    source = os.path.join(SOURCE, "main.go")
    if os.path.exists(binary) and os.path.getmtime(binary) >= os.path.getmtime(source):
        return binary
    env = dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode", GOFLAGS="",
               GOCACHE=os.path.join(work, "go-cache"))
    out = subprocess.run(["go", "build", "-o", binary, "."], cwd=SOURCE, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("building etcdload failed:\n" + out.stdout + out.stderr)
    return binary


def run(binary, member, op, clients, seconds, keyspace):
    """One measured run against `member`; returns wrk-shaped figures (cluster.parse_wrk)."""
    argv = [binary, "-endpoints", "%s:%d" % (member.host, member.port), "-op", OPS[op],
            "-clients", str(clients), "-conns", str(min(CONNECTIONS, clients)),
            "-duration", "%ds" % seconds, "-keys", str(keyspace)]
    out = subprocess.run(argv, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("etcdload failed:\n" + out.stdout + out.stderr)
    r = json.loads(out.stdout)
    # wrk counts every answer in `requests` and the failures again in `errors`.
    return {"rps": r["rps"], "requests": r["requests"] + r["errors"], "errors": r["errors"], "non2xx": 0,
            "p50_us": r["p50_us"], "p90_us": r["p90_us"], "p99_us": r["p99_us"], "max_us": r["max_us"],
            "client_cpu_s": r["client_cpu_s"]}


def report(records):
    """kv-node through its leader against etcd through both of its client paths, same run."""
    tp = [r for r in records if r["kind"] == "throughput"]
    if not any(r["system"] == SYSTEM for r in tp):
        return []
    by = {(r["system"], r["via"], r["op"], r["conns"]): r for r in tp}
    fmt = lambda x, d=0: "n/a" if x is None else ("%.*f" % (d, x) if d else "{:,.0f}".format(x))
    ratio = lambda a, b: "%.2f" % (a / b) if a and b else "n/a"
    out = ["kv-node (HTTP, wrk) against etcd through its native Go client over gRPC (%d connections) and "
           "through its JSON gateway (wrk), same run, leaders; client CPU is the load generator's own, in cores:"
           % CONNECTIONS, "",
           "| operation | conns | kv-node req/s | p50 ms | p99 ms | client cores | etcd gRPC req/s | p50 ms | p99 ms "
           "| client cores | etcd gateway req/s | kv-node / etcd gRPC | kv-node / etcd gateway |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    cores = lambda r: r["client_cpu_s"] / r["seconds"] if r and r.get("client_cpu_s") is not None else None
    for op in ["write", "read", "stale read"]:
        for n in sorted({r["conns"] for r in tp}):
            k, g, e = (by.get((s, "leader", op, n)) for s in ("kv-node", SYSTEM, "etcd"))
            if not g:
                continue
            out.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                op, n, fmt(k and k["rps"]), fmt(k and k["p50_ms"], 2), fmt(k and k["p99_ms"], 2), fmt(cores(k), 2),
                fmt(g["rps"]), fmt(g["p50_ms"], 2), fmt(g["p99_ms"], 2), fmt(cores(g), 2),
                fmt(e and e["rps"]), ratio(k and k["rps"], g["rps"]), ratio(k and k["rps"], e and e["rps"])))
    out.append("")
    return out
