"""Linearizability of one compare-and-set register's history, as Knossos checks lin-kv under
Maelstrom, and of lin-kv's keyed history, one register per key (Jepsen's independent keys).

The model is Knossos's cas-register, starting at null: a write sets the value; a cas
succeeds only if the value equals its ``from``; an ok read of v needs the value to be v,
and an ok read of null is consistent with any value, as Knossos's model has it. A ``fail`` operation did not happen; an
``info`` one may have happened at any moment after its invocation, or never.

The search is Wing & Gong's, with Lowe's just-in-time linearization, as Knossos's wgl and
Porcupine run it: the history is a linked list of call and return entries; an operation is
linearized (taken out of the list with its return) when the model accepts it at the point
reached; a return met first is a dead end, undone by backtracking; and a cache of the
configurations seen (the set of operations linearized as a bitset, and the state) prunes
what was already explored. The search is bounded by ``budget`` model steps per register
(DEFAULT_BUDGET): past it the verdict is "unknown", never a pass.
"""

DEFAULT_BUDGET = 2_000_000  # model steps per register; a few seconds of search in CPython
PREFIX_SHOWN = 30  # history entries shown before an operation that cannot be linearized

_WRITE, _CAS, _READ, _RETURN = 0, 1, 2, 3


def check_register(history, budget=DEFAULT_BUDGET, initial=None):
    """The verdict on one register's ``history`` (entries with ``process``, ``type``, ``f``
    read/write/cas, ``value``: v, v or [from, to]; ``time`` in seconds if known), the
    register holding ``initial`` before it (null, as lin-kv's keys; Knossos's own test
    data starts at 0): a dict with
    ``valid`` (True, False or "unknown"), ``why`` unless valid, ``steps``, and when invalid
    ``op`` and ``completed`` (the entries of the operation that cannot be linearized),
    ``states`` (every value the register can hold then), ``prefix_length`` and ``prefix``
    (the last PREFIX_SHOWN entries of the history before its completion). Raises ValueError
    on a malformed history."""
    ops = _operations(history)
    search = _Search(ops, budget)
    verdict = search.run(_hashable(initial))
    result = {"valid": verdict, "steps": search.steps}
    if verdict == "unknown":
        result["why"] = "the search gave up after %d steps (its budget) on %d operations" % (search.steps, len(ops))
    elif verdict is False:
        result.update(_explain(history, ops[search.blocked_op], search.blocked_states))
    return result


def check_independent(history, budget=DEFAULT_BUDGET):
    """The verdict on lin-kv's ``history``, whose values are [key, v] tuples: each key's
    register checked on its own; invalid if any key is, else unknown if any key is, else
    valid. Reports ``keys`` (how many keys came out valid, invalid, unknown), ``key_count``,
    for the invalid key whose failing operation completed first its ``failure`` (the key
    and check_register's account), and ``unknown_keys`` (each key and why)."""
    by_key, first_seen = {}, {}
    pending = {}
    for entry in history:
        if entry["process"] == "nemesis":
            continue
        key = _key_of(entry)
        if entry["type"] == "invoke":
            pending[entry["process"]] = key
        else:  # a completion's key is its invocation's; an unpaired one check_register reports
            key = pending.pop(entry["process"], key)
        by_key.setdefault(_hashable(key), []).append({**entry, "value": entry["value"][1]})
        first_seen.setdefault(_hashable(key), key)
    counts = {"valid": 0, "invalid": 0, "unknown": 0}
    failures, unknown = [], []
    for key, entries in by_key.items():
        verdict = check_register(entries, budget)
        counts[{True: "valid", False: "invalid", "unknown": "unknown"}[verdict["valid"]]] += 1
        if verdict["valid"] is False:
            failures.append((verdict["completed"].get("time", 0), first_seen[key], verdict))
        elif verdict["valid"] == "unknown":
            unknown.append({"key": first_seen[key], "why": verdict["why"]})
    result = {"keys": counts, "key_count": len(by_key), "unknown_keys": unknown}
    if failures:
        _, key, verdict = min(failures, key=lambda failure: failure[0])
        result.update(valid=False, failure={"key": key, **verdict},
                      why="key %s is not linearizable: %s" % (_show(key), verdict["why"]))
        if counts["invalid"] > 1:
            result["why"] += " (%d keys of %d are not)" % (counts["invalid"], len(by_key))
    elif unknown:
        result.update(valid="unknown", why="%d of %d keys unchecked: key %s: %s" % (
            len(unknown), len(by_key), _show(unknown[0]["key"]), unknown[0]["why"]))
    else:
        result["valid"] = True
    return result


def _key_of(entry):
    value = entry.get("value")
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError("lin-kv values are [key, value], not %r (process %s's %s %s)"
                         % (value, entry["process"], entry["type"], entry["f"]))
    return value[0]


def _operations(history):
    """The operations of ``history``: each a dict of its ``invoke`` and ``complete`` entries
    (``complete`` None for an invocation never completed: info) and its ``position``s,
    fails left out."""
    ops, pending = [], {}
    for position, entry in enumerate(history):
        kind, process = entry["type"], entry["process"]
        if kind == "invoke":
            if process in pending:
                raise ValueError("process %s invoked %s at entry %d while its %s was still pending"
                                 % (process, entry["f"], position, pending[process]["invoke"]["f"]))
            if entry["f"] not in ("read", "write", "cas"):
                raise ValueError("a cas register has read, write and cas, not %r (entry %d)" % (entry["f"], position))
            pending[process] = op = {"invoke": entry, "invoked_at": position, "complete": None}
            ops.append(op)
        elif kind in ("ok", "fail", "info"):
            op = pending.pop(process, None)
            if op is None:
                if kind == "info":
                    continue  # Jepsen's infos without an invocation (e.g. a nemesis's) are no operation
                raise ValueError("process %s's %s %s at entry %d has no invocation" % (process, kind, entry["f"],
                                                                                      position))
            op["complete"], op["completed_at"] = entry, position
        else:
            raise ValueError("an entry's type is invoke, ok, fail or info, not %r (entry %d)" % (kind, position))
    return [op for op in ops if op["complete"] is None or op["complete"]["type"] != "fail"]


class _Search:
    """One register's search. ``run`` returns True, False or "unknown"; after False,
    ``blocked_op`` (the index in ops of the operation that cannot be linearized) and
    ``blocked_states`` (the values the register can hold at its completion)."""

    def __init__(self, ops, budget):
        self.ops, self.budget, self.steps = ops, budget, 0
        self.blocked_op, self.blocked_states = None, set()
        # Entries 1..n in history order; 0 is the list's head. Per entry: what it does to the
        # model (_WRITE, _CAS, _READ, or _RETURN for a completion), its arguments, its
        # operation's bit, its return entry (calls; 0 for an info that never returns).
        events = []
        for index, op in enumerate(ops):
            complete = op["complete"]
            if op["invoke"]["f"] == "read" and (complete is None or complete["type"] == "info"
                                                or complete["value"] is None):
                # An indeterminate read changes nothing, and a read of null constrains nothing
                # (Knossos's cas-register takes it as a read of any value): each can be left out.
                continue
            events.append((op["invoked_at"], 0, index))
            if complete is not None and complete["type"] == "ok":
                events.append((op["completed_at"], 1, index))
        events.sort()
        size = len(events) + 1
        self.kind, self.a, self.b = [_RETURN] * size, [None] * size, [None] * size
        self.bit, self.match, self.op_of = [0] * size, [0] * size, [0] * size
        self.rank = [0] * size  # a return's place among the completions: how far a dead end got
        call_entry, returns = {}, 0
        for entry, (_, is_return, index) in enumerate(events, 1):
            self.op_of[entry] = index
            if is_return:
                self.match[call_entry[index]] = entry
                self.rank[entry] = returns
                returns += 1
                continue
            op = ops[index]
            self.bit[entry] = 1 << len(call_entry)
            call_entry[index] = entry
            f = op["invoke"]["f"]
            if f == "read":
                self.kind[entry], self.a[entry] = _READ, _hashable(op["complete"]["value"])
            elif f == "write":
                self.kind[entry], self.a[entry] = _WRITE, _hashable(op["invoke"]["value"])
            else:
                value = op["invoke"]["value"]
                if not isinstance(value, (list, tuple)) or len(value) != 2:
                    raise ValueError("a cas's value is [from, to], not %r (process %s)"
                                     % (value, op["invoke"]["process"]))
                self.kind[entry], self.a[entry], self.b[entry] = _CAS, _hashable(value[0]), _hashable(value[1])
        self.next = list(range(1, size)) + [0]  # 0 ends the list too: the head is never after an entry
        self.prev = [0] + list(range(size - 1))

    def run(self, initial=None):
        kind, a, b, bit, match, nxt, prv = self.kind, self.a, self.b, self.bit, self.match, self.next, self.prev
        rank, budget = self.rank, self.budget
        state, linearized, steps = initial, 0, 0
        seen = {(0, initial)}
        undo = []  # (call entry, state before it) for each operation linearized, to backtrack
        best = -1
        entry = nxt[0]
        while entry:
            k = kind[entry]
            if k == _RETURN:  # an operation that had to be linearized by now was not: a dead end
                if rank[entry] >= best:
                    if rank[entry] > best:
                        best, self.blocked_op, self.blocked_states = rank[entry], self.op_of[entry], set()
                    self.blocked_states.add(state)
                if not undo:
                    self.steps = steps
                    return False
                entry, state = undo.pop()
                linearized ^= bit[entry]
                ret = match[entry]  # put the call back, then its return: the reverse of taking them out
                if ret:
                    nxt[prv[ret]] = ret
                    prv[nxt[ret]] = ret
                nxt[prv[entry]] = entry
                prv[nxt[entry]] = entry
                entry = nxt[entry]
                continue
            steps += 1
            if steps > budget:
                self.steps = budget
                return "unknown"
            if k == _WRITE:
                after = a[entry]
            elif state != a[entry]:
                entry = nxt[entry]
                continue
            else:
                after = state if k == _READ else b[entry]
            config = (linearized | bit[entry], after)
            if config in seen:
                entry = nxt[entry]
                continue
            seen.add(config)
            undo.append((entry, state))
            linearized, state = config
            before, after_entry = prv[entry], nxt[entry]  # take the call and its return out
            nxt[before] = after_entry
            prv[after_entry] = before
            ret = match[entry]
            if ret:
                nxt[prv[ret]] = nxt[ret]
                prv[nxt[ret]] = prv[ret]
            entry = nxt[0]
        self.steps = steps
        return True


def _explain(history, op, states):
    """Why ``op`` cannot be linearized, in words, with the history before its completion."""
    invoke, complete = op["invoke"], op["complete"]
    done_before = sum(1 for entry in history[:op["completed_at"]] if entry["type"] == "ok")
    prefix = history[:op["completed_at"]]
    why = "after the %d operation%s that completed before it and those concurrent with it, the value %s; %s, %s, " \
          "cannot be linearized" % (done_before, "" if done_before == 1 else "s", _values(states),
                                    _describe(invoke, complete), _span(op))
    return {"why": why, "op": invoke, "completed": complete, "states": sorted(states, key=repr),
            "prefix_length": len(prefix), "prefix": prefix[-PREFIX_SHOWN:]}


def _describe(invoke, complete):
    """E.g. "process 7's read of 1", "process 2's cas from 1 to 4"."""
    f = invoke["f"]
    if f == "read":
        what = "read of %s" % _show(complete["value"])
    elif f == "write":
        what = "write of %s" % _show(invoke["value"])
    else:
        what = "cas from %s to %s" % (_show(invoke["value"][0]), _show(invoke["value"][1]))
    return "process %s's %s" % (invoke["process"], what)


def _span(op):
    invoke, complete = op["invoke"], op["complete"]
    if "time" in invoke and "time" in complete:
        return "invoked at %.3f s and completed at %.3f s" % (invoke["time"], complete["time"])
    return "invoked at entry %d and completed at entry %d" % (op["invoked_at"], op["completed_at"])


def _values(states):
    shown = sorted((_show(state) for state in states), key=lambda text: (text == "null", text))
    if len(shown) == 1:
        return "is " + shown[0] + (" (never written)" if shown[0] == "null" else "")
    return "is " + ", ".join(shown[:-1]) + " or " + shown[-1]


def _show(value):
    return "null" if value is None else repr(value) if isinstance(value, str) else str(value)


def _hashable(value):
    """JSON values as set members: lists become tuples, objects sorted item tuples."""
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((key, _hashable(item)) for key, item in value.items()))
    return value
