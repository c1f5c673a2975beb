"""The command line, Maelstrom's shape: ``gnode-cluster test -w WORKLOAD --bin PATH [flags]
[-- node arguments]``, with Maelstrom's flag names, defaults and exit statuses (0 valid,
1 invalid, 2 unknown, 254 bad arguments, 255 the test crashed)."""
import argparse
import sys

from .core import run_test
from .options import add_arguments, given

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
    add_arguments(test)
    test.add_argument("node_args", nargs="*", help="after --: arguments passed to the node")
    return top


def main(argv=None):
    options = parser().parse_args(sys.argv[1:] if argv is None else argv)
    progress = _ProgressLine() if sys.stderr.isatty() else None
    try:
        result = run_test(**given(options), args=options.node_args, on_progress=progress)
    except ValueError as e:
        sys.stderr.write("gnode-cluster: %s\n" % e)
        return BAD_ARGUMENTS
    finally:
        if progress is not None:
            progress.end()
    print(summary(result))
    return CRASHED if "crashed" in result.results else EXIT[result.valid]


class _ProgressLine:
    """One line on a terminal, rewritten as the test runs: elapsed of the time limit, the
    operations ok, failed and indeterminate, and messages a second."""

    def __init__(self):
        self._last = None  # (elapsed, messages) at the line before

    def __call__(self, progress):
        elapsed, messages = progress["elapsed"], progress["messages"]
        last_elapsed, last_messages = self._last or (0.0, 0)
        rate = (messages - last_messages) / max(elapsed - last_elapsed, 1e-9)
        self._last = (elapsed, messages)
        sys.stderr.write("\r%5.1f/%d s  ok %d  fail %d  info %d  %d msgs/s   " % (
            elapsed, progress["time_limit"], progress["ok"], progress["fail"], progress["info"], rate))
        sys.stderr.flush()

    def end(self):
        if self._last is not None:
            sys.stderr.write("\n")


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
