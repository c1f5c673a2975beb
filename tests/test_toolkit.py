"""The toolkit through the real node process: calls in flight, gnode.wait, callbacks,
@every, node.spawn, the service clients, typed errors and node.stats(). Each test loads
plugins from a temporary folder and plays the peers and services itself."""
import json
import random
import re

import pytest

import gnode
from helpers import LiveNode

TOOLKIT = r'''
import gevent
import gnode
from gnode import handler


@handler("echo")
def echo(node, msg):
    return {"type": "echo_ok", "echo": msg.body["echo"]}


@handler("majority_write")
def majority_write(node, msg):
    peers = [peer for peer in node.node_ids if peer != node.id]
    calls = [node.rpc(peer, {"type": "store", "value": msg.body["value"]}, timeout=10) for peer in peers]
    acked = gnode.wait(iter(calls), count=len(node.node_ids) // 2, timeout=10)  # any iterable; with this node: a majority
    return {"type": "majority_write_ok", "acked": [call.dest for call in acked]}


@handler("call_back")
def call_back(node, msg):
    def after(call):
        node.send("n2", {"type": "callback_ran", "answer": call.get()["type"]})
        raise ValueError("the callback fails after its send")
    node.rpc("n2", {"type": "ping"}, callback=after)
    return {"type": "call_back_ok"}


@handler("timed_out_callback")
def timed_out_callback(node, msg):
    def after(call):
        try:
            call.get()
        except gnode.RPCTimeout as e:
            node.send("n2", {"type": "callback_saw", "error": type(e).__name__, "ready": call.ready()})
    node.rpc("n2", {"type": "ping"}, timeout=0.1, callback=after)
    return {"type": "timed_out_callback_ok"}


@handler("impatient")
def impatient(node, msg):
    call = node.rpc("n2", {"type": "slow"}, timeout=10)
    try:
        call.get(timeout=0.1)
    except gnode.RPCTimeout as e:
        gave_up = str(e)
    return {"type": "impatient_ok", "gave_up": gave_up, "then": call.get()["type"], "call_id": call.msg_id}


@handler("call")
def call(node, msg):
    return {"type": "call_ok", "answer": node.sync_rpc("n2", {"type": "slow"})["type"]}


@handler("fire")
def fire(node, msg):
    for _ in range(msg.body["count"]):
        node.rpc("n2", {"type": "ignored"}, timeout=0.2)
    return {"type": "fire_ok"}


@handler("table")
def table(node, msg):
    return {"type": "table_ok", "pending": len(node._calls), "calls": node.stats()["calls"]}


@handler("classify")
def classify(node, msg):
    try:
        node.sync_rpc("n2", {"type": "fail"})
    except gnode.PreconditionFailed as e:
        caught = "except PreconditionFailed"
        error = e
    except gnode.RPCError as e:
        caught = "except RPCError"
        error = e
    return {"type": "classify_ok", "class": type(error).__name__, "caught": caught, "code": error.code,
            "definite": error.definite, "answered": error.answered}


@handler("raise_code")
def raise_code(node, msg):
    raise getattr(gnode, msg.body["class"])("raised as %s" % msg.body["class"])


@handler("raise_plain")
def raise_plain(node, msg):
    raise gnode.RPCError(msg.body["code"], "raised as a plain RPCError")


@handler("refused")
def refused(node, msg):
    try:
        node.sync_rpc("n9", {"type": "ping"})
    except gnode.NodeNotFound as e:
        return {"type": "refused_ok", "answered": e.answered, "definite": e.definite, "pending": len(node._calls)}


@handler("bounded")
def bounded(node, msg):
    try:
        with gevent.Timeout(0.05):
            node.sync_rpc("n2", {"type": "slow"}, timeout=10)
    except gevent.Timeout:
        return {"type": "bounded_ok", "calls": node.stats()["calls"], "pending": len(node._calls)}


@handler("spawn_get")
def spawn_get(node, msg):
    def fails():
        raise KeyError("raised in the spawned greenlet")
    try:
        node.spawn(fails).get()
    except KeyError as e:
        raised = repr(e)
    node.spawn(_never_collected)
    return {"type": "spawn_get_ok", "raised": raised, "value": node.spawn(lambda x: x * 2, 21).get()}


def _never_collected():
    raise LookupError("nobody collects this")


@handler("add")
def add(node, msg):
    return {"type": "add_ok", "value": node.seq_kv.update("counter", lambda value: value + msg.body["delta"], default=0)}


@handler("kv_tour")
def kv_tour(node, msg):
    kv = gnode.KV(node, msg.body["service"])
    missing = kv.read("k", default="none")
    kv.write("k", 1)
    try:
        kv.cas("k", 5, 6)
    except gnode.PreconditionFailed:
        refused = True
    kv.cas("new", 0, 1, create_if_not_exists=True)
    return {"type": "kv_tour_ok", "missing": missing, "refused": refused, "read": kv.read("k"),
            "ts": node.lin_tso.ts()}
'''
EVERY = r'''
import gevent
from gnode import every

runs = []


@every(0.05)
def tick(node):
    runs.append(1)
    node.send("n2", {"type": "tick", "run": len(runs)})
    if len(runs) == 1:
        raise RuntimeError("the first tick fails")


@every(0.02)
def slow(node):
    node.send("n3", {"type": "slow_start"})
    gevent.sleep(0.1)  # five periods: the next run must wait for this one
    node.send("n3", {"type": "slow_end"})
'''
NODES5 = ("n1", "n2", "n3", "n4", "n5")


@pytest.fixture
def toolkit(plugin_dir):
    return str(plugin_dir({"toolkit.py": TOOLKIT}))


def request(body, msg_id=2, src="c1"):
    return {"src": src, "dest": "n1", "body": {**body, "msg_id": msg_id}}


def answer(to, body, src="n2"):
    """The answer to what the node sent, ``to``, from the peer or service it was sent to."""
    return {"src": src, "dest": "n1", "body": {**body, "in_reply_to": to["body"]["msg_id"]}}


def test_a_majority_write_completes_while_one_peer_stays_silent(toolkit):
    node = LiveNode("--handlers", toolkit, node_ids=NODES5)
    node.send(request({"type": "majority_write", "value": 7}))
    stores = {sent["dest"]: sent for sent in node.receive_all(4)}
    assert sorted(stores) == ["n2", "n3", "n4", "n5"]
    node.send(answer(stores["n3"], {"type": "store_ok"}, src="n3"))
    node.quiet(0.2)  # one ack of the two it needs
    node.send(answer(stores["n5"], {"type": "store_ok"}, src="n5"))
    assert node.receive()["body"] == {"type": "majority_write_ok", "acked": ["n3", "n5"], "in_reply_to": 2,
                                      "msg_id": 5}
    assert node.finish() == 0  # n2 and n4 never answered


def test_a_callback_runs_once_its_call_settles_and_one_that_raises_leaves_the_node_running(toolkit):
    node = LiveNode("--handlers", toolkit)
    node.send(request({"type": "call_back"}))
    ping, ok = node.receive_all(2)
    assert ping["body"]["type"] == "ping" and ok["body"]["type"] == "call_back_ok"
    node.send(answer(ping, {"type": "pong"}))
    assert node.receive()["body"] == {"type": "callback_ran", "answer": "pong", "msg_id": 3}
    node.send(request({"type": "echo", "echo": "still here"}, msg_id=3))
    assert node.receive()["body"]["echo"] == "still here"
    assert node.finish() == 0
    assert re.search(r"background greenlet call_back\.<locals>\.after at .*toolkit\.py:\d+ failed", node.stderr())
    assert "ValueError: the callback fails after its send" in node.stderr()


def test_a_callback_also_runs_for_a_call_that_timed_out(toolkit):
    node = LiveNode("--handlers", toolkit)
    node.send(request({"type": "timed_out_callback"}))
    node.receive_all(2)
    assert node.receive()["body"] == {"type": "callback_saw", "error": "RPCTimeout", "ready": True, "msg_id": 3}
    assert node.finish() == 0


def test_a_timeout_given_to_get_bounds_the_wait_only_and_the_call_goes_on(toolkit):
    node = LiveNode("--handlers", toolkit)
    node.send(request({"type": "impatient"}))
    slow = node.receive()
    node.quiet(0.4)  # gave up once, now waiting again on the same call
    node.send(answer(slow, {"type": "slow_ok"}))
    body = node.receive()["body"]
    assert body["then"] == "slow_ok" and body["call_id"] == 1
    assert body["gave_up"] == "error 0: gave up after 0.1s waiting for the answer from n2 to msg_id 1; the call goes on"
    assert node.finish() == 0


def test_ten_thousand_calls_nobody_waits_for_time_out_and_leave_the_table_of_calls_empty(toolkit):
    node = LiveNode("--handlers", toolkit)
    node.send(request({"type": "fire", "count": 10_000}))
    sent = node.receive_all(10_001)
    assert sent[-1]["body"]["type"] == "fire_ok"
    node.quiet(1.0)  # their 0.2 s timeouts pass
    node.send(request({"type": "table"}, msg_id=3))
    body = node.receive()["body"]
    assert body["pending"] == 0
    assert body["calls"]["made"] == 10_000 and body["calls"]["timed_out"] == 10_000
    assert node.finish() == 0


CODES = [(0, "RPCTimeout", False), (1, "NodeNotFound", True), (10, "NotSupported", True),
         (11, "TemporarilyUnavailable", True), (12, "MalformedRequest", True), (13, "Crash", False),
         (14, "Abort", True), (20, "KeyDoesNotExist", True), (21, "KeyAlreadyExists", True),
         (22, "PreconditionFailed", True), (30, "TxnConflict", True)]


def test_every_code_round_trips_as_its_class_both_ways(toolkit):
    node = LiveNode("--handlers", toolkit)
    msg_id = 2
    for code, name, definite in CODES + [(1005, "RPCError", False), (99, "RPCError", False)]:
        # An error answer to a call raises the class of its code ...
        node.send(request({"type": "classify"}, msg_id=msg_id))
        call = node.receive()
        node.send(answer(call, {"type": "error", "code": code, "text": "from n2"}))
        assert node.receive()["body"] == {
            "type": "classify_ok", "class": name, "code": code, "definite": definite, "answered": True,
            "caught": "except PreconditionFailed" if code == 22 else "except RPCError",
            "in_reply_to": msg_id, "msg_id": call["body"]["msg_id"] + 1}, code
        msg_id += 1
        if name == "RPCError":
            continue
        # ... and a handler raising that class, or RPCError(code, ...), answers with its code.
        for body, text in (({"type": "raise_code", "class": name}, "raised as " + name),
                           ({"type": "raise_plain", "code": code}, "raised as a plain RPCError")):
            node.send(request(body, msg_id=msg_id))
            error = node.receive()["body"]
            assert (error["type"], error["code"], error["text"]) == ("error", code, text)
            msg_id += 1
    assert node.finish() == 0


def test_a_call_refused_before_sending_is_told_from_an_error_answer(toolkit):
    node = LiveNode("--handlers", toolkit)
    node.send(request({"type": "refused"}))
    assert node.receive()["body"] == {"type": "refused_ok", "answered": False, "definite": True, "pending": 0,
                                      "in_reply_to": 2, "msg_id": 1}
    assert node.finish() == 0


def test_spawn_returns_a_greenlet_whose_get_returns_or_reraises_and_an_uncollected_failure_is_logged_once(toolkit):
    node = LiveNode("--handlers", toolkit)
    node.send(request({"type": "spawn_get"}))
    assert node.receive()["body"] == {"type": "spawn_get_ok", "raised": "KeyError('raised in the spawned greenlet')",
                                      "value": 42, "in_reply_to": 2, "msg_id": 1}
    assert node.finish() == 0
    err = node.stderr()
    assert len(re.findall(r"background greenlet _never_collected at .*toolkit\.py:\d+ failed", err)) == 1, err
    assert err.count("LookupError: nobody collects this") == 1


def test_update_retries_under_a_concurrent_writer_until_it_wins(toolkit):
    node = LiveNode("--handlers", toolkit)
    node.send(request({"type": "add", "delta": 3}))
    read = node.receive()
    assert (read["dest"], read["body"]) == ("seq-kv", {"type": "read", "key": "counter", "msg_id": 1})
    node.send(answer(read, {"type": "read_ok", "value": 5}, src="seq-kv"))
    cas = node.receive()
    assert cas["body"] == {"type": "cas", "key": "counter", "from": 5, "to": 8, "msg_id": 2}
    # Another writer made it 6 in between: the cas fails, and update starts again from a read.
    node.send(answer(cas, {"type": "error", "code": 22, "text": "current value 6 is not 5"}, src="seq-kv"))
    read = node.receive()
    assert read["body"] == {"type": "read", "key": "counter", "msg_id": 3}
    node.send(answer(read, {"type": "error", "code": 20, "text": "stale: no key yet"}, src="seq-kv"))
    cas = node.receive()  # missing when read: the default is used, and the key created
    assert cas["body"] == {"type": "cas", "key": "counter", "from": 0, "to": 3, "create_if_not_exists": True,
                           "msg_id": 4}
    node.send(answer(cas, {"type": "error", "code": 22, "text": "current value 6 is not 0"}, src="seq-kv"))
    read = node.receive()
    node.send(answer(read, {"type": "read_ok", "value": 6}, src="seq-kv"))
    cas = node.receive()
    assert cas["body"] == {"type": "cas", "key": "counter", "from": 6, "to": 9, "msg_id": 6}
    node.send(answer(cas, {"type": "cas_ok"}, src="seq-kv"))
    assert node.receive()["body"] == {"type": "add_ok", "value": 9, "in_reply_to": 2, "msg_id": 7}
    assert node.finish() == 0


def test_the_kv_and_tso_clients_speak_maelstroms_protocol_to_any_service(toolkit):
    node = LiveNode("--handlers", toolkit)
    node.send(request({"type": "kv_tour", "service": "lww-kv"}))
    script = [({"type": "read", "key": "k"}, {"type": "error", "code": 20, "text": "key does not exist"}),
              ({"type": "write", "key": "k", "value": 1}, {"type": "write_ok"}),
              ({"type": "cas", "key": "k", "from": 5, "to": 6}, {"type": "error", "code": 22, "text": "not 5"}),
              ({"type": "cas", "key": "new", "from": 0, "to": 1, "create_if_not_exists": True}, {"type": "cas_ok"}),
              ({"type": "read", "key": "k"}, {"type": "read_ok", "value": 1})]
    for expected, reply in script:
        sent = node.receive()
        assert sent["dest"] == "lww-kv" and sent["body"] == {**expected, "msg_id": sent["body"]["msg_id"]}
        node.send(answer(sent, reply, src="lww-kv"))
    ts = node.receive()
    assert (ts["dest"], ts["body"]["type"]) == ("lin-tso", "ts")
    node.send(answer(ts, {"type": "ts_ok", "ts": 41}, src="lin-tso"))
    assert node.receive()["body"] == {"type": "kv_tour_ok", "missing": "none", "refused": True, "read": 1, "ts": 41,
                                      "in_reply_to": 2, "msg_id": 7}
    assert node.finish() == 0


def test_a_periodic_task_runs_after_init_again_after_it_raises_never_overlaps_and_stops_at_end_of_input(plugin_dir):
    node = LiveNode("--handlers", str(plugin_dir({"every.py": EVERY})))  # init_ok came first: checked there
    ticks, slow = [], []
    while len(ticks) < 3 or len(slow) < 6:
        sent = node.receive()
        (ticks if sent["dest"] == "n2" else slow).append(sent["body"]["type"] if sent["dest"] == "n3" else
                                                          sent["body"]["run"])
    assert ticks[:3] == [1, 2, 3]
    assert slow[:6] == ["slow_start", "slow_end"] * 3
    assert node.finish() == 0
    assert re.search(r"periodic task .*every\.py:\d+ failed", node.stderr())
    assert node.stderr().count("RuntimeError: the first tick fails") == 1


def test_every_refuses_a_period_or_a_jitter_out_of_range(plugin_dir):
    for decorator, complaint in (("every(0)", "ValueError: a @every timeout must be a positive"),
                                 ("every(1, jitter=1.5)", "ValueError: @every's jitter is a fraction from 0 to 1")):
        folder = plugin_dir({"bad.py": "from gnode import every\n@%s\ndef f(node):\n    pass\n" % decorator})
        node_done = __import__("helpers").run_node(b"", "--handlers", str(folder))
        assert node_done.returncode == 1 and complaint in node_done.stderr.decode(), node_done.stderr.decode()


def test_jitter_spreads_each_interval_over_the_period_plus_or_minus_the_fraction():
    rng = random.Random(7)
    intervals = [gnode._interval(2.0, 0.25, rng) for _ in range(2000)]
    assert 1.5 <= min(intervals) < 1.55 and 2.45 < max(intervals) <= 2.5
    assert abs(sum(intervals) / len(intervals) - 2.0) < 0.02
    assert {gnode._interval(2.0, 0.0, rng) for _ in range(10)} == {2.0}


def test_stats_count_messages_calls_and_handler_errors_and_stats_every_logs_them(toolkit):
    node = LiveNode("--handlers", toolkit, "--stats-every", "0.1")
    node.send(request({"type": "classify"}))
    call = node.receive()
    node.send(answer(call, {"type": "error", "code": 22, "text": "no"}))
    node.receive()
    node.send(request({"type": "call"}, msg_id=3))
    slow = node.receive()
    node.send(answer(slow, {"type": "slow_ok"}))
    node.receive()
    node.send(request({"type": "nonexistent"}, msg_id=4))
    node.receive()
    node.send(request({"type": "table"}, msg_id=5))
    calls = node.receive()["body"]["calls"]
    assert {k: v for k, v in calls.items() if k != "latency_ms"} == {"made": 2, "answered": 1, "errored": 1,
                                                                      "timed_out": 0}
    assert calls["latency_ms"]["p50"] > 0
    node.quiet(0.3)
    assert node.finish() == 0
    assert re.search(r"stats: in 7 \(call 1, classify 1, error 1, init 1, nonexistent 1, slow_ok 1, table 1\); "
                     r"out 7 \(call_ok 1, classify_ok 1, error 1, fail 1, init_ok 1, slow 1, table_ok 1\); calls 2 made, "
                     r"1 answered, 1 errored, 0 timed out, p50 [\d.]+ ms, p99 [\d.]+ ms; handler errors 0$",
                     node.stderr(), re.M), node.stderr()


def test_handler_errors_are_counted_in_stats(plugin_dir):
    folder = plugin_dir({"crash.py": "from gnode import handler\n@handler('crash')\ndef crash(node, msg):\n"
                                     "    raise ValueError('boom')\n@handler('stats')\ndef stats(node, msg):\n"
                                     "    return {'type': 'stats_ok', **node.stats()}\n"})
    node = LiveNode("--handlers", folder)
    node.send(request({"type": "crash"}))
    assert node.receive()["body"]["code"] == 13
    node.send(request({"type": "stats"}, msg_id=3))
    body = node.receive()["body"]
    assert body["handler_errors"] == 1 and body["received"] == {"init": 1, "crash": 1, "stats": 1}
    assert body["sent"] == {"init_ok": 1, "error": 1}
    assert node.finish() == 0
    json.dumps(body)  # JSON all through: it was sent


def test_a_sync_rpc_thrown_out_of_its_wait_ends_its_call_and_counts_as_no_answer(toolkit):
    node = LiveNode("--handlers", toolkit)
    node.send(request({"type": "bounded"}))
    assert node.receive()["body"]["type"] == "slow"
    body = node.receive()["body"]
    assert body["pending"] == 0
    assert {k: v for k, v in body["calls"].items() if k != "latency_ms"} == {
        "made": 1, "answered": 0, "errored": 0, "timed_out": 0}
    assert node.finish() == 0


def test_gnode_stats_every_in_the_environment_logs_the_stats(toolkit):
    node = LiveNode("--handlers", toolkit, env={"GNODE_STATS_EVERY": "0.1"})
    node.quiet(0.3)
    assert node.finish() == 0
    assert "stats: in 1 (init 1); out 1 (init_ok 1); calls 0 made" in node.stderr()


def test_stats_percentiles_are_taken_from_the_latencies_kept():
    stats = gnode._Stats()
    stats.latencies.extend(i / 1000 for i in range(1, 101))  # 1 to 100 ms
    latency = stats.report(settled=100, in_flight=0)["calls"]["latency_ms"]
    assert latency == {"p50": 51.0, "p99": 100.0}
    assert gnode._Stats().report(settled=0, in_flight=0)["calls"]["latency_ms"] == {"p50": None, "p99": None}
