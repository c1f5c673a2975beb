"""The test report, store/<workload>/<time>/index.html: its parts as pure functions, the file a
real run writes, and the page itself in headless Chromium (Debian's, driven by Playwright),
on the report of a real short run of a broadcast node that loses messages under partitions.
Screenshots of each view are kept in build/screenshots/ for a person to look at."""
import gzip
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from gnode_cluster import journal, report, run_test
from helpers import ROOT
from test_run_test import cli

LOSSY = ROOT / "tests" / "broken_nodes" / "lossy_broadcast.py"
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# .ci/run installs Chromium and sets this, so that CI can never skip the browser test
BROWSER_REQUIRED = os.environ.get("GNODE_BROWSER_TEST") == "required"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update"]  # this machine's network is closed


def page_data(folder):
    text = (folder / "index.html").read_text()
    found = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text, re.S)
    return json.loads(found.group(1))


def history_of(folder):
    return [json.loads(line) for line in open(folder / "history.jsonl")]


# the parts, as pure functions

def test_operations_pair_each_invocation_with_its_completion_and_leave_the_nemesis_out():
    history = [{"process": 0, "type": "invoke", "f": "read", "value": None, "time": 1.0},
               {"process": 1, "type": "invoke", "f": "add", "value": 5, "time": 1.5},
               {"process": "nemesis", "type": "info", "f": "start-partition", "value": None, "time": 1.6},
               {"process": 0, "type": "ok", "f": "read", "value": [5], "time": 2.0},
               {"process": 1, "type": "info", "f": "add", "value": 5, "error": "net-timeout", "time": 3.0},
               {"process": 2, "type": "invoke", "f": "add", "value": "x" * 300, "time": 3.5}]
    ops = report.operations(history)
    assert [(op["p"], op["f"], op["s"], op["e"], op["t"]) for op in ops] == [
        (0, "read", 1.0, 2.0, "ok"), (1, "add", 1.5, 3.0, "info"), (2, "add", 3.5, None, "info")]
    assert ops[0]["v"] == "[5]" and ops[1]["err"] == '"net-timeout"' and ops[0]["err"] is None
    assert len(ops[2]["v"]) == report.VALUE_SHOWN + 3 and ops[2]["v"].endswith("...")


def test_the_operations_a_checker_names_are_found_by_invocation_or_completion_time():
    ops = report.operations([{"process": 0, "type": "invoke", "f": "a", "time": 1.0},
                             {"process": 0, "type": "ok", "f": "a", "time": 1.2},
                             {"process": 3, "type": "invoke", "f": "a", "time": 1.1},
                             {"process": 3, "type": "ok", "f": "a", "time": 1.4}])
    named = {"workload": {"implicated": [{"process": 3, "time": 1.4}, {"process": 0, "time": 1.0},
                                         {"process": 3, "time": 1.1}, {"process": 9, "time": 1.0}]}}
    assert report.named_ops(named, ops) == [1, 0]  # each once; an unknown one is left out
    assert report.named_ops({"workload": {"valid": True}}, ops) == []


def write_journal(folder, sends, dropped=()):
    """A compressed journal of ``sends`` messages, one every 0.01 s, each delivered 0.005 s
    later unless its id is in ``dropped``."""
    lines = []
    for i in range(sends):
        sent = i * 0.01
        lines.append({"time": sent, "event": "send", "from": "n0", "to": "n1", "id": i, "body": {"type": "m", "i": i}})
        lines.append({"time": sent + 0.005, "event": "dropped" if i in dropped else "delivered",
                      "from": "n0", "to": "n1", "id": i})
    with gzip.open(folder / (journal.FILE + ".gz"), "wt") as f:
        for event in lines:  # as journal.line writes them: the time first
            f.write(json.dumps({"time": event.pop("time"), **event}) + "\n")


def test_the_page_holds_the_messages_around_the_first_operation_named_with_their_deliveries(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "MESSAGES_EMBEDDED", 10)
    write_journal(tmp_path, 100, dropped={52})
    kept, count = report.messages(str(tmp_path), around=0.5)
    assert count == 100
    assert [m[5]["i"] for m in kept] == list(range(45, 55))  # half before 0.5 s, half from it
    assert kept[0][:5] == ["n0", "n1", 0.45, 0.455, False]
    assert kept[7][3:5] == [0.525, True]  # message 52 was dropped
    everything, _ = report.messages(str(tmp_path), around=0.0)
    assert [m[5]["i"] for m in everything] == list(range(0, 10))  # nothing before: all the room is after
    late, _ = report.messages(str(tmp_path), around=0.975)
    assert [m[5]["i"] for m in late] == list(range(90, 100))  # little after: the room goes to before


def test_the_page_shortens_huge_bodies_reads_a_nodes_nan_and_skips_a_line_cut_short(tmp_path):
    with gzip.open(tmp_path / (journal.FILE + ".gz"), "wt") as f:
        f.write('{"time": 0.1, "event": "send", "from": "n0", "to": "c1", "id": 0, "body": {"type": "read_ok", '
                '"value": "%s"}}\n' % ("x" * 5000))
        f.write('{"time": 0.2, "event": "send", "from": "n0", "to": "c1", "id": 1, "body": {"type": "x", "v": NaN}}\n')
        f.write('{"time": 0.3, "event": "se')  # a killed run's last line
    kept, count = report.messages(str(tmp_path), around=0.0)
    assert count == 2 and len(kept) == 2
    assert kept[0][5]["type"] == "read_ok" and len(kept[0][5]["shortened"]) < report.BODY_SHOWN + 100
    assert "5032 characters in all" in kept[0][5]["shortened"]
    assert kept[1][5] == {"type": "x", "v": "NaN"}  # as text: the browser's JSON has no NaN


def test_a_nodes_words_cannot_end_the_pages_script_or_open_a_comment(tmp_path):
    (tmp_path / "store" / "echo" / "t").mkdir(parents=True)
    folder = tmp_path / "store" / "echo" / "t"
    sly = "<!--<script></script>&"
    history = [{"process": 0, "type": "invoke", "f": "echo", "value": sly, "time": 0.1},
               {"process": 0, "type": "ok", "f": "echo", "value": sly, "time": 0.2}]
    results = {"options": {"workload": "echo"}, "valid": False, "why": [sly], "workload": {"valid": False}}
    report.write(str(folder), results, history)
    page = (folder / "index.html").read_text()
    data = page.split('id="report-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data and ">" not in data and "&" not in data
    assert page_data(folder)["why"] == [sly]  # read back whole


# the file a real run writes

def test_every_test_writes_its_report_beside_its_results_with_plotly_linked_not_copied(tmp_path):
    result = run_test("broadcast", str(LOSSY), node_count=3, time_limit=1, rate=20, final_wait=0.3,
                      store=str(tmp_path / "store"))
    folder = tmp_path / "store" / "broadcast" / os.path.basename(result.path)
    data = page_data(folder)
    history = history_of(folder)
    assert data["verdict"] == "valid" and data["workload"] == "broadcast"
    assert len(data["ops"]) == sum(entry["type"] == "invoke" for entry in history)
    assert data["message_count"] == len(data["messages"]) > 0
    # the history and the journal keep one clock: a client's request is sent before its operation ends
    first = data["ops"][0]
    assert any(m[2] <= first["e"] and m[0].startswith("c") for m in data["messages"])
    script = re.search(r'<script src="([^"]+)"', (folder / "index.html").read_text()).group(1)
    beside, kept = folder / script, tmp_path / "store" / script
    assert beside.exists() and os.path.samefile(beside, kept) and os.stat(beside).st_nlink >= 2


def test_check_writes_a_report_too_with_the_messages_of_the_folder_it_checked(tmp_path):
    run_test("echo", str(ROOT / "tests" / "broken_nodes" / "echo_wrong.py"), node_count=1, time_limit=1, rate=10,
             store=str(tmp_path / "store"))
    checked = os.path.realpath(tmp_path / "store" / "latest")
    done = cli("check", checked, "--store", str(tmp_path / "again"), cwd=tmp_path)
    assert done.returncode == 1, done.stdout.decode()
    data = page_data(tmp_path / "again" / "latest")
    assert data["verdict"] == "INVALID" and data["implicated"] and data["messages"]
    # a history file: the journal beside it
    assert cli("check", os.path.join(checked, "history.jsonl"), "-w", "echo", "--store", str(tmp_path / "file"),
               cwd=tmp_path).returncode == 1
    assert page_data(tmp_path / "file" / "latest")["messages"] == data["messages"]


# the page, in a real browser

@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if BROWSER_REQUIRED:
            pytest.fail("GNODE_BROWSER_TEST=required, and no chromium on PATH")
        pytest.skip("no Chromium on PATH: `apt-get install chromium` to run the browser tests")
    if BROWSER_REQUIRED:
        from playwright.sync_api import sync_playwright
    else:
        sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def lossy_run(tmp_path_factory):
    """A real short run of a broadcast node that tells each peer once: under partitions it
    loses messages, and the checker names the broadcasts and reads that show it."""
    store = tmp_path_factory.mktemp("report") / "store"
    result = run_test("broadcast", str(LOSSY), node_count=3, time_limit=3, rate=30, nemesis="partition",
                      nemesis_interval=0.5, latency=5, final_wait=1, seed=2, store=str(store))
    assert result.valid is False and result.results["workload"]["lost"], result.results["why"]
    return result


@pytest.fixture
def page(browser, lossy_run):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(10000)  # a broken page fails in seconds, not Playwright's 30
    page.errors = []
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto("file://%s/index.html" % lossy_run.path)  # from disk, no server
    page.wait_for_function("document.getElementById('lamport').data !== undefined")
    yield page
    assert page.errors == []  # the page logged no error
    page.close()


def shoot(page, name, selector=None):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = page.locator(selector) if selector else page
    target.screenshot(path=str(SCREENSHOTS / ("report-%s.png" % name)), **({} if selector else {"full_page": True}))


def plot(page, name):
    """The traces of plot ``name`` as the page drew them: name, meta and point count each."""
    return page.evaluate("id => document.getElementById(id).data.map(t => ({name: t.name, meta: t.meta, "
                         "x: t.x.filter(v => v !== null).length}))", name)


def test_the_plots_hold_every_operation_and_shade_every_partition(page, lossy_run):
    history = [entry for entry in history_of(Path(lossy_run.path)) if entry["process"] != "nemesis"]
    operations = sum(entry["type"] == "invoke" for entry in history)
    latency = plot(page, "latency")
    assert sum(t["x"] for t in latency if t["meta"] == "operations") == operations
    timeline = plot(page, "timeline")
    assert sum(t["x"] for t in timeline if t["meta"] == "operations") == 2 * operations  # a bar: two ends
    rate_area = page.evaluate("(() => { const d = document.getElementById('rate').data; const w = d[0].x[1] - d[0].x[0];"
                              " return d.reduce((sum, t) => sum + t.y.reduce((a, b) => a + b, 0) * w, 0); })()")
    completions = sum(entry["type"] != "invoke" for entry in history)
    assert round(rate_area) == completions  # the rates add up to every completion
    partitions = lossy_run.results["nemesis"]["partitions"]
    assert partitions
    for name in ("latency", "rate", "timeline"):
        shapes = page.evaluate("id => document.getElementById(id).layout.shapes.map(s => [s.x0, s.x1])", name)
        assert [s[0] for s in shapes] == [p["start"] for p in partitions]
    assert page.inner_text("#verdict") == "broadcast: INVALID"
    assert "elements were lost" in page.inner_text("#why") or "was lost" in page.inner_text("#why")
    shoot(page, "page")
    page.screenshot(path=str(SCREENSHOTS / "report-top.png"))  # what one sees on opening it: the README's
    for name in ("latency", "rate", "timeline"):
        shoot(page, name, "#" + name)


def test_the_lost_elements_broadcast_is_highlighted(page, lossy_run):
    named = [t for t in plot(page, "latency") if t["meta"] == "implicated"]
    assert named and named[0]["x"] == len(lossy_run.results["workload"]["implicated"])
    listed = page.inner_text("#named")
    lost = lossy_run.results["workload"]["lost"][0]
    assert "broadcast %s: ok" % lost in listed  # the lost element's acknowledged broadcast
    assert [t for t in plot(page, "timeline") if t["meta"] == "implicated"]
    shoot(page, "named", "#named-section")


def test_a_click_on_a_message_shows_its_body_and_the_window_can_be_moved(page, lossy_run):
    data = page_data(Path(lossy_run.path))
    shown = sum(t["x"] for t in plot(page, "lamport")) // 2
    start, end = float(page.input_value("#from")), float(page.input_value("#to"))
    assert shown == sum(start <= m[2] <= end for m in data["messages"]) > 0
    # a real click on the arrival of one message, found where Plotly drew it
    page.locator("#lamport").scroll_into_view_if_needed()
    where = page.evaluate("""() => {
        const gd = document.getElementById('lamport'), size = gd._fullLayout._size, box = gd.getBoundingClientRect();
        const t = gd.data[0], i = t.x.findIndex((x, k) => k % 3 === 1 && x !== t.x[k - 1]);
        return {x: box.left + size.l + gd._fullLayout.xaxis.d2p(t.x[i]),
                y: box.top + size.t + gd._fullLayout.yaxis.d2p(t.y[i]), message: t.customdata[i]};
    }""")
    page.mouse.move(where["x"], where["y"])
    page.mouse.click(where["x"], where["y"])
    page.wait_for_function("!document.getElementById('message').textContent.startsWith('Click')")
    head, body = page.inner_text("#message").split("\n", 1)
    # the message clicked, or one drawn on top of it at the same spot: its ends, times and body
    src, dest, sent = re.match(r"(\S+) to (\S+), sent at ([\d.]+) s, delivered at [\d.]+ s$", head).groups()
    message = next(m for m in data["messages"] if m[:3] == [src, dest, round(float(sent), 6)] or
                   (m[0], m[1], "%.6f" % m[2]) == (src, dest, sent))
    assert json.loads(body) == message[5]  # the body, whole
    clicked = data["messages"][where["message"]]
    assert abs(message[3] - clicked[3]) < 0.05  # its arrival is where the click was
    shoot(page, "lamport", "#lamport")
    # another window: the diagram holds the messages sent in it
    page.fill("#from", "0")
    page.fill("#to", "0.2")
    page.click("#show")
    assert sum(t["x"] for t in plot(page, "lamport")) // 2 == sum(m[2] <= 0.2 for m in data["messages"])


def test_the_report_of_a_test_that_crashed_at_start_says_why_and_logs_no_error(browser, tmp_path):
    not_a_program = tmp_path / "node.py"
    not_a_program.write_text("")  # not executable: the cluster cannot start it
    result = run_test("echo", str(not_a_program), node_count=1, time_limit=1, store=str(tmp_path / "store"))
    assert "crashed" in result.results
    page = browser.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("file://%s/index.html" % result.path)
    page.wait_for_function("document.getElementById('rate').data !== undefined", timeout=10000)
    assert page.inner_text("#verdict") == "echo: CRASHED" and "cannot start" in page.inner_text("#why")
    assert errors == []
    page.close()


def test_a_report_that_cannot_be_written_is_said_and_the_results_stand(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(report, "_plotly_beside", lambda path: 1 / 0)  # as a bug of ours would
    result = run_test("echo", str(ROOT / "gnode.py"), node_count=1, time_limit=1, rate=10,
                      store=str(tmp_path / "store"))
    assert result.valid is True and os.path.exists(os.path.join(result.path, "results.json"))
    assert not os.path.exists(os.path.join(result.path, "index.html"))
    assert "the report %s could not be written: ZeroDivisionError" % os.path.join(result.path, "index.html") \
        in capsys.readouterr().err
