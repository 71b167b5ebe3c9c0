"""The watch-fanout phase: many watchers on one prefix while a paced writer writes under it
(issue 18's figures), kv-node's SSE watch against etcd's gateway watch.

For each system in turn a fresh 3-member cluster starts; `--watchers` watchers (1,000 by
default) open `GET /watch?prefix=bench/` (etcd: `POST /v3/watch` with a prefix range), spread
round-robin over the three members, and the load starts only when every watcher has had its
first answer (kv-node's first progress event, etcd's "created"). A writer then sends
`--watch-rate` writes a second (1,000) for `--watch-seconds` through the leader, paced by the
clock (open loop, up to `--watch-writers` connections in flight, 64 by default), each to a new key `bench/<n>` whose value
is the key again. The writer keeps when it sent each write, when it was acknowledged and the
revision the answer gave.

Every watcher must then receive every acknowledged write, once and in revision order: per
watcher the phase counts events, missing revisions, duplicates, revisions out of order, and
events whose key, value and revision do not match a write (the parser checks value == key on
each event). Delivery lag = time the event was read by the watcher - time its write was
acknowledged to the writer (matched by key, so by key and value), over all events of all
watchers: p50, p99, max. A watcher the server disconnects resumes (kv-node: Last-Event-ID,
etcd: start_revision) and is counted.

The watchers run in `--watch-processes` Python processes of asyncio protocols that only keep
each read and its time; parsing and the checks run after the load. The client shares the
machine's cores with the servers, and its CPU time is recorded next to theirs.
"""

import array
import asyncio
import base64
import bisect
import json
import multiprocessing
import re
import statistics
import time

import rawhttp

PREFIX = "bench/"


def b64(text):
    return base64.b64encode(text.encode()).decode()


class KVNodeWatch:
    name = "kv-node"
    separator = b"\n\n"                     # SSE events end with a blank line
    marker = b"event: put"                  # one per put event
    ready_re = re.compile(rb"event: progress\ndata: \{\"revision\":(\d+)\}")
    # Fields come in name order (Docs/API.md); the value is the key again, so the
    # back-reference checks key and value together.
    event_re = re.compile(rb'"key":"bench/(\d+)",(?:[^\n]*?,)?"revision":(\d+),(?:[^\n]*?,)?"value":"bench/\1"')
    put_revision_re = re.compile(rb'"revision":(\d+)')
    revision_re = re.compile(rb"\nid: (\d+)\n")

    @staticmethod
    def watch(host, port, resume_after):
        headers = {"Accept": "text/event-stream"}
        if resume_after is not None:
            headers["Last-Event-ID"] = str(resume_after)
        return rawhttp.request("GET", "/watch?prefix=" + PREFIX, host, port, headers=headers)

    @staticmethod
    def put(host, port, n):
        key = PREFIX + str(n)
        return rawhttp.request("PUT", "/kv/" + key, host, port, '{"value":"%s"}' % key)

    @staticmethod
    def seq_of(table):
        return int


class EtcdWatch:
    name = "etcd"
    separator = b"\n"                       # the gateway writes one JSON message per line
    marker = b'"kv":{'
    ready_re = re.compile(rb'"revision":"(\d+)"[^\n]*"created":true')
    event_re = re.compile(rb'"kv":\{"key":"([A-Za-z0-9+/=]+)","create_revision":"\d+",'
                          rb'"mod_revision":"(\d+)","version":"\d+","value":"\1"')
    put_revision_re = re.compile(rb'"revision":"(\d+)"')
    revision_re = re.compile(rb'"mod_revision":"(\d+)"')

    @staticmethod
    def watch(host, port, resume_after):
        request = {"key": b64(PREFIX), "range_end": b64(PREFIX[:-1] + chr(ord(PREFIX[-1]) + 1))}
        if resume_after is not None:
            request["start_revision"] = str(resume_after + 1)
        return rawhttp.request("POST", "/v3/watch", host, port, json.dumps({"create_request": request}))

    @staticmethod
    def put(host, port, n):
        key = b64(PREFIX + str(n))
        return rawhttp.request("POST", "/v3/kv/put", host, port, '{"key":"%s","value":"%s"}' % (key, key))

    @staticmethod
    def seq_of(table):
        return table.__getitem__


class SeqTable(dict):
    """etcd's event keys (base64) to write numbers; a key no write made maps to -1."""

    def __missing__(self, key):
        return -1


SYSTEMS = {"kv-node": KVNodeWatch, "etcd": EtcdWatch}


class Segment:
    """The raw body bytes of one watch connection as they were read, with each read's time.
    Kept raw and parsed after the load: a thousand streams each bring one small read per
    event, and the fewer Python steps per read, the less the client takes from the servers."""

    COMPACT_EVERY = 1024

    def __init__(self, chunked):
        self.chunked = chunked
        self.blobs, self.lengths, self.times = [], array.array("q"), array.array("d")
        self.reads = []

    def add(self, data, now):
        self.reads.append(data)
        self.times.append(now)
        if len(self.reads) >= self.COMPACT_EVERY:
            self.compact()

    def compact(self):
        if self.reads:
            self.lengths.extend(map(len, self.reads))
            self.blobs.append(b"".join(self.reads))
            self.reads = []

    def tail(self, size=4096):
        """The last bytes received (for a cheap look at how far the stream has got)."""
        if self.reads:
            return b"".join(self.reads[-8:])[-size:]
        return self.blobs[-1][-size:] if self.blobs else b""

    def parse(self, system, seq_of):
        """[(seq, revision, time)] of every whole put event, and the put markers that did not parse."""
        self.compact()
        raw = b"".join(self.blobs)
        dechunker = rawhttp.CRFreeDechunker() if self.chunked else None
        parts, ends, total, pos = [], array.array("q"), 0, 0
        for length in self.lengths:
            piece = raw[pos:pos + length]
            pos += length
            if dechunker:
                piece = dechunker.feed(piece)
            parts.append(piece)
            total += len(piece)
            ends.append(total)
        payload = b"".join(parts)
        whole = payload[:payload.rfind(system.separator) + len(system.separator)]
        events = []
        for m in system.event_re.finditer(whole):
            read = bisect.bisect_left(ends, m.end())
            events.append((seq_of(m.group(1)), int(m.group(2)), self.times[read]))
        return events, whole.count(system.marker) - len(events)


class WatchState:
    """One watcher across its connections (a connection the server closes is resumed)."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.segments = []
        self.start_revision = None  # where the watch began (first progress / created)
        self.reconnects = 0
        self.connect_errors = 0
        self.failure = None
        self.ready = None

    def last_revision(self, system):
        """The newest revision seen, from the stream's tail: cheap enough to poll."""
        for segment in reversed(self.segments):
            found = system.revision_re.findall(segment.tail())
            if found:
                return int(found[-1])
        return None

    def parse(self, system, seq_of):
        events, unmatched = [], 0
        for segment in self.segments:
            e, u = segment.parse(system, seq_of)
            events += e
            unmatched += u
        return events, unmatched


class WatchProtocol(asyncio.Protocol):
    def __init__(self, system, state, request):
        self.system, self.state, self.request = system, state, request
        self.head = b""
        self.segment = None     # set once the head is in
        self.early = b""        # body bytes before the watch is known to be open
        self.transport = None
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        now = time.monotonic()
        if self.segment is None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            status, headers = rawhttp.parse_head(self.head[:end + 4])
            if status != 200:
                self.state.failure = "HTTP %d %r" % (status, self.head[end + 4:end + 200])
                self.transport.close()
                return
            self.segment = Segment(headers.get("transfer-encoding", "").lower() == "chunked")
            self.state.segments.append(self.segment)
            data = self.head[end + 4:]
            self.head = b""
            if not data:
                return
        self.segment.add(data, now)
        ready = self.state.ready
        if not ready.done():
            self.early += data
            match = self.system.ready_re.search(self.early)
            if match:
                if self.state.start_revision is None:
                    self.state.start_revision = int(match.group(1))
                ready.set_result(True)
                self.early = b""

    def connection_lost(self, exc):
        if not self.lost.done():
            self.lost.set_result(exc)


async def _run_watcher(system, state, seq_of, stop):
    """Keeps one watch open until `stop`, resuming after the last revision received when the
    server closes it (rare: the parse this needs is a slow one)."""
    loop = asyncio.get_running_loop()
    while not stop.done():
        resume = state.start_revision
        if state.segments:
            events, _ = state.parse(system, seq_of)
            if events:
                resume = events[-1][1]
        request = system.watch(state.host, state.port, resume)
        try:
            transport, protocol = await loop.create_connection(
                lambda: WatchProtocol(system, state, request), state.host, state.port)
        except OSError as error:
            state.connect_errors += 1
            if state.connect_errors > 50:
                state.failure = "connect: %s" % error
                if not state.ready.done():
                    state.ready.set_result(False)
                return
            await asyncio.sleep(0.2)
            continue
        done, _ = await asyncio.wait([protocol.lost, stop], return_when=asyncio.FIRST_COMPLETED)
        if stop in done:
            transport.close()
            return
        if state.failure:   # an answer other than 200: resuming would get the same
            if not state.ready.done():
                state.ready.set_result(False)
            return
        state.reconnects += 1
        await asyncio.sleep(0.05)


def _check(state, system, seq_of, writes_by_seq, acked_revs):
    """Per-watcher verdict and lags, computed after the load."""
    events, unmatched = state.parse(system, seq_of)
    revs = [e[1] for e in events]
    n = len(revs)
    seen = set(revs)
    duplicates = n - len(seen)
    out_of_order = sum(1 for a, b in zip(revs, revs[1:]) if b <= a)
    missing = len(acked_revs - seen)
    wrong, unknown = 0, 0
    lag_ack, lag_sent = array.array("d"), array.array("d")
    for seq, rev, t in events:
        w = writes_by_seq.get(seq)
        if w is None:
            unknown += 1            # a write whose answer the writer never got
            continue
        if w[0] != rev:
            wrong += 1
            continue
        lag_ack.append(t - w[2])
        lag_sent.append(t - w[1])
    return {"events": n, "duplicates": duplicates, "out_of_order": out_of_order, "missing": missing,
            "wrong": wrong, "unknown": unknown, "unmatched": unmatched, "reconnects": state.reconnects,
            "failure": state.failure}, lag_ack, lag_sent


def _watch_process(pipe, system_name, targets, max_seq):
    system = SYSTEMS[system_name]
    table = SeqTable()
    if system_name == "etcd":
        table.update((b64(PREFIX + str(n)).encode(), n) for n in range(max_seq))
    seq_of = system.seq_of(table)

    async def main():
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        states = [WatchState(h, p) for h, p in targets]
        tasks = []
        for s in states:
            s.ready = loop.create_future()
            tasks.append(asyncio.create_task(_run_watcher(system, s, seq_of, stop)))
            await asyncio.sleep(0)
        try:
            await asyncio.wait_for(asyncio.gather(*(s.ready for s in states)), 120)
        except asyncio.TimeoutError:
            pass
        not_ready = [s for s in states if not s.ready.done() or not s.ready.result()]
        cpu_ready = time.process_time()
        pipe.send(("ready", len(states) - len(not_ready),
                   next((s.failure for s in not_ready if s.failure), None)))
        command = await loop.run_in_executor(None, pipe.recv)
        if command[0] != "writes":
            stop.set_result(True)
            await asyncio.gather(*tasks)
            return
        _, writes, grace = command
        cpu_load = time.process_time() - cpu_ready   # CPU while the writes flowed
        acked_revs = {w[1] for w in writes}
        top = max(acked_revs) if acked_revs else 0
        deadline = time.monotonic() + grace
        # Wait until every watcher has reached the last acknowledged revision, or the grace ends.
        while time.monotonic() < deadline:
            if not acked_revs or all((s.last_revision(system) or 0) >= top for s in states):
                break
            await asyncio.sleep(0.05)
        stop.set_result(True)
        await asyncio.gather(*tasks)
        writes_by_seq = {w[0]: (w[1], w[2], w[3]) for w in writes}
        verdicts, lag_ack, lag_sent = [], array.array("d"), array.array("d")
        for s in states:
            verdict, a, b = _check(s, system, seq_of, writes_by_seq, acked_revs)
            verdicts.append(verdict)
            lag_ack.extend(a)
            lag_sent.extend(b)
        pipe.send(("result", verdicts, lag_ack.tobytes(), lag_sent.tobytes(), cpu_load))

    asyncio.run(main())
    pipe.close()


async def _write_load(system, host, port, rate, seconds, connections):
    """Writes paced at `rate`/s for `seconds`, at most `connections` in flight. Writes still
    queued when the time is up (the cluster could not take the rate) are not sent.
    Returns ([(seq, revision, sent, acked)] of the acknowledged, failed, not sent, t0)."""
    total = int(rate * seconds)
    queue = asyncio.Queue()
    acked, failed = [], [0]

    async def worker():
        reader = writer = None
        while True:
            n = await queue.get()
            if n is None:
                break
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                sent = time.monotonic()
                writer.write(system.put(host, port, n))
                status, _, body = await rawhttp.read_response(reader)
                done = time.monotonic()
                match = system.put_revision_re.search(body)
                if status != 200 or not match:
                    failed[0] += 1
                    continue
                acked.append((n, int(match.group(1)), sent, done))
            except (OSError, asyncio.IncompleteReadError, ValueError):
                failed[0] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    t0 = time.monotonic()
    for n in range(total):
        delay = t0 + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(n)
    await asyncio.sleep(max(0.0, t0 + seconds - time.monotonic()))
    not_sent = 0
    while not queue.empty():
        queue.get_nowait()
        not_sent += 1
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return acked, failed[0], not_sent, t0


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(round(p / 100.0 * (len(sorted_values) - 1))))]


def run_system(args, bench, cluster):
    system = SYSTEMS["etcd" if cluster.system == "etcd" else "kv-node"]
    leader = cluster.wait_healthy()
    targets = [(m.host, m.port) for m in cluster.members]
    spread = [targets[i % len(targets)] for i in range(args.watchers)]
    processes = max(1, min(args.watch_processes, args.watchers))
    total = int(args.watch_rate * args.watch_seconds)
    ctx = multiprocessing.get_context("fork")
    children = []
    for p in range(processes):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_watch_process, args=(child, system.name, spread[p::processes], total + 10),
                           daemon=True)
        proc.start()
        child.close()
        children.append((proc, parent))
    try:
        opened = 0
        for proc, pipe in children:
            if not pipe.poll(180):
                raise RuntimeError("watchers did not open within 180 s")
            _, ready, failure = pipe.recv()
            opened += ready
            if failure:
                bench.log("%s: a watcher failed to open: %s" % (system.name, failure))
        if opened < args.watchers:
            for _, pipe in children:
                pipe.send(("abort",))
            raise RuntimeError("%s: only %d of %d watchers opened" % (system.name, opened, args.watchers))
        bench.log("%s: %d watchers open on %d members; writing %d/s for %d s through %s"
                  % (system.name, opened, len(targets), args.watch_rate, args.watch_seconds, leader.name))
        cpu0, client0 = cluster.cpu(), time.process_time()
        acked, failed, not_sent, t0 = asyncio.run(_write_load(system, leader.host, leader.port, args.watch_rate,
                                                            args.watch_seconds, args.watch_writers))
        t_written = time.monotonic()
        cpu1, client1 = cluster.cpu(), time.process_time()
        write_s = t_written - t0
        bench.log("%s: %d writes acknowledged (%d failed, %d not sent in time) in %.1f s; waiting for the watchers"
                  % (system.name, len(acked), failed, not_sent, write_s))
        for _, pipe in children:
            pipe.send(("writes", acked, args.watch_grace))
        verdicts, lag_ack, lag_sent, child_cpu = [], array.array("d"), array.array("d"), 0.0
        for proc, pipe in children:
            if not pipe.poll(args.watch_grace + 600):
                raise RuntimeError("a watcher process did not report")
            _, v, a, b, cpu = pipe.recv()
            verdicts += v
            lag_ack.frombytes(a)
            lag_sent.frombytes(b)
            child_cpu += cpu
            proc.join()
    finally:
        for proc, _ in children:
            if proc.is_alive():
                proc.kill()
                proc.join()
    lag_ack, lag_sent = sorted(lag_ack), sorted(lag_sent)
    complete = sum(1 for v in verdicts if not (v["missing"] or v["duplicates"] or v["out_of_order"] or v["wrong"]
                                               or v["unmatched"] or v["failure"]))
    ms = lambda xs, p: 1000 * percentile(xs, p) if xs else None
    record = {"kind": "watch", "system": system.name, "watchers": args.watchers, "rate": args.watch_rate,
              "writer_connections": args.watch_writers,
              "seconds": args.watch_seconds, "writes_acked": len(acked), "writes_failed": failed,
              "writes_not_sent": not_sent,
              "write_seconds": write_s, "writes_per_s": len(acked) / write_s,
              "watchers_complete": complete,
              "events_expected": len(acked) * args.watchers, "events": sum(v["events"] for v in verdicts),
              "missing": sum(v["missing"] for v in verdicts), "duplicates": sum(v["duplicates"] for v in verdicts),
              "out_of_order": sum(v["out_of_order"] for v in verdicts), "wrong": sum(v["wrong"] for v in verdicts),
              "unknown": sum(v["unknown"] for v in verdicts), "unmatched": sum(v["unmatched"] for v in verdicts),
              "reconnects": sum(v["reconnects"] for v in verdicts),
              "failures": sorted({v["failure"] for v in verdicts if v["failure"]})[:5],
              "lag_p50_ms": ms(lag_ack, 50), "lag_p99_ms": ms(lag_ack, 99), "lag_max_ms": ms(lag_ack, 100),
              "lag_min_ms": ms(lag_ack, 0), "lag_mean_ms": 1000 * statistics.fmean(lag_ack) if lag_ack else None,
              "lag_sent_p50_ms": ms(lag_sent, 50), "lag_sent_p99_ms": ms(lag_sent, 99),
              "write_p50_ms": None, "cluster_cores": (cpu1 - cpu0) / write_s,
              "writer_cores": (client1 - client0) / write_s, "watcher_cpu_s": child_cpu}
    acks = sorted(w[3] - w[2] for w in acked)
    record["write_p50_ms"], record["write_p99_ms"] = ms(acks, 50), ms(acks, 99)
    return record


def phase(args, bench):
    wanted = args.watch_systems.split(",")
    with bench.Clusters(args) as clusters:
        for name in wanted:
            cluster = clusters.kv("wf-kv", 400) if name == "kv-node" else clusters.etcd("wf-etcd", 400)
            cluster.wait_healthy()
            bench.wait_until("caught up", cluster.caught_up, 30)
            record = run_system(args, bench, cluster)
            bench.append_result(args, record)
            bench.log("%s: %d/%d watchers got every event; %d of %d events, missing %d, duplicates %d, "
                      "out of order %d, wrong %d, unmatched %d, reconnects %d; lag p50 %.1f ms p99 %.1f ms "
                      "max %.1f ms; cluster %.2f cores, watcher processes %.1f s CPU"
                      % (name, record["watchers_complete"], args.watchers, record["events"], record["events_expected"],
                         record["missing"], record["duplicates"], record["out_of_order"], record["wrong"],
                         record["unmatched"], record["reconnects"], record["lag_p50_ms"] or -1,
                         record["lag_p99_ms"] or -1, record["lag_max_ms"] or -1, record["cluster_cores"],
                         record["watcher_cpu_s"]))
            cluster.stop()
            cluster.remove_data()


def report(records):
    rows = [r for r in records if r.get("kind") == "watch"]
    if not rows:
        return []
    fmt = lambda v, d=1: "n/a" if v is None else "{:,.{}f}".format(v, d)
    out = ["Watch fan-out (watchers on one prefix, spread over the 3 members; lag = event read by the watcher "
           "- its write acknowledged to the writer, and - its write sent; ms):", "",
           "| system | watchers | writes/s asked | writes/s done | watchers with every event | events received / expected "
           "| missing | dup | out of order | lag p50 | p99 | max | lag from send p50 | p99 | write p50 | p99 "
           "| cluster cores | client cores | reconnects |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
           "| ---: | ---: | ---: | ---: |"]
    for r in rows:
        window = r["write_seconds"]
        client = (r["watcher_cpu_s"] + r["writer_cores"] * window) / window
        out.append("| %s | %s | %s | %s | %s | %s / %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %.2f | %.2f | %d |" % (
            r["system"], fmt(r["watchers"], 0), fmt(r["rate"], 0), fmt(r.get("writes_per_s"), 0),
            fmt(r["watchers_complete"], 0), fmt(r["events"], 0), fmt(r["events_expected"], 0), r["missing"],
            r["duplicates"], r["out_of_order"], fmt(r["lag_p50_ms"]), fmt(r["lag_p99_ms"]), fmt(r["lag_max_ms"]),
            fmt(r["lag_sent_p50_ms"]), fmt(r["lag_sent_p99_ms"]), fmt(r["write_p50_ms"]), fmt(r["write_p99_ms"]),
            r["cluster_cores"], client, r["reconnects"]))
    out.append("")
    return out
