"""A test's report: ``index.html`` in its folder, the pictures Maelstrom's users debug with.

It shows the verdict and its why; the latency of every operation over time, by function and
outcome, and the rate of operations, with the nemesis's partitions shaded; a timeline of
the operations per process; a Lamport diagram of the messages for a window the reader picks
(a click on a message shows its body); and, for an invalid verdict, the operations the
checker names, listed and highlighted in the latency plot and the timeline.

The page, its style and its script, is ``report.html`` beside this module; this module
fills its slots. It is drawn by Plotly (plotly.js, from the pinned ``plotly`` package),
whose 4.8 MB script sits beside the page, a hard link to one copy per store, so that a
test's folder opens from disk, alone or copied elsewhere, with no network, and costs no
more disk. The data is in the page itself, the journal's messages up to
``MESSAGES_EMBEDDED`` of them, around the first operation the checker names (or from the
start)."""
import collections
import html
import importlib.util
import json
import os
import shutil
import sys

from . import journal, store

FILE = "index.html"
PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report.html")  # the page, its slots {{...}}
MESSAGES_EMBEDDED = 20000  # a busy test's journal holds a million; the page holds this many
VALUE_SHOWN = 200  # characters of an operation's value in the page's hover texts
BODY_SHOWN = 2000  # characters of a message's body in the page: a kafka poll's can be megabytes
FILES = ("results.json", "history.jsonl", journal.FILE + ".gz", "node-logs/")  # linked from the page


def write(path, results, history, journal_in=None):
    """Write the report of the test in folder ``path`` (``store/<workload>/<time>/``): its
    ``results``, its full ``history`` and the journal kept in ``journal_in`` (default
    ``path``), if there is one. A report that cannot be written is said on stderr, and the
    test's results stand: they are written before it."""
    try:
        _write(path, results, history, path if journal_in is None else journal_in)
    except Exception as e:  # a full disk, a missing plotly, a bug of ours: the verdict still holds
        sys.stderr.write("gnode-cluster: the report %s could not be written: %s: %s\n"
                         % (os.path.join(path, FILE), type(e).__name__, e))


def _write(path, results, history, journal_in):
    ops = operations(history)
    named = named_ops(results, ops)
    around = ops[named[0]]["s"] if named else 0.0
    data = {"workload": results["options"]["workload"], "verdict": store.verdict(results),
            "why": results.get("why", []), "options": results["options"], "ops": ops, "implicated": named,
            "partitions": results.get("nemesis", {}).get("partitions", []),
            "end": max([entry["time"] for entry in history if "time" in entry] or [0.0])}
    if journal.kept_in(journal_in):
        data["messages"], data["message_count"] = messages(journal_in, around)
    script = _plotly_beside(path)
    files = " ".join('<a href="%s">%s</a>' % (html.escape(name), html.escape(name)) for name in FILES
                     if os.path.exists(os.path.join(path, name)))
    # The data is the nodes' words: no "<" of theirs may end the script block or open a comment.
    text = json.dumps(data, default=sorted).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    with open(PAGE, encoding="utf-8") as f:
        page = f.read()
    for name, value in (("title", html.escape("%s: %s" % (data["workload"], data["verdict"]))),
                        ("script", html.escape(script)), ("files", files), ("data", text)):
        page = page.replace("{{%s}}" % name, value, 1)  # the data last: nothing in it is read as a slot
    with open(os.path.join(path, FILE), "w", encoding="utf-8") as f:
        f.write(page)


def operations(history):
    """The client operations of ``history``, in order of invocation, each a dict: process
    ``p``, function ``f``, invoked ``s`` and completed ``e`` (seconds; None: never),
    outcome ``t`` (ok, fail, info), value ``v`` and error ``err`` as short JSON text."""
    ops, pending = [], {}
    for entry in history:
        if entry.get("process") == "nemesis" or "time" not in entry:
            continue
        if entry["type"] == "invoke":
            pending[entry["process"]] = len(ops)
            ops.append({"p": entry["process"], "f": entry.get("f"), "s": entry["time"], "e": None, "t": "info",
                        "v": _short(entry.get("value")), "err": None})
        elif entry["process"] in pending:
            op = ops[pending.pop(entry["process"])]
            op.update(e=entry["time"], t=entry["type"], v=_short(entry.get("value")),
                      err=None if entry.get("error") is None else _short(entry["error"]))
    return ops


def named_ops(results, ops):
    """Indices in ``ops`` of the operations the workload's checker names in ``results``
    (its ``implicated``: entries' process and time, of invocation or completion)."""
    at = {}
    for index, op in enumerate(ops):
        at[(op["p"], op["s"])] = index
        if op["e"] is not None:
            at[(op["p"], op["e"])] = index
    found = []
    for ref in results.get("workload", {}).get("implicated", []):
        index = at.get((ref.get("process"), ref.get("time")))
        if index is not None and index not in found:
            found.append(index)
    return found


def messages(folder, around):
    """Up to ``MESSAGES_EMBEDDED`` messages of the journal in ``folder``, up to half of them
    sent before ``around`` (seconds) and the rest after, each [from, to, sent, arrived,
    dropped, body] (arrived: the time of its delivery or drop, None if neither; a body over
    ``BODY_SHOWN`` characters shortened); and how many the journal holds."""
    half = MESSAGES_EMBEDDED // 2
    before = collections.deque(maxlen=3 * half)  # at least half sends: each has one delivery or drop at most
    after, count, sends_before, sends_after, room, last_send = [], 0, 0, 0, None, None
    with journal.open_journal(folder) as lines:
        for text in lines:
            try:
                time = float(text[9:text.index(",")])  # journal.line writes the time first
            except ValueError:
                continue  # a line cut short, as a killed run leaves its last one
            send = journal.SEND in text
            count += send
            if time < around:
                before.append(text)
                sends_before += send
                continue
            if room is None:  # what the messages before leave to those after
                room = MESSAGES_EMBEDDED - min(half, sends_before)
            if sends_after < room:
                after.append(text)
                sends_after += send
                last_send = time if send else last_send
            elif not send and last_send is not None and time < last_send + 5.0:
                after.append(text)  # the deliveries of the last messages kept
    kept, by_id, kept_before = [], {}, 0
    for number, text in enumerate(list(before) + after):
        try:
            event = json.loads(text, parse_constant=str)  # a NaN of a node's: the browser's JSON has none
        except ValueError:
            continue
        if event["event"] == "send":
            by_id[event["id"]] = len(kept)
            kept.append([event["from"], event["to"], event["time"], None, False, _shortened(event["body"])])
            kept_before += number < len(before)
        elif event["id"] in by_id and kept[by_id[event["id"]]][3] is None:
            kept[by_id[event["id"]]][3:5] = [event["time"], event["event"] == "dropped"]
    return kept[max(0, kept_before - (MESSAGES_EMBEDDED - sends_after)):], count


def _shortened(body):
    text = json.dumps(body)
    if len(text) <= BODY_SHOWN:
        return body
    return {"type": body.get("type") if isinstance(body, dict) else None,
            "shortened": "%s... (%d characters in all: see the journal)" % (text[:BODY_SHOWN], len(text))}


def _short(value):
    text = json.dumps(value, default=sorted)
    return text if len(text) <= VALUE_SHOWN else text[:VALUE_SHOWN] + "..."


def _plotly_beside(path):
    """The name of plotly.js in the test folder ``path``, put there as a hard link to the
    store's copy (no more disk), which is itself a link to the installed package's file or,
    across file systems, a copy made once."""
    import importlib.metadata  # here: 10 ms of the command line's start, needed once a test
    name = "plotly-%s.min.js" % importlib.metadata.version("plotly")
    package = os.path.join(importlib.util.find_spec("plotly").submodule_search_locations[0],
                           "package_data", "plotly.min.js")
    kept = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(path))), name)
    _link(package, kept)
    _link(kept, os.path.join(path, name))
    return name


def _link(source, path):
    if os.path.exists(path):
        return
    partial = "%s.%d" % (path, os.getpid())
    try:
        os.link(source, partial)
    except OSError:
        shutil.copyfile(source, partial)
    os.replace(partial, path)  # whole or not at all, should two tests end at once
