#!/usr/bin/env python3
"""The dashboard in a real browser: the system's headless Chromium driven by playwright-core
(tests/browser/dashboard.mjs; `npm ci` there first) against the real ivrd after real SIPp
calls. The overview loads without script or CSP errors, every chart drew SVG marks that match
the calls made (bars per hour, transfers per department by outcome, each menu's funnel), the
calls list opens a call's trace in words; screenshots land in the test's directory."""
import json
import os
import shutil
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, run  # noqa: E402
from test_dashboard import TODAY, make_calls  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BROWSER = os.path.join(ROOT, "tests", "browser")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def api(d, path):
    """(status, document or None)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}{path}", timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, None


def test_overview_charts_and_trace_in_chromium():
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} missing: apt-get install chromium"
    assert shutil.which("node"), "node missing: apt-get install nodejs npm"
    assert os.path.isdir(os.path.join(BROWSER, "node_modules", "playwright-core")), \
        "playwright-core missing: run `npm ci` in tests/browser"
    with Ivrd("dash-browser").start() as d:
        ids = make_calls(d)  # two transfers to billing, one hang-up in menu sales
        available = {k: api(d, f"/api/{k}?{TODAY}")[0] == 200
                     for k in ("report", "transfers", "drops", "calls")}
        available["trace"] = api(d, f"/api/trace?call_id={ids[0]}")[0] == 200
        assert available["report"] and available["calls"], available
        trace = api(d, f"/api/trace?call_id={ids[0]}")[1] or []
        want = {
            "calls": 3,
            "call_id": ids[0],
            "trace_events": len(trace),
            "trace_texts": ["pressed 2", "billing"],
            "transfers": {"billing": {"ok": 2, "failed": 0}},
            "drops": {"main": {"entered": 3}, "sales": {"entered": 1, "hung_up": 1}},
            "available": available,
        }
        expect = os.path.join(d.dir, "expect.json")
        with open(expect, "w") as f:
            json.dump(want, f)
        p = subprocess.run(["node", os.path.join(BROWSER, "dashboard.mjs"),
                            f"http://127.0.0.1:{d.http_port}", expect, d.dir],
                           capture_output=True, text=True, timeout=150, cwd=BROWSER)
        print(p.stdout, p.stderr, sep="")
        assert p.returncode == 0, "the browser checks failed (above)"
        for name in ("dashboard.png", "trace.png"):
            shot = os.path.join(d.dir, name)
            with open(shot, "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n", shot
            print(f"screenshot: {shot}")


if __name__ == "__main__":
    run([test_overview_charts_and_trace_in_chromium])
