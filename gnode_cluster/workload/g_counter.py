"""g-counter: a grow-only counter (Maelstrom's workload/g_counter.clj): pn-counter's client and
checker, with the generator's negative adds dropped."""
from .pn_counter import PNCounter


class GCounter(PNCounter):
    """pn-counter's operations without the negative adds. As in Maelstrom, which filters them out
    of pn-counter's mix and draws again, deltas are uniform over 0..4 and a third of the
    operations are adds, two thirds reads."""

    name = "g-counter"

    def next_op(self, worker):
        while True:
            op = super().next_op(worker)
            if op["f"] != "add" or op["value"] >= 0:
                return op


WORKLOAD = GCounter
