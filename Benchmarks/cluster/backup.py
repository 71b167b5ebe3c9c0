"""The backup phase of cluster.py: backup and restore of a loaded store, kv-node against etcd.

Each system gets a 3-member cluster loaded with `--keys` keys (the footprint phase's keys and
100-byte values, written once each through the leader). Then, `--backup-rounds` times each:

- save: `kvctl snapshot save` / `etcdctl snapshot save`, from the leader, timed from exec to
  exit, with the file's size;
- restore: `kv-node restore` / `etcdctl snapshot restore` of that file into a new data
  directory for a one-member cluster, timed from exec to exit;
- serve: that restored member started, timed from exec to the first linearizable read of the
  last key loaded.

etcdctl comes from Debian: apt-get install -y etcd-client (etcd 3.4, as etcd-server).
"""

import os
import shutil
import statistics
import subprocess
import time


def timed(argv, env=None):
    started = time.monotonic()
    out = subprocess.run(argv, capture_output=True, text=True, env=env)
    seconds = time.monotonic() - started
    if out.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(argv), out.returncode, out.stdout, out.stderr))
    return seconds, out.stdout


class KVBackup:
    name = "kv-node"

    def __init__(self, args, bench):
        self.bench = bench
        self.node = args.kv_bin
        self.kvctl = args.kvctl_bin or os.path.join(os.path.dirname(args.kv_bin), "kvctl")

    def cluster(self, clusters):
        return clusters.kv("bk-kv", 300)

    def save(self, leader, path):
        return timed([self.kvctl, "--endpoints", "%s:%d" % (leader.host, leader.port), "snapshot", "save", path])[0]

    def restore(self, path, directory, port):
        peers = "r0=127.0.0.1:%d@127.0.0.1:%d" % (port + 1, port)
        return timed([self.node, "restore", "--snapshot", path, "--data-dir", directory, "--id", "r0", "--peers", peers])[0]

    def serve(self, directory, port, log_path):
        argv = [self.node, "--id", "r0", "--api-addr", "127.0.0.1:%d" % port, "--raft-addr", "127.0.0.1:%d" % (port + 1),
                "--data-dir", directory, "--log-level", "notice"]
        return self.bench.Member("r0", argv, directory, log_path, "127.0.0.1", port)

    def reads(self, member, key):
        try:
            status, _ = self.bench.http_call(member.host, member.port, "GET", "/kv/" + key, timeout=1.0)
        except OSError:
            return False  # not listening yet
        return status == 200


class EtcdBackup:
    name = "etcd"

    def __init__(self, args, bench):
        self.bench = bench
        self.etcd = args.etcd_bin
        self.etcdctl = shutil.which("etcdctl") or "etcdctl"
        self.env = dict(os.environ, ETCDCTL_API="3")

    def cluster(self, clusters):
        return clusters.etcd("bk-etcd", 300)

    def save(self, leader, path):
        return timed([self.etcdctl, "--endpoints", "http://%s:%d" % (leader.host, leader.port),
                      "snapshot", "save", path], self.env)[0]

    def restore(self, path, directory, port):
        return timed([self.etcdctl, "snapshot", "restore", path, "--data-dir", directory, "--name", "r0",
                      "--initial-cluster", "r0=http://127.0.0.1:%d" % (port + 1),
                      "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % (port + 1)], self.env)[0]

    def serve(self, directory, port, log_path):
        argv = [self.etcd, "--name", "r0", "--data-dir", directory,
                "--listen-client-urls", "http://127.0.0.1:%d" % port, "--advertise-client-urls", "http://127.0.0.1:%d" % port,
                "--listen-peer-urls", "http://127.0.0.1:%d" % (port + 1),
                "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % (port + 1),
                "--initial-cluster", "r0=http://127.0.0.1:%d" % (port + 1), "--logger", "zap", "--log-level", "warn"]
        return self.bench.Member("r0", argv, directory, log_path, "127.0.0.1", port)

    def reads(self, member, key):
        body = '{"key":"%s"}' % self.bench.b64(key)
        try:
            status, data = self.bench.http_call(member.host, member.port, "POST", "/v3/kv/range", body, timeout=1.0)
        except OSError:
            return False  # not listening yet
        return status == 200 and b'"kvs"' in data


def run_system(args, bench, system):
    work = os.path.join(args.work, "backup-" + system.name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    port = 24000
    try:
        with bench.Clusters(args) as clusters:
            c = system.cluster(clusters)
            leader = c.wait_healthy()
            bench.log("%s: loading %d keys" % (system.name, args.keys))
            load = bench.load_keys(c, leader, args.keys, args.load_conns)
            if load["failed"]:
                raise RuntimeError("%d writes failed while loading" % load["failed"])
            bench.wait_until("caught up", c.caught_up, 300)
            rounds = []
            for r in range(args.backup_rounds):
                path = os.path.join(work, "backup-%d.snap" % r)
                leader = c.wait_healthy()
                save = system.save(leader, path)
                rounds.append({"save_s": save, "file_bytes": os.path.getsize(path)})
                bench.log("%s: snapshot save %.2f s, %d bytes" % (system.name, save, rounds[-1]["file_bytes"]))
            c.stop()
        last_key = bench.key(args.keys - 1)
        for r, row in enumerate(rounds):
            path = os.path.join(work, "backup-%d.snap" % r)
            directory = os.path.join(work, "restored-%d" % r)
            row["restore_s"] = system.restore(path, directory, port)
            member = system.serve(directory, port, os.path.join(work, "restored-%d.log" % r))
            started = member.start()
            try:
                bench.wait_until("the restored member to serve " + last_key, lambda: system.reads(member, last_key), 300, 0.01)
                row["serve_s"] = time.monotonic() - started
            finally:
                member.stop()
            row["restored_dir_bytes"] = bench.dir_bytes(directory)
            shutil.rmtree(directory, ignore_errors=True)
            bench.log("%s: snapshot restore %.2f s, first read %.2f s after start"
                      % (system.name, row["restore_s"], row["serve_s"]))
        bench.append_result(args, {"kind": "backup", "system": system.name, "keys": args.keys,
                                   "load_seconds": load["seconds"], "rounds": rounds})
    finally:
        shutil.rmtree(work, ignore_errors=True)


def phase(args, bench):
    for system in (KVBackup(args, bench), EtcdBackup(args, bench)):
        run_system(args, bench, system)


def report(records):
    rows = [r for r in records if r.get("kind") == "backup"]
    if not rows:
        return []

    def spread(values, scale=1.0, digits=2):
        values = [v * scale for v in values]
        f = "%%.%df" % digits
        return "%s / %s / %s" % (f % min(values), f % statistics.median(values), f % max(values))

    out = ["## Backup and restore (%d keys; min / median / max of %d rounds)" % (rows[0]["keys"], len(rows[0]["rounds"])), "",
           "| system | snapshot save (s) | file (MB) | snapshot restore (s) | restored member's first read (s) |",
           "| --- | ---: | ---: | ---: | ---: |"]
    for r in rows:
        rs = r["rounds"]
        out.append("| %s | %s | %s | %s | %s |" % (
            r["system"], spread([x["save_s"] for x in rs]), spread([x["file_bytes"] for x in rs], 1e-6, 1),
            spread([x["restore_s"] for x in rs]), spread([x["serve_s"] for x in rs])))
    return out + [""]
