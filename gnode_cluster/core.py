"""A Maelstrom test on the local cluster, as ``maelstrom test`` runs one: workers each
bound to a node with one request outstanding, paced to ``rate``; the partition nemesis;
the final phase; then the history goes to the checkers, and the results to the store.

``run_test(workload, bin, **options)`` is the whole of it; the command line (cli.py) only
parses Maelstrom's flags into those options.
"""
import datetime
import json
import os
import random
import sys
import threading
import time

from . import checker
from .cluster import Cluster, ClusterError
from .nemesis import Schedule
from .options import resolve
from .protocol import RPCError, RPCTimeout, raise_for_error
from .workload import SchemaError, workload_class

class Result:
    """What a test came to: ``valid`` (True, False or "unknown"), ``results`` (the dict in
    results.json) and ``path``, the test's folder in the store."""

    def __init__(self, results, path):
        self.results = results
        self.valid = results["valid"]
        self.path = path

    def __repr__(self):
        return "Result(valid=%r, path=%r)" % (self.valid, self.path)


def run_test(workload=None, bin=None, **options):
    """Run Maelstrom's ``workload`` (default lin-kv) against the executable ``bin`` on the
    local cluster, with Maelstrom's options (underscored: ``node_count``, ``time_limit``,
    ``rate``, ...; each is in gnode_cluster.options.OPTIONS); return its Result. Bad
    options raise ValueError."""
    options = resolve(workload=workload, bin=bin, **options)
    if options["bin"] is None:
        raise ValueError("--bin: the node executable is required")
    rng = random.Random(options["seed"])
    test = _Test(workload_class(options["workload"])(options, rng), options["bin"], options, rng)
    return test.run()


class _Test:
    """One test's run: its cluster, workers, nemesis, history and store folder."""

    def __init__(self, workload, bin, options, rng):
        self.workload = workload
        self.options = options
        self.rng = rng
        self.bin = bin
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z"
        self.path = os.path.join(options["store"], workload.name, stamp)
        os.makedirs(self.path)
        self.history = []
        self._history_lock = threading.Lock()
        self._pace_lock = threading.Lock()
        self._next_op_at = 0.0
        self._main_ends = 0.0
        self._stop = threading.Event()
        self._started = 0.0
        self.crash = None
        self._schedule = None  # the nemesis's, once it runs

    # -- the run

    def run(self):
        options = self.options
        self._point_latest()
        self.cluster = Cluster(self.bin, nodes=options["nodes"], args=options["args"], latency=options["latency"],
                               latency_dist=options["latency_dist"], log_dir=self.path, seed=self.rng.random(),
                               log_stderr=options["log_stderr"])
        try:
            self.cluster.start()
            self._started = time.monotonic()
            self.workload.setup(self.cluster)
            self._main_phase()
            if self.workload.final_phase and self.crash is None:
                self._final_phase()
            self.cluster.check()
        except ClusterError as e:
            self.crash = str(e)
        finally:
            net = self.cluster.net_stats() if self.cluster.running else None
            self.cluster.stop()
        results = self._results(net)
        self._write(results)
        return Result(results, self.path)

    def _main_phase(self):
        options = self.options
        self._main_ends = time.monotonic() + options["time_limit"]
        self._next_op_at = time.monotonic()
        threads = [threading.Thread(target=self._worker, args=(i,), daemon=True)
                   for i in range(options["concurrency"])] if options["rate"] > 0 else []
        if "partition" in options["nemesis"]:
            threads.append(threading.Thread(target=self._nemesis, daemon=True))
        if not options["quiet"] and sys.stderr.isatty():
            threads.append(threading.Thread(target=self._progress, daemon=True))
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
        threads = [threading.Thread(target=self._final_worker, args=(i,), daemon=True)
                   for i in range(self.options["concurrency"])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.workload.timeout() * 4 + 15)

    # -- workers

    def _worker(self, index):
        worker = _Worker(self, index)
        while not self._stop.is_set():
            at = self._pace()
            if at >= self._main_ends:
                return
            delay = at - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            worker.run(self.workload.next_op(index))
        worker.close()

    def _final_worker(self, index):
        worker = _Worker(self, index)
        for op in self.workload.final_ops(index):
            worker.run(op)
        worker.close()

    def _pace(self):
        """When the next operation may start: uniformly 0 to 2/rate after the one before it,
        across all workers (Jepsen's stagger)."""
        with self._pace_lock:
            at = self._next_op_at
            self._next_op_at = at + self.rng.uniform(0, 2 / self.options["rate"])
            return at

    def record(self, entry):
        entry["time"] = round(time.monotonic() - self._started, 6)
        with self._history_lock:
            self.history.append(entry)

    # -- the nemesis

    def _nemesis(self):
        schedule = self._schedule = Schedule(self.options["nemesis_interval"], self.options["nodes"], self.rng)
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

    def _progress(self):
        """One line on a terminal: elapsed of the time limit, ops ok/fail/info, messages/s."""
        last_messages, last_time = 0, time.monotonic()
        while not self._stop.wait(0.5):
            counts = {"ok": 0, "fail": 0, "info": 0}
            for entry in self.client_history():
                if entry["type"] in counts:
                    counts[entry["type"]] += 1
            messages = self.cluster.net_stats()["all"]["recv_count"]
            now = time.monotonic()
            sys.stderr.write("\r%5.1f/%d s  ok %d  fail %d  info %d  %d msgs/s   " % (
                now - self._started, self.options["time_limit"], counts["ok"], counts["fail"], counts["info"],
                (messages - last_messages) / (now - last_time)))
            sys.stderr.flush()
            last_messages, last_time = messages, now
        sys.stderr.write("\n")

    # -- results

    def client_history(self):
        with self._history_lock:
            return [entry for entry in self.history if entry["process"] != "nemesis"]

    def _results(self, net):
        history = self.client_history()
        results = {"workload": self._safely(self.workload.check, history),
                   "stats": checker.stats(history, exempt=self.workload.stats_exempt),
                   "availability": checker.availability(history, self.options["availability"]),
                   "net": {"valid": True, **(net or {})},
                   "latency_ms": latency_quantiles(history),
                   "operations": checker.operation_counts(history),
                   "exceptions": [entry["error"] for entry in history if entry.get("exception")][:50]}
        verdicts = [results[name]["valid"] for name in ("workload", "stats", "availability", "net")]
        if self.crash is not None:
            results["crashed"] = self.crash
            verdicts.append(False)
        results["valid"] = False if False in verdicts else "unknown" if "unknown" in verdicts else True
        results["why"] = [results[name]["why"] for name in ("workload", "stats", "availability")
                          if results[name]["valid"] is not True and results[name].get("why")]
        if self.crash is not None:
            results["why"].insert(0, "the test crashed: " + self.crash.splitlines()[0])
        results["options"] = {key: value for key, value in self.options.items() if key != "quiet"}
        return results

    def _safely(self, check, history):
        try:
            return check(history)
        except Exception as e:  # a checker's own bug must not pass for a verdict
            return {"valid": "unknown", "why": "the checker failed: %s: %s" % (type(e).__name__, e)}

    def _write(self, results):
        with open(os.path.join(self.path, "results.json"), "w") as f:
            json.dump(results, f, indent=2, default=sorted)
        with open(os.path.join(self.path, "history.jsonl"), "w") as f:
            for entry in self.history:
                f.write(json.dumps(entry, default=sorted) + "\n")

    def _point_latest(self):
        latest = os.path.join(self.options["store"], "latest")
        if os.path.islink(latest):
            os.unlink(latest)
        if not os.path.exists(latest):
            os.symlink(os.path.relpath(self.path, self.options["store"]), latest)


class _Worker:
    """One of Maelstrom's workers: bound to node ``nodes[index % node count]``, one request at
    a time, its own client; after an indeterminate operation it takes a new process id, and
    a new client unless the workload's client is reusable."""

    def __init__(self, test, index):
        self.test = test
        self.index = index
        self.node = test.options["nodes"][index % len(test.options["nodes"])]
        self.process = index
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
        """How an error or a timeout ends ``op`` (notes 3.4)."""
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
        if not self.client.closed:
            self.client.close()


def latency_quantiles(history):
    """Milliseconds from invocation to ok completion: p50, p95, p99 and max."""
    started, latencies = {}, []
    for entry in history:
        if entry["type"] == "invoke":
            started[entry["process"]] = entry["time"]
        elif entry["type"] == "ok" and entry["process"] in started:
            latencies.append((entry["time"] - started.pop(entry["process"])) * 1000)
    latencies.sort()
    if not latencies:
        return {}
    return {name: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 3)
            for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))}
