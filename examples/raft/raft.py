"""lin-kv served by Raft: every node keeps a copy of one log of client operations, and
applies the log, in order, to a key/value map of its own (the state machine).

The shape of Maelstrom's tutorial chapter 6, after the Raft paper (the comments cite its
sections, "§5.3" and so on):

- Leader election. A node that hears nothing from a leader for a random election timeout
  stands for election: it starts a new term, votes for itself and asks every peer for a vote
  (request_vote). A peer gives one vote per term, to a candidate whose log is at least as
  up to date as its own. A candidate with the votes of a majority is the leader of its term.
- Log replication. The leader appends each client request to its log and sends its peers
  the entries they lack (append_entries), also empty ones every HEARTBEAT as a sign of life.
  A peer accepts entries only if its log holds the entry just before them, so logs that
  agree on one entry agree on everything before it.
- Commitment. An entry of the leader's term that a majority holds is committed: every later
  leader has it. Each node applies the committed entries to its map; the leader answers the
  client whose request it was.
- Any message with a newer term than a node's own makes it a follower of that term. A
  leader that has heard from no majority for a while steps down too: cut off by a partition,
  it could commit nothing, and its clients are better off with error 11 at once.

Reads go through the log like writes: a leader answering from its own map could be a deposed
one, cut off by a partition, and return a value the real leader has already overwritten.
A node that is not the leader forwards a client's request to the leader it knows, with
node.sync_rpc, and passes the answer back; with no leader known it answers error 11.

The state lives in module variables, shared by every greenlet of the node. gevent switches
greenlets only where one waits (sync_rpc, AsyncResult.get, sleep), so the code between two
waits runs alone and needs no lock; after a wait, the term or role may have changed.
"""
import random
import time

import gevent
from gevent.event import AsyncResult

import gnode
from gnode import every, handler

HEARTBEAT = 0.05                # seconds between a leader's append_entries to each peer
ELECTION_TIMEOUT = (0.5, 1.0)   # a follower hearing no leader this long (random in range) stands
PEER_TIMEOUT = 0.5              # how long a request_vote or append_entries call waits
# Maelstrom's lin-kv clients give up after 1 s, and may then be gone; a message to a client
# that is gone makes Maelstrom stop reading this node. So a client is answered within
# ANSWER_WITHIN or not at all: to it, no answer and a late one are the same timeout.
ANSWER_WITHIN = 0.8
BATCH = 100                     # at most this many entries in one append_entries

FOLLOWER, CANDIDATE, LEADER = "follower", "candidate", "leader"


class Raft:
    """This node's Raft state."""

    def __init__(self):
        self.term = 0               # the latest term this node has seen
        self.voted_for = None       # whom it voted for in that term
        self.role = FOLLOWER
        self.leader = None          # the leader of this term, once known
        self.log = [{"term": 0, "op": None}]  # entry 0 is a placeholder: real entries start at 1
        self.commit_index = 0       # entries up to here are committed
        self.last_applied = 0       # entries up to here are applied to `data`
        self.election_deadline = 0.0  # at start, stand at once: the first node up usually wins
        # The leader's bookkeeping, per peer: the next entry to send, the last one known to
        # match, when it last answered, and whether an append_entries is on its way.
        self.next_index, self.match_index, self.heard_from, self.sending = {}, {}, {}, set()
        self.waiting = {}           # (index, term) -> AsyncResult of the client request it holds


raft = Raft()
data = {}  # the state machine: key -> value


def majority(node):
    return len(node.node_ids) // 2 + 1


def peers(node):
    return [peer for peer in node.node_ids if peer != node.id]


def last_index():
    return len(raft.log) - 1


def reset_election_timer():
    raft.election_deadline = time.monotonic() + random.uniform(*ELECTION_TIMEOUT)


def observe_term(term):
    """A newer term than ours means someone has moved on: follow, in that term (§5.1). The
    election timer runs on: a candidate with a stale log must not keep the others waiting."""
    if term > raft.term:
        raft.term, raft.voted_for = term, None
        raft.role, raft.leader = FOLLOWER, None


# ---------------------------------------------------------------- the state machine

def execute(op):
    """Apply one client operation to `data`; return the answer for its client: a body, or an
    RPCError to raise. A new leader's no-op entry (op None) does nothing."""
    if op is None:
        return None
    key = op["key"]
    if op["type"] == "write":
        data[key] = op["value"]
        return {"type": "write_ok"}
    if key not in data:
        return gnode.KeyDoesNotExist("no key %s" % key)
    if op["type"] == "read":
        return {"type": "read_ok", "value": data[key]}
    if data[key] != op["from"]:
        return gnode.PreconditionFailed("key %s is %s, not %s" % (key, data[key], op["from"]))
    data[key] = op["to"]
    return {"type": "cas_ok"}


def apply_committed():
    """Apply the entries committed since last time, and wake the clients waiting for them."""
    while raft.last_applied < raft.commit_index:
        raft.last_applied += 1
        entry = raft.log[raft.last_applied]
        answer = execute(entry["op"])
        waiter = raft.waiting.pop((raft.last_applied, entry["term"]), None)
        if waiter is not None:  # (index, term) names one entry: it is the one the client sent
            waiter.set(answer)


# ---------------------------------------------------------------- clients

@handler("read")
@handler("write")
@handler("cas")
def client_request(node, msg):
    if raft.role == LEADER:
        return submit(node, msg.body)
    if raft.leader is not None and msg.src not in node.node_ids:  # forward once, never on
        try:
            return node.sync_rpc(raft.leader, msg.body, timeout=ANSWER_WITHIN)
        except gnode.RPCTimeout:
            return None  # no answer in time (an error answer is raised on to our client)
    raise gnode.TemporarilyUnavailable("not the leader, and no leader known")


def submit(node, op):
    """Append a client's operation to the leader's log, and wait until it is applied."""
    raft.log.append({"term": raft.term, "op": op})
    entry = (last_index(), raft.term)
    raft.waiting[entry] = done = AsyncResult()
    replicate(node)  # now, rather than at the next heartbeat
    try:
        answer = done.get(timeout=ANSWER_WITHIN)
    except gevent.Timeout:
        return None  # not committed in time, but it still may be: no answer says "maybe"
    finally:
        raft.waiting.pop(entry, None)
    if isinstance(answer, gnode.RPCError):
        raise answer
    return answer


# ---------------------------------------------------------------- leader election

@every(HEARTBEAT)
def election_timer(node):
    if raft.role != LEADER and time.monotonic() > raft.election_deadline:
        stand_for_election(node)


def stand_for_election(node):
    raft.term += 1
    raft.role, raft.voted_for, raft.leader = CANDIDATE, node.id, None
    reset_election_timer()  # if this election is split, the next comes after a new timeout
    votes = {node.id}
    ask = {"type": "request_vote", "term": raft.term,
           "last_log_index": last_index(), "last_log_term": raft.log[-1]["term"]}
    for peer in peers(node):
        node.spawn(ask_for_vote, node, peer, ask, votes)
    count_votes(node, votes)  # a single node elects itself


def ask_for_vote(node, peer, ask, votes):
    try:
        answer = node.sync_rpc(peer, ask, timeout=PEER_TIMEOUT)
    except gnode.RPCError:
        return  # lost in a partition: if no leader comes of it, the timer tries again
    observe_term(answer["term"])
    if answer["vote_granted"] and raft.role == CANDIDATE and raft.term == ask["term"]:
        votes.add(peer)
        count_votes(node, votes)


def count_votes(node, votes):
    if raft.role == CANDIDATE and len(votes) >= majority(node):
        raft.role, raft.leader = LEADER, node.id
        now = time.monotonic()
        for peer in peers(node):  # start sending from our end; a refusal moves back (§5.3)
            raft.next_index[peer], raft.match_index[peer], raft.heard_from[peer] = len(raft.log), 0, now
        # A no-op of the new term: entries of older terms commit only beneath one of ours (§5.4.2).
        raft.log.append({"term": raft.term, "op": None})
        replicate(node)


@handler("request_vote")
def request_vote(node, msg):
    ask = msg.body
    observe_term(ask["term"])
    # Vote only for a candidate whose log has everything we have (§5.4.1): by last term, then length.
    up_to_date = (ask["last_log_term"], ask["last_log_index"]) >= (raft.log[-1]["term"], last_index())
    granted = ask["term"] == raft.term and raft.voted_for in (None, msg.src) and up_to_date
    if granted:
        raft.voted_for = msg.src
        reset_election_timer()
    return {"type": "request_vote_ok", "term": raft.term, "vote_granted": granted}


# ---------------------------------------------------------------- log replication

@every(HEARTBEAT)
def heartbeat(node):
    if raft.role != LEADER:
        return
    now = time.monotonic()
    in_touch = 1 + sum(now - heard < ELECTION_TIMEOUT[0] for heard in raft.heard_from.values())
    if in_touch < majority(node):
        raft.role, raft.leader = FOLLOWER, None  # cut off from a majority: it can commit nothing
        reset_election_timer()
        return
    replicate(node)


def replicate(node):
    """Send each peer the entries it lacks (none: a heartbeat), one call per peer at a time."""
    for peer in peers(node):
        if peer not in raft.sending:
            raft.sending.add(peer)
            node.spawn(append_to, node, peer)
    advance_commit_index(node)


def append_to(node, peer):
    try:
        if raft.role != LEADER:
            return  # deposed between the spawn and now
        start = raft.next_index[peer]
        entries = raft.log[start:start + BATCH]
        request = {"type": "append_entries", "term": raft.term, "prev_log_index": start - 1,
                   "prev_log_term": raft.log[start - 1]["term"], "entries": entries,
                   "leader_commit": raft.commit_index}
        answer = node.sync_rpc(peer, request, timeout=PEER_TIMEOUT)
    except gnode.RPCError:
        return  # lost: the next heartbeat sends again
    finally:
        raft.sending.discard(peer)
    observe_term(answer["term"])
    if raft.role != LEADER or raft.term != request["term"]:
        return  # we are no longer the leader that sent it
    raft.heard_from[peer] = time.monotonic()
    if answer["success"]:
        raft.match_index[peer] = max(raft.match_index[peer], start - 1 + len(entries))
        raft.next_index[peer] = raft.match_index[peer] + 1
        advance_commit_index(node)
    else:
        raft.next_index[peer] = max(1, answer["retry_from"])  # back to where the peer agrees


def advance_commit_index(node):
    """Commit the highest entry a majority holds, if it is of this term (§5.3, §5.4.2)."""
    if raft.role != LEADER:
        return
    held = sorted([last_index(), *raft.match_index.values()], reverse=True)
    highest = held[majority(node) - 1]  # at least a majority hold everything up to this index
    if highest > raft.commit_index and raft.log[highest]["term"] == raft.term:
        raft.commit_index = highest
        apply_committed()


@handler("append_entries")
def append_entries(node, msg):
    request = msg.body
    observe_term(request["term"])

    def refuse(retry_from):
        return {"type": "append_entries_ok", "term": raft.term, "success": False, "retry_from": retry_from}

    if request["term"] < raft.term:
        return refuse(1)  # from a deposed leader: our term in the answer tells it so
    raft.role, raft.leader = FOLLOWER, msg.src  # the leader of our term (a candidate gives way)
    reset_election_timer()
    prev = request["prev_log_index"]
    if prev > last_index():
        return refuse(len(raft.log))  # our log is shorter: send from its end
    if raft.log[prev]["term"] != request["prev_log_term"]:
        # We disagree at prev: skip back over all our entries of that term at once.
        retry_from, term = prev, raft.log[prev]["term"]
        while raft.log[retry_from - 1]["term"] == term:
            retry_from -= 1
        return refuse(retry_from)
    for index, entry in enumerate(request["entries"], prev + 1):
        if index <= last_index() and raft.log[index]["term"] != entry["term"]:
            del raft.log[index:]  # entries of a deposed leader that never committed
        if index > last_index():
            raft.log.append(entry)
    # Commit no further than what this request showed to match the leader's log.
    matched = prev + len(request["entries"])
    raft.commit_index = max(raft.commit_index, min(request["leader_commit"], matched))
    apply_committed()
    return {"type": "append_entries_ok", "term": raft.term, "success": True}
