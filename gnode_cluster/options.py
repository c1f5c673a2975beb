"""Every option of a test, once: its name, flag, default, parsing and check. The command
line is built from ``OPTIONS``; ``run_test(workload, bin, **options)`` and the command line
both go through ``resolve``, so a value is checked the same way from either, and the
workloads read the dict it returns, every option in it, never a default of their own.

Values may come as the command line gives them (text) or as Python values (``rate=5``,
``nodes=["a", "b"]``); a bad one raises ValueError naming its flag.
"""
from .cluster import node_names
from .elle import parse_models
from .linearizable import DEFAULT_BUDGET
from .net import LATENCY_DISTS
from .workload import WORKLOADS, workload_class
from .workload.broadcast import TOPOLOGIES

NEMESES = ("partition",)


class Option:
    """One option: ``name`` (as run_test takes it), its ``default``, ``parse`` (a function
    from the given value, text or Python, to the value the test uses; ValueError when bad),
    ``help``, and ``flag``, its command-line spelling (None: not on the command line)."""

    def __init__(self, name, default, parse, help, flag=True):
        self.name = name
        self.default = default
        self.parse = parse
        self.help = help
        self.flag = "--" + name.replace("_", "-") if flag is True else flag

    def value(self, given):
        """The parsed value of ``given`` (None, the default's absence, stays None)."""
        if given is None:
            return None
        try:
            return self.parse(given)
        except (TypeError, ValueError) as e:
            raise ValueError("%s: %s" % (self.flag or self.name, e)) from None


# ---------------------------------------------------------------- parsers

def number(minimum, whole=False):
    """A finite number, at least ``minimum``; with ``whole``, a whole one, as an int."""
    kind = "a whole number" if whole else "a number"

    def parse(value):
        try:
            if isinstance(value, bool) or whole and isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            result = int(value) if whole else float(value)
        except (ValueError, OverflowError):
            raise ValueError("%s, not %r" % (kind, value)) from None
        if not minimum <= result < float("inf"):
            raise ValueError("at least %s, and finite, not %r" % (minimum, value))
        return result
    return parse


def one_of(choices):
    def parse(value):
        if value not in choices:
            raise ValueError("one of %s, not %r" % (", ".join(choices), value))
        return value
    return parse


def listed(choices=None):
    """A list, given as one (comma-separated text) or as a sequence; each item one of
    ``choices`` when given."""
    def parse(value):
        items = [item for item in (value.split(",") if isinstance(value, str) else value) if item]
        unknown = [item for item in items if choices is not None and item not in choices]
        if unknown:
            raise ValueError("unknown %s: each is one of %s" % (", ".join(map(str, unknown)), ", ".join(choices)))
        return items
    return parse


def concurrency(value):
    """Maelstrom's ``N`` or ``Kn`` (K times the node count), kept as given until the node
    count is known (``workers``)."""
    text = str(value)
    try:
        count = int(text[:-1] if text.endswith("n") else text)
    except ValueError:
        raise ValueError("a number, or a number then n (times the node count), not %r" % text) from None
    if count < 1:
        raise ValueError("at least 1, not %r" % text)
    return text


def workers(text, node_count):
    """The number of workers that ``--concurrency`` ``text`` (as parsed) means."""
    return int(text[:-1]) * node_count if text.endswith("n") else int(text)


def availability(value):
    if value == "total":
        return value
    fraction = number(0)(value)
    if fraction > 1:
        raise ValueError("total, or a fraction from 0 to 1, not %r" % (value,))
    return fraction


def text(value):
    return str(value)


def flag(value):
    return bool(value)


# ---------------------------------------------------------------- the options, Maelstrom's first

OPTIONS = (
    Option("workload", "lin-kv", one_of(tuple(WORKLOADS)), "the workload (default lin-kv, as Maelstrom's)", flag="-w"),
    Option("bin", None, text, "the node executable"),
    Option("node_count", None, number(1, whole=True), "nodes n0..n(N-1) (overrides --nodes)"),
    Option("nodes", None, listed(), "explicit node ids, comma-separated (default n1,n2,n3,n4,n5)"),
    Option("time_limit", 60, number(0, whole=True), "seconds of the main phase, a whole number as Maelstrom's (default 60)"),
    Option("rate", 5.0, number(0), "requests per second, all workers together (default 5; 0: none)"),
    Option("concurrency", None, concurrency, "workers: N, or Kn for K times the node count (default 1n; lin-kv: 2n)"),
    Option("latency", 0.0, number(0), "mean server-to-server latency, ms (default 0)"),
    Option("latency_dist", "constant", one_of(LATENCY_DISTS), "constant, uniform or exponential"),
    Option("nemesis", (), listed(NEMESES), "faults, comma-separated: partition"),
    Option("nemesis_interval", 10.0, number(0), "mean seconds between nemesis operations (default 10)"),
    Option("availability", None, availability, "total, or the fraction of operations that must succeed"),
    Option("topology", "grid", one_of(TOPOLOGIES), "broadcast's topology (default grid)"),
    Option("key_count", 10, number(1, whole=True), "keys in play at once, for the transactional workloads and kafka (10)"),
    Option("max_txn_length", 4, number(1, whole=True), "most micro-operations in one transaction (4)"),
    Option("max_writes_per_key", 16, number(1, whole=True), "writes to a key before a new one takes its place (16)"),
    Option("checker_budget", DEFAULT_BUDGET, number(1, whole=True),
           "search steps of lin-kv's checker per key, and of the transactional checkers per cycle "
           "component and anomaly, before that verdict is unknown (default %d)" % DEFAULT_BUDGET),
    Option("consistency_models", "strict-serializable", parse_models,
           "the models the transactional checkers ask for, comma-separated Elle names (default strict-serializable)"),
    Option("log_stderr", False, flag, "copy the nodes' stderr to ours"),
    Option("final_wait", 10.0, number(0), "seconds between the heal and the final reads (default 10, "
                                          "as Maelstrom's; tests shorten it)"),
    Option("store", "store", text, "where results go (default store/)"),
    Option("seed", None, number(-2 ** 63, whole=True), "makes the generator, latencies and nemesis repeatable"),
    Option("args", (), listed(), "arguments passed to the node", flag=None),
)
BY_NAME = {option.name: option for option in OPTIONS}


def resolve(**given):
    """The test's options: every option's value, from ``given`` or, where it is absent or
    None, its default, parsed and checked, with ``nodes`` the node ids and ``concurrency``
    the number of workers. Raises ValueError for an unknown option, a bad value (naming its
    flag)."""
    unknown = set(given) - set(BY_NAME)
    if unknown:
        raise ValueError("unknown option(s): %s" % ", ".join(sorted(unknown)))
    options = {name: option.value(option.default if given.get(name) is None else given[name])
               for name, option in BY_NAME.items()}
    options["nodes"] = node_names(options["node_count"], options["nodes"])  # both parsed: no error left
    if options["concurrency"] is None:
        options["concurrency"] = concurrency(workload_class(options["workload"]).default_concurrency)
    options["concurrency"] = workers(options["concurrency"], len(options["nodes"]))
    return options


def add_arguments(parser, only=None):
    """Add every option with a flag (or those named in ``only``) to the argparse ``parser``:
    values are taken as text and parsed by ``resolve``; an option not given is left out, so
    its default is the one here."""
    for option in OPTIONS:
        if option.flag is None or only is not None and option.name not in only:
            continue
        spellings = [option.flag] + (["--workload"] if option.flag == "-w" else [])
        if option.parse is flag:
            parser.add_argument(*spellings, dest=option.name, action="store_true", default=None, help=option.help)
        else:
            parser.add_argument(*spellings, dest=option.name, default=None, help=option.help,
                                required=option.name == "bin" and only is None)


def given(namespace):
    """The options a parsed command line gave, to pass to ``resolve``."""
    return {name: value for name, value in vars(namespace).items() if name in BY_NAME and value is not None}
