"""txn-rw-register: transactions of reads and writes over registers (Maelstrom's
workload/txn_rw_register.clj, with Elle's transaction generator). Elle checks the history
under Maelstrom only: here the verdict is "unknown", with statistics."""
from . import anything
from .txn_list_append import TxnListAppend


class TxnRWRegister(TxnListAppend):
    """As txn-list-append, with writes ["w", k, v] for appends, and reads whose value is
    the register's (any value, null when absent)."""

    name = "txn-rw-register"
    write_f = "w"
    read_value = staticmethod(anything)
    checker = "Elle's rw-register checker"


WORKLOAD = TxnRWRegister
