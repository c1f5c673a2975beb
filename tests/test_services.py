"""Unit tests of gnode_cluster.services: Maelstrom's services as plain objects."""
import random

import pytest

from gnode_cluster.services import LinKV, LinTSO, LWWKV, SeqKV, default_services


def write(service, src, key, value, msg_id=1):
    return service.handle(src, {"type": "write", "msg_id": msg_id, "key": key, "value": value})


def read(service, src, key, msg_id=1):
    return service.handle(src, {"type": "read", "msg_id": msg_id, "key": key})


def cas(service, src, key, old, new, msg_id=1, **extra):
    return service.handle(src, dict({"type": "cas", "msg_id": msg_id, "key": key,
                                     "from": old, "to": new}, **extra))


# lin-kv: each operation, each error, exact bodies

def test_lin_kv_operations_and_errors():
    kv = LinKV()
    assert read(kv, "n0", "x", 1) == {"type": "error", "code": 20, "text": "key does not exist",
                                      "in_reply_to": 1}
    assert write(kv, "n0", "x", 5, 2) == {"type": "write_ok", "in_reply_to": 2}
    assert read(kv, "n1", "x", 3) == {"type": "read_ok", "value": 5, "in_reply_to": 3}
    assert cas(kv, "n1", "x", 5, 6, 4) == {"type": "cas_ok", "in_reply_to": 4}
    assert cas(kv, "n1", "x", 5, 7, 5) == {"type": "error", "code": 22,
                                           "text": "current value 6 is not 5", "in_reply_to": 5}
    assert cas(kv, "n1", "y", 5, 7, 6) == {"type": "error", "code": 20,
                                           "text": "key does not exist", "in_reply_to": 6}
    assert read(kv, "n0", "x", 7)["value"] == 6
    assert read(kv, "n0", "y", 8)["code"] == 20


@pytest.mark.parametrize("flag, created", [(True, True), (False, False), (None, False)])
def test_cas_create_if_not_exists_stores_to_whatever_from_is(flag, created):
    kv = LinKV()
    extra = {} if flag is None else {"create_if_not_exists": flag}
    reply = cas(kv, "n0", "k", "anything", [1, 2], **extra)
    if created:
        assert reply == {"type": "cas_ok", "in_reply_to": 1}
        assert read(kv, "n0", "k")["value"] == [1, 2]
    else:
        assert reply["code"] == 20
        assert read(kv, "n0", "k")["code"] == 20


def test_create_if_not_exists_on_a_present_key_is_an_ordinary_cas():
    kv = LinKV()
    write(kv, "n0", "k", 1)
    assert cas(kv, "n0", "k", 2, 3, create_if_not_exists=True)["code"] == 22
    assert read(kv, "n0", "k")["value"] == 1


def test_cas_from_is_json_type_strict():
    kv = LinKV()
    write(kv, "n0", "k", 1)
    assert cas(kv, "n0", "k", 1.0, 2)["code"] == 22
    assert cas(kv, "n0", "k", True, 2)["code"] == 22
    assert cas(kv, "n0", "k", "1", 2)["code"] == 22
    assert cas(kv, "n0", "k", 1, 2)["type"] == "cas_ok"
    write(kv, "n0", "b", True)
    assert cas(kv, "n0", "b", 1, 2)["code"] == 22


def test_keys_are_json_values_of_their_own_type():
    kv = LinKV()
    for n, key in enumerate([1, "1", 1.0, True, None, [1], {"a": 1}]):
        write(kv, "n0", key, n)
    assert [read(kv, "n0", key)["value"] for key in [1, "1", 1.0, True, None, [1], {"a": 1}]] \
        == [0, 1, 2, 3, 4, 5, 6]


def test_list_and_object_keys():
    kv = LinKV()
    write(kv, "n0", [1, "a", {"b": 2, "c": 3}], "found")
    assert read(kv, "n1", [1, "a", {"c": 3, "b": 2}])["value"] == "found"
    assert read(kv, "n1", [1, "a"])["code"] == 20
    assert read(kv, "n1", ["a", 1, {"b": 2, "c": 3}])["code"] == 20


def test_a_value_read_back_keeps_its_json_type():
    kv = LinKV()
    write(kv, "n0", "k", 1)
    write(kv, "n0", "k", 1.0)   # not "the same value": it replaces the int
    value = read(kv, "n0", "k")["value"]
    assert value == 1 and type(value) is float


def test_stored_values_do_not_change_with_the_dicts_they_came_from_or_went_to():
    kv = LinKV()
    value = {"list": [1, 2]}
    write(kv, "n0", "k", value)
    value["list"].append(3)
    read(kv, "n0", "k")["value"]["list"].append(4)
    assert read(kv, "n0", "k")["value"] == {"list": [1, 2]}


def test_missing_fields_count_as_null_as_in_maelstrom():
    kv = LinKV()
    assert read(kv, "n0", None)["code"] == 20
    assert kv.handle("n0", {"type": "write", "msg_id": 1, "value": "v"})["type"] == "write_ok"
    assert kv.handle("n0", {"type": "read", "msg_id": 2}) == {"type": "read_ok", "value": "v",
                                                              "in_reply_to": 2}
    assert read(kv, "n0", None)["value"] == "v"


ALL_SERVICES = pytest.mark.parametrize("kind", [LinKV, SeqKV, LWWKV, LinTSO],
                                       ids=lambda kind: kind.name)


@ALL_SERVICES
def test_in_reply_to_is_null_without_msg_id_and_replies_carry_no_msg_id(kind):
    service = kind()
    body = {"type": "ts"} if service.name == "lin-tso" else {"type": "write", "key": 1, "value": 2}
    reply = service.handle("n0", body)
    assert "in_reply_to" in reply and reply["in_reply_to"] is None
    assert "msg_id" not in reply
    body["msg_id"] = 7
    reply = service.handle("n0", body)
    assert reply["in_reply_to"] == 7 and "msg_id" not in reply


@ALL_SERVICES
def test_no_reply_to_a_request_the_service_does_not_serve(kind, capsys):
    service = kind()
    for body in ({"type": "frobnicate", "msg_id": 1}, {"msg_id": 2}, {"type": None, "msg_id": 3},
                 {"type": "read" if service.name == "lin-tso" else "ts", "msg_id": 4, "key": 1}):
        assert service.handle("n0", body) is None
    assert capsys.readouterr().out == ""
    # ... and the service goes on serving
    body = {"type": "ts"} if service.name == "lin-tso" else {"type": "write", "key": 1, "value": 2}
    assert service.handle("n0", body)["type"] in ("ts_ok", "write_ok")


def test_a_dropped_request_changes_nothing():
    tso = LinTSO()
    tso.handle("n0", {"type": "read"})
    assert tso.handle("n0", {"type": "ts"})["ts"] == 0


# seq-kv

def a_writes_1_then_2_b_reads(kv):
    write(kv, "A", "x", 1)
    write(kv, "A", "x", 2)
    return read(kv, "B", "x")


def test_seq_kv_serves_a_stale_read_that_lin_kv_never_does():
    seq_reads = {a_writes_1_then_2_b_reads(SeqKV(random.Random(seed))).get("value")
                 for seed in range(50)}
    assert 1 in seq_reads and 2 in seq_reads
    lin_reads = {a_writes_1_then_2_b_reads(LinKV(random.Random(seed))).get("value")
                 for seed in range(50)}
    assert lin_reads == {2}


def test_seq_kv_a_fresh_caller_can_see_the_state_before_any_write():
    replies = [a_writes_1_then_2_b_reads(SeqKV(random.Random(seed))) for seed in range(50)]
    assert any(reply["type"] == "error" and reply["code"] == 20 for reply in replies)


def test_seq_kv_the_writer_itself_always_reads_its_own_write():
    for seed in range(50):
        kv = SeqKV(random.Random(seed))
        write(kv, "A", "x", 1)
        write(kv, "A", "x", 2)
        assert read(kv, "A", "x")["value"] == 2


def test_seq_kv_after_writing_a_caller_never_reads_older_than_its_write():
    for seed in range(50):
        kv = SeqKV(random.Random(seed))
        write(kv, "A", "x", 1)
        write(kv, "A", "x", 2)
        write(kv, "B", "mine", seed)    # moves B up to the newest state
        assert {read(kv, "B", "x")["value"] for _ in range(20)} == {2}


def test_seq_kv_each_caller_reads_a_monotonic_sequence():
    rng = random.Random(7)
    kv = SeqKV(random.Random(1))
    write(kv, "A", "x", 0)
    write(kv, "B", "b", 0)
    write(kv, "C", "c", 0)
    last_read = {"B": 0, "C": 0}
    stale = 0
    for n in range(1, 300):
        write(kv, "A", "x", n)
        for caller in ("B", "C"):
            for _ in range(rng.randrange(3)):
                value = read(kv, caller, "x")["value"]
                assert value >= last_read[caller]
                stale += value < n
                last_read[caller] = value
    assert stale > 50   # the reads were stale, not just fresh


def test_seq_kv_reads_come_from_the_last_32_states_only():
    kv = SeqKV(random.Random(3))
    for n in range(1, 101):
        write(kv, "A", "x", n)
    reads = [read(kv, "fresh-%d" % i, "x")["value"] for i in range(2000)]
    assert min(reads) == 100 - 31 and max(reads) == 100


def test_seq_kv_window_size_is_a_parameter():
    kv = SeqKV(random.Random(3), window=4)
    for n in range(1, 11):
        write(kv, "A", "x", n)
    assert {read(kv, "fresh-%d" % i, "x")["value"] for i in range(200)} == {7, 8, 9, 10}


def test_seq_kv_a_caller_left_behind_the_window_stays_monotonic():
    for seed in range(20):
        kv = SeqKV(random.Random(seed), window=4)
        write(kv, "A", "x", 0)
        write(kv, "B", "y", 0)      # B has seen state 2
        for n in range(1, 11):
            write(kv, "A", "x", n)  # state 2 falls out of the window
        last = -1
        for _ in range(30):
            value = read(kv, "B", "x")["value"]
            assert 7 <= value and last <= value
            last = value


def test_seq_kv_a_change_is_applied_to_the_newest_state():
    # In B's possibly stale view x may be 1, where cas 1 -> 5 would succeed; a change
    # always runs on the newest state, where x is 2, so the cas fails and B moves up.
    for seed in range(50):
        kv = SeqKV(random.Random(seed))
        write(kv, "A", "x", 1)
        write(kv, "B", "y", 0)      # B has seen x = 1
        write(kv, "A", "x", 2)
        assert cas(kv, "B", "x", 1, 5) == {"type": "error", "code": 22,
                                           "text": "current value 2 is not 1", "in_reply_to": 1}
        assert read(kv, "B", "x")["value"] == 2


def test_seq_kv_a_failing_cas_can_be_answered_from_a_stale_state():
    texts = set()
    for seed in range(50):
        kv = SeqKV(random.Random(seed))
        write(kv, "A", "x", 1)
        write(kv, "A", "x", 2)
        texts.add(cas(kv, "B", "x", 3, 4)["text"])
    assert texts == {"key does not exist", "current value 1 is not 3", "current value 2 is not 3"}


def test_seq_kv_a_write_of_the_value_already_there_can_be_ordered_into_the_past():
    # Maelstrom's own example: A writes x=1; B cas 1 -> 2; A writes x=1 again, which in
    # A's stale view changes nothing, so it is answered there and x stays 2.
    outcomes = set()
    for seed in range(50):
        kv = SeqKV(random.Random(seed))
        write(kv, "A", "x", 1)
        write(kv, "B", "y", 0)     # B up to date
        assert cas(kv, "B", "x", 1, 2)["type"] == "cas_ok"
        assert write(kv, "A", "x", 1)["type"] == "write_ok"
        write(kv, "C", "z", 0)     # C up to date
        outcomes.add(read(kv, "C", "x")["value"])
    assert outcomes == {1, 2}


def test_seq_kv_a_cas_that_changes_nothing_can_succeed_in_a_stale_state():
    outcomes = set()
    for seed in range(50):
        kv = SeqKV(random.Random(seed))
        write(kv, "A", "x", 1)
        write(kv, "B", "y", 0)     # B has seen x = 1
        write(kv, "A", "x", 2)
        outcomes.add(cas(kv, "B", "x", 1, 1)["type"])
        write(kv, "C", "z", 0)
        assert read(kv, "C", "x")["value"] == 2
    assert outcomes == {"cas_ok", "error"}


# lww-kv

def test_lww_kv_ignores_create_if_not_exists():
    kv = LWWKV(random.Random(0))
    for _ in range(20):
        assert cas(kv, "n0", "k", 0, 1, create_if_not_exists=True) == {
            "type": "error", "code": 20, "text": "key does not exist", "in_reply_to": 1}
    assert {read(kv, "n0", "k")["code"] for _ in range(20)} == {20}


def test_lww_kv_a_read_misses_a_write_about_half_the_time():
    rng = random.Random(11)
    misses = 0
    for _ in range(2000):
        kv = LWWKV(random.Random(rng.getrandbits(32)))
        write(kv, "n0", "k", 1)
        misses += read(kv, "n0", "k")["type"] == "error"
    assert 850 < misses < 1150


def test_lww_kv_replicas_never_converge():
    kv = LWWKV(random.Random(5))
    write(kv, "n0", "k", 1)
    for _ in range(500):
        read(kv, "n1", "k")
    assert {read(kv, "n1", "k")["type"] for _ in range(100)} == {"read_ok", "error"}


def test_lww_kv_serves_each_operation_on_one_replica():
    kv = LWWKV(random.Random(2))
    writes = [write(kv, "n0", "k", n)["type"] for n in range(50)]
    assert set(writes) == {"write_ok"}
    values = {read(kv, "n0", "k")["value"] for _ in range(50)}
    assert len(values) == 2 and 49 in values   # each replica's last write
    assert {cas(kv, "n0", "k", v, v)["type"] for v in values for _ in range(10)} \
        == {"cas_ok", "error"}


# lin-tso

def test_lin_tso_counts_from_0_across_callers():
    tso = LinTSO()
    replies = [tso.handle("n%d" % (i % 3), {"type": "ts", "msg_id": i + 1}) for i in range(5)]
    assert replies == [{"type": "ts_ok", "ts": i, "in_reply_to": i + 1} for i in range(5)]


# default_services

def test_default_services_are_the_four_by_name():
    services = default_services()
    assert {name: type(s) for name, s in services.items()} == {
        "lin-kv": LinKV, "seq-kv": SeqKV, "lww-kv": LWWKV, "lin-tso": LinTSO}
    assert all(s.name == name for name, s in services.items())
    assert default_services()["lin-tso"].handle("n0", {"type": "ts"})["ts"] == 0


def test_default_services_with_a_seed_repeat_their_replies():
    def run(seed):
        services = default_services(random.Random(seed))
        out = []
        for n in range(30):
            out.append(write(services["seq-kv"], "A", "x", n))
            out.append(read(services["seq-kv"], "B", "x"))
            out.append(write(services["lww-kv"], "A", "x", n))
            out.append(read(services["lww-kv"], "B", "x"))
        return out
    assert run(1) == run(1)
    assert run(1) != run(2)
