"""Unit tests of gnode_cluster.checker: Maelstrom's and Jepsen's checkers over small
synthetic histories."""
import json

import pytest

from gnode_cluster.checker import availability, counter, quantiles, set_full, stats, unique_ids


def history(*rows):
    """Entries from (process, type, f, value, time) rows, with an optional sixth item: final."""
    entries = []
    for row in rows:
        process, kind, f, value, time = row[:5]
        entry = {"process": process, "type": kind, "f": f, "value": value, "time": time}
        if len(row) > 5:
            entry["final"] = row[5]
        entries.append(entry)
    return entries


def add(process, value, start, end, outcome="ok", f="add"):
    return [(process, "invoke", f, value, start), (process, outcome, f, value, end)]


def read(process, start, end, seen, final=False, outcome="ok", f="read"):
    return [(process, "invoke", f, None, start, final), (process, outcome, f, seen, end, final)]


# set-full

def test_an_element_read_then_missing_from_every_later_read_is_lost():
    result = set_full(history(*add(0, 7, 1.0, 1.2), *read(1, 2.0, 2.1, [7]), *read(1, 3.4, 3.5, []),
                              *read(2, 5.0, 5.1, [])))
    assert result["valid"] is False
    assert result["lost"] == [7] and result["lost_count"] == 1
    assert result["stable_count"] == 0 and result["never_read"] == []
    assert result["why"].startswith("element 7 was lost: known at 1.20 s (its add was acknowledged), "
                                    "last seen by a read invoked at 2.00 s")
    assert "5.00 s" in result["why"]
    # lost 1 ns after the last present read's invocation: 2.0 s - 1.2 s
    assert result["lost_latencies"] == {"0": 800, "0.5": 800, "0.95": 800, "0.99": 800, "1": 800}


def test_a_lost_element_is_invalid_even_when_others_are_stable():
    result = set_full(history(*add(0, 1, 0.0, 0.1), *add(0, 2, 0.2, 0.3), *read(1, 1.0, 1.1, [1]),
                              *read(1, 2.0, 2.1, [1])))
    assert result["valid"] is False
    assert result["lost"] == [2] and result["stable_count"] == 1
    assert "element 2 was lost" in result["why"] and "never seen by any read" in result["why"]


def test_several_lost_elements_are_counted_and_named():
    result = set_full(history(*add(0, 1, 0.0, 0.1), *add(0, 2, 0.2, 0.3), *read(1, 1.0, 1.1, [])))
    assert result["lost"] == [1, 2]
    assert result["why"].startswith("2 elements were lost (1, 2); element 1 was lost")


def test_an_element_that_appears_late_is_stale_but_valid():
    result = set_full(history(*add(0, 1, 0.0, 1.0), *read(1, 2.0, 2.1, []), *read(1, 3.0, 3.1, [1]),
                              *read(2, 4.0, 4.1, [1])))
    assert result["valid"] is True
    assert result["stable_count"] == 1 and result["stale"] == [1] and result["lost"] == []
    # stable from just after the last absent read's invocation (2.0 s), known at 1.0 s
    assert result["stable_latencies"] == {"0": 1000, "0.5": 1000, "0.95": 1000, "0.99": 1000, "1": 1000}
    assert result["worst_stale"] == [{"element": 1, "stable_latency": 1000, "known_at": 1.0,
                                      "last_absent_read_invoked_at": 2.0}]
    assert "why" not in result


def test_stable_latency_counts_from_one_nanosecond_after_the_last_absent_read_began():
    result = set_full(history(*add(0, 1, 0.0, 1.0), *read(1, 1.000999999, 1.1, []), *read(1, 2.0, 2.1, [1])))
    assert result["stable_latencies"]["1"] == 1 and result["stale"] == [1]


def test_the_latest_invoked_read_decides_not_the_latest_completed():
    # a read invoked at 1.5 s that returns at 4 s must not hide the one invoked at 3 s
    entries = history(*add(0, 1, 0.0, 0.1), *read(1, 1.0, 1.1, [1]), (2, "invoke", "read", None, 1.5),
                      *read(1, 2.0, 2.1, []), *read(1, 3.0, 3.1, [1]), (2, "ok", "read", [1], 4.0))
    result = set_full(entries)
    assert result["valid"] is True and result["stable_count"] == 1


def test_an_element_in_every_later_read_is_stable_with_zero_latency():
    result = set_full(history(*add(0, 1, 0.0, 0.5), *read(1, 1.0, 1.1, [1])))
    assert result["valid"] is True
    assert result["stale"] == [] and result["stable_latencies"]["1"] == 0


def test_an_element_with_no_read_after_it_is_never_read():
    result = set_full(history(*read(1, 0.0, 0.1, []), *add(0, 1, 0.5, 0.6), *add(0, 2, 0.7, 0.8, "info")))
    assert result["never_read"] == [1, 2] and result["never_read_count"] == 2
    assert result["lost"] == []


def test_a_read_concurrent_with_the_add_that_misses_it_is_not_a_loss():
    entries = history((0, "invoke", "add", 1, 0.0), (1, "invoke", "read", None, 0.1), (0, "ok", "add", 1, 0.2),
                      (1, "ok", "read", [], 0.3))
    result = set_full(entries)
    assert result["lost"] == [] and result["never_read"] == [1]
    assert result["valid"] == "unknown"


def test_an_indeterminate_add_seen_by_a_read_then_missing_is_lost():
    result = set_full(history(*add(0, 1, 0.0, 5.0, "info"), *read(1, 1.0, 1.1, [1]), *read(1, 2.0, 2.1, [])))
    assert result["lost"] == [1]
    assert "known at 1.10 s (a read returned it)" in result["why"]


def test_nothing_stable_is_unknown():
    assert set_full(history(*add(0, 1, 0.0, 0.1)))["valid"] == "unknown"
    empty = set_full([])
    assert empty["valid"] == "unknown" and empty["attempt_count"] == 0 and "nothing was added" in empty["why"]


def test_a_null_read_is_an_empty_read():
    result = set_full(history(*add(0, 1, 0.0, 0.1), *read(1, 1.0, 1.1, None)))
    assert result["lost"] == [1]


def test_json_types_stay_apart_as_in_clojure():
    result = set_full(history(*add(0, 1, 0.0, 0.1), *add(0, "a", 0.2, 0.3), *add(0, [1, 2], 0.4, 0.5),
                              *read(1, 1.0, 1.1, [1.0, "a", [1, 2]])))
    assert result["lost"] == [1]
    assert result["stable_count"] == 2


def test_failed_reads_and_other_functions_and_the_nemesis_are_ignored():
    entries = history(*add(0, 1, 0.0, 0.1), *read(1, 1.0, 1.1, [1]), *read(1, 2.0, 2.1, [], outcome="fail"),
                      ("nemesis", "ok", "read", [], 2.5), *read(2, 3.0, 3.1, [], f="other"))
    assert set_full(entries)["valid"] is True


def test_the_function_names_are_parameters():
    entries = history(*add(0, 1, 0.0, 0.1, f="broadcast"), *read(1, 1.0, 1.1, []))
    assert set_full(entries, add_f="broadcast", read_f="read")["lost"] == [1]
    assert set_full(entries)["attempt_count"] == 0


def test_duplicates_within_a_read_are_reported_without_changing_validity():
    result = set_full(history(*add(0, 1, 0.0, 0.1), *read(1, 1.0, 1.1, [1, 1, 1])))
    assert result["valid"] is True
    assert result["duplicated"] == [[1, 3]] and result["duplicated_count"] == 1


def test_quantiles_take_jepsen_indices():
    assert quantiles([40, 10, 30, 20]) == {"0": 10, "0.5": 30, "0.95": 40, "0.99": 40, "1": 40}
    assert quantiles(range(100))["0.95"] == 95
    assert quantiles([1, 2, 3])["0.5"] == 2  # index floor(1.5)
    assert quantiles([]) is None


def test_results_are_json():
    result = set_full(history(*add(0, [1], 0.0, 0.1), *read(1, 1.0, 1.1, [[1], [1]])))
    assert json.loads(json.dumps(result)) == result


# unique-ids

def generate(process, value, time, outcome="ok"):
    return [(process, "invoke", "generate", None, time), (process, outcome, "generate", value, time + 0.1)]


def test_distinct_ids_are_valid_with_counts_and_range():
    result = unique_ids(history(*generate(0, 5, 0), *generate(1, 3, 1), *generate(0, None, 2, "info"),
                                *generate(1, 9, 3)))
    assert result == {"valid": True, "attempted_count": 4, "acknowledged_count": 3, "duplicated_count": 0,
                      "duplicated": [], "range": [3, 9]}


def test_a_duplicated_id_is_named_with_its_count():
    result = unique_ids(history(*generate(0, 7, 0), *generate(1, 7, 1), *generate(2, 7, 2), *generate(0, 8, 3),
                                *generate(1, 8, 4), *generate(2, 9, 5)))
    assert result["valid"] is False
    assert result["duplicated_count"] == 2 and result["duplicated"] == [[7, 3], [8, 2]]
    assert result["why"] == "id 7 was returned 3 times (2 ids were returned more than once)"


def test_ids_of_any_json_type():
    result = unique_ids(history(*generate(0, "n1-1", 0), *generate(1, {"a": 1}, 1), *generate(2, {"a": 1}, 2),
                                *generate(0, 1, 3), *generate(0, True, 4)))
    assert result["duplicated"] == [[{"a": 1}, 2]]
    assert result["range"] is None  # strings and maps do not compare


# counters

def counter_history(definite=(), indefinite=(), failed=(), reads=(), midway_reads=()):
    rows, time = [], 0.0
    for deltas, outcome in ((definite, "ok"), (indefinite, "info"), (failed, "fail")):
        for delta in deltas:
            rows += add(0, delta, time, time + 0.1, outcome)
            time += 1
    for value in midway_reads:
        rows += read(1, time, time + 0.1, value)
        time += 1
    for process, value in enumerate(reads):
        rows += read(process, time, time + 0.1, value, final=True)
    return history(*rows)


def test_final_reads_must_equal_the_definite_sum():
    result = counter(counter_history(definite=[2, 3], reads=[5, 4]))
    assert result["valid"] is False
    assert result["acceptable"] == [[5, 5]] and result["final_reads"] == [5, 4]
    assert result["errors"] == [{"process": 1, "time": 2.1, "value": 4}]
    assert "final read of 4 (process 1, at 2.10 s) is not an acceptable value: 5" in result["why"]


def test_indeterminate_adds_may_or_may_not_count():
    # the example of Maelstrom's own counter test: 10 ok, 5, -1 and -1 indeterminate
    result = counter(counter_history(definite=[10], indefinite=[5, -1, -1], reads=[11, 15]))
    assert result["acceptable"] == [[8, 10], [13, 15]]
    assert result["valid"] is False and result["error_count"] == 1 and result["errors"][0]["value"] == 11
    assert "8 to 10, 13 to 15" in result["why"]
    assert counter(counter_history(definite=[10], indefinite=[5, -1, -1], reads=[8, 9, 10, 13, 14, 15]))["valid"]


def test_an_indeterminate_add_makes_a_read_acceptable():
    assert counter(counter_history(definite=[1], indefinite=[3], reads=[4]))["valid"] is True
    assert counter(counter_history(definite=[1], indefinite=[3], reads=[2]))["valid"] is False
    assert counter(counter_history(definite=[1], failed=[3], reads=[4]))["valid"] is False


def test_pn_counter_sums_are_exact_with_negative_deltas():
    result = counter(counter_history(definite=[4, -5], indefinite=[-5, 3, 0], reads=[-1]))
    # -1 plus any subset of {-5, 3, 0}: -6, -3, -1, 2
    assert result["acceptable"] == [[-6, -6], [-3, -3], [-1, -1], [2, 2]]
    assert result["valid"] is True
    for value, valid in ((-6, True), (-4, False), (-3, True), (2, True), (-2, False), (-5, False)):
        assert counter(counter_history(definite=[4, -5], indefinite=[-5, 3, 0], reads=[value]))["valid"] is valid


def test_only_final_ok_reads_are_checked():
    entries = counter_history(definite=[1], midway_reads=[99])
    entries += history(*read(2, 9.0, 9.1, 99, final=True, outcome="info"), *read(3, 9.0, 9.1, 1, final=True))
    result = counter(entries)
    assert result["valid"] is True and result["final_reads"] == [1]


def test_final_may_be_marked_on_the_invocation_only():
    entries = history((0, "invoke", "read", None, 0.0, True), (0, "ok", "read", 3, 0.1))
    assert counter(entries)["valid"] is False


def test_an_add_never_completed_may_have_happened():
    entries = history((0, "invoke", "add", 2, 0.0), *read(1, 1.0, 1.1, 2, final=True))
    assert counter(entries)["acceptable"] == [[0, 0], [2, 2]]


def test_a_non_integer_final_read_is_not_acceptable():
    assert counter(counter_history(definite=[3], reads=[3.0]))["valid"] is False


def test_no_final_reads_is_valid_as_in_maelstrom():
    assert counter([]) == {"valid": True, "errors": [], "error_count": 0, "final_reads": [],
                           "acceptable": [[0, 0]]}


# stats

def test_stats_count_each_function_and_fail_one_that_never_succeeded():
    entries = history(*add(0, 1, 0, 1), *add(0, 2, 1, 2, "info"), *read(1, 0, 1, None, outcome="fail"),
                      *read(1, 1, 2, None, outcome="info"), ("nemesis", "info", "partition", None, 1.5))
    result = stats(entries)
    assert result["valid"] is False
    assert result["why"] == "no read ever succeeded (1 fail, 1 info)"
    assert result["count"] == 4 and result["ok_count"] == 1 and result["fail_count"] == 1
    assert result["info_count"] == 2
    assert result["by_f"] == {
        "add": {"valid": True, "count": 2, "ok_count": 1, "fail_count": 0, "info_count": 1},
        "read": {"valid": False, "count": 2, "ok_count": 0, "fail_count": 1, "info_count": 1}}


def test_stats_exempt_functions_do_not_invalidate():
    entries = history(*add(0, 1, 0, 1), (1, "invoke", "crash", None, 0), (1, "info", "crash", None, 1))
    result = stats(entries, exempt=("crash",))
    assert result["valid"] is True and result["by_f"]["crash"]["valid"] is False
    assert stats(entries)["valid"] is False


def test_stats_of_nothing_are_not_valid():  # a test that ran no operation proves nothing
    assert stats([])["valid"] is False and "no operation was run" in stats([])["why"]


# availability

def test_availability_unchecked_total_and_fraction():
    entries = history(*add(0, 1, 0, 1), *add(0, 2, 1, 2), *add(0, 3, 2, 3), *add(0, 4, 3, 4, "fail"))
    unchecked = availability(entries)
    assert unchecked["valid"] is True and unchecked["ok_fraction"] == 0.75
    total = availability(entries, "total")
    assert total["valid"] is False and total["why"].startswith("3 of 4 operations ended ok")
    assert availability(entries, 0.75)["valid"] is True
    assert availability(entries, 0.76)["valid"] is False
    assert availability(entries[:6], "total")["valid"] is True


def test_availability_of_no_invocations_is_one():
    assert availability([], "total") == {"valid": True, "ok_fraction": 1, "ok_count": 0, "invoke_count": 0}


@pytest.mark.parametrize("spec", ["partial", 1.5, -0.1, "0.5", True])
def test_availability_refuses_other_specs(spec):
    with pytest.raises(ValueError):
        availability([], spec)


# the operations each checker names, for the report to highlight

def test_set_full_names_what_made_a_lost_element_known_and_the_reads_that_saw_and_missed_it():
    result = set_full(history(*add(0, 7, 1.0, 1.2), *add(3, 8, 1.0, 1.1), *read(1, 2.0, 2.1, [7, 8]),
                              *read(2, 3.4, 3.5, [8])))
    # known: the add's ok at 1.2; last present: the read invoked at 2.0; absent: invoked at 3.4
    assert result["implicated"] == [{"process": 0, "time": 1.2}, {"process": 1, "time": 2.0},
                                    {"process": 2, "time": 3.4}]
    assert "implicated" not in set_full(history(*add(0, 7, 1.0, 1.2), *read(1, 2.0, 2.1, [7])))


def test_unique_ids_names_every_completion_that_returned_a_duplicated_id():
    result = unique_ids(history(*generate(0, 1, 1.0), *generate(1, 2, 2.0), *generate(2, 1, 3.0)))
    assert result["implicated"] == [{"process": 0, "time": 1.1}, {"process": 2, "time": 3.1}]


def test_counter_names_the_final_reads_out_of_range():
    result = counter(counter_history(definite=[5], reads=[5, 6]))
    assert [ref["process"] for ref in result["implicated"]] == [e["process"] for e in result["errors"]]
    assert len(result["implicated"]) == 1


def test_implicated_names_an_operation_once_and_at_most_its_limit():
    from gnode_cluster.checker import IMPLICATED_SHOWN, implicated
    entries = [{"process": p, "time": float(p), "f": "x"} for p in range(IMPLICATED_SHOWN + 5)]
    assert implicated(entries[:1] * 3) == [{"process": 0, "time": 0.0}]
    assert len(implicated(entries)) == IMPLICATED_SHOWN
