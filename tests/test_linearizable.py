"""The linearizability checker (gnode_cluster.linearizable) over small hand-written histories,
one model rule each, and the history reader (gnode_cluster.history)."""
import json

import pytest

from gnode_cluster.history import read_history
from gnode_cluster.linearizable import check_independent, check_register


def op(process, kind, f, value, time=None):
    entry = {"process": process, "type": kind, "f": f, "value": value}
    if time is not None:
        entry["time"] = time
    return entry


def sequential(*ops):
    """Each (process, f, value, result type, completion value) invoked and completed in turn."""
    history = []
    for process, f, value, kind, completed in ops:
        history += [op(process, "invoke", f, value), op(process, kind, f, completed)]
    return history


def test_a_write_then_a_read_of_it_is_linearizable_and_a_read_of_another_value_is_not():
    assert check_register(sequential((0, "write", 3, "ok", 3), (1, "read", None, "ok", 3)))["valid"] is True
    assert check_register(sequential((0, "write", 3, "ok", 3), (1, "read", None, "ok", 2)))["valid"] is False


def test_a_read_of_null_says_nothing_of_the_value_as_knossos_reads_it():
    assert check_register(sequential((1, "read", None, "ok", None), (0, "write", 1, "ok", 1)))["valid"] is True
    assert check_register(sequential((0, "write", 1, "ok", 1), (1, "read", None, "ok", None)))["valid"] is True
    assert check_register(sequential((0, "write", 1, "ok", 1), (1, "read", None, "ok", None),
                                     (1, "read", None, "ok", 2)))["valid"] is False


def test_a_cas_succeeds_only_from_its_from_value():
    ok = sequential((0, "write", 1, "ok", 1), (0, "cas", [1, 2], "ok", [1, 2]), (1, "read", None, "ok", 2))
    assert check_register(ok)["valid"] is True
    wrong_from = sequential((0, "write", 1, "ok", 1), (0, "cas", [3, 2], "ok", [3, 2]))
    assert check_register(wrong_from)["valid"] is False


def test_a_failed_cas_did_not_happen():
    history = sequential((0, "write", 1, "ok", 1), (0, "cas", [3, 2], "fail", [3, 2]), (1, "read", None, "ok", 1))
    assert check_register(history)["valid"] is True
    history = sequential((0, "write", 1, "ok", 1), (0, "cas", [1, 2], "fail", [1, 2]), (1, "read", None, "ok", 2))
    assert check_register(history)["valid"] is False  # the only way to 2 was the cas that failed


def test_concurrent_operations_are_reordered_to_linearize():
    # The read, invoked first, sees the write invoked after it but concurrent with it.
    history = [op(1, "invoke", "read", None), op(0, "invoke", "write", 4), op(1, "ok", "read", 4),
               op(0, "ok", "write", 4)]
    assert check_register(history)["valid"] is True
    # Two writes concurrent with two reads that saw them in either order: still one order works.
    history = [op(0, "invoke", "write", 1), op(1, "invoke", "write", 2), op(2, "invoke", "read", None),
               op(2, "ok", "read", 2), op(3, "invoke", "read", None), op(3, "ok", "read", 1),
               op(0, "ok", "write", 1), op(1, "ok", "write", 2)]
    assert check_register(history)["valid"] is True


def test_a_stale_read_after_a_completed_write_is_not_linearizable():
    history = sequential((0, "write", 1, "ok", 1), (0, "write", 2, "ok", 2), (1, "read", None, "ok", 1))
    result = check_register(history)
    assert result["valid"] is False and result["states"] == [2]


def test_an_info_write_must_be_placed_to_explain_a_read():
    history = [op(0, "invoke", "write", 1), op(0, "ok", "write", 1), op(1, "invoke", "write", 5),
               op(1, "info", "write", 5), op(2, "invoke", "read", None), op(2, "ok", "read", 5)]
    assert check_register(history)["valid"] is True
    never_completed = history[:3] + history[4:]  # an invocation without completion is info too
    assert check_register(never_completed)["valid"] is True


def test_an_info_write_must_be_left_out_to_linearize():
    history = [op(0, "invoke", "write", 1), op(0, "ok", "write", 1), op(1, "invoke", "write", 5),
               op(1, "info", "write", 5), op(2, "invoke", "read", None), op(2, "ok", "read", 1),
               op(2, "invoke", "read", None), op(2, "ok", "read", 1)]
    assert check_register(history)["valid"] is True


def test_an_info_cas_placed_late_after_its_invocation():
    # The cas 1 -> 2 took effect after a read of 1 that completed later than the cas was invoked.
    history = [op(0, "invoke", "write", 1), op(0, "ok", "write", 1), op(1, "invoke", "cas", [1, 2]),
               op(1, "info", "cas", [1, 2]), op(2, "invoke", "read", None), op(2, "ok", "read", 1),
               op(2, "invoke", "read", None), op(2, "ok", "read", 2)]
    assert check_register(history)["valid"] is True
    # But never before its invocation.
    early = [op(2, "invoke", "read", None), op(2, "ok", "read", 2), op(1, "invoke", "write", 2),
             op(1, "info", "write", 2)]
    assert check_register(early)["valid"] is False


def test_the_budget_exceeded_is_unknown_saying_why():
    # Many concurrent writes, then a read no order can explain: the search must try the orders.
    writes = [op(p, "invoke", "write", p) for p in range(8)] + [op(p, "ok", "write", p) for p in range(8)]
    history = writes + sequential((9, "read", None, "ok", 99))
    # The cache of configurations seen keeps this to 3,600 steps; without it, 8! orders and more.
    assert check_register(history, budget=10_000)["valid"] is False
    result = check_register(history, budget=50)
    assert result["valid"] == "unknown" and result["steps"] == 50
    assert result["why"] == "the search gave up after 50 steps (its budget) on 9 operations"


def test_the_explanation_names_the_operation_its_times_and_the_values_possible():
    history = [op(0, "invoke", "write", 3, 1.0), op(0, "ok", "write", 3, 1.1), op(1, "invoke", "write", 4, 2.0),
               op(7, "invoke", "read", None, 2.31), op(7, "ok", "read", 1, 2.33), op(1, "ok", "write", 4, 2.4)]
    result = check_register(history)
    assert result["valid"] is False
    assert result["why"] == ("after the 1 operation that completed before it and those concurrent with it, "
                             "the value is 3 or 4; process 7's read of 1, invoked at 2.310 s and completed at "
                             "2.330 s, cannot be linearized")
    assert result["states"] == [3, 4] and result["op"] == history[3] and result["completed"] == history[4]
    assert result["prefix_length"] == 4 and result["prefix"] == history[:4]


def test_a_never_written_register_reads_null_in_the_explanation():
    result = check_register(sequential((7, "cas", [1, 2], "ok", [1, 2])))
    assert "the value is null (never written); process 7's cas from 1 to 2" in result["why"]


def test_malformed_histories_are_refused_saying_why():
    with pytest.raises(ValueError, match="process 3's ok read at entry 0 has no invocation"):
        check_register([op(3, "ok", "read", 1)])
    with pytest.raises(ValueError, match="not 'add'"):
        check_register([op(3, "invoke", "add", 1)])


def test_independent_keys_are_checked_each_on_its_own():
    history = [op(0, "invoke", "write", [1, 3]), op(0, "ok", "write", [1, 3]),
               op(1, "invoke", "read", [2, None]), op(1, "ok", "read", [2, None]),
               op(1, "invoke", "read", [1, None]), op(1, "ok", "read", [1, 3])]
    assert check_independent(history) == {"valid": True, "keys": {"valid": 2, "invalid": 0, "unknown": 0},
                                           "key_count": 2, "unknown_keys": []}
    stale = history + [op(0, "invoke", "write", [2, 4]), op(0, "ok", "write", [2, 4]),
                       op(0, "invoke", "write", [2, 5]), op(0, "ok", "write", [2, 5]),
                       op(1, "invoke", "read", [2, None]), op(1, "ok", "read", [2, 4])]
    result = check_independent(stale)
    assert result["valid"] is False and result["keys"]["invalid"] == 1
    assert result["failure"]["key"] == 2 and result["why"].startswith("key 2 is not linearizable: after the")


def test_a_key_out_of_budget_makes_the_test_unknown_unless_another_is_invalid():
    writes = [op(p, "invoke", "write", [5, p]) for p in range(8)] + [op(p, "ok", "write", [5, p]) for p in range(8)]
    hard = writes + sequential((9, "read", [5, None], "ok", [5, 99]))
    result = check_independent(hard, budget=50)
    assert result["valid"] == "unknown" and result["unknown_keys"][0]["key"] == 5
    assert result["why"].startswith("1 of 1 keys unchecked: key 5: the search gave up after 50 steps")
    bad = sequential((20, "write", [6, 1], "ok", [6, 1]), (21, "read", [6, None], "ok", [6, 2]))
    assert check_independent(hard + bad, budget=50)["valid"] is False


# -- reading histories

def test_a_maelstrom_history_edn_reads_into_gnodes_entries(tmp_path):
    (tmp_path / "history.edn").write_text(
        '{:type :invoke, :f :write, :value [0 3], :time 1500000000, :process 0, :index 0}\n'
        '#jepsen.history.Op{:index 1, :time 1600000000, :type :ok, :process 0, :f :write, :value [0 3]}\n'
        '{:type :invoke, :f :read, :value [0 nil], :time 1700000000, :process 1, :index 2}\n'
        '{:type :fail, :f :read, :value [0 nil], :time 1800000000, :process 1, :index 3, '
        ':error [:key-does-not-exist "not found"]}\n'
        '{:type :info, :f :start-partition, :value {"n1" #{"n2"}}, :process :nemesis, :time 1900000000}\n')
    history = read_history(str(tmp_path))
    assert history[1] == {"index": 1, "time": 1.6, "type": "ok", "process": 0, "f": "write", "value": [0, 3]}
    assert history[3]["error"] == ["key-does-not-exist", "not found"] and history[2]["value"] == [0, None]
    assert history[4]["process"] == "nemesis" and history[4]["value"] == {"n1": ["n2"]}
    assert check_independent(history)["valid"] is True


def test_a_gnode_history_jsonl_reads_back_and_bad_files_say_where(tmp_path):
    entries = sequential((0, "write", [0, 1], "ok", [0, 1]))
    (tmp_path / "history.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    assert read_history(str(tmp_path / "history.jsonl")) == entries
    (tmp_path / "bad.jsonl").write_text('{"type": "ok", "process": 0}\nnot json\n')
    with pytest.raises(ValueError, match="bad.jsonl, line 2, is not JSON"):
        read_history(str(tmp_path / "bad.jsonl"))
    (tmp_path / "bad.edn").write_text("[1 2]")
    with pytest.raises(ValueError, match="operation 1, is not an operation"):
        read_history(str(tmp_path / "bad.edn"))


def test_the_register_may_start_from_another_value_as_knossos_data_does():
    entries = sequential((0, "read", None, "ok", 0))
    assert check_register(entries)["valid"] is False  # lin-kv's keys start absent
    assert check_register(entries, initial=0)["valid"] is True
    assert check_register(sequential((0, "cas", [0, 1], "ok", [0, 1])), initial=0)["valid"] is True
