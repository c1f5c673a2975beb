"""A test's report: ``index.html`` in its folder, the pictures Maelstrom's users debug with.

It shows the verdict and its why; the latency of every operation over time, by function and
outcome, and the rate of operations, with the nemesis's partitions shaded; a timeline of
the operations per process; a Lamport diagram of the messages for a window the reader picks
(a click on a message shows its body); and, for an invalid verdict, the operations the
checker names, highlighted in every plot.

The page is drawn by Plotly (plotly.js, from the pinned ``plotly`` package). Its 4.8 MB
script sits beside the page, a hard link to one copy per store, so that a test's folder
opens from disk, alone or copied elsewhere, with no network, and costs no more disk. The
data is in the page itself, the journal's messages up to ``MESSAGES_EMBEDDED`` of them,
around the first operation the checker names (or from the start)."""
import collections
import html
import importlib.util
import json
import os
import shutil
import sys

from . import journal, store

FILE = "index.html"
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
    with open(os.path.join(path, FILE), "w", encoding="utf-8") as f:
        f.write(PAGE % {"title": html.escape("%s: %s" % (data["workload"], data["verdict"])),
                        "script": html.escape(script), "files": files, "data": text})


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


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>%(title)s</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1em 2em; color: #222 }
h1 .valid { color: #070 } h1 .INVALID, h1 .CRASHED { color: #b00 } h1 .unknown { color: #a60 }
.plot { width: 100%%; height: 380px } #timeline { height: 480px } #lamport { height: 640px }
pre { background: #f4f4f4; padding: .6em; white-space: pre-wrap; max-height: 24em; overflow: auto }
#named li { font-family: monospace } .note { color: #666 }
</style>
<script src="%(script)s"></script>
</head><body>
<h1 id="verdict"></h1>
<ul id="why"></ul>
<p id="options" class="note"></p>
<p class="note">Files: %(files)s</p>
<div id="named-section" hidden><h2>Operations the checker names</h2><ol id="named"></ol></div>
<h2>Latency</h2><div id="latency" class="plot"></div>
<h2>Rate</h2><div id="rate" class="plot"></div>
<h2>Timeline</h2><div id="timeline" class="plot"></div>
<h2>Messages</h2>
<p id="lamport-controls">From <input id="from" type="number" step="0.1" size="8"> s to
<input id="to" type="number" step="0.1" size="8"> s <button id="show">show</button>
<span id="lamport-note" class="note"></span></p>
<div id="lamport" class="plot"></div>
<pre id="message">Click a message to see its body.</pre>
<script type="application/json" id="report-data">%(data)s</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("report-data").textContent);
const OUTCOME = {ok: "#1b9e3e", fail: "#d95f02", info: "#7570b3"};
const SYMBOLS = ["circle", "square", "diamond", "triangle-up", "cross", "x", "star", "hexagon"];
const LAMPORT_SHOWN = 1500;
const named = new Set(D.implicated);
const end = op => op.e === null ? D.end : op.e;
const latency = op => Math.max((end(op) - op.s) * 1000, 0.001);
const describe = op => `process ${op.p}'s ${op.f} ${op.v}: ${op.t}` + (op.err ? ` ${op.err}` : "") +
    ` (${op.s.toFixed(3)} s to ${op.e === null ? "never" : op.e.toFixed(3) + " s"})`;
// Plotly reads a hover text as HTML: the nodes' words are shown as text
const escaped = text => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const hover = op => escaped(describe(op));
const shading = D.partitions.map(p => ({type: "rect", xref: "x", yref: "paper", x0: p.start,
    x1: p.stop === null ? D.end : p.stop, y0: 0, y1: 1, fillcolor: "rgba(220,0,0,0.10)", line: {width: 0},
    layer: "below"}));
const timeAxis = {title: {text: "time (s)"}, range: [0, D.end * 1.02]};
const config = {responsive: true, displaylogo: false};

// the verdict, its why, the options and the operations named
const verdict = document.getElementById("verdict");
verdict.append(D.workload + ": ");
const word = verdict.appendChild(document.createElement("span"));
word.className = D.verdict; word.textContent = D.verdict;
for (const why of D.why) document.getElementById("why").appendChild(document.createElement("li")).textContent = why;
document.getElementById("options").textContent = Object.entries(D.options)
    .filter(([k, v]) => v !== null && k !== "args").map(([k, v]) => `${k} ${v}`).join(", ");
if (D.implicated.length) {
  document.getElementById("named-section").hidden = false;
  for (const i of D.implicated) document.getElementById("named").appendChild(document.createElement("li")).textContent = describe(D.ops[i]);
}

// latency: a point per operation, by function (symbol) and outcome (colour)
const fs = [...new Set(D.ops.map(op => op.f))];
const groups = new Map();
D.ops.forEach((op, i) => { const k = op.f + " " + op.t; if (!groups.has(k)) groups.set(k, []); groups.get(k).push(i); });
const pointTrace = (name, idx, marker, y) => ({name, x: idx.map(i => D.ops[i].s), y: idx.map(i => y(D.ops[i])),
    text: idx.map(i => hover(D.ops[i])), hoverinfo: "text", mode: "markers", marker,
    type: idx.length > 5000 ? "scattergl" : "scatter"});
const highlight = {size: 15, symbol: "circle-open", color: "#e00", line: {width: 2.5}};
const latencyTraces = [...groups].map(([k, idx]) => ({...pointTrace(k, idx, {size: 5,
    color: OUTCOME[D.ops[idx[0]].t] || "#888", symbol: SYMBOLS[fs.indexOf(D.ops[idx[0]].f) %% SYMBOLS.length]}, latency),
    meta: "operations"}));
if (D.implicated.length) latencyTraces.push({...pointTrace("named by the checker", D.implicated, highlight, latency), meta: "implicated"});
Plotly.newPlot("latency", latencyTraces, {xaxis: timeAxis, yaxis: {type: "log", title: {text: "latency (ms)"}},
    shapes: shading, margin: {t: 20}}, config);

// rate: completions per second, by function and outcome (one that never came is no completion)
const width = Math.max(D.end / 60, 0.05);
const rateTraces = [...groups].map(([k, idx]) => {
  const counts = new Array(Math.ceil(D.end / width) + 1).fill(0);
  for (const i of idx) if (D.ops[i].e !== null) counts[Math.floor(D.ops[i].e / width)] += 1 / width;
  return {name: k, x: counts.map((_, b) => (b + 0.5) * width), y: counts, mode: "lines",
          line: {color: OUTCOME[D.ops[idx[0]].t] || "#888", dash: ["solid", "dot", "dash", "longdash"][fs.indexOf(D.ops[idx[0]].f) %% 4]}};
});
Plotly.newPlot("rate", rateTraces, {xaxis: timeAxis, yaxis: {title: {text: "operations/s"}}, shapes: shading,
    margin: {t: 20}}, config);

// timeline: a bar per operation on its process's row
const bars = (name, idx, line) => ({name, mode: "lines+markers", line, marker: {size: 3, color: line.color},
    x: idx.flatMap(i => [D.ops[i].s, end(D.ops[i]), null]), y: idx.flatMap(i => [D.ops[i].p, D.ops[i].p, null]),
    text: idx.flatMap(i => [hover(D.ops[i]), hover(D.ops[i]), null]), hoverinfo: "text", connectgaps: false});
const byOutcome = {};
D.ops.forEach((op, i) => (byOutcome[op.t] = byOutcome[op.t] || []).push(i));
const timelineTraces = Object.entries(byOutcome).map(([t, idx]) => ({...bars(t, idx, {color: OUTCOME[t] || "#888", width: 6}), meta: "operations"}));
if (D.implicated.length) timelineTraces.push({...bars("named by the checker", D.implicated, {color: "#e00", width: 12}), meta: "implicated", opacity: 0.6});
Plotly.newPlot("timeline", timelineTraces, {xaxis: timeAxis, yaxis: {title: {text: "process"}, autorange: "reversed",
    dtick: new Set(D.ops.map(op => op.p)).size <= 40 ? 1 : null},
    shapes: shading, margin: {t: 20}, hovermode: "closest"}, config);

// the Lamport diagram: a column per client, node and service, time down, a line per message
const kind = name => /^c\\d+$/.test(name) ? 0 : /^n\\d+$/.test(name) ? 1 : 2;
const order = (a, b) => kind(a) - kind(b) || (parseInt(a.slice(1)) || 0) - (parseInt(b.slice(1)) || 0) || a.localeCompare(b);
function drawLamport(from, to) {
  const note = document.getElementById("lamport-note");
  if (!D.messages) { note.textContent = "This test kept no journal of its messages."; return; }
  let shown = [];
  D.messages.forEach((m, i) => { if (m[2] >= from && m[2] <= to) shown.push(i); });
  const inWindow = shown.length;
  shown = shown.slice(0, LAMPORT_SHOWN);
  note.textContent = `${shown.length} of the ${inWindow} messages sent in this window` +
      (D.message_count > D.messages.length ? ` (the page holds ${D.messages.length} of the test's ${D.message_count}, from ${D.messages[0][2].toFixed(2)} s to ${D.messages[D.messages.length - 1][2].toFixed(2)} s)` : "");
  const columns = [...new Set(shown.flatMap(i => [D.messages[i][0], D.messages[i][1]]))].sort(order);
  const x = name => columns.indexOf(name);
  const sets = {"client requests and replies": [], "between nodes": [], "to and from services": [], "dropped": [],
                "never delivered": []};
  for (const i of shown) {
    const [src, dest, , arrived, dropped] = D.messages[i];
    const set = dropped ? "dropped" : arrived === null ? "never delivered"
        : kind(src) === 0 || kind(dest) === 0 ? "client requests and replies"
        : kind(src) === 2 || kind(dest) === 2 ? "to and from services" : "between nodes";
    sets[set].push(i);
  }
  const colours = {"client requests and replies": "#1f77b4", "between nodes": "#555", "to and from services": "#9467bd",
                   "dropped": "#e00", "never delivered": "#e90"};
  const traces = Object.entries(sets).filter(([, idx]) => idx.length).map(([name, idx]) => ({name, mode: "lines+markers",
    x: idx.flatMap(i => [x(D.messages[i][0]), x(D.messages[i][1]), null]),
    y: idx.flatMap(i => [D.messages[i][2], D.messages[i][3] === null ? D.messages[i][2] : D.messages[i][3], null]),
    customdata: idx.flatMap(i => [i, i, null]),
    text: idx.flatMap(i => [escaped(D.messages[i][5].type), escaped(D.messages[i][5].type), null]), hoverinfo: "text",
    line: {color: colours[name], width: 1, dash: name === "dropped" || name === "never delivered" ? "dot" : "solid"},
    marker: {size: idx.flatMap(() => [3, 7, 0]), symbol: idx.flatMap(() => ["circle", "triangle-down", "circle"]), color: colours[name]}}));
  Plotly.react("lamport", traces, {margin: {t: 30}, hovermode: "closest",
    xaxis: {tickvals: columns.map((_, i) => i), ticktext: columns, side: "top", range: [-0.5, columns.length - 0.5]},
    yaxis: {title: {text: "time (s)"}, autorange: "reversed"}}, config);
}
const first = D.implicated.length ? D.ops[D.implicated[0]].s : (D.messages && D.messages.length ? D.messages[0][2] : 0);
document.getElementById("from").value = Math.max(0, first - 0.25).toFixed(2);
document.getElementById("to").value = (first + 0.75).toFixed(2);
document.getElementById("show").addEventListener("click", () =>
  drawLamport(parseFloat(document.getElementById("from").value), parseFloat(document.getElementById("to").value)));
drawLamport(parseFloat(document.getElementById("from").value), parseFloat(document.getElementById("to").value));
document.getElementById("lamport").on?.("plotly_click", event => {
  const i = event.points[0].customdata;
  if (i === null || i === undefined) return;
  const [src, dest, sent, arrived, dropped] = D.messages[i];
  document.getElementById("message").textContent = `${src} to ${dest}, sent at ${sent.toFixed(6)} s, ` +
      (arrived === null ? "never delivered" : `${dropped ? "dropped" : "delivered"} at ${arrived.toFixed(6)} s`) +
      "\\n" + JSON.stringify(D.messages[i][5], null, 2);
});
</script>
</body></html>
"""
