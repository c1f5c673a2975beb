"""Transactional consistency as Elle (jepsen-io/elle) judges Maelstrom's txn-list-append
and txn-rw-register: what the workloads share. Each workload's module infers its own
dependencies (``Analysis``); this module holds the rest:

- transactions from the history (``transactions``): ok and info completions of ``txn``
  operations, an info one having perhaps committed, and the failed ones apart;
- the dependency graph: write-write, write-read and read-write edges from the workload's
  inference, process edges (each process's ok transactions in order) and real-time edges
  (T1 completed before T2 was invoked; kept as a transitive reduction, as Elle keeps them);
- cycles: the strongly connected components (Tarjan's), then in each, per anomaly in order
  of severity, the shortest cycle that shows it: G0, G1c, G-single-item,
  G-nonadjacent-item, G2-item, and their -process and -realtime variants;
- the consistency models (Elle's consistency_model.clj): which anomalies each model
  proscribes, which models the anomalies found rule out, and the strongest still possible;
- the result: Elle's verdict (false when an anomaly the models asked for proscribe is
  found), and every anomaly explained in words, edge by edge.
"""
import collections

from .linearizable import DEFAULT_BUDGET

WW, WR, RW, PROCESS, REALTIME = 1, 2, 4, 8, 16
REL_NAMES = {WW: "ww", WR: "wr", RW: "rw", PROCESS: "process", REALTIME: "realtime"}
SEARCH_BUDGET = DEFAULT_BUDGET  # search steps per component and anomaly (--checker-budget), as lin-kv's per key
CASES_SHOWN = 8  # cases kept per anomaly

# ---------------------------------------------------------------- consistency models

# Facts of Elle's consistency_model.clj: anomaly a -> the anomalies it implies.
IMPLIED_ANOMALIES = {
    "G0": ["G1c", "G0-process"], "G0-process": ["G1c-process", "G0-realtime"], "G0-realtime": ["G1c-realtime"],
    "G1a": ["G1"], "G1b": ["G1"], "G1c": ["G1", "G1c-process"],
    "G1c-process": ["G1c-realtime", "G1-process"], "G1c-realtime": ["G1-realtime"],
    "G1": ["G1-process"], "G1-process": ["G1-realtime"],
    "G-single-item": ["G-single", "G-single-item-process", "G-nonadjacent-item"],
    "G-single-item-process": ["G-single-process", "G-single-item-realtime", "G-nonadjacent-item-process"],
    "G-single-item-realtime": ["G-single-realtime", "G-nonadjacent-item-realtime"],
    "G-single": ["G-nonadjacent", "GSIb", "G-single-process"],
    "G-single-process": ["G-nonadjacent-process", "G-single-realtime"],
    "G-single-realtime": ["G-nonadjacent-realtime"],
    "G-nonadjacent-item": ["G-nonadjacent", "G2-item", "G-nonadjacent-item-process"],
    "G-nonadjacent-item-process": ["G-nonadjacent-process", "G2-item-process", "G-nonadjacent-item-realtime"],
    "G-nonadjacent-item-realtime": ["G2-item-realtime", "G-nonadjacent-realtime"],
    "G-nonadjacent": ["G2", "G-nonadjacent-process"],
    "G-nonadjacent-process": ["G2-process", "G-nonadjacent-realtime"],
    "G-nonadjacent-realtime": ["G2-realtime"],
    "G2": ["G2-process"], "G2-item": ["G2", "G2-item-process"],
    "G2-item-process": ["G2-process", "G2-item-realtime"], "G2-item-realtime": ["G2-realtime"],
    "G2-process": ["G2-realtime"],
    "GSIa": ["GSI"], "GSIb": ["GSI"],
    "incompatible-order": ["G1a"], "future-read": ["G1c"], "dirty-update": ["G1a"],
    "lost-update": ["write-skew", "G2-item"], "write-skew": ["G2"],
}

CANONICAL = {
    "consistent-view": "PL-2+", "conflict-serializable": "PL-3", "cursor-stability": "PL-CS",
    "forward-consistent-view": "PL-FCV", "monotonic-snapshot-read": "PL-MSR", "monotonic-view": "PL-2L",
    "read-committed": "PL-2", "read-uncommitted": "PL-1", "repeatable-read": "PL-2.99", "serializable": "PL-3",
    "snapshot-isolation": "PL-SI", "strict-serializable": "PL-SS", "strong-serializable": "PL-SS",
    "update-serializable": "PL-3U", "strong-session-read-uncommitted": "strong-session-PL-1",
    "strong-session-read-committed": "strong-session-PL-2", "strong-read-uncommitted": "strong-PL-1",
    "strong-read-committed": "strong-PL-2",
}
FRIENDLY = {**{canonical: friendly for friendly, canonical in CANONICAL.items()}, "PL-3": "serializable"}

# model -> the models it implies (a history that satisfies the first satisfies these)
_MODELS = {
    "causal-cerone": ["read-atomic"], "consistent-view": ["cursor-stability", "monotonic-view"],
    "conflict-serializable": ["view-serializable"], "cursor-stability": ["read-committed", "PL-2"],
    "forward-consistent-view": ["consistent-view"], "PL-2": ["PL-1"], "PL-3": ["repeatable-read", "update-serializable"],
    "update-serializable": ["forward-consistent-view"], "monotonic-atomic-view": ["read-committed"],
    "monotonic-view": ["PL-2"], "monotonic-snapshot-read": ["PL-2"],
    "parallel-snapshot-isolation": ["causal-cerone", "update-atomic"], "prefix": ["causal-cerone"],
    "read-atomic": ["monotonic-atomic-view"], "read-committed": ["read-uncommitted"],
    "repeatable-read": ["cursor-stability", "monotonic-atomic-view"], "update-atomic": ["read-atomic"],
    "serializable": ["repeatable-read", "snapshot-isolation", "view-serializable"],
    "session-serializable": ["1SR"],
    "snapshot-isolation": ["forward-consistent-view", "monotonic-atomic-view", "monotonic-snapshot-read",
                           "parallel-snapshot-isolation", "prefix"],
    "strict-serializable": ["PL-3", "serializable", "linearizable", "snapshot-isolation", "strong-snapshot-isolation",
                            "strong-session-serializable"],
    "strong-session-PL-1": ["PL-1"], "strong-session-PL-2": ["PL-2", "strong-session-PL-1"],
    "strong-PL-1": ["strong-session-PL-1"], "strong-PL-2": ["strong-session-PL-2", "strong-PL-1"],
    "strong-session-serializable": ["serializable", "strong-session-snapshot-isolation"],
    "strong-session-snapshot-isolation": ["snapshot-isolation", "strong-session-PL-2"],
    "strong-serializable": ["session-serializable"],
    "strong-snapshot-isolation": ["strong-session-snapshot-isolation", "strong-PL-2"],
    "linearizable": ["sequential"], "sequential": ["causal"], "causal": ["writes-follow-reads", "PRAM"],
    "PRAM": ["monotonic-reads", "monotonic-writes", "read-your-writes"],
}

# model -> the anomalies it proscribes beyond the models it implies
_PROSCRIBED = {
    "causal-cerone": ["internal", "G1a"], "cursor-stability": ["G1", "G-cursor", "lost-update"],
    "monotonic-view": ["G1", "G-monotonic"], "monotonic-snapshot-read": ["G1", "G-MSR"],
    "consistent-view": ["G1", "G-single"], "forward-consistent-view": ["G1", "G-SIb"],
    "parallel-snapshot-isolation": ["internal", "G1a"],
    "PL-3": ["G1", "G2", "predicate-read-miss", "PL-3-cycle-exists"], "PL-2": ["G1", "PL-2-cycle-exists"],
    "PL-1": ["G0", "duplicate-elements", "cyclic-versions", "PL-1-cycle-exists"], "prefix": ["internal", "G1a"],
    "serializable": ["internal"],
    "snapshot-isolation": ["internal", "G1", "G-SI", "G-nonadjacent", "PL-SI-cycle-exists"],
    "read-atomic": ["internal", "G1a", "future-read"],
    "repeatable-read": ["G1", "G2-item", "PL-2.99-cycle-exists", "lost-update"], "update-atomic": ["lost-update"],
    "strict-serializable": ["G1", "G1c-realtime", "G2-realtime", "PL-SS-cycle-exists"],
    "strong-session-PL-1": ["strong-session-PL-1-cycle-exists", "G0-process"],
    "strong-session-PL-2": ["strong-session-PL-2-cycle-exists", "G1c-process"],
    "strong-PL-1": ["strong-PL-1-cycle-exists", "G0-realtime"],
    "strong-PL-2": ["strong-PL-2-cycle-exists", "G1c-realtime"],
    "strong-session-snapshot-isolation": ["internal", "G1-process", "G-nonadjacent-process",
                                          "strong-session-snapshot-isolation-cycle-exists"],
    "strong-snapshot-isolation": ["internal", "G1-realtime", "G-nonadjacent-realtime",
                                  "strong-snapshot-isolation-cycle-exists"],
    "strong-session-serializable": ["G1-process", "G2-process", "strong-session-serializable-cycle-exists"],
    "update-serializable": ["G1", "G-update"],
}


def canonical(model):
    return CANONICAL.get(model, model)


def friendly(model):
    return FRIENDLY.get(model, model)


def _canonical_graph(graph):
    merged = collections.defaultdict(set)
    for model, implied in graph.items():
        merged[canonical(model)].update(canonical(m) for m in implied)
    return dict(merged)


MODELS = _canonical_graph(_MODELS)
PROSCRIBED = {canonical(model): set(anomalies) for model, anomalies in _PROSCRIBED.items()}
ALL_MODELS = sorted({friendly(m) for m in set(MODELS) | {m for ms in MODELS.values() for m in ms}}
                    | set(CANONICAL))


def _reach(start, edges):
    """Everything reachable from the ``start`` collection along ``edges`` (a -> [b]),
    the start included."""
    seen, todo = set(start), list(start)
    while todo:
        for following in edges.get(todo.pop(), ()):
            if following not in seen:
                seen.add(following)
                todo.append(following)
    return seen


def _reversed(edges):
    back = collections.defaultdict(set)
    for a, bs in edges.items():
        for b in bs:
            back[b].add(a)
    return back


_IMPLYING = _reversed(IMPLIED_ANOMALIES)
_IMPLIED_BY_MODEL = _reversed(MODELS)
_PROSCRIBING = _reversed(PROSCRIBED)


def parse_models(text):
    """Maelstrom's --consistency-models: comma-separated names Elle knows. ValueError if not."""
    models = [name.strip() for name in (text.split(",") if isinstance(text, str) else text) if name.strip()]
    unknown = [m for m in models if friendly(canonical(m)) not in ALL_MODELS and m not in ALL_MODELS]
    if unknown or not models:
        raise ValueError("unknown consistency model(s) %s: each is one of %s"
                         % (", ".join(unknown) or "(none given)", ", ".join(ALL_MODELS)))
    return models


def prohibited_anomalies(models):
    """The anomalies that cannot be present if every one of ``models`` holds."""
    proscribed = set()
    for model in _reach([canonical(m) for m in models], MODELS):
        proscribed |= PROSCRIBED.get(model, set())
    return _reach(proscribed, _IMPLYING)


def impossible_models(anomalies):
    """The models (canonical names) that the presence of ``anomalies`` rules out."""
    directly = set()
    for anomaly in _reach(anomalies, IMPLIED_ANOMALIES):
        directly |= _PROSCRIBING.get(anomaly, set())
    return _reach(directly, _IMPLIED_BY_MODEL)


def _most(models, edges):
    """The subset of ``models`` none of whose members reaches another along ``edges``."""
    kept = set(models)
    for model in sorted(models):
        others = kept - {model}
        if others & (_reach([model], edges) - {model}):
            kept.discard(model)
    return kept


def boundary(anomalies):
    """Elle's boundary of ``anomalies``, in friendly names: ``not`` (the weakest models they
    rule out), ``also_not`` (the stronger ones), ``strongest_possible`` (the strongest
    models still possible)."""
    impossible = impossible_models(anomalies)
    weakest = _most(impossible, MODELS)
    possible = set(MODELS) | {m for ms in MODELS.values() for m in ms}
    possible -= impossible
    return {"not": sorted(friendly(m) for m in weakest),
            "also_not": sorted(friendly(m) for m in impossible - weakest),
            "strongest_possible": sorted(friendly(m) for m in _most(possible, _IMPLIED_BY_MODEL))}


# ---------------------------------------------------------------- transactions

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
    return [{"key": k, "value": v, "txns": [t.describe() for t in ts]}
            for (k, v), ts in by_read.items() if len(ts) > 1]


# ---------------------------------------------------------------- the graph

class Graph:
    """Transactions as vertices (their indices), edges a -> b labelled with relationship bits;
    ``why[(a, b, rel)]`` is the workload's words for a data edge."""

    def __init__(self):
        self.out = collections.defaultdict(dict)
        self.why = {}
        self.rels = 0  # every relationship some edge has

    def copy(self):
        """A graph with the same edges, to add edges to without changing this one (the words
        of the data edges are shared: only data edges have any)."""
        copied = Graph()
        copied.out = collections.defaultdict(dict, {a: dict(edges) for a, edges in self.out.items()})
        copied.why, copied.rels = self.why, self.rels
        return copied

    def link(self, a, b, rel, why=None):
        if a == b:
            return
        self.rels |= rel
        edges = self.out[a]
        edges[b] = edges.get(b, 0) | rel
        if why is not None:
            self.why.setdefault((a, b, rel), why)


def add_process_edges(graph, txns):
    """Each process's ok transactions, in order."""
    last = {}
    for txn in sorted((t for t in txns if t.type == "ok"), key=lambda t: t.completed_at):
        if txn.process in last:
            graph.link(last[txn.process].index, txn.index, PROCESS)
        last[txn.process] = txn


def add_realtime_edges(graph, txns):
    """T1 -> T2 when T1 completed ok before T2 was invoked, as a transitive reduction: each
    invocation is linked from the ok completions not yet followed by a later one."""
    events = []
    for txn in txns:
        events.append((txn.invoked_at, True, txn))
        if txn.type == "ok":
            events.append((txn.completed_at, False, txn))
    frontier, before = set(), {}
    for _, is_invoke, txn in sorted(events, key=lambda e: e[0]):
        if is_invoke:
            before[txn.index] = set(frontier)
            for earlier in frontier:
                graph.link(earlier, txn.index, REALTIME)
        else:
            frontier -= before.get(txn.index, set())
            frontier.add(txn.index)


def _when(entry, position):
    return "%.3f s" % entry["time"] if entry is not None and "time" in entry else "entry %d" % position


def components(graph, vertices):
    """Strongly connected components with more than one vertex (Tarjan's, iteratively)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for root in vertices:
        if root in index:
            continue
        work = [(root, iter(graph.out.get(root, {})))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            vertex, successors = work[-1]
            for following in successors:
                if following not in index:
                    index[following] = low[following] = counter
                    counter += 1
                    stack.append(following)
                    on_stack.add(following)
                    work.append((following, iter(graph.out.get(following, {}))))
                    break
                if following in on_stack:
                    low[vertex] = min(low[vertex], index[following])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[vertex])
                if low[vertex] == index[vertex]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == vertex:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


# ---------------------------------------------------------------- cycle anomalies

# name: (relationships usable, the rw rule, relationships required); Elle's specs for the
# item (non-predicate) anomalies. The rw rule: None, "single", "nonadjacent" (2+ rw, none
# adjacent) or "adjacent" (2+ rw, some adjacent).
_BASE_SPECS = [
    ("G0", WW, None, ()),
    ("G1c", WW | WR, None, (WR,)),
    ("G-single-item", WW | WR | RW, "single", ()),
    ("G-nonadjacent-item", WW | WR | RW, "nonadjacent", ()),
    ("G2-item", WW | WR | RW, "adjacent", ()),
]
CYCLE_SPECS = []
for _name, _rels, _rule, _required in _BASE_SPECS:
    CYCLE_SPECS.append((_name, _rels, _rule, _required))
    CYCLE_SPECS.append((_name + "-process", _rels | PROCESS, _rule, _required + (PROCESS,)))
    CYCLE_SPECS.append((_name + "-realtime", _rels | REALTIME, _rule, _required + (REALTIME,)))
CYCLE_TYPES = {spec[0] for spec in CYCLE_SPECS}


class SearchTimeout(Exception):
    pass


def find_cycle(graph, component, spec, budget):
    """The shortest cycle in ``component`` (a list of vertices) that ``spec`` allows, as a
    list of (a, b, rel) steps, or None. Raises SearchTimeout past ``budget`` steps."""
    _, rels, rule, required = spec
    members = set(component)
    need = 0
    for rel in required:
        need |= rel
    steps = 0
    for start in component:
        # state: (vertex, rw count capped at 2, last edge rw, first edge rw, adjacent rw seen, required seen)
        first = (start, 0, False, None, False, 0)
        parents = {first: None}
        queue = collections.deque([first])
        while queue:
            state = queue.popleft()
            vertex, rw_count, last_rw, first_rw, adjacent, seen_required = state
            for following, bits in graph.out.get(vertex, {}).items():
                if following not in members:
                    continue
                for rel in (WW, WR, RW, PROCESS, REALTIME):
                    if not bits & rel & rels:
                        continue
                    steps += 1
                    if steps > budget:
                        raise SearchTimeout()
                    is_rw = rel == RW
                    count = min(2, rw_count + is_rw)
                    if rule == "single" and count > 1 or rule is None and is_rw:
                        continue
                    if rule == "nonadjacent" and is_rw and last_rw:
                        continue
                    after = (following, count, is_rw, is_rw if first_rw is None else first_rw,
                             adjacent or (is_rw and last_rw), seen_required | (rel & need))
                    if following == start:
                        wrap = is_rw and after[3]  # the last edge and the first: adjacent too
                        ok = after[5] == need and (
                            rule is None or rule == "single" and count == 1
                            or rule == "nonadjacent" and count == 2 and not wrap
                            or rule == "adjacent" and count == 2 and (after[4] or wrap))
                        if ok:
                            path = [(vertex, following, rel)]
                            back = state
                            while parents[back] is not None:
                                back, step = parents[back]
                                path.append(step)
                            return path[::-1]
                        continue
                    if after not in parents:
                        parents[after] = (state, (vertex, following, rel))
                        queue.append(after)
    return None


def cycle_anomalies(graph, txns, wanted, budget=SEARCH_BUDGET):
    """{anomaly: [case, ...]} (CASES_SHOWN at most each) for the cycle anomalies in
    ``wanted``, searched per component, the most severe first, and {anomaly: how many
    components show it}; a search past ``budget`` gives a ``cycle-search-timeout`` case."""
    found, counts = collections.defaultdict(list), collections.Counter()
    by_index = {txn.index: txn for txn in txns}
    specs = [spec for spec in CYCLE_SPECS if spec[0] in wanted and all(graph.rels & rel for rel in spec[3])]
    for component in components(graph, [t.index for t in txns]):
        redundant = set()
        for spec in specs:
            if spec[0] in redundant:
                continue
            try:
                cycle = find_cycle(graph, component, spec, budget)
            except SearchTimeout:
                counts["cycle-search-timeout"] += 1
                found["cycle-search-timeout"].append({"why": "the search for %s in a component of %d transactions "
                                                             "gave up after %d steps" % (spec[0], len(component),
                                                                                         budget)})
                continue
            if cycle is not None:
                counts[spec[0]] += 1
                if len(found[spec[0]]) < CASES_SHOWN:
                    found[spec[0]].append(explain_cycle(graph, cycle, by_index, spec[0]))
                redundant |= _reach([spec[0]], IMPLIED_ANOMALIES)
    return dict(found), counts


def explain_cycle(graph, cycle, by_index, anomaly):
    """A cycle case: its transactions named T1, T2, ... in order, and each step in words."""
    names = {}
    for a, _, _ in cycle:
        names.setdefault(a, "T%d" % (len(names) + 1))
    steps = []
    for number, (a, b, rel) in enumerate(cycle):
        why = _step_why(graph, a, b, rel, by_index, names)
        lead = "However, " if number == len(cycle) - 1 else ""
        steps.append("%s%s < %s, because %s" % (lead, names[a], names[b], why))
    text = "Let:\n%s\nThen:\n%s: a contradiction!" % (
        "\n".join("  %s = %s" % (names[v], by_index[v].describe()) for v in names),
        "\n".join("  - " + step for step in steps))
    return {"type": anomaly, "cycle": [names[a] for a, _, _ in cycle] + [names[cycle[0][0]]],
            "steps": [{"from": names[a], "to": names[b], "type": REL_NAMES[rel]} for a, b, rel in cycle],
            "txns": {names[v]: by_index[v].describe() for v in names}, "explanation": text}


def _step_why(graph, a, b, rel, by_index, names):
    if rel == PROCESS:
        return "process %s ran %s before %s" % (by_index[a].process, names[a], names[b])
    if rel == REALTIME:
        first, then = by_index[a], by_index[b]
        return "%s completed at %s, before %s was invoked at %s" % (
            names[a], _when(first.entry, first.completed_at), names[b], _when(then.invoke, then.invoked_at))
    return graph.why[(a, b, rel)].replace("{a}", names[a]).replace("{b}", names[b])


# ---------------------------------------------------------------- the result

class Analysis:
    """What a workload's inference gives: ``anomalies`` found directly ({name: [cases]}), and
    the ``graph`` of its ww, wr and rw dependencies over ``txns`` (ok and info ones)."""

    def __init__(self, txns, graph, anomalies):
        self.txns, self.graph, self.anomalies = txns, graph, anomalies


def result(analysis, models, budget=SEARCH_BUDGET, unknown_is_invalid=False, anomalies=()):
    """Elle's result for ``analysis`` under ``models`` (and the further ``anomalies`` asked
    for, with those that imply them, as Elle's :anomalies option): ``valid``, the reportable
    ``anomaly_types`` and ``anomalies`` (cases, explained), the ``not``/``also_not`` boundary,
    the ``strongest_possible`` models, and ``why`` in words. ``unknown_is_invalid``: Maelstrom's
    txn-rw-register, whose verdict is false for any reportable anomaly but a search timeout."""
    prohibited = prohibited_anomalies(models) | _reach(anomalies, _IMPLYING)
    graph, txns = analysis.graph, analysis.txns
    empty = not graph.out  # before the orders below: no dependency between any two transactions
    # the orders Elle adds when the models need them (real time covers each process's order),
    # on a copy: the analysis stays as the workload inferred it, to be judged again
    if any(a.endswith("-realtime") for a in prohibited):
        graph = graph.copy()
        add_realtime_edges(graph, txns)
    elif any(a.endswith("-process") for a in prohibited):
        graph = graph.copy()
        add_process_edges(graph, txns)
    found_anomalies = dict(analysis.anomalies)
    if empty:
        found_anomalies["empty-transaction-graph"] = [{"why": "no transaction depends on another: there is "
                                                              "nothing to order"}]
    # Every kind of cycle is searched, as Elle does, reported or not: the boundary takes them all.
    cycles, counts = cycle_anomalies(graph, txns, CYCLE_TYPES, budget)
    found_anomalies.update(cycles)
    counts.update({name: len(cases) for name, cases in found_anomalies.items() if name not in cycles})
    unknown_types = {"empty-transaction-graph", "cycle-search-timeout"}
    reportable = {name: cases for name, cases in found_anomalies.items()
                  if name in prohibited or name in unknown_types}
    bad = [name for name in reportable if name in prohibited]
    if not reportable:  # the boundary still says what the anomalies not asked about rule out
        return {"valid": True, "consistency_models": list(models), "anomaly_types": [], "txn_count": len(txns),
                **boundary(list(found_anomalies))}
    valid = False if bad else "unknown"
    if unknown_is_invalid and any(name != "cycle-search-timeout" for name in reportable):
        valid = False
    found = {"valid": valid, "consistency_models": list(models), "anomaly_types": sorted(reportable),
             "anomaly_counts": {name: counts[name] for name in sorted(reportable)},
             "anomalies": {name: cases[:CASES_SHOWN] for name, cases in reportable.items()},
             "txn_count": len(txns), **boundary(list(found_anomalies))}
    found["why"] = _why(found, bad)
    return found


def _why(found, bad):
    types = found["anomaly_types"]
    counts = ["%s (%d)" % (name, found["anomaly_counts"][name]) for name in types]
    text = "Elle's checks found %s" % _and(counts)
    if found["not"]:
        text += ", which rule%s out %s and every model stronger" % ("" if len(types) > 1 else "s", _and(found["not"]))
    if bad:
        text += ": the history is not %s, as --consistency-models asks" % " or ".join(found["consistency_models"])
    elif found["valid"] is False:
        text += ": Maelstrom's txn-rw-register fails a test on any anomaly it reports"
    else:
        text += ": the verdict is unknown"
    first = next(name for name in [spec[0] for spec in CYCLE_SPECS] + types if name in types)  # the gravest
    case = found["anomalies"][first][0]
    told = case.get("explanation") or case.get("why") or repr(case)
    return "%s. The first %s: %s" % (text, first, told)


def _and(items):
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
