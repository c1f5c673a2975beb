"""Histories read back from files into gnode's entry shape (see gnode_cluster.workload):
gnode's own ``history.jsonl``, and Maelstrom's (Jepsen's) ``history.edn``, so that a run
under either can be checked here.

In an EDN history, keywords become strings (``:invoke`` -> "invoke"), vectors and lists
become lists, sets sorted lists, maps dicts, nil None; and ``:time``, Jepsen's nanoseconds
since the test's start, becomes seconds, as gnode records it. Jepsen writes one operation
per line, each map perhaps tagged ``#jepsen.history.Op``; a file holding one vector or
list of operations (Knossos's test data) is read too.
"""
import collections.abc
import json
import os

import edn_format

# Jepsen prints its operations as records; their fields are all an entry needs.
edn_format.add_tag("jepsen.history.Op", lambda fields: fields)

NANOSECONDS = 1e9


def read_history(path):
    """The entries of the history at ``path``: a ``.jsonl`` or ``.edn`` file, or a test's
    folder holding ``history.jsonl`` or ``history.edn``. Raises ValueError, saying where,
    on a file that is not a history."""
    if os.path.isdir(path):
        for name in ("history.jsonl", "history.edn"):
            if os.path.exists(os.path.join(path, name)):
                return read_history(os.path.join(path, name))
        raise ValueError("%s holds no history.jsonl or history.edn" % path)
    if path.endswith(".edn"):
        with open(path, encoding="utf-8") as f:
            return edn_history(f.read(), path)
    if path.endswith(".jsonl"):
        return read_jsonl(path)
    raise ValueError("a history is a .jsonl or .edn file, or a test's folder, not %s" % path)


def read_jsonl(path):
    """The entries of gnode's ``history.jsonl``: one JSON object a line."""
    entries = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError as e:
                raise ValueError("%s, line %d, is not JSON: %s" % (path, number, e)) from None
            entries.append(_checked(entry, path, number))
    return entries


def edn_history(text, where="the history"):
    """The entries of an EDN history's ``text`` (``where`` names it in errors)."""
    try:
        forms = edn_format.loads_all(text, write_ply_tables=False)
    except (edn_format.EDNDecodeError, NotImplementedError) as e:
        raise ValueError("%s is not EDN that can be read: %s" % (where, e)) from None
    if len(forms) == 1 and isinstance(forms[0], collections.abc.Sequence):
        forms = forms[0]  # one collection of operations
    entries = []
    for number, form in enumerate(forms, 1):
        entry = _plain(form)
        _checked(entry, where, number)
        if isinstance(entry.get("time"), (int, float)):
            entry["time"] = entry["time"] / NANOSECONDS
        entries.append(entry)
    return entries


def _checked(entry, where, number):
    if not isinstance(entry, dict) or not {"type", "process"} <= set(entry):
        raise ValueError("%s, operation %d, is not an operation (a map with type and process): %s"
                         % (where, number, json.dumps(entry, default=str)[:200]))
    return entry


def _plain(value):
    """An EDN value as the JSON-shaped value gnode's entries hold."""
    if isinstance(value, edn_format.Keyword):
        return value.name
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Mapping):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, collections.abc.Sequence):  # vectors, lists
        return [_plain(item) for item in value]
    if isinstance(value, frozenset):
        items = [_plain(item) for item in value]
        try:
            return sorted(items)
        except TypeError:  # mixed kinds: any order is the set's
            return items
    if isinstance(value, (edn_format.Symbol, edn_format.Char)):
        return str(value)
    return value
