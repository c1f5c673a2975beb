"""The node under abuse: garbage on stdin, floods, slow readers, thousands of calls in
flight. Each test drives the real node process on pipes; what it checks is what a
Maelstrom run needs: every stdout line acceptable, nothing lost, memory bounded, the
node alive afterwards."""
import json
import os
import random
import subprocess
import sys
import threading
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import GNODE, INIT, INIT_OK, ROOT, echo, line, node_env, run_node
from gnode_pytest import maelstrom_problem

MIB = 1 << 20


class Session:
    """The node on pipes, with raw stdout lines collected by a thread (optionally a slow one)."""

    def __init__(self, *args, read_delay=0.0):
        self.proc = subprocess.Popen([sys.executable, str(GNODE)] + list(args), cwd="/tmp", env=node_env(),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = []
        self.arrived = threading.Condition()
        self._read_delay = read_delay
        self._stderr = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self._stderr.append(self.proc.stderr.read()), daemon=True).start()

    def _read(self):
        partial = b""
        while True:
            chunk = self.proc.stdout.read1(1 << 16)
            if not chunk:
                break
            if self._read_delay:
                time.sleep(self._read_delay)
            pieces = (partial + chunk).split(b"\n")
            partial = pieces.pop()
            with self.arrived:
                self.lines.extend(p + b"\n" for p in pieces)
                self.arrived.notify_all()
        with self.arrived:
            if partial:
                self.lines.append(partial)  # no newline: maelstrom_problem will say so
            self.lines.append(None)
            self.arrived.notify_all()

    def write(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def wait_for(self, count, timeout=60):
        """Wait until ``count`` lines have arrived; return them parsed."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.lines) < count and None not in self.lines:
                assert self.arrived.wait(deadline - time.monotonic()), \
                    "only %d of %d lines after %ds" % (len(self.lines), count, timeout)
            assert len(self.lines) >= count, "output ended after %d of %d lines" % (len(self.lines), count)
            return [json.loads(raw) for raw in self.lines[:count]]

    def peak_rss(self):
        with open("/proc/%d/status" % self.proc.pid) as status:
            return next(int(f.split()[1]) * 1024 for f in status if f.startswith("VmHWM:"))

    def close(self):
        """Close stdin, wait for the exit, and return (status, all stdout lines, stderr)."""
        self.proc.stdin.close()
        status = self.proc.wait(30)
        with self.arrived:
            while None not in self.lines:
                self.arrived.wait(10)
        for _ in range(100):
            if self._stderr:
                break
            time.sleep(0.05)
        return status, self.lines[:-1], self._stderr[0].decode(errors="replace")


def assert_all_acceptable(lines, destinations):
    for raw in lines:
        problem = maelstrom_problem(raw, "n1", destinations)
        assert problem is None, "%s: %r" % (problem, raw[:200])


# ---------------------------------------------------------------- garbage in

def _random_json(rng, depth=0):
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 7, 2 ** 63, rng.randrange(-10 ** 6, 10 ** 6)])
    if kind == 3:
        return rng.choice([0.5, -1e300, 3.0])
    if kind == 4:
        return "".join(rng.choice("ab\u00e9\u2603\"\\/\n\t{}[]:, ") for _ in range(rng.randrange(6)))
    if kind in (5, 6):
        return {rng.choice(["src", "dest", "body", "type", "msg_id", "in_reply_to", "k"]): _random_json(rng, depth + 1)
                for _ in range(rng.randrange(4))}
    return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]


def _random_line(rng, serial):
    """A line that is garbage in one of several ways (never an init, which would rename the node)."""
    kind = rng.randrange(4)
    if kind == 0:
        return bytes(rng.choice(b"\x00\x7f\x80\xc3\xff{}[]\",:ab\r ") for _ in range(rng.randrange(60)))
    if kind == 1:
        return json.dumps(_random_json(rng)).encode()
    envelope = {"src": "c%d" % rng.randrange(5), "dest": "n1",
                "body": {"type": rng.choice(["echo", "t_%d" % serial, "error", "proxy"]), "msg_id": serial}}
    field = rng.choice([("src",), ("dest",), ("body",), ("body", "type"), ("body", "msg_id"),
                        ("body", "in_reply_to"), ("body", "echo"), ("body", "target")])
    target = envelope if len(field) == 1 else envelope["body"]
    if rng.random() < 0.3:
        target.pop(field[-1], None)
    else:
        target[field[-1]] = _random_json(rng)
    if isinstance(envelope.get("body"), dict) and envelope["body"].get("type") == "init":
        envelope["body"]["type"] = "not_init"
    return json.dumps(envelope).encode()


def _check_garbage_run(garbage_lines, valid_every):
    """Interleave garbage with valid echoes; all valid ones must be answered, all output acceptable."""
    stdin, expected, destinations = [line(INIT)], {}, {"c0", "c1", "c2", "c3", "c4", "n1", "n2"}
    for i, raw in enumerate(garbage_lines):
        stdin.append(raw.replace(b"\n", b" ") + b"\n")
        if i % valid_every == 0:
            payload = "valid %d" % i
            stdin.append(line(echo(10 ** 9 + i, payload, src="c9")))
            expected[10 ** 9 + i] = payload
    stdin.append(line(echo(2 * 10 ** 9, "last", src="c9")))
    expected[2 * 10 ** 9] = "last"
    destinations.add("c9")
    for raw in garbage_lines:
        try:
            src = json.loads(raw).get("src")
            if isinstance(src, str):
                destinations.add(src)
        except (ValueError, AttributeError, UnicodeDecodeError):
            pass
    done = run_node(b"".join(stdin), timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    out = [raw + b"\n" for raw in done.stdout.split(b"\n")[:-1]]
    assert_all_acceptable(out, destinations)
    answers = {}
    for raw in out:
        message = json.loads(raw)
        if message["dest"] == "c9":
            key = message["body"]["in_reply_to"]
            assert key not in answers, "answered twice: %s" % raw
            answers[key] = message["body"].get("echo")
    assert answers == expected
    return done


def test_a_seeded_battery_of_thousands_of_garbage_lines_never_breaks_stdout_or_the_node():
    rng = random.Random(20261124)
    garbage = [_random_line(rng, serial) for serial in range(4000)]
    done = _check_garbage_run(garbage, valid_every=10)
    assert done.stderr.count(b"ignored:") > 1000  # most of the garbage was seen and reported


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                     max_leaves=8)
_envelope = st.fixed_dictionaries({}, optional={
    "src": st.sampled_from(["c1", "n2", ""]) | _json, "dest": st.just("n1") | _json,
    "body": st.fixed_dictionaries({}, optional={
        "type": st.sampled_from(["echo", "proxy", "error", "x"]) | _json, "msg_id": st.integers(0, 50) | _json,
        "in_reply_to": st.integers(0, 5) | _json, "echo": _json, "target": _json, "inner": _json}) | _json})
_garbage_line = (st.binary(max_size=80) | _json.map(lambda v: json.dumps(v).encode())
                 | _envelope.map(lambda v: json.dumps(v).encode()))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_garbage_line, min_size=1, max_size=40))
def test_property_any_garbage_leaves_stdout_valid_and_the_node_answering(garbage):
    _check_garbage_run(garbage, valid_every=5)


def test_ten_mebibyte_lines_junk_is_reported_briefly_and_a_valid_one_is_answered():
    junk = b"{" + b"x" * (10 * MIB) + b"\n"
    big = "y" * (10 * MIB)
    done = run_node(line(INIT) + junk + line(echo(2, big)) + line(echo(3, "after")), timeout=60)
    out = [json.loads(x) for x in done.stdout.splitlines()]
    assert [m["body"].get("echo") for m in out[1:]] == [big, "after"]
    report = [x for x in done.stderr.decode().splitlines() if "ignored" in x]
    assert len(report) == 1 and "input line 2 ignored: not JSON" in report[0] and len(report[0]) < 400


# ---------------------------------------------------------------- floods

def _flood(count, read_delay=0.0, padding=0):
    """Write ``count`` echoes at once; return the node's peak RSS once all are answered."""
    session = Session(read_delay=read_delay)
    pad = "." * padding
    requests = b"".join(line(echo(i, "flood %d%s" % (i, pad))) for i in range(1, count + 1))
    writer = threading.Thread(target=session.write, args=(line(INIT) + requests,))
    writer.start()
    out = session.wait_for(count + 1, timeout=300)
    writer.join()
    peak = session.peak_rss()
    status, _, stderr = session.close()
    assert status == 0, stderr[-2000:]
    assert out[0] == INIT_OK
    assert sorted(m["body"]["in_reply_to"] for m in out[1:]) == list(range(1, count + 1))
    assert all(m["body"]["echo"] == "flood %d%s" % (m["body"]["in_reply_to"], pad) for m in out[1:])
    return peak


def test_a_flood_of_100000_requests_is_all_answered_in_memory_that_does_not_grow_with_it():
    small, large = _flood(10_000), _flood(100_000)
    # Reading is paced by the work, so ten times the input costs no more than a little memory.
    assert large - small < 16 * MIB, "peak RSS %d MiB for 10k, %d MiB for 100k" % (small // MIB, large // MIB)


def test_a_busy_node_writes_its_first_answers_while_it_works_on_the_rest(plugin_dir, tmp_path):
    # 40 echoes, then a handler that holds the node (a blocking read of a FIFO: no greenlet
    # switch, so the node cannot fall idle) until the test has seen the first 32 answers.
    # A node that wrote only once it fell idle would never show them: this would time out.
    release = tmp_path / "release"
    os.mkfifo(release)
    folder = plugin_dir({"hold.py": (
        "from gnode import handler\n"
        "@handler('hold')\n"
        "def hold(node, msg):\n"
        "    with open(msg.body['fifo']) as fifo:\n"
        "        fifo.read()\n"
        "    return {'type': 'hold_ok'}\n")})
    session = Session("--handlers", str(ROOT / "handlers"), "--handlers", str(folder))
    hold = {"src": "c2", "dest": "n1", "body": {"type": "hold", "msg_id": 1, "fifo": str(release)}}
    session.write(line(INIT) + b"".join(line(echo(k, k)) for k in range(1, 41)) + line(hold))
    try:
        early = session.wait_for(1 + 31, timeout=20)
    finally:
        with open(release, "w") as fifo:
            fifo.write("go")
    assert early[0] == INIT_OK and [m["body"]["echo"] for m in early[1:]] == list(range(1, 32))
    out = session.wait_for(1 + 40 + 1)
    assert out[-1]["body"] == {"type": "hold_ok", "in_reply_to": 1, "msg_id": 41}
    status, _, stderr = session.close()
    assert status == 0, stderr[-2000:]


def test_a_slow_reader_of_stdout_loses_nothing_and_the_node_stops_reading_instead_of_buffering():
    # 30 MB of answers; the slow reader takes 64 KiB every 5 ms, a fraction of the node's pace.
    # Had the node kept reading, the answers waiting for the reader would all be in its memory.
    idle, slow = _flood(1_000), _flood(30_000, read_delay=0.005, padding=1000)
    assert slow - idle < 16 * MIB, "peak RSS %d MiB after 1,000 short echoes, %d MiB with a slow reader" % (idle // MIB, slow // MIB)


# ---------------------------------------------------------------- many calls in flight

def _proxy(msg_id, payload, target="n2"):
    return {"src": "c1", "dest": "n1", "body": {"type": "proxy", "msg_id": msg_id, "target": target,
                                                "inner": {"type": "echo", "echo": payload}}}


def test_10000_calls_that_never_get_an_answer_each_time_out_with_code_0():
    count = 10_000
    session = Session("--rpc-timeout", "1")
    session.write(line(INIT) + b"".join(line(_proxy(i, i)) for i in range(1, count + 1)))
    out = session.wait_for(1 + 2 * count, timeout=120)
    forwarded = [m for m in out if m["dest"] == "n2"]
    errors = [m["body"] for m in out if m["dest"] == "c1"]
    assert len(forwarded) == count
    assert sorted(e["in_reply_to"] for e in errors) == list(range(1, count + 1))
    assert all(e["type"] == "error" and e["code"] == 0 for e in errors)
    session.write(line(echo(1, "alive", src="c2")))
    assert session.wait_for(2 + 2 * count)[-1]["body"]["echo"] == "alive"
    status, lines, stderr = session.close()
    assert status == 0 and len(lines) == 2 + 2 * count, stderr[-2000:]


def test_10000_calls_answered_in_random_order_each_reach_their_own_caller():
    count = 10_000
    session = Session("--rpc-timeout", "60")
    session.write(line(INIT) + b"".join(line(_proxy(i, "payload %d" % i)) for i in range(1, count + 1)))
    forwarded = session.wait_for(1 + count, timeout=120)[1:]
    assert all(m["dest"] == "n2" for m in forwarded)
    random.Random(7).shuffle(forwarded)
    session.write(b"".join(line({"src": "n2", "dest": "n1", "body": {
        "type": "echo_ok", "echo": m["body"]["echo"], "in_reply_to": m["body"]["msg_id"]}}) for m in forwarded))
    answers = session.wait_for(1 + 2 * count, timeout=120)[1 + count:]
    assert sorted(a["body"]["in_reply_to"] for a in answers) == list(range(1, count + 1))
    for answer in answers:
        assert answer["body"]["type"] == "proxy_ok"
        assert answer["body"]["result"]["echo"] == "payload %d" % answer["body"]["in_reply_to"]
    status, _, stderr = session.close()
    assert status == 0, stderr[-2000:]


def test_after_10000_timeouts_the_pending_call_table_is_empty_and_memory_is_given_back():
    """In-process, to see the node's own table and every byte Python allocates (tracemalloc)."""
    import gc
    import tracemalloc

    import gevent

    import gnode

    def proxy(node, msg):
        return {"type": "proxy_ok", "result": node.sync_rpc(msg.body["target"], msg.body["inner"])}

    count = 10_000
    node_in, feed = os.pipe()
    drain, node_out = os.pipe()
    for fd in (node_in, node_out):
        os.set_blocking(fd, False)
    # 2 s: every call of a round is still pending when the last is made, however slow the machine.
    node = gnode.Node({"proxy": proxy}, rpc_timeout=2)
    memory = {}

    def send(to_node, data):
        to_node.write(data)
        to_node.flush()

    def settled_memory():
        """Traced memory once the retirer has ended the round's extra workers and collecting
        garbage frees nothing more: a baseline that no longer moves."""
        deadline = time.monotonic() + 30
        while len(node._workers._idle) > gnode._MAX_IDLE_WORKERS:
            assert time.monotonic() < deadline, "%d idle workers after 30 s" % len(node._workers._idle)
            time.sleep(0.05)
        gc.collect()
        current = tracemalloc.get_traced_memory()[0]
        while True:
            time.sleep(0.05)
            gc.collect()
            previous, current = current, tracemalloc.get_traced_memory()[0]
            if abs(current - previous) < 64 * 1024:
                return current

    def play():
        """Maelstrom's side, in a thread: two rounds of 10,000 unanswered proxies."""
        with os.fdopen(feed, "wb") as to_node, os.fdopen(drain, "rb") as from_node:
            to_node.write(line(INIT))
            to_node.flush()
            from_node.readline()
            for round_ in ("warm-up", "measured"):
                if round_ == "measured":
                    memory["before"] = settled_memory()
                    tracemalloc.reset_peak()
                # Written by a thread of its own while this one reads, as Maelstrom does: the
                # node stops reading stdin while nobody reads what it writes.
                sender = threading.Thread(target=send, args=(to_node, b"".join(line(_proxy(i, i)) for i in range(1, count + 1))))
                sender.start()
                codes = [json.loads(from_node.readline())["body"].get("code") for _ in range(2 * count)]
                sender.join()
                assert codes.count(0) == count
            memory["peak"] = tracemalloc.get_traced_memory()[1]
            memory["after"] = settled_memory()

    tracemalloc.start()
    try:
        player = threading.Thread(target=play)
        player.start()
        gevent.spawn(node.run, node_in, node_out).join()
        player.join()
    finally:
        tracemalloc.stop()
        os.close(node_in)
        os.close(node_out)
    assert node._calls == {} and node._busy == 0
    assert len(node._workers._idle) <= gnode._MAX_IDLE_WORKERS
    held = memory["peak"] - memory["before"]
    kept = memory["after"] - memory["before"]
    assert held > count * 1024, "10,000 pending calls should have held some memory"
    assert kept < held / 50, "kept %d of the %d bytes that 10,000 pending calls held" % (kept, held)


def test_an_answer_that_came_in_time_is_kept_even_when_its_timer_fires_before_the_caller_wakes():
    # 300 calls with a 2 s timeout, answered in one write 0.5 s after they went out, well
    # before their deadlines. Each caller then works 10 ms and yields, so the hub runs the
    # timers between callers: the last callers wake at least 0.5 + 3 s after their call,
    # past their deadline, and their timers fire while their answers wait for them.
    count = 300
    session = Session("--handlers", str(ROOT / "tests" / "handlers"))
    session.write(line(INIT) + b"".join(line({"src": "n2", "dest": "n1", "body": {
        "type": "call_and_work", "msg_id": 100 + k, "target": "n2", "k": k, "timeout": 2, "work": 0.01}})
        for k in range(count)))
    forwards = session.wait_for(1 + count)[1:]
    time.sleep(0.5)
    session.write(b"".join(line({"src": "n2", "dest": "n1", "body": {
        "type": "ping_ok", "k": f["body"]["k"], "in_reply_to": f["body"]["msg_id"]}}) for f in forwards))
    answers = [a["body"] for a in session.wait_for(1 + 2 * count)[1 + count:]]
    timed_out = [a for a in answers if a["type"] != "call_and_work_ok"]
    assert not timed_out, "%d of %d answered calls timed out: %s" % (len(timed_out), count, timed_out[:3])
    assert sorted(a["k"] for a in answers) == list(range(count))
    status, _, stderr = session.close()
    assert status == 0, stderr[-2000:]
