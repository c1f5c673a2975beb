#!/usr/bin/env python3
"""gnode's benchmark suite: one command, every figure, gnode beside a bare-CPython baseline.

    python3 bench/run.py                # the full run: 3 interleaved rounds, medians
    python3 bench/run.py --quick        # smoke run, well under a minute
    python3 bench/run.py --only proxy --rounds 5 --json /tmp/proxy.json
    python3 bench/run.py --node "/path/to/other-node --flag"   # compare another implementation

The node is started the way Maelstrom starts it: the executable run directly (no shell),
cwd=/tmp, stdin/stdout/stderr pipes. The bench plays Maelstrom's clients (c1, c9, ...)
and, in the proxy scenarios, the peer node n2. See bench/README.md for what each figure
means and how it is measured.

Scenarios (``--only`` takes any of these, comma-separated):
  echo-open    N echo requests written as fast as the pipe takes them, replies read concurrently
  echo-closed  closed loop with 1 and with 64 requests outstanding
  proxy        proxy round trips (the bench answers as n2), 64 outstanding
  pending      10,000 proxies whose target never answers: timeout lateness, memory per call
  startup      Popen -> init_ok, median of several starts
"""
import argparse
import collections
import datetime
import gc
import json
import math
import os
import platform
import re
import select
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_NODE = os.path.join(REPO, "gnode.py")
DEFAULT_BASELINE = os.path.join(HERE, "baseline_echo.py")

NODE = "n1"
PEER = "n2"
INIT_LINE = (b'{"id":0,"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,'
             b'"node_id":"n1","node_ids":["n1","n2"]}}\n')
ECHO_OK_KEYS = {"type", "echo", "in_reply_to", "msg_id"}  # Maelstrom's closed echo_ok schema
PROXY_OK_KEYS = {"type", "result", "in_reply_to", "msg_id"}
ENVELOPE_KEYS = {"src", "dest", "body"}

READ_SIZE = 1 << 20  # a pipe never holds more than this; one read takes all there is
OPEN_CHUNK = 4096  # bytes per write in the open loop: one page, ~40 requests share a timestamp
OPEN_GATHER_BYTES = 16384  # open-loop reader: a read smaller than this is followed by ...
OPEN_GATHER_SLEEP = 0.0002  # ... this pause (s), so replies are read many at a time
STARTUP_LIMIT = 10.0  # Maelstrom's own init deadline

now = time.perf_counter_ns

SCENARIOS = ("echo-open", "echo-closed", "proxy", "pending", "startup")
BASELINE_SCENARIOS = ("echo-open", "echo-closed", "startup")  # the baseline only echoes


class BenchFailure(Exception):
    """The node misbehaved (wrong, missing or duplicate replies, hung, crashed): the run fails."""


# ---------------------------------------------------------------- the node process

class NodeProcess:
    """One node process, started as Maelstrom starts it, with raw access to its pipes."""

    def __init__(self, argv, label):
        self.label = label
        self.argv = argv
        self.t_spawn = now()
        self.proc = subprocess.Popen(argv, cwd="/tmp", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, bufsize=0, close_fds=True)
        self.pid = self.proc.pid
        self.in_fd = self.proc.stdin.fileno()
        self.out_fd = self.proc.stdout.fileno()
        self.leftover = b""  # stdout bytes read past init_ok (there should be none)
        self.timed_out = None  # set by the watchdog: what it was waiting for
        self.spy = None  # (py-spy process, profile path) when --py-spy samples this node
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

    def stderr_tail(self, limit=3000):
        text = b"".join(self._stderr_tail).decode(errors="replace")
        return text[-limit:]

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

    def init(self):
        """Send init, wait for init_ok; returns its arrival time (ns)."""
        self.write(INIT_LINE)
        buf = b""
        while b"\n" not in buf:
            buf += self.read()
        t = now()
        line, _, self.leftover = buf.partition(b"\n")
        try:
            msg = json.loads(line)
            body = msg["body"]
            ok = (msg["src"] == NODE and msg["dest"] == "c0" and body["type"] == "init_ok"
                  and body["in_reply_to"] == 1)
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            raise BenchFailure("%s: first output line is not init_ok to c0: %r" % (self.label, line[:300]))
        return t

    def expect_quiet(self):
        if self.leftover:
            raise BenchFailure("%s wrote unexpected output: %r" % (self.label, self.leftover[:300]))

    # -- what /proc says about it

    def cpu_ns(self):
        try:
            return self._cpu_ns()
        except OSError:
            raise BenchFailure("%s is gone (exit status %s)" % (self.label, self.proc.poll())) from None

    def _cpu_ns(self):
        """CPU time (user+system) of all the node's threads so far, in ns.

        Sum of /proc/<pid>/task/*/schedstat (the scheduler's ns-exact run time); falls back
        to utime+stime of /proc/<pid>/stat (clock ticks) where schedstat is missing."""
        total = 0
        try:
            for tid in os.listdir("/proc/%d/task" % self.pid):
                with open("/proc/%d/task/%s/schedstat" % (self.pid, tid)) as f:
                    total += int(f.read().split()[0])
            return total
        except (OSError, ValueError, IndexError):
            with open("/proc/%d/stat" % self.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) * (10 ** 9 // os.sysconf("SC_CLK_TCK"))

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

    # -- bounds

    def watchdog(self, seconds, what):
        return _Watchdog(self, seconds, what)

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

    def finish(self, timeout=10.0):
        """Close stdin (the node should exit), reap it; kill it if it does not. Returns its status."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            status = self.proc.wait(5)
            self.exit_problem = "did not exit within %gs of stdin closing; killed" % timeout
        else:
            self.exit_problem = None if status == 0 else "exit status %s" % status
        self.proc.stdout.close()
        self._stderr_thread.join(5)
        self.proc.stderr.close()
        return status


class _Watchdog:
    """Kill the node if the block takes longer than ``seconds``; the block then fails with a
    message that says what it was waiting for (a hung node fails the run, never hangs it)."""

    def __init__(self, node, seconds, what):
        self.node, self.seconds, self.what = node, seconds, what
        self.timer = threading.Timer(seconds, self._fire)
        self.timer.daemon = True

    def _fire(self):
        self.node.timed_out = self.what
        self.node.kill()

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, kind, value, tb):
        self.timer.cancel()
        if self.node.timed_out:
            detail = "" if value is None else " (%s: %s)" % (kind.__name__, value)
            raise BenchFailure("%s: %s did not finish within %.0fs; killed%s"
                               % (self.node.label, self.what, self.seconds, detail)) from value
        return False


# ---------------------------------------------------------------- requests and replies

def echo_payload(k):
    return "Please echo %d" % k


def echo_requests(client, n, first=1):
    """Pre-encoded echo requests, as Maelstrom writes them (compact, with a top-level id)."""
    return [b'{"id":%d,"src":"%s","dest":"n1","body":{"type":"echo","msg_id":%d,"echo":"Please echo %d"}}\n'
            % (k, client.encode(), k, k) for k in range(first, first + n)]


def proxy_requests(client, n, tag, first=1):
    """Pre-encoded proxy requests to n2; the inner echo's payload names the request."""
    return [b'{"id":%d,"src":"%s","dest":"n1","body":{"type":"proxy","msg_id":%d,"target":"n2",'
            b'"inner":{"type":"echo","echo":"%s%d"}}}\n' % (k, client.encode(), k, tag, k)
            for k in range(first, first + n)]


def split_lines(chunks):
    """[(arrival_ns, bytes)] -> [(arrival_ns, line)]: a line arrives with its newline."""
    out = []
    partial = b""
    for t, data in chunks:
        if partial:
            data = partial + data
        parts = data.split(b"\n")
        partial = parts.pop()
        out.extend((t, p) for p in parts)
    if partial:
        out.append((None, partial))  # no newline ever came
    return out


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


def parse_line(line, problems):
    if line is None:
        return None
    try:
        msg = json.loads(line)
    except ValueError:
        problems.add("not a JSON line: %r" % line[:200])
        return None
    if type(msg) is not dict or set(msg) != ENVELOPE_KEYS or type(msg["body"]) is not dict:
        problems.add("not a src/dest/body envelope: %r" % line[:200])
        return None
    if msg["src"] != NODE:
        problems.add("src is %r, not n1: %r" % (msg["src"], line[:200]))
        return None
    return msg


def check_echo_replies(label, lines, client, first, send_ns, problems):
    """Every line must be the echo_ok of exactly one request; returns latencies (ns)."""
    n = len(send_ns)
    seen = bytearray(n)
    latencies = []
    for t, line in lines:
        if t is None:
            problems.add("output ends without a newline: %r" % line[:200])
            continue
        msg = parse_line(line, problems)
        if msg is None:
            continue
        body = msg["body"]
        k = body.get("in_reply_to")
        if msg["dest"] != client or type(k) is not int or not first <= k < first + n:
            problems.add("not a reply to one of %s's requests: %r" % (client, line[:200]))
            continue
        i = k - first
        if seen[i]:
            problems.add("msg_id %d answered twice: %r" % (k, line[:200]))
            continue
        seen[i] = 1
        if body.get("type") != "echo_ok" or body.get("echo") != echo_payload(k) \
                or not set(body) <= ECHO_OK_KEYS:
            problems.add("wrong answer to msg_id %d: %r" % (k, line[:200]))
            continue
        latencies.append(t - send_ns[i])
    missing = n - sum(seen)
    if missing:
        first_missing = first + seen.index(0)
        problems.add("%d of %d requests never answered (first: msg_id %d)" % (missing, n, first_missing))
    return latencies


def pct(sorted_values, p):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
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


# ---------------------------------------------------------------- scenario building blocks

def closed_loop(node, requests, concurrency, client, first, what, seconds):
    """Keep ``concurrency`` requests outstanding: each reply that arrives lets one more go.

    One thread: read whatever stdout holds (timestamp it), count its newlines, write as many
    new requests in one write (timestamp before it). Replies are parsed after the loop.
    Returns (latencies in ns, first send ns, last arrival ns, the bench's CPU ns in the loop)."""
    n = len(requests)
    send_ns = [0] * n
    chunks = []
    read, write, count = node.read, node.write, bytes.count
    with node.watchdog(seconds, what), Quiet():
        bench0 = time.process_time_ns()
        sent = min(concurrency, n)
        t0 = now()
        write(b"".join(requests[:sent]))
        send_ns[:sent] = [t0] * sent
        got = 0
        t = t0
        while got < n:
            data = read()
            t = now()
            chunks.append((t, data))
            k = count(data, b"\n")
            got += k
            if k and sent < n:
                m = min(k, n - sent)
                batch = b"".join(requests[sent:sent + m])
                ts = now()
                write(batch)
                send_ns[sent:sent + m] = [ts] * m
                sent += m
        bench_ns = time.process_time_ns() - bench0
    problems = Problems(node.label, what)
    latencies = check_echo_replies(node.label, split_lines(chunks), client, first, send_ns, problems)
    problems.check()
    return latencies, t0, t, bench_ns


def warm_up(node, n=300):
    """A few closed-loop echoes (client c9) before a timed scenario: caches, worker pools."""
    if n:
        closed_loop(node, echo_requests("c9", n), 16, "c9", 1, "warm-up", 30)


def _aborted(node, error):
    """Kill and reap a node after a failure; a BenchFailure gains the node's last stderr."""
    node.kill()
    try:
        node.proc.wait(5)
    except subprocess.TimeoutExpired:
        pass
    if not isinstance(error, BenchFailure):
        return error
    tail = node.stderr_tail().strip()
    if tail:
        return BenchFailure("%s\n--- last stderr of %s (%d bytes in all) ---\n%s"
                            % (error, node.label, node.stderr_bytes, tail))
    return error


def start_node(impl, cfg, scenario, extra_args=()):
    node = NodeProcess(impl["argv"] + list(extra_args), impl["label"])
    try:
        with node.watchdog(STARTUP_LIMIT, "init"):
            node.init()
        node.expect_quiet()
        if cfg.py_spy and impl["key"] == "node":
            attach_py_spy(node, cfg, scenario)
    except BaseException as e:
        raise _aborted(node, e)
    return node


def finish_node(node, result):
    node.finish()
    if node.exit_problem:
        result.setdefault("warnings", []).append("%s %s" % (node.label, node.exit_problem))
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
            result.setdefault("warnings", []).append("py-spy wrote no profile (see %s.log)" % path)
    return result


# ---------------------------------------------------------------- profiling (--py-spy DIR)

def attach_py_spy(node, cfg, scenario):
    """Sample the node under test with py-spy for the rest of its life (raw stacks to a file)."""
    cfg.spy_count += 1
    path = os.path.abspath(os.path.join(cfg.py_spy, "%02d-%s.txt" % (cfg.spy_count, scenario)))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    log = open(path + ".log", "wb")
    spy = subprocess.Popen([cfg.py_spy_exe, "record", "--pid", str(node.pid), "-o", path, "-f", "raw",
                            "-r", str(cfg.py_spy_rate), "--nonblocking"],
                           stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    log.close()
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
    where = where.rstrip(")")
    file = where.rsplit(":", 1)[0] if where else ""
    return "%s (%s)" % (name, os.path.basename(file)) if file else name


# ---------------------------------------------------------------- scenarios

def scenario_echo_open(impl, cfg):
    """N echo requests, written by one thread as fast as the pipe takes them (4 KiB writes),
    replies read by another, both timestamped; parsed and checked afterwards."""
    n = cfg.open_n
    node = start_node(impl, cfg, "echo-open")
    try:
        warm_up(node, cfg.warm)
        requests = echo_requests("c1", n)
        # Group the pre-encoded requests into page-sized writes.
        batches = []  # (first index, count, bytes)
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
        with node.watchdog(cfg.deadline(n, 200), what), Quiet():
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
        problems = Problems(node.label, what)
        lat = sorted(check_echo_replies(node.label, split_lines(chunks), "c1", 1, send_ns, problems))
        problems.check()
        wall = chunks[-1][0] - batch_ns[0]
        result = {
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
    except BaseException as e:
        raise _aborted(node, e)
    return finish_node(node, result)


def scenario_echo_closed(impl, cfg, concurrency):
    n = cfg.closed_n
    node = start_node(impl, cfg, "echo-closed-%d" % concurrency)
    try:
        warm_up(node, cfg.warm)
        requests = echo_requests("c1", n)
        what = "closed-loop echo, %d outstanding, %d requests" % (concurrency, n)
        cpu0 = node.cpu_ns()
        lat, t0, t1, bench_ns = closed_loop(node, requests, concurrency, "c1", 1, what,
                                            cfg.deadline(n, 2000 if concurrency == 1 else 300))
        cpu1 = node.cpu_ns()
        lat.sort()
        result = {
            "n": n,
            "concurrency": concurrency,
            "msgs_per_s": n / ((t1 - t0) / 1e9),
            "p50_us": pct(lat, 50) / 1e3,
            "p99_us": pct(lat, 99) / 1e3,
            "cpu_us_per_msg": (cpu1 - cpu0) / 1e3 / n,
            "cpu_util": (cpu1 - cpu0) / (t1 - t0),
            "bench_cpu_us_per_msg": bench_ns / 1e3 / n,
        }
    except BaseException as e:
        raise _aborted(node, e)
    return finish_node(node, result)


# In the proxy loop the bench must answer each forward at once, so it reads the forward's
# msg_id (and echo payload) in the loop. A regex over the whole chunk does it in C; a line
# the fast pattern does not fit (another key order, escapes) is parsed with json instead.
FORWARD_FAST = re.compile(rb'"dest": ?"n2"[^\n]*?"echo": ?"([^"\\\n]*)"[^\n]*?"msg_id": ?(\d+)[,}]')
FORWARD_ANY = re.compile(rb'"dest"\s*:\s*"n2"')
N2_ANSWER = b'{"src":"n2","dest":"n1","body":{"type":"echo_ok","echo":"%s","in_reply_to":%s}}\n'


def _forwards_slow(block, problems):
    """(echo, msg_id) pairs of the forwards to n2 in ``block``, parsed with json."""
    found = []
    for line in block.split(b"\n"):
        if not FORWARD_ANY.search(line):
            continue
        try:
            body = json.loads(line)["body"]
            found.append((json.dumps(body["echo"])[1:-1].encode(), b"%d" % body["msg_id"]))
        except (ValueError, KeyError, TypeError):
            problems.add("bad forward to n2: %r" % line[:200])
    return found


def proxy_loop(node, n, concurrency, client, tag, what, seconds):
    """Closed loop of proxy requests; the bench answers every forwarded echo as n2 at once.

    One thread: read what stdout holds, answer its forwards, and send as many new proxies as
    replies came, all in one write. Replies (and the forwards) are checked after the loop."""
    requests = proxy_requests(client, n, tag)
    send_ns = [0] * n
    chunks = []  # (arrival_ns, bytes) as read
    problems = Problems(node.label, what)
    read, write, count = node.read, node.write, bytes.count
    fast, slow, answer, join = FORWARD_FAST.findall, FORWARD_ANY.findall, N2_ANSWER.__mod__, b"".join
    with node.watchdog(seconds, what), Quiet():
        bench0 = time.process_time_ns()
        sent = min(concurrency, n)
        t0 = now()
        write(join(requests[:sent]))
        send_ns[:sent] = [t0] * sent
        done = 0
        buf = b""
        t = t0
        while done < n:
            data = read()
            t = now()
            chunks.append((t, data))
            if buf:
                data = buf + data
            end = data.rfind(b"\n") + 1
            if not end:
                buf = data
                continue
            block, buf = data[:end], data[end:]
            found = fast(block)
            if len(found) != len(slow(block)):
                found = _forwards_slow(block, problems)
            completed = count(block, b"\n") - len(found)
            out = list(map(answer, found))
            m = min(completed, n - sent)
            if m:
                out.append(join(requests[sent:sent + m]))
            if out:
                ts = now()
                write(join(out))
                if m:
                    send_ns[sent:sent + m] = [ts] * m
                    sent += m
            done += completed
        bench_ns = time.process_time_ns() - bench0
    # Check: each proxy forwarded once to n2, and answered once with proxy_ok carrying n2's answer.
    forwards = {}  # k -> the msg_id of its forward
    seen = bytearray(n)
    latencies = []
    prefix = tag.decode()
    for t_arrival, line in split_lines(chunks):
        if t_arrival is None:
            problems.add("output ends without a newline: %r" % line[:200])
            continue
        msg = parse_line(line, problems)
        if msg is None:
            continue
        body = msg["body"]
        if msg["dest"] == PEER:
            echo, msg_id = body.get("echo"), body.get("msg_id")
            k = int(echo[len(prefix):]) if type(echo) is str and echo.startswith(prefix) \
                and echo[len(prefix):].isdigit() else None
            if body.get("type") != "echo" or type(msg_id) is not int or k is None or not 1 <= k <= n \
                    or k in forwards or not set(body) <= {"type", "echo", "msg_id"}:
                problems.add("bad or repeated forward to n2: %r" % line[:200])
                continue
            forwards[k] = msg_id
            continue
        k = body.get("in_reply_to")
        if msg["dest"] != client or type(k) is not int or not 1 <= k <= n:
            problems.add("not a reply to one of %s's proxies: %r" % (client, line[:200]))
            continue
        if seen[k - 1]:
            problems.add("proxy %d answered twice: %r" % (k, line[:200]))
            continue
        seen[k - 1] = 1
        expected = {"type": "echo_ok", "echo": "%s%d" % (prefix, k), "in_reply_to": forwards.get(k)}
        if body.get("type") != "proxy_ok" or body.get("result") != expected or not set(body) <= PROXY_OK_KEYS:
            problems.add("wrong answer to proxy %d: %r (expected result %r)" % (k, line[:200], expected))
            continue
        latencies.append(t_arrival - send_ns[k - 1])
    missing = n - sum(seen)
    if missing:
        problems.add("%d of %d proxies never answered" % (missing, n))
    problems.check()
    return latencies, t0, t, bench_ns


def scenario_proxy(impl, cfg):
    n, concurrency = cfg.proxy_n, 64
    node = start_node(impl, cfg, "proxy")
    try:
        warm_up(node, cfg.warm)
        if cfg.warm:
            proxy_loop(node, min(cfg.warm, 300), 16, "c9", b"w", "proxy warm-up", 30)
        what = "proxy round trips, %d outstanding, %d proxies" % (concurrency, n)
        cpu0 = node.cpu_ns()
        lat, t0, t1, bench_ns = proxy_loop(node, n, concurrency, "c1", b"x", what, cfg.deadline(n, 1000))
        cpu1 = node.cpu_ns()
        lat.sort()
        result = {
            "n": n,
            "concurrency": concurrency,
            "ops_per_s": n / ((t1 - t0) / 1e9),
            "p50_us": pct(lat, 50) / 1e3,
            "p99_us": pct(lat, 99) / 1e3,
            "cpu_us_per_op": (cpu1 - cpu0) / 1e3 / n,
            "cpu_util": (cpu1 - cpu0) / (t1 - t0),
            "bench_cpu_us_per_op": bench_ns / 1e3 / n,
        }
    except BaseException as e:
        raise _aborted(node, e)
    return finish_node(node, result)


def scenario_pending(impl, cfg, rate=0):
    """N proxies to an n2 that never answers, with the node's RPC timeout set to T.

    Filled in a closed loop: at most WINDOW requests are written and not yet forwarded by
    the node, so a request's write time is close to when the node read it (its timer start)
    and the figure is about timers, not about a pipe full of unread requests. With ``rate``
    (requests/s) the fill is also paced, so the expiries come at that rate rather than at the
    node's top intake speed. The write time of a request is when the write holding it
    returned. RSS is sampled once every request has been forwarded (all N calls pending),
    before the first timeout is due."""
    n, timeout = cfg.pending_n, cfg.pending_timeout
    window = 128
    timeout_ns = int(timeout * 1e9)
    node = start_node(impl, cfg, "pending" if not rate else "pending-paced",
                      shlex.split(cfg.rpc_timeout_args.format(timeout)) if cfg.rpc_timeout_args else ())
    try:
        warm_up(node, cfg.warm)
        rss_before = node.status_kib("VmRSS")
        requests = proxy_requests("c1", n, b"p")
        batches = []  # (written_ns, first index, count)
        chunks = []
        read, write, count = node.read, node.write, bytes.count
        poller = select.poll()
        poller.register(node.out_fd, select.POLLIN)
        what = "%d pending proxies (rpc timeout %gs%s)" % (n, timeout, ", %d/s" % rate if rate else "")
        with node.watchdog(cfg.deadline(n, 1000) + timeout + (n / rate if rate else 0), what), Quiet():
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
                data = read()
                chunks.append((now(), data))
                got += count(data, b"\n")
            while got < n:  # the last forwards
                data = read()
                chunks.append((now(), data))
                got += count(data, b"\n")
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
                data = read()
                chunks.append((now(), data))
                got += count(data, b"\n")
            cpu_storm1 = node.cpu_ns()
        # Check: each request forwarded once to n2, then answered once with error code 0.
        problems = Problems(node.label, what)
        written_ns = [0] * n
        for t, first, m in batches:
            written_ns[first:first + m] = [t] * m
        forward_ns = [None] * n
        error_ns = [None] * n
        for t, line in split_lines(chunks):
            if t is None:
                problems.add("output ends without a newline: %r" % line[:200])
                continue
            msg = parse_line(line, problems)
            if msg is None:
                continue
            body = msg["body"]
            if msg["dest"] == PEER:
                echo = body.get("echo")
                try:
                    k = int(echo[1:]) - 1 if echo[0] == "p" else -1
                except (TypeError, ValueError, IndexError):
                    k = -1
                if body.get("type") != "echo" or type(body.get("msg_id")) is not int or not 0 <= k < n \
                        or forward_ns[k] is not None:
                    problems.add("bad or repeated forward to n2: %r" % line[:200])
                    continue
                forward_ns[k] = t
            elif msg["dest"] == "c1":
                irt = body.get("in_reply_to")
                if type(irt) is not int or not 1 <= irt <= n or error_ns[irt - 1] is not None:
                    problems.add("not an answer to one pending proxy: %r" % line[:200])
                    continue
                if body.get("type") != "error" or body.get("code") != 0:
                    problems.add("proxy %d: expected error code 0, got %r" % (irt, line[:200]))
                    continue
                error_ns[irt - 1] = t
            else:
                problems.add("unexpected destination: %r" % line[:200])
        lateness, timer_lateness, forward_delay = [], [], []
        for k in range(n):
            if forward_ns[k] is None or error_ns[k] is None:
                problems.add("proxy %d: forwarded %s, error %s" % (
                    k + 1, forward_ns[k] is not None, error_ns[k] is not None))
                continue
            lateness.append(error_ns[k] - written_ns[k] - timeout_ns)
            timer_lateness.append(error_ns[k] - forward_ns[k] - timeout_ns)
            forward_delay.append(forward_ns[k] - written_ns[k])
        problems.check()
        lateness.sort()
        timer_lateness.sort()
        forward_delay.sort()
        first_error = min(error_ns)
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
            result.setdefault("warnings", []).append(
                "RSS was sampled after the first timeout error had arrived (filling took %.2fs, "
                "first due %.2fs after the first write): memory per pending call is understated"
                % (result["fill_s"], timeout))
        if t_all_pending > first_due:
            result.setdefault("warnings", []).append(
                "not all %d calls were pending at once: the node took %.2fs to take them in, "
                "longer than the %gs timeout" % (n, result["fill_s"], timeout))
    except BaseException as e:
        raise _aborted(node, e)
    return finish_node(node, result)


def scenario_startup(impl, cfg):
    times = []
    warnings = []
    for _ in range(cfg.starts):
        node = NodeProcess(impl["argv"], impl["label"])
        try:
            with node.watchdog(STARTUP_LIMIT, "init"):
                t = node.init()
            node.expect_quiet()
        except BaseException as e:
            raise _aborted(node, e)
        times.append((t - node.t_spawn) / 1e6)
        node.finish()
        if node.exit_problem:
            warnings.append("%s %s" % (node.label, node.exit_problem))
    result = {"starts": len(times), "init_ms": statistics.median(times), "init_min_ms": min(times),
              "init_all_ms": times}
    if warnings:
        result["warnings"] = sorted(set(warnings))
    return result


def run_scenario(name, impl, cfg):
    """-> {result key: metrics}; echo-closed gives two results."""
    if name == "echo-open":
        return {"echo-open": scenario_echo_open(impl, cfg)}
    if name == "echo-closed":
        return {"echo-closed-1": scenario_echo_closed(impl, cfg, 1),
                "echo-closed-64": scenario_echo_closed(impl, cfg, 64)}
    if name == "proxy":
        return {"proxy-64": scenario_proxy(impl, cfg)}
    if name == "pending":
        out = {"pending": scenario_pending(impl, cfg)}
        if cfg.pending_rate:
            out["pending-paced"] = scenario_pending(impl, cfg, cfg.pending_rate)
        return out
    if name == "startup":
        return {"startup": scenario_startup(impl, cfg)}
    raise ValueError(name)


# ---------------------------------------------------------------- the report

# (result key, metric key, scenario label, metric label, format, target)
# target: None, ("ratio", op, x) on gnode/baseline, ("abs", op, x) on gnode's figure,
# or ("ref", op, x, result key, metric key): gnode / baseline's (result key, metric key).
ROWS = [
    ("echo-open", "msgs_per_s", "echo, open loop", "msgs/s", "rate", ("ratio", ">=", 0.6)),
    ("echo-open", "cpu_us_per_msg", "echo, open loop", "node CPU µs/msg", "us", ("ratio", "<=", 2.0)),
    ("echo-open", "p50_ms", "echo, open loop", "p50 latency ms", "ms", None),
    ("echo-open", "p99_ms", "echo, open loop", "p99 latency ms", "ms", None),
    ("echo-open", "peak_rss_kib", "echo, open loop", "peak RSS MiB", "mib", None),
    ("echo-open", "cpu_util", "echo, open loop", "node CPU busy (of 1 core)", "pct", None),
    ("echo-open", "bench_cpu_us_per_msg", "echo, open loop", "bench's own CPU µs/msg", "us", None),
    ("echo-closed-1", "p50_us", "echo, closed loop, 1 outstanding", "p50 latency µs", "us", ("ratio", "<=", 1.3)),
    ("echo-closed-1", "p99_us", "echo, closed loop, 1 outstanding", "p99 latency µs", "us", None),
    ("echo-closed-1", "msgs_per_s", "echo, closed loop, 1 outstanding", "msgs/s", "rate", None),
    ("echo-closed-64", "p50_us", "echo, closed loop, 64 outstanding", "p50 latency µs", "us", None),
    ("echo-closed-64", "p99_us", "echo, closed loop, 64 outstanding", "p99 latency µs", "us", None),
    ("echo-closed-64", "msgs_per_s", "echo, closed loop, 64 outstanding", "msgs/s", "rate", None),
    ("proxy-64", "ops_per_s", "proxy round trip, 64 outstanding", "proxy ops/s (baseline: its open-loop echo msgs/s)",
     "rate", ("ref", ">=", 0.35, "echo-open", "msgs_per_s")),
    ("proxy-64", "p50_us", "proxy round trip, 64 outstanding", "p50 latency µs", "us", None),
    ("proxy-64", "p99_us", "proxy round trip, 64 outstanding", "p99 latency µs", "us", None),
    ("proxy-64", "cpu_us_per_op", "proxy round trip, 64 outstanding", "node CPU µs/op", "us", None),
    ("pending", "late_p50_ms", "pending calls (timeouts)", "lateness p50 ms", "ms", None),
    ("pending", "late_p99_ms", "pending calls (timeouts)", "lateness p99 ms", "ms", ("abs", "<", 20.0)),
    ("pending", "late_max_ms", "pending calls (timeouts)", "lateness max ms", "ms", ("abs", "<", 50.0)),
    ("pending", "late_min_ms", "pending calls (timeouts)", "lateness min ms (<0: early)", "ms", None),
    ("pending", "timer_late_p99_ms", "pending calls (timeouts)", "timer-only lateness p99 ms", "ms", None),
    ("pending", "timer_late_min_ms", "pending calls (timeouts)", "timer-only lateness min ms", "ms", None),
    ("pending", "forward_delay_max_ms", "pending calls (timeouts)", "max delay write -> forward seen ms", "ms", None),
    ("pending", "fill_s", "pending calls (timeouts)", "time to get all calls pending s", "s", None),
    ("pending", "cpu_us_per_call_start", "pending calls (timeouts)", "node CPU µs per call started", "us", None),
    ("pending", "cpu_us_per_timeout", "pending calls (timeouts)", "node CPU µs per timeout answered", "us", None),
    ("pending", "kib_per_pending", "pending calls (timeouts)", "memory per pending call KiB", "kib", ("abs", "<", 8.0)),
    ("pending-paced", "late_p50_ms", "pending calls, fill paced", "lateness p50 ms", "ms", None),
    ("pending-paced", "late_p99_ms", "pending calls, fill paced", "lateness p99 ms", "ms", None),
    ("pending-paced", "late_max_ms", "pending calls, fill paced", "lateness max ms", "ms", None),
    ("pending-paced", "forward_delay_max_ms", "pending calls, fill paced", "max delay write -> forward seen ms", "ms", None),
    ("pending-paced", "fill_s", "pending calls, fill paced", "time to get all calls pending s", "s", None),
    ("startup", "init_ms", "start-up", "Popen -> init_ok ms (median)", "ms", ("abs", "<", 120.0)),
]


def fmt(value, kind):
    if value is None:
        return "—"
    if kind == "rate":
        return "{:,.0f}".format(value)
    if kind == "us":
        return "%.1f" % value if value < 1000 else "{:,.0f}".format(value)
    if kind == "ms":
        return "%.2f" % value
    if kind == "s":
        return "%.2f" % value
    if kind == "mib":
        return "%.1f" % (value / 1024.0)
    if kind == "kib":
        return "%.2f" % value
    if kind == "pct":
        return "%.0f%%" % (100 * value)
    return str(value)


def _compare(a, op, b):
    return {"<": a < b, "<=": a <= b, ">=": a >= b, ">": a > b}[op]


def medians(rounds, impl, key, metric):
    values = [r[impl][key][metric] for r in rounds
              if impl in r and key in r[impl] and r[impl][key].get(metric) is not None]
    return (statistics.median(values) if values else None), values


def build_table(rounds, node_label):
    rows = []
    for key, metric, scen, label, kind, target in ROWS:
        base, base_all = medians(rounds, "baseline", key, metric)
        mine, mine_all = medians(rounds, "node", key, metric)
        if mine is None and base is None:
            continue
        shown_base = base
        ratio = None
        verdict = ""
        target_text = ""
        if target and target[0] == "ref":
            _, op, x, ref_key, ref_metric = target
            shown_base, _ = medians(rounds, "baseline", ref_key, ref_metric)
            target_text = "%s %gx baseline echo open-loop msgs/s" % (op, x)
        if shown_base and mine is not None:
            ratio = mine / shown_base
        if target:
            if target[0] == "ratio":
                target_text = "%s %gx" % (target[1], target[2])
                ok = None if ratio is None else _compare(ratio, target[1], target[2])
            elif target[0] == "ref":
                ok = None if ratio is None else _compare(ratio, target[1], target[2])
            else:
                unit = {"ms": " ms", "kib": " KiB"}.get(kind, "")
                target_text = "%s %g%s" % (target[1], target[2], unit)
                ok = None if mine is None else _compare(mine, target[1], target[2])
            verdict = "n/a" if ok is None else ("met" if ok else "**MISSED**")
        rows.append({
            "scenario": scen, "metric": label, "key": key, "metric_key": metric,
            "baseline": shown_base, "node": mine, "ratio": ratio, "kind": kind,
            "target": target_text, "verdict": verdict,
            "baseline_rounds": base_all, "node_rounds": mine_all,
        })
    return rows


def markdown(rows, node_label):
    out = ["| scenario | metric | baseline | %s | ratio | target |" % node_label,
           "|---|---|---:|---:|---:|---|"]
    for r in rows:
        target = ("%s: %s" % (r["target"], r["verdict"])) if r["target"] else ""
        out.append("| %s | %s | %s | %s | %s | %s |" % (
            r["scenario"], r["metric"], fmt(r["baseline"], r["kind"]), fmt(r["node"], r["kind"]),
            "—" if r["ratio"] is None else "%.2fx" % r["ratio"], target))
    return "\n".join(out)


def spread(rows, node_label):
    out = ["| scenario | metric | baseline per round | %s per round |" % node_label, "|---|---|---|---|"]
    for r in rows:
        out.append("| %s | %s | %s | %s |" % (
            r["scenario"], r["metric"],
            " / ".join(fmt(v, r["kind"]) for v in r["baseline_rounds"]) or "—",
            " / ".join(fmt(v, r["kind"]) for v in r["node_rounds"]) or "—"))
    return "\n".join(out)


# ---------------------------------------------------------------- command line

class Config:
    def __init__(self, args):
        q = args.quick
        self.rounds = args.rounds if args.rounds is not None else (1 if q else 3)
        self.open_n = args.open_n or (5000 if q else 50000)
        self.closed_n = args.closed_n or (2000 if q else 20000)
        self.proxy_n = args.proxy_n or (3000 if q else 20000)
        self.pending_n = args.pending_n or (2000 if q else 10000)
        self.pending_timeout = args.pending_timeout
        self.rpc_timeout_args = args.rpc_timeout_args
        self.pending_rate = args.pending_rate
        self.starts = args.starts or (3 if q else 7)
        self.warm = args.warm if args.warm is not None else (100 if q else 300)
        self.timeout_scale = args.timeout_scale
        self.py_spy = args.py_spy
        self.py_spy_rate = args.py_spy_rate
        self.py_spy_exe = None
        self.spy_count = 0
        if self.py_spy:
            self.py_spy_exe = shutil.which("py-spy")
            if not self.py_spy_exe:
                raise SystemExit("--py-spy needs py-spy on PATH (pip install py-spy)")

    def deadline(self, n, us_per_item):
        """Generous bound for a timed block: 20 s plus ``us_per_item`` µs per request."""
        return (20.0 + n * us_per_item / 1e6) * self.timeout_scale


def resolve_command(cmd):
    """Maelstrom runs the canonical path of the binary; so do we (relative to our cwd)."""
    argv = shlex.split(cmd)
    if not argv:
        raise SystemExit("empty node command")
    exe = argv[0]
    if os.sep not in exe:
        found = shutil.which(exe)
        if not found:
            raise SystemExit("node command not found: %s" % exe)
        exe = found
    exe = os.path.realpath(exe)
    if not os.access(exe, os.X_OK):
        raise SystemExit("node command is not executable: %s" % exe)
    return [exe] + argv[1:]


def environment(node_argv):
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
    import hashlib
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


def main(argv=None):
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="scenarios: " + ", ".join(SCENARIOS))
    p.add_argument("--rounds", type=int, help="interleaved rounds, medians reported (default 3; --quick: 1)")
    p.add_argument("--quick", action="store_true", help="small sizes, one round: a smoke run")
    p.add_argument("--only", action="append", metavar="SCENARIO",
                   help="run only these scenarios (comma-separated or repeated): " + ", ".join(SCENARIOS))
    p.add_argument("--json", metavar="PATH",
                   help="save raw results here (default: bench/results/<UTC time>.json)")
    p.add_argument("--no-save", action="store_true", help="do not save raw results")
    p.add_argument("--node", default=DEFAULT_NODE, metavar="CMD",
                   help="the node under test, a command line (default: gnode.py)")
    p.add_argument("--node-label", default=None, help="its column name (default: gnode, or the command's name)")
    p.add_argument("--baseline", default=DEFAULT_BASELINE, metavar="CMD",
                   help="the yardstick echo node (default: bench/baseline_echo.py)")
    p.add_argument("--no-baseline", action="store_true", help="run the node under test only")
    p.add_argument("--rpc-timeout-args", default="--rpc-timeout {}", metavar="TEMPLATE",
                   help="arguments that set the node's RPC timeout in the pending scenario "
                        "({} is the seconds; empty: pass nothing) (default: %(default)r)")
    p.add_argument("--pending-timeout", type=float, default=2.0, metavar="SECONDS",
                   help="RPC timeout in the pending scenario (default: 2)")
    p.add_argument("--pending-rate", type=int, default=10000, metavar="PER_S",
                   help="also run the pending scenario with its fill paced at this many requests/s "
                        "(default 10000; 0: skip)")
    p.add_argument("--open-n", type=int, help="requests in the open loop (default 50000)")
    p.add_argument("--closed-n", type=int, help="requests per closed loop (default 20000)")
    p.add_argument("--proxy-n", type=int, help="proxy round trips (default 20000)")
    p.add_argument("--pending-n", type=int, help="pending proxies (default 10000)")
    p.add_argument("--starts", type=int, help="starts per round in the start-up scenario (default 7)")
    p.add_argument("--warm", type=int, help="warm-up echoes before each timed scenario (default 300)")
    p.add_argument("--timeout-scale", type=float, default=1.0,
                   help="multiply every hang-detection deadline by this (default 1)")
    p.add_argument("--py-spy", metavar="DIR",
                   help="sample the node under test with py-spy (raw stacks into DIR) and print where "
                        "its time goes; the figures of such a run are perturbed")
    p.add_argument("--py-spy-rate", type=int, default=500, metavar="HZ", help="samples per second (default 500)")
    p.add_argument("--strict", action="store_true", help="exit with status 2 if any target is missed")
    args = p.parse_args(argv)

    only = []
    for item in args.only or SCENARIOS:
        for name in item.split(","):
            name = name.strip()
            if name not in SCENARIOS:
                p.error("unknown scenario %r (choose from %s)" % (name, ", ".join(SCENARIOS)))
            if name not in only:
                only.append(name)
    only = [s for s in SCENARIOS if s in only]
    cfg = Config(args)
    node_argv = resolve_command(args.node)
    label = args.node_label or ("gnode" if args.node == DEFAULT_NODE else os.path.basename(node_argv[0]))
    impls = [] if args.no_baseline else [{"key": "baseline", "label": "baseline",
                                           "argv": resolve_command(args.baseline)}]
    impls.append({"key": "node", "label": label, "argv": node_argv})
    env = environment(node_argv)

    print("# gnode bench: %s, %d round(s), scenarios: %s" % (env["date"], cfg.rounds, ", ".join(only)))
    print("node: %s | baseline: %s" % (" ".join(node_argv), "—" if args.no_baseline else " ".join(impls[0]["argv"])))
    print("python %s, gevent %s, %s cpus, load %s, repo %s" % (
        env["python"], env.get("gevent", "?"), env["cpus"], " ".join(env["loadavg"]), env.get("git", "?")))
    print("sizes: open %d, closed %d, proxy %d, pending %d (timeout %gs; paced run %s), starts %d, warm-up %d" % (
        cfg.open_n, cfg.closed_n, cfg.proxy_n, cfg.pending_n, cfg.pending_timeout,
        "%d/s" % cfg.pending_rate if cfg.pending_rate else "off", cfg.starts, cfg.warm), flush=True)

    rounds = []
    warnings = []
    failure = None
    env["node_code"] = code_fingerprint(node_argv)
    print("node code fingerprint %s" % env["node_code"], flush=True)
    t_start = time.monotonic()
    try:
        for r in range(cfg.rounds):
            this = {}
            rounds.append(this)
            for scen in only:
                for impl in impls:
                    if impl["key"] == "baseline" and scen not in BASELINE_SCENARIOS:
                        continue
                    t = time.monotonic()
                    res = run_scenario(scen, impl, cfg)
                    this.setdefault(impl["key"], {}).update(res)
                    for key, metrics in res.items():
                        for w in metrics.get("warnings", ()):
                            warnings.append("round %d, %s, %s: %s" % (r + 1, key, impl["label"], w))
                    print("  round %d/%d  %-11s %-9s %5.1fs  %s" % (
                        r + 1, cfg.rounds, scen, impl["label"], time.monotonic() - t,
                        "; ".join(_summary(k, m) for k, m in res.items())), flush=True)
    except BenchFailure as e:
        failure = str(e)
    except KeyboardInterrupt:
        failure = "interrupted"

    rows = build_table(rounds, label)
    env["loadavg_after"] = open("/proc/loadavg").read().split()[:3]
    env["node_code_after"] = code_fingerprint(node_argv)
    if env["node_code_after"] != env["node_code"]:
        warnings.append("the node's code (%s or its handlers/) changed during the run: "
                        "the rounds may mix versions" % node_argv[0])
    print()
    if rows:
        print(markdown(rows, label))
        if cfg.rounds > 1:
            print("\nPer-round values (the table shows their medians):\n")
            print(spread(rows, label))
    if warnings:
        print("\nWarnings:")
        for w in warnings:
            print("  - " + w)
    print("\n%.0fs in all; load average before %s, after %s" % (
        time.monotonic() - t_start, " ".join(env["loadavg"]), " ".join(env["loadavg_after"])))

    if not args.no_save:
        path = args.json or os.path.join(HERE, "results", datetime.datetime.now(datetime.timezone.utc)
                                         .strftime("%Y%m%dT%H%M%SZ") + ".json")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            json.dump({"env": env, "config": vars(cfg), "node": node_argv, "node_label": label,
                       "baseline": None if args.no_baseline else impls[0]["argv"], "scenarios": only,
                       "rounds": rounds, "table": rows, "warnings": warnings, "failure": failure},
                      f, indent=1)
        print("raw results: %s" % path)
    if failure:
        print("\nBENCH FAILED: %s" % failure, file=sys.stderr)
        return 1
    if args.strict and any(r["verdict"] == "**MISSED**" for r in rows):
        return 2
    return 0


def _summary(key, m):
    if key == "echo-open":
        return "%s: %.0f msgs/s, %.1f µs CPU/msg" % (key, m["msgs_per_s"], m["cpu_us_per_msg"])
    if key.startswith("echo-closed"):
        return "%s: p50 %.0f µs, %.0f msgs/s" % (key, m["p50_us"], m["msgs_per_s"])
    if key == "proxy-64":
        return "%s: %.0f ops/s, p50 %.0f µs" % (key, m["ops_per_s"], m["p50_us"])
    if key.startswith("pending"):
        return "%s: late p99 %.1f ms, max %.1f ms, %.2f KiB/call" % (
            key, m["late_p99_ms"], m["late_max_ms"], m["kib_per_pending"])
    if key == "startup":
        return "%s: %.1f ms" % (key, m["init_ms"])
    return key


if __name__ == "__main__":
    sys.exit(main())
