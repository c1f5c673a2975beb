"""lin-kv: reads, writes and compare-and-sets on integer keys (Maelstrom's workload/lin_kv.clj
on Jepsen's linearizable-register test). The history is checked as Knossos checks it under
Maelstrom: each key on its own, a compare-and-set register (gnode_cluster.linearizable).
"""
import itertools
import threading

from ..checker import implicated, operation_counts
from ..linearizable import check_independent
from . import Workload, anything

VALUE_COUNT = 5  # written and compared values are 0..4
PROCESS_LIMIT = 20  # a key is retired once more than this many processes of its group used it


class LinKV(Workload):
    """Workers come in groups of 2 x node count, each group on one key at a time: the first
    half of a group reads, the other half writes or compare-and-sets (1 write to 2 cas).
    History values are Jepsen's tuples: read [k, null] (completed as [k, value read]),
    write [k, v], cas [k, [from, to]]."""

    name = "lin-kv"
    reusable = True
    idempotent = frozenset({"read"})
    default_concurrency = "2n"  # the fewest workers its key groups take: a bare `-w lin-kv` runs

    def __init__(self, options, rng):
        super().__init__(options, rng)
        self.node_count = len(options["nodes"])
        self.group_size = 2 * self.node_count
        workers = options["concurrency"]
        if workers < self.group_size or workers % self.group_size:
            raise ValueError(
                "lin-kv runs each key with 2 x node-count = %d workers, so --concurrency must be a multiple "
                "of %d (e.g. %d or 2n), not %d" % (self.group_size, self.group_size, self.group_size, workers))
        group_count = workers // self.group_size
        self.group_keys = list(range(group_count))
        self._group_processes = [self.group_size] * group_count
        # Jepsen never moves on when a group alone exceeds the limit; keep its key instead.
        self._process_limit = max(PROCESS_LIMIT, self.group_size)
        self._fresh_keys = itertools.count(group_count)
        self._last_process = {}
        self._lock = threading.Lock()

    def timeout(self):
        """max(1 s, 10 x the mean latency), as Maelstrom's lin-kv client waits."""
        return max(1.0, 10 * self.options["latency"] / 1000.0)

    def next_op(self, worker):
        group, place = divmod(worker, self.group_size)
        with self._lock:
            key = self.group_keys[group]
        if place < self.node_count:
            return {"f": "read", "value": [key, None]}
        f = self.rng.choice(("write", "cas", "cas"))
        if f == "write":
            return {"f": "write", "value": [key, self.rng.randrange(VALUE_COUNT)]}
        return {"f": "cas", "value": [key, [self.rng.randrange(VALUE_COUNT), self.rng.randrange(VALUE_COUNT)]]}

    def run_op(self, worker, process, op, call):
        """The default single request, after counting the worker's new process against its
        group's key: Jepsen retires a key once more than 20 processes have used it."""
        self._note_process(worker, process)
        return super().run_op(worker, process, op, call)

    def _note_process(self, worker, process):
        # Seen one op late (the op drawn before it still used the old key): next_op cannot
        # see processes.
        group = worker // self.group_size
        with self._lock:
            last = self._last_process.get(worker)
            self._last_process[worker] = process
            if last is None or last == process:
                return
            self._group_processes[group] += 1
            if self._group_processes[group] > self._process_limit:
                self.group_keys[group] = next(self._fresh_keys)
                self._group_processes[group] = self.group_size

    def request(self, op):
        key, value = op["value"]
        if op["f"] == "read":
            return {"type": "read", "key": key}
        if op["f"] == "write":
            return {"type": "write", "key": key, "value": value}
        return {"type": "cas", "key": key, "from": value[0], "to": value[1]}

    def reply_schema(self, op):
        return {"value": anything} if op["f"] == "read" else {}

    def completion_value(self, op, reply):
        if op["f"] == "read":
            return [op["value"][0], reply["value"]]
        return op["value"]

    def check(self, history):
        """Linearizable, key by key (check_independent's account), with the completions per
        function; the operation that cannot be linearized is the one implicated."""
        result = check_independent(history, self.options["checker_budget"])
        if result.get("failure", {}).get("op"):
            result["implicated"] = implicated([result["failure"]["op"]])
        return {**result, "by_f": operation_counts(history)}


WORKLOAD = LinKV
