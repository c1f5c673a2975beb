"""unique-ids: hand out ids that no other request, on any node, ever gets.

No coordination at all: an id is this node's id and a counter of its own ("n1-0", "n1-1",
...). Node ids are unique and each node counts without repeating, so two ids never clash,
and every request is answered at once even while the network is partitioned (the workload
is run with --availability total). Every id is a string, so they all compare alike.
"""
import itertools

from gnode import handler

counter = itertools.count()  # handlers run one at a time between waits: no lock needed


@handler("generate")
def generate(node, msg):
    return {"type": "generate_ok", "id": "%s-%d" % (node.id, next(counter))}
