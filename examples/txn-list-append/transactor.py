"""txn-list-append, strict serializable, with Maelstrom's lin-kv service holding all the state:
a transactor in the style of Datomic, as Maelstrom's tutorial chapter doc/05-datomic builds it.

A request is a transaction, a list of micro-ops ["r", k, null] and ["append", k, v]; the
answer, txn_ok, repeats them with each read filled in: the list of values appended to k so
far, in order. Every node serves every key, and nodes never talk to each other: they share
the database through lin-kv.

The idea, step by step:

1. Values that never change are easy to share. So the database is never modified in place:
   a transaction builds new values beside the old ones, each stored in lin-kv under a fresh
   key that nobody has used ("n0-7": node id and a counter), and never written again.
2. One key is mutable: ROOT, which names the current version of the database. Reading ROOT
   gives a snapshot: everything reachable from it stays as it is forever.
3. A transaction reads ROOT, runs its micro-ops on that snapshot (appends go to copies),
   stores the pieces it changed under fresh keys, then moves ROOT from the version it read
   to its own with a compare-and-set. The cas succeeds only if no other transaction has
   committed in between (fresh keys are never reused, so ROOT cannot leave a version and
   come back to it): the transaction then took effect all at once, at the cas. If the cas
   fails, nothing it stored is reachable from ROOT, as if it had never run. It could be
   answered with error 30 (txn-conflict: it certainly did not happen); here it starts again
   from a fresh read of ROOT instead, so the client gets txn_ok. A cas fails only because
   another one succeeded, so the nodes as a whole always make progress.
4. A transaction with no append changes nothing and skips the cas: it read ROOT while it
   was running, and the snapshot it read was the whole database at that moment. (The
   tutorial's version of this shortcut lost strict serializability because its nodes kept
   ROOT from one transaction to the next, so a read could come from an old snapshot.)

What ROOT points to, the tutorial's progression:

- Stage 1, the whole database as one value: ROOT holds every key's list. Simple, but each
  transaction reads and writes all of it, and it grows with every append.
- Stage 2, per-key pieces (this file): each key's list is a piece of its own, and a small
  table maps each key to the id of its list. ROOT holds the id of the table. A transaction
  reads only the lists it touches, and writes only those it appended to, then a new table
  (mostly the old ids: untouched lists are shared between versions). The cas compares a
  short id, not a database.

Because pieces never change, a node may keep every piece it has read or written (`pieces`)
and never read it again. ROOT is the exception: it must be read again by every
transaction, or the node would answer from an old snapshot.

(The table still grows by one entry per key ever written; the tutorial's next exercise
splits it into a tree of tables. Two costs this file accepts, to stay short: the pieces a
failed cas stored stay in lin-kv, unreachable, and a transaction retries for as long as
others keep committing first: under heavy contention it may run past the client's
timeout, which the client then records as indeterminate.)
"""
import itertools

import gnode
from gnode import handler

ROOT = "root"
pieces = {}  # id -> value of an immutable piece: a table (a list of [key, id] pairs) or a list
counter = itertools.count()


def load(node, piece_id):
    if piece_id not in pieces:
        # A piece is written before the cas that makes it reachable, and lin-kv is
        # linearizable: a piece reachable from a ROOT this node has read is there to read.
        pieces[piece_id] = node.lin_kv.read(piece_id)
    return pieces[piece_id]


def store(node, value):
    """Writes value under a fresh key and returns the key."""
    piece_id = "%s-%d" % (node.id, next(counter))
    node.lin_kv.write(piece_id, value)
    pieces[piece_id] = value
    return piece_id


@handler("txn")
def txn(node, msg):
    while True:
        root = node.lin_kv.read(ROOT, default=None)  # None: no transaction has committed yet
        # The table as pairs, not a JSON object: that would turn the integer keys into strings.
        table = dict(load(node, root)) if root else {}  # key -> id of its list
        done, appended = [], {}  # appended: key -> its new list, a copy
        for f, key, value in msg.body["txn"]:
            if key in appended:
                current = appended[key]
            else:
                current = load(node, table[key]) if key in table else []
            if f == "r":
                done.append([f, key, current])
            else:
                appended[key] = current + [value]
                done.append([f, key, value])
        if not appended:
            return {"type": "txn_ok", "txn": done}
        new_table = dict(table)
        for key, values in appended.items():
            new_table[key] = store(node, values)
        new_root = store(node, list(new_table.items()))
        try:
            node.lin_kv.cas(ROOT, root, new_root, create_if_not_exists=root is None)
            return {"type": "txn_ok", "txn": done}
        except gnode.PreconditionFailed:
            continue  # another transaction committed first: run again on its version
