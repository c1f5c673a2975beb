"""Jepsen's kafka checker as Maelstrom runs it, over small hand-written histories: one or more
for each anomaly, and valid histories with crashes, info operations and assigns."""
import random

from gnode_cluster.options import resolve
from gnode_cluster.workload.kafka import Kafka
from gnode_cluster.workload.kafka_checker import check


class History:
    """Builds a kafka history as gnode-cluster records it, one operation at a time, each
    invoked and completed 0.1 s apart."""

    def __init__(self):
        self.entries = []
        self.time = 0.0

    def op(self, process, f, invoked, completed, type="ok", **extra):
        for kind, value in (("invoke", invoked), (type, completed)):
            self.time = round(self.time + 0.1, 3)
            self.entries.append({"process": process, "type": kind, "f": f, "value": value, "time": self.time,
                                 **(extra if kind != "invoke" else {})})
        return self

    def send(self, process, key, msg, offset=None, type="ok", **extra):
        done = [["send", key, [offset, msg]]] if type == "ok" else [["send", key, msg]]
        return self.op(process, "send", [["send", key, msg]], done, type, **extra)

    def poll(self, process, msgs, type="ok", **extra):
        return self.op(process, "poll", [["poll"]], [["poll", msgs]] if type == "ok" else [["poll"]], type, **extra)

    def assign(self, process, keys):
        return self.op(process, "assign", keys, keys)

    def crash(self, process):
        return self.op(process, "crash", None, None, "info")


def test_a_correct_history_with_crashes_info_ops_and_assigns_is_valid():
    h = (History().assign(0, ["a", "b"]).send(0, "a", 1, 0).send(1, "b", 2, 0).send(0, "a", 3, 2)
         .send(1, "a", 4, type="info", error="net-timeout")  # indeterminate, never seen: neither lost nor unseen
         .send(1, "a", 5, type="fail", error={"code": 11, "text": ""})
         .poll(2, {"a": [[0, 1], [2, 3]], "b": [[0, 2]]})  # offset 1 is a gap no one wrote: no skip
         .poll(2, {"a": [], "b": []}).crash(2)
         .poll(5, {}, type="info", error="net-timeout").assign(5, ["a"]).poll(5, {"a": [[0, 1]]}).poll(5, {"a": [[2, 3]]}))
    result = check(h.entries)
    assert result["valid"] is True, result.get("why")
    assert result["error_types"] == [] and result["bad_error_types"] == [] and "why" not in result
    assert result["info_txn_causes"] == ["net-timeout"]


def test_an_info_send_that_a_poll_saw_counts_as_written():
    h = (History().send(0, "a", 1, 0).send(0, "a", 2, type="info").send(1, "a", 3, 2)
         .poll(2, {"a": [[0, 1], [2, 3]]}).poll(3, {"a": [[1, 2]]}))  # 2 landed at 1, so 3's poll skipped it
    result = check(h.entries)
    assert result["bad_error_types"] == ["int-poll-skip"]
    assert result["int-poll-skip"]["errs"][0]["skipped"] == [[1, 2]]


def test_two_messages_at_one_offset_are_inconsistent_offsets():
    h = History().send(0, "a", 1, 0).send(1, "a", 2, 0).poll(2, {"a": [[0, 1]]}).poll(3, {"a": [[0, 2]]})
    result = check(h.entries)
    assert result["valid"] is False and result["bad_error_types"] == ["inconsistent-offsets"]
    assert result["inconsistent-offsets"] == {"count": 1, "errs": [
        {"key": "a", "offset": 0, "index": 0, "values": [1, 2]}]}
    assert 'inconsistent-offsets (1): key "a" has 2 messages at offset 0: 1, 2' in result["why"]


def test_one_message_at_two_offsets_is_a_duplicate():
    h = History().send(0, "a", 7, 0).send(0, "a", 8, 2).poll(1, {"a": [[0, 7]]}).poll(2, {"a": [[1, 7], [2, 8]]})
    result = check(h.entries)
    assert result["bad_error_types"] == ["duplicate"]
    assert result["duplicate"] == {"count": 1, "errs": [{"key": "a", "value": 7, "count": 2, "offsets": [0, 1]}]}
    assert 'key "a" holds message 7 at 2 offsets: 0, 1' in result["why"]


def test_a_committed_message_below_a_polled_one_that_no_poll_returned_is_a_lost_write():
    h = (History().send(0, "a", 1, 0).send(0, "a", 2, 1).send(0, "a", 3, 2)
         .poll(1, {"a": [[0, 1]]}).poll(2, {"a": [[2, 3]]}))  # two processes: no one skipped, yet 2 is gone
    result = check(h.entries)
    assert result["bad_error_types"] == ["lost-write", "unseen"]
    lost = result["lost-write"]
    assert lost["count"] == 1
    case = lost["errs"][0]
    assert (case["key"], case["value"], case["offset"], case["index"]) == ("a", 2, 1, 1)
    assert (case["max_read_offset"], case["max_read_value"], case["max_read_index"]) == (2, 3, 2)
    assert case["writer"]["process"] == 0 and case["writer"]["sent"] == [[1, 2]]
    assert case["max_read"]["process"] == 2 and case["max_read"]["polled"] == [[2, 3]]
    assert ('lost-write (1): key "a": message 2 at offset 1, sent by process 0\'s send (ok at 0.40 s), was never '
            'polled, though process 2\'s poll (ok at 1.00 s) polled message 3 at offset 2, after it') in result["why"]


def test_an_unacknowledged_message_is_never_lost_and_one_above_every_poll_only_unseen():
    h = (History().send(0, "a", 1, 0).send(0, "a", 2, 1, type="info").send(0, "a", 3, 2)
         .send(1, "a", 4, 3).poll(1, {"a": [[0, 1], [2, 3]]}))
    h.entries[3]["value"] = [["send", "a", 2]]  # info: no offset known, and no poll saw it
    result = check(h.entries)
    assert "lost-write" not in result and "int-poll-skip" not in result
    assert result["bad_error_types"] == ["unseen"]
    assert result["unseen"] == {"time": h.time, "unseen": {"a": 1}, "messages": {"a": [4]}}
    assert 'unseen: 1 acknowledged messages were never polled, in 1 keys; key "a": 1, e.g. 4' in result["why"]


def test_a_poll_that_starts_at_or_before_the_last_one_ended_is_a_nonmonotonic_poll():
    h = (History().send(0, "a", 1, 0).send(0, "a", 2, 1)
         .poll(1, {"a": [[0, 1], [1, 2]]}).poll(1, {"a": [[1, 2]]}).poll(1, {"a": [[0, 1]]}))
    result = check(h.entries)
    assert result["bad_error_types"] == ["nonmonotonic-poll"]
    cases = result["nonmonotonic-poll"]
    assert cases["count"] == 2
    back, again = cases["errs"]  # the most negative delta first, as Jepsen sorts them
    assert (back["values"], back["offsets"], back["delta"]) == ([2, 1], [1, 0], -1)
    assert (again["values"], again["offsets"], again["delta"]) == ([2, 2], [1, 1], 0)
    assert [op["time"] for op in again["ops"]] == [0.6, 0.8]
    assert ('nonmonotonic-poll (2): key "a", from process 1\'s poll (ok at 0.80 s) to process 1\'s poll '
            '(ok at 1.00 s): message 2 at offset 1 then 1 at offset 0 goes backwards (-1 in the order)') in result["why"]


def test_a_poll_that_starts_past_known_messages_is_a_poll_skip_unless_an_assign_came_between():
    h = (History().send(0, "a", 1, 0).send(0, "a", 2, 1).send(0, "a", 3, 2).poll(2, {"a": [[1, 2]]})
         .poll(1, {"a": [[0, 1]]}).poll(1, {"a": [[2, 3]]})
         .poll(3, {"a": [[0, 1]]}).assign(3, ["b"]).poll(3, {"a": [[2, 3]]})  # assign forgets a
         .poll(4, {"a": [[0, 1]]}).assign(4, ["a", "b"]).poll(4, {"a": [[2, 3]]}))  # still assigned: remembered
    result = check(h.entries)
    assert result["bad_error_types"] == ["poll-skip"]
    assert result["poll-skip"]["count"] == 2
    assert {case["ops"][1]["process"] for case in result["poll-skip"]["errs"]} == {1, 4}
    case = result["poll-skip"]["errs"][0]
    assert (case["key"], case["delta"], case["skipped"], case["offsets"]) == ("a", 2, [[1, 2]], [0, 2])
    assert 'message 1 at offset 0 then 3 at offset 2 skips 2 at offset 1' in result["why"]


def test_an_empty_poll_breaks_the_chain_as_in_jepsen():
    h = (History().send(0, "a", 1, 0).send(0, "a", 2, 1).send(0, "a", 3, 2).poll(2, {"a": [[1, 2]]})
         .poll(1, {"a": [[0, 1]]}).poll(1, {"a": []}).poll(1, {"a": [[2, 3]]}))
    assert check(h.entries)["valid"] is True


def test_a_send_that_lands_before_the_same_processs_last_one_is_a_nonmonotonic_send():
    h = (History().send(0, "a", 1, 1).send(1, "a", 9, 2).send(0, "a", 2, 0)
         .poll(2, {"a": [[0, 2], [1, 1], [2, 9]]}))
    result = check(h.entries)
    assert result["bad_error_types"] == ["nonmonotonic-send"]
    case = result["nonmonotonic-send"]["errs"][0]
    assert (case["key"], case["values"], case["offsets"], case["delta"]) == ("a", [1, 2], [1, 0], -1)
    assert [op["sent"] for op in case["ops"]] == [[[1, 1]], [[0, 2]]]


def test_messages_out_of_order_within_one_poll_are_an_int_nonmonotonic_poll():
    h = History().send(0, "a", 1, 0).send(0, "a", 2, 1).poll(1, {"a": [[1, 2], [0, 1]]})
    result = check(h.entries)
    assert result["bad_error_types"] == ["int-nonmonotonic-poll"]
    case = result["int-nonmonotonic-poll"]["errs"][0]
    assert (case["values"], case["offsets"], case["delta"], case["op"]["process"]) == ([2, 1], [1, 0], -1, 1)
    assert 'int-nonmonotonic-poll (1): key "a", within process 1\'s poll' in result["why"]


def test_a_poll_that_jumps_over_a_known_message_is_an_int_poll_skip():
    h = (History().send(0, "a", 1, 0).send(0, "a", 2, 1).send(0, "a", 3, 2)
         .poll(1, {"a": [[0, 1], [2, 3]]}).poll(2, {"a": [[1, 2]]}))
    result = check(h.entries)
    assert result["bad_error_types"] == ["int-poll-skip"]
    case = result["int-poll-skip"]["errs"][0]
    assert (case["values"], case["skipped"], case["delta"]) == ([1, 3], [[1, 2]], 2)


def test_sends_within_one_operation_may_skip_but_not_go_backwards():
    skip = (History().op(0, "send", [["send", "a", 1], ["send", "a", 3]], [["send", "a", [0, 1]], ["send", "a", [2, 3]]])
            .send(1, "a", 2, 1).poll(2, {"a": [[0, 1], [1, 2], [2, 3]]}))
    result = check(skip.entries)
    assert result["valid"] is True and result["error_types"] == ["int-send-skip"]  # allowed, as in Jepsen
    assert result["int-send-skip"]["errs"][0]["skipped"] == [[1, 2]]
    back = (History().op(0, "send", [["send", "a", 2], ["send", "a", 1]], [["send", "a", [1, 2]], ["send", "a", [0, 1]]])
            .poll(2, {"a": [[0, 1], [1, 2]]}))
    result = check(back.entries)
    assert result["bad_error_types"] == ["int-nonmonotonic-send"]
    assert result["int-nonmonotonic-send"]["errs"][0]["values"] == [2, 1]


def test_a_poll_of_a_message_whose_send_failed_is_g1a():
    h = History().send(0, "a", 5, type="fail", error={"code": 11, "text": ""}).poll(1, {"a": [[0, 5]]})
    result = check(h.entries)
    assert result["bad_error_types"] == ["G1a"]
    case = result["G1a"]["errs"][0]
    assert (case["key"], case["value"], case["offset"]) == ("a", 5, 0)
    assert case["writer"]["type"] == "fail" and case["reader"]["process"] == 1
    assert "whose send by process 0's send (fail at 0.20 s) failed" in result["why"]


def test_a_transaction_that_polls_its_own_send_is_a_precommitted_read():
    h = History().op(0, "txn", [["send", "a", 1], ["poll"]], [["send", "a", [0, 1]], ["poll", {"a": [[0, 1]]}]])
    result = check(h.entries)
    assert result["bad_error_types"] == ["precommitted-read"]
    assert result["precommitted-read"]["errs"][0]["value"] == 1


def test_a_polled_message_no_one_sent_makes_the_verdict_unknown_as_jepsens_checker_stops():
    h = History().send(0, "a", 1, 0).poll(1, {"a": [[0, 1], [1, 42]]})
    result = check(h.entries)
    assert result["valid"] == "unknown"
    assert "polled message 42 of key \"a\" at offset 1, which no send ever sent" in result["why"]


def test_the_kafka_workload_checks_with_it():
    h = History().send(0, "a", 1, 0).send(1, "a", 2, 0).poll(2, {"a": [[0, 1]]})
    result = Kafka(resolve(nodes=["n0"], concurrency=1), random.Random(0)).check(h.entries)
    assert result["valid"] is False and "inconsistent-offsets" in result["bad_error_types"]
