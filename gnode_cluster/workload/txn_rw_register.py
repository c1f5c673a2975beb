"""txn-rw-register: transactions of reads and writes over registers (Maelstrom's
workload/txn_rw_register.clj, with Elle's transaction generator), checked by Elle's
rw-register checker as Maelstrom runs it: version orders inferred from the initial state
(null precedes every value) and from writes following reads within a transaction, and a
verdict that is false for any anomaly the consistency models proscribe."""
import collections

from . import anything
from .. import elle
from ..checker import operation_counts
from .txn_list_append import TxnListAppend


class TxnRWRegister(TxnListAppend):
    """As txn-list-append, with writes ["w", k, v] for appends, and reads whose value is
    the register's (any value, null when absent)."""

    name = "txn-rw-register"
    write_f = "w"
    read_value = staticmethod(anything)

    def check(self, history):
        """Elle's rw-register checker, as Maelstrom runs it: invalid for any anomaly it
        reports but a cycle search that ran out of time."""
        return {**elle.result(analyse(history), self.options["consistency_models"],
                            budget=self.options["checker_budget"], unknown_is_invalid=True),
                "by_f": operation_counts(history)}


# ---------------------------------------------------------------- the checker: Elle's rw_register.clj

def external_reads(txn):
    """{key: the value read} for each key read before the transaction wrote it."""
    reads, written = {}, set()
    for f, k, v in txn.mops:
        if f == "w":
            written.add(k)
        elif k not in written and k not in reads:
            reads[k] = v
    return reads


def external_writes(txn):
    """{key: the last value written}."""
    return {k: v for f, k, v in txn.mops if f == "w"}


def analyse(history):
    every, possible, _ = elle.transactions(history)
    anomalies = {}
    for name, cases in (("internal", _internal_cases(possible)), ("G1a", _g1a_cases(every)),
                        ("G1b", _g1b_cases(every)), ("lost-update", elle.lost_update_cases(possible, "w"))):
        if cases:
            anomalies[name] = cases
    versions, cyclic = _version_graphs(possible)
    if cyclic:
        anomalies["cyclic-versions"] = cyclic
    return elle.Analysis(possible, _graph(possible, versions), anomalies)


def _internal_cases(txns):
    cases = []
    for txn in txns:
        if txn.type != "ok":
            continue
        state = {}
        for f, k, v in txn.mops:
            if f == "r" and k in state and state[k] != v:
                cases.append(elle.case("%s read key %s as %s, where its own earlier micro-ops say %s"
                                       % (txn.describe(), elle.show(k), elle.show(v), elle.show(state[k])), txn))
                break
            state[k] = v
    return cases


def _g1a_cases(txns):
    failed = elle.failed_writes(txns, "w")
    return [elle.case("%s read key %s = %s, which only %s wrote, and it failed"
                      % (txn.describe(), elle.show(k), elle.show(v), failed[k][v].describe()), txn, failed[k][v])
            for txn, k, v in elle.reads(txns) if v in failed.get(k, {})]


def _g1b_cases(txns):
    intermediate = elle.intermediate_writes(txns, "w")
    return [elle.case("%s read key %s = %s, which %s wrote and then overwrote itself"
                      % (txn.describe(), elle.show(k), elle.show(v), intermediate[k][v].describe()),
                      txn, intermediate[k][v])
            for txn, k, v in elle.reads(txns) if v in intermediate.get(k, {}) and intermediate[k][v] is not txn]


def _version_graphs(txns):
    """{key: {version: later versions}}: null before every value written or read (ok reads),
    then, for ok transactions that read a key and wrote it, the value read before the value
    written. A source whose edges would make a key's versions cyclic is left out, and the
    cycle reported, as Elle does."""
    initial = collections.defaultdict(lambda: collections.defaultdict(set))
    for txn in txns:
        values = list(external_writes(txn).items()) + (list(external_reads(txn).items()) if txn.type == "ok" else [])
        for k, v in values:
            if v is not None:
                initial[k][None].add(v)
    follows = collections.defaultdict(lambda: collections.defaultdict(set))
    for txn in txns:
        if txn.type == "ok":
            writes = external_writes(txn)
            for k, v in external_reads(txn).items():
                if v is not None and k in writes:
                    follows[k][v].add(writes[k])
    graphs, cyclic = initial, []
    merged = collections.defaultdict(lambda: collections.defaultdict(set))
    for source in (initial, follows):
        for k, edges in source.items():
            for v, later in edges.items():
                merged[k][v] |= later
        cycles = [(k, c) for k in merged for c in _version_cycles(merged[k])]
        if cycles:
            cyclic += [{"why": "the versions of key %s form a cycle: %s" % (elle.show(k), elle.show(sorted(c, key=repr)))}
                       for k, c in cycles]
            merged = collections.defaultdict(lambda: collections.defaultdict(set))
            for k, edges in graphs.items():
                for v, later in edges.items():
                    merged[k][v] |= later
        else:
            graphs = merged
    return graphs, cyclic


def _version_cycles(edges):
    graph = elle.Graph()
    ids = {}
    for v, later in edges.items():
        for w in later:
            graph.link(ids.setdefault(v, len(ids)), ids.setdefault(w, len(ids)), elle.WW)
    names = {i: v for v, i in ids.items()}
    return [[names[i] for i in component] for component in elle.components(graph, list(names))]


def _graph(txns, versions):
    reads_of, writes_of = (collections.defaultdict(lambda: collections.defaultdict(list)) for _ in range(2))
    for txn in txns:
        if txn.type == "ok":  # Elle indexes the ok transactions only
            for k, v in external_reads(txn).items():
                reads_of[k][v].append(txn)
            for k, v in external_writes(txn).items():
                writes_of[k][v].append(txn)
    graph = elle.Graph()
    for k, by_value in reads_of.items():
        for v, readers in by_value.items():
            writers = writes_of[k].get(v, [])
            if len(writers) > 1:
                raise ValueError("key %s had value %s written by more than one transaction" % (elle.show(k),
                                                                                                 elle.show(v)))
            for writer in writers:
                for reader in readers:
                    graph.link(writer.index, reader.index, elle.WR,
                               "{a} wrote key %s = %s, which was read by {b}" % (elle.show(k), elle.show(v)))
    for k, edges in versions.items():
        for v1, later in edges.items():
            for v2 in later:
                for writer in writes_of[k].get(v1, []):
                    for overwriter in writes_of[k].get(v2, []):
                        graph.link(writer.index, overwriter.index, elle.WW,
                                   "{a} set key %s to %s, and {b} set it to %s, which came later in the version "
                                   "order" % (elle.show(k), elle.show(v1), elle.show(v2)))
                for reader in reads_of[k].get(v1, []):
                    for overwriter in writes_of[k].get(v2, []):
                        graph.link(reader.index, overwriter.index, elle.RW,
                                   "{a} read key %s = %s, and {b} set it to %s, which came later in the version "
                                   "order" % (elle.show(k), elle.show(v1), elle.show(v2)))
    return graph


WORKLOAD = TxnRWRegister
