"""The node as a process, for what a JSON fixture cannot express: start-up, plugins,
signals, huge lines, and being run exactly as Maelstrom runs it."""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import time

import pytest

from helpers import GNODE, INIT, INIT_OK, ROOT, LiveNode, echo, line, node_env, output, run_node

HANDLERS = str(ROOT / "handlers")
TEST_HANDLERS = str(ROOT / "tests" / "handlers")


def test_runs_as_maelstrom_runs_it_executable_by_absolute_path_from_tmp(tmp_path):
    # Maelstrom runs the --bin file itself (shebang, run bit), symlinks resolved, cwd /tmp.
    link = tmp_path / "node"
    link.symlink_to(GNODE)
    env = {"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    done = run_node(line(INIT) + line(echo(2, "via shebang")), command=[str(link.resolve())], env=env)
    assert os.access(GNODE, os.X_OK)
    assert done.returncode == 0, done.stderr.decode()
    assert output(done)[1]["body"] == {"type": "echo_ok", "echo": "via shebang", "in_reply_to": 2, "msg_id": 1}


def test_run_directly_it_is_loaded_as_a_module_whose_byte_code_is_cached(tmp_path):
    # start-up: compiled once into __pycache__, not on every start as a script would be
    (tmp_path / "gnode.py").write_bytes(GNODE.read_bytes())
    (tmp_path / "gnode.py").chmod(0o755)
    shutil.copytree(ROOT / "handlers", tmp_path / "handlers")
    env = {key: value for key, value in node_env().items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    tag = sys.implementation.cache_tag

    def start():
        done = subprocess.run([str(tmp_path / "gnode.py")], input=line(INIT) + line(echo(2, "cached")),
                              capture_output=True, cwd="/tmp", env=env, timeout=20)
        assert done.returncode == 0 and output(done)[1]["body"]["echo"] == "cached", done.stderr.decode()

    start()
    cached = tmp_path / "__pycache__" / ("gnode.%s.pyc" % tag)
    assert cached.exists()
    written = cached.stat().st_mtime_ns
    start()
    assert cached.stat().st_mtime_ns == written  # read, not written again
    helped = subprocess.run([str(tmp_path / "gnode.py"), "--help"], capture_output=True, env=env, timeout=20)
    assert helped.returncode == 0 and helped.stdout.decode().startswith("usage: gnode [-h]")


def test_the_module_keeps_its_docstring_under_the_shell_line():
    import gnode
    assert gnode.__doc__.startswith("gnode: Maelstrom nodes in plain, blocking Python")


def test_a_one_mebibyte_line_is_echoed_whole():
    payload = "x" * (1 << 20)
    done = run_node(line(INIT) + line(echo(2, payload)))
    assert output(done)[1]["body"]["echo"] == payload


def test_gnode_handlers_lists_folders_separated_like_path():
    folders = os.pathsep.join([HANDLERS, TEST_HANDLERS])
    done = run_node(line(INIT) + line(echo(2, "a")) + line({"src": "c1", "dest": "n1", "body": {"type": "refuse", "msg_id": 3}}),
                    env={"GNODE_HANDLERS": folders})
    bodies = [m["body"] for m in output(done)]
    assert bodies[1]["type"] == "echo_ok" and bodies[2]["code"] == 1001


def test_handlers_flag_wins_over_the_environment():
    # The environment's folder is not loaded at all: its "crash" handler is unknown.
    crash = {"src": "c1", "dest": "n1", "body": {"type": "crash", "msg_id": 3}}
    done = run_node(line(INIT) + line(echo(2, "a")) + line(crash), "--handlers", HANDLERS,
                    env={"GNODE_HANDLERS": TEST_HANDLERS})
    bodies = [m["body"] for m in output(done)]
    assert bodies[1]["type"] == "echo_ok"
    assert bodies[2] == {"type": "error", "code": 10, "text": "no handler for type 'crash'", "in_reply_to": 3, "msg_id": 2}


def test_two_handlers_for_one_type_stop_the_start_naming_both_files(plugin_dir):
    folder = plugin_dir({
        "a.py": "from gnode import handler\n@handler('echo')\ndef one(node, msg):\n    pass\n",
        "b.py": "from gnode import handler\n@handler('echo')\ndef two(node, msg):\n    pass\n"})
    done = run_node(line(INIT), "--handlers", str(folder))
    assert done.returncode != 0 and done.stdout == b""
    err = done.stderr.decode()
    assert 'two handlers for "echo"' in err and str(folder / "a.py") in err and str(folder / "b.py") in err


def test_a_plugin_that_fails_to_import_stops_the_start_naming_it(plugin_dir):
    folder = plugin_dir({"broken.py": "import no_such_module_here\n"})
    done = run_node(line(INIT), "--handlers", str(folder))
    assert done.returncode != 0 and done.stdout == b""
    err = done.stderr.decode()
    assert "broken.py failed to import" in err and "no_such_module_here" in err


def test_a_missing_handlers_folder_stops_the_start(tmp_path):
    done = run_node(line(INIT), "--handlers", str(tmp_path / "nowhere"))
    assert done.returncode != 0 and done.stdout == b""
    assert "nowhere does not exist" in done.stderr.decode()


def test_a_bad_rpc_timeout_stops_the_start():
    done = run_node(line(INIT), env={"GNODE_RPC_TIMEOUT": "soon"})
    assert done.returncode != 0 and "positive number of seconds" in done.stderr.decode()


def test_underscore_modules_are_helpers_that_plugins_can_import(plugin_dir):
    folder = plugin_dir({
        "_shared.py": "from gnode import handler\nGREETING = 'hi'\n@handler('never')\ndef never(node, msg):\n    pass\n",
        "greet.py": "from gnode import handler\nfrom _shared import GREETING\n"
                    "@handler('greet')\ndef greet(node, msg):\n    return {'type': 'greet_ok', 'text': GREETING}\n"})
    done = run_node(line(INIT) + line({"src": "c1", "dest": "n1", "body": {"type": "greet", "msg_id": 2}}),
                    "--handlers", str(folder))
    assert output(done)[1]["body"] == {"type": "greet_ok", "text": "hi", "in_reply_to": 2, "msg_id": 1}


def test_underscore_modules_are_not_loaded_unless_a_plugin_imports_them(plugin_dir):
    # No plugin imports _unused: had the node loaded it, it would say so and handle "unused".
    folder = plugin_dir({
        "_unused.py": "import sys\nfrom gnode import handler\nsys.stderr.write('_unused was loaded\\n')\n"
                      "@handler('unused')\ndef unused(node, msg):\n    return {'type': 'unused_ok'}\n",
        "echo.py": (ROOT / "handlers" / "echo.py").read_text()})
    done = run_node(line(INIT) + line({"src": "c1", "dest": "n1", "body": {"type": "unused", "msg_id": 2}}),
                    "--handlers", str(folder))
    assert done.returncode == 0 and "_unused was loaded" not in done.stderr.decode(), done.stderr.decode()
    assert output(done)[1]["body"] == {"type": "error", "code": 10, "text": "no handler for type 'unused'",
                                       "in_reply_to": 2, "msg_id": 1}


def test_an_init_hook_runs_with_the_node_id_known_and_init_ok_still_comes(plugin_dir):
    folder = plugin_dir({"hook.py": "from gnode import handler\n"
                         "@handler('init')\ndef start(node, msg):\n"
                         "    node.send('n2', {'type': 'hello', 'from': node.id, 'peers': node.node_ids})\n"})
    done = run_node(line(INIT), "--handlers", str(folder))
    assert output(done) == [
        {"src": "n1", "dest": "n2", "body": {"type": "hello", "from": "n1", "peers": ["n1", "n2"], "msg_id": 0}},
        {"src": "n1", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 1, "msg_id": 1}}]


def _started_node(*args):
    proc = subprocess.Popen([sys.executable, str(GNODE)] + list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd="/tmp", env=node_env())
    proc.stdin.write(line(INIT))
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline()) == INIT_OK
    return proc


def test_sigterm_and_sigint_end_the_node_promptly_and_quietly():
    for signum in (signal.SIGTERM, signal.SIGINT):
        proc = _started_node()
        proc.send_signal(signum)
        assert proc.wait(timeout=5) == 0
        err = proc.stderr.read().decode()
        assert len(err.splitlines()) == 1 and "got %s; exiting" % signal.Signals(signum).name in err, err


def test_stdout_closed_by_its_reader_ends_the_node_quietly():
    proc = _started_node()
    proc.stdout.close()
    proc.stdin.write(line(echo(2, "into the void")))
    proc.stdin.flush()
    assert proc.wait(timeout=5) == 0
    err = proc.stderr.read().decode()
    assert len(err.splitlines()) == 1 and "stdout was closed by its reader" in err, err


def test_stdin_idle_does_not_stop_timers_or_output():
    # The node must answer and time out while nothing more comes on stdin.
    proc = _started_node()
    proxy = {"src": "c1", "dest": "n1", "body": {"type": "proxy", "msg_id": 2, "target": "n2",
                                                  "inner": {"type": "echo", "echo": "?"}}}
    proc.stdin.write(line(proxy))
    proc.stdin.flush()
    forwarded = json.loads(proc.stdout.readline())
    assert forwarded["dest"] == "n2"
    ready, _, _ = select.select([proc.stdout], [], [], 10)
    assert ready, "no timeout error while stdin stayed open"
    assert json.loads(proc.stdout.readline())["body"]["code"] == 0
    proc.stdin.close()
    assert proc.wait(timeout=5) == 0


def test_a_sync_rpc_timeout_never_fires_early():
    # Timed from before the request is written, so every delay of the node or of this
    # machine makes the measured wait longer, never shorter: this bound cannot flake.
    proc = _started_node("--handlers", TEST_HANDLERS)
    proxy = {"src": "c1", "dest": "n1", "body": {"type": "proxy_within", "msg_id": 2, "target": "n2",
                                                  "timeout": 1.5, "inner": {"type": "echo", "echo": "?"}}}
    sent = time.monotonic()
    proc.stdin.write(line(proxy))
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline())["dest"] == "n2"
    ready, _, _ = select.select([proc.stdout], [], [], 10)
    assert ready, "no timeout error within 10 s"
    error = json.loads(proc.stdout.readline())["body"]
    waited = time.monotonic() - sent
    assert error["code"] == 0 and waited >= 1.5, "the 1.5 s timeout fired after %.3f s: %s" % (waited, error)
    proc.stdin.close()
    assert proc.wait(timeout=5) == 0


def test_the_console_script_of_the_set_up_environment_runs_the_same_node():
    # The README's set-up installs gnode (editable) into whichever environment runs it:
    # a virtualenv or the interpreter's own. Its console script is in that environment's bin.
    script = os.path.join(sysconfig.get_path("scripts"), "gnode")
    assert os.access(script, os.X_OK), "no gnode console script at %s: run the README's set-up" % script
    done = run_node(line(INIT) + line(echo(2, "console")), command=[script])
    assert done.returncode == 0, done.stderr.decode()
    assert output(done) == [INIT_OK, {"src": "n1", "dest": "c1", "body": {"type": "echo_ok", "echo": "console",
                                                                          "in_reply_to": 2, "msg_id": 1}}]


def test_a_last_line_without_a_newline_is_still_handled():
    done = run_node(line(INIT) + json.dumps(echo(2, "no newline")).encode(), timeout=10)
    assert output(done)[1]["body"] == {"type": "echo_ok", "echo": "no newline", "in_reply_to": 2, "msg_id": 1}
    assert "abandoned" not in done.stderr.decode()


def test_lines_nested_too_deeply_or_with_nan_are_bad_input_not_a_crash():
    deep = b"[" * 100_000 + b"\n"
    nan = b'{"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 4, "echo": NaN}}\n'
    stray = b'{"src": "n2", "dest": "n1", "body": {"type": "x_ok", "in_reply_to": 77, "v": 1e999}}\n'
    # Written by hand: json.dumps of so deep a list hits the C recursion limit. 100,000 deep,
    # as 3.13's parser takes 5,000 (3.11's stops short of 1,000).
    deep_echo = b'{"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 3, "echo": ' \
        + b"[" * 100_000 + b"1" + b"]" * 100_000 + b"}}\n"
    done = run_node(line(INIT) + deep + deep_echo + nan + stray + line(echo(5, "fine")))
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    # The deep lines and the NaN cannot be parsed, and the stray answer is dropped: only "fine" is answered.
    assert output(done) == [INIT_OK, {"src": "n1", "dest": "c1", "body": {
        "type": "echo_ok", "echo": "fine", "in_reply_to": 5, "msg_id": 1}}]
    err = done.stderr.decode()
    assert "input line 2 ignored: nested too deeply" in err and "input line 3 ignored: nested too deeply" in err
    assert "input line 4 ignored: not JSON (NaN is not JSON)" in err


def test_print_at_the_top_of_a_plugin_file_goes_to_stderr(plugin_dir):
    folder = plugin_dir({"noisy.py": "print('loading noisy handlers', flush=True)\n"})
    done = run_node(line(INIT), "--handlers", str(folder), env={"PYTHONUNBUFFERED": "1"})
    assert output(done) == [INIT_OK]
    assert "loading noisy handlers" in done.stderr.decode()


def test_a_plugin_can_import_a_sibling_plugin_and_gets_the_same_module(plugin_dir):
    folder = plugin_dir({
        "kv.py": "from gnode import handler\nSTORE = {}\n"
                 "@handler('put')\ndef put(node, msg):\n    STORE[msg.body['k']] = msg.body['v']\n"
                 "    return {'type': 'put_ok'}\n",
        "txn.py": "from gnode import handler\nfrom kv import STORE\n"
                  "@handler('get')\ndef get(node, msg):\n    return {'type': 'get_ok', 'v': STORE.get(msg.body['k'])}\n"})
    put = {"src": "c1", "dest": "n1", "body": {"type": "put", "msg_id": 2, "k": "a", "v": 7}}
    get = {"src": "c1", "dest": "n1", "body": {"type": "get", "msg_id": 3, "k": "a"}}
    done = run_node(line(INIT) + line(put) + line(get), "--handlers", str(folder))
    assert done.returncode == 0, done.stderr.decode()
    assert output(done)[2]["body"] == {"type": "get_ok", "v": 7, "in_reply_to": 3, "msg_id": 2}


def test_installed_as_a_package_gnode_asks_for_a_handlers_folder(tmp_path):
    site = tmp_path / "lib" / "site-packages"
    site.mkdir(parents=True)
    (site / "gnode.py").write_text(GNODE.read_text())
    (site / "handlers").mkdir()  # some other package's: must not be taken for gnode's plugins
    done = run_node(line(INIT), command=[sys.executable, str(site / "gnode.py")])
    assert done.returncode != 0 and done.stdout == b""
    assert "installed as a package" in done.stderr.decode() and "GNODE_HANDLERS" in done.stderr.decode()


def test_an_init_hook_that_fails_answers_an_error_and_the_node_carries_on(plugin_dir):
    folder = plugin_dir({"hook.py": "from gnode import handler\n"
                         "@handler('init')\ndef start(node, msg):\n    raise RuntimeError('no start')\n",
                         "echo.py": (ROOT / "handlers" / "echo.py").read_text()})
    early = echo(2, "held before init")
    done = run_node(line(early) + line(INIT) + line(echo(3, "after")), "--handlers", str(folder))
    bodies = [m["body"] for m in output(done)]
    assert bodies[0] == {"type": "error", "code": 13, "text": "RuntimeError: no start", "in_reply_to": 1, "msg_id": 0}
    assert [b.get("echo") for b in bodies[1:]] == ["held before init", "after"]


def test_at_end_of_input_a_background_call_does_not_cut_a_running_handler_short(plugin_dir):
    folder = plugin_dir({"gossip.py": "import gevent\nfrom gnode import RPCError, handler\n"
                         "def gossip(node):\n    while True:\n        try:\n"
                         "            node.sync_rpc('n2', {'type': 'gossip'}, timeout=30)\n"
                         "        except RPCError:\n            pass\n"
                         "@handler('init')\ndef start(node, msg):\n    node.spawn(gossip, node)\n"
                         "@handler('work')\ndef work(node, msg):\n    gevent.sleep(0.3)\n    return {'type': 'work_ok'}\n"})
    work = {"src": "c1", "dest": "n1", "body": {"type": "work", "msg_id": 2}}
    done = run_node(line(INIT) + line(work), "--handlers", str(folder))
    assert [m["body"]["type"] for m in output(done)] == ["init_ok", "gossip", "work_ok"]


def test_init_ok_is_sent_however_long_the_init_hook_takes(plugin_dir):
    # Maelstrom waits 10 s for init_ok, unlike its clients' 5 s: the late-answer rule spares init.
    folder = plugin_dir({"slow.py": "import time\nfrom gnode import handler\n"
                         "@handler('init')\ndef start(node, msg):\n    time.sleep(4.2)\n"})
    done = run_node(line(INIT), "--handlers", str(folder))
    assert output(done) == [INIT_OK], done.stderr.decode()


def test_a_plugin_can_import_a_sibling_that_comes_later_in_name_order(plugin_dir):
    folder = plugin_dir({
        "alpha.py": "from gnode import handler\nimport zeta\n"
                    "@handler('a')\ndef a(node, msg):\n    return {'type': 'a_ok', 'z': zeta.VALUE}\n",
        "zeta.py": "from gnode import handler\nVALUE = 26\n"
                   "@handler('z')\ndef z(node, msg):\n    return {'type': 'z_ok'}\n"})
    ask = {"src": "c1", "dest": "n1", "body": {"type": "a", "msg_id": 2}}
    done = run_node(line(INIT) + line(ask), "--handlers", str(folder))
    assert done.returncode == 0, done.stderr.decode()
    assert output(done)[1]["body"] == {"type": "a_ok", "z": 26, "in_reply_to": 2, "msg_id": 1}


def test_values_nested_just_shallow_enough_to_parse_cannot_kill_the_node():
    # Deep enough that showing them in a log line or an error would overflow the stack.
    lines = [line(INIT)]
    for depth in range(975, 1000, 2):
        lines.append(b'{"src":"c1","dest":"n1","body":' + b"[" * depth + b"]" * depth + b"}\n")
        lines.append(b'{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":%d,"echo":' % depth
                     + b"[" * depth + b"]" * depth + b"}}\n")
    done = run_node(b"".join(lines) + line(echo(5000, "alive")))
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert json.loads(done.stdout.splitlines()[-1])["body"]["echo"] == "alive"


def test_init_runs_once_an_init_answer_is_ignored_and_a_second_init_refused():
    stray = {"src": "n2", "dest": "n1", "body": {"type": "init", "in_reply_to": 0, "node_id": "zz", "node_ids": ["zz"]}}
    again = {"src": "c9", "dest": "n1", "body": {"type": "init", "msg_id": 1, "node_id": "zz", "node_ids": ["zz"]}}
    done = run_node(line(INIT) + line(stray) + line(again) + line(echo(2, "still n1")))
    out = output(done)
    assert all(m["src"] == "n1" for m in out)
    assert out[1]["body"] == {"type": "error", "code": 12, "text": "already initialised as n1", "in_reply_to": 1, "msg_id": 1}
    assert out[2]["body"]["echo"] == "still n1"


@pytest.mark.parametrize("timeout, error", [("1", "TypeError"), (0, "ValueError"), (-1, "ValueError")])
def test_a_call_whose_timeout_is_not_a_positive_number_fails_and_leaves_no_call_pending(timeout, error):
    # Had the failed call stayed in the table of pending calls, the end of input would count
    # a handler still waiting and hold the exit for its 5 s grace ("abandoned" on stderr).
    call = {"src": "c1", "dest": "n1", "body": {"type": "proxy_within", "msg_id": 2, "target": "n2",
                                                 "timeout": timeout, "inner": {"type": "echo", "echo": "a"}}}
    short = {"src": "c1", "dest": "n1", "body": {"type": "proxy_within", "msg_id": 3, "target": "n2",
                                                  "timeout": 0.1, "inner": {"type": "echo", "echo": "b"}}}
    done = run_node(line(INIT) + line(call) + line(short), "--handlers", HANDLERS, "--handlers", TEST_HANDLERS,
                    timeout=20)
    answers = output(done)
    assert answers[1]["body"]["code"] == 13 and error in answers[1]["body"]["text"], answers
    assert answers[-1]["dest"] == "n2" and answers[-1]["body"]["echo"] == "b"  # the next call goes out
    assert done.returncode == 0 and "abandoned" not in done.stderr.decode()


def test_after_start_up_patching_a_plugin_can_still_wrap_a_socket_in_tls():
    # With socket patched and ssl not, the stdlib's SSLSocket would sit on gevent's socket
    # class and no socket could be wrapped: the start-up must patch both or neither.
    code = ("import socket, ssl, gnode; gnode._set_up_gevent(); "
            "ssl.create_default_context().wrap_socket(socket.socketpair()[0], server_hostname='x', "
            "do_handshake_on_connect=False); print('wrapped')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30, cwd=str(ROOT),
                          env=node_env())
    assert done.stdout.strip() == b"wrapped", done.stderr.decode()[-2000:]


def test_start_up_patches_the_standard_library_without_searching_installed_packages_for_gevent_plugins():
    # The search is importlib.metadata.entry_points, once per patch event: count its calls.
    code = ("import importlib.metadata as metadata, gnode, time\n"
            "searches = []\n"
            "real = metadata.entry_points\n"
            "metadata.entry_points = lambda **kw: searches.append(kw) or real(**kw)\n"
            "gnode._set_up_gevent()\n"
            "from gevent import monkey\n"
            "print(len(searches), monkey.is_module_patched('time'), monkey.is_module_patched('socket'))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30, cwd=str(ROOT),
                          env=node_env())
    assert done.stdout.split() == [b"0", b"True", b"True"], done.stderr.decode()[-2000:]


def test_start_up_freezes_its_objects_once_the_plugins_are_loaded_and_spaces_young_collections(plugin_dir):
    folder = plugin_dir({"frozen.py": "import gc\nfrom gnode import handler\nAT_IMPORT = gc.get_freeze_count()\n"
                         "@handler('frozen')\ndef frozen(node, msg):\n"
                         "    return {'type': 'frozen_ok', 'at_import': AT_IMPORT, 'now': gc.get_freeze_count(),\n"
                         "            'threshold': gc.get_threshold()}\n"})
    done = run_node(line(INIT) + line({"src": "c1", "dest": "n1", "body": {"type": "frozen", "msg_id": 2}}),
                    "--handlers", str(folder))
    body = output(done)[1]["body"]
    # More frozen after start-up than while plugins loaded (3.12 counts some from before either).
    assert body["now"] > body["at_import"], body
    assert body["threshold"][0] == 10_000  # young collections: every ~1,500 messages, not ~100


def test_an_answer_is_json_even_when_its_handler_changed_the_request_msg_id(plugin_dir):
    # in_reply_to is written without the encoder when it is an int, as every parsed msg_id is
    folder = plugin_dir({"meddle.py": "from gnode import handler\n@handler('meddle')\ndef meddle(node, msg):\n"
                         "    msg.body['msg_id'] = msg.body['to']\n    return {'type': 'meddle_ok'}\n"})
    meddle = lambda msg_id, to: line({"src": "c1", "dest": "n1", "body": {"type": "meddle", "msg_id": msg_id, "to": to}})
    done = run_node(line(INIT) + meddle(2, True) + meddle(3, "7") + meddle(4, 2 ** 70), "--handlers", str(folder))
    assert [m["body"]["in_reply_to"] for m in output(done)[1:]] == [True, "7", 2 ** 70], done.stderr.decode()


def test_run_directly_it_imports_nothing_from_the_working_directory_and_finds_modules_beside_it(tmp_path):
    # as a script would: sys.path[0] is gnode.py's real folder, never the cwd (/tmp under Maelstrom)
    checkout, cwd = tmp_path / "checkout", tmp_path / "cwd"
    shutil.copytree(ROOT / "handlers", checkout / "handlers")
    (checkout / "gnode.py").write_bytes(GNODE.read_bytes())
    (checkout / "gnode.py").chmod(0o755)
    (checkout / "beside.py").write_text("WORD = 'beside'\n")
    (checkout / "handlers" / "uses_beside.py").write_text(
        "import beside\nfrom gnode import handler\n\n@handler('which')\ndef which(node, msg):\n"
        "    return {'type': 'which_ok', 'word': beside.WORD}\n")
    cwd.mkdir()
    (cwd / "json.py").write_text("raise SystemExit('imported from the working directory')\n")
    env = {"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    done = run_node(line(INIT) + line({"src": "c1", "dest": "n1", "body": {"type": "which", "msg_id": 2}}),
                    command=[str(checkout / "gnode.py")], env=env, cwd=str(cwd))
    assert done.returncode == 0, done.stderr.decode()
    assert output(done)[1]["body"]["word"] == "beside"


# ---------------------------------------------------------------- the quick parser

# Lines the node must take exactly as the stdlib's json reads them, sent after init (orjson,
# where installed, is imported once init is answered), in three reads: lines orjson reads
# itself, or leaves to the careful parser; integers beyond 64 bits, which orjson would make
# floats (a run of 19 digits sends the read to the stdlib); and lines nested deep enough for
# the stdlib to give up where orjson might not. Each read ends with an echo of "last".
def deep(msg_id, depth):
    return (b'{"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": %d, "echo": ' % msg_id
            + b"[" * depth + b"]" * depth + b"}}\n")


def last(msg_id):
    return line(echo(msg_id, "last"))


PARSER_READS = [[
    b'  {"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 5, "echo": "spaced"}}  \r\n',
    b'{"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 6, "echo": "\\ud800 lone"}}\n',
    b'{"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 7, "echo": "a", "echo": "dup"}}\n',
    line(echo(8, "caf\u00e9 \U0001f600")),
    b'{"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 9, "echo": 1e400}}\n',
    b'{"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 10, "echo": NaN}}\n',
    b'{"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 11, "echo": "\xff"}}\n',
    b'{"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 12.0, "echo": 1}}\n',
    b'{"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 13, "echo": 1}} {}\n',
    b'{"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 14}, "dest": ""}\n',
    deep(15, 500),
    b'{"src": "n2", "dest": "n1", "body": {"type": "echo_ok", "in_reply_to": null}}\n',
    last(17),
], [
    line(echo(2, 10 ** 100)),
    line(echo(3, [-(2 ** 63) - 1, 2 ** 64, {"n": -(10 ** 30)}])),
    line(echo(4, [2 ** 64 - 1, -(2 ** 63), 0.1, -0.0, 5e-324, 1.7976931348623157e308])),
    last(18),
], [
    deep(16, 100_000),  # too deep for any parser
    deep(19, 995),  # too deep for the stdlib of 3.10 and 3.11, not for orjson
    deep(20, 1010),
    last(21),
]]


def converse(env=None):
    """The node's answers to PARSER_READS, as raw lines, and its stderr."""
    node = LiveNode("--log-level", "debug", env=env)
    answers = []
    for lines in PARSER_READS:
        node.process.send(b"".join(lines))
        end = b'"in_reply_to": %d,' % json.loads(lines[-1])["body"]["msg_id"]
        while not answers or end not in answers[-1]:
            raw = node.process.next_line(10)
            assert raw is not None, node.stderr()
            answers.append(raw)
    assert node.finish() == 0
    return answers, node.stderr()


def without_orjson(tmp_path):
    (tmp_path / "orjson.py").write_text('raise ImportError("hidden by the test")\n')
    return {"PYTHONPATH": str(tmp_path)}


def test_a_message_is_read_as_the_stdlib_reads_it_with_orjson_or_without(tmp_path):
    import orjson  # installed by the set-up: the node reads with it after init
    with_it, err_with = converse()
    without_it, err_without = converse(without_orjson(tmp_path))
    assert "orjson %s reads messages from now on" % orjson.__version__ in err_with
    assert "orjson is not installed: the stdlib's json module reads every message" in err_without
    assert with_it == without_it
    strip = lambda err: [l.split(" ", 2)[2] for l in err.splitlines() if "input line" in l]  # no times
    assert strip(err_with) == strip(err_without) and len(strip(err_with)) >= 6
    echoes = {json.loads(raw)["body"]["in_reply_to"]: raw for raw in with_it}
    assert b'"echo": 1' + b"0" * 100 + b"," in echoes[2]  # exactly, not 1e+100
    assert b'[-9223372036854775809, 18446744073709551616, {"n": -1' + b"0" * 30 + b"}]" in echoes[3]
    assert b'[18446744073709551615, -9223372036854775808, 0.1, -0.0, 5e-324, 1.7976931348623157e+308]' in echoes[4]
    assert json.loads(echoes[6])["body"]["echo"] == "\ud800 lone" and b'"echo": "dup"' in echoes[7]
    assert json.loads(echoes[9])["body"]["code"] == 13  # inf: not JSON to answer with
    assert set(echoes) - {19, 20} == {2, 3, 4, 5, 6, 7, 8, 9, 14, 15, 17, 18, 21}  # 19, 20: as the Python
