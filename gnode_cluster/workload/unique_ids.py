"""unique-ids: each generate request must return an id no other one returns (Maelstrom's
workload/unique_ids.clj, checked by Jepsen's unique-ids checker)."""
from . import Workload, anything
from ..checker import unique_ids


class UniqueIds(Workload):
    """Workers ask for ids, one after another; ids may be any JSON value. The client is
    reusable: an indeterminate generate keeps the worker's client."""

    name = "unique-ids"
    reusable = True

    def next_op(self, worker):
        return {"f": "generate", "value": None}

    def request(self, op):
        return {"type": "generate"}

    def reply_schema(self, op):
        return {"id": anything}

    def completion_value(self, op, reply):
        return reply["id"]

    def check(self, history):
        """Jepsen's unique-ids: no id returned twice."""
        return unique_ids(history)


WORKLOAD = UniqueIds
