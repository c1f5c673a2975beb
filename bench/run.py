#!/usr/bin/env python3
"""gnode's benchmark suite: one command, every figure, gnode beside three bare echo nodes.

    python3 bench/run.py                # the full run: 3 interleaved rounds, medians
    python3 bench/run.py --quick        # smoke run, well under a minute
    python3 bench/run.py --only proxy --rounds 5 --json /tmp/proxy.json
    python3 bench/run.py --node "/path/to/other-node --flag"   # compare another implementation
    python3 bench/run.py --only echo-open,echo-closed,startup --peers ~/.cache/gnode-peers
                                        # beside Maelstrom's demo echo nodes (bench/peers.py prepare)

The node is started the way Maelstrom starts it: the executable run directly (no shell),
cwd=/tmp, stdin/stdout/stderr pipes. The bench plays Maelstrom's clients (c1, c9, ...)
and, in the proxy scenarios, the peer node n2. Three yardsticks run beside the node in the
echo and proxy scenarios: bench/baseline_echo.py (blocking CPython), bench/fast_baseline_echo.py
(the same loop calling the stdlib's C JSON scanner and encoder directly: the fastest plain
CPython loop) and bench/gevent_floor_echo.py (the least a gevent node can do). Other echo
nodes (``--peer``, ``--peers``: Maelstrom's demos) can run beside them in the echo and
start-up scenarios. See bench/README.md for what each figure means.

Scenarios (``--only`` takes any of these, comma-separated):
  echo-open    N echo requests written as fast as the pipe takes them, replies read concurrently
  echo-closed  closed loop with 1 and with 64 requests outstanding
  proxy        proxy round trips (the bench answers as n2), 64 outstanding
  pending      10,000 proxies whose target never answers: timeout lateness, memory per call
  startup      Popen -> init_ok, median of several starts
  exit         SIGTERM, SIGINT, stdin EOF -> the process has exited, over several starts
"""
import argparse
import collections
import contextlib
import datetime
import gc
import hashlib
import json
import math
import operator
import os
import platform
import re
import select
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_NODE = os.path.join(REPO, "gnode.py")

SCENARIOS = ("echo-open", "echo-closed", "proxy", "pending", "startup", "exit")
# The implementations, in the order they run within a round; the yardsticks only echo.
YARDSTICKS = [
    {"key": "baseline", "label": "baseline", "argv": [os.path.join(HERE, "baseline_echo.py")],
     "scenarios": ("echo-open", "echo-closed", "proxy", "startup")},
    {"key": "fast", "label": "fast baseline", "argv": [os.path.join(HERE, "fast_baseline_echo.py")],
     "scenarios": ("echo-open", "echo-closed", "proxy", "startup")},
    {"key": "floor", "label": "gevent floor", "argv": [os.path.join(HERE, "gevent_floor_echo.py")],
     "scenarios": ("echo-open", "echo-closed", "proxy")},
]
# Other echo nodes (--peer, --peers) answer init and echo only: they run in these.
PEER_SCENARIOS = ("echo-open", "echo-closed", "startup")
# Sizes: (full run, --quick).
SIZES = {"rounds": (3, 1), "open_n": (50000, 5000), "closed_n": (20000, 2000), "proxy_n": (20000, 3000),
         "pending_n": (10000, 2000), "starts": (7, 3), "warm": (300, 100)}

NODE = "n1"
PEER = "n2"
INIT_LINE = (b'{"id":0,"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,'
             b'"node_id":"n1","node_ids":["n1","n2"]}}\n')
ENVELOPE_KEYS = {"src", "dest", "body"}  # and optionally an integer "id", as Maelstrom's schema allows
ECHO_OK_KEYS = {"type", "echo", "in_reply_to", "msg_id"}  # Maelstrom's closed echo_ok schema
PROXY_OK_KEYS = {"type", "result", "in_reply_to", "msg_id"}
FORWARD_KEYS = {"type", "echo", "msg_id"}

READ_SIZE = 1 << 20  # a pipe never holds more than this; one read takes all there is
OPEN_CHUNK = 4096  # bytes per write in the open loop: one page, ~40 requests share a timestamp
OPEN_GATHER_BYTES = 16384  # open-loop reader: a read smaller than this is followed by ...
OPEN_GATHER_SLEEP = 0.0002  # ... this pause (s), so replies are read many at a time
STARTUP_LIMIT = 10.0  # Maelstrom's own init deadline
EXIT_LIMIT = 10.0  # a node not gone this long after a signal or stdin's end has hung
PY_SPY_RATE = 500  # samples per second

now = time.perf_counter_ns


class BenchFailure(Exception):
    """The node misbehaved (wrong, missing or duplicate replies, hung, crashed): the run fails."""


def deadline(n, us_per_item):
    """Generous bound for a timed block: 20 s plus ``us_per_item`` µs per request."""
    return 20.0 + n * us_per_item / 1e6


# ---------------------------------------------------------------- the node process

class BenchNode:
    """One node process, started as Maelstrom starts it, with raw access to its pipes."""

    def __init__(self, argv, label):
        self.label = label
        self.t_spawn = now()
        self.proc = subprocess.Popen(argv, cwd="/tmp", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, bufsize=0, close_fds=True)
        self.pid = self.proc.pid
        self.in_fd = self.proc.stdin.fileno()
        self.out_fd = self.proc.stdout.fileno()
        self.leftover = b""  # stdout bytes read past the last line read_line returned
        self.timed_out = False  # set by the watchdog
        self.spy = None  # (py-spy process, profile path) when --py-spy samples this node
        self.exit_problem = None  # set by finish
        self._stderr_tail = collections.deque(maxlen=64)
        self.stderr_bytes = 0
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()

    def _drain_stderr(self):
        fd = self.proc.stderr.fileno()
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return
            if not data:
                return
            self.stderr_bytes += len(data)
            self._stderr_tail.append(data)

    def write(self, data):
        view = memoryview(data)
        write, fd = os.write, self.in_fd
        while view:
            view = view[write(fd, view):]

    def read(self):
        data = os.read(self.out_fd, READ_SIZE)
        if not data:
            raise BenchFailure("%s closed its stdout (exit status %s)" % (self.label, self.proc.poll()))
        return data

    def read_line(self):
        """The next output line (without its newline), as a parsed message."""
        buf = self.leftover
        while b"\n" not in buf:
            buf += self.read()
        line, _, self.leftover = buf.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError:
            raise BenchFailure("%s wrote a line that is not JSON: %r" % (self.label, line[:300])) from None

    def init(self):
        """Send init and check that init_ok, and nothing else, comes back; stamps ``t_init``."""
        self.write(INIT_LINE)
        msg = self.read_line()
        self.t_init = now()
        try:
            body = msg["body"]
            ok = (msg["src"] == NODE and msg["dest"] == "c0" and body["type"] == "init_ok"
                  and body["in_reply_to"] == 1)
        except (KeyError, TypeError):
            ok = False
        if not ok or self.leftover:
            raise BenchFailure("%s: the first output is not one init_ok to c0: %r"
                               % (self.label, (json.dumps(msg).encode() + b"\n" + self.leftover)[:300]))

    # -- what /proc says about it

    def cpu_ns(self):
        """CPU time (user + system) of all the node's threads so far, in ns: the sum of
        /proc/<pid>/task/*/schedstat (the scheduler's ns-exact run time)."""
        try:
            total = 0
            for tid in os.listdir("/proc/%d/task" % self.pid):
                with open("/proc/%d/task/%s/schedstat" % (self.pid, tid)) as f:
                    total += int(f.read().split()[0])
            return total
        except OSError:
            raise BenchFailure("%s is gone (exit status %s)" % (self.label, self.proc.poll())) from None

    def status_kib(self, key):
        """A field of /proc/<pid>/status in KiB (VmRSS, VmHWM, ...)."""
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        raise BenchFailure("no %s in /proc/%d/status (did %s exit?)" % (key, self.pid, self.label))

    # -- bounds and endings

    @contextlib.contextmanager
    def watchdog(self, seconds, what):
        """Kill the node if the block takes longer than ``seconds``; the block then fails with a
        message that says what it was waiting for (a hung node fails the run, never hangs it)."""
        timer = threading.Timer(seconds, self._time_out)
        timer.daemon = True
        timer.start()
        error = None
        try:
            yield
        except BaseException as e:
            if not self.timed_out:
                raise
            error = e
        finally:
            timer.cancel()
        if self.timed_out:
            detail = "" if error is None else " (%s: %s)" % (type(error).__name__, error)
            raise BenchFailure("%s: %s did not finish within %.0fs; killed%s"
                               % (self.label, what, seconds, detail)) from error

    def _time_out(self):
        self.timed_out = True
        self.kill()

    def time_exit(self, act, what):
        """Do ``act()`` (send a signal, close stdin: ``what``) and return the ms until the
        process has exited. The exit is seen through a pidfd, readable the moment the process
        is gone: no polling interval in the figure."""
        pidfd = os.pidfd_open(self.pid)
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            t0 = now()
            act()
            gone = poller.poll(EXIT_LIMIT * 1000)
            t1 = now()
        finally:
            os.close(pidfd)
        if not gone:
            raise BenchFailure("%s had not exited %gs after %s; killed" % (self.label, EXIT_LIMIT, what))
        return (t1 - t0) / 1e6

    def kill(self):
        try:
            self.proc.kill()
        except OSError:
            pass
        if self.spy is not None:  # py-spy ends with its target; make sure of it
            try:
                self.spy[0].wait(10)
            except subprocess.TimeoutExpired:
                self.spy[0].kill()

    def aborted(self, error):
        """Kill and reap the node after a failure; a BenchFailure gains the node's last stderr."""
        self.kill()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        tail = b"".join(self._stderr_tail).decode(errors="replace")[-3000:].strip()
        if not isinstance(error, BenchFailure) or not tail:
            return error
        return BenchFailure("%s\n--- last stderr of %s (%d bytes in all) ---\n%s"
                            % (error, self.label, self.stderr_bytes, tail))

    def finish(self):
        """Close stdin (the node should exit), reap it; kill it if it does not. Returns its
        exit status; ``exit_problem`` says what was wrong with the exit, if anything."""
        self.proc.stdin.close()
        try:
            status = self.proc.wait(EXIT_LIMIT)
        except subprocess.TimeoutExpired:
            self.kill()
            status = self.proc.wait(5)
            self.exit_problem = "did not exit within %gs of stdin closing; killed" % EXIT_LIMIT
        else:
            self.exit_problem = None if status == 0 else "exit status %s" % status
        self.proc.stdout.close()
        self._stderr_thread.join(5)
        self.proc.stderr.close()
        return status


def start_node(impl, args=()):
    """A fresh node that has answered init."""
    node = BenchNode(impl["argv"] + list(args), impl["label"])
    try:
        with node.watchdog(STARTUP_LIMIT, "init"):
            node.init()
    except BaseException as e:
        raise node.aborted(e)
    return node


def on_fresh_node(impl, cfg, scenario, measure, *args, node_args=()):
    """Start a node, warm it up (a few closed-loop echoes: caches, worker pools), return
    ``measure(node, cfg, *args)``; then close its stdin and check that it exits cleanly."""
    node = start_node(impl, node_args)
    try:
        if cfg.py_spy and impl["key"] == "node":
            attach_py_spy(node, cfg, scenario)
        if cfg.warm:
            echo_loop(node, cfg.warm, 16, "c9", "warm-up", 30)
        result = measure(node, cfg, *args)
    except BaseException as e:
        raise node.aborted(e)
    node.finish()
    if node.exit_problem:
        warn(result, "%s %s" % (node.label, node.exit_problem))
    if node.spy is not None:
        spy, path = node.spy
        try:
            spy.wait(60)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait(5)
        if os.path.exists(path):
            result["py_spy"] = path
            print(py_spy_summary(path), flush=True)
        else:
            warn(result, "py-spy wrote no profile (see %s.log)" % path)
    return result


def warn(result, text):
    result.setdefault("warnings", []).append(text)


# ---------------------------------------------------------------- requests and replies

def echo_requests(client, n):
    """Pre-encoded echo requests 1..n, as Maelstrom writes them (compact, with a top-level id)."""
    return [b'{"id":%d,"src":"%s","dest":"n1","body":{"type":"echo","msg_id":%d,"echo":"Please echo %d"}}\n'
            % (k, client.encode(), k, k) for k in range(1, n + 1)]


def proxy_requests(client, n, tag):
    """Pre-encoded proxy requests 1..n to n2; the inner echo's payload is ``tag`` + K."""
    return [b'{"id":%d,"src":"%s","dest":"n1","body":{"type":"proxy","msg_id":%d,"target":"n2",'
            b'"inner":{"type":"echo","echo":"%s%d"}}}\n' % (k, client.encode(), k, tag.encode(), k)
            for k in range(1, n + 1)]


class Problems:
    """Collects what is wrong with a node's output; ``check`` raises if anything is."""

    def __init__(self, label, what):
        self.label, self.what, self.items, self.count = label, what, [], 0

    def add(self, text):
        self.count += 1
        if len(self.items) < 12:
            self.items.append(text)

    def check(self):
        if self.count:
            raise BenchFailure("%s, %s: %d problem(s):\n  %s" % (
                self.label, self.what, self.count, "\n  ".join(self.items)))


def sort_output(node, chunks, client, n, what, tag=None):
    """Parse everything the node wrote (``chunks``: [(arrival ns, bytes)]) and sort it.

    Every line must be a src/dest/body envelope from n1 and either the one answer to one
    of ``client``'s requests 1..n or, with ``tag``, the one forward to n2 of request K
    (an echo whose payload is ``tag`` + K). Returns (problems, answers, forwards), the
    last two {K: (arrival ns, body, line)}; a request without an answer (or forward) is
    already a problem."""
    problems = Problems(node.label, what)
    answers, forwards = {}, {}
    partial = b""
    for t, data in chunks:
        lines = (partial + data).split(b"\n")
        partial = lines.pop()
        for line in lines:
            try:
                msg = json.loads(line)
            except ValueError:
                problems.add("not a JSON line: %r" % line[:200])
                continue
            if type(msg) is not dict or not ENVELOPE_KEYS <= set(msg) <= ENVELOPE_KEYS | {"id"} \
                    or type(msg.get("id", 0)) is not int or type(msg["body"]) is not dict or msg["src"] != NODE:
                problems.add("not a src/dest/body envelope from n1: %r" % line[:200])
                continue
            body = msg["body"]
            if tag is not None and msg["dest"] == PEER:
                echo = body.get("echo")
                k = int(echo[len(tag):]) if type(echo) is str and echo.startswith(tag) \
                    and echo[len(tag):].isdigit() else 0
                if not 1 <= k <= n or k in forwards or body.get("type") != "echo" \
                        or type(body.get("msg_id")) is not int or not set(body) <= FORWARD_KEYS:
                    problems.add("bad or repeated forward to n2: %r" % line[:200])
                    continue
                forwards[k] = (t, body, line)
                continue
            k = body.get("in_reply_to")
            if msg["dest"] != client or type(k) is not int or not 1 <= k <= n:
                problems.add("not an answer to one of %s's requests: %r" % (client, line[:200]))
            elif k in answers:
                problems.add("msg_id %d answered twice: %r" % (k, line[:200]))
            else:
                answers[k] = (t, body, line)
    if partial:
        problems.add("output ends without a newline: %r" % partial[:200])
    expected = [("answered", answers)] + ([("forwarded to n2", forwards)] if tag is not None else [])
    for never, found in expected:
        if len(found) < n:
            first = next(k for k in range(1, n + 1) if k not in found)
            problems.add("%d of %d requests never %s (first: msg_id %d)" % (n - len(found), n, never, first))
    return problems, answers, forwards


def echo_latencies(node, chunks, send_ns, client, what):
    """Check that each of ``client``'s echoes got its echo_ok; -> sorted latencies (ns)."""
    problems, answers, _ = sort_output(node, chunks, client, len(send_ns), what)
    latencies = []
    for k, (t, body, line) in answers.items():
        if body.get("type") != "echo_ok" or body.get("echo") != "Please echo %d" % k \
                or not set(body) <= ECHO_OK_KEYS or type(body.get("msg_id", 0)) is not int:
            problems.add("wrong answer to msg_id %d: %r" % (k, line[:200]))
        else:
            latencies.append(t - send_ns[k - 1])
    problems.check()
    return sorted(latencies)


def pct(sorted_values, p):
    """Nearest-rank percentile of an already sorted list."""
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100.0 * len(sorted_values)) - 1))
    return sorted_values[k]


class Quiet:
    """No garbage collection in the bench during a timed window (nothing it allocates there
    is cyclic), so a collection never delays a timestamp."""

    def __enter__(self):
        self.was = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self.was:
            gc.enable()


# ---------------------------------------------------------------- closed loops

# In the proxy loop the bench must answer each forward at once, so it reads the forward's
# msg_id (and echo payload) in the loop. A regex over the whole chunk does it in C; a line
# the fast pattern does not fit (another key order, escapes) is parsed with json instead.
FORWARD_FAST = re.compile(rb'"dest": ?"n2"[^\n]*?"echo": ?"([^"\\\n]*)"[^\n]*?"msg_id": ?(\d+)[,}]')
FORWARD_ANY = re.compile(rb'"dest"\s*:\s*"n2"')
N2_ANSWER = b'{"src":"n2","dest":"n1","body":{"type":"echo_ok","echo":"%s","in_reply_to":%s}}\n'


def _forwards_slow(block):
    """(echo, msg_id) pairs of the forwards to n2 in ``block``, parsed with json (a line
    that does not parse is left unanswered; the check after the loop reports it)."""
    found = []
    for line in block.split(b"\n"):
        if FORWARD_ANY.search(line):
            try:
                body = json.loads(line)["body"]
                found.append((json.dumps(body["echo"])[1:-1].encode(), b"%d" % body["msg_id"]))
            except (ValueError, KeyError, TypeError):
                pass
    return found


def closed_loop(node, requests, concurrency, what, seconds, answer_forwards=False):
    """Keep ``concurrency`` requests outstanding: each reply that arrives lets one more go.

    One thread: read whatever stdout holds (timestamp it), count its newlines, write as many
    new requests in one write (timestamp before it). With ``answer_forwards`` the bench also
    plays n2: it answers each forward in the chunk in that same write, and only the other
    lines count as replies. Output is parsed and checked after the loop.
    Returns (chunks [(arrival ns, bytes)], send ns per request, first send ns, last arrival
    ns, the bench's CPU ns in the loop)."""
    n = len(requests)
    send_ns = [0] * n
    chunks = []
    read, write, count, join = node.read, node.write, bytes.count, b"".join
    fast, slow, answer = FORWARD_FAST.findall, FORWARD_ANY.findall, N2_ANSWER.__mod__
    with node.watchdog(seconds, what), Quiet():
        bench0 = time.process_time_ns()
        sent = min(concurrency, n)
        t0 = now()
        write(join(requests[:sent]))
        send_ns[:sent] = [t0] * sent
        done = 0
        partial = b""
        t = t0
        while done < n:
            data = read()
            t = now()
            chunks.append((t, data))
            if answer_forwards:  # whole lines only, so the regex never sees half a forward
                data = partial + data
                end = data.rfind(b"\n") + 1
                data, partial = data[:end], data[end:]
                found = fast(data)
                if len(found) != len(slow(data)):
                    found = _forwards_slow(data)
                out = list(map(answer, found))
                completed = count(data, b"\n") - len(found)
            else:
                out = []
                completed = count(data, b"\n")
            m = min(completed, n - sent)
            if m:
                out.append(join(requests[sent:sent + m]))
            if out:
                data = join(out)
                ts = now()
                write(data)
                send_ns[sent:sent + m] = [ts] * m
                sent += m
            done += completed
        bench_ns = time.process_time_ns() - bench0
    return chunks, send_ns, t0, t, bench_ns


def echo_loop(node, n, concurrency, client, what, seconds):
    """A checked closed loop of ``n`` echoes.
    -> (sorted latencies, first send, last arrival, bench ns)."""
    chunks, send_ns, t0, t1, bench_ns = closed_loop(node, echo_requests(client, n), concurrency,
                                                    what, seconds)
    return echo_latencies(node, chunks, send_ns, client, what), t0, t1, bench_ns


def proxy_loop(node, n, concurrency, client, tag, what, seconds):
    """A checked closed loop of ``n`` proxies, the bench answering as n2: each proxy must be
    forwarded to n2 once and answered once with proxy_ok carrying n2's answer to that forward.
    -> (sorted latencies, first send, last arrival, bench ns)."""
    chunks, send_ns, t0, t1, bench_ns = closed_loop(node, proxy_requests(client, n, tag), concurrency,
                                                    what, seconds, answer_forwards=True)
    problems, answers, forwards = sort_output(node, chunks, client, n, what, tag)
    latencies = []
    for k, (t, body, line) in answers.items():
        forward = forwards.get(k)
        expected = {"type": "echo_ok", "echo": "%s%d" % (tag, k),
                    "in_reply_to": forward and forward[1]["msg_id"]}
        if body.get("type") != "proxy_ok" or body.get("result") != expected or not set(body) <= PROXY_OK_KEYS:
            problems.add("wrong answer to proxy %d: %r (expected result %r)" % (k, line[:200], expected))
        else:
            latencies.append(t - send_ns[k - 1])
    problems.check()
    return sorted(latencies), t0, t1, bench_ns


def loop_figures(n, concurrency, lat, t0, t1, cpu_ns, bench_ns, per):
    """The figures of a closed loop; ``per`` names the unit ("msg" or "op")."""
    return {
        "n": n,
        "concurrency": concurrency,
        per + "s_per_s": n / ((t1 - t0) / 1e9),
        "p50_us": pct(lat, 50) / 1e3,
        "p99_us": pct(lat, 99) / 1e3,
        "cpu_us_per_" + per: cpu_ns / 1e3 / n,
        "cpu_util": cpu_ns / (t1 - t0),
        "bench_cpu_us_per_" + per: bench_ns / 1e3 / n,
    }


# ---------------------------------------------------------------- scenarios

def echo_open(node, cfg):
    """N echo requests, written by one thread as fast as the pipe takes them (4 KiB writes),
    replies read by another, both timestamped; parsed and checked afterwards."""
    n = cfg.open_n
    requests = echo_requests("c1", n)
    batches = []  # (first index, count, bytes): the requests grouped into page-sized writes
    i = 0
    while i < n:
        j, size = i, 0
        while j < n and size < OPEN_CHUNK:
            size += len(requests[j])
            j += 1
        batches.append((i, j - i, b"".join(requests[i:j])))
        i = j
    batch_ns = [0] * len(batches)
    chunks = []
    errors = []

    def writer():
        write = node.write
        try:
            for b, (_, _, data) in enumerate(batches):
                batch_ns[b] = now()
                write(data)
        except BaseException as e:  # broken pipe: the reader reports what is missing
            errors.append(e)

    def reader():
        # A node that writes line by line would otherwise cost the bench one read (and
        # one wake-up) per reply: after a small read, let a few more lines gather first.
        read, count, sleep = node.read, bytes.count, time.sleep
        got = 0
        try:
            while got < n:
                data = read()
                chunks.append((now(), data))
                got += count(data, b"\n")
                if len(data) < OPEN_GATHER_BYTES:
                    sleep(OPEN_GATHER_SLEEP)
        except BaseException as e:
            errors.append(e)

    what = "open-loop echo of %d requests" % n
    with node.watchdog(deadline(n, 200), what), Quiet():
        cpu0, bench_cpu0 = node.cpu_ns(), time.process_time_ns()
        threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if errors:
            got = sum(data.count(b"\n") for _, data in chunks)
            status = node.proc.poll()
            raise BenchFailure("%s, %s: %s after %d of %d replies (%s)" % (
                node.label, what, "the node exited with status %s" % status if status is not None
                else "the pipes broke", got, n, "; ".join("%s: %s" % (type(e).__name__, e) for e in errors)))
        cpu1, bench_cpu1 = node.cpu_ns(), time.process_time_ns()
        hwm = node.status_kib("VmHWM")
    send_ns = [0] * n
    for b, (first, count, _) in enumerate(batches):
        send_ns[first:first + count] = [batch_ns[b]] * count
    lat = echo_latencies(node, chunks, send_ns, "c1", what)
    wall = chunks[-1][0] - batch_ns[0]
    return {
        "n": n,
        "msgs_per_s": n / (wall / 1e9),
        "cpu_us_per_msg": (cpu1 - cpu0) / 1e3 / n,
        "cpu_util": (cpu1 - cpu0) / wall,
        "p50_ms": pct(lat, 50) / 1e6,
        "p99_ms": pct(lat, 99) / 1e6,
        "peak_rss_kib": hwm,
        "bench_cpu_us_per_msg": (bench_cpu1 - bench_cpu0) / 1e3 / n,
        "wall_s": wall / 1e9,
    }


def echo_closed(node, cfg, concurrency):
    n = cfg.closed_n
    what = "closed-loop echo, %d outstanding, %d requests" % (concurrency, n)
    cpu0 = node.cpu_ns()
    lat, t0, t1, bench_ns = echo_loop(node, n, concurrency, "c1", what,
                                      deadline(n, 2000 if concurrency == 1 else 300))
    return loop_figures(n, concurrency, lat, t0, t1, node.cpu_ns() - cpu0, bench_ns, "msg")


def proxy(node, cfg):
    n, concurrency = cfg.proxy_n, 64
    if cfg.warm:
        proxy_loop(node, min(cfg.warm, 300), 16, "c9", "w", "proxy warm-up", 30)
    what = "proxy round trips, %d outstanding, %d proxies" % (concurrency, n)
    cpu0 = node.cpu_ns()
    lat, t0, t1, bench_ns = proxy_loop(node, n, concurrency, "c1", "x", what, deadline(n, 1000))
    return loop_figures(n, concurrency, lat, t0, t1, node.cpu_ns() - cpu0, bench_ns, "op")


def pending(node, cfg, rate=0):
    """N proxies to an n2 that never answers, with the node's RPC timeout set to T.

    Filled in a closed loop: at most ``window`` requests are written and not yet forwarded by
    the node, so a request's write time is close to when the node read it (its timer start)
    and the figure is about timers, not about a pipe full of unread requests. With ``rate``
    (requests/s) the fill is also paced, so the expiries come at that rate rather than at the
    node's top intake speed. The write time of a request is when the write holding it
    returned. RSS is sampled once every request has been forwarded (all N calls pending),
    before the first timeout is due."""
    n, timeout = cfg.pending_n, cfg.pending_timeout
    window = 128
    timeout_ns = int(timeout * 1e9)
    rss_before = node.status_kib("VmRSS")
    requests = proxy_requests("c1", n, "p")
    batches = []  # (written ns, first index, count)
    chunks = []
    read, write, count = node.read, node.write, bytes.count
    poller = select.poll()
    poller.register(node.out_fd, select.POLLIN)

    def take():
        data = read()
        chunks.append((now(), data))
        return count(data, b"\n")

    what = "%d pending proxies (rpc timeout %gs%s)" % (n, timeout, ", %d/s" % rate if rate else "")
    with node.watchdog(deadline(n, 1000) + timeout + (n / rate if rate else 0), what), Quiet():
        cpu_fill0 = node.cpu_ns()
        sent = got = 0
        t_fill = now()
        while sent < n:  # fill
            room = window - (sent - got)
            if rate:
                room = min(room, int((now() - t_fill) * rate / 1e9) + 1 - sent)
            if room > 0:
                m = min(room, n - sent)
                write(b"".join(requests[sent:sent + m]))
                batches.append((now(), sent, m))
                sent += m
            if rate and not poller.poll(1):  # nothing to read: time to write more?
                continue
            got += take()
        while got < n:  # the last forwards
            got += take()
        t_all_pending = now()
        cpu_fill1 = node.cpu_ns()
        first_due = batches[0][0] + timeout_ns
        t_sample = max(t_all_pending, batches[0][0] + timeout_ns // 2)
        if t_sample > now():
            time.sleep((t_sample - now()) / 1e9)
        t_rss = now()
        rss_during = node.status_kib("VmRSS")
        cpu_storm0 = node.cpu_ns()
        while got < 2 * n:  # the timeout errors
            got += take()
        cpu_storm1 = node.cpu_ns()
    # Check: each request forwarded once to n2, then answered once with error code 0.
    problems, answers, forwards = sort_output(node, chunks, "c1", n, what, "p")
    written_ns = [0] * n
    for t, first, m in batches:
        written_ns[first:first + m] = [t] * m
    lateness, timer_lateness, forward_delay = [], [], []
    for k, (t, body, line) in answers.items():
        if body.get("type") != "error" or body.get("code") != 0:
            problems.add("proxy %d: expected error code 0, got %r" % (k, line[:200]))
        elif k in forwards:
            t_forward = forwards[k][0]
            lateness.append(t - written_ns[k - 1] - timeout_ns)
            timer_lateness.append(t - t_forward - timeout_ns)
            forward_delay.append(t_forward - written_ns[k - 1])
    problems.check()
    lateness.sort()
    timer_lateness.sort()
    forward_delay.sort()
    first_error = min(t for t, _, _ in answers.values())
    result = {
        "n": n,
        "rpc_timeout_s": timeout,
        "late_p50_ms": pct(lateness, 50) / 1e6,
        "late_p99_ms": pct(lateness, 99) / 1e6,
        "late_max_ms": lateness[-1] / 1e6,
        "late_min_ms": lateness[0] / 1e6,
        "timer_late_p99_ms": pct(timer_lateness, 99) / 1e6,
        "timer_late_max_ms": timer_lateness[-1] / 1e6,
        "timer_late_min_ms": timer_lateness[0] / 1e6,
        "forward_delay_p50_ms": pct(forward_delay, 50) / 1e6,
        "forward_delay_max_ms": forward_delay[-1] / 1e6,
        "fill_s": (t_all_pending - batches[0][0]) / 1e9,
        "cpu_us_per_call_start": (cpu_fill1 - cpu_fill0) / 1e3 / n,
        "cpu_us_per_timeout": (cpu_storm1 - cpu_storm0) / 1e3 / n,
        "rss_before_kib": rss_before,
        "rss_pending_kib": rss_during,
        "kib_per_pending": (rss_during - rss_before) / n,
        "rss_sampled_before_first_error": t_rss < first_error,
    }
    if t_rss >= first_error:
        warn(result, "RSS was sampled after the first timeout error had arrived (filling took %.2fs, "
             "first due %.2fs after the first write): memory per pending call is understated"
             % (result["fill_s"], timeout))
    if t_all_pending > first_due:
        warn(result, "not all %d calls were pending at once: the node took %.2fs to take them in, "
             "longer than the %gs timeout" % (n, result["fill_s"], timeout))
    return result


def startup(impl, cfg):
    """Popen -> init_ok, over ``cfg.starts`` fresh processes."""
    times, warnings = [], set()
    for _ in range(cfg.starts):
        node = start_node(impl)
        times.append((node.t_init - node.t_spawn) / 1e6)
        node.finish()
        if node.exit_problem:
            warnings.add("%s %s" % (node.label, node.exit_problem))
    result = {"starts": len(times), "init_ms": statistics.median(times), "init_min_ms": min(times),
              "init_all_ms": times}
    if warnings:
        result["warnings"] = sorted(warnings)
    return result


EXIT_CASES = ("sigterm", "sigint", "eof", "eof-pending")


def exit_after(impl, cfg):
    """How fast the node ends: for each case, ``cfg.starts`` fresh nodes (the cases
    interleaved), each initialised, then sent SIGTERM or SIGINT, or its stdin closed (in
    eof-pending after one proxy to a silent n2 has been forwarded: the node must not wait
    for that call's timeout). Time from the act to the process being gone, and its status."""
    times = {case: [] for case in EXIT_CASES}
    statuses = {case: set() for case in EXIT_CASES}
    warnings = {case: set() for case in EXIT_CASES}
    for _ in range(cfg.starts):
        for case in EXIT_CASES:
            node = start_node(impl)
            try:
                if case == "eof-pending":
                    node.write(proxy_requests("c1", 1, "e")[0])
                    with node.watchdog(STARTUP_LIMIT, "the forward of a proxy to n2"):
                        forward = node.read_line()
                    if type(forward) is not dict or forward.get("dest") != PEER or node.leftover:
                        raise BenchFailure("%s: expected the forward of a proxy to n2, got %r"
                                           % (node.label, forward))
                if case.startswith("sig"):
                    signum = signal.Signals[case.upper()]
                    ms = node.time_exit(lambda: node.proc.send_signal(signum), signum.name)
                else:
                    ms = node.time_exit(node.proc.stdin.close, "stdin closing")
                times[case].append(ms)
            except BaseException as e:
                raise node.aborted(e)
            status = node.finish()
            statuses[case].add("killed by %s" % signal.Signals(-status).name if status < 0 else str(status))
            if node.exit_problem:
                warnings[case].add("%s %s" % (node.label, node.exit_problem))
    return {"exit-" + case: {"median_ms": statistics.median(times[case]), "max_ms": max(times[case]),
                             "all_ms": times[case], "status": ", ".join(sorted(statuses[case])),
                             "warnings": sorted(warnings[case])} for case in EXIT_CASES}


def run_scenario(name, impl, cfg):
    """-> {result key: metrics}; some scenarios give several results."""
    if name == "echo-open":
        return {"echo-open": on_fresh_node(impl, cfg, name, echo_open)}
    if name == "echo-closed":
        return {"echo-closed-%d" % c: on_fresh_node(impl, cfg, "echo-closed-%d" % c, echo_closed, c)
                for c in (1, 64)}
    if name == "proxy":
        return {"proxy-64": on_fresh_node(impl, cfg, name, proxy)}
    if name == "pending":
        timeout_args = ["--rpc-timeout", "%g" % cfg.pending_timeout]
        out = {"pending": on_fresh_node(impl, cfg, name, pending, node_args=timeout_args)}
        if cfg.pending_rate:
            out["pending-paced"] = on_fresh_node(impl, cfg, "pending-paced", pending, cfg.pending_rate,
                                                 node_args=timeout_args)
        return out
    if name == "startup":
        return {"startup": startup(impl, cfg)}
    if name == "exit":
        return exit_after(impl, cfg)
    raise ValueError(name)


# ---------------------------------------------------------------- profiling (--py-spy DIR)

def attach_py_spy(node, cfg, scenario):
    """Sample the node under test with py-spy for the rest of its life (raw stacks to a file)."""
    cfg.spy_count += 1
    path = os.path.abspath(os.path.join(cfg.py_spy, "%02d-%s.txt" % (cfg.spy_count, scenario)))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".log", "wb") as log:
        spy = subprocess.Popen([cfg.py_spy_exe, "record", "--pid", str(node.pid), "-o", path, "-f", "raw",
                                "-r", str(PY_SPY_RATE), "--nonblocking"],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    node.spy = (spy, path)
    time.sleep(1.0)  # attaching takes a moment; the timed part should be sampled from its start
    if spy.poll() is not None:
        raise BenchFailure("py-spy could not attach to %s (see %s.log)" % (node.label, path))


def py_spy_summary(path, top=15):
    """The functions most often on top of the stack (self) and anywhere on it (inclusive)."""
    own, anywhere = collections.Counter(), collections.Counter()
    total = 0
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            count = int(count)
            total += count
            frames = [_frame_name(fr) for fr in stack.split(";")]
            own[frames[-1]] += count
            for name in set(frames):
                anywhere[name] += count
    if not total:
        return "py-spy %s: no samples" % path
    out = ["py-spy profile %s: %d samples" % (path, total), "  self%   incl%  function"]
    for name, count in own.most_common(top):
        out.append("  %5.1f  %5.1f  %s" % (100.0 * count / total, 100.0 * anywhere[name] / total, name))
    return "\n".join(out)


def _frame_name(frame):
    """'handle (gnode.py:123)' -> 'handle (gnode.py)': one entry per function, not per line."""
    name, _, where = frame.partition(" (")
    file = where.rstrip(")").rsplit(":", 1)[0]
    return "%s (%s)" % (name, os.path.basename(file)) if file else name


# ---------------------------------------------------------------- the report

# Per result key: its scenario label and its rows, (metric key, metric label, format, target).
# target: None, ("ratio", op, x) on node/baseline, ("fast", op, x) on node/fast baseline,
# ("abs", op, x) on the node's figure, or ("ref", op, x, result key, metric key): node /
# baseline's (result key, metric key) (the fast baseline's column shows its own such figure).
EXIT_ROWS = [("median_ms", "ms to exit, median", "ms", None), ("max_ms", "ms to exit, max", "ms", None),
             ("status", "exit status", "text", None)]
EXIT_SIGNAL_ROWS = [EXIT_ROWS[0], ("max_ms", "ms to exit, max", "ms", ("abs", "<", 100.0)), EXIT_ROWS[2]]
TABLE = [
    ("echo-open", "echo, open loop", [
        ("msgs_per_s", "msgs/s", "rate", ("ratio", ">=", 0.6)),
        ("cpu_us_per_msg", "node CPU µs/msg", "us", ("ratio", "<=", 2.0)),
        ("msgs_per_s", "msgs/s, against the fast baseline", "rate", ("fast", ">=", 0.85)),
        ("cpu_us_per_msg", "node CPU µs/msg, against the fast baseline", "us", ("fast", "<=", 1.3)),
        ("p50_ms", "p50 latency ms", "ms", None),
        ("p99_ms", "p99 latency ms", "ms", None),
        ("peak_rss_kib", "peak RSS MiB", "mib", None),
        ("cpu_util", "node CPU busy (of 1 core)", "pct", None),
        ("bench_cpu_us_per_msg", "bench's own CPU µs/msg", "us", None)]),
    ("echo-closed-1", "echo, closed loop, 1 outstanding", [
        ("p50_us", "p50 latency µs", "us", ("ratio", "<=", 1.3)),
        ("p99_us", "p99 latency µs", "us", None),
        ("msgs_per_s", "msgs/s", "rate", None),
        ("cpu_us_per_msg", "node CPU µs/msg", "us", None)]),
    ("echo-closed-64", "echo, closed loop, 64 outstanding", [
        ("p50_us", "p50 latency µs", "us", None),
        ("p99_us", "p99 latency µs", "us", None),
        ("msgs_per_s", "msgs/s", "rate", None)]),
    ("proxy-64", "proxy round trip, 64 outstanding", [
        ("ops_per_s", "proxy ops/s (baselines: their open-loop echo msgs/s)", "rate",
         ("ref", ">=", 0.35, "echo-open", "msgs_per_s")),
        ("ops_per_s", "proxy ops/s, each its own", "rate", None),
        ("p50_us", "p50 latency µs", "us", None),
        ("p99_us", "p99 latency µs", "us", None),
        ("cpu_us_per_op", "node CPU µs/op", "us", None)]),
    ("pending", "pending calls (timeouts)", [
        ("late_p50_ms", "lateness p50 ms", "ms", None),
        ("late_p99_ms", "lateness p99 ms", "ms", ("abs", "<", 20.0)),
        ("late_max_ms", "lateness max ms", "ms", ("abs", "<", 50.0)),
        ("late_min_ms", "lateness min ms (<0: early)", "ms", None),
        ("timer_late_p99_ms", "timer-only lateness p99 ms", "ms", None),
        ("timer_late_min_ms", "timer-only lateness min ms", "ms", None),
        ("forward_delay_max_ms", "max delay write -> forward seen ms", "ms", None),
        ("fill_s", "time to get all calls pending s", "s", None),
        ("cpu_us_per_call_start", "node CPU µs per call started", "us", None),
        ("cpu_us_per_timeout", "node CPU µs per timeout answered", "us", None),
        ("kib_per_pending", "memory per pending call KiB", "kib", ("abs", "<", 8.0))]),
    ("pending-paced", "pending calls, fill paced", [
        ("late_p50_ms", "lateness p50 ms", "ms", None),
        ("late_p99_ms", "lateness p99 ms", "ms", None),
        ("late_max_ms", "lateness max ms", "ms", None),
        ("forward_delay_max_ms", "max delay write -> forward seen ms", "ms", None),
        ("fill_s", "time to get all calls pending s", "s", None)]),
    ("startup", "start-up", [
        ("init_ms", "Popen -> init_ok ms (median)", "ms", ("abs", "<", 80.0))]),
    ("exit-sigterm", "exit on SIGTERM", EXIT_SIGNAL_ROWS),
    ("exit-sigint", "exit on SIGINT", EXIT_SIGNAL_ROWS),
    ("exit-eof", "exit on stdin EOF", EXIT_ROWS),
    ("exit-eof-pending", "exit on stdin EOF, 1 call pending", EXIT_ROWS),
]
ROWS = [(key, metric, scen, label, kind, target)
        for key, scen, rows in TABLE for metric, label, kind, target in rows]
FAST_BASELINE_TARGET = ("the target against the fast baseline (echo, open loop): gnode msgs/s >= 0.85x the fast baseline's, "
                 "at CPU µs/msg <= 1.3x the fast baseline's")
COMPARE = {"<": operator.lt, "<=": operator.le, ">=": operator.ge, ">": operator.gt}
UNITS = {"ms": " ms", "kib": " KiB"}  # of an absolute target


def fmt(value, kind):
    if value is None:
        return "—"
    if kind == "rate":
        return "{:,.0f}".format(value)
    if kind == "us":
        return "%.1f" % value if value < 1000 else "{:,.0f}".format(value)
    if kind == "mib":
        return "%.1f" % (value / 1024.0)
    if kind == "pct":
        return "%.0f%%" % (100 * value)
    if kind == "text":
        return value
    return "%.2f" % value  # ms, s, kib


def combine(values):
    """The rounds' figures -> the table's: the median, or for text every distinct value."""
    if not values:
        return None
    if isinstance(values[0], str):
        return " / ".join(sorted(set(values)))
    return statistics.median(values)


def build_table(rounds, impls=("baseline", "fast", "floor", "node")):
    """The table's rows: each figure's values per round and implementation (``impls``: their
    keys), the median of those, gnode / baseline and gnode / fast baseline, and the target's
    verdict."""
    rows = []
    for key, metric, scen, label, kind, target in ROWS:
        row = {"scenario": scen, "metric": label, "key": key, "metric_key": metric, "kind": kind}
        for impl in impls:
            values = [r[impl][key][metric] for r in rounds if metric in r.get(impl, {}).get(key, {})]
            row[impl + "_rounds"], row[impl] = values, combine(values)
        if not any(row[impl + "_rounds"] for impl in impls):
            continue
        how, op, x = target[:3] if target else (None, None, None)
        if how == "ref":  # the baselines' columns show the figure the target is relative to
            _, _, _, ref_key, ref_metric = target
            for impl in impls:
                if impl in ("baseline", "fast"):
                    row[impl + "_rounds"] = [r[impl][ref_key][ref_metric] for r in rounds
                                             if ref_metric in r.get(impl, {}).get(ref_key, {})]
                    row[impl] = combine(row[impl + "_rounds"])
                elif impl != "node":  # the others' own figures have a row of their own
                    row[impl + "_rounds"], row[impl] = [], None
        mine = row["node"]
        for ratio, base in (("ratio", row.get("baseline")), ("fast_ratio", row.get("fast"))):
            row[ratio] = mine / base if kind != "text" and base and mine is not None else None
        row["target"] = row["verdict"] = ""
        row["how"] = how
        if how:
            unit = {"ratio": "x baseline", "fast": "x fast baseline", "ref": "x baseline echo open-loop msgs/s",
                    "abs": UNITS.get(kind, "")}[how]
            row["target"] = "%s %g%s" % (op, x, unit)
            value = {"abs": mine, "fast": row["fast_ratio"]}.get(how, row["ratio"])
            row["verdict"] = "n/a" if value is None else "met" if COMPARE[op](value, x) else "**MISSED**"
        rows.append(row)
    return rows


def ratio_columns(columns):
    """The ratio columns: [(row key, heading)]; gnode / fast baseline only if it ran."""
    keys = [impl for impl, _ in columns]
    node = dict(columns).get("node", "gnode")
    out = [("ratio", "%s / baseline" % node)]
    if "fast" in keys:
        out.append(("fast_ratio", "%s / fast baseline" % node))
    return out


def markdown(rows, columns):
    """The table; ``columns``: [(impl key, column name)] of the implementations that ran."""
    ratios = ratio_columns(columns)
    out = ["| scenario | metric | %s | %s | target |" % (" | ".join(name for _, name in columns),
                                                        " | ".join(name for _, name in ratios)),
           "|---|---|%s%s---|" % ("---:|" * len(columns), "---:|" * len(ratios))]
    for r in rows:
        target = ("%s: %s" % (r["target"], r["verdict"])) if r["target"] else ""
        out.append("| %s | %s | %s | %s | %s |" % (
            r["scenario"], r["metric"], " | ".join(fmt(r[impl], r["kind"]) for impl, _ in columns),
            " | ".join("—" if r[key] is None else "%#.3gx" % r[key] for key, _ in ratios), target))
    return "\n".join(out)


def fast_baseline_verdict(rows):
    """One line: the target against the fast baseline (both of its rows), met or not, with the two ratios."""
    goal = [r for r in rows if r["how"] == "fast"]
    if not goal:
        return None
    verdicts = {r["verdict"] for r in goal}
    verdict = ("**MISSED**" if "**MISSED**" in verdicts else "n/a" if "n/a" in verdicts or len(goal) < 2
               else "met")
    return "%s: %s (%s)" % (FAST_BASELINE_TARGET, verdict, ", ".join(
        "%s %s" % (r["metric"].split(",")[0], "—" if r["fast_ratio"] is None else "%#.3gx" % r["fast_ratio"])
        for r in goal))


def spread(rows, columns):
    out = ["| scenario | metric | %s |" % " | ".join("%s per round" % name for _, name in columns),
           "|---|---|%s" % ("---|" * len(columns))]
    for r in rows:
        out.append("| %s | %s | %s |" % (r["scenario"], r["metric"], " | ".join(
            " / ".join(fmt(v, r["kind"]) for v in r[impl + "_rounds"]) or "—" for impl, _ in columns)))
    return "\n".join(out)


def summary(key, metrics):
    """One line of progress: the result's first two figures in the table."""
    shown = [(label, kind, metric) for k, metric, _, label, kind, _ in ROWS if k == key][:2]
    return "%s: %s" % (key, ", ".join("%s %s" % (label, fmt(metrics.get(metric), kind))
                                      for label, kind, metric in shown))


# ---------------------------------------------------------------- command line

def resolve_command(argv):
    """Maelstrom runs the canonical path of the binary; so do we (relative to our cwd)."""
    if not argv:
        raise SystemExit("empty node command")
    exe = argv[0]
    if os.sep not in exe:
        exe = shutil.which(exe) or exe
    exe = os.path.realpath(exe)
    if not os.access(exe, os.X_OK):
        raise SystemExit("node command not found or not executable: %s" % exe)
    return [exe] + argv[1:]


def environment():
    env = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg": open("/proc/loadavg").read().split()[:3],
    }
    try:
        import gevent
        env["gevent"] = gevent.__version__
    except ImportError:
        pass
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "gnode.py", "handlers"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        env["git"] = rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return env


def code_fingerprint(argv):
    """A hash of the node's executable and of the handler plugins beside it, to notice the
    code under test changing in the middle of a run (results would then mix versions)."""
    digest = hashlib.sha256()
    paths = [argv[0]]
    plugins = os.path.join(os.path.dirname(argv[0]), "handlers")
    if os.path.isdir(plugins):
        paths += sorted(os.path.join(plugins, f) for f in os.listdir(plugins) if f.endswith(".py"))
    for path in paths:
        try:
            with open(path, "rb") as f:
                digest.update(path.encode() + b"\0" + f.read())
        except OSError:
            digest.update(path.encode() + b"\0?")
    return digest.hexdigest()[:16]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="scenarios: " + ", ".join(SCENARIOS))
    p.add_argument("--quick", action="store_true", help="small sizes, one round: a smoke run")
    p.add_argument("--rounds", type=int, help="interleaved rounds, medians reported (default 3; --quick: 1)")
    p.add_argument("--only", action="append", metavar="SCENARIO",
                   help="run only these scenarios (comma-separated or repeated): " + ", ".join(SCENARIOS))
    p.add_argument("--json", metavar="PATH",
                   help="save raw results here (default: bench/results/<UTC time>.json)")
    p.add_argument("--no-save", action="store_true", help="do not save raw results")
    p.add_argument("--node", default=DEFAULT_NODE, metavar="CMD",
                   help="the node under test, a command line (default: gnode.py)")
    p.add_argument("--no-baseline", action="store_true",
                   help="no yardsticks: no baseline, fast baseline or gevent floor (peers still run)")
    p.add_argument("--peer", action="append", default=[], metavar="LABEL=CMD",
                   help="also run this echo node, a command line, in the %s scenarios, in a column "
                        "LABEL (repeatable)" % ", ".join(PEER_SCENARIOS))
    p.add_argument("--peers", action="append", default=[], metavar="DIR",
                   help="add as --peer every peer that bench/peers.py prepare built in DIR (its peers.json)")
    p.add_argument("--pending-timeout", type=float, default=2.0, metavar="SECONDS",
                   help="RPC timeout in the pending scenario, passed as --rpc-timeout (default: 2)")
    p.add_argument("--pending-rate", type=int, default=10000, metavar="PER_S",
                   help="also run the pending scenario with its fill paced at this many requests/s "
                        "(default 10000; 0: skip)")
    for name, what in (("open_n", "requests in the open loop"), ("closed_n", "requests per closed loop"),
                       ("proxy_n", "proxy round trips"), ("pending_n", "pending proxies"),
                       ("starts", "starts per round and case in the start-up and exit scenarios"),
                       ("warm", "warm-up echoes before each timed scenario")):
        p.add_argument("--" + name.replace("_", "-"), type=int,
                       help="%s (default %d; --quick: %d)" % ((what,) + SIZES[name]))
    p.add_argument("--py-spy", metavar="DIR",
                   help="sample the node under test with py-spy (raw stacks into DIR) and print where "
                        "its time goes; the figures of such a run are perturbed")
    p.add_argument("--strict", action="store_true", help="exit with status 2 if any target is missed")
    cfg = p.parse_args(argv)

    only = {name.strip() for item in cfg.only or SCENARIOS for name in item.split(",")}
    for name in only - set(SCENARIOS):
        p.error("unknown scenario %r (choose from %s)" % (name, ", ".join(SCENARIOS)))
    cfg.only = [s for s in SCENARIOS if s in only]
    cfg.peer_list = []  # [(label, command line)]
    for item in cfg.peer:
        label, eq, command = item.partition("=")
        if not eq or not label.strip() or not command.strip():
            p.error("--peer wants LABEL=COMMAND, got %r" % item)
        cfg.peer_list.append((label.strip(), command))
    for folder in cfg.peers:
        manifest = os.path.join(os.path.expanduser(folder), "peers.json")
        try:
            with open(manifest) as f:
                listed = json.load(f)["peers"]
        except (OSError, ValueError, KeyError) as e:
            p.error("--peers %s: cannot read %s (%s); run python3 bench/peers.py prepare --into %s first"
                    % (folder, manifest, e, folder))
        cfg.peer_list += [(peer["label"], " ".join(map(shlex.quote, peer["argv"]))) for peer in listed]
    for name, (full, quick) in SIZES.items():
        if getattr(cfg, name) is None:
            setattr(cfg, name, quick if cfg.quick else full)
    cfg.spy_count = 0
    cfg.py_spy_exe = cfg.py_spy and shutil.which("py-spy")
    if cfg.py_spy and not cfg.py_spy_exe:
        p.error("--py-spy needs py-spy on PATH (pip install py-spy)")
    return cfg


def peer_impls(peer_list, taken):
    """The --peer/--peers implementations; ``taken``: the labels already in use."""
    impls = []
    for label, command in peer_list:
        if label in taken:
            raise SystemExit("--peer %s=%s: the label %r is already taken" % (label, command, label))
        taken.add(label)
        argv = shlex.split(command)
        if argv:
            argv[0] = os.path.expanduser(argv[0])
        impls.append({"key": "peer:" + label, "label": label, "argv": resolve_command(argv),
                      "scenarios": PEER_SCENARIOS})
    return impls


def main(argv=None):
    cfg = parse_args(argv)
    node_argv = resolve_command(shlex.split(cfg.node))
    label = "gnode" if cfg.node == DEFAULT_NODE else os.path.basename(node_argv[0])
    impls = [] if cfg.no_baseline else [dict(y, argv=resolve_command(y["argv"])) for y in YARDSTICKS]
    impls.append({"key": "node", "label": label, "argv": node_argv, "scenarios": SCENARIOS})
    impls += peer_impls(cfg.peer_list, {impl["label"] for impl in impls})
    env = environment()

    print("# gnode bench: %s, %d round(s), scenarios: %s" % (env["date"], cfg.rounds, ", ".join(cfg.only)))
    for impl in impls:
        print("%s: %s" % (impl["label"], " ".join(impl["argv"])))
    print("python %s, gevent %s, %s cpus, load %s, repo %s" % (
        env["python"], env.get("gevent", "?"), env["cpus"], " ".join(env["loadavg"]), env.get("git", "?")))
    print("sizes: open %d, closed %d, proxy %d, pending %d (timeout %gs; paced run %s), starts %d, warm-up %d"
          % (cfg.open_n, cfg.closed_n, cfg.proxy_n, cfg.pending_n, cfg.pending_timeout,
             "%d/s" % cfg.pending_rate if cfg.pending_rate else "off", cfg.starts, cfg.warm))
    env["node_code"] = code_fingerprint(node_argv)
    print("node code fingerprint %s" % env["node_code"], flush=True)

    rounds = []
    warnings = []
    failure = None
    t_start = time.monotonic()
    try:
        for r in range(cfg.rounds):
            this = {}
            rounds.append(this)
            for scen in cfg.only:
                for impl in impls:
                    if scen not in impl["scenarios"]:
                        continue
                    t = time.monotonic()
                    res = run_scenario(scen, impl, cfg)
                    this.setdefault(impl["key"], {}).update(res)
                    for key, metrics in res.items():
                        for w in metrics.get("warnings", ()):
                            warnings.append("round %d, %s, %s: %s" % (r + 1, key, impl["label"], w))
                    print("  round %d/%d  %-11s %-13s %5.1fs  %s" % (
                        r + 1, cfg.rounds, scen, impl["label"], time.monotonic() - t,
                        "; ".join(summary(k, m) for k, m in res.items())), flush=True)
    except BenchFailure as e:
        failure = str(e)
    except KeyboardInterrupt:
        failure = "interrupted"

    rows = build_table(rounds, [impl["key"] for impl in impls])
    columns = [(impl["key"], impl["label"]) for impl in impls  # those that ran
               if any(r[impl["key"] + "_rounds"] for r in rows)]
    env["loadavg_after"] = open("/proc/loadavg").read().split()[:3]
    env["node_code_after"] = code_fingerprint(node_argv)
    if env["node_code_after"] != env["node_code"]:
        warnings.append("the node's code (%s or its handlers/) changed during the run: "
                        "the rounds may mix versions" % node_argv[0])
    print()
    if rows:
        print(markdown(rows, columns))
        goal = fast_baseline_verdict(rows)
        if goal:
            print("\n" + goal)
        if cfg.rounds > 1:
            print("\nPer-round values (the table shows their medians):\n")
            print(spread(rows, columns))
    if warnings:
        print("\nWarnings:")
        for w in warnings:
            print("  - " + w)
    print("\n%.0fs in all; load average before %s, after %s" % (
        time.monotonic() - t_start, " ".join(env["loadavg"]), " ".join(env["loadavg_after"])))

    if not cfg.no_save:
        path = cfg.json or os.path.join(HERE, "results", datetime.datetime.now(datetime.timezone.utc)
                                        .strftime("%Y%m%dT%H%M%SZ") + ".json")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            json.dump({"env": env, "config": vars(cfg), "implementations": impls, "rounds": rounds,
                       "table": rows, "warnings": warnings, "failure": failure}, f, indent=1)
        print("raw results: %s" % path)
    if failure:
        print("\nBENCH FAILED: %s" % failure, file=sys.stderr)
        return 1
    if cfg.strict and any(r["verdict"] == "**MISSED**" for r in rows):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
