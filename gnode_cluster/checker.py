"""Maelstrom's checkers as pure functions over a history (a list of the entries described in
``gnode_cluster.workload``): Jepsen's set-full, unique-ids and stats, Maelstrom's counter and
availability checkers. Each returns a JSON-serialisable dict whose ``valid`` is True, False
or "unknown", and, when it is not True, ``why``, in words, and ``implicated``, the
operations it names (``implicated`` below), which the test's report highlights.
"""
import json

QUANTILES = (0, 0.5, 0.95, 0.99, 1)  # the points Jepsen reports latencies at
WORST_STALE = 8  # stale elements detailed, the slowest first, as Jepsen does
DUPLICATES_SHOWN = 48  # duplicated ids listed, the most frequent first, as Jepsen does
ERRORS_SHOWN = 20
IMPLICATED_SHOWN = 50  # operations a checker names for the report to highlight


def is_client_op(entry):
    """True for a client's entry: its process is an integer (the nemesis's is not), as in Jepsen."""
    process = entry.get("process")
    return isinstance(process, int) and not isinstance(process, bool)


def quantiles(values, points=QUANTILES):
    """Jepsen's frequency distribution: for each point p, the value at index floor(n * p) of the
    sorted values (the last one at most), keyed by str(p) ("0", "0.5", ... "1"); None if empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    last = len(ordered) - 1
    return {str(point): ordered[min(last, int(len(ordered) * point))] for point in points}


def element_key(value):
    """A hashable identity for a JSON value that keeps 1, 1.0 and true apart, as Clojure's
    sets do (Python's would merge them)."""
    if type(value) in (int, str):
        return value
    return ("json", json.dumps(value, sort_keys=True))


def _sorted(values):
    """Sorted, or, when the values' types do not compare, sorted by their JSON text."""
    values = list(values)
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=lambda value: json.dumps(value, sort_keys=True))


def _nanos(seconds):
    return round(seconds * 1e9)


def _ms(nanos):
    """Whole milliseconds of a non-negative span, truncated as Jepsen's nanos->ms then long."""
    return max(0, nanos) // 1000000


def _seconds(entry):
    return "%.2f s" % entry["time"]


class _Element:
    """What set-full knows of one added element: ``known`` the completion that proved it exists
    (its add's ok, or the first read that returned it), ``last_present`` and ``last_absent``
    the latest-invoked reads that did and did not contain it; each an (index, entry) pair."""

    def __init__(self, value):
        self.value = value
        self.known = None
        self.last_present = None
        self.last_absent = None

    def stable(self):
        return self.last_present is not None and (self.last_absent is None
                                                  or self.last_absent[0] < self.last_present[0])

    def lost(self):
        # An absence only means loss once the element is known, and only if the absent read
        # began after the completion that made it known; otherwise it may have linearised first.
        return (self.known is not None and self.last_absent is not None
                and (self.last_present is None or self.last_present[0] < self.last_absent[0])
                and self.known[0] < self.last_absent[0])

    def stable_latency(self):
        """Milliseconds from known to the first instant after its last absent read began."""
        stable_at = _nanos(self.last_absent[1]["time"]) + 1 if self.last_absent else 0
        return _ms(stable_at - _nanos(self.known[1]["time"]))

    def lost_latency(self):
        """Milliseconds from known to the first instant after its last present read began."""
        lost_at = _nanos(self.last_present[1]["time"]) + 1 if self.last_present else 0
        return _ms(lost_at - _nanos(self.known[1]["time"]))


def _later(current, candidate):
    return candidate if current is None or current[0] < candidate[0] else current


def set_full(history, add_f="add", read_f="read"):
    """Jepsen's set-full checker. Each element added by an ``add_f`` op is, from the ``read_f``
    ops' ok results: stable (every read begun after some point contains it), lost (known to
    exist, yet missing from every read begun after the last one that saw it), or never read.
    Stale elements are stable ones that took time to appear; they are allowed. Valid is False
    if any element is lost, "unknown" if none became stable, else True. Stable and lost
    latencies are quantiles in milliseconds. Elements repeated within one read are listed in
    ``duplicated`` but, as in Jepsen 0.3.7 (whose check never fires), do not change validity."""
    elements, invocations, duplicated = {}, {}, {}
    for index, entry in enumerate(history):
        if not is_client_op(entry) or entry.get("f") not in (add_f, read_f):
            continue
        if entry["type"] == "invoke":
            invocations[entry["process"]] = (index, entry)
            if entry["f"] == add_f:
                elements[element_key(entry["value"])] = _Element(entry["value"])
            continue
        invocation = invocations.pop(entry["process"], (index, entry))
        if entry["type"] != "ok":
            continue
        if entry["f"] == add_f:
            element = elements.get(element_key(invocation[1]["value"]))
            if element is not None and element.known is None:
                element.known = (index, entry)
            continue
        counts, values = {}, {}
        for value in entry.get("value") or ():  # a null read is empty, as Clojure's (set nil)
            key = element_key(value)
            counts[key], values[key] = counts.get(key, 0) + 1, value
        for key, count in counts.items():
            if count > 1:
                duplicated[key] = (values[key], max(count, duplicated.get(key, (None, 0))[1]))
        for key, element in elements.items():
            if key in counts:
                element.known = element.known or (index, entry)
                element.last_present = _later(element.last_present, invocation)
            else:
                element.last_absent = _later(element.last_absent, invocation)
    in_order = [elements[element_key(value)] for value in _sorted(e.value for e in elements.values())]
    return _set_full_results(in_order, duplicated, add_f)


def _set_full_results(elements, duplicated, add_f):
    stable = [e for e in elements if e.stable()]
    lost = [e for e in elements if e.lost()]  # never also stable: the two order their reads oppositely
    never_read = [e for e in elements if not e.stable() and not e.lost()]
    stale = [e for e in stable if e.stable_latency() > 0]
    worst_stale = sorted(stale, key=lambda e: e.stable_latency(), reverse=True)[:WORST_STALE]
    if lost:
        valid = False
    elif not stable:
        valid = "unknown"
    else:
        valid = True
    result = {
        "valid": valid,
        "attempt_count": len(elements),
        "stable_count": len(stable),
        "lost_count": len(lost),
        "lost": [e.value for e in lost],
        "never_read_count": len(never_read),
        "never_read": [e.value for e in never_read],
        "stale_count": len(stale),
        "stale": [e.value for e in stale],
        "worst_stale": [{"element": e.value, "stable_latency": e.stable_latency(),
                         "known_at": e.known[1]["time"],
                         "last_absent_read_invoked_at": e.last_absent[1]["time"]} for e in worst_stale],
        "duplicated_count": len(duplicated),
        "duplicated": [[value, count] for value, count in duplicated.values()],
    }
    stable_latencies = quantiles([e.stable_latency() for e in stable])
    if stable_latencies:
        result["stable_latencies"] = stable_latencies
    lost_latencies = quantiles([e.lost_latency() for e in lost])
    if lost_latencies:
        result["lost_latencies"] = lost_latencies
    if lost:
        result["why"] = _why_lost(lost, add_f)
        # what made each known, the last read that saw it, the read that did not
        result["implicated"] = implicated(pair[1] for e in lost[:10]
                                          for pair in (e.known, e.last_present, e.last_absent) if pair)
    elif not stable:
        result["why"] = ("nothing was added, so nothing could be checked" if not elements else
                         "no element ever became stable: none of the %d added was in every read begun "
                         "after some point" % len(elements))
    return result


def _why_lost(lost, add_f):
    first = lost[0]
    known = first.known[1]
    how = "its %s was acknowledged" % add_f if known["f"] == add_f else "a read returned it"
    if first.last_present:
        seen = "last seen by a read invoked at %s, and absent from every read invoked after that" % (
            _seconds(first.last_present[1]))
    else:
        seen = "never seen by any read"
    words = "element %s was lost: known at %s (%s), %s, up to the last one, invoked at %s" % (
        json.dumps(first.value), _seconds(known), how, seen, _seconds(first.last_absent[1]))
    if len(lost) > 1:
        shown = ", ".join(json.dumps(e.value) for e in lost[:10])
        words = "%d elements were lost (%s%s); %s" % (len(lost), shown, ", ..." if len(lost) > 10 else "", words)
    return words


def implicated(entries):
    """The operations a checker names, for the report to highlight: each of ``entries`` (an
    invocation or a completion) as its process and time, once, at most IMPLICATED_SHOWN."""
    refs = []
    for entry in entries:
        ref = {"process": entry["process"], "time": entry.get("time")}
        if ref not in refs:
            refs.append(ref)
        if len(refs) == IMPLICATED_SHOWN:
            break
    return refs


def unique_ids(history, f="generate"):
    """Jepsen's unique-ids checker: valid if no id comes back in two ok ``f`` completions.
    Reports the attempted, acknowledged and duplicated counts, the most duplicated ids with
    their counts, and the [lowest, highest] id (None if there are none or they do not compare)."""
    attempted, acknowledged, counts = 0, [], {}
    for entry in history:
        if entry.get("f") != f:
            continue
        if entry["type"] == "invoke":
            attempted += 1
        elif entry["type"] == "ok":
            acknowledged.append(entry["value"])
            key = element_key(entry["value"])
            value, count = counts.get(key, (entry["value"], 0))
            counts[key] = (value, count + 1)
    duplicated = sorted((pair for pair in counts.values() if pair[1] > 1), key=lambda pair: -pair[1])
    try:
        id_range = [min(acknowledged), max(acknowledged)] if acknowledged else None
    except TypeError:
        id_range = None  # ids of types that do not compare
    result = {"valid": not duplicated, "attempted_count": attempted, "acknowledged_count": len(acknowledged),
              "duplicated_count": len(duplicated),
              "duplicated": [[value, count] for value, count in duplicated[:DUPLICATES_SHOWN]],
              "range": id_range}
    if duplicated:
        value, count = duplicated[0]
        shown = {element_key(value) for value, _ in duplicated[:DUPLICATES_SHOWN]}
        result["implicated"] = implicated(entry for entry in history if entry.get("f") == f
                                          and entry["type"] == "ok" and element_key(entry["value"]) in shown)
        result["why"] = "id %s was returned %d times%s" % (
            json.dumps(value), count,
            "" if len(duplicated) == 1 else " (%d ids were returned more than once)" % len(duplicated))
    return result


def _merge_ranges(ranges):
    """The union of inclusive integer ranges, as sorted disjoint [lo, hi] pairs; touching ones join."""
    merged = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return merged


def counter(history, add_f="add", read_f="read"):
    """Maelstrom's g-counter/pn-counter checker: every final ok read must be the sum of the ok
    adds plus the deltas of any subset of the indeterminate (info) adds. Non-final reads are
    not checked. ``acceptable`` is that set of sums, exactly, as inclusive [lo, hi] ranges.
    An add invoked but never completed counts as indeterminate."""
    definite, possible, final_reads, errors = 0, [], [], []
    invocations = {}
    for entry in history:
        if not is_client_op(entry) or entry.get("f") not in (add_f, read_f):
            continue
        if entry["type"] == "invoke":
            invocations[entry["process"]] = entry
            continue
        invocation = invocations.pop(entry["process"], entry)
        if entry["f"] == add_f:
            if entry["type"] == "ok":
                definite += invocation["value"]
            elif entry["type"] == "info":
                possible.append(invocation["value"])
        elif entry["type"] == "ok" and (entry.get("final") or invocation.get("final")):
            final_reads.append(entry)
    possible += [entry["value"] for entry in invocations.values() if entry["f"] == add_f]
    acceptable = [[definite, definite]]
    for delta in possible:
        acceptable = _merge_ranges(acceptable + [[low + delta, high + delta] for low, high in acceptable])
    for read in final_reads:
        value = read["value"]
        if not (type(value) is int and any(low <= value <= high for low, high in acceptable)):
            errors.append({"process": read["process"], "time": read["time"], "value": value})
    result = {"valid": not errors, "errors": errors[:ERRORS_SHOWN], "error_count": len(errors),
              "final_reads": [read["value"] for read in final_reads], "acceptable": acceptable}
    if errors:
        first = errors[0]
        result["implicated"] = implicated(errors)
        result["why"] = "%sthe final read of %s (process %s, at %.2f s) is not an acceptable value: %s" % (
            "%d final reads are out of range; " % len(errors) if len(errors) > 1 else "",
            json.dumps(first["value"]), first["process"], first["time"], _describe_ranges(acceptable))
    return result


def _describe_ranges(ranges):
    shown = ["%d" % low if low == high else "%d to %d" % (low, high) for low, high in ranges[:10]]
    return ", ".join(shown) + (", ..." if len(ranges) > 10 else "")


def stats(history, exempt=()):
    """Jepsen's stats checker: ok, fail and info completions, overall and for each function.
    A function is valid only if at least one of its operations ended ok; the whole is valid
    if every function not in ``exempt`` is (Maelstrom exempts kafka's crash ops). Unlike
    Jepsen's, it is invalid when no operation ran at all: such a test proves nothing."""
    by_f = {}
    for entry in history:
        if not is_client_op(entry) or entry["type"] == "invoke":
            continue
        counts = by_f.setdefault(entry["f"], {"ok": 0, "fail": 0, "info": 0})
        counts[entry["type"]] += 1
    result = _counts(by_f.values())
    result["by_f"] = {f: dict(_counts([by_f[f]]), valid=by_f[f]["ok"] > 0) for f in sorted(by_f)}
    failing = [f for f in sorted(by_f) if f not in exempt and not by_f[f]["ok"]]
    result["valid"] = bool(by_f) and not failing
    if not by_f:  # a test that tested nothing proves nothing
        result["why"] = "no operation was run (are --rate and --time-limit above 0?)"
    elif failing:
        result["why"] = "; ".join("no %s ever succeeded (%d fail, %d info)" % (f, by_f[f]["fail"], by_f[f]["info"])
                                  for f in failing)
    return result


def _counts(groups):
    ok, fail, info = (sum(group[kind] for group in groups) for kind in ("ok", "fail", "info"))
    return {"count": ok + fail + info, "ok_count": ok, "fail_count": fail, "info_count": info}


def availability(history, spec=None):
    """Maelstrom's availability checker. ``spec`` None checks nothing; "total" needs every
    client invocation to end ok; a number a (0 to 1) needs at least that fraction to.
    Reports ``ok_fraction`` (1 when nothing was invoked)."""
    if not (spec is None or spec == "total" or (isinstance(spec, (int, float)) and not isinstance(spec, bool)
                                                 and 0 <= spec <= 1)):
        raise ValueError("availability must be 'total' or a number from 0 to 1, not %r" % (spec,))
    invoked = ok = 0
    for entry in history:
        if is_client_op(entry):
            invoked += entry["type"] == "invoke"
            ok += entry["type"] == "ok"
    fraction = ok / invoked if invoked else 1
    needed = 1 if spec == "total" else spec
    result = {"valid": needed is None or fraction >= needed, "ok_fraction": fraction, "ok_count": ok,
              "invoke_count": invoked}
    if not result["valid"]:
        result["why"] = "%d of %d operations ended ok (%.4g), below the %s" % (
            ok, invoked, fraction, "total availability required" if spec == "total"
            else "required fraction %s" % spec)
    return result


def operation_counts(history):
    """For each function, how many operations ended ok, fail and info."""
    counts = {}
    for entry in history:
        if entry["type"] != "invoke":
            counts.setdefault(entry["f"], {"ok": 0, "fail": 0, "info": 0})[entry["type"]] += 1
    return counts
