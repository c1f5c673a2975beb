"""The fixture runner tested on itself: a failing case must explain itself, a broken file
must say what is wrong, and Maelstrom's rules apply to every line even when expected."""
import json
import shutil
import sys
import textwrap

INIT = {"src": "c0", "dest": "n1", "body": {"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": ["n1"]}}
INIT_OK = {"src": "n1", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 1, "msg_id": 0}}


def write_fixture(pytester, cases, name="cases"):
    folder = pytester.mkdir("fixtures") if not (pytester.path / "fixtures").exists() else pytester.path / "fixtures"
    path = folder / (name + ".json")
    path.write_text(json.dumps({"cases": cases}))
    return path


def fake_node(pytester, lines, exit_status=0, exits=True):
    """A stand-in node that prints the given lines after reading init, then waits for EOF
    and exits with ``exit_status``, or, unless ``exits``, never exits."""
    script = pytester.path / "fake_node.py"
    script.write_text(textwrap.dedent("""
        import sys, time
        sys.stdin.readline()
        sys.stderr.write("fake node speaking on stderr\\n")
        for line in %r:
            sys.stdout.write(line + "\\n")
        sys.stdout.flush()
        sys.stdin.read()
        while not %r:
            time.sleep(60)
        sys.exit(%d)
    """ % (lines, exits, exit_status)))
    return "%s %s" % (sys.executable, script)


def test_a_passing_and_a_failing_case_are_two_items_and_the_failure_shows_expected_and_actual(pytester):
    bad_echo = {"src": "n1", "dest": "c1", "body": {"type": "echo_ok", "echo": "nope", "in_reply_to": 2, "msg_id": 1}}
    write_fixture(pytester, [
        {"name": "good", "input": [INIT], "expected": [INIT_OK]},
        {"name": "bad", "input": [INIT, {"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 2, "echo": "yes"}}],
         "expected": [INIT_OK, bad_echo]}])
    result = pytester.runpytest("-p", "gnode_pytest")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*fixture case 'bad' failed: line 2 differs*",
        '!! expected: {"src": "n1", "dest": "c1", "body": {"type": "echo_ok", "echo": "nope"*',
        '     actual: {"src": "n1", "dest": "c1", "body": {"type": "echo_ok", "echo": "yes"*'])


def test_a_wrong_answer_ends_the_case_at_once_without_waiting_for_the_lines_after_it(pytester):
    bad_echo = {"src": "n1", "dest": "c1", "body": {"type": "echo_ok", "echo": "nope", "in_reply_to": 2, "msg_id": 1}}
    write_fixture(pytester, [
        {"name": "bad", "timeout_ms": 60000,
         "input": [INIT, {"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 2, "echo": "yes"}}],
         "expected": [INIT_OK, bad_echo, bad_echo]}])
    # -rN: with CI set in the environment, pytest's short summary repeats the whole report
    result = pytester.runpytest("-p", "gnode_pytest", "-rN")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*fixture case 'bad' failed: line 2 differs"])
    # the third expected line, which can never come, was not waited for
    assert "got none" not in result.stdout.str() and result.stdout.str().count("!! expected:") == 1


def test_a_node_that_dies_before_an_expected_line_fails_the_case_with_its_exit_status(pytester):
    script = pytester.path / "dies.py"
    script.write_text("import sys\nsys.stdin.readline()\nprint(%r, flush=True)\nsys.exit(3)\n" % json.dumps(INIT_OK))
    write_fixture(pytester, [{"name": "dies", "timeout_ms": 1000, "steps": [
        {"send": INIT}, {"expect": INIT_OK}, {"send": INIT}, {"expect": INIT_OK}]}])
    result = pytester.runpytest("-p", "gnode_pytest", "--gnode-node", "%s %s" % (sys.executable, script))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*fixture case 'dies' failed: expected a line, got none; "
                                 "the node exited with status 3*"])


def test_missing_and_extra_output_fail_showing_the_line_against_nothing(pytester):
    node = fake_node(pytester, [json.dumps(INIT_OK), json.dumps(INIT_OK)])
    write_fixture(pytester, [
        {"name": "extra", "input": [INIT], "expected": [INIT_OK]},
        {"name": "missing", "timeout_ms": 1000, "input": [INIT], "expected": [INIT_OK, INIT_OK, INIT_OK]}])
    result = pytester.runpytest("-p", "gnode_pytest", "--gnode-node", node)
    result.assert_outcomes(failed=2)
    init_ok = json.dumps(INIT_OK)
    result.stdout.fnmatch_lines([
        "fixture case 'extra' failed: unexpected output after the last expected line",
        "",
        "ok expected: " + init_ok,
        "!! expected: (nothing)",
        "     actual: " + init_ok,
        "",
        "node stderr (last 1 of 1 lines):",
        "  fake node speaking on stderr"])
    result.stdout.fnmatch_lines([
        "fixture case 'missing' failed: expected a line, got none",
        "",
        "ok expected: " + init_ok,
        "ok expected: " + init_ok,
        "!! expected: " + init_ok,
        "     actual: (nothing)"])


def test_output_during_quiet_ms_fails_showing_the_line(pytester):
    early = {"src": "n1", "dest": "c0", "body": {"type": "too_soon", "msg_id": 1}}
    node = fake_node(pytester, [json.dumps(INIT_OK), json.dumps(early)])
    write_fixture(pytester, [{"name": "chatty", "steps": [{"send": INIT}, {"expect": INIT_OK}, {"quiet_ms": 300}]}])
    result = pytester.runpytest("-p", "gnode_pytest", "--gnode-node", node)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "fixture case 'chatty' failed: unexpected output during 300 ms of expected quiet",
        "",
        "ok expected: " + json.dumps(INIT_OK),
        "!! expected: (nothing)",
        "     actual: " + json.dumps(early)])


def test_a_stderr_needle_the_node_never_wrote_fails_the_case_naming_it(pytester):
    node = fake_node(pytester, [json.dumps(INIT_OK)])
    write_fixture(pytester, [
        {"name": "said", "stderr": ["speaking on stderr"], "input": [INIT], "expected": [INIT_OK]},
        {"name": "not said", "stderr": ["speaking on stderr", "a needle never written"],
         "input": [INIT], "expected": [INIT_OK]}])
    result = pytester.runpytest("-p", "gnode_pytest", "--gnode-node", node)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "fixture case 'not said' failed: stderr never said 'a needle never written'",
        "",
        "ok expected: " + json.dumps(INIT_OK),
        "",
        "node stderr (last 1 of 1 lines):",
        "  fake node speaking on stderr"])


def test_an_exit_status_other_than_exit_code_fails_the_case_with_both(pytester):
    write_fixture(pytester, [
        {"name": "exits 3 as told", "exit_code": 3, "input": [INIT], "expected": [INIT_OK]},
        {"name": "exits 3, not 0", "input": [INIT], "expected": [INIT_OK]}])
    result = pytester.runpytest("-p", "gnode_pytest", "--gnode-node", fake_node(pytester, [json.dumps(INIT_OK)], 3))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["fixture case 'exits 3, not 0' failed: the node exited with status 3, not 0"])
    write_fixture(pytester, [{"name": "exits 0, not 1", "exit_code": 1, "input": [INIT], "expected": [INIT_OK]}])
    result = pytester.runpytest("-p", "gnode_pytest", "--gnode-node", fake_node(pytester, [json.dumps(INIT_OK)], 0))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["fixture case 'exits 0, not 1' failed: the node exited with status 0, not 1"])


def test_a_node_that_never_exits_fails_the_case(pytester):
    node = fake_node(pytester, [json.dumps(INIT_OK)], exits=False)
    write_fixture(pytester, [{"name": "lingers", "timeout_ms": 500, "input": [INIT], "expected": [INIT_OK]}])
    result = pytester.runpytest("-p", "gnode_pytest", "--gnode-node", node)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["fixture case 'lingers' failed: the node did not exit within 500 ms of its input closing"])


def test_a_line_maelstrom_would_reject_fails_even_when_it_was_expected(pytester):
    with_extra = {**INIT_OK, "to": 4}  # Maelstrom's envelope is closed: src, dest, body, and maybe an integer id
    node = fake_node(pytester, [json.dumps(with_extra)])
    write_fixture(pytester, [{"name": "extra key", "input": [INIT], "expected": [with_extra]}])
    result = pytester.runpytest("-p", "gnode_pytest", "--gnode-node", node)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Maelstrom would reject a line: a message has exactly src, dest and body*"])


def test_exact_cases_compare_bytes(pytester):
    node = fake_node(pytester, ['{"src":"n1","dest":"c0","body":{"type":"init_ok","in_reply_to":1,"msg_id":0}}'])
    write_fixture(pytester, [
        {"name": "exact", "exact": True, "input": [INIT], "expected": [json.dumps(INIT_OK)]},
        {"name": "parsed", "input": [INIT], "expected": [json.dumps(INIT_OK)]}])
    result = pytester.runpytest("-p", "gnode_pytest", "--gnode-node", node)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*fixture case 'exact' failed*"])


def test_a_broken_fixture_file_is_a_collection_error_saying_why(pytester):
    write_fixture(pytester, [{"name": "typo", "input": [INIT], "expect": [INIT_OK]}])
    result = pytester.runpytest("-p", "gnode_pytest")
    result.stdout.fnmatch_lines(["*is not a fixture file: case 'typo' has unknown key(s) ?'expect'?*"])
    assert result.ret != 0


def test_json_files_outside_a_fixtures_folder_are_left_alone_unless_named(pytester):
    (pytester.path / "data.json").write_text(json.dumps({"cases": [{"name": "x", "input": [], "expected": []}]}))
    assert pytester.runpytest("-p", "gnode_pytest").ret == 5  # no tests collected
    pytester.runpytest("-p", "gnode_pytest", "data.json").assert_outcomes(passed=1)


def test_a_node_that_exits_before_its_input_closes_fails_even_if_its_lines_matched(pytester):
    script = pytester.path / "quitter.py"
    script.write_text("import sys\nsys.stdin.readline()\nprint(%r, flush=True)\nsys.exit(0)\n" % json.dumps(INIT_OK))
    write_fixture(pytester, [{"name": "quits", "steps": [{"send": INIT}, {"expect": INIT_OK}, {"quiet_ms": 300}]}])
    result = pytester.runpytest("-p", "gnode_pytest", "-rs", "--gnode-node", "%s %s" % (sys.executable, script))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the node exited before its input closed*"])


def test_cases_do_not_inherit_gnode_settings_from_the_environment(pytester, monkeypatch):
    monkeypatch.setenv("GNODE_HANDLERS", str(pytester.path / "nowhere"))
    write_fixture(pytester, [{"name": "own settings", "input": [INIT], "expected": [INIT_OK]}])
    pytester.runpytest("-p", "gnode_pytest").assert_outcomes(passed=1)


def test_an_early_exit_is_caught_also_when_the_case_closes_stdin_itself(pytester):
    script = pytester.path / "quitter.py"
    script.write_text("import sys\nsys.stdin.readline()\nprint(%r, flush=True)\nsys.exit(0)\n" % json.dumps(INIT_OK))
    write_fixture(pytester, [{"name": "quits", "steps": [{"send": INIT}, {"expect": INIT_OK}, {"quiet_ms": 300},
                                                         {"close": True}]}])
    result = pytester.runpytest("-p", "gnode_pytest", "-rs", "--gnode-node", "%s %s" % (sys.executable, script))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the node exited before its input closed*"])


def test_a_case_whose_handlers_folder_is_missing_fails_naming_the_case_the_file_and_the_path(pytester):
    path = write_fixture(pytester, [{"name": "lost", "handlers": "no_such_dir", "input": [INIT], "expected": [INIT_OK]}])
    result = pytester.runpytest("-p", "gnode_pytest")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*fixture case 'lost' in %s: its handlers folder %s does not exist*"
                                 % (path, path.parent / "no_such_dir")])
    assert "Traceback" not in result.stdout.str()


def test_a_number_in_env_or_args_is_a_collect_error_naming_the_key(pytester):
    write_fixture(pytester, [{"name": "n", "env": {"GNODE_RPC_TIMEOUT": 0.3}, "input": [INIT], "expected": [INIT_OK]}],
                  name="env_number")
    write_fixture(pytester, [{"name": "a", "args": ["--rpc-timeout", 2], "input": [INIT], "expected": [INIT_OK]}],
                  name="args_number")
    result = pytester.runpytest("-p", "gnode_pytest")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(['*env_number.json is not a fixture file: case \'n\': env key "GNODE_RPC_TIMEOUT" '
                                 'must have a string value, not 0.3*'])
    assert 'args_number.json is not a fixture file: case \'a\': "args" must be a list of strings, ' \
        'not ["--rpc-timeout", 2]' in result.stdout.str()


def test_another_executable_never_gets_gnodes_flags_and_a_case_needing_handlers_is_skipped(pytester):
    argv_file = pytester.path / "argv.json"
    script = pytester.path / "argv_node.py"
    script.write_text(textwrap.dedent("""
        import json, sys
        json.dump(sys.argv[1:], open(%r, "w"))
        sys.stdin.readline()
        print(json.dumps(%r), flush=True)
        sys.stdin.read()
    """ % (str(argv_file), INIT_OK)))
    pytester.mkdir("my_handlers")
    write_fixture(pytester, [
        {"name": "plain", "args": ["--verbose"], "input": [INIT], "expected": [INIT_OK]},
        {"name": "needs handlers", "handlers": "../my_handlers", "input": [INIT], "expected": [INIT_OK]}])
    result = pytester.runpytest("-p", "gnode_pytest", "-rs", "--gnode-node", "%s %s" % (sys.executable, script))
    result.assert_outcomes(passed=1, skipped=1)
    assert json.loads(argv_file.read_text()) == ["--verbose"]
    result.stdout.fnmatch_lines(["*needs a handlers folder, which only gnode's own node takes*"])


def test_a_case_on_several_nodes_that_fails_shows_expected_against_actual_and_each_nodes_stderr(pytester):
    handlers = pytester.mkdir("handlers")
    (handlers / "count.py").write_text(textwrap.dedent("""
        import sys
        from gnode import handler

        @handler("count")
        def count(node, msg):
            sys.stderr.write("%s counting\\n" % node.id)
            return {"type": "count_ok", "value": 1}
    """))
    write_fixture(pytester, [{
        "name": "two nodes", "handlers": "../handlers", "nodes": ["a", "b", "c"], "timeout_ms": 60000,
        "steps": [{"send": {"dest": "a", "body": {"type": "count"}}},
                  {"expect": {"src": "a", "body": {"type": "count_ok", "value": 2}}}]}])
    result = pytester.runpytest("-p", "gnode_pytest")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        # failed at once: the one answer had come, and it was wrong (not after the 60 s timeout)
        "*fixture case 'two nodes' failed: no answer from a matched (every request had its answer)*",
        '!! expected: {"src": "a", "body": {"type": "count_ok", "value": 2}}',
        '     actual: {"src": "a", "body": {"type": "count_ok", "value": 1, "in_reply_to": 1, "msg_id": 1}}',
        "node a stderr (last 1 of 1 lines):", "*a counting", "nodes b, c stderr: (empty)"])


def test_a_case_on_several_nodes_with_a_step_of_the_wrong_shape_is_a_collect_error(pytester):
    write_fixture(pytester, [{"name": "bad", "node_count": 2, "steps": [{"send": {"body": {"type": "read"}}}]}])
    result = pytester.runpytest("-p", "gnode_pytest")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(['*case \'bad\' step 1: a request is {"dest": NODE, "body": {...}}*'])


def test_the_docs_case_on_three_nodes_runs_as_printed(pytester):
    from helpers import ROOT

    readme = (ROOT / "docs" / "fixtures.md").read_text()
    section = readme[readme.index("## Cases on several nodes"):]
    example = section[section.index("```json\n") + len("```json\n"):]
    example = example[:example.index("```")]
    fixtures = pytester.mkdir("fixtures")
    (fixtures / "readme.json").write_text(example)
    handlers = pytester.mkdir("cluster_handlers")
    (handlers / "broadcast.py").write_text((ROOT / "tests" / "cluster_handlers" / "broadcast.py").read_text())
    result = pytester.runpytest("-p", "gnode_pytest")
    result.assert_outcomes(passed=1)


def test_the_docs_cases_on_one_node_run_as_printed(pytester):
    from helpers import ROOT

    docs = (ROOT / "docs" / "fixtures.md").read_text()
    section = docs[docs.index("## Cases on one node"):]
    example = section[section.index("```json\n") + len("```json\n"):]
    example = example[:example.index("```")]
    # Laid out as its "handlers" say: gnode's handlers/ two folders up, the project's one up.
    shutil.copytree(ROOT / "handlers", pytester.path / "handlers")
    pytester.mkdir("tests")
    (pytester.path / "tests" / "handlers").mkdir()
    (pytester.path / "tests" / "fixtures").mkdir()
    (pytester.path / "tests" / "fixtures" / "docs.json").write_text(example)
    result = pytester.runpytest("-p", "gnode_pytest")
    result.assert_outcomes(passed=2)


def test_the_files_args_and_env_reach_every_case_and_a_cases_own_replace_them(pytester):
    path = write_fixture(pytester, [
        {"name": "inherits", "input": [INIT], "expected": [INIT_OK], "stderr": ["gnode.trace: in "]},
        {"name": "replaces", "args": [], "env": {}, "input": [INIT], "expected": [INIT_OK]}])
    spec = json.loads(path.read_text())
    path.write_text(json.dumps({"args": ["--trace"], "env": {"GNODE_LOG_LEVEL": "debug"}, **spec}))
    result = pytester.runpytest("-p", "gnode_pytest")
    result.assert_outcomes(passed=2)
    spec["cases"][1]["stderr"] = ["gnode.trace: in "]  # without the file's --trace: never said
    path.write_text(json.dumps({"args": ["--trace"], **spec}))
    result = pytester.runpytest("-p", "gnode_pytest")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*fixture case 'replaces' failed: stderr never said 'gnode.trace: in '*"])


def test_a_case_that_never_sends_init_still_checks_the_lines_it_gets(pytester):
    # Before init nothing says what the node's id is: its lines are checked without one.
    answer = {"src": "n1", "dest": "c1", "body": {"type": "echo_ok", "echo": "x", "in_reply_to": 1}}
    node = fake_node(pytester, [json.dumps(answer)])
    write_fixture(pytester, [{"name": "no init", "input": [
        {"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 1, "echo": "x"}}], "expected": [answer]}])
    result = pytester.runpytest("-p", "gnode_pytest", "--gnode-node", node)
    result.assert_outcomes(passed=1)
