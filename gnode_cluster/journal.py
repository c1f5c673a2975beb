"""The network's journal, as Maelstrom's net/journal.clj keeps one: every send, delivery
and drop, a JSON line each, written to ``messages.jsonl`` while the cluster runs (tail -f
it) and compressed to ``messages.jsonl.gz`` when it stops; read back with the bodies in
place, and counted."""
import gzip
import json
import os
import shutil

from .net import is_client
from .protocol import SERVICES

FILE = "messages.jsonl"  # plain while the cluster runs, FILE + ".gz" once it stops
SEND = '"event": "send"'  # how a send's line reads, as ``line`` writes it


def line(time, event, envelope):
    """One journal entry as a JSON line: time (s from the cluster's start), event (send,
    delivered or dropped), from, to and id; a send has the body too, which its delivery or
    drop, with the same id, does not repeat (it would double the journal)."""
    text = '{"time": %.6f, "event": "%s", "from": %s, "to": %s, "id": %d' % (
        time, event, json.dumps(envelope.src), json.dumps(envelope.dest), envelope.id)
    return text + (', "body": %s}\n' % envelope.body_json if event == "send" else "}\n")


def read(lines):
    """The events of journal ``lines``, each a dict, a delivery or drop given the body of its
    send."""
    events, bodies = [], {}
    for text in lines:
        event = json.loads(text)
        if event["event"] == "send":
            bodies[event["id"]] = event["body"]
        elif event["id"] in bodies:
            event["body"] = bodies[event["id"]]
        events.append(event)
    return events


def compress(path):
    """``path`` replaced by ``path``.gz: a busy test's journal is tens of MB of JSON, which
    gzip makes about a tenth; done once, at the end, so the run itself pays nothing."""
    with open(path, "rb") as plain, gzip.open(path + ".gz", "wb", compresslevel=1) as packed:
        shutil.copyfileobj(plain, packed, 1 << 20)
    os.remove(path)


def kept_in(folder):
    """Whether a cluster that ran in ``folder`` left its journal there."""
    return any(os.path.exists(os.path.join(folder, name)) for name in (FILE, FILE + ".gz"))


def open_journal(folder):
    """The journal of a cluster that ran in ``folder``, as text lines (``read`` reads them)."""
    path = os.path.join(folder, FILE)
    return open(path) if os.path.exists(path) else gzip.open(path + ".gz", "rt")


def service_requests(folder):
    """How many requests the nodes of the cluster that ran in ``folder`` sent to Maelstrom's
    services, counted in its journal."""
    count = 0
    with open_journal(folder) as lines:
        for text in lines:
            if SEND in text:  # a cheap test first: a busy run's journal holds a million lines
                event = json.loads(text)
                count += event["to"] in SERVICES and not is_client(event["from"])
    return count
