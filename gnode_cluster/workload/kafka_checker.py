"""Jepsen's kafka checker (jepsen.tests.kafka), as Maelstrom runs it: sends and polls of
single micro-operations, keys assigned (never subscribed), no write-write inference.

From every ok send's offset and every poll's [offset, message] pairs it builds, per key,
the log (offset: the messages seen there) and its version order (the offsets that hold a
message, in order; a message's *index* is its place in that order, gaps left out). Then it
looks for Jepsen's anomalies, named as Jepsen names them:

    inconsistent-offsets   two or more messages at one offset of a key
    duplicate              one message at several offsets of a key
    lost-write             a committed send below the highest polled index of its key
                           that no ok poll returned
    unseen                 ok sends no ok poll ever returned, by the end
    G1a                    an ok poll returned a message whose send failed
    nonmonotonic-poll      a process's poll of a key starts at or before where its last
                           poll of the key ended
    poll-skip              ... starts past messages known to be between them
    nonmonotonic-send      a process's send to a key lands at or before its last send there
    int-nonmonotonic-poll  within one poll, a key's messages repeat or go backwards
    int-poll-skip          within one poll, a key's messages skip known messages
    int-nonmonotonic-send  within one operation, sends to a key go backwards
    int-send-skip          within one operation, sends to a key skip (allowed)
    precommitted-read      an operation polled a message it sent itself

Every one but int-send-skip makes the verdict false. An assign (ok or info) forgets a
process's last poll and send of the keys it does not assign. A polled message that no send
ever sent stops Jepsen's checker, so the verdict is then "unknown".
"""
import json

from ..checker import element_key, implicated, is_client_op

ALLOWED = frozenset({"int-send-skip"})  # Jepsen also allows the G0 cycles, which need ww edges Maelstrom leaves out
SHOWN = 32  # cases listed for duplicate and inconsistent-offsets, as Jepsen condenses them
SHOWN_ORDERED = 8  # cases listed for the skip and nonmonotonic anomalies
SHOWN_UNSEEN = 32  # unseen messages listed per key


def _message(key):
    """The JSON value of a message identity from element_key."""
    return json.loads(key[1]) if isinstance(key, tuple) else key


def writes(entry):
    """{key: [(offset or None, message identity), ...]} an operation sent, in order. An ok
    send carries [offset, msg]; an invoked, failed or indeterminate one only msg."""
    sent = {}
    if entry.get("f") not in ("send", "txn"):
        return sent
    for mop in entry.get("value") or ():
        if mop and mop[0] == "send":
            _, key, value = mop
            offset, msg = value if isinstance(value, list) and len(value) == 2 else (None, value)
            sent.setdefault(key, []).append((offset, element_key(msg)))
    return sent


def reads(entry):
    """{key: [(offset, message identity), ...]} an operation polled, in the order returned."""
    polled = {}
    if entry.get("f") not in ("poll", "txn"):
        return polled
    for mop in entry.get("value") or ():
        if mop and mop[0] == "poll" and len(mop) > 1 and isinstance(mop[1], dict):
            for key, pairs in mop[1].items():
                polled.setdefault(key, []).extend((offset, element_key(msg)) for offset, msg in pairs or ())
    return polled


class _Op:
    """One completion (or invocation) of a send or poll, with what it sent and polled."""

    __slots__ = ("entry", "writes", "reads")

    def __init__(self, entry):
        self.entry = entry
        self.writes = writes(entry)
        self.reads = reads(entry)


class _Order:
    """A key's log and version order: ``log`` offset -> messages seen there (in the order first
    seen); ``by_index`` the message of each offset that holds one, ascending (the first seen
    where there are several); ``index_of`` message -> its index in by_index (the last, if
    repeated); ``offsets`` index -> offset; ``first_index`` and ``first_offset`` message -> the
    index and offset it first appears at; ``last_index`` message -> the index it last appears at."""

    def __init__(self, log):
        self.log = log
        self.offsets = sorted(log)
        self.by_index = [next(iter(log[offset])) for offset in self.offsets]
        self.index_of = {message: index for index, message in enumerate(self.by_index)}
        self.first_index, self.first_offset, self.last_index = {}, {}, {}
        for index, offset in enumerate(self.offsets):
            for message in log[offset]:
                self.first_index.setdefault(message, index)
                self.first_offset.setdefault(message, offset)
                self.last_index[message] = index

    def delta(self, before, after):
        """Index of ``after`` minus index of ``before``; 1 when either is not in the order."""
        if before in self.index_of and after in self.index_of:
            return self.index_of[after] - self.index_of[before]
        return 1

    def between(self, before, after):
        """The messages of the order strictly between two messages', as (offset, message)."""
        low, high = self.index_of[before], self.index_of[after]
        return [(self.offsets[i], _message(self.by_index[i])) for i in range(low + 1, high)]

    def offset_of(self, message):
        """Where ``message`` sits in the version order (the offset of its index), else where it
        first appears, else None."""
        if message in self.index_of:
            return self.offsets[self.index_of[message]]
        return self.first_offset.get(message)


def check(history):
    """Jepsen's kafka checker over a gnode history (entries as ``gnode_cluster.workload``
    describes them; kafka's values as ``gnode_cluster.workload.kafka`` lists them). Returns
    ``valid``, ``bad_error_types``, ``error_types``, ``info_txn_causes``, one entry per anomaly
    found (its ``count`` and the cases in ``errs``; unseen's own shape), and, unless valid,
    ``why``: for each bad anomaly, its first case in words, naming the key, the offsets and
    the operations."""
    ops = [_Op(entry) for entry in history if is_client_op(entry) and entry.get("f") in ("send", "poll", "txn")]
    done = [op for op in ops if op.entry["type"] != "invoke"]
    ok_reads, failed_writes = {}, {}
    writer_of, readers_of = {}, {}
    for op in done:
        for key, pairs in op.writes.items():
            for _, message in pairs:
                writer_of.setdefault(key, {})[message] = op
                if op.entry["type"] == "fail":
                    failed_writes.setdefault(key, set()).add(message)
        for key, pairs in op.reads.items():
            readers = readers_of.setdefault(key, {})
            for _, message in pairs:
                readers.setdefault(message, []).append(op)
            if op.entry["type"] == "ok":
                ok_reads.setdefault(key, set()).update(message for _, message in pairs)

    def committed(op):
        # Jepsen's must-have-committed?: ok, or info with a message some ok poll returned.
        return op.entry["type"] == "ok" or (op.entry["type"] == "info" and any(
            message in ok_reads.get(key, ()) for key, pairs in op.writes.items() for _, message in pairs))

    orders, inconsistent = _version_orders(ops, committed)
    errors = {"inconsistent-offsets": inconsistent,
              "duplicate": _duplicates(orders),
              "lost-write": _lost_writes(orders, ok_reads, writer_of, readers_of, committed),
              "G1a": _aborted_reads(done, failed_writes, writer_of),
              "precommitted-read": _precommitted_reads(done, orders)}
    errors.update(_internal(done, orders))
    errors.update(_per_process(history, ops, orders))
    errors = {name: cases for name, cases in errors.items() if cases}
    unseen = _unseen(done)
    if unseen["unseen"]:
        errors["unseen"] = unseen
    bad = sorted(name for name in errors if name not in ALLOWED)
    result = {"valid": not bad, "bad_error_types": bad, "error_types": sorted(errors),
              "info_txn_causes": _distinct(op.entry.get("error") for op in done if op.entry["type"] == "info")}
    for name, cases in sorted(errors.items()):
        result[name] = cases if name == "unseen" else _condense(name, cases)
    if bad:
        result["why"] = "; ".join(_words(name, result[name]) for name in bad)
        result["implicated"] = implicated(_named(result, bad, writer_of))
    invented = [(key, message) for key, readers in readers_of.items() for message in readers
                if message not in writer_of.get(key, ())]
    if invented:
        key, message = invented[0]
        reader = readers_of[key][message][0]
        result["valid"] = "unknown"
        result["why"] = ("%s polled message %s of key %s at offset %s, which no send ever sent: Jepsen's kafka "
                         "checker stops there, so the verdict is unknown%s"
                         % (_describe(reader), json.dumps(_message(message)), json.dumps(key),
                            orders[key].first_offset.get(message), "; " + result["why"] if bad else ""))
    return result


def _named(result, bad, writer_of):
    """The operations the shown cases of the ``bad`` anomalies name, and the sends of the
    messages they are about (an offset's messages, the messages never polled)."""
    for name in bad:
        if name == "unseen":
            for key, messages in result[name]["messages"].items():
                for message in messages:
                    writer = writer_of.get(key, {}).get(element_key(message))
                    if writer is not None:
                        yield writer.entry
            continue
        for case in result[name]["errs"]:
            yield from (case[field] for field in ("op", "writer", "reader", "max_read") if field in case)
            yield from case.get("ops", ())
            for message in case.get("values", ()) if name == "inconsistent-offsets" else ():
                writer = writer_of.get(case["key"], {}).get(element_key(message))
                if writer is not None:
                    yield writer.entry


def _version_orders(ops, committed):
    """Each key's _Order, from the sends of committed operations and every poll; and the
    inconsistent-offsets cases: offsets that hold more than one message."""
    logs = {}
    for op in ops:
        if committed(op):
            for key, pairs in op.writes.items():
                log = logs.setdefault(key, {})
                for offset, message in pairs:
                    if offset is not None:
                        log.setdefault(offset, {})[message] = None
        for key, pairs in op.reads.items():
            log = logs.setdefault(key, {})
            for offset, message in pairs:
                if offset is not None:
                    log.setdefault(offset, {})[message] = None
    orders = {key: _Order(log) for key, log in logs.items()}
    inconsistent = [{"key": key, "offset": offset, "index": index,
                     "values": _sorted_messages(order.log[offset])}
                    for key, order in orders.items() for index, offset in enumerate(order.offsets)
                    if len(order.log[offset]) > 1]
    return orders, inconsistent


def _duplicates(orders):
    """One message at more than one offset of a key."""
    cases = []
    for key, order in orders.items():
        offsets = {}
        for offset in order.offsets:
            for message in order.log[offset]:
                offsets.setdefault(message, []).append(offset)
        cases += [{"key": key, "value": _message(message), "count": len(at), "offsets": at}
                  for message, at in offsets.items() if len(at) > 1]
    return cases


def _lost_writes(orders, ok_reads, writer_of, readers_of, committed):
    """For each key, the highest index an ok poll reached (by the first index of each message
    polled); every committed send whose message last appears at or below it and that no ok poll
    returned is lost."""
    cases = []
    for key, polled in ok_reads.items():
        order = orders[key]
        reached = [message for message in polled if message in order.first_index]
        if not reached:  # a key only ever polled empty: nothing bounds what should have been read
            continue
        top = max(reached, key=order.first_index.__getitem__)
        bound = order.first_index[top]
        must_read = sorted((message for message, index in order.last_index.items() if index <= bound),
                           key=order.last_index.__getitem__)
        for message in must_read:
            writer = writer_of.get(key, {}).get(message)  # none: a message no send sent, which makes the verdict unknown
            if message not in polled and writer is not None and committed(writer):
                cases.append({"key": key, "value": _message(message), "index": order.first_index[message],
                              "offset": order.first_offset[message], "max_read_index": bound,
                              "max_read_offset": order.offsets[bound], "max_read_value": _message(top),
                              "writer": _ref(writer, key),
                              "max_read": _ref(readers_of[key][top][0], key)})
    return cases


def _aborted_reads(done, failed_writes, writer_of):
    """Ok polls that returned a message whose send failed."""
    return [{"key": key, "value": _message(message), "offset": offset,
             "writer": _ref(writer_of[key][message], key), "reader": _ref(op, key)}
            for op in done if op.entry["type"] == "ok"
            for key, pairs in op.reads.items() for offset, message in pairs
            if message in failed_writes.get(key, ())]


def _precommitted_reads(done, orders):
    """Operations that polled a message they sent themselves (only possible in transactions)."""
    cases = []
    for op in done:
        for key, pairs in op.writes.items():
            own = {message for _, message in pairs} & {message for _, message in op.reads.get(key, ())}
            if own:
                message = next(iter(own))
                cases.append({"op": _ref(op, key), "key": key, "value": _message(message),
                              "offset": orders[key].offset_of(message) if key in orders else None})
    return cases


def _internal(done, orders):
    """Within one operation: each pair of successive messages polled from a key, and of sends
    to a key, must be next to each other in the version order."""
    found = {"int-poll-skip": [], "int-nonmonotonic-poll": [], "int-send-skip": [], "int-nonmonotonic-send": []}
    for op in done:
        for kind, by_key in (("poll", op.reads), ("send", op.writes)):
            for key, pairs in by_key.items():
                order = orders.get(key, _Order({}))
                messages = [message for _, message in pairs]
                for before, after in zip(messages, messages[1:]):
                    delta = order.delta(before, after)
                    if delta != 1:
                        case = _step(order, key, before, after, delta)
                        case["op"] = _ref(op, key)
                        found[("int-%s-skip" if delta > 1 else "int-nonmonotonic-%s") % kind].append(case)
    return found


def _per_process(history, ops, orders):
    """Between one process's operations: a poll of a key must begin right after the last
    message its previous ok poll of the key returned, and a send to a key must land after its
    previous send there (ok or info). An ok or info assign keeps only the keys it assigns."""
    found = {"poll-skip": [], "nonmonotonic-poll": [], "nonmonotonic-send": []}
    by_entry = {id(op.entry): op for op in ops}
    last_polls, last_sends = {}, {}  # process: {key: the op}
    for entry in history:
        if not is_client_op(entry):
            continue
        process = entry["process"]
        if entry.get("f") in ("assign", "subscribe"):
            if entry["type"] in ("ok", "info"):
                for last in (last_polls, last_sends):
                    if process in last:
                        last[process] = {k: op for k, op in last[process].items() if k in entry["value"]}
            continue
        op = by_entry.get(id(entry))
        if op is None:
            continue
        if op.reads:
            polls = last_polls.setdefault(process, {})
            for key, pairs in op.reads.items():
                previous = polls.get(key)
                if previous is not None and key in orders:
                    before = previous.reads[key][-1][1] if previous.reads[key] else None
                    after = pairs[0][1] if pairs else None
                    delta = orders[key].delta(before, after)
                    if delta != 1:
                        case = _step(orders[key], key, before, after, delta)
                        case["ops"] = [_ref(previous, key), _ref(op, key)]
                        found["poll-skip" if delta > 1 else "nonmonotonic-poll"].append(case)
                if entry["type"] == "ok":
                    polls[key] = op
        if op.writes and entry["type"] in ("ok", "info"):
            sends = last_sends.setdefault(process, {})
            for key, pairs in op.writes.items():
                previous = sends.get(key)
                if previous is not None and key in orders:
                    before, after = previous.writes[key][-1][1], pairs[0][1]
                    delta = orders[key].delta(before, after)
                    if delta < 1:
                        case = _step(orders[key], key, before, after, delta)
                        case["ops"] = [_ref(previous, key), _ref(op, key)]
                        found["nonmonotonic-send"].append(case)
                sends[key] = op
    return found


def _step(order, key, before, after, delta):
    """A skip or a step back from message ``before`` to ``after`` of ``key``."""
    case = {"key": key, "values": [_message(before), _message(after)], "delta": delta,
            "offsets": [order.offset_of(before), order.offset_of(after)]}
    if delta > 1:
        case["skipped"] = [[offset, message] for offset, message in order.between(before, after)]
    return case


def _unseen(done):
    """What ok sends sent and no ok poll returned, by the end: the count per key and, per key,
    the first messages (sorted)."""
    sent, polled = {}, {}
    for op in done:
        if op.entry["type"] == "ok":
            for key, pairs in op.writes.items():
                sent.setdefault(key, set()).update(message for _, message in pairs)
            for key, pairs in op.reads.items():
                polled.setdefault(key, set()).update(message for _, message in pairs)
    missing = {key: messages - polled.get(key, set()) for key, messages in sent.items()}
    missing = {key: messages for key, messages in sorted(missing.items()) if messages}
    return {"time": done[-1].entry.get("time") if done else None,
            "unseen": {key: len(messages) for key, messages in missing.items()},
            "messages": {key: _sorted_messages(messages)[:SHOWN_UNSEEN] for key, messages in missing.items()}}


def _condense(name, cases):
    """The count and the cases worth showing, as Jepsen's condense-error picks them."""
    if name in ("duplicate", "inconsistent-offsets"):
        size = (lambda case: case["count"]) if name == "duplicate" else (lambda case: len(case["values"]))
        shown = sorted(cases, key=size)[:SHOWN]
    elif name.endswith("skip"):
        shown = sorted(cases, key=lambda case: case["delta"])[-SHOWN_ORDERED:]
    elif "nonmonotonic" in name:
        shown = sorted(cases, key=lambda case: case["delta"])[:SHOWN_ORDERED]
    else:
        shown = cases
    return {"count": len(cases), "errs": shown}


def _words(name, found):
    """One anomaly's count and its first shown case, in words."""
    if name == "unseen":
        key = next(iter(found["unseen"]))
        return ("unseen: %d acknowledged messages were never polled, in %d keys; key %s: %d, e.g. %s"
                % (sum(found["unseen"].values()), len(found["unseen"]), json.dumps(key), found["unseen"][key],
                   ", ".join(json.dumps(message) for message in found["messages"][key][:5])))
    case = found["errs"][0]
    key = json.dumps(case.get("key"))
    if name == "inconsistent-offsets":
        what = "key %s has %d messages at offset %s: %s" % (
            key, len(case["values"]), case["offset"], ", ".join(json.dumps(v) for v in case["values"]))
    elif name == "duplicate":
        what = "key %s holds message %s at %d offsets: %s" % (
            key, json.dumps(case["value"]), case["count"], ", ".join(map(str, case["offsets"])))
    elif name == "lost-write":
        what = ("key %s: message %s at offset %s, sent by %s, was never polled, though %s polled message %s "
                "at offset %s, after it" % (key, json.dumps(case["value"]), case["offset"],
                                            _said(case["writer"]), _said(case["max_read"]),
                                            json.dumps(case["max_read_value"]), case["max_read_offset"]))
    elif name == "G1a":
        what = "key %s: %s polled message %s at offset %s, whose send by %s failed" % (
            key, _said(case["reader"]), json.dumps(case["value"]), case["offset"], _said(case["writer"]))
    elif name == "precommitted-read":
        what = "key %s: %s polled message %s, which it sent itself" % (key, _said(case["op"]),
                                                                        json.dumps(case["value"]))
    else:
        what = _step_words(name, case, key)
    return "%s (%d): %s" % (name, found["count"], what)


def _step_words(name, case, key):
    (before, after), (at, to) = case["values"], case["offsets"]
    if name.startswith("int-"):
        where = "within %s" % _said(case["op"])
    else:
        where = "from %s to %s" % (_said(case["ops"][0]), _said(case["ops"][1]))
    if "skip" in name:
        return "key %s, %s: message %s at offset %s then %s at offset %s skips %s" % (
            key, where, json.dumps(before), at, json.dumps(after), to,
            ", ".join("%s at offset %s" % (json.dumps(m), o) for o, m in case["skipped"][:5]))
    going = "again" if before == after else "backwards"
    return "key %s, %s: message %s at offset %s then %s at offset %s goes %s (%+d in the order)" % (
        key, where, json.dumps(before), at, json.dumps(after), to, going, case["delta"])


def _ref(op, key):
    """An operation as a case names it: process, type, f, time, and its value for ``key``."""
    entry = op.entry
    ref = {"process": entry["process"], "type": entry["type"], "f": entry["f"], "time": entry.get("time")}
    if key in op.writes:
        ref["sent"] = [[offset, _message(message)] for offset, message in op.writes[key]]
    if key in op.reads:
        pairs = op.reads[key]
        ref["polled"] = [[offset, _message(message)] for offset, message in pairs[:3]]
        if len(pairs) > 3:
            ref["polled"] += [["..."], [pairs[-1][0], _message(pairs[-1][1])]]
    return ref


def _said(ref):
    time = " at %.2f s" % ref["time"] if ref.get("time") is not None else ""
    return "process %s's %s (%s%s)" % (ref["process"], ref["f"], ref["type"], time)


def _describe(op):
    return _said(_ref(op, None))


def _sorted_messages(messages):
    values = [_message(message) for message in messages]
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=lambda value: json.dumps(value, sort_keys=True))


def _distinct(values):
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen
