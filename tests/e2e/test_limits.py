#!/usr/bin/env python3
"""Who may call and how much: ivrd.sip.trusted (403), max_calls and max_calls_per_source
(503 with Retry-After), max_message_size (413) and max_headers (400). Refused INVITEs are
journaled as calls that started and ended at once with result "refused", and counted in
call.refused by reason.

usage: test_limits.py [--list | TEST...]
"""
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, menus_conf, run  # noqa: E402
from test_sip import Call, Client, token  # noqa: E402


def limited(name, sip, **kw):
    """An Ivrd whose ivrd.sip block also holds the settings in sip."""
    d = Ivrd(name, menus=menus_conf(timeout=30), **kw)
    set_sip(d, sip)
    return d


def set_sip(d, sip):
    text = open(d.conf).read()
    text = re.sub(r"answer_delay = 0;[^}]*}", f"answer_delay = 0; {sip} }}", text, count=1)
    with open(d.conf, "w") as f:
        f.write(text)


def reload(d, sip):
    set_sip(d, sip)
    mark = len(d.lines)
    d.proc.send_signal(signal.SIGHUP)
    d.wait_log(r"generation \d+ -> \d+", start=mark)


def refused(d, call_id):
    end = d.wait_event("call.end", call_id=call_id)
    assert end["result"] == "refused", end
    assert d.rows("SELECT * FROM events WHERE event = 'call.start' AND call_id = ?",
                  (call_id,)), "no call.start for the refused call"
    return end["reason"]


def metrics(d):
    with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/metrics", timeout=5) as r:
        return r.read().decode()


def refused_count(text, reason):
    m = re.search(r'^ivrd_call_refused(?:_total)?\{reason="%s"\} (\d+)' % reason, text, re.M)
    return int(m.group(1)) if m else 0


def client_from(d, addr):
    cl = Client(d)
    cl.sock.close()
    cl.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    cl.sock.bind((addr, 0))
    cl.port = cl.sock.getsockname()[1]
    return cl


def test_untrusted_source_refused():
    with limited("lim-trust", 'trusted = ["10.9.9.9", "2001:db8::/32"];').start() as d:
        cl = Client(d)
        call = Call(cl)
        cl.send(call.invite_text("z9hG4bK" + token()))
        r = cl.response(call.call_id, "INVITE")
        assert r.code == 403, r
        cl.ack_error(call.invite_text("x"), r)
        assert refused(d, call.call_id) == "source 127.0.0.1 not trusted"
        # monitoring still works; anything else out of dialog is refused too
        assert cl.ask("OPTIONS").code == 200
        assert cl.ask("MESSAGE").code == 403
        assert refused_count(metrics(d), "untrusted") == 1, metrics(d)
        reload(d, 'trusted = ["127.0.0.0/8"];')
        ok = Call(cl)
        ok.start()
        d.wait_event("menu.enter", menu="main", call_id=ok.call_id)
        ok.in_dialog("BYE")
        d.wait_event("call.end", call_id=ok.call_id)
        call.close()
        ok.close()
        cl.close()


def test_max_calls_503_until_one_ends():
    with limited("lim-max", "max_calls = 1;").start() as d:
        cl = Client(d)
        first = Call(cl)
        first.start()
        d.wait_event("menu.enter", menu="main", call_id=first.call_id)
        second = Call(cl)
        cl.send(second.invite_text("z9hG4bK" + token()))
        r = cl.response(second.call_id, "INVITE")
        assert r.code == 503, r
        assert r.hdr("retry-after"), r.headers
        assert refused(d, second.call_id) == "1 calls active (max_calls)"
        first.in_dialog("BYE")
        d.wait_event("call.end", call_id=first.call_id)
        third = Call(cl)
        third.start()
        d.wait_event("menu.enter", menu="main", call_id=third.call_id)
        assert refused_count(metrics(d), "capacity") == 1
        third.in_dialog("BYE")
        d.wait_event("call.end", call_id=third.call_id)
        for c in (first, second, third):
            c.close()
        cl.close()


def test_max_calls_per_source():
    with limited("lim-src", "max_calls_per_source = 1;").start() as d:
        cl = Client(d)
        first = Call(cl)
        first.start()
        d.wait_event("menu.enter", menu="main", call_id=first.call_id)
        other_port = Client(d)  # same address, another port: the same source
        second = Call(other_port)
        other_port.send(second.invite_text("z9hG4bK" + token()))
        r = other_port.response(second.call_id, "INVITE")
        assert r.code == 503 and r.hdr("retry-after"), r
        assert refused(d, second.call_id) == \
            "1 calls active from 127.0.0.1 (max_calls_per_source)"
        # another source is counted on its own
        cl2 = client_from(d, "127.0.0.2")
        third = Call(cl2)
        third.start()
        d.wait_event("menu.enter", menu="main", call_id=third.call_id)
        assert refused_count(metrics(d), "source_capacity") == 1
        for c in (first, third):
            c.in_dialog("BYE")
            d.wait_event("call.end", call_id=c.call_id)
        for c in (first, second, third):
            c.close()
        for c in (cl, other_port, cl2):
            c.close()


def test_oversized_datagram_413():
    with limited("lim-size", "max_message_size = 2048;").start() as d:
        cl = Client(d)
        call_id = token() + "@raw"
        cl.send(cl.request("OPTIONS", call_id=call_id,
                           headers=[f"X-Pad: {'a' * 3000}"]))
        r = cl.response(call_id, "OPTIONS")
        assert r.code == 413, r
        d.wait_log(r"malformed message .*more than max_message_size 2048")
        # a response that large is dropped; the daemon carries on
        cl.send("SIP/2.0 200 OK\r\nX-Pad: " + "a" * 3000 + "\r\n\r\n")
        assert cl.ask("OPTIONS").code == 200
        cl.close()


def test_too_many_headers_400():
    with limited("lim-headers", "max_headers = 100;").start() as d:
        cl = Client(d)
        call_id = token() + "@raw"
        cl.send(cl.request("OPTIONS", call_id=call_id,
                           headers=[f"X-H{i}: {i}" for i in range(150)]))
        r = cl.response(call_id, "OPTIONS")
        assert r.code == 400 and "Too many headers" in r.reason, r
        d.wait_log(r"more than max_headers 100 header lines")
        # the response headers after 150 proxies' Vias are still found, every Via echoed
        call_id = token() + "@raw"
        vias = "".join(f"Via: SIP/2.0/UDP 10.0.0.{i % 250 + 1}:5060;branch=z9hG4bKp{i:04d}\r\n"
                       for i in range(150))
        cl.send(cl.request("OPTIONS", call_id=call_id).replace("Via:", vias + "Via:", 1))
        r = cl.response(call_id, "OPTIONS")
        assert r.code == 400 and len(r.hdrs("via")) == 151, (r, len(r.hdrs("via")))
        # 90 are fine
        assert cl.ask("OPTIONS", headers=[f"X-H{i}: {i}" for i in range(90)]).code == 200
        cl.close()


def test_limits_out_of_range_refused():
    d = limited("lim-range", "max_message_size = 100; max_headers = 5000; "
                'trusted = ["10.0.0.0/33", "example.com"];')
    p = subprocess.run([os.environ["IVRD"], "-t", "-c", d.conf], capture_output=True, text=True)
    assert p.returncode != 0
    for what in ("ivrd.sip.max_message_size", "ivrd.sip.max_headers", "10.0.0.0/33",
                 "example.com"):
        assert what in p.stderr, (what, p.stderr)


if __name__ == "__main__":
    run([test_untrusted_source_refused, test_max_calls_503_until_one_ends,
         test_max_calls_per_source, test_oversized_datagram_413, test_too_many_headers_400,
         test_limits_out_of_range_refused])
