"""The partition phase: kv-node and etcd under a write load while packets between members are
dropped, then healed (issue 14's figures).

Each system runs as three members, each in its own network namespace (Tests/partition/
netcluster.py), with the same timing: 50 ms heartbeats, 300-600 ms election timeouts, PreVote
on. wrk keeps 64 connections of writes on the member that led at the start. Each round cuts one
member off from the other two (nftables drops its packets both ways; connections stay open) for
`--partition-seconds`, then heals. Rounds alternate: the leader, then a follower. The write load
(wrk, 64 connections) goes through a follower on the majority side, restarted each round, so it
keeps flowing while the member is cut off.

Per heal it records:
- heal -> first acknowledged write: one prober per member starts writing at the heal (0.5 s
  timeouts, retried) and the first success anywhere counts;
- for a cut-off leader, cut -> the moment it stops claiming leadership (polled every 20 ms);
- the bytes the leader after the heal sent the member that was cut off (an nft counter on the
  wire, IP headers included) from the heal until that member's commit index reached the
  leader's at the heal, against the bytes of the entries it had to receive in that time (the
  gap between its commit index at the heal and the leader's when it caught up, x 116 bytes of
  key and value per write). A member that lacks more than the leader's log holds receives a
  snapshot instead, so the ratio can fall below 1.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tests", "partition"))
import netcluster  # noqa: E402  (stdlib-only helper shared with the partition tests)

ENTRY_BYTES = 16 + 100  # key + value of every benchmark write (cluster.key, cluster.VALUE)
ETCD_CLIENT, ETCD_PEER = 2379, 2380
COUNTER_TABLE = "kvbench"


class System:
    """How the phase talks to one kind of member."""

    def __init__(self, bench, name):
        self.bench = bench
        self.name = name

    def url(self, node):
        return "http://%s:%d" % (node.ip, self.port)


class KVNode(System):
    port = netcluster.API_PORT
    script = "kv_put.lua"

    def cluster(self, binary):
        return netcluster.NetworkedCluster(binary, size=3, extra_arguments=["--log-level", "notice"],
                                           request_timeout_ms=2000)

    def view(self, node):
        """(is leader, commit index) or None when the member does not answer."""
        s = node.status(timeout=0.5)
        return None if s is None else (s.get("role") == "leader", int(s["commit_index"]))

    def put(self, node, n):
        code, _ = netcluster.http_call(node.ip, "PUT", "/kv/" + self.bench.key(n),
                                       {"value": self.bench.VALUE}, timeout=0.5)
        return code == 200


class Etcd(System):
    port = ETCD_CLIENT
    script = "etcd_put.lua"

    def cluster(self, binary):
        def command(node, nodes):
            initial = ",".join("%s=http://%s:%d" % (n.id, n.ip, ETCD_PEER) for n in nodes)
            return [binary, "--name", node.id, "--data-dir", node.data_dir,
                    "--listen-client-urls", "http://%s:%d" % (node.ip, ETCD_CLIENT),
                    "--advertise-client-urls", "http://%s:%d" % (node.ip, ETCD_CLIENT),
                    "--listen-peer-urls", "http://%s:%d" % (node.ip, ETCD_PEER),
                    "--initial-advertise-peer-urls", "http://%s:%d" % (node.ip, ETCD_PEER),
                    "--initial-cluster", initial, "--initial-cluster-state", "new",
                    "--initial-cluster-token", "partition", "--logger", "zap", "--log-level", "warn",
                    # etcd randomises its election timeout in [T, 2T): 300-600 ms like kv-node's.
                    "--heartbeat-interval", "50", "--election-timeout", "300", "--pre-vote"]
        return netcluster.NetworkedCluster(binary, size=3, node_command=command)

    def view(self, node):
        try:
            code, body = netcluster.http_call(node.ip, "POST", "/v3/maintenance/status", {}, timeout=0.5,
                                              port=ETCD_CLIENT)
        except OSError:
            return None
        if code != 200 or not isinstance(body, dict):
            return None
        is_leader = body.get("leader") not in (None, "0") and body["leader"] == body["header"]["member_id"]
        return is_leader, int(body.get("raftIndex", 0))

    def put(self, node, n):
        body = {"key": self.bench.b64(self.bench.key(n)), "value": self.bench.b64(self.bench.VALUE)}
        try:
            code, answer = netcluster.http_call(node.ip, "POST", "/v3/kv/put", body, timeout=0.5, port=ETCD_CLIENT)
        except OSError:
            return False
        return code == 200 and not (isinstance(answer, dict) and "error" in answer)


# ---------------------------------------------------------------- wire counters

def install_counters(cluster):
    """In every member's namespace, counts the bytes it sends to each other member. The chain
    runs after the partition's drop rules (priority 10 > 0), so dropped packets do not count."""
    for node in cluster.nodes:
        rules = "".join(" ip daddr %s counter\n" % other.ip for other in cluster.nodes if other is not node)
        netcluster.in_ns(node.ns, "nft", "-f", "-", input=(
            "table inet %s {\n chain output {\n  type filter hook output priority 10; policy accept;\n%s }\n}\n")
            % (COUNTER_TABLE, rules))


def bytes_sent(sender, receiver):
    text = netcluster.in_ns(sender.ns, "nft", "list", "chain", "inet", COUNTER_TABLE, "output")
    match = re.search(r"ip daddr %s counter packets \d+ bytes (\d+)" % re.escape(receiver.ip), text)
    return int(match.group(1)) if match else 0


# ---------------------------------------------------------------- one system

def find_leader(system, nodes, timeout=30.0):
    def lead():
        views = [(node, system.view(node)) for node in nodes]
        leaders = [node for node, v in views if v is not None and v[0]]
        return leaders[0] if len(leaders) == 1 else None
    return netcluster.wait_until("a leader among %s" % [n.id for n in nodes], lead, timeout=timeout)


def first_ack_after(system, nodes, start, give_up=15.0):
    """Seconds from `start` to the first write acknowledged by any member (None past give_up)."""
    done = threading.Event()
    found = []
    lock = threading.Lock()
    counter = iter(range(10**9))

    def prober(node):
        while not done.is_set() and time.monotonic() - start < give_up:
            with lock:
                n = 900_000_000 + next(counter)
            try:
                ok = system.put(node, n)
            except OSError:
                ok = False
            if ok:
                with lock:
                    found.append(time.monotonic() - start)
                done.set()
                return
            time.sleep(0.005)

    threads = [threading.Thread(target=prober, args=(node,), daemon=True) for node in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return min(found) if found else None


def run_system(args, bench, system, binary):
    results = []
    with system.cluster(binary) as cluster:
        find_leader(system, cluster.nodes)
        install_counters(cluster)
        for round_number in range(2 * args.rounds):
            cut_leader = round_number % 2 == 0
            leader = find_leader(system, cluster.nodes)
            followers = [n for n in cluster.nodes if n is not leader]
            victim = leader if cut_leader else followers[round_number // 2 % 2]
            others = [n for n in cluster.nodes if n is not victim]
            # The load goes through a member on the majority side that is not the leader.
            through = next(n for n in others if n is not leader)
            argv, _ = bench.wrk_argv(system.url(through), system.script, args.load_conns,
                                     int(args.partition_seconds) + 40, timeout_s=2)
            load = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                time.sleep(1)
                record = run_round(args, system, cluster, victim, others, cut_leader)
            finally:
                load.kill()
                load.wait()
            record.update({"kind": "partition", "system": system.name, "round": round_number})
            bench.append_result(args, record)
            results.append(record)
            bench.log("%s %s cut: heal->ack %s ms, step-down %s ms, caught up in %s ms, sent %s B for %s B lacked" % (
                system.name, "leader" if cut_leader else "follower", record["heal_to_ack_ms"],
                record.get("stepdown_ms"), record["catchup_ms"], record["sent_bytes"], record["lacked_bytes"]))
            time.sleep(args.settle)
    return results


def run_round(args, system, cluster, victim, others, cut_leader):
    cluster.isolate([victim])
    cut_at = time.monotonic()
    stepdown = None
    while time.monotonic() - cut_at < args.partition_seconds:
        if cut_leader and stepdown is None:
            view = system.view(victim)
            if view is not None and not view[0]:
                stepdown = time.monotonic() - cut_at
        time.sleep(0.02)
    # The leader after the heal: the majority's (a new one when the old leader was cut off).
    leader = find_leader(system, others, timeout=10.0)
    lead_view, victim_view = system.view(leader), system.view(victim)
    target = lead_view[1] if lead_view else 0
    had = victim_view[1] if victim_view else 0
    sent_before = bytes_sent(leader, victim)
    cluster.heal()
    healed_at = time.monotonic()
    ack = first_ack_after(system, cluster.nodes, healed_at)
    caught_up = None
    while time.monotonic() - healed_at < 30:
        view = system.view(victim)
        if view is not None and view[1] >= target:
            caught_up = time.monotonic() - healed_at
            break
        time.sleep(0.02)
    sent = bytes_sent(leader, victim) - sent_before
    lead_view = system.view(leader)
    lacked = max(0, (lead_view[1] if lead_view else target) - had) * ENTRY_BYTES
    ms = lambda s: None if s is None else round(s * 1000, 1)
    record = {"victim": "leader" if cut_leader else "follower", "heal_to_ack_ms": ms(ack),
              "catchup_ms": ms(caught_up), "sent_bytes": sent, "lacked_bytes": lacked,
              "partition_s": args.partition_seconds}
    if cut_leader:
        record["stepdown_ms"] = ms(stepdown)
    return record


def phase(args, bench):
    missing = netcluster.missing_tools()
    if not netcluster.is_root() or missing:
        raise SystemExit("the partition phase needs root and %s" % (", ".join(missing) or "iproute2 + nftables"))
    for system, binary in ((KVNode(bench, "kv-node"), args.kv_bin), (Etcd(bench, "etcd"), args.etcd_bin)):
        bench.log("partition phase: %s, %d rounds of each kind" % (system.name, args.rounds))
        run_system(args, bench, system, binary)


# ---------------------------------------------------------------- report

def report(records):
    rows = [r for r in records if r.get("kind") == "partition"]
    if not rows:
        return []

    def spread(values, unit=""):
        values = [v for v in values if v is not None]
        if not values:
            return "-"
        return "%s / %s / %s%s" % (fmt(min(values)), fmt(statistics.median(values)), fmt(max(values)), unit)

    def fmt(v):
        return ("%.2f" % v) if v < 10 else "%.0f" % v

    out = ["## Partitions (packets dropped, then healed; 64 connections of writes)", "",
           "min / median / max over the rounds; ratio = bytes the leader sent the member that was "
           "cut off, from the heal until it caught up, over the bytes of the entries it lacked.", "",
           "| system | cut off | rounds | heal -> first write (ms) | leader step-down (ms) | catch-up (ms) | resend ratio | never acknowledged |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for system in sorted({r["system"] for r in rows}, key=lambda s: s != "kv-node"):
        for victim in ("leader", "follower"):
            group = [r for r in rows if r["system"] == system and r["victim"] == victim]
            if not group:
                continue
            ratios = [r["sent_bytes"] / r["lacked_bytes"] for r in group if r["lacked_bytes"] > 0]
            out.append("| %s | %s | %d | %s | %s | %s | %s | %d |" % (
                system, victim, len(group), spread([r["heal_to_ack_ms"] for r in group]),
                spread([r.get("stepdown_ms") for r in group]) if victim == "leader" else "-",
                spread([r["catchup_ms"] for r in group]), spread(ratios, "x"),
                sum(1 for r in group if r["heal_to_ack_ms"] is None)))
    out.append("")
    return out
