"""txn-list-append: transactions of reads and appends over lists (Maelstrom's
workload/txn_list_append.clj, with Elle's transaction generator), checked by Elle's
list-append checker as Maelstrom runs it (the inference below; the rest in
gnode_cluster.elle).

Also ``TxnGenerator``, the transaction stream txn-rw-register and kafka draw from too.
"""
import collections
import threading

from . import SchemaError, Workload, _short, array
from .. import elle
from ..checker import operation_counts


class TxnGenerator:
    """Elle's stream of transactions: 1 to ``max_txn_length`` micro-ops [f, k, v], each a
    read ["r", k, None] or a write [write_f, k, v] with equal odds, over a pool of
    ``key_count`` integer keys. Key i of the pool is twice as likely as key i - 1. Each
    key's written values are 1, 2, 3, ... up to ``max_writes_per_key``; a key that would
    need one more is retired, and a fresh key (one above the pool's highest) takes its place."""

    def __init__(self, rng, write_f, key_count=10, max_txn_length=4, max_writes_per_key=16):
        self.rng = rng
        self.write_f = write_f
        self.max_txn_length = max_txn_length
        self.max_writes_per_key = max_writes_per_key
        self.active_keys = list(range(key_count))
        self._cumulative_weights = [2 ** (i + 1) - 1 for i in range(key_count)]
        self._next_value = {}

    def next_txn(self):
        """The next transaction, a list of micro-ops."""
        length = self.rng.randint(1, self.max_txn_length)
        txn = []
        while len(txn) < length:
            f = self.rng.choice(("r", self.write_f))
            key = self.rng.choices(self.active_keys, cum_weights=self._cumulative_weights)[0]
            if f == "r":
                txn.append(["r", key, None])
                continue
            value = self._next_value.get(key, 1)
            if value > self.max_writes_per_key:
                self.active_keys[self.active_keys.index(key)] = max(self.active_keys) + 1
                continue  # draw this micro-op again, as Elle does
            self._next_value[key] = value + 1
            txn.append([f, key, value])
        return txn


class TxnListAppend(Workload):
    """Each operation is {"f": "txn", "value": [[f, k, v], ...]}; its ok completion's value
    is the txn the node returned."""

    name = "txn-list-append"
    reusable = True
    write_f = "append"
    read_value = staticmethod(array)  # a list read: its elements, or null for a missing key

    def __init__(self, options, rng):
        super().__init__(options, rng)
        self.txns = TxnGenerator(rng, self.write_f, key_count=options["key_count"],
                                 max_txn_length=options["max_txn_length"],
                                 max_writes_per_key=options["max_writes_per_key"])
        self._lock = threading.Lock()

    def next_op(self, worker):
        with self._lock:
            return {"f": "txn", "value": self.txns.next_txn()}

    def request(self, op):
        return {"type": "txn", "txn": [list(mop) for mop in op["value"]]}

    def reply_schema(self, op):
        """txn: an array of [f, k, v] micro-ops, the request's, in order, with the same f and
        k each (a mismatch raises SchemaError naming it); reads' values as the workload allows."""
        requested = op["value"]

        def same_mops_as_request(txn):
            if not isinstance(txn, list) or not all(isinstance(mop, list) and len(mop) == 3 for mop in txn):
                return False
            if len(txn) != len(requested):
                raise SchemaError("Malformed RPC response: txn has %d micro-op(s), the request had %d: %s"
                                  % (len(txn), len(requested), _short(txn)))
            for index, (mop, sent) in enumerate(zip(txn, requested)):
                if mop[:2] != sent[:2]:
                    raise SchemaError("Malformed RPC response: micro-op %d is %s, the request's was %s"
                                      % (index, _short(mop), _short(sent)))
                if mop[0] == "r" and not self.read_value(mop[2]):
                    raise SchemaError("Malformed RPC response: the read %s is not %s"
                                      % (_short(mop), self.read_value.__name__))
            return True

        return {"txn": same_mops_as_request}

    def completion_value(self, op, reply):
        return reply["txn"]

    def check(self, history):
        """Elle's list-append checker, as Maelstrom runs it, under --consistency-models."""
        return {**elle.result(analyse(history), self.options["consistency_models"],
                            budget=self.options["checker_budget"]),
                "by_f": operation_counts(history)}


# ---------------------------------------------------------------- the checker: Elle's list_append.clj

INIT = object()  # the state before any append: an empty list


def analyse(history):
    """Elle's list-append inference over ``history``: the anomalies it finds directly and the
    ww, wr and rw dependencies it derives from each key's version order, which every read
    encodes (a read of [1, 3] says 1 was appended, then 3)."""
    every, possible, _ = elle.transactions(history)
    anomalies = {}
    internal, future = _internal_cases(possible)
    for name, cases in (("internal", internal), ("future-read", future), ("G1a", _g1a_cases(every)),
                        ("G1b", _g1b_cases(every)), ("duplicate-elements", _duplicates(possible)),
                        ("lost-update", elle.lost_update_cases(possible, "append"))):
        if cases:
            anomalies[name] = cases
    orders = _sorted_values(possible)
    incompatible = _incompatible_orders(orders)
    if incompatible:
        anomalies["incompatible-order"] = incompatible
    dirty = _dirty_updates(_append_index(_sorted_values(every)), every)
    if dirty:
        anomalies["dirty-update"] = dirty
    return elle.Analysis(possible, _graph(possible, _append_index(orders)), anomalies)


def _g1a_cases(txns):
    failed = elle.failed_writes(txns, "append")
    return [elle.case("%s read key %s as %s, with %s, which %s appended and then failed"
                      % (txn.describe(), elle.show(k), elle.show(v), elle.show(e), failed[k][e].describe()),
                      txn, failed[k][e])
            for txn, k, v in elle.reads(txns) if v and k in failed for e in v if e in failed[k]]


def _g1b_cases(txns):
    intermediate = elle.intermediate_writes(txns, "append")
    return [elle.case("%s read key %s as %s, ending in %s, which %s appended before another append of its own"
                      % (txn.describe(), elle.show(k), elle.show(v), elle.show(v[-1]),
                         intermediate[k][v[-1]].describe()), txn, intermediate[k][v[-1]])
            for txn, k, v in elle.reads(txns) if v and v[-1] in intermediate.get(k, {})
            and intermediate[k][v[-1]] is not txn]


def _internal_cases(txns):
    """Reads inconsistent with the transaction's own earlier reads and appends (internal),
    and reads of an element the transaction appends only later (future-read)."""
    internal, future = [], []
    for txn in txns:
        if txn.type != "ok":
            continue
        state, read_elements = {}, {}  # state: key -> (whether its prefix is known, its elements)
        for f, k, v in txn.mops:
            if f == "append":
                if v in read_elements.get(k, ()):
                    future.append(elle.case("%s read %s in key %s before appending it itself"
                                            % (txn.describe(), elle.show(v), elle.show(k)), txn))
                known, elements = state.get(k, (False, ()))
                state[k] = (known, elements + (v,))
                continue
            v = tuple(v or ())
            read_elements.setdefault(k, set()).update(v)
            if k in state:
                known, expected = state[k]
                if known and expected != v or not known and (len(v) < len(expected)
                                                             or v[len(v) - len(expected):] != expected):
                    internal.append(elle.case("%s read key %s as %s, where its own earlier micro-ops say %s"
                                              % (txn.describe(), elle.show(k), elle.show(v),
                                                 elle.show(expected) if known else
                                                 "[..., %s]" % elle.show(expected)[1:-1]), txn))
                    break
            state[k] = (True, v)
    return internal, future


def _duplicates(txns):
    cases = []
    for txn, k, v in elle.reads(txns, ok_only=False):
        if v:
            counts = collections.Counter(v)
            twice = sorted((e for e, n in counts.items() if n > 1), key=repr)
            if twice:
                cases.append(elle.case("%s read key %s as %s, with %s more than once"
                                       % (txn.describe(), elle.show(k), elle.show(v), elle.show(twice)), txn))
    return cases


def _sorted_values(txns):
    """{key: every distinct non-empty list read, shortest first}; a key never read but
    appended exactly once reads as [[that element]]."""
    values, appends = collections.defaultdict(set), collections.defaultdict(list)
    for txn in txns:
        for f, k, v in txn.mops:
            if f == "r" and v:
                values[k].add(tuple(v))
            elif f == "append":
                appends[k].append(v)
    for k, elements in appends.items():
        if len(elements) == 1:  # as in Elle, this stands for whatever was read of the key
            values[k] = {(elements[0],)}
    return {k: sorted(vs, key=len) for k, vs in values.items()}


def _incompatible_orders(orders):
    cases = []
    for k, values in orders.items():
        for shorter, longer in zip(values, values[1:]):
            if longer[:len(shorter)] != shorter:
                cases.append({"why": "key %s was read as %s and as %s: neither is a prefix of the other, so no "
                                     "order of appends explains both" % (elle.show(k), elle.show(shorter),
                                                                         elle.show(longer))})
                break
    return cases


def _append_index(orders):
    """{key: (the elements in version order, {element: its place})}, from the longest read."""
    index = {}
    for k, values in orders.items():
        elements = list(dict.fromkeys(values[-1]))
        index[k] = (elements, {e: i for i, e in enumerate(elements)})
    return index


def _write_index(txns):
    written = collections.defaultdict(dict)
    for txn in txns:
        for f, k, v in txn.mops:
            if f == "append":
                written[k][v] = txn
    return written


def _dirty_updates(index, txns):
    """A failed transaction's append followed, in a key's version order, by a committed
    transaction's (indeterminate ones in between are passed over)."""
    writers, cases = _write_index(txns), []
    for k, (elements, _) in index.items():
        last, seen = None, []
        for e in elements:
            writer = writers.get(k, {}).get(e)
            if writer is None:
                continue
            seen.append(e)
            if writer.type == "info" or writer.type == "fail" and last is not None and last.type == "fail":
                continue
            if writer.type == "ok" and last is not None and last.type == "fail":
                cases.append(elle.case("key %s holds %s: %s's append failed, and yet %s's, after it, committed"
                                       % (elle.show(k), elle.show(seen), last.describe(), writer.describe()),
                                       last, writer))
            last, seen = writer, [e]
    return cases


def _previous_element(index, k, v):
    """The element appended just before ``v`` to ``k`` (INIT if none), or, for an element no
    read shows, the last element known."""
    elements, places = index.get(k, ([], {}))
    if v in places:
        return elements[places[v] - 1] if places[v] > 0 else INIT
    return elements[-1] if elements else INIT


def _graph(txns, index):
    writers = _write_index(txns)
    readers = collections.defaultdict(lambda: collections.defaultdict(list))
    for txn, k, v in elle.reads(txns, ok_only=False):
        if not (txn.type == "info" and v is None):
            readers[k][v[-1] if v else INIT].append(txn)
    graph = elle.Graph()
    for txn in txns:
        for f, k, v in txn.mops:
            if f == "r":
                if v and v[-1] in writers.get(k, {}):
                    graph.link(writers[k][v[-1]].index, txn.index, elle.WR,
                               "{b} observed {a}'s append of %s to key %s" % (elle.show(v[-1]), elle.show(k)))
                continue
            before = _previous_element(index, k, v)
            if before is not INIT and before in writers.get(k, {}):
                graph.link(writers[k][before].index, txn.index, elle.WW,
                           "{b} appended %s after {a} appended %s to key %s"
                           % (elle.show(v), elle.show(before), elle.show(k)))
            for reader in readers[k].get(before, ()):
                if before is INIT:
                    why = "{a} observed the initial (empty) state of key %s, which {b} created by appending %s" \
                          % (elle.show(k), elle.show(v))
                else:
                    why = "{a} did not observe {b}'s append of %s to key %s" % (elle.show(v), elle.show(k))
                graph.link(reader.index, txn.index, elle.RW, why)
    return graph


WORKLOAD = TxnListAppend
