"""The partition nemesis, as Maelstrom's (Jepsen's combined partition package): start and
stop alternate, a random gap apart with a mean of ``--nemesis-interval`` seconds, and each
start cuts the network one of four ways."""

KINDS = ("one", "majority", "majorities-ring", "minority-third")


def grudge(kind, nodes, rng):
    """Which senders each node drops under a partition of ``kind``: a dict of node -> set
    of nodes (Jepsen's grudge), over ``nodes`` in a random order drawn from ``rng``."""
    nodes = list(nodes)
    rng.shuffle(nodes)
    if kind == "one":
        return complete_grudge([nodes[:1], nodes[1:]])
    if kind == "majority":  # Jepsen's bisect: the first half (rounded down) against the rest
        half = len(nodes) // 2
        return complete_grudge([nodes[:half], nodes[half:]])
    if kind == "minority-third":  # fewer than a third of the nodes cut off
        cut = rng.randint(1, (len(nodes) - 1) // 3) if len(nodes) >= 4 else 0
        return complete_grudge([nodes[:cut], nodes[cut:]])
    if kind == "majorities-ring":
        return majorities_ring(nodes)
    raise ValueError("unknown partition %r: one of %s" % (kind, ", ".join(KINDS)))


def complete_grudge(groups):
    """Each node drops whatever comes from a node outside its own group."""
    everyone = set().union(*map(set, groups))
    return {node: everyone - set(group) for group in groups for node in group}


def majorities_ring(nodes):
    """Every node sees a majority (itself and its nearest neighbours in the ring ``nodes``),
    and no two nodes see the same majority when there are five or more."""
    count = len(nodes)
    majority = count // 2 + 1
    below = (majority - 1) // 2
    result = {}
    for index, node in enumerate(nodes):
        seen = {nodes[(index + offset) % count] for offset in range(-below, majority - below)}
        result[node] = set(nodes) - seen
    return result


class Schedule:
    """When the nemesis acts: ``next_gap()`` seconds to the next op, uniformly from 0 to
    twice the interval (Jepsen's stagger), and ``next_op()`` alternating start and stop."""

    def __init__(self, interval, nodes, rng):
        self.interval = interval
        self.nodes = list(nodes)
        self.rng = rng
        self.partitioned = False

    def next_gap(self):
        return self.rng.uniform(0, 2 * self.interval)

    def next_op(self):
        """("start-partition", kind, grudge) or ("stop-partition", None, None)."""
        self.partitioned = not self.partitioned
        if not self.partitioned:
            return "stop-partition", None, None
        kind = self.rng.choice(KINDS)
        return "start-partition", kind, grudge(kind, self.nodes, self.rng)
