"""A Maelstrom test on the local cluster, as ``maelstrom test`` runs one: workers each
bound to a node with one request outstanding, paced to ``rate``; the partition nemesis;
the final phase; then the history goes to the checkers, and the results to the store.

``run_test(workload, bin, **options)`` is the whole of it; the command line (cli.py) only
parses Maelstrom's flags into those options.
"""
import random
import threading
import time

from . import report, store
from .cluster import Cluster, ClusterError
from .nemesis import Schedule
from .options import resolve
from .protocol import RPCError, RPCTimeout, raise_for_error
from .workload import SchemaError, SetupError, workload_class

def run_test(workload=None, bin=None, on_progress=None, **options):
    """Run Maelstrom's ``workload`` (default lin-kv) against the executable ``bin`` on the
    local cluster, with Maelstrom's options (underscored: ``node_count``, ``time_limit``,
    ``rate``, ...; each is in gnode_cluster.options.OPTIONS); return its Result. Bad
    options raise ValueError. ``on_progress(progress)``, if given, is called every half
    second of the main phase with ``_Test.progress()``'s dict (the command line's progress
    line)."""
    options = resolve(workload=workload, bin=bin, **options)
    if options["bin"] is None:
        raise ValueError("--bin: the node executable is required")
    rng = random.Random(options["seed"])
    test = _Test(workload_class(options["workload"])(options, rng), options["bin"], options, rng, on_progress)
    return test.run()


class _Test:
    """One test's run: its cluster, workers, nemesis, history and store folder."""

    WATCH_EVERY = 0.5  # seconds between two calls of on_progress

    def __init__(self, workload, bin, options, rng, on_progress=None):
        self.workload = workload
        self._on_progress = on_progress
        self.options = options
        self.rng = rng
        # Their own generators, drawn before any thread runs: the workers draw from ``rng`` in
        # whatever order they run, which must not change the pacing or the nemesis of a seed.
        self._cluster_seed = rng.random()
        self._pace_rng = random.Random(rng.random())
        self._nemesis_rng = random.Random(rng.random())
        self.bin = bin
        self.path = store.new_folder(options["store"], workload.name)
        self.history = []
        self._history_lock = threading.Lock()
        self._pace_lock = threading.Lock()
        self._next_op_at = 0.0
        self._main_started = self._main_ends = 0.0  # set as the main phase starts
        self._stop = threading.Event()
        self.crash = None
        self._schedule = None  # the nemesis's, once it runs
        self.processes = {}  # worker index -> its current process id, kept from one phase to the next

    # -- the run

    def run(self):
        options = self.options
        self.cluster = Cluster(self.bin, nodes=options["nodes"], args=options["args"], latency=options["latency"],
                               latency_dist=options["latency_dist"], log_dir=self.path, seed=self._cluster_seed,
                               log_stderr=options["log_stderr"])
        try:
            self.cluster.start()
            try:
                self.workload.setup(self.cluster)
            except (SetupError, SchemaError) as e:
                raise ClusterError("the set-up failed: %s" % e) from None
            self._main_phase()
            if self.workload.final_phase and self.crash is None:
                self._final_phase()
            self.cluster.check()
        except ClusterError as e:
            self.crash = str(e)
        finally:
            net = self.cluster.net_stats() if self.cluster.running else None
            self.cluster.stop()
        results = store.results(self.workload, self.client_history(), self.options, net, self.crash,
                                store.partitions(self.history))
        store.write(self.path, results, self.history)
        report.write(self.path, results, self.history)
        return store.Result(results, self.path)

    def _main_phase(self):
        options = self.options
        self._main_started = time.monotonic()
        self._main_ends = self._main_started + options["time_limit"]
        self._next_op_at = time.monotonic()
        threads = [threading.Thread(target=self._work, args=(i, self._paced_ops(i)), daemon=True)
                   for i in range(options["concurrency"])] if options["rate"] > 0 else []
        if "partition" in options["nemesis"]:
            threads.append(threading.Thread(target=self._nemesis, daemon=True))
        if self._on_progress is not None:
            threads.append(threading.Thread(target=self._watch, daemon=True))
        for thread in threads:
            thread.start()
        while time.monotonic() < self._main_ends and not self.cluster.failed:
            time.sleep(0.05)
        self._stop.set()
        for thread in threads:
            thread.join(self.workload.timeout() + 1)
        self.cluster.check()

    def _final_phase(self):
        """Heal, wait for recovery, then each worker's final operations, as Maelstrom does."""
        self.cluster.heal()
        if self._partitioned():
            self._record_nemesis("stop-partition", None)
        time.sleep(self.options["final_wait"])
        threads = [threading.Thread(target=self._work, args=(i, self.workload.final_ops(i)), daemon=True)
                   for i in range(self.options["concurrency"])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.workload.timeout() * 4 + 15)

    # -- workers

    def _paced_ops(self, index):
        """Worker ``index``'s operations of the main phase, each at the time the pacing gives."""
        while not self._stop.is_set():
            at = self._pace()
            if at >= self._main_ends:
                return
            delay = at - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            yield self.workload.next_op(index)

    def _work(self, index, ops):
        """Worker ``index`` runs ``ops``. A failed cluster ends it quietly: the main thread
        finds the failure and reports it, so no thread's traceback reaches the terminal."""
        try:
            worker = _Worker(self, index)
        except ClusterError:
            return
        try:
            for op in ops:
                worker.run(op)
        except ClusterError:
            pass
        finally:
            worker.close()

    def _pace(self):
        """When the next operation may start: uniformly 0 to 2/rate after the one before it,
        across all workers (Jepsen's stagger)."""
        with self._pace_lock:
            at = self._next_op_at
            self._next_op_at = at + self._pace_rng.uniform(0, 2 / self.options["rate"])
            return at

    def record(self, entry):
        entry["time"] = round(self.cluster.elapsed(), 6)  # the journal's clock: the report lines the two up
        with self._history_lock:
            self.history.append(entry)

    # -- the nemesis

    def _nemesis(self):
        schedule = self._schedule = Schedule(self.options["nemesis_interval"], self.options["nodes"], self._nemesis_rng)
        while not self._stop.wait(schedule.next_gap()):
            f, kind, grudge = schedule.next_op()
            if grudge is None:
                self.cluster.heal()
            else:
                self.cluster.set_grudge(grudge)
            self._record_nemesis(f, {"kind": kind, "grudge": {n: sorted(s) for n, s in grudge.items()}}
                                 if grudge is not None else None)

    def _partitioned(self):
        return self._schedule is not None and self._schedule.partitioned

    def _record_nemesis(self, f, value):
        self.record({"process": "nemesis", "type": "info", "f": f, "value": value})

    def _watch(self):
        while not self._stop.wait(self.WATCH_EVERY):
            self._on_progress(self.progress())

    def progress(self):
        """Where the test is: ``elapsed`` seconds of ``time_limit``, the operations that
        ended ``ok``, ``fail`` and ``info``, and ``messages`` received so far."""
        counts = {"ok": 0, "fail": 0, "info": 0}
        for entry in self.client_history():
            if entry["type"] in counts:
                counts[entry["type"]] += 1
        return {"elapsed": time.monotonic() - self._main_started, "time_limit": self.options["time_limit"],
                "messages": self.cluster.net_stats()["all"]["recv_count"], **counts}

    def client_history(self):
        with self._history_lock:
            return [entry for entry in self.history if entry["process"] != "nemesis"]

class _Worker:
    """One of Maelstrom's workers: bound to node ``nodes[index % node count]``, one request at
    a time, its own client; after an indeterminate operation it takes a new process id, and
    a new client unless the workload's client is reusable."""

    def __init__(self, test, index):
        self.test = test
        self.index = index
        self.node = test.options["nodes"][index % len(test.options["nodes"])]
        self.process = test.processes.get(index, index)  # as Jepsen's: a process id is never used twice
        self.client = test.cluster.client()

    def run(self, op):
        test, workload = self.test, self.test.workload
        op = {"process": self.process, **op}
        test.record({**op, "type": "invoke"})
        completion = dict(op)
        try:
            completion["type"], completion["value"] = workload.run_op(self.index, self.process, op, self.call)
        except RPCError as e:
            completion.update(self._failed(op, e))
        except SchemaError as e:
            completion.update(type="info", error=str(e), exception=True)
        except ClusterError:
            completion.update(type="info", error="the cluster failed")
            test.record(completion)
            raise
        test.record(completion)
        if completion["type"] == "info":
            self._replace()

    def call(self, body):
        """One request to this worker's node: the reply's body, or the RPCError raised."""
        answer = self.client.send(self.node, body)
        try:
            reply = self.test.cluster.wait(answer, self.test.workload.timeout())
        except RPCTimeout:
            raise RPCTimeout("net-timeout") from None
        return raise_for_error(reply)

    def _failed(self, op, error):
        """How an error or a timeout ends ``op``, as Maelstrom's clients decide it."""
        workload = self.test.workload
        timeout = isinstance(error, RPCTimeout) and not error.answered
        described = "net-timeout" if timeout else {"code": error.code, "text": error.text}
        if not workload.with_errors:
            return {"type": "info", "error": described}
        if op["f"] in workload.idempotent or (error.definite and not timeout):
            return {"type": "fail", "error": described}
        return {"type": "info", "error": described}

    def _replace(self):
        self.process += self.test.options["concurrency"]
        if not self.test.workload.reusable:
            self.client.close()
            self.client = self.test.cluster.client()

    def close(self):
        self.test.processes[self.index] = self.process
        if not self.client.closed:
            self.client.close()
