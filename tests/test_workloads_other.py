"""Unit tests of the workloads only Maelstrom checks: lin-kv, txn-list-append,
txn-rw-register and kafka. Generators, request and reply shapes, kafka's client against a
fake node, and their verdicts: always "unknown", in words."""
import collections
import random

import pytest

from gnode_cluster.options import resolve
from gnode_cluster.workload import SchemaError, check_reply, workload_class
from gnode_cluster.workload.kafka import Kafka
from gnode_cluster.workload.lin_kv import LinKV
from gnode_cluster.workload.txn_list_append import TxnGenerator, TxnListAppend
from gnode_cluster.workload.txn_rw_register import TxnRWRegister

NODES3 = ["n0", "n1", "n2"]


def make(cls, seed=1, **options):
    options.setdefault("nodes", NODES3)
    return cls(resolve(**options), random.Random(seed))


def answer(body, **fields):
    """A reply to ``body``, as a node writes it."""
    return dict({"type": body["type"] + "_ok", "in_reply_to": 1}, **fields)


# -- lin-kv

def test_lin_kv_groups_of_two_node_counts_share_a_key_half_read_half_write_or_cas():
    kv = make(LinKV, concurrency=12)  # 3 nodes: two groups of 6 workers
    fs = collections.Counter()
    for _ in range(300):
        for worker in range(12):
            op = kv.next_op(worker)
            key, value = op["value"]
            assert key == worker // 6
            if worker % 6 < 3:
                assert op == {"f": "read", "value": [key, None]}
                continue
            fs[op["f"]] += 1
            values = [value] if op["f"] == "write" else value
            assert op["f"] in ("write", "cas") and all(v in range(5) for v in values)
            assert len(values) == (1 if op["f"] == "write" else 2)
    assert 1.7 < fs["cas"] / fs["write"] < 2.3


@pytest.mark.parametrize("concurrency", [3, "1n", 4, 9, "3n"])
def test_lin_kv_concurrency_must_be_a_multiple_of_twice_the_node_count(concurrency):
    with pytest.raises(ValueError, match="multiple of 6"):
        make(LinKV, concurrency=concurrency)


@pytest.mark.parametrize("concurrency", [6, 12, "2n", "4n"])
def test_lin_kv_accepts_multiples_of_twice_the_node_count(concurrency):
    make(LinKV, concurrency=concurrency)


@pytest.mark.parametrize("latency, seconds", [(None, 1.0), (0, 1.0), (100, 1.0), (250, 2.5), (1000, 10.0)])
def test_lin_kv_timeout_is_ten_latencies_and_at_least_a_second(latency, seconds):
    assert make(LinKV, concurrency="2n", latency=latency).timeout() == seconds


def test_lin_kv_requests_replies_and_completions():
    kv = make(LinKV, concurrency="2n")
    read, write, cas = {"f": "read", "value": [3, None]}, {"f": "write", "value": [3, 4]}, \
        {"f": "cas", "value": [3, [1, 2]]}
    assert kv.request(read) == {"type": "read", "key": 3}
    assert kv.request(write) == {"type": "write", "key": 3, "value": 4}
    assert kv.request(cas) == {"type": "cas", "key": 3, "from": 1, "to": 2}
    assert kv.run_op(0, 0, read, lambda body: answer(body, value=2)) == ("ok", [3, 2])
    assert kv.run_op(0, 0, write, lambda body: answer(body)) == ("ok", [3, 4])
    assert kv.run_op(0, 0, cas, lambda body: answer(body)) == ("ok", [3, [1, 2]])
    with pytest.raises(SchemaError, match="disallowed key"):
        kv.run_op(0, 0, write, lambda body: answer(body, value=4))
    with pytest.raises(SchemaError, match="missing required key value"):
        kv.run_op(0, 0, read, lambda body: answer(body))
    assert kv.reusable and kv.idempotent == {"read"}


def test_lin_kv_moves_a_group_to_a_fresh_key_past_twenty_processes():
    kv = make(LinKV, nodes=["n0"], concurrency=4)  # groups of 2: keys 0 and 1
    write = {"f": "write", "value": [0, 1]}
    kv.run_op(0, 0, write, answer)
    for process in range(100, 118):  # 2 + 18 processes: within the limit
        kv.run_op(0, process, write, answer)
    assert kv.next_op(0)["value"][0] == 0
    kv.run_op(0, 118, write, answer)  # the 21st
    assert [kv.next_op(worker)["value"][0] for worker in range(4)] == [2, 2, 1, 1]


def test_lin_kv_verdict_is_knossos_per_key_with_statistics():
    history = [{"process": 0, "type": "invoke", "f": "read", "value": [0, None]},
               {"process": 0, "type": "ok", "f": "read", "value": [0, 3]},
               {"process": 1, "type": "invoke", "f": "cas", "value": [1, [1, 2]]},
               {"process": 1, "type": "info", "f": "cas", "value": [1, [1, 2]], "error": "net-timeout"}]
    result = make(LinKV, concurrency="2n").check(history)
    assert result["valid"] is False and result["keys"] == {"valid": 1, "invalid": 1, "unknown": 0}
    assert result["why"].startswith("key 0 is not linearizable") and "process 0's read of 3" in result["why"]
    assert result["by_f"] == {"read": {"ok": 1, "fail": 0, "info": 0}, "cas": {"ok": 0, "fail": 0, "info": 1}}


# -- txn-list-append and txn-rw-register

def test_txn_lengths_span_one_to_max_txn_length():
    txns = TxnGenerator(random.Random(2), "append", max_txn_length=3)
    lengths = {len(txns.next_txn()) for _ in range(500)}
    assert lengths == {1, 2, 3}


def test_txn_values_count_up_per_key_and_a_full_key_is_retired_for_a_fresh_one():
    txns = TxnGenerator(random.Random(3), "append", key_count=4, max_writes_per_key=5)
    written, retired_at, reads = collections.defaultdict(list), {}, 0
    for index in range(2000):
        pool_before = list(txns.active_keys)
        txn = txns.next_txn()
        for f, key, value in txn:
            assert key not in retired_at, "a key retired by an earlier txn came back"
            if f == "r":
                assert value is None
                reads += 1
            else:
                assert f == "append"
                written[key].append(value)
        assert len(txns.active_keys) == len(set(txns.active_keys)) == 4
        fresh = sorted(set(txns.active_keys) - set(pool_before))
        assert fresh == list(range(max(pool_before) + 1, max(pool_before) + 1 + len(fresh)))
        for key in set(pool_before) - set(txns.active_keys):
            retired_at[key] = index
    assert all(values == list(range(1, len(values) + 1)) for values in written.values())
    assert all(len(written[key]) == 5 for key in retired_at)
    assert len(retired_at) > 10 and 0.4 < reads / (reads + sum(map(len, written.values()))) < 0.6


def test_txn_keys_later_in_the_pool_are_chosen_more_often():
    txns = TxnGenerator(random.Random(4), "w", key_count=4, max_writes_per_key=10 ** 9)
    chosen = collections.Counter(mop[1] for _ in range(4000) for mop in txns.next_txn())
    assert chosen[0] < chosen[1] < chosen[2] < chosen[3]
    assert 1.6 < chosen[3] / chosen[2] < 2.4


def test_txn_options_come_from_the_test():
    workload = make(TxnListAppend, key_count=2, max_txn_length=1, max_writes_per_key=3)
    ops = [workload.next_op(0) for _ in range(50)]
    assert all(op["f"] == "txn" and len(op["value"]) == 1 for op in ops)
    assert {mop[1] for op in ops for mop in op["value"]} >= {2}  # keys 0 and 1 filled up and retired
    assert make(TxnListAppend).txns.max_txn_length == 4


def txn_op(*mops):
    return {"f": "txn", "value": [list(mop) for mop in mops]}


def test_txn_list_append_request_reply_and_completion():
    workload = make(TxnListAppend)
    op = txn_op(["r", 1, None], ["append", 1, 6], ["append", 2, 9])
    assert workload.request(op) == {"type": "txn", "txn": op["value"]}
    done = [["r", 1, [8]], ["append", 1, 6], ["append", 2, 9]]
    assert workload.run_op(0, 0, op, lambda body: answer(body, txn=done)) == ("ok", done)
    missing = [["r", 1, None], ["append", 1, 6], ["append", 2, 9]]
    assert workload.run_op(0, 0, op, lambda body: answer(body, txn=missing))[1] == missing
    assert workload.reusable and workload.idempotent == frozenset()


@pytest.mark.parametrize("txn, problem", [
    ([["r", 1, [8]], ["append", 1, 6]], "has 2 micro-op"),
    ([["r", 1, [8]], ["append", 3, 6], ["append", 2, 9]], "micro-op 1"),
    ([["r", 1, [8]], ["append", 1, 6], ["w", 2, 9]], "micro-op 2"),
    ([["r", 1, 8], ["append", 1, 6], ["append", 2, 9]], "not array"),
    ([["r", 1], ["append", 1, 6], ["append", 2, 9]], "txn is not"),
    ({"r": 1}, "txn is not"),
])
def test_txn_list_append_reply_with_a_changed_micro_op_is_malformed(txn, problem):
    workload = make(TxnListAppend)
    op = txn_op(["r", 1, None], ["append", 1, 6], ["append", 2, 9])
    with pytest.raises(SchemaError, match=problem):
        check_reply(workload.reply_schema(op), answer({"type": "txn"}, txn=txn))


def test_txn_reply_with_an_extra_key_is_malformed():
    workload = make(TxnRWRegister)
    op = txn_op(["w", 1, 1])
    with pytest.raises(SchemaError, match="disallowed key.*extra"):
        check_reply(workload.reply_schema(op), answer({"type": "txn"}, txn=[["w", 1, 1]], extra=1))


def test_txn_rw_register_writes_w_and_reads_any_value():
    workload = make(TxnRWRegister)
    assert {mop[0] for _ in range(100) for mop in workload.next_op(0)["value"]} == {"r", "w"}
    op = txn_op(["r", 1, None], ["w", 1, 2])
    done = [["r", 1, 5], ["w", 1, 2]]
    assert workload.run_op(0, 0, op, lambda body: answer(body, txn=done)) == ("ok", done)
    with pytest.raises(SchemaError, match="micro-op 1"):
        workload.run_op(0, 0, op, lambda body: answer(body, txn=[["r", 1, 5], ["append", 1, 2]]))


@pytest.mark.parametrize("cls", [TxnListAppend, TxnRWRegister])
def test_txn_workloads_check_with_elle_under_the_models_asked_for(cls):
    write = "append" if cls is TxnListAppend else "w"
    read = [1] if cls is TxnListAppend else 1  # what a read of key 1 sees after the first write
    history = [{"process": 0, "type": "invoke", "f": "txn", "value": [["r", 1, None], [write, 1, 1]]},
               {"process": 0, "type": "ok", "f": "txn", "value": [["r", 1, None], [write, 1, 1]]},
               {"process": 1, "type": "invoke", "f": "txn", "value": [[write, 2, 1]]},
               {"process": 1, "type": "fail", "f": "txn", "value": [[write, 2, 1]], "error": [30, "conflict"]},
               {"process": 2, "type": "invoke", "f": "txn", "value": [["r", 1, None]]},
               {"process": 2, "type": "ok", "f": "txn", "value": [["r", 1, read]]}]
    result = make(cls).check(history)
    assert result["valid"] is True and result["consistency_models"] == ["strict-serializable"]
    assert result["txn_count"] == 2 and result["by_f"] == {"txn": {"ok": 2, "fail": 1, "info": 0}}
    aborted_read = history + [{"process": 3, "type": "invoke", "f": "txn", "value": [["r", 2, None]]},
                              {"process": 3, "type": "ok", "f": "txn", "value": [["r", 2, [1] if write == "append" else 1]]}]
    result = make(cls, consistency_models="read-uncommitted").check(aborted_read)
    assert result["valid"] is True  # read uncommitted allows an aborted read
    result = make(cls, consistency_models="read-committed").check(aborted_read)
    assert result["valid"] is False and result["anomaly_types"] == ["G1a"] and result["not"] == ["read-committed"]


# -- kafka

class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class FakeKafkaNode:
    """A node of append-only logs that answers at most ``per_poll`` messages a key per poll,
    and remembers every request."""

    def __init__(self, per_poll=2):
        self.logs = collections.defaultdict(list)
        self.committed = {}
        self.per_poll = per_poll
        self.requests = []

    def call(self, body):
        self.requests.append(body)
        kind = body["type"]
        if kind == "send":
            self.logs[body["key"]].append(body["msg"])
            return answer(body, offset=len(self.logs[body["key"]]) - 1)
        if kind == "poll":
            return answer(body, msgs={key: [[o, self.logs[key][o]] for o in range(start, len(self.logs[key]))
                                            ][:self.per_poll] for key, start in body["offsets"].items()
                                      if start < len(self.logs[key])})
        if kind == "commit_offsets":
            self.committed.update(body["offsets"])
            return answer(body)
        if kind == "list_committed_offsets":
            return answer(body, offsets={k: self.committed[k] for k in body["keys"] if k in self.committed})
        raise AssertionError(body)


def kafka(concurrency=2, **options):
    workload = make(Kafka, nodes=["n0", "n1"], concurrency=concurrency, **options)
    workload.clock = FakeClock()
    workload.sleep = lambda seconds: None
    return workload


def send(workload, node, key, msg, worker=0, process=0):
    return workload.run_op(worker, process, {"f": "send", "value": [["send", key, msg]]}, node.call)


def poll(workload, node, worker=0, process=0, **extra):
    return workload.run_op(worker, process, dict({"f": "poll", "value": [["poll"]]}, **extra), node.call)


def assign(workload, node, keys, worker=0, process=0, **extra):
    return workload.run_op(worker, process, dict({"f": "assign", "value": keys}, **extra), node.call)


def test_kafka_send_records_the_offset_the_node_gave():
    workload, node = kafka(), FakeKafkaNode()
    assert send(workload, node, "1", 10) == ("ok", [["send", "1", [0, 10]]])
    assert send(workload, node, "1", 11) == ("ok", [["send", "1", [1, 11]]])
    assert node.requests == [{"type": "send", "key": "1", "msg": 10}, {"type": "send", "key": "1", "msg": 11}]


def test_kafka_poll_advances_local_offsets_and_commits_the_highest_polled():
    workload, node = kafka(), FakeKafkaNode(per_poll=2)
    for msg in range(5):
        send(workload, node, "1", msg, worker=1)
    send(workload, node, "2", 7, worker=1)
    assert assign(workload, node, ["1", "2"]) == ("ok", ["1", "2"])
    assert node.requests[-1] == {"type": "list_committed_offsets", "keys": ["1", "2"]}
    del node.requests[:]
    assert poll(workload, node) == ("ok", [["poll", {"1": [[0, 0], [1, 1]], "2": [[0, 7]]}]])
    assert node.requests == [{"type": "poll", "offsets": {"1": 0, "2": 0}},
                             {"type": "commit_offsets", "offsets": {"1": 1, "2": 0}}]
    assert poll(workload, node)[1] == [["poll", {"1": [[2, 2], [3, 3]]}]]
    assert node.requests[2:] == [{"type": "poll", "offsets": {"1": 2, "2": 1}},
                                 {"type": "commit_offsets", "offsets": {"1": 3}}]
    poll(workload, node)
    del node.requests[:]
    assert poll(workload, node)[1] == [["poll", {}]]
    assert node.requests == [{"type": "poll", "offsets": {"1": 5, "2": 1}}]  # nothing polled, nothing committed


def test_kafka_assign_keeps_local_offsets_else_takes_committed_else_zero():
    workload, node = kafka(), FakeKafkaNode(per_poll=1)
    for key in "123":
        for msg in range(3):
            send(workload, node, key, msg, worker=1)
    node.committed = {"2": 1}
    assign(workload, node, ["1"])
    poll(workload, node)  # "1" polled to offset 0; the client will read from 1
    node.committed["1"] = 0
    assign(workload, node, ["1", "2", "3"])
    del node.requests[:]
    poll(workload, node)
    assert node.requests[0] == {"type": "poll", "offsets": {"1": 1, "2": 1, "3": 0}}
    assign(workload, node, ["3"], seek_to_beginning=True)
    assert node.requests[-1]["type"] == "commit_offsets"  # seeking asks the node nothing
    del node.requests[:]
    poll(workload, node)
    assert node.requests[0] == {"type": "poll", "offsets": {"3": 0}}


def test_kafka_crash_ends_info_and_the_next_process_is_a_fresh_client():
    workload, node = kafka(), FakeKafkaNode(per_poll=2)
    for msg in range(4):
        send(workload, node, "1", msg)
    assign(workload, node, ["1"])
    poll(workload, node)  # offsets 0 and 1, and 1 committed
    assert workload.run_op(0, 0, {"f": "crash", "value": None}, node.call) == ("info", None)
    del node.requests[:]
    poll(workload, node, process=7)  # the runner's new process: no keys assigned yet
    assert node.requests == [{"type": "poll", "offsets": {}}]
    assign(workload, node, ["1"], process=7)
    assert node.requests[-1] == {"type": "list_committed_offsets", "keys": ["1"]}
    assert poll(workload, node, process=7)[1] == [["poll", {"1": [[1, 1], [2, 2]]}]]
    # From the committed offset itself, as Maelstrom's client starts: that message comes again.
    assert node.requests[-2] == {"type": "poll", "offsets": {"1": 1}}


@pytest.mark.parametrize("reply, problem", [
    ({"msgs": {}, "extra": 1}, "disallowed key"),
    ({}, "missing required key msgs"),
    ({"msgs": {"1": [[0, 1, 2]]}}, "msgs is not messages_map"),
    ({"msgs": {"1": [[0.0, 1]]}}, "msgs is not messages_map"),
    ({"msgs": []}, "msgs is not messages_map"),
])
def test_kafka_poll_reply_schema_is_closed(reply, problem):
    workload = kafka()
    with pytest.raises(SchemaError, match=problem):
        workload.run_op(0, 0, {"f": "poll", "value": [["poll"]]}, lambda body: answer(body, **reply))


def test_kafka_null_message_lists_are_empty():
    workload = kafka()
    null_messages = lambda body: answer(body, msgs={"1": None})  # noqa: E731
    assert workload.run_op(0, 0, {"f": "poll", "value": [["poll"]]}, null_messages) == ("ok", [["poll", {"1": []}]])


def test_kafka_generator_crashes_clients_sends_string_keys_and_sometimes_assigns():
    workload = kafka(concurrency=4)  # a crash every 30 / 4 = 7.5 s on average
    assert workload.next_op(0) == {"f": "crash", "value": None}  # the first at once
    fs, sends = collections.Counter(), collections.defaultdict(list)
    for _ in range(6400):
        op = workload.next_op(0)
        fs[op["f"]] += 1
        if op["f"] == "send":
            _, key, msg = op["value"][0]
            assert isinstance(key, str)
            sends[key].append(msg)
        elif op["f"] == "poll":
            assert op["value"] == [["poll"]]
        elif op["f"] == "assign":
            assert len(op["value"]) == 1 and isinstance(op["value"][0], str)
    assert fs["crash"] == 0 and 60 < fs["assign"] < 150 and 0.4 < fs["send"] / (fs["send"] + fs["poll"]) < 0.6
    assert all(msgs == list(range(1, len(msgs) + 1)) and len(msgs) <= 16 for msgs in sends.values())
    workload.clock.now = 15.0  # past 2 x 7.5 s, a crash is certainly due
    assert workload.next_op(1)["f"] == "crash"
    assert workload.next_op(1)["f"] != "crash"


def test_kafka_assigns_add_keys_that_polls_lag_on():
    workload, node = kafka(), FakeKafkaNode()
    send(workload, node, "5", 1, worker=1)
    send(workload, node, "9", 1, worker=1)
    workload.next_op(0)  # the first crash
    assigns = [op["value"] for op in (workload.next_op(0) for _ in range(3000)) if op["f"] == "assign"]
    lagging = [keys for keys in assigns if len(keys) > 1]
    assert lagging and all({"5", "9"} <= set(keys) and len(keys) == len(set(keys)) for keys in lagging)
    assert 0.2 < len(lagging) / len(assigns) < 0.5
    assign(workload, node, ["5", "9"])
    poll(workload, node)  # caught up: no more lagging keys
    assert all(len(op["value"]) == 1 for op in (workload.next_op(0) for _ in range(3000)) if op["f"] == "assign")


def run_final(workload, node, worker, process):
    """Run the worker's final ops as a runner would, one after the other."""
    done = []
    for op in workload.final_ops(worker):
        assert op["final"] is True
        outcome = workload.run_op(worker, process, op, node.call)
        if outcome[0] == "info":
            process += 100
        done.append((op["f"], outcome))
    return done


def test_kafka_final_phase_crashes_assigns_every_key_from_zero_and_polls_until_caught_up():
    workload, node = kafka(), FakeKafkaNode(per_poll=2)
    for msg in range(5):
        send(workload, node, "3", msg, worker=1)
    send(workload, node, "10", 1, worker=1)
    done = run_final(workload, node, 0, 0)
    assert [f for f, _ in done] == ["crash", "assign", "poll", "poll", "poll"]
    assert done[0][1] == ("info", None)
    assert done[1][1] == ("ok", ["3", "10"])
    assert node.requests[6] == {"type": "poll", "offsets": {"3": 0, "10": 0}}
    assert done[-1][1][1] == [["poll", {"3": [[4, 4]]}]]


def test_kafka_final_phase_gives_up_after_ten_seconds():
    workload, node = kafka(), FakeKafkaNode()
    send(workload, node, "1", 1, worker=1)
    node.logs["1"].clear()  # the node lost it: the final polls never catch up

    def slow_sleep(seconds):
        workload.clock.now += 1.0
    workload.sleep = slow_sleep
    done = run_final(workload, node, 0, 0)
    assert [f for f, _ in done[:2]] == ["crash", "assign"] and len(done) == 2 + 9


def test_kafka_final_phase_is_empty_when_no_op_was_ok():
    assert list(kafka().final_ops(0)) == []


@pytest.mark.parametrize("name, verdict", [("txn-list-append", "unknown"), ("txn-rw-register", False)])
def test_a_transactional_history_with_no_transaction_never_passes(name, verdict):
    # Elle: an empty transaction graph is "unknown"; Maelstrom's txn-rw-register counts it against the node
    cls = workload_class(name)
    assert cls.name == name
    result = cls(resolve(nodes=["n0"], concurrency=2), random.Random(0)).check([])
    assert result["valid"] == verdict and result["anomaly_types"] == ["empty-transaction-graph"]


def test_kafkas_crashes_always_end_info_and_are_no_reason_for_the_stats_checker_to_fail():
    from gnode_cluster import checker
    from gnode_cluster.workload.kafka import WORKLOAD

    history = [{"process": 0, "type": "invoke", "f": "send", "value": None, "time": 0.0},
               {"process": 0, "type": "ok", "f": "send", "value": None, "time": 0.1},
               {"process": 0, "type": "invoke", "f": "crash", "value": None, "time": 0.2},
               {"process": 0, "type": "info", "f": "crash", "value": None, "time": 0.2}]
    assert checker.stats(history, exempt=WORKLOAD.stats_exempt)["valid"] is True
    assert checker.stats(history)["valid"] is False  # without the exemption the crash would fail it
