"""Maelstrom's built-in services, lin-kv, seq-kv, lww-kv and lin-tso, as plain objects.

The network hands a request to ``service.handle(src, body)`` and sends back what it
returns: a reply body whose ``in_reply_to`` is the request's ``msg_id`` (None when the
request had none) and which has no ``msg_id`` of its own, or None for no reply at all.
As in Maelstrom, a request a service cannot serve (an unknown ``type``, a ``read`` to
lin-tso, a body without ``type``) gets no reply, so the sender's call times out.

A missing ``key``, ``value``, ``from`` or ``to`` counts as JSON null, as it does in
Maelstrom, so a ``read`` without ``key`` reads the key null. Keys and values are any JSON
values, compared strictly by type: the key 1 is not the key "1", and a cas ``from`` of
1.0 or true does not match a stored 1.
"""

import collections
import json
import logging
import random
import threading

from .protocol import KEY_DOES_NOT_EXIST, PRECONDITION_FAILED, error_body

log = logging.getLogger(__name__)


def canonical(value):
    """The JSON text of ``value`` with sorted object keys.

    Two JSON values are equal exactly when their texts are: 1, 1.0 and true all differ,
    and {"a": 1, "b": 2} equals {"b": 2, "a": 1}. Stores keep keys and values as these
    texts, so any JSON value can be a key and nobody can change a stored value in place.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class UnknownRequest(Exception):
    """A request the service does not serve: it gets no reply."""


class Service:
    """One of Maelstrom's services, reached at the node id ``name``.

    Subclasses write ``serve(src, body)``, which returns the reply body or raises.
    ``rng`` is the ``random.Random`` the service draws from, for runs that repeat.
    """

    name = None

    def __init__(self, rng=None):
        self.rng = rng if rng is not None else random.Random()
        # Maelstrom runs each service on one thread: one request at a time.
        self._lock = threading.Lock()

    def handle(self, src, body):
        """The reply to the request ``body`` from node ``src``, or None if there is none."""
        try:
            with self._lock:
                reply = self.serve(src, body)
        except Exception as exc:
            # Maelstrom logs a warning and drops the request; so do we (stderr, never stdout).
            log.warning("%s: no reply to %s from %s: %r", self.name, body, src, exc)
            return None
        reply["in_reply_to"] = body.get("msg_id")
        return reply

    def serve(self, src, body):
        """The reply body (without ``in_reply_to``) to ``body`` from ``src``; raises if none."""
        raise NotImplementedError


def kv_step(values, body, can_create=True):
    """Works out one KV request against ``values`` (canonical key -> canonical value).

    Returns ``(change, reply)``. ``change`` is None when the request leaves ``values``
    as they are, else the ``(key, value)`` pair to store; ``values`` itself is not touched.
    ``can_create`` says whether cas honours ``create_if_not_exists``.
    """
    kind = body.get("type")
    key = canonical(body.get("key"))
    current = values.get(key)
    if kind == "read":
        if current is None:
            return None, error_body(KEY_DOES_NOT_EXIST, "key does not exist")
        return None, {"type": "read_ok", "value": json.loads(current)}
    if kind == "write":
        new = canonical(body.get("value"))
        return (None if new == current else (key, new)), {"type": "write_ok"}
    if kind == "cas":
        new = canonical(body.get("to"))
        if current is None:
            flag = body.get("create_if_not_exists")
            # Clojure truth, as Maelstrom tests it: anything but null and false.
            if can_create and flag is not None and flag is not False:
                return (key, new), {"type": "cas_ok"}
            return None, error_body(KEY_DOES_NOT_EXIST, "key does not exist")
        expected = canonical(body.get("from"))
        if expected != current:
            return None, error_body(PRECONDITION_FAILED,
                               "current value %s is not %s" % (current, expected))
        return (None if new == current else (key, new)), {"type": "cas_ok"}
    raise UnknownRequest("unknown request type %r" % (kind,))


class LinKV(Service):
    """``lin-kv``: a linearizable key-value store, one state that every request sees."""

    name = "lin-kv"

    def __init__(self, rng=None):
        super().__init__(rng)
        self.values = {}

    def serve(self, src, body):
        change, reply = kv_step(self.values, body)
        if change:
            self.values[change[0]] = change[1]
        return reply


class SeqKV(Service):
    """``seq-kv``: a sequentially consistent key-value store that serves stale states.

    It keeps the last ``window`` states and, per caller (``src``), the index of the
    newest state that caller has seen. A request that would leave the state as it is
    (a read, a failing cas, a write of the value already there) is served from a random
    state between that index and the newest; any other request is applied to the newest
    state, making a new one, and the caller moves up to it.
    """

    name = "seq-kv"

    def __init__(self, rng=None, window=32):
        super().__init__(rng)
        self.states = collections.deque([{}], maxlen=window)
        self.newest = 0  # the index of states[-1]; states[0] has newest - len + 1
        self.seen = {}   # caller -> index of the newest state it has seen

    def serve(self, src, body):
        oldest = self.newest - len(self.states) + 1
        # A caller whose state has left the window starts at the oldest one kept.
        # (Maelstrom's ring buffer wraps such an index round to an arbitrary kept
        # state, which can send the caller backwards; we keep it monotonic.)
        index = self.rng.randint(max(self.seen.get(src, 0), oldest), self.newest)
        change, reply = kv_step(self.states[index - oldest], body)
        if change is None:
            self.seen[src] = index
            return reply
        # It would change an old state, which could break the total order: run it on the
        # newest state instead, where it may have another outcome (a cas may fail).
        change, reply = kv_step(self.states[-1], body)
        state = dict(self.states[-1])
        if change:
            state[change[0]] = change[1]
        self.states.append(state)
        self.newest += 1
        self.seen[src] = self.newest
        return reply


class LWWReplica:
    """One replica of lww-kv: a Lamport clock, and each key's value and timestamp."""

    def __init__(self):
        self.clock = 0
        self.values = {}
        self.stamps = {}


class LWWKV(Service):
    """``lww-kv``, as Maelstrom really behaves: replicas that never converge.

    Each request goes to one of ``replica_count`` (2) replicas at random, and each write
    is stamped with that replica's Lamport clock. Maelstrom also merges two random
    replicas on every request, but throws the merge away, so no write ever reaches the
    other replica; we skip it. cas ignores ``create_if_not_exists``: a missing key is 20.
    """

    name = "lww-kv"

    def __init__(self, rng=None, replica_count=2):
        super().__init__(rng)
        self.replicas = [LWWReplica() for _ in range(replica_count)]

    def serve(self, src, body):
        replica = self.rng.choice(self.replicas)
        change, reply = kv_step(replica.values, body, can_create=False)
        if change:
            key, value = change
            replica.values[key] = value
            replica.stamps[key] = replica.clock
            replica.clock += 1
        return reply


class LinTSO(Service):
    """``lin-tso``: a timestamp oracle; ``ts`` gets ``ts_ok`` with 0, 1, 2, ... in turn."""

    name = "lin-tso"

    def __init__(self, rng=None):
        super().__init__(rng)
        self.next_ts = 0

    def serve(self, src, body):
        if body.get("type") != "ts":
            raise UnknownRequest("unknown request type %r" % (body.get("type"),))
        ts, self.next_ts = self.next_ts, self.next_ts + 1
        return {"type": "ts_ok", "ts": ts}


def default_services(rng=None):
    """The four services Maelstrom always runs, as a dict from node id to a fresh service.

    Given ``rng``, each service gets its own ``random.Random`` seeded from it, so a
    service's draws do not depend on the traffic to the others.
    """
    def own_rng():
        return random.Random(rng.getrandbits(64)) if rng is not None else None
    services = [LinKV(own_rng()), SeqKV(own_rng()), LWWKV(own_rng()), LinTSO(own_rng())]
    return {service.name: service for service in services}
