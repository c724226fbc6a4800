#!/usr/bin/env python3
"""Departments end to end: holidays, round-robin targets, the cap on transfers in flight,
the overflow limit and the loop guard, each checked in the journal's route decisions."""
import datetime
import os
import subprocess
import sys
import threading
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, call_ids, run, sipp, write_tone  # noqa: E402
from scenario import expect_bye, hangup, invite, keys, notify, pause, refer, write  # noqa: E402

MENUS = """
menus = {
  main = {
    greeting = "main/greeting"; short = "main/short"; timeout = 2.0;
    options = ( { key = "2"; action = "dept:a"; }, { key = "3"; action = "dept:a"; } );
  };
};
"""


def depts(d, a="", more=""):
    """Department a (keys 2 and 3: a repeated DTMF capture would be one event) plus operator and supervisor, all at the test's target port."""
    t = d.target_port
    return f"""
departments = {{
  a = {{ targets = ["sip:a@127.0.0.1:{t}"]; {a} }};
  {more}
  operator = {{ targets = ["sip:operator@127.0.0.1:{t}"]; }};
  supervisor = {{ targets = ["sip:supervisor@127.0.0.1:{t}"]; }};
}};
"""


def daemon(name, a="", more="", extra_ivrd=""):
    d = Ivrd(name, menus=MENUS, extra_ivrd=extra_ivrd)
    with open(d.conf) as f:
        text = f.read()
    start = text.index("departments = {")
    end = text.index("\nmenus = {")
    with open(d.conf, "w") as f:
        f.write(text[:start] + depts(d, a, more) + text[end:])
    write_tone(os.path.join(d.prompts, "en", "common/escalate.wav"), 300)
    return d


def routes(d, call_id):
    return [r for r in d.events(call_id) if r["event"] == "route"]


def test_holiday_today_is_closed():
    zone = "Asia/Ho_Chi_Minh"
    today = datetime.datetime.now(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%d")
    d = daemon("holiday", a=f'timezone = "{zone}"; holidays = ["{today}", "01-01"];')
    with d.start():
        sc = write(d, "s.xml", invite(), keys("2"), refer("operator"), notify("200 OK", 2),
                   expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end", result="transferred")
        (cid,) = call_ids(d)
        r = routes(d, cid)
        # the menu's decision, then why a could not take the call, then its fallback
        assert [(x["dept"], x["result"]) for x in r] == [
            ("a", None), ("a", "closed"), ("operator", None)], r
        assert "hours=closed" in r[1]["detail"], r


def test_round_robin_starts_at_the_next_target():
    d = daemon("rr", a='strategy = "round-robin";')
    text = open(d.conf).read().replace(
        f'a = {{ targets = ["sip:a@127.0.0.1:{d.target_port}"];',
        f'a = {{ targets = ["sip:a1@127.0.0.1:{d.target_port}", '
        f'"sip:a2@127.0.0.1:{d.target_port}"];')
    assert text != open(d.conf).read()
    open(d.conf, "w").write(text)
    with d.start():
        for user in ("a1", "a2", "a1"):
            sc = write(d, f"{user}.xml", invite(), keys("2"), refer(user),
                       notify("200 OK", 2), expect_bye())
            rc, out, _ = sipp(d, sc)
            assert rc == 0, out
        # a failure goes on to the other target, whichever was first
        sc = write(d, "fail.xml", invite(), keys("2"), refer("a2"), notify("486 Busy Here", 2),
                   refer("a1"), notify("200 OK", 3), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        starts = d.rows("SELECT target FROM events WHERE event = 'transfer.start' ORDER BY id")
        assert [s["target"].split("@")[0] for s in starts] == [
            "sip:a1", "sip:a2", "sip:a1", "sip:a2", "sip:a1"], starts


def test_max_transfers_makes_a_department_busy():
    d = daemon("cap", a="max_transfers = 1; transfer_timeout = 30;")
    with d.start():
        # the first call holds its REFER without a NOTIFY while the second arrives
        held = write(d, "held.xml", invite(ani="5550101"), keys("2"), refer("a"), pause(6000),
                     notify("200 OK", 2), expect_bye())
        first = {}
        th = threading.Thread(target=lambda: first.update(r=sipp(d, held)))
        th.start()
        d.wait_event("transfer.start", dept="a")
        sc = write(d, "busy.xml", invite(ani="5550102"), keys("2"), refer("operator"),
                   notify("200 OK", 2), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        th.join()
        assert first["r"][0] == 0, first["r"][1]
        busy = d.wait_event("route", result="busy")
        assert busy["dept"] == "a" and busy["reason"] == "1 transfer in flight", busy
        second = routes(d, busy["call_id"])
        assert [r["dept"] for r in second] == ["a", "a", "operator"], second
        assert second[2]["reason"] == "fallback of a (busy)", second
        # both outcomes gave their slot back: a third call gets through
        sc = write(d, "third.xml", invite(ani="5550103"), keys("2"), refer("a"),
                   notify("200 OK", 2), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out


def test_overflow_limit_goes_to_the_operator():
    d = daemon("overflow", a='fallback = "dept:b";',
               more=" ".join(f'{x} = {{ targets = ["sip:{x}@127.0.0.1:{{t}}"]; {f} }};'
                             for x, f in (("b", 'fallback = "dept:c";'),
                                          ("c", 'fallback = "dept:d";'), ("d", ""))),
               extra_ivrd="max_overflow = 2;")
    text = open(d.conf).read().replace("{t}", str(d.target_port))
    open(d.conf, "w").write(text)
    with d.start():
        sc = write(d, "s.xml", invite(), keys("2"),
                   refer("a"), notify("486 Busy Here", 2),
                   refer("b"), notify("486 Busy Here", 3),
                   refer("c"), notify("486 Busy Here", 4),
                   refer("operator"), notify("200 OK", 5), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end", result="transferred")
        (cid,) = call_ids(d)
        r = routes(d, cid)
        assert [x["dept"] for x in r] == ["a", "b", "c", "operator"], r
        assert r[3]["reason"] == "overflow limit reached (2 fallbacks)", r
        assert "overflow=3" in r[3]["detail"], r
        assert "overflow=2" in r[2]["detail"], r


GUARD = """loop_guard: { window = 86400; max_transfers = 0; max_drops = 0; max_calls = 2;
  dept = "supervisor"; prompt = "common/escalate"; };"""


def test_loop_guard_counts_calls_across_a_restart():
    d = daemon("guard", extra_ivrd=GUARD)
    with d.start():
        for i in range(2):
            sc = write(d, f"c{i}.xml", invite(ani="5550199"), pause(300), hangup())
            rc, out, _ = sipp(d, sc)
            assert rc == 0, out
        # anonymous callers are never counted
        for i in range(3):
            sc = write(d, f"anon{i}.xml", invite(ani="anonymous"), pause(300), hangup())
            rc, out, _ = sipp(d, sc)
            assert rc == 0, out
        assert not d.rows("SELECT * FROM events WHERE event = 'route'")
        d.stop()
        d.start()
        d.wait_log(r"callers' history: 1 numbers")
        sc = write(d, "c3.xml", invite(ani="5550199"), refer("supervisor"), notify("200 OK", 2),
                   expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        end = d.wait_event("call.end", result="transferred")
        r = routes(d, end["call_id"])
        assert [x["dept"] for x in r] == ["supervisor"], r
        assert r[0]["reason"] == "escalated by the loop guard", r
        assert "guard=2 calls in 24 h" in r[0]["detail"], r


def test_loop_guard_never_retries_a_failed_department():
    d = daemon("retry", a='fallback = "menu:main";', extra_ivrd=GUARD)
    with d.start():
        sc = write(d, "s.xml", invite(ani="5550177"), keys("2"), refer("a"),
                   notify("486 Busy Here", 2), keys("3", first=1500), refer("supervisor"),
                   notify("200 OK", 3), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        end = d.wait_event("call.end", result="transferred")
        r = routes(d, end["call_id"])
        assert [x["dept"] for x in r] == ["a", "a", "supervisor"], r
        assert r[2]["reason"] == "escalated by the loop guard", r
        assert "guard=a already failed this call" in r[2]["detail"], r


def test_config_errors_name_file_and_line():
    d = daemon("badconf", a='strategy = "random"; holidays = ["12-25", "2026-02-30"];',
               extra_ivrd="max_overflow = 11;\n  loop_guard: { window = 10; dept = \"nobody\"; };")
    p = subprocess.run([os.environ["IVRD"], "-t", "-c", d.conf], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode != 0, p.stderr
    lines = {}
    for i, line in enumerate(open(d.conf).read().split("\n"), 1):
        for key in ("max_overflow", "loop_guard", "strategy"):
            if key in line:
                lines.setdefault(key, i)
    want = [
        f'{d.conf}:{lines["max_overflow"]}: ivrd.max_overflow: 11 is out of range (0 to 10)',
        f'{d.conf}:{lines["loop_guard"]}: ivrd.loop_guard.window: 10 is out of range',
        f'{d.conf}:{lines["loop_guard"]}: ivrd.loop_guard.dept: no department named "nobody"',
        f'{d.conf}:{lines["strategy"]}: departments.a.strategy: "random" is not "order" or '
        '"round-robin"',
        f'{d.conf}:{lines["strategy"]}: departments.a.holidays: holiday 2 "2026-02-30": '
        'February 2026 has 28 days',
    ]
    for w in want:
        assert w in p.stderr, (w, p.stderr)


if __name__ == "__main__":
    run([test_holiday_today_is_closed, test_round_robin_starts_at_the_next_target,
         test_max_transfers_makes_a_department_busy, test_overflow_limit_goes_to_the_operator,
         test_loop_guard_counts_calls_across_a_restart,
         test_loop_guard_never_retries_a_failed_department,
         test_config_errors_name_file_and_line])
