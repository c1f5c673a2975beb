"""The command line, Maelstrom's shape: ``gnode-cluster test -w WORKLOAD --bin PATH [flags]
[-- node arguments]``, with Maelstrom's flag names, defaults and exit statuses (0 valid,
1 invalid, 2 unknown, 254 bad arguments, 255 the test crashed)."""
import argparse
import sys

from .core import DEFAULTS, run_test
from .workload import WORKLOADS

BAD_ARGUMENTS, CRASHED = 254, 255
EXIT = {True: 0, False: 1, "unknown": 2}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # Maelstrom exits 254 on bad arguments, argparse would 2
        self.print_usage(sys.stderr)
        sys.stderr.write("%s: error: %s\n" % (self.prog, message))
        sys.exit(BAD_ARGUMENTS)


def parser():
    top = _Parser(prog="gnode-cluster", description="Maelstrom's tests on a local cluster: any node executable, "
                                                     "several nodes on this machine, verdicts in seconds.")
    commands = top.add_subparsers(dest="command", required=True, parser_class=_Parser)
    test = commands.add_parser("test", help="run a workload against a node, as `maelstrom test` does")
    test.add_argument("-w", "--workload", default="lin-kv", choices=WORKLOADS, help="the workload (default lin-kv)")
    test.add_argument("--bin", required=True, help="the node executable")
    test.add_argument("--node-count", type=int, help="nodes n0..n(N-1) (overrides --nodes)")
    test.add_argument("--nodes", help="explicit node ids, comma-separated (default n1,n2,n3,n4,n5)")
    test.add_argument("--time-limit", type=int, default=DEFAULTS["time_limit"], help="main phase, s (default 60)")
    test.add_argument("--rate", type=float, default=DEFAULTS["rate"], help="requests/s in all (default 5; 0: none)")
    test.add_argument("--concurrency", default=DEFAULTS["concurrency"], help="workers: N, or Kn for K x nodes "
                                                                             "(default 1n)")
    test.add_argument("--latency", type=float, default=DEFAULTS["latency"], help="mean server latency, ms")
    test.add_argument("--latency-dist", default=DEFAULTS["latency_dist"], choices=("constant", "uniform",
                                                                                   "exponential"))
    test.add_argument("--nemesis", default="", help="faults, comma-separated: partition")
    test.add_argument("--nemesis-interval", type=float, default=DEFAULTS["nemesis_interval"],
                      help="mean seconds between nemesis operations (default 10)")
    test.add_argument("--availability", help="total, or the fraction of operations that must succeed")
    test.add_argument("--topology", default=DEFAULTS["topology"],
                      choices=("line", "grid", "tree", "tree2", "tree3", "tree4", "total"), help="broadcast's")
    test.add_argument("--key-count", type=int, default=DEFAULTS["key_count"])
    test.add_argument("--max-txn-length", type=int, default=DEFAULTS["max_txn_length"])
    test.add_argument("--max-writes-per-key", type=int, default=DEFAULTS["max_writes_per_key"])
    test.add_argument("--consistency-models", default=DEFAULTS["consistency_models"])
    test.add_argument("--log-stderr", action="store_true", help="copy the nodes' stderr to ours")
    test.add_argument("--final-wait", type=float, default=DEFAULTS["final_wait"],
                      help="seconds between the heal and the final reads (default 10, as Maelstrom; "
                           "tests shorten it)")
    test.add_argument("--store", default=DEFAULTS["store"], help="where results go (default store/)")
    test.add_argument("--seed", type=int, help="makes the generator, latencies and nemesis repeatable")
    test.add_argument("node_args", nargs="*", help="after --: arguments passed to the node")
    return top


def main(argv=None):
    options = parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        result = run_test(options.workload, options.bin, node_count=options.node_count,
                          nodes=options.nodes.split(",") if options.nodes else None, time_limit=options.time_limit,
                          rate=options.rate, concurrency=options.concurrency, latency=options.latency,
                          latency_dist=options.latency_dist, nemesis=options.nemesis,
                          nemesis_interval=options.nemesis_interval, availability=options.availability,
                          topology=options.topology, key_count=options.key_count,
                          max_txn_length=options.max_txn_length, max_writes_per_key=options.max_writes_per_key,
                          consistency_models=options.consistency_models, log_stderr=options.log_stderr,
                          final_wait=options.final_wait, store=options.store, seed=options.seed,
                          args=options.node_args)
    except ValueError as e:
        sys.stderr.write("gnode-cluster: %s\n" % e)
        return BAD_ARGUMENTS
    print(summary(result))
    return CRASHED if "crashed" in result.results else EXIT[result.valid]


def summary(result):
    """What a person reads at the end: the verdict and why, per-operation counts, latency,
    stable latencies where there are some, messages per operation, and where it all is."""
    results = result.results
    verdict = "CRASHED" if "crashed" in results else {True: "valid", False: "INVALID", "unknown": "unknown"}[result.valid]
    lines = ["", "%s: %s" % (results["options"]["workload"], verdict)]
    lines += ["  why: %s" % why for why in results["why"]]
    for f, counts in sorted(results["operations"].items()):
        lines.append("  %-24s ok %d  fail %d  info %d" % (f, counts["ok"], counts["fail"], counts["info"]))
    if results["latency_ms"]:
        lines.append("  latency ms: p50 %(p50)s  p95 %(p95)s  p99 %(p99)s  max %(max)s" % results["latency_ms"])
    stable = results["workload"].get("stable_latencies")
    if stable:
        lines.append("  stable latencies ms: %s" % "  ".join("%s %s" % kv for kv in stable.items()))
    net = results["net"]
    if "all" in net:
        lines.append("  msgs-per-op: all %s  servers %s" % (net["all"]["msgs_per_op"], net["servers"]["msgs_per_op"]))
    lines.append("  results: %s" % result.path)
    return "\n".join(lines)
