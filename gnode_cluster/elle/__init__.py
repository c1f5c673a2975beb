"""Transactional consistency as Elle (jepsen-io/elle) judges Maelstrom's txn-list-append
and txn-rw-register: what the two workloads share, laid out as Elle's own source is. Each
workload's module infers its own dependencies and direct anomalies (an ``Analysis``);
``result`` judges it under the consistency models asked for:

- ``txn``: transactions from the history, and the direct findings both workloads share;
- ``graph``: the dependency graph (ww, wr, rw, process and real-time edges), Tarjan's
  components, and per anomaly the shortest cycle that shows it, explained edge by edge;
- ``consistency_model``: which anomalies each model proscribes, which models the anomalies
  found rule out, and the strongest still possible;
- here, the result: Elle's verdict (false when an anomaly the models asked for proscribe is
  found), with every anomaly in words. The names the workloads and tests use are here too.
"""
from ..checker import implicated
from .consistency_model import (MODELS, boundary, canonical, friendly, impossible_models, parse_models,
                                prohibited_anomalies, with_implying)
from .graph import (CASES_SHOWN, CYCLE_SPECS, CYCLE_TYPES, RW, SEARCH_BUDGET, WR, WW, Graph, add_process_edges,
                    add_realtime_edges, components, cycle_anomalies)
from .txn import case, failed_writes, intermediate_writes, lost_update_cases, reads, show, transactions


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
    prohibited = prohibited_anomalies(models) | with_implying(anomalies)
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
    found["implicated"] = implicated(op for name in bad for case in found["anomalies"][name]
                                     for op in case.get("ops", ()))
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
