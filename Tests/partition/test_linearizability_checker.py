"""The checker itself, on small hand-made histories: it must accept what is linearizable and
reject each kind of anomaly the partition suite looks for, or the suite proves nothing."""

from linearizability import FAIL, INFO, OK, Op, check


def put(value, call, ret, outcome=OK, key="k"):
    return Op(key, "put", value, call, ret, outcome)


def get(value, call, ret, key="k"):
    return Op(key, "get", value, call, ret, OK)


def test_sequential_history_is_linearizable():
    assert check([get(None, 0, 1), put("a", 2, 3), get("a", 4, 5), put("b", 6, 7), get("b", 8, 9)])


def test_concurrent_read_may_see_either_value():
    # The read overlaps the write of "b": "a" and "b" are both allowed.
    assert check([put("a", 0, 1), put("b", 2, 6), get("a", 3, 4)])
    assert check([put("a", 0, 1), put("b", 2, 6), get("b", 3, 4)])


def test_overlapping_writes_in_either_order():
    # Both writes overlap; reads after both see "a" then nothing contradicts: "b" went first.
    assert check([put("a", 0, 5), put("b", 1, 4), get("a", 6, 7)])
    assert check([put("a", 0, 5), put("b", 1, 4), get("b", 6, 7)])


def test_stale_read_is_rejected():
    result = check([put("a", 0, 1), put("b", 2, 3), get("a", 4, 5)])
    assert not result
    assert "not linearizable" in result.problems[0]


def test_lost_acknowledged_write_is_rejected():
    # "a" was acknowledged, yet a later read finds the key absent.
    result = check([put("a", 0, 1), get(None, 2, 3)])
    assert not result


def test_read_of_a_value_never_written_is_rejected():
    result = check([put("a", 0, 1), get("zzz", 2, 3)])
    assert not result
    assert "never written" in result.problems[0]


def test_read_of_a_definitely_failed_write_is_rejected():
    result = check([put("a", 0, 1, outcome=FAIL), get("a", 2, 3)])
    assert not result


def test_indeterminate_write_may_take_effect_late():
    # "x" timed out at 2 yet is read at 10, after "b" was acknowledged: it took effect late.
    assert check([put("x", 0, None, outcome=INFO), put("b", 3, 4), get("b", 5, 6), get("x", 10, 11)])


def test_indeterminate_write_may_never_take_effect():
    assert check([put("a", 0, 1), put("x", 2, None, outcome=INFO), get("a", 5, 6)])


def test_indeterminate_write_cannot_undo_itself():
    # Once "x" was seen and then overwritten by an acknowledged "b", seeing "x" again is stale.
    result = check([put("x", 0, None, outcome=INFO), get("x", 1, 2), put("b", 3, 4), get("x", 5, 6)])
    assert not result


def test_read_before_the_write_was_called_is_rejected():
    result = check([get("a", 0, 1), put("a", 2, 3)])
    assert not result


def test_keys_are_independent():
    # Each key alone is fine; a single register for both would not be.
    assert check([put("a", 0, 1, key="k1"), put("b", 2, 3, key="k2"), get("a", 4, 5, key="k1")])
    result = check([put("a", 0, 1, key="k1"), put("b", 2, 3, key="k1"), get("a", 4, 5, key="k1"),
                    put("c", 0, 1, key="k2"), get("c", 2, 3, key="k2")])
    assert not result and len(result.problems) == 1 and result.problems[0].startswith("key k1")


def test_long_sequential_history_stays_cheap():
    ops = []
    for i in range(3000):
        ops.append(put("v%d" % i, 4 * i, 4 * i + 1))
        ops.append(get("v%d" % i, 4 * i + 2, 4 * i + 3))
    result = check(ops)
    assert result and result.explored < 20_000
