"""The dependency graph and its cycles (Elle's graph.clj and cycle search): edges labelled
ww, wr, rw, process and realtime; Tarjan's strongly connected components; in each, per
anomaly in order of severity, the shortest cycle that shows it, explained edge by edge."""
import collections

from ..linearizable import DEFAULT_BUDGET
from .consistency_model import IMPLIED_ANOMALIES, reach

WW, WR, RW, PROCESS, REALTIME = 1, 2, 4, 8, 16
REL_NAMES = {WW: "ww", WR: "wr", RW: "rw", PROCESS: "process", REALTIME: "realtime"}
SEARCH_BUDGET = DEFAULT_BUDGET  # search steps per component and anomaly (--checker-budget), as lin-kv's per key
CASES_SHOWN = 8  # cases kept per anomaly


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
                redundant |= reach([spec[0]], IMPLIED_ANOMALIES)
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
            "txns": {names[v]: by_index[v].describe() for v in names}, "explanation": text,
            "ops": [by_index[v].ref() for v in names]}


def _step_why(graph, a, b, rel, by_index, names):
    if rel == PROCESS:
        return "process %s ran %s before %s" % (by_index[a].process, names[a], names[b])
    if rel == REALTIME:
        first, then = by_index[a], by_index[b]
        return "%s completed at %s, before %s was invoked at %s" % (
            names[a], _when(first.entry, first.completed_at), names[b], _when(then.invoke, then.invoked_at))
    return graph.why[(a, b, rel)].replace("{a}", names[a]).replace("{b}", names[b])
