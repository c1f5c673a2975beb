"""The network, as Maelstrom's behaves: who is on it, latency, partitions, and the message
statistics; every send, delivery and drop goes to the journal it is handed (journal.py).
Pure bookkeeping on a clock it is handed: it starts no process and reads no pipe (the
cluster does), so every rule here is tested on its own.

What it copies of Maelstrom's network, as Maelstrom's source behaves: a message is
due at send time plus a latency drawn from the distribution, none when either end is a
client; each destination gets its messages in deadline order; a partition drops a message
when it would be delivered, never clients' or services' messages; a heal clears every
partition; nothing is lost, duplicated or reordered otherwise.
"""
import heapq
import itertools
import json
import random

LATENCY_DISTS = ("constant", "uniform", "exponential")


def is_client(name):
    """Maelstrom takes any name that begins with ``c`` for a client."""
    return name[:1] == "c"


class Latency:
    """Delivery delays in seconds, drawn as Maelstrom draws them from ``--latency MS``
    (the mean) and ``--latency-dist``: constant, uniform integers from 0 to twice the
    mean, or exponential with that mean."""

    def __init__(self, mean_ms=0, dist="constant", rng=None):
        if dist not in LATENCY_DISTS:
            raise ValueError("latency distribution must be one of %s, not %r" % (", ".join(LATENCY_DISTS), dist))
        if not mean_ms >= 0:
            raise ValueError("latency must be a number of milliseconds, 0 or more, not %r" % (mean_ms,))
        if dist == "exponential" and mean_ms == 0:  # Maelstrom divides by zero here
            raise ValueError("an exponential latency needs a mean above 0 ms")
        self.mean_ms = mean_ms
        self.dist = dist
        self._rng = rng or random.Random()

    def draw(self):
        if self.mean_ms == 0:
            return 0.0
        if self.dist == "constant":
            return self.mean_ms / 1000
        if self.dist == "uniform":
            return self._rng.randrange(int(2 * self.mean_ms) or 1) / 1000
        return self._rng.expovariate(1 / self.mean_ms) / 1000


class Envelope:
    """One message on the network: Maelstrom's per-test ``id``, ``src``, ``dest``, ``body``,
    and ``body_json``, the body encoded once for every line that carries it."""

    __slots__ = ("id", "src", "dest", "body", "body_json")

    def __init__(self, id, src, dest, body, body_json):
        self.id, self.src, self.dest, self.body, self.body_json = id, src, dest, body, body_json

    def line(self):
        """The line a node reads: the envelope as Maelstrom writes it, with its ``id``."""
        return '{"id": %d, "src": %s, "dest": %s, "body": %s}\n' % (
            self.id, json.dumps(self.src), json.dumps(self.dest), self.body_json)

    def as_dict(self):
        return {"id": self.id, "src": self.src, "dest": self.dest, "body": self.body}


class Network:
    """Routes envelopes among ``nodes`` (the test's servers), ``services`` and the clients
    that register. ``send`` queues a message; ``due(now)`` hands back, in deadline order,
    those due by ``now``, minus the ones a partition drops. ``journal(time, event,
    envelope)`` is told of every event: a send, and each delivery or drop."""

    def __init__(self, nodes, services, latency, journal=None):
        self.nodes = list(nodes)
        self.services = set(services)
        self.latency = latency
        self._journal = journal or (lambda time, event, envelope: None)
        self._clients = set()
        self._queue = []  # (deadline, id, envelope): a heap, one for every destination
        self._ids = itertools.count()  # Maelstrom's per-test message id, the envelope's "id"
        self._blocked = {}  # receiver -> the senders whose messages it drops
        self._count = {"all": [0, 0], "clients": [0, 0], "servers": [0, 0]}  # [sent, delivered]
        self.lateness = []  # seconds past the deadline, of each delivery (as the cluster reports them)

    # -- who is on the network

    def open_client(self, name):
        self._clients.add(name)

    def close_client(self, name):
        self._clients.discard(name)

    def is_member(self, name):
        """Registered: a node of the test, a service, or a client not closed yet."""
        return name in self._clients or name in self.services or name in self.nodes

    # -- partitions

    def partition(self, groups):
        """Cut the nodes into ``groups`` (lists of node names): a node then drops whatever
        comes from a node outside its group. Nodes in no group are cut off from all."""
        groups = [set(group) for group in groups]
        unknown = set().union(*groups) - set(self.nodes) if groups else set()
        if unknown:
            raise ValueError("not nodes of this test: %s" % ", ".join(sorted(unknown)))
        self._blocked = {}
        for node in self.nodes:
            mine = next((group for group in groups if node in group), {node})
            self._blocked[node] = set(self.nodes) - mine

    def set_grudge(self, grudge):
        """Each node of ``grudge`` (a dict) drops what comes from the nodes it names: the
        general form of a partition, as Jepsen's nemesis gives it (not always groups)."""
        named = set(grudge).union(*map(set, grudge.values())) if grudge else set()
        unknown = named - set(self.nodes)
        if unknown:
            raise ValueError("not nodes of this test: %s" % ", ".join(sorted(unknown)))
        self._blocked = {node: set(senders) for node, senders in grudge.items()}

    def isolate(self, node):
        self.partition([[node], [other for other in self.nodes if other != node]])

    def heal(self):
        self._blocked = {}

    def blocked(self):
        """Receiver -> the senders it drops, for whoever reports the partition."""
        return {node: sorted(senders) for node, senders in self._blocked.items() if senders}

    # -- messages

    def send(self, now, src, dest, body, body_json=None):
        """Queue ``body`` from ``src`` to ``dest`` (both members) and journal the send; return
        its Envelope. ``body_json``, if given, is the body already encoded."""
        envelope = Envelope(next(self._ids), src, dest, body, body_json or json.dumps(body))
        delay = 0.0 if is_client(src) or is_client(dest) else self.latency.draw()
        heapq.heappush(self._queue, (now + delay, envelope.id, envelope))
        self._count_message(src, dest, 0)
        self._journal(now, "send", envelope)
        return envelope

    def next_deadline(self):
        return self._queue[0][0] if self._queue else None

    def due(self, now):
        """The envelopes due by ``now``, in deadline order, each with its deadline; what a
        partition drops is journaled as dropped and left out."""
        delivered = []
        queue = self._queue
        while queue and queue[0][0] <= now:
            deadline, _, envelope = heapq.heappop(queue)
            src, dest = envelope.src, envelope.dest
            dropped = src in self._blocked.get(dest, ())
            self._journal(now, "dropped" if dropped else "delivered", envelope)
            if not dropped:
                self._count_message(src, dest, 1)
                self.lateness.append(now - deadline)
                delivered.append(envelope)
        return delivered

    # -- statistics

    def _count_message(self, src, dest, column):
        self._count["all"][column] += 1
        self._count["clients" if is_client(src) or is_client(dest) else "servers"][column] += 1

    def stats(self, operations):
        """Message counts as Maelstrom's net checker gives them: for ``all`` messages, those
        with a client at either end, and the ``servers``' (services included). msg_count is
        the number of distinct messages (each is sent once); msgs_per_op divides it by the
        client ``operations`` (init and other set-up requests are not operations)."""
        def figures(sent, delivered):
            return {"send_count": sent, "recv_count": delivered, "msg_count": sent,
                    "msgs_per_op": round(sent / operations, 3) if operations else None}
        return {kind: figures(*counts) for kind, counts in self._count.items()}
