#!/usr/bin/env python3
"""Keeping callback promises: promises seeded in the journal's callbacks table (as a previous
run leaves them) are dialled back through the outbound proxy, where SIPp plays the caller's
phone: answered, the prompt, REFER to the department, NOTIFY 200 -> kept; busy -> retried
after retry; no answer -> CANCEL after ring_timeout -> attempts used up -> broken (event,
warning, metric); a closed department waits for `ivrctl dept NAME open`; department first
dials the department and REFERs the agent to the caller; kill -9 mid-attempt -> the restart
journals the attempt as interrupted and tries again, never two attempts at once.

usage: test_callbacks.py [--list | TEST...]
"""
import os
import re
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, free_port, run, write_tone  # noqa: E402
from test_outbound import Proxy, RtpSink  # noqa: E402

NUMBER = "15125550147"
CB_PROMPTS = (["offer", "number-is", "confirm", "enter-number", "invalid-number", "promised",
               "today", "tomorrow", "at", "this-is", "for-caller", "returning",
               "returning-keys", "cancelled", "none", "goodbye", "dept-billing"]
              + ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
              + [f"digit-{i}" for i in range(10)]
              + [f"time-{h:02d}{m:02d}" for h in range(24) for m in (0, 30)])


MENUS = """
menus = {
  main = {
    greeting = "main/greeting"; short = "main/short"; timeout = 3.0;
    options = ( { key = "2"; action = "dept:billing"; },
                { key = "4"; action = "callback:billing"; } );
  };
};
"""


def daemon(name, proxy_port, hours='["always"]', attempts=3, retry=10, order="caller-first",
           ring_timeout=2, rate=10, service_level=1800):
    d = Ivrd(name, menus=MENUS, extra_ivrd=f"callbacks: {{ rate = {rate}; lease = 30; }};",
             extra_sip=f"""outbound: {{ proxy = "udp:127.0.0.1:{proxy_port}";
        from = "sip:ivrd@callcenter.example"; ring_timeout = {ring_timeout};
        max_outbound = 8; }};""", prompt_ms=200)
    t = d.target_port
    depts = f"""
departments = {{
  billing = {{ targets = ["sip:billing@127.0.0.1:{t}"]; hours = {hours}; transfer_timeout = 5;
    callback: {{ offer = []; attempts = {attempts}; retry = {retry}; order = "{order}";
                 service_level = {service_level};
                 name_prompt = "callback/dept-billing"; }}; }};
  sales = {{ targets = ["sip:sales@127.0.0.1:{t}"]; }};
  closed = {{ targets = ["sip:closed@127.0.0.1:{t}"]; hours = ["never"]; }};
  operator = {{ targets = ["sip:operator@127.0.0.1:{t}"]; }};
}};
"""
    with open(d.conf) as f:
        text = f.read()
    start, end = text.index("departments = {"), text.index("\nmenus = {")
    with open(d.conf, "w") as f:
        f.write(text[:start] + depts + text[end:])
    for p in CB_PROMPTS:
        write_tone(os.path.join(d.prompts, "en", "callback", p + ".wav"), 100)
    return d


def seed(d, *promises):
    """Creates the journal (ivrd started and stopped once), then inserts rows as a previous
    run would have left them: (id, state, attempts, max_attempts)."""
    d.start()
    d.stop()
    now = int(time.time() * 1000)
    import sqlite3
    con = sqlite3.connect(d.journal, timeout=5)
    with con:
        for pid, state, attempts, max_attempts in promises:
            con.execute(
                "INSERT INTO callbacks (id, number, ani, dept, lang, call_id, state, "
                "created_ms, updated_ms, due_ms, expires_ms, next_ms, attempts, max_attempts, "
                "owner, lease_until_ms) VALUES (?, ?, ?, 'billing', 'en', 'seed@x', ?, ?, ?, ?, "
                "?, ?, ?, ?, ?, ?)",
                (pid, NUMBER, NUMBER, state, now, now, now + 3600000, now + 86400000, now,
                 attempts, max_attempts, "other:1" if state == "dialing" else None,
                 now + 30000 if state == "dialing" else None))
    con.close()


def phone(d, scenario, port, **kw):
    """SIPp behind the proxy address; the same port again keeps the earlier run's logs."""
    old = os.path.join(d.dir, f"sipp-{port}")
    if os.path.exists(old):
        os.rename(old, f"{old}-{time.monotonic_ns()}")
    return Proxy(d, scenario, port, **kw)


def ivrctl(d, *args):
    p = subprocess.run([os.environ["IVRCTL"], "-c", d.conf, *args], capture_output=True,
                       text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def row(d, pid):
    rows = d.rows("SELECT * FROM callbacks WHERE id = ?", (pid,))
    return rows[0] if rows else None


def cb_events(d, pid):
    return [(r["event"], r["result"], r["call_id"])
            for r in d.rows("SELECT * FROM events WHERE callback_id = ? ORDER BY id", (pid,))]


def metric(d, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    m = re.search(rf"^{re.escape(name)} (\d+)$", text, re.M)
    return int(m.group(1)) if m else None


def assert_one_at_a_time(d, pid):
    """Every callback.attempt is followed by its outcome before the next attempt starts."""
    open_attempt = None
    for ev, result, call_id in cb_events(d, pid):
        if ev == "callback.attempt":
            assert open_attempt is None, f"two attempts at once: {cb_events(d, pid)}"
            open_attempt = call_id
        elif ev == "callback.result":
            assert open_attempt is not None or result == "interrupted", cb_events(d, pid)
            open_attempt = None


def expect_kept(d, px, pid=1):
    prc, pout = px.wait()
    assert prc == 0, f"SIPp (the caller's phone) failed: {pout}"
    kept = d.wait_event("callback.kept", callback_id=pid)
    attempt = [r for r in d.rows("SELECT * FROM events WHERE callback_id = ? AND "
                                 "event = 'callback.attempt' ORDER BY id", (pid,))][-1]
    assert kept["call_id"] == attempt["call_id"], (kept, attempt)
    r = row(d, pid)
    assert r["state"] == "kept" and r["kept_call_id"] == attempt["call_id"], r
    assert r["closed_ms"] is not None and r["owner"] is None, r
    return attempt


def test_caller_first_kept():
    """The caller answers, hears "this is your call back from" + the department's name, is
    REFERred to the department's target; NOTIFY 200: kept."""
    port = free_port()
    sink = RtpSink()
    d = daemon("cb-kept", port)
    with d:
        seed(d, (1, "open", 0, 3))
        px = phone(d, "callback_callee.xml", port, keys={"rtp_port": str(sink.port)})
        d.start()
        attempt = expect_kept(d, px)
        sink.close()
        assert attempt["detail"] == "attempt 1 of 3" and attempt["reason"] == "caller first"
        assert attempt["dnis"] == NUMBER, attempt
        start = d.wait_event("dial.start", call_id=attempt["call_id"])
        assert start["prompt"] == "callback/this-is" and start["dnis"] == NUMBER, start
        tr = d.wait_event("transfer.start", call_id=attempt["call_id"])
        assert tr["target"] == f"sip:billing@127.0.0.1:{d.target_port}" and \
            tr["dept"] == "billing", tr
        d.wait_event("transfer.result", call_id=attempt["call_id"], result="ok")
        res = d.wait_event("callback.result", callback_id=1)
        assert res["result"] == "answered" and res["detail"] == "sip 200", res
        # both prompts (this-is, the department's name: 2 x 100 ms) reached the phone
        assert sink.pcmu >= 8, f"{sink.pcmu} PCMU packets reached the caller"
        assert f"REFER to sip:billing@127.0.0.1:{d.target_port}" in px.log(), px.log()
        assert metric(d, "ivrd_callback_kept_total") == 1
        assert metric(d, "ivrd_callback_open") == 0


def test_busy_then_kept():
    """486 on the first attempt: callback.result busy, the promise open again; the second
    attempt after retry (10 s) is answered and kept."""
    port = free_port()
    d = daemon("cb-busy", port, retry=10)
    with d:
        seed(d, (1, "open", 0, 3))
        busy = phone(d, "outbound_busy.xml", port)
        d.start()
        prc, pout = busy.wait()
        assert prc == 0, f"SIPp (busy) failed: {pout}"
        res = d.wait_event("callback.result", callback_id=1)
        assert res["result"] == "busy" and res["detail"] == "sip 486", res
        r = row(d, 1)
        assert r["state"] == "open" and r["attempts"] == 1 and r["last_result"] == "busy", r
        assert r["next_ms"] - res["ts_ms"] >= 9900, (r, res)
        px = phone(d, "callback_callee.xml", port, keys={"rtp_port": str(free_port())})
        attempt = expect_kept(d, px)
        assert attempt["detail"] == "attempt 2 of 3", attempt
        assert attempt["ts_ms"] >= r["next_ms"], (attempt, r)
        assert_one_at_a_time(d, 1)


def test_no_answer_broken():
    """Ringing past ring_timeout: CANCEL, "no answer"; one attempt allowed: broken, with the
    event, a warning naming the promise (last four digits only) and the metric."""
    port = free_port()
    d = daemon("cb-broken", port, attempts=1, ring_timeout=1)
    with d:
        seed(d, (1, "open", 0, 1))
        px = phone(d, "outbound_no_answer.xml", port)
        d.start()
        prc, pout = px.wait()
        assert prc == 0, f"SIPp (no answer) failed: {pout}"
        res = d.wait_event("callback.result", callback_id=1)
        assert res["result"] == "no answer" and res["detail"] == "sip 487", res
        br = d.wait_event("callback.broken", callback_id=1)
        assert br["reason"] == "attempts used up" and br["dept"] == "billing", br
        line = d.wait_log(r"<4>callback: callback 1 BROKEN: \.\.\.0147 for billing")
        assert NUMBER not in line, line
        r = row(d, 1)
        assert r["state"] == "broken" and r["attempts"] == 1 and r["last_result"] == "no answer"
        assert metric(d, "ivrd_callback_broken_total") == 1


def test_closed_until_opened():
    """A department closed by its hours gets no dial-back; `ivrctl dept billing open` and
    the promise is dialled and kept."""
    port = free_port()
    d = daemon("cb-closed", port, hours='["never"]')
    with d:
        seed(d, (1, "open", 0, 3))
        px = phone(d, "callback_callee.xml", port, keys={"rtp_port": str(free_port())})
        d.start()
        # three scheduler passes (500 ms apart) with the promise due and the department shut
        time.sleep(1.6)
        assert not d.rows("SELECT * FROM events WHERE event IN ('callback.attempt', "
                          "'dial.start')"), cb_events(d, 1)
        assert row(d, 1)["state"] == "open"
        rc, out = ivrctl(d, "dept", "billing", "open")
        assert rc == 0, out
        expect_kept(d, px)


def test_department_first():
    """Department first: the department's target is dialled (through the proxy), hears
    "a call back for a caller", and is REFERred to the caller's number at the proxy."""
    port = free_port()
    d = daemon("cb-deptfirst", port, order="department-first")
    with d:
        seed(d, (1, "open", 0, 3))
        px = phone(d, "callback_callee.xml", port, keys={"rtp_port": str(free_port())})
        d.start()
        attempt = expect_kept(d, px)
        assert attempt["reason"] == "department first", attempt
        start = d.wait_event("dial.start", call_id=attempt["call_id"])
        assert start["dnis"] == f"sip:billing@127.0.0.1:{d.target_port}", start
        assert start["prompt"] == "callback/for-caller", start
        assert f"REFER to sip:{NUMBER}@127.0.0.1:{port}" in px.log(), px.log()


def test_kill9_while_dialing():
    """kill -9 while an attempt rings: at the restart the attempt is journaled as
    interrupted (it counts) and the promise is dialled again and kept; never two attempts at
    once."""
    port = free_port()
    d = daemon("cb-kill9", port, ring_timeout=30)
    with d:
        seed(d, (1, "open", 0, 3))
        ringing = phone(d, "outbound_no_answer.xml", port, timeout=60)
        d.start()
        att = d.wait_event("callback.attempt", callback_id=1)
        r = row(d, 1)
        assert r["state"] == "dialing" and r["attempts"] == 1, r
        assert r["owner"] and r["lease_until_ms"] > r["updated_ms"], r
        d.kill9()
        ringing.proc.kill()
        ringing.proc.wait(5)
        px = phone(d, "callback_callee.xml", port, keys={"rtp_port": str(free_port())})
        d.start()
        res = d.wait_event("callback.result", callback_id=1)
        assert res["result"] == "interrupted", res
        attempt = expect_kept(d, px)
        assert attempt["call_id"] != att["call_id"] and attempt["detail"] == "attempt 2 of 3"
        assert_one_at_a_time(d, 1)
        d.wait_log(r"1 open promise loaded \(1 interrupted\)")


def test_seeded_dialing_interrupted():
    """A row left "dialing" (by a node that died) is an interrupted attempt at start."""
    port = free_port()
    d = daemon("cb-dialing", port)
    with d:
        seed(d, (4, "dialing", 1, 3))
        px = phone(d, "callback_callee.xml", port, keys={"rtp_port": str(free_port())})
        d.start()
        res = d.wait_event("callback.result", callback_id=4)
        assert res["result"] == "interrupted", res
        attempt = expect_kept(d, px, 4)
        assert attempt["detail"] == "attempt 2 of 3", attempt


def test_inbound_promise_kept():
    """A real call makes the promise (menu option callback:billing, accept, confirm the
    number); with a service level of 0 the dial-back follows, reaches the caller's phone
    behind the proxy and keeps it."""
    from test_callback_offer import promise_call
    port = free_port()
    d = daemon("cb-inbound", port, service_level=0)
    with d:
        px = phone(d, "callback_callee.xml", port, keys={"rtp_port": str(free_port())})
        d.start()
        end = promise_call(d, "s.xml", first_key="4")
        promised = d.wait_event("callback.promised", call_id=end["call_id"])
        assert promised["callback_id"] == 1 and promised["dnis"] == NUMBER, promised
        attempt = expect_kept(d, px, 1)
        assert attempt["call_id"] != end["call_id"], attempt
        assert_one_at_a_time(d, 1)


def test_kill9_between_promise_and_dial_back():
    """A real call makes the promise; ivrd is killed (-9) before its first attempt. The
    restarted ivrd finds the promise in the journal and keeps it: one attempt, kept."""
    from test_callback_offer import promise_call
    port = free_port()
    d = daemon("cb-kill9-promise", port, service_level=8)
    with d:
        d.start()
        end = promise_call(d, "s.xml", first_key="4")
        promised = d.wait_event("callback.promised", call_id=end["call_id"])
        d.kill9()
        assert not d.rows("SELECT * FROM events WHERE event = 'callback.attempt'")
        px = phone(d, "callback_callee.xml", port, keys={"rtp_port": str(free_port())})
        d.start()
        d.wait_log(r"1 open promise loaded")
        attempt = expect_kept(d, px, promised["callback_id"])
        assert attempt["detail"] == "attempt 1 of 3", attempt
        assert_one_at_a_time(d, promised["callback_id"])


if __name__ == "__main__":
    run([test_caller_first_kept, test_busy_then_kept, test_no_answer_broken,
         test_closed_until_opened, test_department_first, test_kill9_while_dialing,
         test_seeded_dialing_interrupted, test_inbound_promise_kept,
         test_kill9_between_promise_and_dial_back])
