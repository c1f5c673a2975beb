#!/usr/bin/env python3
"""The examples' long runs: each README command of docs/examples.md that takes 20 s, run
several times, interleaved, through gnode-cluster; the medians of what the Gossip
Glomers and the docs quote: validity, the servers' msgs-per-op, the service calls per
operation, the share of operations that ended ok, and for broadcast the stable latencies
against the targets of challenges 3d and 3e. Each run takes 25 to 40 s.

    python3 bench/examples.py                       # every run, 3 times each: about 25 minutes
    python3 bench/examples.py --only kafka-5b,kafka-5c --runs 1
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from gnode_cluster import run_test  # noqa: E402 (after the path is set)
from gnode_cluster.journal import service_requests  # noqa: E402

GNODE = os.path.join(ROOT, "gnode.py")
BROADCAST = dict(node_count=25, time_limit=20, rate=100, latency=100)
KAFKA = dict(node_count=2, concurrency="2n", time_limit=20, rate=1000)
TXN = dict(concurrency="2n", time_limit=20, rate=1000, availability="total")
# name: (workload, example folder, options, environment), as docs/examples.md prints them
RUNS = {
    "broadcast-30ms": ("broadcast", "broadcast", BROADCAST, {"BROADCAST_INTERVAL_MS": "30"}),
    "broadcast-100ms": ("broadcast", "broadcast", BROADCAST, {"BROADCAST_INTERVAL_MS": "100"}),
    "broadcast-400ms": ("broadcast", "broadcast", BROADCAST, {"BROADCAST_INTERVAL_MS": "400"}),
    "kafka-5b": ("kafka", "kafka", KAFKA, {}),
    "kafka-5c": ("kafka", "kafka/5c", KAFKA, {}),
    "txn-6a": ("txn-rw-register", "txn-rw-register",
               dict(TXN, node_count=1, consistency_models="read-uncommitted"), {}),
    "txn-6b": ("txn-rw-register", "txn-rw-register",
               dict(TXN, node_count=2, consistency_models="read-uncommitted", nemesis="partition"),
               {"TXN_REPLICATION": "each-write"}),
    "txn-6c": ("txn-rw-register", "txn-rw-register",
               dict(TXN, node_count=2, consistency_models="read-committed", nemesis="partition"), {}),
    "raft": ("lin-kv", "raft", dict(node_count=3, concurrency="2n", time_limit=20, rate=100, nemesis="partition"), {}),
    "txn-list-append": ("txn-list-append", "txn-list-append", dict(node_count=2, time_limit=20, rate=100), {}),
}
# Gossip Glomers' broadcast targets: msgs-per-op, median and maximum stable latency (ms), each below
TARGETS = {"3d": (30, 400, 600), "3e": (20, 1000, 2000)}
FIGURES = ("msgs_per_op", "service_calls_per_op", "ok_fraction", "p50_ms", "stable_median_ms", "stable_max_ms")


def one_run(name, store):
    workload, folder, options, environment = RUNS[name]
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)  # the nodes inherit our environment
    try:
        result = run_test(workload, GNODE, args=["--handlers", os.path.join(ROOT, "examples", folder)],
                          store=store, **options)
    finally:
        for key, value in saved.items():
            if value is None:
                del os.environ[key]
            else:
                os.environ[key] = value
    invoked = result.results["availability"]["invoke_count"]
    stable = result.results["workload"].get("stable_latencies") or {}
    return {"valid": result.valid, "msgs_per_op": result.results["net"]["servers"]["msgs_per_op"],
            "service_calls_per_op": round(service_requests(result.path) / max(invoked, 1), 3),
            "ok_fraction": round(result.results["availability"]["ok_fraction"], 4),
            "p50_ms": result.results["latency_ms"]["p50"],
            "stable_median_ms": stable.get("0.5"), "stable_max_ms": stable.get("1"), "path": result.path}


def median(runs, key):
    values = [run[key] for run in runs if run[key] is not None]
    return statistics.median(values) if values else None


def show(value, form="%.2f"):
    return "-" if value is None else form % value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(RUNS), help="runs, comma-separated (default all: %s)"
                                                              % ", ".join(RUNS))
    parser.add_argument("--runs", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--store", default=None, help="keep the runs' results there (default: a temporary "
                                                      "folder, removed at the end: up to 50 MB a run)")
    parser.add_argument("--report", default=None, help="JSON report (default bench/results/examples-DATE.json)")
    options = parser.parse_args()
    names = options.only.split(",")
    unknown = [name for name in names if name not in RUNS]
    if unknown:
        parser.error("no run named %s; the runs: %s" % (", ".join(unknown), ", ".join(RUNS)))
    store = options.store or tempfile.mkdtemp(prefix="gnode-examples-bench-")
    runs = {name: [] for name in names}
    for round_ in range(options.runs):  # interleaved, so a busy minute on the machine hits every run alike
        for name in names:
            run = one_run(name, store)
            runs[name].append(run)
            print("round %d, %s: %s" % (round_ + 1, name, json.dumps({k: v for k, v in run.items() if k != "path"})),
                  flush=True)
    print("\nmedians of %d runs:" % options.runs)
    print("| run | valid | msgs-per-op (servers) | service calls per op | ok | latency p50 | stable latency "
          "median, max | 3d | 3e |")
    print("|---|---|---:|---:|---:|---:|---:|---|---|")
    summary = {}
    for name in names:
        figures = {key: median(runs[name], key) for key in FIGURES}
        met = {}
        if figures["stable_max_ms"] is not None:
            met = {challenge: all(figure < target for figure, target in zip(
                (figures["msgs_per_op"], figures["stable_median_ms"], figures["stable_max_ms"]), targets))
                for challenge, targets in TARGETS.items()}
        valid = all(run["valid"] is True for run in runs[name])
        kept = runs[name] if options.store else [{k: v for k, v in run.items() if k != "path"} for run in runs[name]]
        summary[name] = {**figures, "valid": valid, "met": met, "runs": kept}
        print("| %s | %s | %s | %s | %s | %s ms | %s | %s | %s |" % (
            name, "all" if valid else "NOT ALL", show(figures["msgs_per_op"]), show(figures["service_calls_per_op"]),
            show(figures["ok_fraction"], "%.4f"), show(figures["p50_ms"]),
            "-" if figures["stable_max_ms"] is None else "%.0f ms, %.0f ms" % (figures["stable_median_ms"],
                                                                                figures["stable_max_ms"]),
            *(("met" if met[c] else "not met") if met else "-" for c in TARGETS)))
    report = options.report or os.path.join(HERE, "results", "examples-%s.json" % time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(os.path.dirname(report), exist_ok=True)
    with open(report, "w") as f:
        json.dump({"runs": {name: RUNS[name][:3] for name in names}, "targets": TARGETS, "results": summary}, f,
                  indent=2)
    print("\nreport: %s" % report)
    if options.store is None:
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    main()
