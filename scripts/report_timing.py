#!/usr/bin/env python3
"""How long a report takes to open: serves its folder on localhost, opens it in headless chromium
inside a measuring page, and prints the page's size, the time to its load event and the time until
every chart has drawn (Vega renders after the load event).

  scripts/report_timing.py out/demo/reach2d/report.html [--runs 3]
"""
import argparse
import functools
import http.server
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time

HARNESS = """<!DOCTYPE html><html><body>
<iframe id="r" style="width:1400px;height:900px" src="REPORT"></iframe>
<script>
const t0 = performance.now();
const frame = document.getElementById('r');
let loaded = 0;
frame.onload = () => { loaded = performance.now() - t0; };
const timer = setInterval(() => {
  const doc = frame.contentDocument;
  if (!loaded || !doc) return;
  const charts = doc.querySelectorAll('div.chart').length;
  const drawn = doc.querySelectorAll('div.chart svg, div.chart canvas').length;
  if (drawn >= charts) {
    clearInterval(timer);
    fetch('/timing', {method: 'POST', body: JSON.stringify({load_ms: loaded, charts: charts,
          charts_ms: performance.now() - t0, videos: doc.querySelectorAll('video').length})});
  }
}, 10);
</script></body></html>"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()
    folder, name = os.path.split(os.path.abspath(args.report))
    results = queue.Queue()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/harness.html":
                body = HARNESS.replace("REPORT", name).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                super().do_GET()

        def do_POST(self):
            results.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=folder))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/harness.html" % server.server_address[1]
    size = os.path.getsize(args.report)
    print("report %s: %.1f MB" % (args.report, size / 1e6))
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as profile:
            browser = subprocess.Popen([args.chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                        "--disable-dev-shm-usage", "--no-first-run",
                                        "--user-data-dir=" + profile, url],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                r = results.get(timeout=120)
            finally:
                browser.kill()
                browser.wait()
        print("run %d: load event %.0f ms, all %d charts drawn %.0f ms, %d videos"
              % (run + 1, r["load_ms"], r["charts"], r["charts_ms"], r["videos"]))
    server.shutdown()


if __name__ == "__main__":
    main()
