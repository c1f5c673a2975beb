"""pn-counter: a counter of increments and decrements; each final read must be the sum of the
acknowledged adds plus any of the indeterminate ones (Maelstrom's workload/pn_counter.clj)."""
from . import Workload, integer
from ..checker import counter

LOWEST_DELTA, HIGHEST_DELTA = -5, 4  # Maelstrom's (rand-int 10) - 5


class PNCounter(Workload):
    """Half the operations add a delta drawn uniformly from -5..4, half read; after the main
    phase each worker reads once more, and only those final reads are checked. Every error
    reply or timeout leaves the operation indeterminate (no error mapping, as in Maelstrom)."""

    name = "pn-counter"
    final_phase = True
    with_errors = False

    def next_op(self, worker):
        if self.rng.randrange(2) == 0:
            return {"f": "add", "value": self.rng.randint(LOWEST_DELTA, HIGHEST_DELTA)}
        return {"f": "read", "value": None}

    def final_ops(self, worker):
        return [{"f": "read", "value": None, "final": True}]

    def request(self, op):
        if op["f"] == "add":
            return {"type": "add", "delta": op["value"]}
        return {"type": "read"}

    def reply_schema(self, op):
        return {} if op["f"] == "add" else {"value": integer}

    def completion_value(self, op, reply):
        return reply["value"] if op["f"] == "read" else op["value"]

    def check(self, history):
        """Every final read within the sums the adds allow."""
        return counter(history)


WORKLOAD = PNCounter
