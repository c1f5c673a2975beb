#!/usr/bin/env python3
"""The checkers' speed and verdicts on histories no one here wrote, and on big ones:

1. Knossos's own test data (jepsen-io/knossos, data/cas-register/good and bad, EDN, from a
   checkout or its git directory given with --knossos; not kept here): every good history
   must come out valid and every bad one invalid, with the register starting at 0 as
   Knossos's tests start it. Time per history.
2. A synthetic lin-kv history of 10,000 operations on 10 keys (linearizable by
   construction, with indeterminate operations): target under 10 s.
3. A 60 s lin-kv test at --rate 100, 5 nodes, --nemesis partition, against the node that
   forwards to the lin-kv service, its history then checked again: target under 2 s.
4. Elle's checkers on the histories of a 60 s txn-rw-register test at --rate 1000 on 1 node
   and of a 60 s txn-list-append test on 5 nodes at --rate 100 (a node that runs every
   transaction on one leader): a few seconds each. On the larger dependency graph, the
   strongly connected components by gnode_cluster.elle's Tarjan and by networkx (if
   installed), side by side.

Each timing is the median of --runs runs.

    python3 bench/checkers.py --knossos /path/to/knossos          # about 2 minutes
    python3 bench/checkers.py --knossos /path/to/knossos --skip-test
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from gnode_cluster import run_test  # noqa: E402 (after the path is set)
from gnode_cluster.history import edn_history, read_history  # noqa: E402
from gnode_cluster import elle  # noqa: E402
from gnode_cluster.linearizable import check_independent, check_register  # noqa: E402
from gnode_cluster.options import resolve  # noqa: E402
from gnode_cluster.workload import workload_class  # noqa: E402

KNOSSOS_DATA = "data/cas-register"
PROXY_NODE = os.path.join(ROOT, "tests", "broken_nodes", "lin_kv.py")
TXN_NODE = os.path.join(ROOT, "tests", "broken_nodes", "txn_rw_register.py")
TARGETS = {"synthetic": 10.0, "test": 2.0, "txn": 5.0}  # seconds


def timed(fn, runs):
    """fn's last result and the median of its times over ``runs`` runs."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return result, statistics.median(times)


# ---------------------------------------------------------------- Knossos's histories

def knossos_files(source):
    """{relative path: EDN text} of Knossos's cas-register histories, from a checkout or a
    git directory."""
    if os.path.isdir(os.path.join(source, KNOSSOS_DATA)):
        found = {}
        for verdict in ("good", "bad"):
            folder = os.path.join(source, KNOSSOS_DATA, verdict)
            for name in sorted(os.listdir(folder)):
                if name.endswith(".edn"):
                    with open(os.path.join(folder, name), encoding="utf-8") as f:
                        found["%s/%s" % (verdict, name)] = f.read()
        return found
    names = subprocess.run(["git", "--git-dir", source, "ls-tree", "-r", "--name-only", "HEAD", KNOSSOS_DATA],
                           capture_output=True, text=True, check=True).stdout.split()
    return {name[len(KNOSSOS_DATA) + 1:]: subprocess.run(["git", "--git-dir", source, "show", "HEAD:" + name],
                                                         capture_output=True, text=True, check=True).stdout
            for name in names if name.endswith(".edn")}


def knossos(source, runs):
    rows = []
    for name, text in sorted(knossos_files(source).items()):
        entries = [e for e in edn_history(text, name) if e["process"] != "nemesis"]
        result, seconds = timed(lambda: check_register(entries, initial=0), runs)
        expected = name.startswith("good/")
        rows.append((name, len(entries), expected, result["valid"], seconds))
    return rows


# ---------------------------------------------------------------- a synthetic history

def synthetic(ops=10_000, keys=10, workers=20, seed=1):
    """A linearizable lin-kv history: each operation takes effect at a random moment between
    its invocation and completion, on registers kept here. One write or cas in 50 ends
    indeterminate (info), having taken effect or not; its worker then goes on as a new
    process, as Jepsen's do."""
    rng = random.Random(seed)
    clock, process = [0.0] * workers, list(range(workers))
    planned = []
    for n in range(ops):
        worker = n % workers
        invoked = clock[worker] + rng.uniform(0, 0.002)
        effect = invoked + rng.uniform(0, 0.003)
        completed = clock[worker] = effect + rng.uniform(0, 0.003)
        f = rng.choice(("read", "write", "cas"))
        value = None if f == "read" else rng.randrange(5) if f == "write" else [rng.randrange(5), rng.randrange(5)]
        info = f != "read" and rng.random() < 0.02
        planned.append({"process": process[worker], "key": rng.randrange(keys), "f": f, "value": value,
                        "invoked": invoked, "effect": effect, "completed": completed, "info": info,
                        "happens": not info or rng.random() < 0.5})
        if info:
            process[worker] += workers
    registers = {}
    for op in sorted(planned, key=lambda op: op["effect"]):  # each takes effect in turn
        current = registers.get(op["key"])
        if op["f"] == "read":
            op["type"], op["result"] = ("ok", current) if current is not None else ("fail", None)
        elif op["f"] == "write" or current == op["value"][0]:
            if op["happens"]:
                registers[op["key"]] = op["value"] if op["f"] == "write" else op["value"][1]
            op["type"], op["result"] = "ok", op["value"]
        else:
            op["type"], op["result"] = "fail", op["value"]
        if op["info"]:
            op["type"] = "info"
    entries = []
    for op in planned:
        entries.append((op["invoked"], {"process": op["process"], "type": "invoke", "f": op["f"],
                                        "value": [op["key"], op["value"]]}))
        entries.append((op["completed"], {"process": op["process"], "type": op["type"], "f": op["f"],
                                          "value": [op["key"], op["result"]]}))
    entries.sort(key=lambda pair: pair[0])
    return [dict(entry, time=at) for at, entry in entries]


# ---------------------------------------------------------------- a real test's history

def real_test(store):
    result = run_test("lin-kv", PROXY_NODE, args=["proxy"], node_count=5, concurrency="2n", time_limit=60, rate=100,
                      nemesis="partition", store=store, seed=1)
    return result, read_history(result.path)


def txn_tests(store, runs):
    """[(label, entries, verdict, seconds)] for the two transactional tests, and the graph of
    the larger history for the components comparison."""
    rows, largest = [], None
    for workload, options in (("txn-rw-register", dict(node_count=1, rate=1000, concurrency=10)),
                              ("txn-list-append", dict(node_count=5, rate=100))):
        test = run_test(workload, TXN_NODE, args=["leader"], time_limit=60, store=store, seed=1, **options)
        history = read_history(test.path)
        checker = workload_class(workload).for_checking(resolve(workload=workload))
        result, seconds = timed(lambda: checker.check(history), runs)
        rows.append(("%s, %d nodes, rate %d" % (workload, options["node_count"], options["rate"]), len(history),
                     result["valid"], seconds))
        module = sys.modules[type(checker).__module__]
        analysis = module.analyse(history)
        if largest is None or len(analysis.txns) > len(largest.txns):
            largest = analysis
    return rows, largest


def compare_components(analysis, runs):
    """Seconds for the components of ``analysis``'s graph: elle's Tarjan, then networkx's."""
    graph, vertices = analysis.graph, [t.index for t in analysis.txns]
    elle.add_realtime_edges(graph, analysis.txns)
    ours, ours_seconds = timed(lambda: elle.components(graph, vertices), runs)
    try:
        import networkx
    except ImportError:
        return ours_seconds, None, None
    def theirs():
        digraph = networkx.DiGraph()
        digraph.add_nodes_from(vertices)
        digraph.add_edges_from((a, b) for a, edges in graph.out.items() for b in edges)
        return [c for c in networkx.strongly_connected_components(digraph) if len(c) > 1]
    found, their_seconds = timed(theirs, runs)
    assert sorted(map(sorted, found)) == sorted(ours), "networkx and Tarjan disagree"
    return ours_seconds, their_seconds, sum(len(edges) for edges in graph.out.values())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knossos", help="a jepsen-io/knossos checkout or git directory")
    parser.add_argument("--runs", type=int, default=3, help="runs per timing (median)")
    parser.add_argument("--skip-test", action="store_true", help="leave out the 60 s lin-kv test")
    options = parser.parse_args()
    failures = 0

    if options.knossos:
        rows = knossos(options.knossos, options.runs)
        wrong = [row for row in rows if row[3] is not row[2]]
        times = [row[4] for row in rows]
        print("Knossos cas-register histories: %d (%d good, %d bad); verdicts as Knossos's: %d of %d"
              % (len(rows), sum(row[2] for row in rows), sum(not row[2] for row in rows), len(rows) - len(wrong),
                 len(rows)))
        print("  per history: median %.1f ms, max %.1f ms (%s, %d entries); all %.2f s"
              % (statistics.median(times) * 1000, max(times) * 1000, max(rows, key=lambda r: r[4])[0],
                 max(rows, key=lambda r: r[4])[1], sum(times)))
        for name, size, expected, got, seconds in wrong:
            print("  WRONG %s (%d entries): expected %s, got %s" % (name, size, expected, got))
        failures += len(wrong)

    history = synthetic()
    result, seconds = timed(lambda: check_independent(history), options.runs)
    ok = result["valid"] is True and seconds < TARGETS["synthetic"]
    print("synthetic lin-kv history, %d entries on %d keys: %s in %.2f s (target < %g s) %s"
          % (len(history), result["key_count"], result["valid"], seconds, TARGETS["synthetic"],
             "ok" if ok else "MISSED"))
    failures += not ok

    if not options.skip_test:
        with tempfile.TemporaryDirectory() as store:
            test, entries = real_test(store)
            client = [e for e in entries if e["process"] != "nemesis"]
            result, seconds = timed(lambda: check_independent(client), options.runs)
            ok = result["valid"] is True and seconds < TARGETS["test"]
            print("60 s lin-kv test, 5 nodes, rate 100, partitions: %d entries on %d keys: %s in %.2f s "
                  "(target < %g s) %s" % (len(client), result["key_count"], result["valid"], seconds,
                                           TARGETS["test"], "ok" if ok else "MISSED"))
            failures += not ok
        with tempfile.TemporaryDirectory() as store:
            rows, largest = txn_tests(store, options.runs)
            for label, size, valid, seconds in rows:
                ok = valid is True and seconds < TARGETS["txn"]
                print("60 s %s: %d entries: %s in %.2f s (target < %g s) %s"
                      % (label, size, valid, seconds, TARGETS["txn"], "ok" if ok else "MISSED"))
                failures += not ok
            ours, theirs, edges = compare_components(largest, options.runs)
            print("components of its graph (%d transactions, %d edges with real time): Tarjan here %.3f s, "
                  "networkx %s" % (len(largest.txns), edges or 0, ours,
                                   "%.3f s (%.2fx)" % (theirs, theirs / ours) if theirs else "not installed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
