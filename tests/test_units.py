"""Pure logic, tested in-process: parsing and encoding messages, and the fixture runner's checks."""
import json
import os

import pytest

import gnode
import gnode_pytest


def parse(obj):
    """_parse_message on ``obj``'s line as the reader hands it over: str, or bytes if not UTF-8."""
    line = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return gnode._parse_message(gnode._split_lines(line + b"\n")[0], 0.0)


def test_parse_keeps_src_dest_body_and_ignores_unknown_keys():
    msg = parse({"id": 3, "src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 1, "x": [1]}, "z": 0})
    assert (msg.src, msg.dest, msg.body) == ("c1", "n1", {"type": "echo", "msg_id": 1, "x": [1]})


BAD_LINES = [  # (line, what is wrong, whether it can be answered)
    (b"", "empty line", False),
    (b"   ", "empty line", False),
    (b"\xc2\xa0", "not JSON", False),  # a no-break space: whitespace to Python, not to JSON
    (b"{nope", "not JSON", False),
    # Maelstrom would take the first message and lose the rest: a node must not guess either.
    (b'{"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 1}} {"src": "c1"}', "not JSON (Extra data", False),
    (b"\xff\xfe{}", "not UTF-8", False),
    (b"[1, 2]", "not a JSON object but an array", False),
    (b"null", "not a JSON object but missing or null", False),
    ({"dest": "n1", "body": {"type": "echo", "msg_id": 1}}, '"src" is missing', False),
    ({"src": 5, "dest": "n1", "body": {"type": "echo", "msg_id": 1}}, '"src" is a number', False),
    ({"src": "", "dest": "n1", "body": {"type": "echo", "msg_id": 1}}, '"src" is a string', False),
    ({"src": "c1", "dest": "", "body": {"type": "echo", "msg_id": 1}}, '"dest" is a string', True),
    ({"src": "c1", "dest": "n1"}, '"body" is missing', False),
    ({"src": "c1", "dest": "n1", "body": "echo"}, '"body" is a string', False),
    ({"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": "7"}}, '"msg_id" is a string', False),
    ({"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 1.0}}, '"msg_id" is a number', False),
    ({"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": True}}, '"msg_id" is a boolean', False),
    ({"src": "c1", "body": {"type": "echo", "msg_id": 1}}, '"dest" is missing', True),
    ({"src": "c1", "dest": "n1", "body": {"msg_id": 1}}, '"type" is missing', True),
    ({"src": "c1", "dest": "n1", "body": {"type": 3, "msg_id": 1}}, '"type" is a number', True),
    ({"src": "c1", "dest": "n1", "body": {"type": "x", "msg_id": 1, "in_reply_to": "1"}}, '"in_reply_to" is a string', False),
    ({"src": "c1", "body": {"type": "error", "msg_id": 1}, "dest": 3}, '"dest" is a number', False),
]


def test_a_read_is_split_into_str_lines_and_a_line_that_is_not_utf8_stays_bytes():
    assert gnode._split_lines(b'{"a": 1}\n\xc3\xa9\n\n') == ['{"a": 1}', "\u00e9", ""]
    assert gnode._split_lines(b'a\n\xff\n\xc3\xa9\n') == ["a", b"\xff", "\u00e9"]
    assert gnode._split_lines(b'a\r\nb\rc\n') == ["a\r", "b\rc"]  # a line ends at a newline only


@pytest.mark.parametrize("raw, problem, answerable", BAD_LINES)
def test_parse_says_what_is_wrong_and_whether_it_can_be_answered(raw, problem, answerable):
    with pytest.raises(gnode._BadMessage) as caught:
        parse(raw)
    assert caught.value.problem.startswith(problem), caught.value.problem
    assert (caught.value.msg_id is not None) == answerable


GOOD_LINES = [
    {"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 1, "echo": "plain"}},
    {"id": 7, "src": "c1", "dest": "n1", "body": {"type": "echo", "echo": [1, 2.5, None, True, {"k": {}}]}},
    {"src": "n2", "dest": "n1", "body": {"type": "x_ok", "in_reply_to": 3, "msg_id": 2}},
    {"src": "n2", "dest": "n1", "body": {"type": "error", "in_reply_to": 3, "code": 11, "text": "later"}},
    {"src": "n2", "dest": "n1", "body": {"type": "x_ok", "in_reply_to": None}},
    {"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 2 ** 64, "echo": -(10 ** 40)}},
    {"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 1, "echo": [2 ** 64, -(2 ** 63) - 1]}},
    b' {"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 1}}\t',
    b'{"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 1, "echo": "\\udc00"}}',
    # Deep enough for the stdlib of 3.10 and 3.11 to refuse, not orjson (1,024 levels):
    pytest.param(b'{"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 1, "echo": '
                 + b"[" * 1000 + b"]" * 1000 + b"}}", id="1000-deep"),
]


def test_loads_for_leaves_long_numbers_and_deep_lines_to_the_stdlib(monkeypatch):
    import orjson
    monkeypatch.setattr(gnode, "_orjson_loads", orjson.loads)
    pick = lambda data: gnode._loads_for(data, gnode._split_lines(data))
    assert pick(b'{"a": 123456789012345678}\n') is orjson.loads  # 18 digits: within 64 bits
    assert pick(b'{"a": 1}\n{"b": "1234567890123456789"}\n') is gnode._scan_line  # 19: maybe not
    assert pick(b'{"a": [1]}\n' * 1000) is orjson.loads  # many brackets, but short lines
    assert pick(b'{"a": ' + b"[" * 900 + b"]" * 900 + b'}\n') is gnode._scan_line
    monkeypatch.setattr(gnode, "_orjson_loads", None)  # not imported (yet), or not installed
    assert pick(b'{"a": 1}\n') is gnode._scan_line


@pytest.mark.parametrize("parser", ["stdlib", "orjson"])
@pytest.mark.parametrize("raw", [raw for raw, _, _ in BAD_LINES] + GOOD_LINES)
def test_the_quick_path_takes_exactly_the_lines_parse_takes(raw, parser, monkeypatch):
    """Node._receive reads the common line itself, with the parser _loads_for picks (both
    are tried, by setting whether orjson has been imported); any line it does not take
    whole goes to _parse_message. Either way, each line ends as _parse_message alone would
    have it."""
    import orjson
    node = gnode.Node({})
    node._held = None  # after init: the quick path's case
    refused = []
    monkeypatch.setattr(node, "_bad_input", lambda line, number, bad, received: refused.append(bad.problem))
    monkeypatch.setattr(node, "_resolve", lambda msg: node._workers.ready.append(("answer", msg)))
    monkeypatch.setattr(gnode, "_orjson_loads", orjson.loads if parser == "orjson" else None)
    data = (raw if isinstance(raw, bytes) else json.dumps(raw).encode()) + b"\n"
    node._receive(data, 0.0)
    try:
        expected = parse(raw)
    except gnode._BadMessage as bad:
        assert refused == [bad.problem] and not node._workers.ready
        return
    assert not refused
    [(_, msg)] = node._workers.ready
    assert (msg.src, msg.dest, msg.body) == (expected.src, expected.dest, expected.body)
    assert json.dumps(msg.body) == json.dumps(expected.body)  # an int stays an int


@pytest.mark.parametrize("message", [
    {"src": "n1", "dest": "c1", "body": {"type": "echo_ok", "echo": "h\u00e9 \u2603 \U0001f680", "in_reply_to": 2, "msg_id": 1}},
    {"src": "n1", "dest": "c1", "body": {"type": "x", "v": [1, 2.5, None, True, {"k": {}}], "e": 1e300, "s": "\"\\\n"}},
])
def test_encode_writes_exactly_what_json_dumps_writes(message):
    assert "".join(gnode._encode_chunks(message, 0)) == json.dumps(message)


def test_without_the_c_accelerator_the_plain_encoder_writes_the_same(monkeypatch):
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    chunks = gnode._make_chunk_encoder()
    message = {"src": "n1", "dest": "c1", "body": {"type": "x", "v": [1, 2.5, None], "s": "h\u00e9"}}
    assert "".join(chunks(message, 0)) == json.dumps(message)
    with pytest.raises(ValueError):
        chunks({"v": float("nan")}, 0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object()])
def test_encode_refuses_what_is_not_json(bad):
    with pytest.raises((ValueError, TypeError)):
        gnode._encode_chunks({"src": "n1", "dest": "c1", "body": {"type": "x", "v": bad}}, 0)


def test_rpc_error_carries_code_text_and_an_error_body():
    error = gnode.RPCError(22, "from mismatch")
    assert (error.code, error.text, error.body) == (22, "from mismatch", {"type": "error", "code": 22, "text": "from mismatch"})
    assert gnode.RPCTimeout("late").code == 0 and isinstance(gnode.RPCTimeout("late"), gnode.RPCError)


def test_strict_equal_tells_integers_from_floats_and_booleans():
    assert gnode_pytest.strict_equal({"a": [1, "x"]}, {"a": [1, "x"]})
    assert not gnode_pytest.strict_equal({"a": 1}, {"a": 1.0})
    assert not gnode_pytest.strict_equal([1], [True])
    assert not gnode_pytest.strict_equal({"a": 1}, {"a": 1, "b": 2})


@pytest.mark.parametrize("raw, problem", [
    (b'{"src": "n1", "dest": "c1", "body": {"type": "x"}}', "no newline"),
    (b"\n", "not well-formed JSON"),
    ('{"src": "n1", "dest": "c1", "body": {"type": "x"}}'.encode("utf-16") + b"\n", "not well-formed JSON"),
    (b'[1]\n', "not a JSON object"),
    (b'{"src": "n1", "dest": "c1", "body": {"type": "x"}, "to": 3}\n', "exactly src, dest and body"),
    (b'{"src": "n1", "dest": "c1", "body": {"type": "x"}, "id": "3"}\n', "id must be an integer"),
    (b'{"src": "n1", "dest": "c9", "body": {"type": "x"}}\n', "dest 'c9'"),
    (b'{"src": "n2", "dest": "c1", "body": {"type": "x"}}\n', "src 'n2'"),
    (b'{"src": "n1", "dest": "c1", "body": {"type": "x", "in_reply_to": 1.0}}\n', "in_reply_to must be an integer"),
    (b'{"src": "n1", "dest": "c1", "body": {"type": "error", "text": "?"}}\n', "integer code"),
    (b'{"src": "n1", "dest": "c1", "body": ["x"]}\n', "body must be a JSON object"),
    (b'{"src": "n1", "dest": "c1", "body": {"text": "x"}}\n', "string type"),
])
def test_maelstrom_problem_finds_what_maelstrom_would_reject(raw, problem):
    found = gnode_pytest.maelstrom_problem(raw, "n1", {"c1", "lin-kv"})
    assert found and problem in found


def test_maelstrom_problem_accepts_a_good_line():
    assert gnode_pytest.maelstrom_problem(b'{"src": "n1", "dest": "lin-kv", "body": {"type": "read", "key": 1, "msg_id": 4}}\n',
                                          "n1", {"lin-kv"}) is None
    # Maelstrom's envelope schema allows an integer id beside src, dest and body
    assert gnode_pytest.maelstrom_problem(b'{"src": "n1", "dest": "c1", "body": {"type": "x"}, "id": 3}\n',
                                          "n1", {"c1"}) is None


def test_gnode_py_agrees_with_the_protocol_module():
    """gnode.py runs as a lone file, so it keeps its own copies of the protocol's facts:
    the error codes, which are definite, the class each code raises, and the services."""
    from gnode_cluster import protocol
    assert gnode.SERVICES == protocol.SERVICES
    for code, name, definite in protocol.ERRORS:
        assert getattr(gnode, name.upper().replace("-", "_")) == code, name
        error = gnode.RPCError(code, "x")
        assert error.definite is definite is protocol.RPCError(code, "x").definite, name
        assert type(error).__name__ == protocol.ERROR_CLASSES[code].__name__, name
    assert not gnode.RPCError(1000, "mine").definite and not protocol.RPCError(1000, "mine").definite
    assert {code for code in range(2000) if gnode.RPCError(code).definite} == protocol.DEFINITE_CODES


def test_a_call_thrown_out_of_its_wait_after_its_answer_came_is_not_resumed_later():
    """The scheduler, in-process: a handler's call is answered, so its worker is queued to
    be resumed, but before its turn an exception is thrown into its wait (as a gevent.Timeout
    of the handler's own can be). The worker must drop out of the queue: resumed later, when
    it is parked for the next message, it would be parked twice and run two messages at once."""
    import gevent
    from greenlet import getcurrent

    waiting = []

    def wait(node, msg):
        waiting.append(getcurrent())
        return {"type": "wait_ok", "answer": node.sync_rpc("n2", {"type": "ping"}, timeout=30)}

    node, running, feed, drain = node_in_this_process({"wait": wait})
    os.write(feed, b'{"src": "c1", "dest": "n1", "body": {"type": "wait", "msg_id": 2}}\n')
    while not waiting:
        gevent.sleep(0.01)
    worker = waiting[0]
    # The answer, handed to the node directly so that nothing runs before the throw.
    node._receive(b'{"src": "n2", "dest": "n1", "body": {"type": "pong", "in_reply_to": 1}}\n', 0.0)
    assert list(node._workers.woken) == [worker]
    gevent.get_hub().loop.run_callback(getcurrent().switch)  # the test's turn again once the node waits
    worker.throw(ValueError("thrown into the wait"))
    assert worker not in node._workers.woken and list(node._workers._idle).count(worker) == 1
    os.close(feed)
    running.join(10)
    out = os.read(drain, 1 << 16).decode().splitlines()
    assert json.loads(out[-1])["body"]["code"] == gnode.CRASH
    os.close(drain)


def test_sync_rpc_refuses_to_wait_in_the_hub():
    # A call made from a raw loop callback has nowhere to park: it must say so, not spin.
    import gevent

    node = gnode.Node({})
    caught = []

    def in_the_hub():
        try:
            node.sync_rpc("n2", {"type": "ping"})
        except RuntimeError as e:
            caught.append(str(e))

    gevent.get_hub().loop.run_callback(in_the_hub)
    gevent.sleep(0)
    assert caught and "hub" in caught[0]


@pytest.mark.parametrize("timeout, error", [
    (float("nan"), ValueError), (float("inf"), ValueError), (0, ValueError), (-1, ValueError),
    ("1", TypeError), ([1], TypeError)])
def test_sync_rpc_refuses_a_timeout_that_is_not_a_positive_number_before_it_sends(timeout, error):
    # A NaN deadline in the loop's heap of timers would stop every later timer firing.
    node = gnode.Node({})
    with pytest.raises(error, match="a call timeout must be a (positive, finite )?number of seconds"):
        node.sync_rpc("n2", {"type": "ping"}, timeout=timeout)
    assert node._calls == {} and node._next_msg_id == 0


def test_a_parked_worker_woken_by_an_exception_is_retired_and_the_node_goes_on():
    # Nothing of gnode's throws into a parked worker; something of the user's might.
    import gevent
    from greenlet import getcurrent

    def echo(node, msg):
        return {"type": "echo_ok"}

    node, running, feed, drain = node_in_this_process({"echo": echo})
    while not node._workers._idle:
        gevent.sleep(0.01)
    parked = node._workers._idle[-1]
    gevent.get_hub().loop.run_callback(getcurrent().switch)  # the test's turn again once the worker has ended
    parked.throw(ValueError("thrown into a parked worker"))
    assert parked.dead and parked not in node._workers._idle
    os.write(feed, b'{"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 2}}\n')
    os.close(feed)
    running.join(10)
    out = [json.loads(x) for x in os.read(drain, 1 << 16).decode().splitlines()]
    assert [m["body"]["type"] for m in out] == ["init_ok", "echo_ok"]
    os.close(drain)


def test_a_failing_read_of_stdin_is_taken_for_the_end_of_input():
    import gevent

    node_in = os.open("/", os.O_RDONLY)  # reading a folder fails (EISDIR), and not with EAGAIN
    drain, node_out = os.pipe()
    os.set_blocking(node_out, False)
    node = gnode.Node({})
    running = gevent.spawn(node.run, node_in, node_out)
    running.join(5)
    assert running.dead and running.successful(), running.exception
    assert node._input_ended
    for fd in (node_in, drain, node_out):
        os.close(fd)


def node_in_this_process(handlers):
    """A Node running in a greenlet of the test's process on two pipes, sent its init:
    (node, its greenlet, the pipe to write its input to, the pipe to read its output from)."""
    import gevent

    node_in, feed = os.pipe()
    drain, node_out = os.pipe()
    for fd in (node_in, node_out, feed, drain):
        os.set_blocking(fd, False)
    node = gnode.Node(handlers)
    running = gevent.spawn(node.run, node_in, node_out)
    os.write(feed, json.dumps({"src": "c0", "dest": "n1", "body": {
        "type": "init", "msg_id": 1, "node_id": "n1", "node_ids": ["n1", "n2"]}}).encode() + b"\n")
    return node, running, feed, drain


def test_the_cluster_and_the_fixture_runner_import_neither_gnode_nor_gevent():
    """They test nodes in any language: loading them must not need the node's runtime."""
    import subprocess
    import sys
    code = ("import sys, gnode_pytest, gnode_cluster, gnode_cluster.cli, gnode_cluster.checker\n"
            "from gnode_cluster.workload import WORKLOADS, workload_class\n"
            "[workload_class(name) for name in WORKLOADS]\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('gnode', 'gevent', 'greenlet')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_gnode_exports_its_api_and_nothing_else_goes_without_an_underscore():
    import types
    defined = {name for name, value in vars(gnode).items() if not name.startswith("_")
               and not isinstance(value, types.ModuleType) and getattr(value, "__module__", "gnode") == "gnode"
               and name not in ("log", "trace_log")}  # the loggers, named for logging's sake
    assert defined == set(gnode.__all__)
    undocumented = [name for name in gnode.__all__ if callable(getattr(gnode, name)) and
                    not (getattr(gnode, name).__doc__ or "").strip()]
    assert undocumented == []
