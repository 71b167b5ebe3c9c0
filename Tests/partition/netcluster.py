"""kv-node clusters whose nodes each live in their own Linux network namespace.

Why namespaces: a partition on a real network drops packets while TCP connections stay open
(the peer just goes silent), and that is the failure that wedged kv-node after heals (issue
14). Killing connections or processes does not reproduce it; nftables drop rules between
namespaces do.

Layout of one run R (1..250), all names starting with `kvp<R>-`:

    root namespace   kvp<R>-cl  10.213.R.1/24   (the test client; nothing else is touched)
         |  veth
    kvp<R>-hub       bridge `kvbr` joining the client's veth and one veth per node
         |  veth
    kvp<R>-n<i>      eth0 10.213.R.(10+i)/24; kv-node: API :8000, Raft :8001;
                     nft table `inet kvpartition` holds the partition's drop rules

The bridge sits in a namespace of its own so node-to-node traffic never passes the root
namespace's firewall. A partition drops packets between node addresses inside the nodes'
namespaces, both directions, so the client keeps reaching every node's API.

Run numbers are claimed with a lock file (/tmp/kvpartition-locks/R.lock, held for the life
of the process); a run that finds leftovers of a number nobody holds (a crashed or killed
run) removes them first. `NetworkedCluster.close()` removes everything it created; it is
registered with atexit and SIGTERM/SIGHUP so an interrupted run cleans up too, and every
kv-node gets PR_SET_PDEATHSIG so it dies with its parent.

Standard library only: Benchmarks/cluster/cluster.py imports this module.
"""

import atexit
import ctypes
import fcntl
import glob
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

PREFIX = "kvp"
SUBNET = "10.213"
LOCK_DIR = "/tmp/kvpartition-locks"
API_PORT = 8000
RAFT_PORT = 8001
NFT_TABLE = "kvpartition"
#: 50 ms heartbeats, 300-600 ms election timeouts, like the Swift process tests.
FAST_TIMING = ["--tick-ms", "10", "--heartbeat-ticks", "5", "--election-ticks", "30"]


def sh(*args, check=True, input=None):
    """Runs one command (no shell); returns its stdout. Failures name the command."""
    result = subprocess.run(args, capture_output=True, text=True, input=input)
    if check and result.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(args), result.returncode, result.stderr.strip()))
    return result.stdout


def in_ns(ns, *args, check=True, input=None):
    return sh("ip", "netns", "exec", ns, *args, check=check, input=input)


def wait_until(what, predicate, timeout=30.0, interval=0.05):
    """Polls `predicate` until it returns something truthy; raises naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, ValueError, http.client.HTTPException) as error:
            last = error
        time.sleep(interval)
    raise TimeoutError("timed out after %.0f s waiting for %s (last error: %s)" % (timeout, what, last))


def is_root():
    return os.geteuid() == 0


def missing_tools():
    """The commands the suite needs that are not installed (empty when all are)."""
    return [tool for tool in ("ip", "nft") if shutil.which(tool) is None]


# ---------------------------------------------------------------- run numbers and leftovers

def _namespaces():
    out = sh("ip", "netns", "list", check=False)
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def remove_run(run):
    """Removes every trace of run `run`: its processes, namespaces, root-side veth, temp dirs."""
    prefix = "%s%d-" % (PREFIX, run)
    for ns in [n for n in _namespaces() if n.startswith(prefix)]:
        for pid in sh("ip", "netns", "pids", ns, check=False).split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        # Deleting a namespace destroys its interfaces and their veth peers, and its nft tables.
        sh("ip", "netns", "del", ns, check=False)
    sh("ip", "link", "del", prefix + "cl", check=False)
    for path in glob.glob(os.path.join(tempfile.gettempdir(), "kvpartition-%d-*" % run)):
        shutil.rmtree(path, ignore_errors=True)


def _used_subnet(run):
    """True when some interface of the root namespace already has an address in 10.213.run/24."""
    return ("inet %s.%d." % (SUBNET, run)) in sh("ip", "-4", "addr", "show", check=False)


class _RunClaim:
    """An exclusive run number, held by an open, flock()ed file until released."""

    def __init__(self):
        os.makedirs(LOCK_DIR, exist_ok=True)
        self._sweep_stale()
        for run in range(1, 251):
            handle = open(os.path.join(LOCK_DIR, "%d.lock" % run), "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            remove_run(run)  # a leftover of a crashed run with this number
            if _used_subnet(run):
                handle.close()
                continue
            self.run, self._handle = run, handle
            return
        raise RuntimeError("no free run number: 250 partition runs hold a lock")

    @staticmethod
    def _sweep_stale():
        """Removes leftovers of any run number that no live process holds."""
        runs = set()
        for ns in _namespaces():
            digits = ns[len(PREFIX):].split("-", 1)[0]
            if ns.startswith(PREFIX) and digits.isdigit():
                runs.add(int(digits))
        for run in runs:
            with open(os.path.join(LOCK_DIR, "%d.lock" % run), "w") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a live run
                remove_run(run)

    def release(self):
        if self._handle is not None:
            self._handle.close()
            self._handle = None


# ---------------------------------------------------------------- cleanup on exit and signals

_open_clusters = set()
_open_lock = threading.RLock()


def _close_all():
    with _open_lock:
        clusters = list(_open_clusters)
    for cluster in clusters:
        cluster.close()


def _on_signal(signum, _frame):
    _close_all()
    raise SystemExit(128 + signum)


atexit.register(_close_all)
if threading.current_thread() is threading.main_thread():
    for _sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(_sig) in (signal.SIG_DFL, None):
            signal.signal(_sig, _on_signal)


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when the process that started it dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


# ---------------------------------------------------------------- HTTP

def http_call(host, method, path, body=None, timeout=2.0, port=API_PORT):
    """One request on a fresh connection. Returns (status, parsed JSON or None); raises OSError."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        data = response.read()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = None
        return response.status, parsed
    finally:
        conn.close()


# ---------------------------------------------------------------- nodes and cluster

class Node:
    def __init__(self, cluster, index):
        self.cluster = cluster
        self.index = index
        self.id = "n%d" % index
        self.ns = "%s%d-%s" % (PREFIX, cluster.run, self.id)
        self.ip = "%s.%d.%d" % (SUBNET, cluster.run, 10 + index)
        self.data_dir = os.path.join(cluster.work, self.id)
        self.log_path = os.path.join(cluster.work, self.id + ".log")
        self.process = None

    @property
    def peer_entry(self):
        return "%s=%s:%d@%s:%d" % (self.id, self.ip, RAFT_PORT, self.ip, API_PORT)

    def start(self, arguments):
        self.start_command([self.cluster.binary, "--id", self.id,
                            "--api-addr", "%s:%d" % (self.ip, API_PORT), "--raft-addr", "%s:%d" % (self.ip, RAFT_PORT),
                            "--data-dir", self.data_dir] + arguments)

    def start_command(self, argv):
        """Starts `argv` (any server: kv-node, or etcd for the benchmark) in this node's namespace."""
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                ["ip", "netns", "exec", self.ns] + argv,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        finally:
            log.close()

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def status(self, timeout=1.0):
        """GET /cluster/status, or None when the node does not answer."""
        try:
            code, body = http_call(self.ip, "GET", "/cluster/status", timeout=timeout)
            return body if code == 200 else None
        except (OSError, http.client.HTTPException):
            return None

    def tx_bytes(self):
        """Bytes sent by this node's eth0 (its whole namespace), from the kernel's counters."""
        if not self.running:
            return None
        with open("/proc/%d/net/dev" % self.process.pid) as dev:
            for line in dev:
                name, _, rest = line.partition(":")
                if name.strip() == "eth0":
                    return int(rest.split()[8])
        return None

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as log:
                return b"\n".join(log.read().splitlines()[-lines:]).decode(errors="replace")
        except OSError:
            return "(no log)"


class NetworkedCluster:
    """`size` kv-node processes, one per network namespace, bridged; see the module doc.

    Use as a context manager (or call close()); close() is idempotent and also runs at exit.
    """

    def __init__(self, binary, size=3, extra_arguments=(), request_timeout_ms=1000, node_command=None):
        """`node_command(node, nodes)`, when given, returns the argv that starts `node` instead
        of kv-node's (the benchmark runs etcd this way)."""
        self.binary = os.path.abspath(binary)
        if not os.access(self.binary, os.X_OK):
            raise FileNotFoundError("kv-node binary not found: " + self.binary)
        self.size = size
        self.closed = False
        self._claim = _RunClaim()
        self.run = self._claim.run
        self.client_ip = "%s.%d.1" % (SUBNET, self.run)
        self.hub = "%s%d-hub" % (PREFIX, self.run)
        self.work = tempfile.mkdtemp(prefix="kvpartition-%d-" % self.run)
        self.nodes = [Node(self, i) for i in range(1, size + 1)]
        self.cuts = set()
        with _open_lock:
            _open_clusters.add(self)
        try:
            self._build_network()
            peers = ",".join(node.peer_entry for node in self.nodes)
            arguments = FAST_TIMING + ["--request-timeout-ms", str(request_timeout_ms),
                                       "--bootstrap", "--peers", peers] + list(extra_arguments)
            for node in self.nodes:
                if node_command is None:
                    node.start(arguments)
                else:
                    node.start_command(node_command(node, self.nodes))
        except BaseException:
            self.close()
            raise

    # -- network

    def _build_network(self):
        run = self.run
        sh("ip", "netns", "add", self.hub)
        in_ns(self.hub, "ip", "link", "set", "lo", "up")
        in_ns(self.hub, "ip", "link", "add", "name", "kvbr", "type", "bridge")
        in_ns(self.hub, "ip", "link", "set", "kvbr", "up")
        # The client's end in the root namespace; its peer joins the bridge.
        root_end = "%s%d-cl" % (PREFIX, run)
        sh("ip", "link", "add", root_end, "type", "veth", "peer", "name", "%s%d-clh" % (PREFIX, run))
        sh("ip", "link", "set", "%s%d-clh" % (PREFIX, run), "netns", self.hub)
        in_ns(self.hub, "ip", "link", "set", "%s%d-clh" % (PREFIX, run), "name", "cl", "master", "kvbr", "up")
        sh("ip", "addr", "add", "%s/24" % self.client_ip, "dev", root_end)
        sh("ip", "link", "set", root_end, "up")
        for node in self.nodes:
            sh("ip", "netns", "add", node.ns)
            in_ns(node.ns, "ip", "link", "set", "lo", "up")
            inner, outer = "%s%d-%sa" % (PREFIX, run, node.id), "%s%d-%sb" % (PREFIX, run, node.id)
            # Created inside the node's namespace, so nothing lingers in the root namespace.
            in_ns(node.ns, "ip", "link", "add", inner, "type", "veth", "peer", "name", outer)
            in_ns(node.ns, "ip", "link", "set", outer, "netns", self.hub)
            in_ns(node.ns, "ip", "link", "set", inner, "name", "eth0")
            in_ns(node.ns, "ip", "addr", "add", "%s/24" % node.ip, "dev", "eth0")
            in_ns(node.ns, "ip", "link", "set", "eth0", "up")
            in_ns(self.hub, "ip", "link", "set", outer, "name", node.id, "master", "kvbr", "up")
            in_ns(node.ns, "nft", "-f", "-", input=(
                "table inet %s {\n"
                " chain input { type filter hook input priority 0; policy accept; }\n"
                " chain output { type filter hook output priority 0; policy accept; }\n"
                "}\n") % NFT_TABLE)

    def set_cuts(self, pairs):
        """Makes exactly `pairs` (node pairs) unable to exchange packets, both directions;
        every other pair can. Connections are not closed: packets are dropped."""
        cuts = {frozenset((a.id, b.id)) for a, b in pairs}
        by_id = {node.id: node for node in self.nodes}
        for node in self.nodes:
            others = sorted(next(iter(pair - {node.id})) for pair in cuts if node.id in pair)
            script = ["flush chain inet %s input" % NFT_TABLE, "flush chain inet %s output" % NFT_TABLE]
            for other in others:
                script.append("add rule inet %s input ip saddr %s drop" % (NFT_TABLE, by_id[other].ip))
                script.append("add rule inet %s output ip daddr %s drop" % (NFT_TABLE, by_id[other].ip))
            in_ns(node.ns, "nft", "-f", "-", input="\n".join(script) + "\n")
        self.cuts = cuts

    def isolate(self, group):
        """Cuts every link between `group` and the other nodes (links inside each side stay)."""
        inside = {node.id for node in group}
        self.set_cuts([(a, b) for a in self.nodes for b in self.nodes
                       if a.index < b.index and ((a.id in inside) != (b.id in inside))])

    def heal(self):
        self.set_cuts([])

    # -- cluster state

    def statuses(self, nodes=None):
        return {node.id: node.status() for node in (nodes or self.nodes)}

    def leader(self, among=None, timeout=30.0, not_id=None):
        """Waits until every node in `among` (all by default) names the same leader in the same
        term, that leader among them; returns its Node."""
        group = among or self.nodes

        def agreed():
            statuses = [node.status() for node in group]
            if any(s is None for s in statuses):
                return None
            leaders = [s for s in statuses if s.get("role") == "leader"]
            if len(leaders) != 1 or leaders[0]["id"] == not_id:
                return None
            lead = leaders[0]
            if all(s.get("leader") == lead["id"] and s.get("term") == lead["term"] for s in statuses):
                return next(node for node in group if node.id == lead["id"])
            return None

        return wait_until("one leader agreed by %s" % [n.id for n in group], agreed, timeout=timeout)

    def converged(self, timeout=30.0):
        """Waits until every node reports the same commit and applied index (and term, leader);
        returns the statuses."""
        def same():
            statuses = [node.status() for node in self.nodes]
            if any(s is None for s in statuses):
                return None
            first = statuses[0]
            keys = ("commit_index", "applied_index", "term", "leader")
            if first.get("leader") and all(all(s.get(k) == first.get(k) for k in keys) for s in statuses):
                return statuses
            return None

        return wait_until("all nodes at the same commit and applied index", same, timeout=timeout)

    def log_tails(self, lines=40):
        return "\n".join("----- %s log tail -----\n%s" % (node.id, node.log_tail(lines)) for node in self.nodes)

    def save_logs(self, directory):
        os.makedirs(directory, exist_ok=True)
        for node in self.nodes:
            if os.path.exists(node.log_path):
                shutil.copy(node.log_path, os.path.join(directory, node.id + ".log"))

    # -- teardown

    def close(self):
        if self.closed:
            return
        self.closed = True
        for node in self.nodes:
            node.kill()
        remove_run(self.run)
        shutil.rmtree(self.work, ignore_errors=True)
        self._claim.release()
        with _open_lock:
            _open_clusters.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
