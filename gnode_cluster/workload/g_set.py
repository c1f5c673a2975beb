"""g-set: a grow-only set; every added element must reach every node's reads (Maelstrom's
workload/g_set.clj, checked by Jepsen's set-full)."""
import itertools

from . import Workload, array
from ..checker import set_full


class GSet(Workload):
    """Half the operations add the next integer (0, 1, 2, ... across all workers), half read;
    after the main phase each worker reads once more. Maelstrom's g-set client maps no errors:
    every error reply or timeout leaves the operation indeterminate."""

    name = "g-set"
    final_phase = True
    with_errors = False

    def __init__(self, options, rng):
        super().__init__(options, rng)
        self.elements = itertools.count()  # shared by the workers, so each element is added once

    def next_op(self, worker):
        if self.rng.randrange(2) == 0:
            return {"f": "add", "value": next(self.elements)}
        return {"f": "read", "value": None}

    def final_ops(self, worker):
        return [{"f": "read", "value": None, "final": True}]

    def request(self, op):
        if op["f"] == "add":
            return {"type": "add", "element": op["value"]}
        return {"type": "read"}

    def reply_schema(self, op):
        # The read's field is "value", whatever the prose of Maelstrom's docs says ("elements").
        return {} if op["f"] == "add" else {"value": array}

    def completion_value(self, op, reply):
        return reply["value"] if op["f"] == "read" else op["value"]

    def check(self, history):
        """Jepsen's set-full over the adds and reads."""
        return set_full(history, add_f="add", read_f="read")


WORKLOAD = GSet
