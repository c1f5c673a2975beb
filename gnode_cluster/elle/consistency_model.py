"""Elle's consistency models (its consistency_model.clj): the anomalies each model proscribes,
the models each model implies, which models the anomalies found rule out, and the
strongest models still possible. Names are Elle's, friendly or canonical."""
import collections

# Facts of Elle's consistency_model.clj: anomaly a -> the anomalies it implies.
IMPLIED_ANOMALIES = {
    "G0": ["G1c", "G0-process"], "G0-process": ["G1c-process", "G0-realtime"], "G0-realtime": ["G1c-realtime"],
    "G1a": ["G1"], "G1b": ["G1"], "G1c": ["G1", "G1c-process"],
    "G1c-process": ["G1c-realtime", "G1-process"], "G1c-realtime": ["G1-realtime"],
    "G1": ["G1-process"], "G1-process": ["G1-realtime"],
    "G-single-item": ["G-single", "G-single-item-process", "G-nonadjacent-item"],
    "G-single-item-process": ["G-single-process", "G-single-item-realtime", "G-nonadjacent-item-process"],
    "G-single-item-realtime": ["G-single-realtime", "G-nonadjacent-item-realtime"],
    "G-single": ["G-nonadjacent", "GSIb", "G-single-process"],
    "G-single-process": ["G-nonadjacent-process", "G-single-realtime"],
    "G-single-realtime": ["G-nonadjacent-realtime"],
    "G-nonadjacent-item": ["G-nonadjacent", "G2-item", "G-nonadjacent-item-process"],
    "G-nonadjacent-item-process": ["G-nonadjacent-process", "G2-item-process", "G-nonadjacent-item-realtime"],
    "G-nonadjacent-item-realtime": ["G2-item-realtime", "G-nonadjacent-realtime"],
    "G-nonadjacent": ["G2", "G-nonadjacent-process"],
    "G-nonadjacent-process": ["G2-process", "G-nonadjacent-realtime"],
    "G-nonadjacent-realtime": ["G2-realtime"],
    "G2": ["G2-process"], "G2-item": ["G2", "G2-item-process"],
    "G2-item-process": ["G2-process", "G2-item-realtime"], "G2-item-realtime": ["G2-realtime"],
    "G2-process": ["G2-realtime"],
    "GSIa": ["GSI"], "GSIb": ["GSI"],
    "incompatible-order": ["G1a"], "future-read": ["G1c"], "dirty-update": ["G1a"],
    "lost-update": ["write-skew", "G2-item"], "write-skew": ["G2"],
}

CANONICAL = {
    "consistent-view": "PL-2+", "conflict-serializable": "PL-3", "cursor-stability": "PL-CS",
    "forward-consistent-view": "PL-FCV", "monotonic-snapshot-read": "PL-MSR", "monotonic-view": "PL-2L",
    "read-committed": "PL-2", "read-uncommitted": "PL-1", "repeatable-read": "PL-2.99", "serializable": "PL-3",
    "snapshot-isolation": "PL-SI", "strict-serializable": "PL-SS", "strong-serializable": "PL-SS",
    "update-serializable": "PL-3U", "strong-session-read-uncommitted": "strong-session-PL-1",
    "strong-session-read-committed": "strong-session-PL-2", "strong-read-uncommitted": "strong-PL-1",
    "strong-read-committed": "strong-PL-2",
}
FRIENDLY = {**{canonical: friendly for friendly, canonical in CANONICAL.items()}, "PL-3": "serializable"}

# model -> the models it implies (a history that satisfies the first satisfies these)
_MODELS = {
    "causal-cerone": ["read-atomic"], "consistent-view": ["cursor-stability", "monotonic-view"],
    "conflict-serializable": ["view-serializable"], "cursor-stability": ["read-committed", "PL-2"],
    "forward-consistent-view": ["consistent-view"], "PL-2": ["PL-1"], "PL-3": ["repeatable-read", "update-serializable"],
    "update-serializable": ["forward-consistent-view"], "monotonic-atomic-view": ["read-committed"],
    "monotonic-view": ["PL-2"], "monotonic-snapshot-read": ["PL-2"],
    "parallel-snapshot-isolation": ["causal-cerone", "update-atomic"], "prefix": ["causal-cerone"],
    "read-atomic": ["monotonic-atomic-view"], "read-committed": ["read-uncommitted"],
    "repeatable-read": ["cursor-stability", "monotonic-atomic-view"], "update-atomic": ["read-atomic"],
    "serializable": ["repeatable-read", "snapshot-isolation", "view-serializable"],
    "session-serializable": ["1SR"],
    "snapshot-isolation": ["forward-consistent-view", "monotonic-atomic-view", "monotonic-snapshot-read",
                           "parallel-snapshot-isolation", "prefix"],
    "strict-serializable": ["PL-3", "serializable", "linearizable", "snapshot-isolation", "strong-snapshot-isolation",
                            "strong-session-serializable"],
    "strong-session-PL-1": ["PL-1"], "strong-session-PL-2": ["PL-2", "strong-session-PL-1"],
    "strong-PL-1": ["strong-session-PL-1"], "strong-PL-2": ["strong-session-PL-2", "strong-PL-1"],
    "strong-session-serializable": ["serializable", "strong-session-snapshot-isolation"],
    "strong-session-snapshot-isolation": ["snapshot-isolation", "strong-session-PL-2"],
    "strong-serializable": ["session-serializable"],
    "strong-snapshot-isolation": ["strong-session-snapshot-isolation", "strong-PL-2"],
    "linearizable": ["sequential"], "sequential": ["causal"], "causal": ["writes-follow-reads", "PRAM"],
    "PRAM": ["monotonic-reads", "monotonic-writes", "read-your-writes"],
}

# model -> the anomalies it proscribes beyond the models it implies
_PROSCRIBED = {
    "causal-cerone": ["internal", "G1a"], "cursor-stability": ["G1", "G-cursor", "lost-update"],
    "monotonic-view": ["G1", "G-monotonic"], "monotonic-snapshot-read": ["G1", "G-MSR"],
    "consistent-view": ["G1", "G-single"], "forward-consistent-view": ["G1", "G-SIb"],
    "parallel-snapshot-isolation": ["internal", "G1a"],
    "PL-3": ["G1", "G2", "predicate-read-miss", "PL-3-cycle-exists"], "PL-2": ["G1", "PL-2-cycle-exists"],
    "PL-1": ["G0", "duplicate-elements", "cyclic-versions", "PL-1-cycle-exists"], "prefix": ["internal", "G1a"],
    "serializable": ["internal"],
    "snapshot-isolation": ["internal", "G1", "G-SI", "G-nonadjacent", "PL-SI-cycle-exists"],
    "read-atomic": ["internal", "G1a", "future-read"],
    "repeatable-read": ["G1", "G2-item", "PL-2.99-cycle-exists", "lost-update"], "update-atomic": ["lost-update"],
    "strict-serializable": ["G1", "G1c-realtime", "G2-realtime", "PL-SS-cycle-exists"],
    "strong-session-PL-1": ["strong-session-PL-1-cycle-exists", "G0-process"],
    "strong-session-PL-2": ["strong-session-PL-2-cycle-exists", "G1c-process"],
    "strong-PL-1": ["strong-PL-1-cycle-exists", "G0-realtime"],
    "strong-PL-2": ["strong-PL-2-cycle-exists", "G1c-realtime"],
    "strong-session-snapshot-isolation": ["internal", "G1-process", "G-nonadjacent-process",
                                          "strong-session-snapshot-isolation-cycle-exists"],
    "strong-snapshot-isolation": ["internal", "G1-realtime", "G-nonadjacent-realtime",
                                  "strong-snapshot-isolation-cycle-exists"],
    "strong-session-serializable": ["G1-process", "G2-process", "strong-session-serializable-cycle-exists"],
    "update-serializable": ["G1", "G-update"],
}


def canonical(model):
    return CANONICAL.get(model, model)


def friendly(model):
    return FRIENDLY.get(model, model)


def _canonical_graph(graph):
    merged = collections.defaultdict(set)
    for model, implied in graph.items():
        merged[canonical(model)].update(canonical(m) for m in implied)
    return dict(merged)


MODELS = _canonical_graph(_MODELS)
PROSCRIBED = {canonical(model): set(anomalies) for model, anomalies in _PROSCRIBED.items()}
ALL_MODELS = sorted({friendly(m) for m in set(MODELS) | {m for ms in MODELS.values() for m in ms}}
                    | set(CANONICAL))


def reach(start, edges):
    """Everything reachable from the ``start`` collection along ``edges`` (a -> [b]),
    the start included."""
    seen, todo = set(start), list(start)
    while todo:
        for following in edges.get(todo.pop(), ()):
            if following not in seen:
                seen.add(following)
                todo.append(following)
    return seen


def _reversed(edges):
    back = collections.defaultdict(set)
    for a, bs in edges.items():
        for b in bs:
            back[b].add(a)
    return back


_IMPLYING = _reversed(IMPLIED_ANOMALIES)
_IMPLIED_BY_MODEL = _reversed(MODELS)
_PROSCRIBING = _reversed(PROSCRIBED)


def parse_models(text):
    """Maelstrom's --consistency-models: comma-separated names Elle knows. ValueError if not."""
    models = [name.strip() for name in (text.split(",") if isinstance(text, str) else text) if name.strip()]
    unknown = [m for m in models if friendly(canonical(m)) not in ALL_MODELS and m not in ALL_MODELS]
    if unknown or not models:
        raise ValueError("unknown consistency model(s) %s: each is one of %s"
                         % (", ".join(unknown) or "(none given)", ", ".join(ALL_MODELS)))
    return models


def with_implying(anomalies):
    """``anomalies`` and every anomaly that implies one of them (asking for G1 asks for G1a too)."""
    return reach(anomalies, _IMPLYING)


def prohibited_anomalies(models):
    """The anomalies that cannot be present if every one of ``models`` holds."""
    proscribed = set()
    for model in reach([canonical(m) for m in models], MODELS):
        proscribed |= PROSCRIBED.get(model, set())
    return reach(proscribed, _IMPLYING)


def impossible_models(anomalies):
    """The models (canonical names) that the presence of ``anomalies`` rules out."""
    directly = set()
    for anomaly in reach(anomalies, IMPLIED_ANOMALIES):
        directly |= _PROSCRIBING.get(anomaly, set())
    return reach(directly, _IMPLIED_BY_MODEL)


def _most(models, edges):
    """The subset of ``models`` none of whose members reaches another along ``edges``."""
    kept = set(models)
    for model in sorted(models):
        others = kept - {model}
        if others & (reach([model], edges) - {model}):
            kept.discard(model)
    return kept


def boundary(anomalies):
    """Elle's boundary of ``anomalies``, in friendly names: ``not`` (the weakest models they
    rule out), ``also_not`` (the stronger ones), ``strongest_possible`` (the strongest
    models still possible)."""
    impossible = impossible_models(anomalies)
    weakest = _most(impossible, MODELS)
    possible = set(MODELS) | {m for ms in MODELS.values() for m in ms}
    possible -= impossible
    return {"not": sorted(friendly(m) for m in weakest),
            "also_not": sorted(friendly(m) for m in impossible - weakest),
            "strongest_possible": sorted(friendly(m) for m in _most(possible, _IMPLIED_BY_MODEL))}
