"""The command line, Maelstrom's shape: ``gnode-cluster test -w WORKLOAD --bin PATH [flags]
[-- node arguments]``, with Maelstrom's flag names, defaults and exit statuses (0 valid,
1 invalid, 2 unknown, 254 bad arguments, 255 the test crashed); and ``gnode-cluster check
-w WORKLOAD PATH``, a workload's checkers run again on a history from anywhere; and
``gnode-cluster prune --keep N``, old test folders removed from a store; and ``gnode-cluster
serve``, the store over HTTP."""
import argparse
import json
import os
import sys

from . import report, store
from .core import run_test
from .history import read_history
from .options import add_arguments, given, resolve
from .workload import workload_class

CHECK_OPTIONS = ("availability", "checker_budget", "consistency_models")  # the checkers' own

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
    check = commands.add_parser("check", help="run a workload's checkers again on a history, running no nodes")
    check.add_argument("-w", "--workload", help="the workload whose checkers judge it (default: the one the "
                                                "test's results.json names)")
    add_arguments(check, only=CHECK_OPTIONS)
    check.add_argument("--store", help="keep the results and the history in a new test folder there "
                                       "(default: nothing is written)")
    check.add_argument("path", metavar="PATH", help="a test's folder (store/latest), a history.jsonl, or "
                                                    "Maelstrom's history.edn")
    prune = commands.add_parser("prune", help="remove old test folders from a store, keeping the newest")
    prune.add_argument("--store", default="store", help="the store (default store/)")
    prune.add_argument("--keep", required=True, type=int, metavar="N", help="how many of the newest tests to keep")
    serve = commands.add_parser("serve", help="the store's tests and files over HTTP, as `maelstrom serve`")
    serve.add_argument("--store", default="store", help="the store (default store/)")
    serve.add_argument("--port", default=8080, type=int, help="the port (default 8080, as Maelstrom's)")
    serve.add_argument("--host", default="127.0.0.1", help="the address to bind (default 127.0.0.1: this "
                                                           "machine only)")
    return top


def main(argv=None):
    options = parser().parse_args(sys.argv[1:] if argv is None else argv)
    if options.command == "check":
        return check(options)
    if options.command == "prune":
        return prune(options)
    if options.command == "serve":
        return serve(options)
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


def check(arguments):
    """``gnode-cluster check``: the results of the history at ``arguments.path`` under its
    workload's checkers, printed as ``test`` prints them, kept only with ``--store``."""
    path = arguments.path
    chosen = given(arguments)
    try:
        if "workload" not in chosen:  # a test's folder says which workload it ran
            chosen["workload"] = _recorded_workload(path)
        options = resolve(**chosen)
        history = read_history(path)
    except (OSError, ValueError) as e:
        sys.stderr.write("gnode-cluster: %s\n" % e)
        return BAD_ARGUMENTS
    options["checked"] = os.path.abspath(path)
    workload = workload_class(options["workload"]).for_checking(options)
    client = [entry for entry in history if entry["process"] != "nemesis"]
    results = store.results(workload, client, options, partitions=store.partitions(history))
    kept = None
    if arguments.store is not None:
        kept = store.new_folder(arguments.store, options["workload"])
        store.write(kept, results, history)
        report.write(kept, results, history, journal_in=path if os.path.isdir(path) else os.path.dirname(path))
    print(summary(store.Result(results, kept)))
    return EXIT[results["valid"]]


def prune(arguments):
    """``gnode-cluster prune --keep N``: all but the N newest test folders of the store go."""
    if arguments.keep < 0:
        sys.stderr.write("gnode-cluster: --keep: at least 0, not %d\n" % arguments.keep)
        return BAD_ARGUMENTS
    if not store.runs(arguments.store):
        sys.stderr.write("gnode-cluster: --store: no test folders in %s\n" % arguments.store)
        return BAD_ARGUMENTS
    removed = store.prune(arguments.store, arguments.keep)
    print("removed %d test folder%s from %s, kept %d" % (len(removed), "" if len(removed) == 1 else "s",
                                                       arguments.store, len(store.runs(arguments.store))))
    return 0


def serve(arguments):
    """``gnode-cluster serve``: until interrupted."""
    if not os.path.isdir(arguments.store):
        sys.stderr.write("gnode-cluster: --store: no folder %s\n" % arguments.store)
        return BAD_ARGUMENTS
    from .serve import server  # here: http.server is 7 ms of every other command's start
    try:
        httpd = server(arguments.store, arguments.host, arguments.port)
    except OSError as e:
        sys.stderr.write("gnode-cluster: cannot serve on %s:%d: %s\n" % (arguments.host, arguments.port, e.strerror))
        return BAD_ARGUMENTS
    host, port = httpd.server_address[:2]
    print("serving %s on http://%s:%d/ (Ctrl-C to stop)" % (arguments.store, host, port), flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


def _recorded_workload(path):
    """The workload a test's folder (or the folder of its history file) records in its
    results.json; ValueError if there is none to say."""
    folder = path if os.path.isdir(path) else os.path.dirname(path) or "."
    try:
        with open(os.path.join(folder, "results.json"), encoding="utf-8") as f:
            return json.load(f)["options"]["workload"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ValueError("-w: which workload's history %s is cannot be read from a results.json beside it; "
                         "say it with -w" % path) from None


QUANTILE_LABELS = {"0": "min", "0.5": "median", "1": "max"}
PARTITIONS_SHOWN = 5


def _figure(value):
    """A figure as a person reads it: rounded to a hundredth, and "-" for none."""
    if value is None:
        return "-"
    return "%g" % round(value, 2) if isinstance(value, float) else str(value)


def _figures(labelled):
    return "  ".join("%s %s" % (label, _figure(value)) for label, value in labelled.items())


def summary(result):
    """What a person reads at the end: the verdict and why, per-operation counts, latency,
    stable latencies where there are some, messages per operation, and where it all is."""
    results = result.results
    lines = ["", "%s: %s" % (results["options"]["workload"], store.verdict(results))]
    lines += ["  why: %s" % why.replace("\n", "\n       ") for why in results["why"]]
    for f, counts in sorted(results["operations"].items()):
        lines.append("  %-24s ok %d  fail %d  info %d" % (f, counts["ok"], counts["fail"], counts["info"]))
    if results["latency_ms"]:
        lines.append("  latency ms: %s" % _figures(results["latency_ms"]))
    stable = results["workload"].get("stable_latencies")
    if stable:  # quantiles by fraction, as Maelstrom keys them: 0 the least, 1 the most
        lines.append("  stable latency ms (from an add until every read sees it): %s" % _figures(
            {QUANTILE_LABELS.get(q, "p%g" % (float(q) * 100)): ms for q, ms in stable.items()}))
    net = results["net"]
    if "all" in net:
        lines.append("  msgs-per-op: all %s  servers %s" % (_figure(net["all"]["msgs_per_op"]),
                                                            _figure(net["servers"]["msgs_per_op"])))
    partitions = results.get("nemesis", {}).get("partitions", [])
    if partitions:
        shown = ["%s s to %s" % (_figure(p["start"]), "the end" if p["stop"] is None else "%s s" % _figure(p["stop"]))
                 + (" (%s)" % p["kind"] if p.get("kind") else "") for p in partitions[:PARTITIONS_SHOWN]]
        more = len(partitions) - PARTITIONS_SHOWN
        lines.append("  partitions: %d: %s%s" % (len(partitions), ", ".join(shown),
                                                  ", and %d more" % more if more > 0 else ""))
    lines.append("  results: %s" % (result.path or "not kept (--store DIR keeps them)"))
    return "\n".join(lines)
