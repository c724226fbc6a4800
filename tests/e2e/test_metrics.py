#!/usr/bin/env python3
"""The metrics page: /metrics parsed as Prometheus text format 0.0.4 after real calls and a
reload, /healthz, what else the server answers, and http_listen = "off".

Names (include/ivr/http.h): "ivrd_" + the dotted name with '.' -> '_'; counters end in
"_total", added unless the name already ends so (call.total -> ivrd_call_total)."""
import math
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, run, sipp  # noqa: E402
from scenario import expect_bye, hangup, invite, keys, notify, pause, refer, write  # noqa: E402

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(rf"^({NAME})(?:\{{(.*)\}})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
COMMENT = re.compile(rf"^# (HELP|TYPE) ({NAME}) ?(.*)$")


class Exposition:
    """A parsed scrape: families (name -> {"help", "type"}) and samples
    ((name, ((label, value), ...)) -> float). Raises on anything the format does not allow."""

    def __init__(self, text):
        self.families, self.samples = {}, {}
        assert text.endswith("\n"), "the exposition must end with a newline"
        closed, sampled, current = set(), set(), None
        for n, line in enumerate(text.split("\n")[:-1], 1):
            where = f"line {n}: {line!r}"
            m = COMMENT.match(line) if line.startswith("#") else SAMPLE.match(line)
            assert m, f"malformed, {where}"
            name = m.group(2) if line.startswith("#") else m.group(1)
            if name != current:  # a metric's lines come together
                assert name not in closed, f"{name} split up, {where}"
                if current is not None:
                    closed.add(current)
                current = name
            fam = self.families.setdefault(name, {})
            if line.startswith("#"):
                kind, rest = m.group(1).lower(), m.group(3)
                assert kind not in fam and name not in sampled, f"late or second {kind}, {where}"
                if kind == "type":
                    assert rest in ("counter", "gauge"), where
                else:  # only \\ and \n are escapes in HELP
                    assert "\\" not in re.sub(r"\\[\\n]", "", rest), where
                fam[kind] = rest
                continue
            labels, value = m.group(2), m.group(3)
            assert "type" in fam, f"sample before its TYPE, {where}"
            if fam["type"] == "counter":
                assert name.endswith("_total") and not name.endswith("_total_total"), where
            key = (name, self._labels(labels or "", where))
            assert key not in self.samples, f"duplicate series, {where}"
            self.samples[key] = float(value)
            assert not math.isnan(self.samples[key]), where
            sampled.add(name)

    @staticmethod
    def _labels(text, where):
        pairs, pos = [], 0
        while pos < len(text):
            m = LABEL.match(text, pos)
            assert m, f"bad labels at {pos}, {where}"
            value = re.sub(r"\\(.)", lambda e: "\n" if e.group(1) == "n" else e.group(1),
                           m.group(2))
            pairs.append((m.group(1), value))
            pos = m.end()
            if pos < len(text):
                assert text[pos] == ",", f"labels not comma-separated, {where}"
                pos += 1
        names = [k for k, _ in pairs]
        assert len(names) == len(set(names)), f"repeated label, {where}"
        return tuple(sorted(pairs))

    def get(self, name, **labels):
        """The sample's value; None when the series is absent."""
        return self.samples.get((name, tuple(sorted(labels.items()))))

    def type(self, name):
        return self.families[name]["type"]


def fetch(d, path, method="GET", data=None, host="127.0.0.1"):
    """(status, headers, body) of one request."""
    req = urllib.request.Request(f"http://{host}:{d.http_port}{path}", method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def scrape(d):
    status, headers, body = fetch(d, "/metrics")
    assert status == 200, (status, body)
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8", headers
    return Exposition(body)


def count(d, event, **match):
    where = "".join(f" AND {k} = ?" for k in match)
    return d.rows(f"SELECT count(*) AS n FROM events WHERE event = ?{where}",
                  (event, *match.values()))[0]["n"]


def set_http_listen(d, value):
    """The harness writes http_listen itself; libconfig refuses a second one in extra_ivrd."""
    text = open(d.conf).read()
    new = re.sub(r'http_listen = "[^"]*";', f'http_listen = "{value}";', text)
    assert new != text
    with open(d.conf, "w") as f:
        f.write(new)


def test_metrics_count_calls_and_reloads():
    # long prompts: the caller who hangs up is still hearing the sales greeting
    with Ivrd("metrics", prompt_ms=3000).start() as d:
        m = scrape(d)
        assert m.get("ivrd_config_generation") == 1, m.samples
        assert m.type("ivrd_config_generation") == "gauge"

        calls = [
            ("transfer", [invite(), keys("2"), refer("billing"),
                          notify("100 Trying", 2, terminated=False), notify("200 OK", 3),
                          expect_bye()]),
            ("drop", [invite(), keys("1"), pause(500), hangup()]),
            ("invalid", [invite(), keys("9", "8", "7"), refer("operator"),
                         notify("200 OK", 2), expect_bye()]),
        ]
        for name, steps in calls:
            rc, out, _ = sipp(d, write(d, f"{name}.xml", *steps))
            assert rc == 0, f"{name}: {out}"
        # the last call ends when ivrd has the 200 to its BYE
        end = time.monotonic() + 10
        while count(d, "call.end") < 3 and time.monotonic() < end:
            time.sleep(0.05)
        assert count(d, "call.end") == 3, d.rows()

        m = scrape(d)
        assert m.type("ivrd_call_total") == "counter"
        assert m.get("ivrd_call_total") == 3, m.samples
        assert m.type("ivrd_call_active") == "gauge"
        assert m.get("ivrd_call_active") == 0
        assert m.get("ivrd_call_end_total", result="transferred") == 2
        assert m.get("ivrd_call_end_total", result="dropped") == 1
        # per node, as the journal has it
        assert m.type("ivrd_menu_enter_total") == "counter"
        for node in ("main", "sales"):
            assert m.get("ivrd_menu_enter_total", node=node) == \
                count(d, "menu.enter", menu=node) > 0, (node, m.samples)
        assert m.get("ivrd_menu_invalid_total", node="main") == 3
        assert m.get("ivrd_menu_drop_total", node="sales") == 1
        assert m.get("ivrd_menu_drop_total", node="main") is None
        assert m.get("ivrd_transfer_result_total", dept="billing", result="ok") == 1
        assert m.get("ivrd_transfer_result_total", dept="operator", result="ok") == 1
        assert m.get("ivrd_route_decision_total", dept="billing", result="routed") == 1, \
            [k for k in m.samples if k[0] == "ivrd_route_decision_total"]
        # read at scrape time from the journal, the media tick and the SIP stack
        assert m.get("ivrd_journal_appended_total") >= m.get("ivrd_journal_committed_total") \
            >= len(d.rows()) > 0
        assert m.get("ivrd_journal_failed_total") == 0
        assert m.type("ivrd_journal_commit_seconds") == "gauge"
        assert 0 < m.get("ivrd_journal_commit_seconds") < 5
        assert m.get("ivrd_rtp_sent_total") > 50  # several prompts' worth of 20 ms frames
        assert m.get("ivrd_rtp_dtmf_keys_total") == 5  # 2; 1; 9 8 7
        assert m.get("ivrd_rtp_received_total") > 0
        assert m.get("ivrd_rtp_malformed_total") == 0
        assert m.get("ivrd_rtp_sessions") == 0
        assert m.get("ivrd_rtp_tick_late_total") is not None
        assert m.get("ivrd_rtp_frames_skipped_total") is not None
        assert m.get("ivrd_sip_rx_requests_total") >= 3 * 3  # INVITE, ACK, BYE or NOTIFY
        assert m.get("ivrd_sip_rx_responses_total") >= 3  # 202s and the BYEs' 200s
        assert m.get("ivrd_sip_rx_malformed_total") == 0
        for name in ("ivrd_sip_rx_retransmits_total", "ivrd_sip_tx_retransmits_total",
                     "ivrd_sip_tx_timeouts_total"):
            assert m.get(name) is not None, name
        assert m.get("ivrd_uptime_seconds") > 0
        # every metric has its help text
        assert all(f.get("help") for f in m.families.values()), m.families

        # a good reload, then a refused one
        d.proc.send_signal(signal.SIGHUP)
        d.wait_log(r"generation 1 -> 2")
        m = scrape(d)
        assert m.get("ivrd_config_generation") == 2
        assert m.get("ivrd_config_reload_ok_total") == 1
        good = open(d.conf).read()
        with open(d.conf, "w") as f:
            f.write(good.replace('greeting = "main/greeting"', 'greeting = "main/nope"'))
        d.proc.send_signal(signal.SIGHUP)
        d.wait_log(r"generation 2 keeps serving")
        m = scrape(d)
        assert m.get("ivrd_config_generation") == 2
        assert m.get("ivrd_config_reload_ok_total") == 1
        assert m.get("ivrd_config_reload_fail_total") == 1


def test_health_and_other_requests():
    with Ivrd("metrics-http").start() as d:
        status, headers, body = fetch(d, "/healthz")
        assert (status, body) == (200, "ok\n"), (status, body)
        assert headers["Content-Type"].startswith("text/plain"), headers
        status, headers, body = fetch(d, "/healthz?verbose=1")
        assert status == 200, status
        for path in ("/nope", "/metrics/", "/metricsx", "/../etc/passwd", "/healthz/x"):
            status, _, _ = fetch(d, path)
            assert status == 404, (path, status)
        for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
            status, headers, _ = fetch(d, "/metrics", method=method,
                                       data=b"x" if method != "OPTIONS" else None)
            assert status == 405, (method, status)
            assert headers["Allow"] == "GET, HEAD", headers
        status, headers, body = fetch(d, "/metrics", method="HEAD")
        assert status == 200 and body == "", (status, body)
        assert int(headers["Content-Length"]) > 1000, headers
        # requests larger than a scraper sends are refused, and the server goes on
        big_headers = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
        big_body = (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n" +
                    b"a" * 10000)
        for req, status in ((big_headers, b"400"), (big_body, b"413")):
            with socket.create_connection(("127.0.0.1", d.http_port), timeout=10) as s:
                s.sendall(req)
                reply = s.recv(4096)
            assert reply.startswith(b"HTTP/1.1 " + status), reply[:100]
        assert fetch(d, "/healthz")[0] == 200


def test_idle_connection_is_closed():
    with Ivrd("metrics-idle").start() as d:
        with socket.create_connection(("127.0.0.1", d.http_port), timeout=30) as s:
            s.sendall(b"GET /metr")
            t0 = time.monotonic()
            assert s.recv(4096) == b""
            took = time.monotonic() - t0
        assert 8 < took < 15, took  # evhttp_set_timeout: 10 s
        assert fetch(d, "/healthz")[0] == 200


def test_healthz_while_draining():
    with Ivrd("metrics-drain", prompt_ms=3000).start() as d:
        result = []
        caller = threading.Thread(target=lambda: result.append(
            sipp(d, write(d, "s.xml", invite(), pause(3000), hangup()))))
        caller.start()
        d.wait_event("menu.enter")
        d.proc.send_signal(signal.SIGTERM)
        d.wait_log(r"draining: 1 call in progress")
        assert fetch(d, "/healthz")[::2] == (503, "draining\n")
        assert scrape(d).get("ivrd_call_active") == 1
        caller.join(30)
        assert result and result[0][0] == 0, result
        d.wait_log(r"drained: every call finished")


def test_ipv6_listen():
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        print("skipped: no ::1")
        return
    d = Ivrd("metrics-v6")
    set_http_listen(d, f"[::1]:{d.http_port}")
    with d.start():
        d.wait_log(rf"serving /metrics and /healthz on \[::1\]:{d.http_port}")
        status, _, body = fetch(d, "/healthz", host="[::1]")
        assert (status, body) == (200, "ok\n")


def test_http_listen_off():
    d = Ivrd("metrics-off")
    set_http_listen(d, "off")
    with d.start():
        try:
            socket.create_connection(("127.0.0.1", d.http_port), timeout=2).close()
        except ConnectionRefusedError:
            pass
        else:
            raise AssertionError(f"something listens on {d.http_port}")
        assert not any("serving /metrics" in line for line in d.lines), d.lines


def test_port_taken_is_fatal():
    d = Ivrd("metrics-taken")
    with socket.socket() as s:
        s.bind(("127.0.0.1", d.http_port))
        s.listen()
        try:
            d.start()
        except AssertionError:
            pass
        assert d.proc.wait(10) == 1, d.lines
        d.proc = None
    text = "\n".join(d.lines)
    assert f"cannot listen on 127.0.0.1:{d.http_port}: Address already in use" in text, text
    assert "ready:" not in text and "AddressSanitizer" not in text, text


if __name__ == "__main__":
    run([test_metrics_count_calls_and_reloads, test_health_and_other_requests,
         test_idle_connection_is_closed, test_healthz_while_draining, test_ipv6_listen,
         test_http_listen_off, test_port_taken_is_fatal])
