"""Transactions read from a history (Elle's txn.clj): ok and info completions of ``txn``
operations, an info one having perhaps committed, the failed ones apart; and the direct
findings both transactional workloads share (failed and intermediate writes read, lost
updates)."""
import collections

class Txn:
    """One transaction: its ``invoke`` and completion (``entry``: ok, info or fail), its
    micro-ops (``mops``: the completion's for ok, the invocation's otherwise), its
    ``process``, ``index`` (its place among the history's transactions) and times."""

    __slots__ = ("index", "invoke", "entry", "mops", "process", "type", "invoked_at", "completed_at")

    def __init__(self, index, invoke, entry, invoked_at, completed_at):
        self.index, self.invoke, self.entry = index, invoke, entry
        self.invoked_at, self.completed_at = invoked_at, completed_at  # places in the history
        self.type = entry["type"] if entry is not None else "info"
        value = entry["value"] if entry is not None and self.type == "ok" else invoke["value"]
        self.mops = [tuple(mop) if not isinstance(mop[2], list) else (mop[0], mop[1], tuple(mop[2]))
                     for mop in (value or ())]
        self.process = invoke["process"]

    def describe(self):
        """E.g. "process 3's ok txn [["append", 5, 3], ["r", 5, [1, 3]]] (1.203 s to 1.210 s)"."""
        done = self.entry if self.entry is not None else {}
        span = ""
        if "time" in self.invoke:
            span = " (%.3f s to %s)" % (self.invoke["time"], "%.3f s" % done["time"] if "time" in done else "never")
        return "process %s's %s txn %s%s" % (self.process, self.type, show_mops(self.mops), span)

    def ref(self):
        """The transaction as a report finds its operation: process and invocation time."""
        return {"process": self.process, "time": self.invoke.get("time")}


def case(why, *txns):
    """An anomaly's case: ``why`` in words, and the ``ops`` of the transactions it names."""
    return {"why": why, "ops": [txn.ref() for txn in txns]}


def show_mops(mops):
    return "[%s]" % ", ".join("[%s, %s, %s]" % (show(f), show(k), show(v)) for f, k, v in mops)


def show(value):
    if value is None:
        return "null"
    if isinstance(value, str):
        return '"%s"' % value
    if isinstance(value, (list, tuple)):
        return "[%s]" % ", ".join(show(item) for item in value)
    return str(value)


def transactions(history):
    """The history's ``txn`` operations as Txns, in completion order (an invocation never
    completed last): (every one, the ok and info ones, the failed ones). A completion with
    no invocation before it (Elle's own test histories) stands for an operation invoked
    where it completed."""
    pending, done = {}, []
    for position, entry in enumerate(history):
        if entry.get("process") == "nemesis" or entry.get("f", "txn") != "txn":
            continue
        if entry["type"] == "invoke":
            pending[entry["process"]] = (entry, position)
        elif entry["process"] in pending:
            invoke, invoked_at = pending.pop(entry["process"])
            done.append((invoke, entry, invoked_at, position))
        else:
            done.append((entry, entry, position, position))
    done += [(invoke, None, invoked_at, len(history)) for invoke, invoked_at in pending.values()]
    txns = [Txn(index, *pair) for index, pair in enumerate(done)]
    return txns, [t for t in txns if t.type != "fail"], [t for t in txns if t.type == "fail"]


def reads(txns, ok_only=True):
    """(txn, key, value) for every read micro-op, of the ok transactions only unless not
    ``ok_only``."""
    for txn in txns:
        if not ok_only or txn.type == "ok":
            for f, k, v in txn.mops:
                if f == "r":
                    yield txn, k, v


def failed_writes(txns, write_f):
    """{key: {value: txn}} for the writes of failed transactions."""
    failed = collections.defaultdict(dict)
    for txn in txns:
        if txn.type == "fail":
            for f, k, v in txn.mops:
                if f == write_f:
                    failed[k][v] = txn
    return failed


def intermediate_writes(txns, write_f):
    """{key: {value: txn}} for writes a transaction later overwrote itself."""
    found = collections.defaultdict(dict)
    for txn in txns:
        last = {}
        for f, k, v in txn.mops:
            if f == write_f:
                if k in last:
                    found[k][last[k]] = txn
                last[k] = v
    return found


def lost_update_cases(txns, write_f):
    """Ok transactions that read one value of a key and then both wrote that key (Elle's
    lost update, found directly)."""
    by_read = collections.defaultdict(list)
    for txn in txns:
        if txn.type != "ok":
            continue
        reads, written = {}, set()
        for f, k, v in txn.mops:
            if f == "r":
                reads.setdefault(k, v)
            elif f == write_f and k not in written:
                written.add(k)
                if k in reads:
                    by_read[(k, reads[k])].append(txn)
    return [{"key": k, "value": v, "txns": [t.describe() for t in ts], "ops": [t.ref() for t in ts]}
            for (k, v), ts in by_read.items() if len(ts) > 1]
