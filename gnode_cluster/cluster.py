"""The cluster: node processes on a Network, Maelstrom's services, and clients, run by one
loop thread; ``Cluster`` is its API for the caller's thread.

One thread, with ``selectors`` over every node's pipes and the network's deadlines as its
timeout, does all the routing: delivery order then follows from one heap, no lock guards
the network, and 25 nodes cost one thread, not 75. The caller's thread hands it work
through a queue and a wake-up pipe, and waits on futures.
"""
import itertools
import json
import os
import queue
import random
import selectors
import shutil
import sys
import tempfile
import threading
import time
import traceback
import weakref
from concurrent.futures import Future, TimeoutError as FutureTimeout

from . import journal
from .net import Latency, Network
from .process import ClusterNode
from .protocol import RPCTimeout, envelope_problem, raise_for_error
from .services import default_services

INIT_TIMEOUT = 10.0  # seconds Maelstrom gives a node to answer init
DEFAULT_NODES = ("n1", "n2", "n3", "n4", "n5")  # Maelstrom's, with neither --node-count nor --nodes
REJECTED_LINE_SHOWN = 2000  # characters of a rejected line in the crash report: whole, unless huge


class ClusterError(Exception):
    """The cluster cannot go on as Maelstrom would: a node wrote a line Maelstrom rejects,
    exited, or did not answer init. The message names the node, the line and its stderr."""


def node_names(node_count=None, nodes=None):
    """The test's node ids as Maelstrom names them: n0..n(N-1) for a count, else the names
    given, else n1..n5."""
    if node_count is not None:
        if node_count < 1:
            raise ValueError("node_count must be 1 or more, not %r" % (node_count,))
        return ["n%d" % i for i in range(node_count)]
    return list(nodes) if nodes else list(DEFAULT_NODES)


class Client:
    """A Maelstrom client (``c`` and a number): its own msg_ids from 1, one request at a
    time. One whose request timed out is closed, as Maelstrom closes it: a node's late
    answer to it is then a line Maelstrom rejects."""

    def __init__(self, cluster, name):
        self.cluster = cluster
        self.name = name
        self.closed = False
        self._msg_ids = itertools.count(1)

    def __repr__(self):
        return "Client(%r)" % self.name

    def send(self, node, body):
        """Send ``body`` to ``node`` with this client's next msg_id, and return at once a
        Future of the answer's body (an error answer's too); ``request`` waits on it."""
        if self.closed:
            raise ValueError("client %s is closed (a request of its timed out): open another" % self.name)
        msg_id = next(self._msg_ids)
        return self.cluster._loop.call(self.cluster._client_send, self.name, node, {**body, "msg_id": msg_id}).result()

    def request(self, node, body, timeout=5.0):
        """Send ``body`` to ``node`` and return the answer's body; raise RPCTimeout after
        ``timeout`` seconds (and close this client), or the RPCError (gnode_cluster.RPCError) of an error answer's code."""
        answer = self.send(node, body)
        try:
            reply = self.cluster.wait(answer, timeout)
        except RPCTimeout:
            self.close()
            raise
        return raise_for_error(reply)


    def close(self):
        """Take this client off the network, as Maelstrom closes one: an answer to it is
        then a line Maelstrom rejects."""
        if not self.closed:
            self.closed = True
            self.cluster._loop.call(self.cluster._close_client, self.name).result()


class Cluster:
    """Nodes of ``bin`` on a local network that behaves like Maelstrom's, with its services.

    ``bin`` is started as Maelstrom starts it, once per node (``node_count`` nodes n0..,
    or the names in ``nodes``, else n1..n5), with ``args``, the caller's environment plus
    ``env``, and ``--handlers`` before ``args`` when ``handlers`` is given (for gnode nodes).
    ``latency`` is the mean server-to-server latency in ms, ``latency_dist`` constant,
    uniform or exponential. Node logs and the journal go to ``log_dir`` (default: a new
    temporary folder). ``seed`` makes latencies and services' choices repeatable;
    ``inherit_env=False`` gives the nodes ``env`` alone; ``log_stderr=True`` copies every
    line a node writes on stderr to the caller's stderr too, prefixed with the node's id.
    ``canonical=False`` runs ``bin`` by the path given, not its real path as Maelstrom does:
    for an interpreter in a virtualenv, whose real path is outside it. Use it as a context manager:
    every process is ended on the way out.
    """

    def __init__(self, bin, node_count=None, nodes=None, args=(), env=None, handlers=None, latency=0,
                 latency_dist="constant", log_dir=None, seed=None, inherit_env=True, log_stderr=False,
                 canonical=True):
        self.nodes = node_names(node_count, nodes)
        self.log_stderr = log_stderr  # also copy each node's stderr lines to ours, named
        self.log_dir = log_dir or tempfile.mkdtemp(prefix="gnode-cluster-")
        os.makedirs(os.path.join(self.log_dir, "node-logs"), exist_ok=True)
        found = bin if os.sep in bin else shutil.which(bin) or bin  # a bare name: from PATH, as a shell would
        command = [os.path.realpath(found) if canonical else found]
        if handlers is not None:
            command += ["--handlers", os.path.abspath(handlers)]
        self._command = command + list(args)
        self._env = {**(os.environ if inherit_env else {}), **(env or {})}
        rng = random.Random(seed)
        self._journal_file = open(os.path.join(self.log_dir, journal.FILE), "w")
        self._journal = []
        self._services = default_services(rng)
        self.network = Network(self.nodes, self._services, Latency(latency, latency_dist, rng), self._record)
        self._processes = {}
        self._clients = itertools.count()
        self._waiting = {}  # (client, msg_id) -> Future of its answer
        self._failures = []
        self._operations = 0
        self._started = time.monotonic()
        self._loop = _Loop(now=self.elapsed, next_deadline=self.network.next_deadline, deliver=self._deliver,
                           node_wrote=self._node_wrote, node_exited=self._node_exited,
                           node_logged=self._node_logged, failed=self._failures.append)
        self._finalizer = weakref.finalize(self, _end_processes, self._processes)

    # -- life

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, kind, error, traceback):
        self.stop()
        if kind is None:
            self.check()

    def start(self):
        """Start every node, send each its init, and wait until all have answered (10 s)."""
        self._loop.start()
        try:
            inits = self._loop.call(self._start_nodes).result()
            deadline = time.monotonic() + INIT_TIMEOUT
            for name, answer in inits.items():
                try:
                    reply = self.wait(answer, max(0.0, deadline - time.monotonic()))
                except RPCTimeout:
                    self._fail(name, "did not answer init within %gs" % INIT_TIMEOUT)
                    self.check()
                if reply.get("type") != "init_ok":
                    self._fail(name, "answered init with %s, not init_ok" % json.dumps(reply))
                    self.check()
        except BaseException:
            self.stop()
            raise

    def stop(self):
        """End every node (SIGKILL, as Maelstrom does) and the loop; close the logs."""
        self._loop.stop()
        _end_processes(self._processes)
        if not self._journal_file.closed:
            self._journal_file.close()
            journal.compress(os.path.join(self.log_dir, journal.FILE))

    @property
    def failed(self):
        """Whether something happened that Maelstrom fails a run for (``check`` raises it)."""
        return bool(self._failures)

    @property
    def running(self):
        """Whether the cluster's loop is still running (until ``stop``)."""
        return self._loop.running

    def check(self):
        """Raise ClusterError if anything went wrong that Maelstrom would have failed on."""
        if self._failures:
            raise ClusterError("\n\n".join(self._failures))

    # -- what a test does

    def client(self):
        """A new client to reuse for requests, one at a time."""
        self.check()
        name = "c%d" % next(self._clients)
        self._loop.call(self.network.open_client, name).result()
        return Client(self, name)

    def request(self, node, body, timeout=5.0):
        """One request from a fresh client, as a Maelstrom worker makes it: the answer's
        body, or RPCTimeout, or the RPCError (gnode_cluster.RPCError) of an error answer."""
        return self.client().request(node, body, timeout)

    def partition(self, groups):
        """Cut the nodes into ``groups``: a message between groups is dropped when due."""
        self._loop.call(self.network.partition, groups).result()

    def isolate(self, node):
        self._loop.call(self.network.isolate, node).result()

    def set_grudge(self, grudge):
        """The general partition: each node of ``grudge`` drops what the nodes it names send."""
        self._loop.call(self.network.set_grudge, grudge).result()

    def heal(self):
        """End every partition: what is due from now on is delivered."""
        self._loop.call(self.network.heal).result()

    def journal(self):
        """Every send, delivery and drop so far: dicts with time (s from the start), event,
        from, to, id and body."""
        return journal.read(self._loop.call(list, self._journal).result())

    def log(self, node):
        """What ``node`` has written on stderr so far."""
        with open(os.path.join(self.log_dir, "node-logs", node + ".log"), encoding="utf-8", errors="replace") as f:
            return f.read()

    def net_stats(self):
        """Messages and msgs-per-op, all, clients' and servers', as Maelstrom counts them."""
        return self._loop.call(self.network.stats, self._operations).result()

    # -- in the loop thread

    def _start_nodes(self):
        inits = {}
        for name in self.nodes:
            log_path = os.path.join(self.log_dir, "node-logs", name + ".log")
            try:
                process = ClusterNode(name, self._command, self._env, log_path)
            except OSError as e:
                raise ClusterError("cannot start %s for node %s: %s" % (self._command[0], name, e)) from None
            self._processes[name] = process
            self._loop.watch(process)
        for name in self.nodes:  # every node is on the network before any init goes out
            client = "c%d" % next(self._clients)
            self.network.open_client(client)
            inits[name] = self._request(client, name, {"type": "init", "msg_id": 1, "node_id": name,
                                                       "node_ids": list(self.nodes)})
        return inits

    def _client_send(self, client, node, body):
        self._operations += 1
        return self._request(client, node, body)

    def _request(self, client, node, body):
        if node not in self.nodes:
            raise ValueError("%r is not a node of this cluster (%s)" % (node, ", ".join(self.nodes)))
        answer = self._waiting[client, body["msg_id"]] = Future()
        self.network.send(self.elapsed(), client, node, body)
        return answer

    def _close_client(self, client):
        self.network.close_client(client)
        for key in [key for key in self._waiting if key[0] == client]:
            del self._waiting[key]

    def _node_wrote(self, process, line):
        """Route a line a node wrote; False if it was one Maelstrom rejects, after which
        Maelstrom reads nothing more from that node, and nor does the cluster."""
        problem, envelope = envelope_problem(line, self.network.is_member)
        if problem:
            text = line.decode("utf-8", "replace").rstrip("\n")
            if len(text) > REJECTED_LINE_SHOWN:
                text = "%s ... (%d characters in all)" % (text[:REJECTED_LINE_SHOWN], len(text))
            self._fail(process.name, "wrote a line Maelstrom rejects (%s), after which Maelstrom reads "
                       "nothing more from it:\n  %s" % (problem, text))
            return False
        self.network.send(self.elapsed(), envelope["src"], envelope["dest"], envelope["body"])
        return True

    def _node_logged(self, process, lines):
        if self.log_stderr:
            for line in lines:
                sys.stderr.write("%s: %s\n" % (process.name, line))

    def _node_exited(self, process):
        status = process.process.poll()
        if status is None:
            status = process.process.wait()
        self._fail(process.name, "exited with status %s before the end of the test" % status)

    def _deliver(self, now):
        written = set()
        for envelope in self.network.due(now):
            dest = envelope.dest
            if dest in self._processes:
                self._processes[dest].write(envelope.line())
                written.add(dest)
            elif dest in self._services:
                reply = self._services[dest].handle(envelope.src, envelope.body)
                if reply is not None:
                    self.network.send(now, dest, envelope.src, reply)
            else:  # a client: the answer it waits for, or one it throws away, as Maelstrom's do
                answer = self._waiting.pop((dest, envelope.body.get("in_reply_to")), None)
                if answer is not None:
                    answer.set_result(envelope.body)
        for dest in written:  # one write a node per turn, however many lines
            if self._processes[dest].flush():
                self._loop.watch_stdin(self._processes[dest])

    def _record(self, time, event, envelope):
        # Kept as text: a string is no work for the garbage collector, while a dict per event
        # made each full collection of a busy cluster a pause of tens of ms in delivery.
        line = journal.line(time, event, envelope)
        self._journal.append(line)
        self._journal_file.write(line)

    def elapsed(self):
        """Seconds since the cluster started: the journal's clock, and the history's."""
        return time.monotonic() - self._started

    def _fail(self, node, what):
        process = self._processes.get(node)
        tail = process.stderr_tail if process else []
        self._failures.append("node %s %s\n%s" % (node, what, "\n".join(
            ["its stderr, last %d lines:" % len(tail)] + ["  " + line for line in tail] if tail else
            ["its stderr: (empty)"])))

    # -- the caller's waits

    def wait(self, answer, timeout):
        """The result of ``answer`` (a Future from ``Client.send``); RPCTimeout after
        ``timeout`` seconds; ClusterError at once if the cluster fails meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            self.check()
            try:
                return answer.result(timeout=min(0.05, max(0.0, deadline - time.monotonic())))
            except FutureTimeout:
                if time.monotonic() >= deadline:
                    raise RPCTimeout("no answer within %gs" % timeout) from None


class _Loop:
    """The cluster's thread: it reads every node's pipes, delivers what the network says is
    due, and runs what the caller's thread hands it (``call``). It is handed what it calls
    back: ``now()``, the network's ``next_deadline()``, ``deliver(now)``, and for a node
    process ``node_wrote(process, line)`` (False: read no more of its stdout),
    ``node_logged(process, lines)`` (its stderr) and ``node_exited(process)``; ``failed(text)``
    is told of a bug of the loop's own."""

    def __init__(self, now, next_deadline, deliver, node_wrote, node_logged, node_exited, failed):
        self._now = now
        self._next_deadline = next_deadline
        self._deliver = deliver
        self._node_wrote = node_wrote
        self._node_logged = node_logged
        self._node_exited = node_exited
        self._failed = failed
        self._selector = selectors.DefaultSelector()
        self._calls = queue.SimpleQueue()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        self._selector.register(self._wake_read, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._run, name="gnode-cluster", daemon=True)
        self.running = False

    def start(self):
        self.running = True
        self._thread.start()

    def stop(self):
        if self.running:
            self.running = False
            os.write(self._wake_write, b"x")
            self._thread.join(5)

    def call(self, fn, *args):
        """Run ``fn(*args)`` in the loop thread; return a Future of its result."""
        result = Future()
        self._calls.put((result, fn, args))
        os.write(self._wake_write, b"x")
        return result

    def watch(self, process):
        self._selector.register(process.stdout, selectors.EVENT_READ, (process, "stdout"))
        self._selector.register(process.stderr, selectors.EVENT_READ, (process, "stderr"))

    def watch_stdin(self, process):
        try:
            self._selector.register(process.stdin, selectors.EVENT_WRITE, (process, "stdin"))
        except KeyError:
            pass  # already watched

    def _run(self):
        try:
            while self.running:
                deadline = self._next_deadline()
                timeout = None if deadline is None else max(0.0, deadline - self._now())
                for key, _ in self._selector.select(timeout):
                    if key.data is None:
                        self._run_calls()
                    else:
                        self._pipe_ready(*key.data)
                    self._deliver(self._now())  # between pipes too: a busy turn delays no delivery
                self._deliver(self._now())
        except BaseException:  # a bug of ours: say so, rather than leave the caller waiting
            self._failed("the cluster's loop failed:\n" + traceback.format_exc())

    def _run_calls(self):
        try:
            os.read(self._wake_read, 4096)
        except BlockingIOError:
            pass
        while True:
            try:
                result, fn, args = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                result.set_result(fn(*args))
            except BaseException as e:
                result.set_exception(e)

    def _pipe_ready(self, process, pipe):
        if pipe == "stdin":
            if not process.flush():
                self._selector.unregister(process.stdin)
        elif pipe == "stderr":
            lines = process.read_stderr()
            if lines is None:
                self._selector.unregister(process.stderr)
            else:
                self._node_logged(process, lines)
        else:
            lines = process.read_stdout()
            if lines is None:
                self._selector.unregister(process.stdout)
                self._node_exited(process)
                return
            for line in lines:
                if not self._node_wrote(process, line):
                    self._selector.unregister(process.stdout)
                    break


def _end_processes(processes):
    for process in list(processes.values()):
        process.close()
    processes.clear()
