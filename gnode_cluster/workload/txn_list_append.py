"""txn-list-append: transactions of reads and appends over lists (Maelstrom's
workload/txn_list_append.clj, with Elle's transaction generator). Elle checks the history
under Maelstrom only: here the verdict is "unknown", with statistics.

Also ``TxnGenerator``, the transaction stream txn-rw-register and kafka draw from too.
"""
import threading

from . import SchemaError, Workload, _short, anything, array, checked_by_maelstrom


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
    checked_by_maelstrom_only = True
    write_f = "append"
    read_value = staticmethod(array)  # a list read: its elements, or null for a missing key
    checker = "Elle's list-append checker"

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
        """Unknown: Elle checks the transactions under Maelstrom. Reports completions, how many
        transactions were invoked, and the micro-ops of the ok ones by function."""
        result = checked_by_maelstrom(self.name, self.checker, history)
        result["txn_count"] = sum(1 for entry in history if entry["type"] == "invoke")
        ok_mops = {"r": 0, self.write_f: 0}
        for entry in history:
            if entry["type"] == "ok":
                for mop in entry["value"] or ():
                    ok_mops[mop[0]] = ok_mops.get(mop[0], 0) + 1
        result["ok_mops"] = ok_mops
        return result


WORKLOAD = TxnListAppend
