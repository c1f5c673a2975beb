"""kafka: append-only logs under string keys, with sends, polls and committed offsets
(Maelstrom's workload/kafka.clj on Jepsen's kafka test, in assign mode), checked by Jepsen's
kafka checker as Maelstrom configures it (kafka_checker.py).

Operations and their history values, as Jepsen records them:
    send    [["send", k, msg]]       ok: [["send", k, [offset, msg]]]
    poll    [["poll"]]               ok: [["poll", {k: [[offset, msg], ...]}]]
    assign  [k, ...]                 ok: the same (seek_to_beginning: every key from 0)
    crash   None                     always info: the worker gets a new client
"""
import threading
import time

from . import Workload, check_reply, integer, kafka_checker
from .txn_list_append import TxnGenerator

ASSIGN_ODDS = 1 / 64  # an op is an assign of its key instead, this often
UNSEEN_ODDS = 1 / 3  # an assign also takes every key with sent-but-unpolled messages, this often
CRASH_INTERVAL = 30.0  # seconds between one client's crashes, on average
FINAL_LIMIT = 10.0  # seconds the final polls may take, in all
FINAL_POLL_INTERVAL = 0.2  # seconds between one worker's final polls, on average


def offset_map(value):
    """{key: integer offset}, keys being strings."""
    return isinstance(value, dict) and all(integer(offset) for offset in value.values())


def messages_map(value):
    """{key: [[integer offset, msg], ...] or null}."""
    return isinstance(value, dict) and all(
        pairs is None or (isinstance(pairs, list) and all(
            isinstance(pair, list) and len(pair) == 2 and integer(pair[0]) for pair in pairs))
        for pairs in value.values())


def highest_offsets(msgs):
    """The highest offset polled per key; keys that came back empty have none."""
    return {key: max(offset for offset, _ in pairs) for key, pairs in msgs.items() if pairs}


class Kafka(Workload):
    """Jepsen's kafka client: per client (a worker's process), the local offsets of its
    assigned keys. ``clock`` and ``sleep`` are time.monotonic and time.sleep unless a test
    replaces them."""

    name = "kafka"
    final_phase = True
    idempotent = frozenset({"assign"})
    stats_exempt = frozenset({"crash"})  # a crash always ends info, as Jepsen's kafka stats allow

    def __init__(self, options, rng):
        super().__init__(options, rng)
        self.txns = TxnGenerator(rng, "send", key_count=options["key_count"], max_txn_length=1,
                                 max_writes_per_key=options["max_writes_per_key"])
        self.crash_gap = CRASH_INTERVAL / options["concurrency"]
        self.clock = time.monotonic
        self.sleep = time.sleep
        self._lock = threading.Lock()
        self._clients = {}  # worker: (process, {key: next offset to poll})
        self._pending_mop = None  # drawn but not yet issued: an assign went first
        self._next_crash = None
        self._max_offsets = {}  # key: highest offset of any ok send or poll
        self._sent = {}  # key: highest offset sent, for keys polls have not caught up with
        self._polled = {}  # key: highest offset polled, for the same keys
        self._final_start = None
        self._final_snapshot = {}  # _max_offsets when the final phase began
        self._final_targets = {}  # worker: {key: offset its final polls must reach}

    # -- generator

    def next_op(self, worker):
        """A crash when one is due (the first at once, then every 2 x 30 s / concurrency at
        most); else, 1 time in 64, an assign of the next op's key (1 time in 3 with the keys
        polls lag on); else the next poll or send."""
        with self._lock:
            now = self.clock()
            if self._next_crash is None or now >= self._next_crash:
                self._next_crash = now + self.rng.uniform(0, 2 * self.crash_gap)
                return {"f": "crash", "value": None}
            if self._pending_mop is None:
                self._pending_mop = self.txns.next_txn()[0]
            f, key, msg = self._pending_mop
            if self.rng.random() < ASSIGN_ODDS:
                keys = [str(key)]
                if self.rng.random() < UNSEEN_ODDS:
                    keys += [k for k in sorted(self._sent, key=int) if k not in keys]
                return {"f": "assign", "value": keys}
            self._pending_mop = None
        if f == "r":
            return {"f": "poll", "value": [["poll"]]}
        return {"f": "send", "value": [["send", str(key), msg]]}

    def final_ops(self, worker):
        """Once any op was ok: a crash, an assign of every key touched, from offset 0, then
        polls until they reach the highest offsets the main phase saw, for 10 s at most from
        the first final op of any worker."""
        with self._lock:
            if self._final_start is None:
                self._final_start = self.clock()
                self._final_snapshot = dict(self._max_offsets)
            targets = self._final_targets[worker] = dict(self._final_snapshot)
        if not targets:
            return
        keys = sorted(targets, key=int)
        for op in ({"f": "crash", "value": None}, {"f": "assign", "value": keys, "seek_to_beginning": True}):
            if not self._final_time_left():
                return
            yield dict(op, final=True)
        while True:
            self.sleep(self.rng.uniform(0, 2 * FINAL_POLL_INTERVAL))
            with self._lock:
                if not self._final_targets[worker] or not self._final_time_left():
                    return
            yield {"f": "poll", "value": [["poll"]], "final": True}

    def _final_time_left(self):
        return self.clock() - self._final_start < FINAL_LIMIT

    # -- client

    def run_op(self, worker, process, op, call):
        """One operation of the worker's current client: assign (list_committed_offsets, then
        local offsets), poll (then commit_offsets), send, or crash."""
        offsets = self._client_offsets(worker, process)
        if op["f"] == "crash":
            return "info", None
        if op["f"] == "assign":
            self._assign(offsets, op, call)
            return "ok", op["value"]
        if op["f"] == "poll":
            value = [["poll", self._poll(offsets, call)]]
        else:
            _, key, msg = op["value"][0]
            reply = call({"type": "send", "key": key, "msg": msg})
            check_reply({"offset": integer}, reply)
            value = [["send", key, [reply["offset"], msg]]]
        self._note_ok(worker, op, value)
        return "ok", value

    def _client_offsets(self, worker, process):
        # A new process is a new client, which starts with no offsets.
        with self._lock:
            client = self._clients.get(worker)
            if client is None or client[0] != process:
                client = self._clients[worker] = (process, {})
            return client[1]

    def _assign(self, offsets, op, call):
        keys = op["value"]
        if op.get("seek_to_beginning"):
            assigned = dict.fromkeys(keys, 0)
        else:
            reply = call({"type": "list_committed_offsets", "keys": keys})
            check_reply({"offsets": offset_map}, reply)
            committed = reply["offsets"]
            assigned = {key: offsets[key] if key in offsets else committed.get(key, 0) for key in keys}
        offsets.clear()
        offsets.update(assigned)

    def _poll(self, offsets, call):
        reply = call({"type": "poll", "offsets": dict(offsets)})
        check_reply({"msgs": messages_map}, reply)
        msgs = {key: pairs or [] for key, pairs in reply["msgs"].items()}
        for key, pairs in msgs.items():
            following = max((offset for offset, _ in pairs), default=-1) + 1
            offsets[key] = max(offsets.get(key, following), following)
        committing = highest_offsets(msgs)
        if committing:
            check_reply({}, call({"type": "commit_offsets", "offsets": committing}))
        return msgs

    def _note_ok(self, worker, op, value):
        """What the generator learns from an ok send or poll: the highest offsets seen, the
        keys polls lag on, and a final poll's progress towards its targets."""
        mop = value[0]
        if mop[0] == "send":
            seen = {mop[1]: mop[2][0]}
        else:  # a key polled empty counts as offset -1, as in Jepsen
            seen = {key: max((offset for offset, _ in pairs), default=-1) for key, pairs in mop[1].items()}
        with self._lock:
            for key, offset in seen.items():
                self._max_offsets[key] = max(self._max_offsets.get(key, offset), offset)
                lagging = self._sent if mop[0] == "send" else self._polled
                lagging[key] = max(lagging.get(key, offset), offset)
            for key in set(self._sent) | set(self._polled):
                if self._polled.get(key, -1) >= self._sent.get(key, -1):
                    self._sent.pop(key, None)
                    self._polled.pop(key, None)
            targets = self._final_targets.get(worker)
            if op.get("final") and mop[0] == "poll" and targets:
                for key, offset in seen.items():
                    if targets.get(key, -1) <= offset:
                        targets.pop(key, None)

    # -- checker

    def check(self, history):
        """Jepsen's kafka checker, as Maelstrom runs it: see kafka_checker.check."""
        return kafka_checker.check(history)


WORKLOAD = Kafka
