#!/usr/bin/env python3
"""Mutation testing for gnode: make one small bug at a time in gnode.py or gnode_pytest.py
and check that the test suite fails on it.

    python3 tests/tools/mutate.py --sample 110 --seed 1

Each mutant is tested in a copy of the committed tree (``git archive REV``): the working
tree is never written to, and edits in progress there never leak into a run. The suite
runs in the copy in two stages: first the tests that took under a second in the
unmutated run (those of test files that name the mutated function first, the rest
quickest first), and only if the mutant survives those, the full suite as CI runs it.
So a mutant is reported as surviving only when the full suite passes with it.

A mutant is ``killed`` when pytest fails (a test failed, collection broke, pytest
crashed), ``timeout`` when a run outlasts the limit (counted as killed: a hang is a
failure CI would see), ``survived`` when the full suite passes, and ``error`` when the
mutant cannot be applied or pytest cannot run the selection at all.

Our own script rather than mutmut: mutmut 3 wants its own layout (the sources copied
into ``mutants/``), switches mutants through trampolines in every function, and picks
the tests to run per function from hits it records inside the pytest process; most of
this suite runs gnode.py as a separate process, where no hit is recorded. It is also
slow to set up and a dependency. This script is the standard library only, a mutant is
a plain edit of a copy, and the suite runs exactly as it does in CI.

What is mutated (``find_mutants``): comparison operators (the boundary: ``<`` to ``<=``;
and the negation: ``<`` to ``>=``, ``==`` to ``!=``, ``is`` to ``is not``, ``in`` to
``not in``), ``and``/``or`` swapped, ``not`` removed, ``+``/``-`` swapped, integers +1,
floats scaled by 0.7 and 1.5, booleans flipped, an ``if``'s condition made ``True``,
``return x`` to ``return None``, a simple statement replaced by ``pass``, and strings
where they act as names (see ``_key_strings``).

What is never mutated, since such a mutant is equivalent by construction or says
nothing about the tests (``SKIPPED``): docstrings and other bare string statements,
anything in the arguments of a logging call (the call itself may still be deleted),
f-strings, strings that are messages rather than names, comments (not in the AST),
and imports, ``global``, ``pass`` and definitions (deleting one only raises NameError).
"""
import argparse
import ast
import concurrent.futures
import io
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FILES = ("gnode.py", "gnode_pytest.py")
PYTEST = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
QUICK_TEST_SECONDS = 1.0  # tests at least this slow in the unmutated run wait for the full-suite stage

SKIPPED = (
    "docstrings and bare string statements: they never run",
    "arguments of log.*/logging.* calls: they only change what is logged",
    "f-strings: message text",
    "strings that are not names (keys, message types, set members): messages, help text",
    "imports, global/nonlocal, pass, def and class statements are never deleted",
)

COMPARE_SWAPS = {
    ast.Lt: (ast.LtE, ast.GtE), ast.LtE: (ast.Lt, ast.Gt),
    ast.Gt: (ast.GtE, ast.LtE), ast.GtE: (ast.Gt, ast.Lt),
    ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,),
    ast.Is: (ast.IsNot,), ast.IsNot: (ast.Is,),
    ast.In: (ast.NotIn,), ast.NotIn: (ast.In,),
}
ARITHMETIC_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add}
FLOAT_FACTORS = (0.7, 1.5)  # a timer at 70% fires early; at 150%, late
KEY_METHODS = {"get", "pop", "setdefault", "startswith", "endswith"}  # their first argument is a name
LOGGERS = {"log", "logging"}
DELETABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Raise, ast.Delete, ast.Assert,
             ast.Break, ast.Continue)


# ---------------------------------------------------------------- mutants

class MutantError(Exception):
    """A mutant whose edit does not give valid Python (a bug of this tool)."""


@dataclass
class Mutant:
    file: str  # relative to the checkout
    line: int
    end_line: int
    start: int  # byte offsets of the replaced source in the file
    end: int
    kind: str
    original: str
    replacement: str
    function: str  # qualified name of the enclosing def, or <module>

    @property
    def where(self):
        return "%s:%d" % (self.file, self.line)

    @property
    def description(self):
        return "%s  ->  %s" % (_one_line(self.original), _one_line(self.replacement))

    def apply(self, source):
        """The file's source (bytes) with this mutation made."""
        mutated = source[:self.start] + self.replacement.encode() + source[self.end:]
        try:
            if ast.dump(ast.parse(mutated)) == ast.dump(ast.parse(source)):
                raise MutantError("%s: %s changes nothing" % (self.where, self.description))
        except SyntaxError as e:
            raise MutantError("%s: %s is not valid Python: %s" % (self.where, self.description, e)) from None
        return mutated


def _one_line(text, limit=100):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def find_mutants(file, source):
    """Every mutant of ``source`` (the bytes of ``file``), in source order."""
    finder = _MutantFinder(file, source)
    finder.scan_body(ast.parse(source).body, "<module>")
    return sorted(finder.mutants, key=lambda m: (m.start, m.end, m.kind, m.replacement))


class _MutantFinder:
    def __init__(self, file, source):
        self.file = file
        self.source = source
        self.line_starts = [0]
        for line in source.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line))
        self.key_strings = set()  # ids of the string constants that act as names
        self.mutants = []

    def add(self, node, kind, replacement, function):
        start = self.line_starts[node.lineno - 1] + node.col_offset
        end = self.line_starts[node.end_lineno - 1] + node.end_col_offset
        self.mutants.append(Mutant(self.file, node.lineno, node.end_lineno, start, end, kind,
                                   self.source[start:end].decode(), replacement, function))

    def scan_body(self, statements, function):
        for statement in statements:
            if _is_bare_string(statement):
                continue
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = statement.name if function == "<module>" else function + "." + statement.name
                for decorator in statement.decorator_list:
                    self.scan_expression(decorator, function)
                if not isinstance(statement, ast.ClassDef):
                    for default in statement.args.defaults + [d for d in statement.args.kw_defaults if d]:
                        self.scan_expression(default, function)
                self.scan_body(statement.body, inner)
                continue
            self.mutate_statement(statement, function)
            if function == "<module>" and isinstance(statement, ast.Assign):
                self.key_strings.update(_constant_members(statement))
            for field, value in ast.iter_fields(statement):
                if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                    self.scan_body(value, function)
                elif isinstance(value, list) and value and isinstance(value[0], ast.excepthandler):
                    for handler in value:
                        if handler.type is not None:
                            self.scan_expression(handler.type, function)
                        self.scan_body(handler.body, function)
                elif isinstance(value, list):
                    for item in value:
                        if isinstance(item, ast.expr):
                            self.scan_expression(item, function)
                        elif isinstance(item, ast.withitem):
                            self.scan_expression(item.context_expr, function)
                elif isinstance(value, ast.expr) and not _is_store(value):
                    self.scan_expression(value, function)

    def mutate_statement(self, statement, function):
        if isinstance(statement, ast.If) and not isinstance(statement.test, ast.Constant):
            self.add(statement.test, "condition", "True", function)  # the guard is gone
        if isinstance(statement, ast.Return) and statement.value is not None \
                and not (isinstance(statement.value, ast.Constant) and statement.value.value is None):
            self.add(statement, "return", "return None", function)
        if isinstance(statement, DELETABLE):
            self.add(statement, "delete", "pass", function)

    def scan_expression(self, node, function):
        if isinstance(node, ast.JoinedStr) or _is_logging_call(node):
            return
        self.key_strings.update(_key_strings(node))
        self.mutate_expression(node, function)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr) and not _is_store(child):
                self.scan_expression(child, function)
            elif isinstance(child, ast.comprehension):
                for part in [child.iter] + child.ifs:
                    self.scan_expression(part, function)
            elif isinstance(child, ast.keyword):
                self.scan_expression(child.value, function)

    def mutate_expression(self, node, function):
        if isinstance(node, ast.Compare):
            for index, op in enumerate(node.ops):
                for swap in COMPARE_SWAPS.get(type(op), ()):
                    ops = list(node.ops)
                    ops[index] = swap()
                    new = ast.Compare(left=node.left, ops=ops, comparators=node.comparators)
                    self.add(node, "compare", "(%s)" % ast.unparse(new), function)
        elif isinstance(node, ast.BoolOp):
            swap = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            self.add(node, "boolop", "(%s)" % ast.unparse(ast.BoolOp(op=swap, values=node.values)), function)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self.add(node, "not", "(%s)" % ast.unparse(node.operand), function)
        elif isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC_SWAPS \
                and not any(_is_text(side) for side in (node.left, node.right)):
            new = ast.BinOp(left=node.left, op=ARITHMETIC_SWAPS[type(node.op)](), right=node.right)
            self.add(node, "arithmetic", "(%s)" % ast.unparse(new), function)
        elif isinstance(node, ast.Constant):
            for value in self.constant_swaps(node):
                self.add(node, "constant", ast.unparse(ast.Constant(value)), function)

    def constant_swaps(self, node):
        value = node.value
        if isinstance(value, bool):
            return [not value]
        if isinstance(value, int):
            return [value + 1]
        if isinstance(value, float):
            return [scaled for scaled in (round(value * f, 6) for f in FLOAT_FACTORS) if scaled != value]
        if isinstance(value, str) and id(node) in self.key_strings:
            return [value + "X"]
        return []


def _is_bare_string(statement):
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) \
        and isinstance(statement.value.value, str)


def _is_store(node):
    return isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del))


def _is_text(node):
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)))


def _is_logging_call(node):
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
        and isinstance(node.func.value, ast.Name) and node.func.value.id in LOGGERS


def _key_strings(node):
    """The string constants directly under ``node`` that act as names, so that changing one
    is a real bug: a subscript (``body["type"]``), the first argument of ``.get()`` and its
    kin, either side of a comparison and the members of a literal compared against
    (``type in ("error", "init")``), a dict literal's keys, and its ``"type"`` value."""
    candidates = []
    if isinstance(node, ast.Subscript):
        candidates.append(node.slice)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr in KEY_METHODS and node.args:
        candidates.append(node.args[0])
    elif isinstance(node, ast.Compare):
        for operand in [node.left] + node.comparators:
            candidates.append(operand)
            if isinstance(operand, (ast.Tuple, ast.List, ast.Set)):
                candidates += operand.elts
    elif isinstance(node, ast.Dict):
        candidates += [key for key in node.keys if key is not None]
        candidates += [value for key, value in zip(node.keys, node.values)
                       if isinstance(key, ast.Constant) and key.value == "type"]
    return {id(c) for c in candidates if isinstance(c, ast.Constant) and isinstance(c.value, str)}


def _constant_members(assign):
    """The strings in a module constant's literal collection (``SERVICES = ("lin-kv", ...)``)."""
    if not all(isinstance(t, ast.Name) and t.id.isupper() for t in assign.targets):
        return set()
    if not isinstance(assign.value, (ast.Tuple, ast.List, ast.Set)):
        return set()
    return {id(e) for e in assign.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}


def select_mutants(mutants, only):
    """The mutants in a line range (``120-180``, ``250``) or in a function (``sync_rpc``,
    ``Node.sync_rpc``; a method's nested functions included)."""
    bounds = re.fullmatch(r"(\d+)(?:-(\d+))?", only)
    if bounds:
        first, last = int(bounds.group(1)), int(bounds.group(2) or bounds.group(1))
        return [m for m in mutants if first <= m.line <= last]
    return [m for m in mutants if only in m.function.split(".")
            or m.function == only or m.function.startswith(only + ".")]


def sample_mutants(mutants_by_file, count, seed):
    """``count`` mutants at random, each file's share in proportion to its mutants."""
    rng = random.Random(seed)
    total = sum(len(m) for m in mutants_by_file.values())
    chosen = []
    for mutants in mutants_by_file.values():
        share = min(len(mutants), round(count * len(mutants) / total)) if total else 0
        chosen += sorted(rng.sample(mutants, share), key=lambda m: m.start)
    return chosen


# ---------------------------------------------------------------- running the suite

@dataclass
class Outcome:
    status: str  # killed, timeout, survived or error
    exit_code: int  # pytest's, or None after a timeout
    seconds: float
    failed: str  # pytest's first FAILED/ERROR line, or why the mutant could not be applied
    output: str


class Plan:
    """How a mutant is tested: the full suite (CI's, or the --tests selection), preceded
    by the quick tests unless those are the whole suite; and the time limit of a run."""

    def __init__(self, full, quick, timeout, test_sources):
        self.full = full
        self.quick = quick  # node ids, quickest first; None when every test is quick
        self.timeout = timeout
        self.test_sources = test_sources  # test file path -> its text, to find who names what

    def quick_tests(self, function):
        """The quick tests, those of files that name ``function`` first (likelier to kill it)."""
        name = function.split(".")[-1]
        naming = {path for path, text in self.test_sources.items() if re.search(r"\b%s\b" % re.escape(name), text)}
        return sorted(self.quick, key=lambda node_id: node_id.split("::")[0] not in naming)


def run_pytest(checkout, args, timeout):
    started = time.monotonic()
    env = {key: value for key, value in os.environ.items() if not key.startswith("GNODE_")}
    # No .pyc: a mutant of the same size as the original, written within the same second,
    # would otherwise be shadowed by the cached original. PYTHONPATH: `import gnode` finds
    # the mutant even where an editable install of the real checkout would be found first.
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(checkout))
    proc = subprocess.Popen(PYTEST + args, cwd=checkout, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # pytest and the nodes it started: one session
        output, _ = proc.communicate()
        return Outcome("timeout", None, time.monotonic() - started, "", output.decode(errors="replace"))
    # 1: tests failed; 2: collection errors; 3: pytest crashed (a broken plugin, say).
    # 4 and 5 (a selection pytest cannot find, or no tests at all) say nothing of the mutant.
    status = {0: "survived", 1: "killed", 2: "killed", 3: "killed"}.get(proc.returncode, "error")
    output = output.decode(errors="replace")
    failed = re.search(r"^(?:FAILED|ERROR) .*$", output, re.MULTILINE)
    return Outcome(status, proc.returncode, time.monotonic() - started,
                   failed.group()[:300] if failed else "", output)


def run_mutant(mutant, base, plan, scratch):
    """Test one mutant in a fresh copy of ``base``; return the mutant and its outcome as a dict."""
    checkout = Path(tempfile.mkdtemp(prefix="mutant-", dir=scratch))
    try:
        shutil.copytree(base, checkout, dirs_exist_ok=True)
        target = checkout / mutant.file
        try:
            target.write_bytes(mutant.apply(target.read_bytes()))
        except MutantError as e:
            return _result(mutant, "apply", Outcome("error", None, 0.0, str(e), ""))
        if plan.quick:
            outcome = run_pytest(checkout, plan.quick_tests(mutant.function), plan.timeout)
            if outcome.status in ("killed", "timeout"):
                return _result(mutant, "quick", outcome)
            # Survived, or pytest could not find the quick tests (a mutant of the plugin can
            # make JSON cases vanish): only the full suite decides.
        return _result(mutant, "full", run_pytest(checkout, plan.full, plan.timeout))
    finally:
        shutil.rmtree(checkout, ignore_errors=True)


def _result(mutant, stage, outcome):
    result = {key: value for key, value in asdict(mutant).items() if key not in ("start", "end")}
    result.update(mutation=mutant.description, stage=stage, status=outcome.status, exit_code=outcome.exit_code,
                  seconds=round(outcome.seconds, 1), failed=outcome.failed)
    if outcome.status == "error":  # the reason is in pytest's last words
        result["output_tail"] = outcome.output.splitlines()[-30:]
    return result


def extract_tree(revision, destination):
    """The committed files of ``revision``, as ``git archive`` gives them, into ``destination``."""
    archive = subprocess.run(["git", "archive", "--format=tar", revision], cwd=ROOT, check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(destination, filter="data")


def measure_unmutated(base, selection, timeout, scratch):
    """Run the suite on the unmutated tree (it must pass) noting each test's time, check the
    quick tests pass on their own, and make the Plan."""
    checkout = Path(tempfile.mkdtemp(prefix="unmutated-", dir=scratch))
    try:
        shutil.copytree(base, checkout, dirs_exist_ok=True)
        outcome = run_pytest(checkout, selection + ["--durations=0", "--durations-min=0"], timeout or 3600)
        if outcome.status != "survived":
            sys.exit("the unmutated suite does not pass (%s), so no mutant can be judged:\n%s"
                     % (outcome.status, "\n".join(outcome.output.splitlines()[-30:])))
        durations = {}
        for seconds, node_id in re.findall(r"^([\d.]+)s (?:setup|call|teardown) +(.+)$", outcome.output, re.MULTILINE):
            durations[node_id] = durations.get(node_id, 0.0) + float(seconds)
        limit = timeout or 2 * outcome.seconds + 30
        quick = sorted((node_id for node_id, seconds in durations.items() if seconds < QUICK_TEST_SECONDS),
                       key=durations.get)
        if len(quick) == len(durations):
            quick = None
        else:
            check = run_pytest(checkout, quick, limit)
            if check.status != "survived":
                sys.exit("the quick tests do not pass on their own on the unmutated tree (%s):\n%s"
                         % (check.status, "\n".join(check.output.splitlines()[-30:])))
        test_files = {node_id.split("::")[0] for node_id in durations if node_id.split("::")[0].endswith(".py")}
        sources = {path: (checkout / path).read_text(encoding="utf-8") for path in test_files}
        print("unmutated suite: %d tests in %.0f s; quick stage: %d tests; time limit per run %.0f s"
              % (len(durations), outcome.seconds, len(quick or durations), limit), flush=True)
        return Plan(selection, quick, limit, sources)
    finally:
        shutil.rmtree(checkout, ignore_errors=True)


# ---------------------------------------------------------------- the report

def counts(results):
    statuses = [r["status"] for r in results]
    killed = statuses.count("killed") + statuses.count("timeout")
    survived = statuses.count("survived")
    return {"mutants": len(results), "killed": killed, "of_which_timeout": statuses.count("timeout"),
            "survived": survived, "error": statuses.count("error"),
            "score": round(killed / (killed + survived), 3) if killed + survived else None}


def write_report(path, run, results):
    """The JSON report and, beside it, the readable summary (also returned)."""
    results = sorted(results, key=lambda r: (r["file"], r["line"], r["kind"], r["replacement"]))
    totals = counts(results)
    path.write_text(json.dumps({"run": run, "counts": totals, "results": results}, indent=1) + "\n")
    lines = ["Mutation run of %s over %s: %d of %d mutants%s"
             % (run["revision"][:12], ", ".join(run["files"]), totals["mutants"], sum(run["generated"].values()),
                " (sample, seed %s)" % run["seed"] if run["sample"] else ""),
             "killed %(killed)d (%(of_which_timeout)d by timeout), survived %(survived)d, error %(error)d" % totals,
             "", "Survivors (file:line  function  kind  mutation):"]
    lines += ["  %s:%d  %s  %s  %s" % (r["file"], r["line"], r["function"], r["kind"], r["mutation"])
              for r in results if r["status"] == "survived"] or ["  none"]
    errors = [r for r in results if r["status"] == "error"]
    if errors:
        lines += ["", "Errors (the mutant says nothing; see output_tail in the JSON):"]
        lines += ["  %s:%d  %s  %s" % (r["file"], r["line"], r["mutation"], r["failed"]) for r in errors]
    lines += ["", "Never mutated (equivalent by construction):"] + ["  " + rule for rule in SKIPPED]
    summary = "\n".join(lines) + "\n"
    path.with_suffix(".txt").write_text(summary)
    return summary


# ---------------------------------------------------------------- command line

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", action="append", metavar="PATH",
                        help="a file to mutate, relative to the checkout; may be repeated "
                             "(default: %s)" % " and ".join(DEFAULT_FILES))
    parser.add_argument("--rev", default="HEAD", help="the commit whose tree is tested (default: HEAD)")
    parser.add_argument("--only", metavar="LINES|FUNCTION",
                        help="only mutants on these lines (120-180) or in this function (sync_rpc)")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="N mutants at random, each file's share in proportion to its mutants")
    parser.add_argument("--seed", type=int, default=0, help="the sample's random seed (default: 0)")
    parser.add_argument("--limit", type=int, metavar="N", help="at most the first N mutants (after --sample)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants tested at once (default: 1)")
    parser.add_argument("--tests", default="", metavar="ARGS",
                        help="the pytest selection that is the full suite, as one string "
                             "(default: the configured testpaths)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="time limit of one pytest run (default: twice the unmutated suite's, plus 30 s)")
    parser.add_argument("--report", type=Path, metavar="PATH.json",
                        help="where the JSON report goes; the summary goes beside it as .txt "
                             "(default: bench/results/mutation-DATE.json)")
    parser.add_argument("--list", action="store_true", help="list the chosen mutants and run nothing")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    files = args.file or list(DEFAULT_FILES)
    revision = subprocess.run(["git", "rev-parse", "--verify", args.rev + "^{commit}"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    scratch = Path(tempfile.mkdtemp(prefix="gnode-mutate-"))
    try:
        base = scratch / "base"
        extract_tree(revision, base)
        mutants_by_file = {}
        for file in files:
            mutants = find_mutants(file, (base / file).read_bytes())
            mutants_by_file[file] = select_mutants(mutants, args.only) if args.only else mutants
        if args.sample:
            chosen = sample_mutants(mutants_by_file, args.sample, args.seed)
        else:
            chosen = [m for mutants in mutants_by_file.values() for m in mutants]
        chosen = chosen[:args.limit] if args.limit else chosen
        if args.list:
            for m in chosen:
                print("%s  %s  %s  %s" % (m.where, m.function, m.kind, m.description))
            print("%d of %d mutants" % (len(chosen), sum(len(m) for m in mutants_by_file.values())))
            return
        report = args.report or ROOT / "bench" / "results" / time.strftime("mutation-%Y%m%d-%H%M%S.json")
        report.parent.mkdir(parents=True, exist_ok=True)
        started = time.time()
        plan = measure_unmutated(base, shlex.split(args.tests), args.timeout, scratch)
        run = {"revision": revision, "files": files, "generated": {f: len(m) for f, m in mutants_by_file.items()},
               "only": args.only, "sample": args.sample, "seed": args.seed, "limit": args.limit, "jobs": args.jobs,
               "tests": args.tests, "timeout": plan.timeout, "quick_tests": len(plan.quick or []),
               "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)), "minutes": None}
        results = []
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            futures = [pool.submit(run_mutant, m, base, plan, scratch) for m in chosen]
            for future in concurrent.futures.as_completed(futures):
                result = future.result()
                results.append(result)
                run["minutes"] = round((time.time() - started) / 60, 1)
                write_report(report, run, results)  # after each mutant: a run stopped early still tells
                print("[%d/%d] %-8s %s:%d  %s  %s  (%.0f s, %s)"
                      % (len(results), len(chosen), result["status"], result["file"], result["line"],
                         result["function"], result["mutation"], result["seconds"], result["stage"]), flush=True)
        print("\n" + write_report(report, run, results) + "report: %s (summary: %s)" % (report, report.with_suffix(".txt")))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
