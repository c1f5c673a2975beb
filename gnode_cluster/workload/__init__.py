"""Maelstrom's workloads, one module each, holding its client (request and reply schema),
its generator and its checker together, as Maelstrom's own source does.

A workload is a module holding a ``Workload`` subclass as ``WORKLOAD``, registered by name
in ``WORKLOADS``. The test runner
(``gnode_cluster.core``) asks it, for each worker, for the next operation (``next_op``),
turns the operation into a request body (``request``), checks the reply against the closed
schema of its function (``reply_schema``), records the completion's value
(``completion_value``), runs the final phase's operations (``final_ops``), and at the end
hands it the history to check (``check``).

History entries are dicts: ``process`` (the worker's current process id; a worker whose
operation ended indeterminate gets a new one, as in Jepsen), ``type`` ("invoke", "ok",
"fail" or "info"), ``f`` (the function, e.g. "read"), ``value``, ``time`` (seconds from the
start of the test's cluster, the journal's clock), ``final`` (true for the final phase's operations), and on failures
``error``. An invocation and its completion share ``process`` and ``f``.
"""
import json

from ..protocol import is_integer

DEFAULT_TIMEOUT = 5.0  # seconds a Maelstrom client waits for a reply


class SetupError(Exception):
    """A node refused or failed a workload's set-up request (broadcast's topology): the test
    cannot start, and crashes, as Maelstrom's does."""


class SchemaError(Exception):
    """A reply that does not fit its function's closed schema: Maelstrom's "Malformed RPC
    response". The operation ends indeterminate (info) and the error is listed in the results."""


def integer(value):
    """The schema of a JSON integer (its name is the one a schema error shows)."""
    return is_integer(value)


def anything(value):
    return True


def array(value):
    """Prismatic sequence schemas take a JSON array or null."""
    return value is None or isinstance(value, list)


def check_reply(schema, reply):
    """Raise SchemaError unless ``reply`` holds ``in_reply_to`` (an integer), maybe ``msg_id``
    (an integer), ``type``, and exactly the keys of ``schema``, each passing its check."""
    allowed = set(schema) | {"type", "in_reply_to", "msg_id"}
    extra = sorted(set(reply) - allowed)
    if extra:
        raise SchemaError("Malformed RPC response: disallowed key(s) %s in %s" % (", ".join(extra), _short(reply)))
    if not integer(reply.get("in_reply_to")):
        raise SchemaError("Malformed RPC response: in_reply_to must be an integer in %s" % _short(reply))
    if "msg_id" in reply and not integer(reply["msg_id"]):
        raise SchemaError("Malformed RPC response: msg_id must be an integer in %s" % _short(reply))
    for key, valid in schema.items():
        if key not in reply:
            raise SchemaError("Malformed RPC response: missing required key %s in %s" % (key, _short(reply)))
        if not valid(reply[key]):
            raise SchemaError("Malformed RPC response: %s is not %s in %s" % (key, valid.__name__, _short(reply)))


def _short(value, limit=200):
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "..."


class Workload:
    """One of Maelstrom's workloads. Subclasses set the class attributes and override the
    methods; ``options`` is the test's options (gnode_cluster.options.resolve's dict: every
    option, ``nodes`` the node ids, ``concurrency`` the number of workers), ``rng`` a random.Random for every choice it makes."""

    name = None
    reusable = False  # the client is kept after an indeterminate op (Maelstrom's Reusable)
    final_phase = False  # heal, wait, then each worker's final_ops
    idempotent = frozenset()  # functions whose timeouts and indefinite errors are fail, not info
    stats_exempt = frozenset()  # functions the stats checker does not require an ok of
    default_concurrency = "1n"  # --concurrency when not given
    with_errors = True  # False: every error or timeout is info (g-set and the counters)

    def __init__(self, options, rng):
        self.options = options
        self.rng = rng

    @classmethod
    def for_checking(cls, options):
        """The workload with ``options`` and no generator: enough to ``check`` a history
        recorded elsewhere (``gnode-cluster check``); checks read only ``options`` and the
        class's attributes."""
        workload = cls.__new__(cls)
        Workload.__init__(workload, options, None)
        return workload

    def timeout(self):
        """Seconds a client waits for a reply."""
        return DEFAULT_TIMEOUT

    def setup(self, cluster):
        """Before any operation: e.g. broadcast's topology, one request per node."""

    def next_op(self, worker):
        """The next operation of ``worker`` (its index): a dict with ``f`` and ``value``."""
        raise NotImplementedError

    def request(self, op):
        """The request body for ``op`` (msg_id is added by the client)."""
        raise NotImplementedError

    def reply_schema(self, op):
        """The keys, beyond type, in_reply_to and msg_id, of a good reply to ``op``, each with
        its check (a function of the value)."""
        raise NotImplementedError

    def completion_value(self, op, reply):
        """The value an ``ok`` completion records."""
        return op["value"]

    def run_op(self, worker, process, op, call):
        """Perform ``op`` of ``worker`` (its index), whose current process id is ``process``,
        and return its completion: ``("ok", value)``, or ``("info", value)`` for an operation
        that ends indeterminate by design (kafka's crash: the worker then gets a new process
        and, unless reusable, a new client).

        ``call(body)`` makes one request: it sends ``body`` (msg_id added) from the worker's
        current client to its node, waits up to ``timeout()`` and returns the reply's body, or
        raises on a timeout or an error reply; the runner turns what it raises into fail or
        info (``idempotent``, ``with_errors``) for the whole operation, as Maelstrom does.
        ``call`` does not check schemas: run_op checks each reply with ``check_reply``.

        The default makes the one request of request, reply_schema and completion_value, so a
        runner may call run_op for every workload. A workload whose operation takes several
        requests (kafka) overrides it, keeping per-client state by (worker, process)."""
        body = self.request(op)
        reply = call(body)
        if reply.get("type") != body["type"] + "_ok":  # Maelstrom's schemas fix the reply's type too
            raise SchemaError("Malformed RPC response: type %r, not %r, in %s"
                              % (reply.get("type"), body["type"] + "_ok", _short(reply)))
        check_reply(self.reply_schema(op), reply)
        return "ok", self.completion_value(op, reply)

    def final_ops(self, worker):
        """The final phase's operations of ``worker``, each a dict as next_op's, marked final.
        It may be an iterator, taken one op at a time after the previous one completed."""
        return []

    def check(self, history):
        """The workload's verdict: a dict with ``valid`` (True, False or "unknown") and what
        explains it; when invalid, ``why``, in words."""
        raise NotImplementedError


# The registry, name to module, as Maelstrom's core.clj maps names to workloads. Imported
# last: each module takes Workload and the helpers above from this one.
from . import (broadcast, echo, g_counter, g_set, kafka, lin_kv, pn_counter, txn_list_append,  # noqa: E402
               txn_rw_register, unique_ids)

WORKLOADS = {"echo": echo, "unique-ids": unique_ids, "broadcast": broadcast, "g-set": g_set, "g-counter": g_counter,
             "pn-counter": pn_counter, "lin-kv": lin_kv, "txn-list-append": txn_list_append,
             "txn-rw-register": txn_rw_register, "kafka": kafka}


def workload_class(name):
    """The Workload subclass of ``name`` (one of WORKLOADS)."""
    if name not in WORKLOADS:
        raise ValueError("unknown workload %r: one of %s" % (name, ", ".join(WORKLOADS)))
    return WORKLOADS[name].WORKLOAD
