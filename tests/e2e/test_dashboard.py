#!/usr/bin/env python3
"""The dashboard and its JSON API (include/ivr/http.h), served by the real ivrd after real
SIPp calls: every /api/KIND document equals `ivrctl KIND --json --mask` byte for byte,
numbers masked unless ivrd.dashboard.full_numbers, the access token (401, Bearer, ?token=
then a cookie), bad arguments, unknown calls, methods, the embedded assets and their
headers, clients that leave before their answer, and calls still routed while the API is
hammered (bounded)."""
import http.client
import json
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, run, sipp  # noqa: E402
from scenario import expect_bye, hangup, invite, keys, notify, pause, refer, write  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ASSETS = os.path.join(ROOT, "src", "http", "assets")
SECURITY = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
TODAY = "since=today&until=today"


def fetch(d, path, method="GET", headers=None):
    """(status, headers, body bytes); redirects are not followed."""
    c = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=30)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.headers, r.read()
    finally:
        c.close()


def ivrctl(d, *args):
    p = subprocess.run([os.environ["IVRCTL"], "-c", d.conf, *args], capture_output=True,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def transfer_call(d, ani):
    sc = write(d, f"t-{ani}.xml", invite(ani=ani), keys("2"), refer("billing"),
               notify("200 OK", 2), expect_bye())
    rc, out, _ = sipp(d, sc)
    assert rc == 0, out


def drop_call(d, ani):
    sc = write(d, f"h-{ani}.xml", invite(ani=ani), keys("1"), pause(600), hangup())
    rc, out, _ = sipp(d, sc)
    assert rc == 0, out


def make_calls(d):
    """Two transfers to billing and one caller who hangs up in the sales menu; returns the
    Call-IDs in order."""
    transfer_call(d, "5551234")
    transfer_call(d, "5559876")
    drop_call(d, "5551234")
    d.wait_event("drop", menu="sales")
    ends = d.rows("SELECT call_id FROM events WHERE event = 'call.start' ORDER BY id")
    assert len(ends) == 3, ends
    for c in ends:  # every call's last row is in before anyone reads
        d.wait_event("call.end", call_id=c["call_id"])
    return [c["call_id"] for c in ends]


def api_cases(call_ids):
    """(kind, query) for each kind the API serves; ivrctl gets the same as --NAME VALUE."""
    return [
        ("calls", TODAY),
        ("calls", "limit=2"),
        ("trace", f"call_id={call_ids[0]}"),
        ("transfers", TODAY),
        ("transfers", TODAY + "&list=1"),
        ("drops", TODAY),
        ("callbacks", "view=all"),
        ("caller", "number=5551234"),
        ("report", TODAY),
    ]


def ctl_args(kind, query):
    """The ivrctl command line for an API query: --NAME VALUE, flags as --NAME, the call of a
    trace and the number of a caller as ivrctl's operand, view=all as ivrctl's default."""
    args = [kind, "--json"]
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if (kind, name) in (("trace", "call_id"), ("caller", "number")):
            args.append(value)
        elif name == "list":
            args.append("--list")
        elif (name, value) != ("view", "all"):
            args += ["--" + name.replace("_", "-"), value]
    return args


def compare_with_ivrctl(d, cases, mask):
    """Each case's API document against ivrctl's; returns the kinds compared (kinds not built
    yet answer 501 and are left out)."""
    compared = []
    for kind, query in cases:
        status, headers, body = fetch(d, f"/api/{kind}?{query}")
        if status == 501:
            print(f"  /api/{kind}: not built yet (501)")
            continue
        assert status == 200, (kind, query, status, body[:300])
        assert headers["Content-Type"] == "application/json", headers
        assert headers["Cache-Control"] == "no-store", headers
        args = ctl_args(kind, query) + (["--mask"] if mask else [])
        rc, out, err = ivrctl(d, *args)
        assert rc == 0, (args, rc, err)
        assert body == out, f"/api/{kind}?{query} differs from ivrctl {' '.join(args)}:\n" \
                            f"api:    {body[:400]!r}\nivrctl: {out[:400]!r}"
        compared.append(kind)
    return compared


def test_api_equals_ivrctl_json_masked():
    with Ivrd("dash-api").start() as d:
        ids = make_calls(d)
        compared = compare_with_ivrctl(d, api_cases(ids), mask=True)
        print(f"  compared byte for byte: {sorted(set(compared))}")
        assert "calls" in compared, "the calls report must be served"
        _, _, body = fetch(d, "/api/calls?" + TODAY)
        assert b"5551234" not in body and b"5559876" not in body, body[:300]
        assert b'"***1234"' in body and b'"***9876"' in body, body[:300]
        # HEAD: the GET's length, no body
        status, headers, body = fetch(d, "/api/calls?" + TODAY, method="HEAD")
        length = len(fetch(d, "/api/calls?" + TODAY)[2])
        assert (status, body, int(headers["Content-Length"])) == (200, b"", length)


def test_full_numbers():
    with Ivrd("dash-full", extra_ivrd="dashboard: { full_numbers = true; };").start() as d:
        ids = make_calls(d)
        compared = compare_with_ivrctl(d, api_cases(ids), mask=False)
        assert "calls" in compared
        _, _, body = fetch(d, "/api/calls?" + TODAY)
        assert b'"5551234"' in body and b'"5559876"' in body, body[:300]
        # a client may still ask for masked numbers
        _, _, body = fetch(d, "/api/calls?mask=1&" + TODAY)
        assert b"5551234" not in body and b'"***1234"' in body, body[:300]


def test_token():
    token = "s3cret-T0ken_for-QA"
    with Ivrd("dash-token", extra_ivrd=f'dashboard: {{ token = "{token}"; }};').start() as d:
        for path in ("/", "/trace?call_id=x", "/assets/dash.js", "/api/calls"):
            status, headers, body = fetch(d, path)
            assert status == 401, (path, status)
            assert headers["WWW-Authenticate"].startswith("Bearer"), headers
            assert b"error" in body and token.encode() not in body
        for bad in ("Bearer wrong", "Bearer " + token[:-1], "Bearer " + token + "x",
                    "Basic " + token, "Bearer "):
            assert fetch(d, "/api/calls", headers={"Authorization": bad})[0] == 401, bad
        status, _, body = fetch(d, "/api/calls", headers={"Authorization": "Bearer " + token})
        assert status == 200 and body.startswith(b"["), (status, body)
        assert fetch(d, "/", headers={"Authorization": "Bearer " + token})[0] == 200
        # ?token= once: a cookie (HttpOnly, SameSite=Strict) and the URL without it
        status, headers, _ = fetch(d, f"/?day=2026-01-02&token={token}")
        assert status == 303, status
        assert headers["Location"] == "/?day=2026-01-02", headers
        cookie = headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie, cookie
        assert token not in cookie, "the cookie holds a digest, never the token"
        pair = cookie.split(";")[0]
        assert fetch(d, "/", headers={"Cookie": "a=b; " + pair})[0] == 200
        assert fetch(d, "/api/report?" + TODAY, headers={"Cookie": pair})[0] in (200, 501)
        assert fetch(d, "/", headers={"Cookie": pair[:-1] + "0"})[0] == 401
        assert fetch(d, "/", headers={"Cookie": pair + "0"})[0] == 401
        status, headers, _ = fetch(d, f"/trace?token={token}&call_id=abc")
        assert (status, headers["Location"]) == (303, "/trace?call_id=abc"), headers
        # the API takes ?token= too (no redirect), and it is not a report argument
        assert fetch(d, f"/api/calls?token={token}&limit=1")[0] == 200
        assert fetch(d, "/api/calls?token=nope")[0] == 401
        # metrics stay as they are
        assert fetch(d, "/healthz")[0] == 200
        rc, out, err = ivrctl(d, "show", "config")
        assert rc == 0, err
        assert token.encode() not in out, "the token must never be printed"
        assert re.search(rb"ivrd\.dashboard\.token = \"\*+\"", out), out[-2000:]


def test_warns_when_served_beyond_loopback_without_token():
    d = Ivrd("dash-warn")
    with open(d.conf) as f:
        text = f.read()
    with open(d.conf, "w") as f:
        f.write(text.replace(f'http_listen = "127.0.0.1:{d.http_port}"',
                             f'http_listen = "0.0.0.0:{d.http_port}"'))
    p = subprocess.run([os.environ["IVRD"], "-t", "-c", d.conf], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert re.search(r"warning: .*ivrd\.dashboard.*not a loopback address.*loopback peers",
                     p.stderr), p.stderr
    # with a token, or on loopback, no warning
    with open(d.conf, "w") as f:
        f.write(text.replace(f'http_listen = "127.0.0.1:{d.http_port}"',
                             'dashboard: { token = "long-random-token"; }; '
                             f'http_listen = "0.0.0.0:{d.http_port}"'))
    for conf in (d.conf, Ivrd("dash-warn2").conf):
        p = subprocess.run([os.environ["IVRD"], "-t", "-c", conf], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0 and "dashboard" not in p.stderr, p.stderr


def test_bad_requests():
    with Ivrd("dash-bad").start() as d:
        make_calls(d)
        # the error names the argument or repeats the bad value
        for path, why in (("/api/calls?since=yesterdayish", "yesterdayish"),
                          ("/api/calls?bogus=1", "bogus"),
                          ("/api/calls?limit=many", "many|limit"),
                          ("/api/callbacks?view=someday", "someday|view"),
                          ("/api/calls?since=2026-01-02&until=2026-01-01", ""),
                          ("/api/caller", "number"),
                          ("/api/trace", "")):
            status, headers, body = fetch(d, path)
            assert status == 400, (path, status, body)
            assert headers["Content-Type"] == "application/json", headers
            doc = json.loads(body)
            assert list(doc) == ["error"] and doc["error"], body
            assert re.search(why, doc["error"]), (path, body)
        status, _, body = fetch(d, "/api/trace?call_id=no-such-call@nowhere")
        assert status in (404, 501), (status, body)
        if status == 404:
            assert body.startswith(b'{"error": '), body
        status, _, body = fetch(d, "/api/trace?number=5550000")
        assert status in (404, 501), (status, body)
        for path in ("/api/nope", "/api/export", "/api/", "/assets/nope.js", "/assets/",
                     "/assets/../metrics"):
            assert fetch(d, path)[0] == 404, path
        for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
            for path in ("/", "/api/calls"):
                status, headers, body = fetch(d, path, method=method)
                assert status == 405, (method, path, status)
                assert headers["Allow"] == "GET, HEAD", headers
                assert headers["X-Frame-Options"] == "DENY", headers
        # a query string evhttp cannot split
        assert fetch(d, "/api/calls?limit=%zz")[0] == 400


def test_assets_served_with_headers():
    types = {"html": "text/html", "js": "text/javascript", "css": "text/css",
             "svg": "image/svg+xml"}
    with Ivrd("dash-assets").start() as d:
        pages = {"/": "index.html", "/trace": "trace.html"}
        pages.update({f"/assets/{n}": n for n in os.listdir(ASSETS)
                      if n not in ("index.html", "trace.html")})
        for path, name in pages.items():
            status, headers, body = fetch(d, path)
            assert status == 200, (path, status)
            with open(os.path.join(ASSETS, name), "rb") as f:
                assert body == f.read(), f"{path} is not {name} as shipped"
            assert headers["Content-Type"].startswith(types[name.rsplit(".", 1)[1]]), headers
            for k, v in SECURITY.items():
                assert headers[k] == v, (path, k, headers[k])
            # nothing comes from the network at run time; no inline script or markup insertion
            assert not re.search(rb"(src|href)=\"(https?:)?//", body), path
            assert b"innerHTML" not in body and b"<script>" not in body, path
        # the API carries them too
        _, headers, _ = fetch(d, "/api/calls")
        for k, v in SECURITY.items():
            assert headers[k] == v, (k, headers[k])
        # disabled: the paths are gone, /metrics stays
    d = Ivrd("dash-off", extra_ivrd="dashboard: { enabled = false; };")
    with d.start():
        assert fetch(d, "/")[0] == 404 and fetch(d, "/api/calls")[0] == 404
        assert fetch(d, "/healthz")[0] == 200


def abandon(d, path, reset):
    """Sends a request and goes away before the answer (RST when reset)."""
    s = socket.create_connection(("127.0.0.1", d.http_port), timeout=10)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    if reset:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def test_client_gone_before_answer():
    """Clients that close (or reset) before their answer, 60 of them at once, more than the
    queue holds: under ASan no use after free and no leak, the queue gives every place back,
    and at exit the reports still queued are answered (503) before evhttp is freed."""
    with Ivrd("dash-gone").start() as d:
        make_calls(d)
        for i in range(60):
            abandon(d, "/api/report?" + TODAY if i % 2 else "/api/calls?" + TODAY, i % 3 == 0)
        # the queue (16) drains: every abandoned job gave its place back
        end = time.monotonic() + 20
        while (status := fetch(d, "/api/calls?" + TODAY)[0]) == 503 and time.monotonic() < end:
            time.sleep(0.1)
        assert status == 200, status
        # stopping with requests queued: they get 503, the worker ends, nothing leaks
        socks = []
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", d.http_port), timeout=10)
            s.sendall(b"GET /api/report?since=today&until=today HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(s)
        for _ in range(10):
            abandon(d, "/api/calls", False)
        d.stop()  # asserts exit 0 and no sanitizer report
        for s in socks:
            reply = s.recv(100)
            assert reply == b"" or re.match(rb"HTTP/1.1 (200|501|503)", reply), reply
            s.close()


def test_calls_routed_while_hammered():
    """200 API requests from 4 clients while SIPp places calls: every call is routed and
    transferred; every request answered 200 (or 501 for a kind not built), or 503 with
    Retry-After when the queue is full."""
    with Ivrd("dash-hammer").start() as d:
        make_calls(d)
        results, errors = [], []

        def client(n):
            paths = ["/api/report?" + TODAY, "/api/calls?" + TODAY, "/api/drops?" + TODAY,
                     "/api/transfers?" + TODAY, "/api/callbacks"]
            c = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=30)
            try:
                for i in range(50):
                    c.request("GET", paths[(n + i) % len(paths)])
                    r = c.getresponse()
                    r.read()
                    results.append((r.status, r.headers.get("Retry-After")))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
            finally:
                c.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for i in range(4):
            transfer_call(d, f"555700{i}")
        for t in threads:
            t.join(120)
        assert not errors, errors
        assert len(results) == 200, len(results)
        bad = [r for r in results if r[0] not in (200, 501) and r != (503, "1")]
        assert not bad, bad
        print(f"  answers: { {s: sum(1 for r in results if r[0] == s) for s in (200, 501, 503)} }")
        ok = d.rows("SELECT count(*) AS n FROM events WHERE event = 'transfer.result' "
                    "AND result = 'ok'")[0]["n"]
        assert ok == 6, ok


if __name__ == "__main__":
    run([test_api_equals_ivrctl_json_masked, test_full_numbers, test_token,
         test_warns_when_served_beyond_loopback_without_token, test_bad_requests,
         test_assets_served_with_headers, test_client_gone_before_answer,
         test_calls_routed_while_hammered])
