"""``gnode-cluster serve``: the store over HTTP, as Maelstrom's ``serve``: a page listing the
tests, newest first, each with its verdict, workload and main options, each linking to its
folder, which opens on its report (index.html), and every file of every test folder
beneath it. It binds to localhost unless told otherwise."""
import html
import http.server
import json
import os
import urllib.parse

from . import store

SHOWN_OPTIONS = ("node_count", "nodes", "time_limit", "rate", "concurrency", "latency", "nemesis",
                 "availability", "consistency_models", "seed")


def index_page(root):
    """The listing of the store ``root`` as an HTML page."""
    rows = []
    for path in store.runs(root):
        relative = os.path.relpath(path, root)
        try:
            with open(os.path.join(path, "results.json")) as f:
                results = json.load(f)
        except (OSError, ValueError):
            results = None  # a test still running, or cut short before its results
        verdict = "no results" if results is None else store.verdict(results)
        options = {} if results is None else results.get("options", {})
        shown = ", ".join("%s %s" % (name, _option(options[name])) for name in SHOWN_OPTIONS
                          if options.get(name) not in (None, [], ()))
        link = urllib.parse.quote(relative) + "/"
        rows.append('<tr class="%s"><td><a href="%s">%s</a></td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
            verdict.lower().replace(" ", "-"), link, html.escape(os.path.basename(path)),
            html.escape(os.path.basename(os.path.dirname(path))), html.escape(verdict), html.escape(shown)))
    return ("<!doctype html><meta charset=utf-8><title>gnode-cluster store</title>"
            "<style>body{font-family:sans-serif}td{padding:2px 12px}.invalid,.crashed{color:#b00}"
            ".valid{color:#070}</style><h1>Tests in %s</h1><table><tr><th>test</th><th>workload</th>"
            "<th>verdict</th><th>options</th></tr>%s</table>" % (html.escape(os.path.abspath(root)), "".join(rows)))


def _option(value):
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def server(root, host="127.0.0.1", port=8080):
    """An HTTP server of the store ``root`` (port 0: any free one; ``server_address`` says)."""
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=root, **kwargs)

        def do_GET(self):
            if urllib.parse.urlsplit(self.path).path in ("/", "/index.html"):
                page = index_page(root).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
                return
            super().do_GET()

        def log_message(self, format, *args):  # quiet: the terminal shows where to look, not each request
            pass

    return http.server.ThreadingHTTPServer((host, port), Handler)
