#!/usr/bin/env python3
"""Calls from SIPp to the real ivrd: keys to departments, fallbacks, drops, timeouts,
cancel, and what the journal says about each."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, call_ids, run, sipp  # noqa: E402
from scenario import expect_bye, hangup, invite, keys, notify, pause, refer, write  # noqa: E402


def transferred(d, dept, call_id):
    ev = d.events(call_id)
    names = [e["event"] for e in ev]
    assert names[0] == "call.start", names
    assert names[-1] == "call.end", names
    end = ev[-1]
    assert end["result"] == "transferred", end
    ok = [e for e in ev if e["event"] == "transfer.result" and e["result"] == "ok"]
    assert len(ok) == 1 and ok[0]["dept"] == dept, ev
    return ev


def test_key_transfers_to_department():
    with Ivrd("transfer").start() as d:
        sc = write(d, "s.xml", invite(), keys("2"), refer("billing"),
                   notify("100 Trying", 2, terminated=False), notify("200 OK", 3), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end", result="transferred")
        (cid,) = call_ids(d)
        ev = transferred(d, "billing", cid)
        start = ev[0]
        assert start["ani"] == "5551234" and start["dnis"] == "18005550100", start
        assert start["generation"] == 1, start
        menu = [e for e in ev if e["event"] == "menu.enter"]
        assert menu[0]["menu"] == "main" and menu[0]["prompt"] == "main/greeting", menu
        key = [e for e in ev if e["event"] == "key"]
        assert [k["key"] for k in key] == ["2"], key
        route = [e for e in ev if e["event"] == "route"]
        assert len(route) == 1 and route[0]["dept"] == "billing", route
        assert route[0]["reason"] == "key 2 in menu main", route
        # the decision names its inputs
        assert route[0]["detail"] == ("path=main; dnis=18005550100 (numbers.[1]); "
                                      "hours=open"), route
        ts = [e for e in ev if e["event"] == "transfer.start"]
        assert ts[0]["target"] == f"sip:billing@127.0.0.1:{d.target_port}", ts


def test_submenu_back_and_repeat():
    with Ivrd("submenu").start() as d:
        sc = write(d, "s.xml", invite(), keys("1", "*", "#", "2"), refer("billing"),
                   notify("200 OK", 2), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end")
        (cid,) = call_ids(d)
        ev = transferred(d, "billing", cid)
        entered = [(e["menu"], e["prompt"]) for e in ev if e["event"] == "menu.enter"]
        # the greeting the first time, the short prompt on returning to main
        assert entered == [("main", "main/greeting"), ("sales", "sales/greeting"),
                           ("main", "main/short")], entered
        route = [e for e in ev if e["event"] == "route"][0]
        assert route["detail"].startswith("path=main > sales > main; "), route
        assert [e["key"] for e in ev if e["event"] == "key"] == ["1", "*", "#", "2"]


def test_failed_transfer_falls_back_to_operator():
    with Ivrd("busy").start() as d:
        sc = write(d, "s.xml", invite(), keys("2"), refer("billing"),
                   notify("100 Trying", 2, terminated=False), notify("486 Busy Here", 3),
                   refer("operator"), notify("200 OK", 4), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end")
        (cid,) = call_ids(d)
        ev = transferred(d, "operator", cid)
        failed = [e for e in ev if e["event"] == "transfer.result" and e["result"] == "failed"]
        assert len(failed) == 1 and failed[0]["dept"] == "billing", failed
        assert failed[0]["reason"] == "target answered 486", failed
        routes = [e for e in ev if e["event"] == "route"]
        assert [r["dept"] for r in routes] == ["billing", "operator"], routes
        assert routes[1]["reason"] == "fallback of billing (unavailable)", routes


def test_refused_refer_falls_back():
    with Ivrd("refused").start() as d:
        sc = write(d, "s.xml", invite(), keys("2"), refer("billing", code="603 Declined"),
                   refer("operator"), notify("200 OK", 2), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end")
        (cid,) = call_ids(d)
        ev = transferred(d, "operator", cid)
        failed = [e for e in ev if e["event"] == "transfer.result" and e["result"] == "failed"]
        assert failed[0]["reason"] == "REFER refused with 603", failed


def test_hangup_mid_menu_is_a_drop():
    with Ivrd("drop", prompt_ms=3000).start() as d:
        sc = write(d, "s.xml", invite(), keys("1"), pause(500), hangup())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        end = d.wait_event("call.end")
        assert end["result"] == "dropped", end
        drop = d.wait_event("drop")
        assert drop["menu"] == "sales", drop
        assert drop["prompt"] == "sales/greeting", drop
        assert 500 <= drop["duration_ms"] < 10000, drop
        assert drop["call_id"] == end["call_id"]


def test_invalid_keys_reach_operator():
    with Ivrd("invalid").start() as d:
        sc = write(d, "s.xml", invite(), keys("9", "8", "7"), refer("operator"),
                   notify("200 OK", 2), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end")
        (cid,) = call_ids(d)
        ev = transferred(d, "operator", cid)
        inv = [e for e in ev if e["event"] == "input.invalid"]
        assert [e["detail"] for e in inv] == ["failure 1 of 3", "failure 2 of 3",
                                              "failure 3 of 3"], inv
        route = [e for e in ev if e["event"] == "route"][0]
        assert route["reason"] == "3 invalid keys in menu main: fallback", route


def test_silence_reaches_operator():
    with Ivrd("silence").start() as d:
        sc = write(d, "s.xml", invite(), refer("operator", timeout=20000),
                   notify("200 OK", 2), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end")
        (cid,) = call_ids(d)
        ev = transferred(d, "operator", cid)
        tos = [e["detail"] for e in ev if e["event"] == "input.timeout"]
        assert tos == ["timeout 1 of 3", "timeout 2 of 3", "timeout 3 of 3"], tos
        # after each timeout but the last: the no-input prompt, then the short prompt
        route = [e for e in ev if e["event"] == "route"][0]
        assert route["reason"] == "3 timeouts in menu main: fallback", route


def test_closed_department_goes_to_its_fallback():
    with Ivrd("closed").start() as d:
        sc = write(d, "s.xml", invite(), keys("3"), refer("operator"), notify("200 OK", 2),
                   expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end")
        (cid,) = call_ids(d)
        ev = transferred(d, "operator", cid)
        closed = [e for e in ev if e["event"] == "route" and e["result"] == "closed"]
        assert len(closed) == 1 and closed[0]["dept"] == "closed", ev
        # nobody was sent to a closed department
        starts = [e["dept"] for e in ev if e["event"] == "transfer.start"]
        assert starts == ["operator"], starts


def test_operator_key_from_submenu():
    with Ivrd("zero").start() as d:
        sc = write(d, "s.xml", invite(), keys("1", "0"), refer("operator"), notify("200 OK", 2),
                   expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end")
        (cid,) = call_ids(d)
        ev = transferred(d, "operator", cid)
        route = [e for e in ev if e["event"] == "route"][0]
        assert route["reason"] == "key 0 (operator) in menu sales", route


def test_pcma_offer_gets_pcma():
    with Ivrd("pcma").start() as d:
        sc = write(d, "s.xml", invite(codecs="8 0 101"), keys("2"), refer("billing"),
                   notify("200 OK", 2), expect_bye())
        rc, out, _ = sipp(d, sc, extra=["-trace_logs"])
        assert rc == 0, out
        log = [f for f in os.listdir(d.dir) if f.endswith("_logs.log")]
        text = open(os.path.join(d.dir, log[0])).read()
        assert "RTP/AVP 8" in text, text
        d.wait_event("call.end", result="transferred")


def test_transfer_timeout_falls_back():
    with Ivrd("xfer-timeout").start() as d:
        # the phone accepts the REFER but never reports; billing's transfer_timeout is 5 s
        sc = write(d, "s.xml", invite(), keys("2"), refer("billing"),
                   notify("100 Trying", 2, terminated=False), refer("operator", timeout=15000),
                   notify("200 OK", 3), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end")
        failed = d.wait_event("transfer.result", result="failed")
        assert failed["reason"] == "no result within 5 s", failed


def test_committed_events_survive_kill9():
    d = Ivrd("kill9", prompt_ms=3000).start()
    try:
        sc = write(d, "s.xml", invite(), keys("1"), pause(300), hangup())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        end = d.wait_event("call.end")  # visible to another connection: committed
        d.kill9()
        rows = d.events(end["call_id"])
        assert [r["event"] for r in rows][-2:] == ["drop", "call.end"], rows
        # the daemon starts again on the same journal and keeps appending to it
        d.start()
        sc = write(d, "s2.xml", invite(), pause(200), hangup())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end", result="dropped", call_id=call_ids(d)[-1])
        assert len(call_ids(d)) == 2
        d.stop()
    finally:
        if d.proc is not None:
            d.proc.kill()


def test_dialed_number_picks_menu_and_language():
    numbers = """numbers = (
  { dnis = "+1 800 555 0100"; menu = "main"; language = "en"; },
  { dnis = "18005550199"; menu = "sales"; language = "vi"; }
);"""
    with Ivrd("dnis", numbers=numbers, extra_ivrd='languages = ["en", "vi"];') as d:
        # vi prompts: a different tone, so the language really has its own files
        from ivrtest import PROMPTS, write_tone
        for p in PROMPTS:
            write_tone(os.path.join(d.prompts, "vi", p + ".wav"), 300, freq=660)
        d.start()
        for dnis, user in (("18005550199", "sales"), ("18005550100", "billing"),
                           ("5550000", "billing")):
            sc = write(d, f"s{dnis}.xml", invite(), keys("1" if user == "sales" else "2"),
                       refer(user), notify("200 OK", 2), expect_bye())
            rc, out, _ = sipp(d, sc, service=dnis)
            assert rc == 0, out
        starts = d.rows("SELECT call_id, dnis, detail FROM events WHERE event='call.start' ORDER BY id")
        assert [(r["dnis"], r["detail"]) for r in starts] == [
            ("18005550199", "vi"), ("18005550100", "en"), ("5550000", "en")], starts
        first = [e for e in d.events(starts[0]["call_id"]) if e["event"] == "menu.enter"]
        assert first[0]["menu"] == "sales", first
        # a number nobody listed gets the entry menu
        third = [e for e in d.events(starts[2]["call_id"]) if e["event"] == "menu.enter"]
        assert third[0]["menu"] == "main", third


def test_cancel_before_answer():
    with Ivrd("cancel", answer_delay=5).start() as d:
        from scenario import HEAD, TAIL
        sc = os.path.join(d.dir, "cancel.xml")
        with open(sc, "w") as f:
            f.write(HEAD + open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                             "..", "data", "sipp", "uac_cancel.xml")).read() + TAIL)
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        end = d.wait_event("call.end")
        assert end["result"] == "cancelled", end
        assert [e["event"] for e in d.events(end["call_id"])] == ["call.start", "call.end"]


if __name__ == "__main__":
    run([test_key_transfers_to_department, test_submenu_back_and_repeat,
         test_failed_transfer_falls_back_to_operator, test_refused_refer_falls_back,
         test_hangup_mid_menu_is_a_drop, test_invalid_keys_reach_operator,
         test_silence_reaches_operator, test_closed_department_goes_to_its_fallback,
         test_operator_key_from_submenu, test_pcma_offer_gets_pcma,
         test_transfer_timeout_falls_back, test_committed_events_survive_kill9,
         test_dialed_number_picks_menu_and_language, test_cancel_before_answer])
