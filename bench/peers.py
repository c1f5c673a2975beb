#!/usr/bin/env python3
"""Maelstrom's own demo echo nodes, ready to run beside gnode in bench/run.py.

    python3 bench/peers.py prepare --maelstrom GIT_DIR_OR_CHECKOUT [--into DIR] [--only go,js]
    python3 bench/peers.py list [--into DIR]
    python3 bench/run.py --only echo-open,echo-closed,startup --peers DIR

``prepare`` takes ``demo/go``, ``demo/js``, ``demo/ruby`` and ``demo/python`` from a
Maelstrom checkout (copied from its work tree) or git directory (a bare mirror works:
``git archive HEAD``), into DIR (default ``~/.cache/gnode-peers``; never into this
repository: the demos are Maelstrom's code, not ours), builds the Go echo binary with
``go build`` (offline: the demo module has no dependencies, and ``GOPROXY=off`` makes sure
nothing is downloaded), checks that ``node``, ``ruby`` and ``python3`` are on PATH, runs
each peer once through the bench's own checks (``init``, then 20 echoes, then stdin's end),
and writes DIR/peers.json, which ``bench/run.py --peers DIR`` reads. A peer that cannot be
built or fails its check is skipped with the reason. It prints each peer's ``--peer``
argument for bench/run.py; ``list`` prints them again.

Each peer is run as Maelstrom runs a node: its executable directly (the JS, Ruby and Python
demos through their shebangs, ``#!/usr/bin/env node`` and so on, with whatever is first on
PATH), cwd /tmp, pipes.
"""
import argparse
import datetime
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_INTO = os.path.join(os.path.expanduser("~"), ".cache", "gnode-peers")
MANIFEST = "peers.json"
GO_BINARY = "maelstrom-echo"

# name -> (column label, the interpreter its shebang needs or None, the executable in DIR)
PEERS = {
    "go": ("go demo", None, GO_BINARY),
    "js": ("js demo", "node", os.path.join("demo", "js", "echo.js")),
    "ruby": ("ruby demo", "ruby", os.path.join("demo", "ruby", "echo.rb")),
    "python": ("python demo", "python3", os.path.join("demo", "python", "echo.py")),
}
SMOKE_ECHOES = 20


def say(text):
    print(text, flush=True)


def git(source, *args):
    """Run git on ``source`` (a git directory, bare or not, or a work tree)."""
    where = ["--git-dir", source] if not os.path.exists(os.path.join(source, ".git")) else ["-C", source]
    return subprocess.run(["git"] + where + list(args), capture_output=True, timeout=120)


def extract(source, into, names):
    """Put demo/<name> of ``source`` under into/demo/; -> (commit or None, {name: why missing})."""
    missing = {}
    demo = os.path.join(into, "demo")
    if os.path.isdir(os.path.join(source, "demo")):  # a checkout: its work tree as it is
        commit = git(source, "rev-parse", "HEAD")
        commit = commit.stdout.decode().strip() if commit.returncode == 0 else None
        for name in names:
            src = os.path.join(source, "demo", name)
            if os.path.isdir(src):
                shutil.copytree(src, os.path.join(demo, name))
            else:
                missing[name] = "%s has no demo/%s" % (source, name)
        return commit, missing
    head = git(source, "rev-parse", "HEAD")
    if head.returncode != 0:
        raise SystemExit("peers.py: %s is neither a Maelstrom checkout (no demo/ folder) nor a git "
                         "directory: %s" % (source, head.stderr.decode().strip()))
    commit = head.stdout.decode().strip()
    listed = git(source, "ls-tree", "--name-only", "HEAD", "demo/").stdout.decode().split()
    present = [name for name in names if "demo/" + name in listed]
    for name in names:
        if name not in present:
            missing[name] = "%s has no demo/%s at %s" % (source, name, commit[:12])
    if present:
        archive = git(source, "archive", "--format=tar", "HEAD", *["demo/" + name for name in present])
        if archive.returncode != 0:
            raise SystemExit("peers.py: git archive failed: %s" % archive.stderr.decode().strip())
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(into, filter="data")
            else:
                tar.extractall(into)
    return commit, missing


def build_go(into):
    """go build the demo's cmd/maelstrom-echo into into/maelstrom-echo; -> None or why not."""
    go = shutil.which("go")
    if not go:
        return "go is not on PATH (Debian: apt-get install golang-go)"
    env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", GOTOOLCHAIN="local", GO111MODULE="on")
    done = subprocess.run([go, "build", "-o", os.path.join(into, GO_BINARY), "./cmd/maelstrom-echo"],
                          cwd=os.path.join(into, "demo", "go"), env=env, capture_output=True, timeout=600)
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip()
        hint = (" (the module needs downloads, which GOPROXY=off refuses)"
                if "GOPROXY" in err or "module lookup disabled" in err else "")
        return "go build failed%s: %s" % (hint, err[-1500:])
    return None


def smoke(label, argv):
    """Start the peer as the bench does, init it, run SMOKE_ECHOES checked echoes, close its
    stdin; -> None, or what went wrong (the bench's own words)."""
    sys.path.insert(0, HERE)
    import run as bench  # bench/run.py: the same start, checks and ending as in a real run
    try:
        impl = {"key": "peer", "label": label, "argv": bench.resolve_command(argv)}
        node = bench.start_node(impl)
        try:
            bench.echo_loop(node, SMOKE_ECHOES, 4, "c9", "smoke test", 30)
        except BaseException as e:
            raise node.aborted(e)
        node.finish()
    except (bench.BenchFailure, SystemExit) as e:  # SystemExit: not found or not executable
        return str(e)
    return node.exit_problem and "%s %s" % (label, node.exit_problem)


def prepare(cfg):
    into = os.path.abspath(os.path.expanduser(cfg.into))
    if into == REPO or into.startswith(REPO + os.sep):
        raise SystemExit("peers.py: --into %s is inside this repository; Maelstrom's demos must stay "
                         "outside it" % into)
    source = os.path.abspath(os.path.expanduser(cfg.maelstrom))
    names = cfg.only
    os.makedirs(into, exist_ok=True)
    shutil.rmtree(os.path.join(into, "demo"), ignore_errors=True)
    if os.path.exists(os.path.join(into, GO_BINARY)):
        os.remove(os.path.join(into, GO_BINARY))
    commit, skipped = extract(source, into, names)
    say("Maelstrom %s%s -> %s" % (source, " at %s" % commit[:12] if commit else "", into))
    peers = []
    for name in names:
        if name in skipped:
            continue
        label, interpreter, exe = PEERS[name]
        path = os.path.join(into, exe)
        if name == "go":
            say("building the Go echo node (go build, GOPROXY=off) ...")
            why = build_go(into)
        elif not shutil.which(interpreter):
            why = "%s is not on PATH (its shebang needs it)" % interpreter
        else:
            why = None
            os.chmod(path, os.stat(path).st_mode | 0o111)  # executable, as Maelstrom needs
        if why is None:
            why = smoke(label, [path])
        if why:
            skipped[name] = why
            continue
        peers.append({"name": name, "label": label, "argv": [path]})
        say("  %-7s ok: %s" % (name, path))
    for name, why in skipped.items():
        say("  %-7s SKIPPED: %s" % (name, why))
    manifest = {"maelstrom": source, "commit": commit,
                "prepared": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "peers": peers, "skipped": skipped}
    with open(os.path.join(into, MANIFEST), "w") as f:
        json.dump(manifest, f, indent=1)
    say("wrote %s" % os.path.join(into, MANIFEST))
    print_peers(into, manifest)
    return 0 if peers else 1


def load(into):
    """The peers that ``prepare`` built in ``into``: [{"name", "label", "argv"}]."""
    path = os.path.join(os.path.abspath(os.path.expanduser(into)), MANIFEST)
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise SystemExit("no %s (%s): run python3 bench/peers.py prepare --into %s first"
                         % (path, e.strerror, into)) from None


def print_peers(into, manifest):
    import shlex
    say("\nrun them beside gnode with\n  python3 bench/run.py --peers %s\nor one by one:" % shlex.quote(into))
    for peer in manifest["peers"]:
        say("  --peer %s" % shlex.quote("%s=%s" % (peer["label"], " ".join(map(shlex.quote, peer["argv"])))))


def main(argv=None):
    p = argparse.ArgumentParser(prog="bench/peers.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    pre = sub.add_parser("prepare", help="extract, build and check the demo echo nodes")
    pre.add_argument("--maelstrom", default=os.environ.get("MAELSTROM_SRC"), metavar="GIT_DIR_OR_CHECKOUT",
                     help="a Maelstrom checkout or git directory (default: $MAELSTROM_SRC)")
    pre.add_argument("--into", default=DEFAULT_INTO, metavar="DIR", help="default: %(default)s")
    pre.add_argument("--only", default=",".join(PEERS), metavar="NAME[,NAME...]",
                     help="which demos (default: %(default)s)")
    lst = sub.add_parser("list", help="print the --peer arguments of what prepare built")
    lst.add_argument("--into", default=DEFAULT_INTO, metavar="DIR", help="default: %(default)s")
    cfg = p.parse_args(argv)
    if cfg.command == "list":
        manifest = load(cfg.into)
        for name, why in manifest.get("skipped", {}).items():
            say("%s: skipped: %s" % (name, why))
        print_peers(cfg.into, manifest)
        return 0
    if not cfg.maelstrom:
        p.error("prepare needs --maelstrom GIT_DIR_OR_CHECKOUT (or $MAELSTROM_SRC)")
    cfg.only = [name.strip() for name in cfg.only.split(",") if name.strip()]
    for name in cfg.only:
        if name not in PEERS:
            p.error("unknown demo %r (choose from %s)" % (name, ", ".join(PEERS)))
    return prepare(cfg)


if __name__ == "__main__":
    sys.exit(main())
