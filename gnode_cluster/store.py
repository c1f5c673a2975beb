"""What a test came to, and where it is kept, as Maelstrom keeps it: the results (every
checker's verdict, joined into one) and the test's folder, ``store/<workload>/<time>/``
with ``store/latest`` pointing to the newest, holding ``results.json`` and
``history.jsonl`` beside the cluster's ``messages.jsonl.gz`` and ``node-logs/``."""
import datetime
import json
import os
import re
import shutil

from . import checker
from .workload import WORKLOADS

CHECKERS = ("workload", "stats", "availability", "net")  # each a verdict in the results


class Result:
    """What a test came to: ``valid`` (True, False or "unknown"), ``results`` (the dict in
    results.json) and ``path``, the test's folder in the store (None: not kept)."""

    def __init__(self, results, path):
        self.results = results
        self.valid = results["valid"]
        self.path = path

    def __repr__(self):
        return "Result(valid=%r, path=%r)" % (self.valid, self.path)


def results(workload, history, options, net=None, crash=None, partitions=()):
    """The results of ``history`` (client entries only) under ``workload``: each checker's
    verdict, the statistics, and the verdict they come to, with ``why`` in words; ``net`` is
    the network's statistics (None when no nodes ran), ``crash`` why the test crashed,
    ``partitions`` the nemesis's (``partitions(full history)``)."""
    found = {"workload": _safely(workload.check, history),
             "stats": checker.stats(history, exempt=workload.stats_exempt),
             "availability": checker.availability(history, options["availability"]),
             "net": {"valid": True, **(net or {})},
             "latency_ms": latency_quantiles(history),
             "operations": checker.operation_counts(history),
             "exceptions": [entry["error"] for entry in history if entry.get("exception")][:50]}
    verdicts = [found[name]["valid"] for name in CHECKERS]
    if crash is not None:
        found["crashed"] = crash
        verdicts.append(False)
    found["valid"] = False if False in verdicts else "unknown" if "unknown" in verdicts else True
    explained = [name for name in CHECKERS if found[name]["valid"] is not True and found[name].get("why")]
    if crash is not None and not found["stats"]["count"] and "stats" in explained:
        explained.remove("stats")  # no operation ran because of the crash, whose why comes first
    found["why"] = [found[name]["why"] for name in explained]
    if crash is not None:
        found["why"].insert(0, "the test crashed: " + crash)
    found["nemesis"] = {"partitions": list(partitions)}
    found["options"] = options
    return found


def verdict(results):
    """The verdict of ``results`` in a word: valid, INVALID, unknown or CRASHED."""
    if "crashed" in results:
        return "CRASHED"
    return {True: "valid", False: "INVALID"}.get(results["valid"], "unknown")


def partitions(history):
    """The nemesis's partitions in a full history: [{"start", "stop", "kind", "grudge"}],
    times in seconds; ``stop`` is None for one still in place at the end."""
    found, last_f = [], None
    for entry in history:
        if entry["process"] != "nemesis":
            continue
        if entry["f"] == last_f:
            continue  # Jepsen's histories (Maelstrom's history.edn) hold each nemesis op twice: invoked, done
        last_f = entry["f"]
        if found and found[-1]["stop"] is None:
            found[-1]["stop"] = entry["time"]  # a stop, or a new partition in place of the last
        if entry["f"] == "start-partition":
            value = entry.get("value")  # ours: {kind, grudge}; Maelstrom's: [kind, grudge]
            if isinstance(value, (list, tuple)) and len(value) == 2 and isinstance(value[0], str):
                value = {"kind": value[0].lstrip(":"), "grudge": value[1]}
            found.append({"start": entry["time"], "stop": None, **(value if isinstance(value, dict) else {})})
    return found


def _safely(check, history):
    try:
        return check(history)
    except Exception as e:  # a checker's own bug must not pass for a verdict
        return {"valid": "unknown", "why": "the checker failed: %s: %s" % (type(e).__name__, e)}


def new_folder(store, workload):
    """A new test folder, ``store/<workload>/<UTC time>``, with ``store/latest`` pointed to
    it; its path."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z"
    path = os.path.join(store, workload, stamp)
    os.makedirs(path)
    latest = os.path.join(store, "latest")
    if os.path.islink(latest):
        os.unlink(latest)
    if not os.path.exists(latest):
        os.symlink(os.path.relpath(path, store), latest)
    return path


TEST_FOLDER = re.compile(r"^\d{8}T\d{6}\.\d{3}Z$")  # new_folder's names: the UTC time


def runs(store):
    """The test folders in ``store``, newest first: paths ``store/<workload>/<UTC time>``,
    and nothing else (a workload's folder is named after a known workload, a test's after
    its time), so that ``prune`` can never take a folder a test did not make."""
    found = []
    for workload in sorted(os.listdir(store)) if os.path.isdir(store) else []:
        folder = os.path.join(store, workload)
        if workload not in WORKLOADS or os.path.islink(folder) or not os.path.isdir(folder):
            continue
        found += [os.path.join(folder, stamp) for stamp in os.listdir(folder)
                  if TEST_FOLDER.match(stamp) and os.path.isdir(os.path.join(folder, stamp))]
    return sorted(found, key=os.path.basename, reverse=True)


def prune(store, keep):
    """Remove all but the ``keep`` newest test folders of ``store`` (never the one
    ``store/latest`` points to); the paths removed."""
    latest = os.path.realpath(os.path.join(store, "latest"))
    removed = [path for path in runs(store)[keep:] if os.path.realpath(path) != latest]
    for path in removed:
        shutil.rmtree(path)
    return removed


def write(path, results, history):
    """Keep ``results`` (results.json) and the whole ``history``, nemesis included
    (history.jsonl, one entry a line) in the test folder ``path``."""
    with open(os.path.join(path, "results.json"), "w") as f:
        json.dump(results, f, indent=2, default=sorted)
    with open(os.path.join(path, "history.jsonl"), "w") as f:
        for entry in history:
            f.write(json.dumps(entry, default=sorted) + "\n")


def latency_quantiles(history):
    """Milliseconds from invocation to ok completion: p50, p95, p99 and max."""
    started, latencies = {}, []
    for entry in history:
        if entry["type"] == "invoke":
            started[entry["process"]] = entry["time"]
        elif entry["type"] == "ok" and entry["process"] in started:
            latencies.append((entry["time"] - started.pop(entry["process"])) * 1000)
    latencies.sort()
    if not latencies:
        return {}
    return {name: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 3)
            for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))}
