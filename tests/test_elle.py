"""Elle's checker for the transactional workloads (gnode_cluster.elle and the inference in
workload/txn_list_append.py and txn_rw_register.py), on Elle's own cases: the consistency
models' facts as Elle's consistency_model_test states them, and small histories with the
anomalies Elle's list_append_test and rw_register_test give them."""
import pytest

from gnode_cluster import elle
from gnode_cluster.elle import consistency_model
from gnode_cluster.workload import txn_list_append, txn_rw_register


# -- consistency models, as Elle's consistency_model_test has them

def friendly(models):
    return {elle.friendly(m) for m in models}


def test_weakest_and_strongest_models():
    weakest = lambda ms: friendly(consistency_model._most({elle.canonical(m) for m in ms}, elle.MODELS))  # noqa: E731
    strongest = lambda ms: friendly(consistency_model._most({elle.canonical(m) for m in ms}, consistency_model._IMPLIED_BY_MODEL))  # noqa
    assert weakest([]) == set() and weakest(["serializable", "strict-serializable"]) == {"serializable"}
    assert weakest(["repeatable-read", "read-committed", "sequential", "read-your-writes"]) == \
        {"read-your-writes", "read-committed"}
    assert weakest(["serializable", "read-atomic"]) == {"read-atomic"}
    assert strongest(["serializable", "strong-serializable", "strict-serializable"]) == {"strong-serializable"}
    assert strongest(["repeatable-read", "read-committed", "sequential", "read-your-writes"]) == \
        {"repeatable-read", "sequential"}
    assert strongest(["serializable", "read-atomic"]) == {"serializable"}


def test_the_anomalies_read_committed_prohibits():
    assert elle.prohibited_anomalies(["read-committed"]) == {
        "dirty-update", "G1a", "G1b", "G1c", "G1", "G0", "PL-1-cycle-exists", "PL-2-cycle-exists", "cyclic-versions",
        "duplicate-elements", "incompatible-order", "future-read"}
    with pytest.raises(ValueError, match="unknown consistency model"):
        elle.parse_models("stricct-snappshot-isolation")


@pytest.mark.parametrize("anomaly, impossible", [
    ("G-single", {"consistent-view", "forward-consistent-view", "strong-serializable", "serializable",
                  "snapshot-isolation", "strong-session-serializable", "strong-session-snapshot-isolation",
                  "strong-snapshot-isolation", "update-serializable"}),
    ("G-SI", {"snapshot-isolation", "serializable", "strong-serializable", "strong-session-serializable",
              "strong-session-snapshot-isolation", "strong-snapshot-isolation"}),
    ("internal", {"causal-cerone", "parallel-snapshot-isolation", "prefix", "read-atomic", "update-atomic",
                  "serializable", "snapshot-isolation", "strong-serializable", "strong-session-serializable",
                  "strong-session-snapshot-isolation", "strong-snapshot-isolation"}),
    ("dirty-update", {"read-committed", "monotonic-atomic-view", "snapshot-isolation", "repeatable-read",
                      "update-atomic", "serializable", "strong-serializable", "update-serializable",
                      "cursor-stability", "forward-consistent-view", "consistent-view", "monotonic-view",
                      "monotonic-snapshot-read", "causal-cerone", "parallel-snapshot-isolation", "prefix",
                      "read-atomic", "strong-session-read-committed", "strong-session-serializable",
                      "strong-session-snapshot-isolation", "strong-read-committed", "strong-snapshot-isolation"}),
])
def test_the_models_an_anomaly_rules_out(anomaly, impossible):
    assert friendly(elle.impossible_models([anomaly])) == impossible


def test_the_boundary_names_the_weakest_models_ruled_out():
    assert elle.boundary([])["not"] == [] and elle.boundary([])["also_not"] == []
    internal = elle.boundary(["internal"])
    assert internal["not"] == ["read-atomic"] and "serializable" in internal["also_not"]
    cyclic = elle.boundary(["cyclic-versions"])
    assert cyclic["not"] == ["read-uncommitted"] and set(cyclic["also_not"]) == {
        "read-committed", "snapshot-isolation", "causal-cerone", "consistent-view", "cursor-stability",
        "forward-consistent-view", "monotonic-atomic-view", "monotonic-snapshot-read", "monotonic-view",
        "parallel-snapshot-isolation", "prefix", "read-atomic", "repeatable-read", "update-atomic", "serializable",
        "strong-read-committed", "strong-read-uncommitted", "strong-serializable", "strong-session-read-committed",
        "strong-session-read-uncommitted", "strong-session-serializable", "strong-session-snapshot-isolation",
        "strong-snapshot-isolation", "update-serializable"}
    assert elle.boundary(["G1a"])["not"] == ["read-committed"]


# -- list-append histories

def txn(process, kind, mops, time):
    return {"process": process, "type": kind, "f": "txn", "value": [list(m) for m in mops], "time": time}


def ops(*specs):
    """(process, [mops invoked], type, [mops completed]) each, invoked and completed in turn,
    unless the spec has a fifth element, "open", for overlapping it with the next one."""
    history, clock, open_ = [], 0.0, []
    for process, invoked, kind, completed, *overlap in specs:
        history.append(txn(process, "invoke", invoked, clock))
        clock += 1
        if overlap:
            open_.append(txn(process, kind, completed, None))
            continue
        for late in open_:
            history.append(dict(late, time=clock))
            clock += 1
        open_ = []
        history.append(txn(process, kind, completed, clock))
        clock += 1
    return history


def la(history, models=("strict-serializable",)):
    return elle.result(txn_list_append.analyse(history), list(models))


def test_a_serial_append_history_is_strict_serializable():
    result = la(ops((0, [["append", "x", 1]], "ok", [["append", "x", 1]]),
                    (1, [["r", "x", None]], "ok", [["r", "x", [1]]])))
    assert result["valid"] is True and result["anomaly_types"] == []


def test_g0_two_writers_in_opposite_orders_on_two_keys():
    # T1 appends x1 y1, T2 appends x2 y2; reads see x [1, 2] and y [2, 1]: ww both ways
    history = ops((0, [["append", "x", 1], ["append", "y", 1]], "ok", [["append", "x", 1], ["append", "y", 1]], "open"),
                  (1, [["append", "x", 2], ["append", "y", 2]], "ok", [["append", "x", 2], ["append", "y", 2]]),
                  (2, [["r", "x", None], ["r", "y", None]], "ok", [["r", "x", [1, 2]], ["r", "y", [2, 1]]]))
    result = la(history, ["read-uncommitted"])
    assert result["valid"] is False and "G0" in result["anomaly_types"]
    case = result["anomalies"]["G0"][0]
    assert [step["type"] for step in case["steps"]] == ["ww", "ww"]
    assert "appended 2 after T1 appended 1 to key \"x\"" in case["explanation"] or \
        "appended 1 after T1 appended 2 to key \"y\"" in case["explanation"]


def test_g1c_circular_information_flow():
    # T1 appends x1 and reads y [1]; T2 appends y1 and reads x [1]: each read the other
    history = ops((0, [["append", "x", 1], ["r", "y", None]], "ok", [["append", "x", 1], ["r", "y", [1]]], "open"),
                  (1, [["append", "y", 1], ["r", "x", None]], "ok", [["append", "y", 1], ["r", "x", [1]]]))
    result = la(history, ["read-committed"])
    assert result["valid"] is False and result["anomaly_types"] == ["G1c"]
    assert "observed T1's append of 1 to key \"x\"" in result["anomalies"]["G1c"][0]["explanation"] or \
        "observed T1's append of 1 to key \"y\"" in result["anomalies"]["G1c"][0]["explanation"]
    assert result["not"] == ["read-committed"]


def test_g_single_read_skew_passes_read_committed_but_not_serializable():
    # T1 reads x [] then y [1]; T2 appends x1 and y1 in between: T1 saw half of T2
    history = ops((0, [["r", "x", None], ["r", "y", None]], "ok", [["r", "x", []], ["r", "y", [1]]], "open"),
                  (1, [["append", "x", 1], ["append", "y", 1]], "ok", [["append", "x", 1], ["append", "y", 1]]))
    assert la(history, ["read-committed"])["valid"] is True
    result = la(history, ["serializable"])
    assert result["valid"] is False and result["anomaly_types"] == ["G-single-item"]
    text = result["anomalies"]["G-single-item"][0]["explanation"]
    assert "observed the initial (empty) state of key \"x\", which" in text and "a contradiction!" in text


def test_g_single_realtime_only_for_strict_serializable():
    # T1 appends x1 and completes; T2, invoked later, reads x as empty: fine serially, not in real time
    history = ops((0, [["append", "x", 1]], "ok", [["append", "x", 1]]),
                  (1, [["r", "x", None]], "ok", [["r", "x", []]]),
                  (2, [["r", "x", None]], "ok", [["r", "x", [1]]]))
    assert la(history, ["serializable"])["valid"] is True
    result = la(history, ["strict-serializable"])
    assert result["valid"] is False and result["anomaly_types"] == ["G-single-item-realtime"]
    assert "completed at 1.000 s, before T2 was invoked at 2.000 s" in \
        result["anomalies"]["G-single-item-realtime"][0]["explanation"]


def test_judging_an_analysis_leaves_it_as_it_was_for_the_next_models():
    # the history above, judged strict-serializable first: its real-time edges must not stay
    # behind in the analysis and make it fail serializable too
    history = ops((0, [["append", "x", 1]], "ok", [["append", "x", 1]]),
                  (1, [["r", "x", None]], "ok", [["r", "x", []]]),
                  (2, [["r", "x", None]], "ok", [["r", "x", [1]]]))
    analysis = txn_list_append.analyse(history)
    edges = {a: dict(out) for a, out in analysis.graph.out.items()}
    assert elle.result(analysis, ["strict-serializable"])["valid"] is False
    assert {a: dict(out) for a, out in analysis.graph.out.items()} == edges
    assert elle.result(analysis, ["serializable"])["valid"] is True


def test_g1a_g1b_internal_and_duplicates():
    aborted = ops((0, [["append", "x", 1]], "fail", [["append", "x", 1]]),
                  (1, [["r", "x", None]], "ok", [["r", "x", [1]]]))
    assert la(aborted, ["read-committed"])["anomaly_types"] == ["G1a", "empty-transaction-graph"]  # as Elle's
    intermediate = ops((0, [["append", "x", 1], ["append", "x", 2]], "ok", [["append", "x", 1], ["append", "x", 2]]),
                       (1, [["r", "x", None]], "ok", [["r", "x", [1]]]))
    assert "G1b" in la(intermediate, ["read-committed"])["anomaly_types"]
    internal = ops((0, [["append", "x", 3], ["r", "x", None]], "ok", [["append", "x", 3], ["r", "x", [1, 2]]]))
    result = la(internal, ["serializable"])
    assert result["anomaly_types"] == ["empty-transaction-graph", "internal"]  # one transaction: nothing to order
    assert "[..., 3]" in result["anomalies"]["internal"][0]["why"]
    twice = ops((0, [["append", "x", 1]], "ok", [["append", "x", 1]]),
                (1, [["r", "x", None]], "ok", [["r", "x", [1, 1]]]))
    assert "duplicate-elements" in la(twice, ["read-uncommitted"])["anomaly_types"]


def test_incompatible_orders_and_dirty_updates():
    history = ops((0, [["append", "x", 1]], "ok", [["append", "x", 1]]),
                  (1, [["append", "x", 2]], "ok", [["append", "x", 2]]),
                  (2, [["r", "x", None]], "ok", [["r", "x", [1, 2]]]),
                  (3, [["r", "x", None]], "ok", [["r", "x", [2, 1]]]))
    assert "incompatible-order" in la(history, ["read-committed"])["anomaly_types"]
    dirty = ops((0, [["append", "x", 1]], "fail", [["append", "x", 1]]),
                (1, [["append", "x", 2]], "ok", [["append", "x", 2]]),
                (2, [["r", "x", None]], "ok", [["r", "x", [1, 2]]]))
    assert {"G1a", "dirty-update"} <= set(la(dirty, ["read-committed"])["anomaly_types"])


def test_an_indeterminate_append_may_have_committed():
    history = ops((0, [["append", "x", 1]], "info", [["append", "x", 1]]),
                  (1, [["r", "x", None]], "ok", [["r", "x", [1]]]))
    assert la(history)["valid"] is True


# -- rw-register histories

def rw(history, models=("strict-serializable",)):
    return elle.result(txn_rw_register.analyse(history), list(models), unknown_is_invalid=True)


def test_rw_register_lost_update_is_g2_item_and_allowed_by_read_committed():
    history = ops((0, [["r", "x", None], ["w", "x", 1]], "ok", [["r", "x", None], ["w", "x", 1]], "open"),
                  (1, [["r", "x", None], ["w", "x", 2]], "ok", [["r", "x", None], ["w", "x", 2]]))
    assert rw(history, ["read-committed"])["valid"] is True
    result = rw(history, ["serializable"])
    assert result["valid"] is False and {"G2-item", "lost-update"} <= set(result["anomaly_types"])
    assert "read key \"x\" = null, and T2 set it to 2, which came later in the version order" in \
        result["anomalies"]["G2-item"][0]["explanation"]


def test_rw_register_g1a_g1b_and_internal():
    aborted = ops((0, [["w", "x", 1]], "fail", [["w", "x", 1]]), (1, [["r", "x", None]], "ok", [["r", "x", 1]]))
    assert rw(aborted, ["read-committed"])["anomaly_types"] == ["G1a", "empty-transaction-graph"]
    intermediate = ops((0, [["w", "x", 1], ["w", "x", 2]], "ok", [["w", "x", 1], ["w", "x", 2]]),
                       (1, [["r", "x", None]], "ok", [["r", "x", 1]]))
    assert rw(intermediate, ["read-committed"])["anomaly_types"] == ["G1b", "empty-transaction-graph"]
    internal = ops((0, [["w", "x", 1], ["r", "x", None]], "ok", [["w", "x", 1], ["r", "x", 2]]))
    assert rw(internal, ["serializable"])["anomaly_types"] == ["empty-transaction-graph", "internal"]


def test_rw_register_g1c_through_writes_read():
    history = ops((0, [["w", "x", 1], ["r", "y", None]], "ok", [["w", "x", 1], ["r", "y", 1]], "open"),
                  (1, [["w", "y", 1], ["r", "x", None]], "ok", [["w", "y", 1], ["r", "x", 1]]))
    result = rw(history, ["read-committed"])
    assert result["valid"] is False and result["anomaly_types"] == ["G1c"]
    assert "wrote key" in result["anomalies"]["G1c"][0]["explanation"]


def test_a_cycle_search_past_its_budget_is_unknown_never_a_pass():
    history = ops((0, [["append", "x", 1], ["r", "y", None]], "ok", [["append", "x", 1], ["r", "y", [1]]], "open"),
                  (1, [["append", "y", 1], ["r", "x", None]], "ok", [["append", "y", 1], ["r", "x", [1]]]))
    result = elle.result(txn_list_append.analyse(history), ["read-committed"], budget=1)
    assert result["valid"] == "unknown" and result["anomaly_types"] == ["cycle-search-timeout"]
    assert "gave up after 1 steps" in result["why"]


# -- Elle's own list-append checker cases (list_append_test.clj), in its notation:
# "ax1ry12" is a transaction appending 1 to x, then reading y as [1, 2]

def elle_op(text, kind="ok", process=0):
    mops, f, k = [], None, None
    for c in text:
        if c in "ar":
            f = "append" if c == "a" else "r"
            mops.append([f, None, None])
        elif c in "xyztu":
            mops[-1][1] = c
        else:
            mops[-1][2] = int(c) if f == "append" else (mops[-1][2] or []) + [int(c)]
    return {"process": process, "type": kind, "f": "txn", "value": mops}


def pair(completion):
    invoke = dict(completion, type="invoke", value=[[f, k, None] if f == "r" else [f, k, v]
                                                     for f, k, v in completion["value"]])
    return [invoke, completion]


def elle_check(history, models=(), anomalies=()):
    found = elle.result(txn_list_append.analyse(history), list(models), anomalies=list(anomalies))
    return found["valid"], found["anomaly_types"], found["not"]


def cycle_steps(history, models=(), anomalies=()):
    found = elle.result(txn_list_append.analyse(history), list(models), anomalies=list(anomalies))
    return {(s["type"]) for case in found["anomalies"][found["anomaly_types"][0]] for s in case["steps"]}


def test_elles_g0_case():
    history = [elle_op("ax1ay1"), elle_op("ax2ay2"), elle_op("rx12ry21")]
    assert elle_check(history, anomalies=["G0"]) == (False, ["G0"], ["read-uncommitted"])
    assert elle_check(history, anomalies=["G1"]) == (False, ["G0"], ["read-uncommitted"])
    assert elle_check(history, anomalies=["G2"])[0] is True  # G2 does not include G0
    assert cycle_steps(history, anomalies=["G0"]) == {"ww"}


def test_elles_g1a_case():
    history = [{"process": 0, "type": "fail", "f": "txn", "value": [["append", "x", 1]]}, elle_op("rx1")]
    assert elle_check(history, ["read-uncommitted"]) == ("unknown", ["empty-transaction-graph"], ["read-committed"])
    assert elle_check(history, ["read-committed"]) == (False, ["G1a", "empty-transaction-graph"], ["read-committed"])
    assert elle_check(history, anomalies=["G2"]) == ("unknown", ["empty-transaction-graph"], ["read-committed"])
    assert elle_check(history, ["repeatable-read"]) == (False, ["G1a", "empty-transaction-graph"],
                                                        ["read-committed"])


def test_elles_g1b_case():
    history = pair(elle_op("ax1ax2")) + pair(elle_op("rx1"))
    assert elle_check(history, anomalies=["G0"])[0] is True
    assert elle_check(history, anomalies=["G1"]) == (False, ["G1b"], ["read-committed"])
    assert elle_check(history, anomalies=["G2"]) == (False, ["G-single-item"], ["read-committed"])
    assert elle_check(history, ["strict-serializable"]) == (False, ["G-single-item", "G1b"], ["read-committed"])
    assert cycle_steps(history, ["strict-serializable"]) == {"rw", "wr"}


def test_elles_g1c_case():
    history = [elle_op("ax1ry1"), elle_op("ax2ay1"), elle_op("rx12ry1")]
    assert elle_check(history, anomalies=["G0"])[0] is True
    assert elle_check(history, anomalies=["G1"]) == (False, ["G1c"], ["read-committed"])
    assert elle_check(history, anomalies=["G2"])[0] is True
    assert cycle_steps(history, anomalies=["G1"]) == {"wr", "ww"}


def test_elles_g_single_case():
    history = [elle_op("ax1ay1"), elle_op("ax2ry"), elle_op("rx12")]
    assert elle_check(history, anomalies=["G0"])[0] is True and elle_check(history, anomalies=["G1"])[0] is True
    for asked in (["G-single"], ["G2"]):
        assert elle_check(history, anomalies=asked) == (False, ["G-single-item"], ["consistent-view",
                                                                                   "repeatable-read"])
    assert cycle_steps(history, anomalies=["G2"]) == {"rw", "ww"}


def test_elles_g2_case():
    history = [elle_op("ax1ry"), elle_op("ay1rx")]
    for models, anomalies in (((), ["G0"]), ((), ["G1"]), (["read-committed"], ())):
        assert elle_check(history, models, anomalies)[0] is True
    for models, anomalies in (((), ["G2"]), (["serializable"], ()), (["repeatable-read"], ())):
        assert elle_check(history, models, anomalies) == (False, ["G2-item"], ["repeatable-read"])
    assert cycle_steps(history, anomalies=["G2"]) == {"rw"}


def indexed(*specs):
    """(process, type, [mops]) entries in order, as Elle's hand-built histories."""
    return [{"process": p, "type": kind, "f": "txn", "value": [list(m) for m in mops]} for p, kind, mops in specs]


def test_elles_strong_si_violation_is_only_for_strict_serializability():
    history = indexed((0, "invoke", [["append", "x", 1]]), (0, "ok", [["append", "x", 1]]),
                      (1, "invoke", [["append", "x", 2]]), (1, "ok", [["append", "x", 2]]),
                      (2, "invoke", [["r", "x", None]]), (2, "ok", [["r", "x", [1]]]),
                      (3, "invoke", [["r", "x", None]]), (3, "ok", [["r", "x", [1, 2]]]))
    assert elle_check(history, anomalies=["G2"])[0] is True and elle_check(history, ["serializable"])[0] is True
    assert elle_check(history, ["strict-serializable"]) == (False, ["G-single-item-realtime"],
                                                            ["strong-snapshot-isolation"])
    assert cycle_steps(history, ["strict-serializable"]) == {"rw", "realtime"}


def test_elles_strong_session_si_violation_needs_process_order():
    history = indexed((0, "invoke", [["append", "x", 1]]), (0, "ok", [["append", "x", 1]]),
                      (1, "invoke", [["append", "x", 2]]), (1, "ok", [["append", "x", 2]]),
                      (1, "invoke", [["r", "x", None]]), (1, "ok", [["r", "x", [1]]]),
                      (2, "invoke", [["r", "x", None]]), (2, "ok", [["r", "x", [1, 2]]]))
    assert elle_check(history, ["serializable"])[0] is True
    assert elle_check(history, ["strong-session-snapshot-isolation"]) == (
        False, ["G-single-item-process"], ["strong-session-snapshot-isolation"])


def test_elles_g_nonadjacent_process_case():
    history = indexed((0, "invoke", [["r", "x", None], ["r", "z", None]]), (0, "ok", [["r", "x", None], ["r", "z", [1]]]),
                      (1, "invoke", [["append", "x", 1]]), (1, "ok", [["append", "x", 1]]),
                      (1, "invoke", [["r", "z", None]]), (1, "ok", [["r", "z", None]]),
                      (2, "invoke", [["append", "z", 1]]), (2, "ok", [["append", "z", 1]]))
    assert elle_check(history, ["serializable"])[0] is True
    assert elle_check(history, ["strong-session-snapshot-isolation"]) == (
        False, ["G-nonadjacent-item-process"], ["strong-session-snapshot-isolation"])
    found = elle.result(txn_list_append.analyse(history), ["strong-session-snapshot-isolation"])
    assert sorted(s["type"] for s in found["anomalies"]["G-nonadjacent-item-process"][0]["steps"]) == \
        ["process", "rw", "rw", "wr"]


def test_elles_contradictory_read_orders_case():
    history = [elle_op("ax1ry1"), elle_op("ax2"), elle_op("ax3ay1"), elle_op("rx13"), elle_op("rx123")]
    assert elle_check(history, anomalies=["G1"]) == (False, ["G1c", "incompatible-order"], ["read-committed"])
    assert cycle_steps(history, anomalies=["G1"]) == {"wr", "ww"}


def test_elles_dirty_update_cases():
    none = [elle_op("ax1", "fail")]
    assert elle_check(none, anomalies=["dirty-update"]) == ("unknown", ["empty-transaction-graph"], [])
    direct = [elle_op("ax1", "fail", 0), elle_op("ax2", "ok", 1), elle_op("rx12", "ok", 2)]
    assert elle_check(direct, anomalies=["dirty-update"]) == (False, ["dirty-update"], ["read-committed"])
    indirect = [elle_op("ax1", "fail", 0), elle_op("ax2", "info", 1), elle_op("ax3", "ok", 2), elle_op("rx123", "ok", 3)]
    found = elle.result(txn_list_append.analyse(indirect), [], anomalies=["dirty-update"])
    assert (found["valid"], found["anomaly_types"], found["not"]) == (False, ["dirty-update"], ["read-committed"])
    assert "key \"x\" holds [1, 2, 3]" in found["anomalies"]["dirty-update"][0]["why"]


def test_elles_duplicated_elements_and_internal_cases():
    duplicated = [elle_op("ax1ry1"), elle_op("ax2ay1"), elle_op("rx121")]
    assert elle_check(duplicated, ["read-committed"]) == (False, ["G1c", "duplicate-elements"], ["read-uncommitted"])
    internal = [elle_op("ax1ax2ax4"), elle_op("ax3rx1234")]
    assert elle_check(internal, anomalies=["internal"]) == (False, ["internal"], ["read-uncommitted"])


# -- Elle's own rw-register checker cases (rw_register_test.clj) that hold under Maelstrom's options

def rw_op(text, kind="ok", process=0):
    mops = []
    for c in text:
        if c in "rw":
            mops.append([c, None, None])
        elif c in "xyz":
            mops[-1][1] = c
        else:
            mops[-1][2] = int(c)
    return {"process": process, "type": kind, "f": "txn", "value": mops}


def rw_check(history, models=(), anomalies=()):
    found = elle.result(txn_rw_register.analyse(history), list(models), anomalies=list(anomalies))
    return found["valid"], found["anomaly_types"], found["not"]


def test_elles_rw_register_g0_needs_an_order_it_cannot_see():
    history = pair(rw_op("wx1wy2", process=0)) + pair(rw_op("wx2wy1", process=1))
    assert rw_check(history, anomalies=["G0"]) == ("unknown", ["empty-transaction-graph"], [])


def test_elles_rw_register_g1a_g1b_and_g1c_cases():
    aborted = [rw_op("rx1"), rw_op("wx1", "fail")]
    assert rw_check(aborted, anomalies=["G1"]) == (False, ["G1a", "empty-transaction-graph"], ["read-committed"])
    intermediate = [rw_op("wx1wx2"), rw_op("rx1")]
    assert rw_check(intermediate, anomalies=["G0"]) == ("unknown", ["empty-transaction-graph"], ["read-committed"])
    for models, anomalies in (((), ["G1"]), (["repeatable-read"], ())):
        assert rw_check(intermediate, models, anomalies) == (False, ["G1b", "empty-transaction-graph"],
                                                             ["read-committed"])
    circular = [rw_op("wx1ry1"), rw_op("wy1rx1")]
    for models, anomalies in (((), ["G0"]), (["read-uncommitted"], ()), ((), ["G2"])):
        assert rw_check(circular, models, anomalies)[0] is True
    for models, anomalies in (((), ["G1"]), (["read-committed"], ()), (["serializable"], ())):
        assert rw_check(circular, models, anomalies) == (False, ["G1c"], ["read-committed"])
