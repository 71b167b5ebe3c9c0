"""A linearizability checker for a history of single-key register operations.

Model: every key is an independent register that starts absent (None). Operations are
`put(value)` and `get() -> value` with invocation and completion times from one monotonic
clock. Each put writes a value no other put writes (the workload makes them unique), which
lets the checker reason about each value's one writer.

Outcomes:
- `ok`: the operation took effect exactly once, somewhere between its call and return;
- `fail`: a put known not to have taken effect (a 4xx answer, a refused connection);
- `info`: a put whose outcome is unknown (timeout, connection error, 503): it may take
  effect at any time after its call, or never. Reads that did not answer are left out.

The search is Wing & Gong's, with Lowe's memoization (as in Knossos and Porcupine): walk
the operations in call order, try to linearize any operation whose call precedes the first
pending return, remember every (set of linearized ops, register value) already explored,
and backtrack when a return is reached whose operation could not be placed.

Two reductions keep unknown puts from blowing up the search, both exact:
- an `info` put whose value nobody read is dropped: placing it never helps a read (values
  are unique), and "never took effect" is always allowed for it;
- an `info` put whose value was read must precede that read, so its effective return is the
  earliest return of a read that saw it.

Standard library only.
"""

import collections

OK, FAIL, INFO = "ok", "fail", "info"


class Op:
    __slots__ = ("id", "key", "kind", "value", "call", "ret", "outcome", "process", "node")

    def __init__(self, key, kind, value, call, ret, outcome, process=None, node=None):
        self.key, self.kind, self.value = key, kind, value
        self.call, self.ret, self.outcome = call, ret, outcome
        self.process, self.node = process, node
        self.id = None

    def __repr__(self):
        ret = "inf" if self.ret is None else "%.3f" % self.ret
        return "%s %s(%r)=%s [%.3f, %s] p%s@%s" % (self.key, self.kind, self.value, self.outcome,
                                                    self.call, ret, self.process, self.node)


class Result:
    def __init__(self, valid, problems, explored):
        self.valid = valid
        self.problems = problems  # human-readable reasons, one per failing key
        self.explored = explored  # search states visited, all keys

    def __bool__(self):
        return self.valid

    def __repr__(self):
        return "Result(valid=%s, problems=%r)" % (self.valid, self.problems)


def check(ops, max_states=2_000_000):
    """Checks every key of `ops` (Op values); returns a Result naming what failed."""
    by_key = collections.defaultdict(list)
    for op in ops:
        by_key[op.key].append(op)
    problems, explored = [], 0
    for key in sorted(by_key, key=str):
        ok, why, states = _check_key(key, by_key[key], max_states)
        explored += states
        if not ok:
            problems.append(why)
    return Result(not problems, problems, explored)


def _check_key(key, ops, max_states):
    writes = {}
    for op in ops:
        if op.kind == "put":
            if op.value in writes:
                return False, "key %s: the workload wrote %r twice; values must be unique" % (key, op.value), 0
            writes[op.value] = op
    reads = [op for op in ops if op.kind == "get" and op.outcome == OK]
    first_seen = {}
    for read in reads:
        if read.value is None:
            continue
        writer = writes.get(read.value)
        if writer is None:
            return False, "key %s: read a value never written: %r" % (key, read), 0
        if writer.outcome == FAIL:
            return False, "key %s: read a value whose write failed definitely: %r after %r" % (key, read, writer), 0
        if read.ret < writer.call:
            return False, "key %s: read a value before its write was called: %r before %r" % (key, read, writer), 0
        first_seen[read.value] = min(first_seen.get(read.value, read.ret), read.ret)

    # (call, ret, op) to place; ret is finite for every op after the reductions.
    entries = []
    for op in ops:
        if op.kind == "get":
            if op.outcome == OK:
                entries.append((op.call, op.ret, op))
        elif op.outcome == OK:
            entries.append((op.call, op.ret, op))
        elif op.outcome == INFO and op.value in first_seen:
            entries.append((op.call, first_seen[op.value], op))
    return _wgl(key, entries, max_states)


class _Event:
    __slots__ = ("time", "is_call", "op", "match", "prev", "next", "index")

    def __init__(self, time, is_call, op, index):
        self.time, self.is_call, self.op, self.index = time, is_call, op, index
        self.match = self.prev = self.next = None


def _wgl(key, entries, max_states):
    if not entries:
        return True, None, 0
    events = []
    for index, (call, ret, op) in enumerate(entries):
        c, r = _Event(call, True, op, index), _Event(ret, False, op, index)
        c.match = r
        events += [c, r]
    # At equal times calls sort first, so touching intervals count as overlapping (lenient).
    events.sort(key=lambda e: (e.time, 0 if e.is_call else 1))
    head = _Event(None, False, None, -1)
    prev = head
    for event in events:
        prev.next, event.prev = event, prev
        prev = event

    def lift(call):
        call.prev.next = call.next
        call.next.prev = call.prev
        ret = call.match
        ret.prev.next = ret.next
        if ret.next is not None:
            ret.next.prev = ret.prev

    def unlift(call):
        ret = call.match
        ret.prev.next = ret
        if ret.next is not None:
            ret.next.prev = ret
        call.prev.next = call
        call.next.prev = call

    state = None
    linearized = 0
    seen = set()
    stack = []
    best_depth, best_stuck, best_state = -1, None, None
    entry = head.next
    while head.next is not None:
        if entry.is_call:
            op = entry.op
            if op.kind == "put":
                legal, new_state = True, op.value
            else:
                legal, new_state = op.value == state, state
            if legal:
                marked = linearized | (1 << entry.index)
                if (marked, new_state) not in seen:
                    seen.add((marked, new_state))
                    if len(seen) > max_states:
                        return False, "key %s: gave up after %d search states (history too concurrent)" % (
                            key, max_states), len(seen)
                    stack.append((entry, state))
                    state, linearized = new_state, marked
                    lift(entry)
                    entry = head.next
                    continue
            entry = entry.next
        else:
            # A return whose operation could not be placed before it: undo the last choice.
            if len(stack) > best_depth:
                best_depth, best_stuck, best_state = len(stack), entry.op, state
            if not stack:
                return False, _explain(key, best_depth, len(entries), best_stuck, best_state), len(seen)
            entry, state = stack.pop()
            linearized &= ~(1 << entry.index)
            unlift(entry)
            entry = entry.next
    return True, None, len(seen)


def _explain(key, depth, total, stuck, state):
    what = "a read of %r when the register could only hold %r" % (stuck.value, state) if stuck.kind == "get" \
        else "write %r" % (stuck.value,)
    return ("key %s: not linearizable; the longest valid prefix placed %d of %d operations and then "
            "could not place %s: %r" % (key, depth, total, what, stuck))
