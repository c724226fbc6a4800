#!/usr/bin/env python3
"""The callback conversation from SIPp callers: a closed department offers a call back, the
caller confirms the number or keys in another (an invalid one first), declines, asks again
(one promise, updated), comes back (sent straight to the department, or offered it), cancels
from a menu; a caller without a number to call is not offered one. The promise is in the
journal (its row and callback.promised) before the caller hears it.

RFC 4733: SIPp replays one capture per key, so a key pressed again within 8 keys has the
same timestamp and counts once; keys that repeat here go as SIP INFO (a path of its own)."""
import datetime
import os
import time
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import free_port, Ivrd, call_ids, run, sipp, write_tone  # noqa: E402
from scenario import expect_bye, hangup, invite, keys, notify, pause, refer, write  # noqa: E402

ANI = "+15125550147"

CB_PROMPTS = (["offer", "number-is", "confirm", "enter-number", "invalid-number", "promised",
               "today", "tomorrow", "at", "this-is", "for-caller", "returning",
               "returning-keys", "cancelled", "none", "goodbye", "dept-sales"]
              + ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
              + [f"digit-{i}" for i in range(10)]
              + [f"time-{h:02d}{m:02d}" for h in range(24) for m in (0, 30)])

MENUS = """
menus = {
  main = {
    greeting = "main/greeting"; short = "main/short"; timeout = 3.0;
    options = ( { key = "2"; action = "dept:billing"; }, { key = "3"; action = "dept:support"; },
                { key = "4"; action = "callback:support"; },
                { key = "5"; action = "callback:sales"; },
                { key = "7"; action = "callback-cancel"; } );
  };
};
"""


def closed_hours():
    """Open one hour a day, three hours from now (UTC): closed now, opening within a day."""
    h = (datetime.datetime.now(datetime.timezone.utc).hour + 3) % 24
    return f'["mon-sun {h:02d}:00-{h + 1:02d}:00"]' if h < 23 else '["mon-sun 23:00-24:00"]'


def daemon(name):
    # promises need a proxy to be dialled through; nobody answers at this one, and none of
    # these tests waits for a dial-back
    d = Ivrd(name, menus=MENUS, prompt_ms=200,
             extra_sip=f'outbound: {{ proxy = "udp:127.0.0.1:{free_port()}"; }};')
    t = d.target_port
    depts = f"""
departments = {{
  billing = {{ targets = ["sip:billing@127.0.0.1:{t}"]; hours = {closed_hours()};
    callback: {{ offer = ["closed"]; service_level = 600; }}; }};
  support = {{ targets = ["sip:support@127.0.0.1:{t}"]; transfer_timeout = 5;
    callback: {{ offer = ["unavailable"]; returning = "route"; }}; }};
  sales = {{ targets = ["sip:sales@127.0.0.1:{t}"];
    callback: {{ offer = []; name_prompt = "callback/dept-sales"; }}; }};
  operator = {{ targets = ["sip:operator@127.0.0.1:{t}"]; }};
}};
"""
    with open(d.conf) as f:
        text = f.read()
    start = text.index("departments = {")
    end = text.index("\nmenus = {")
    with open(d.conf, "w") as f:
        f.write(text[:start] + depts + text[end:])
    for p in CB_PROMPTS:
        write_tone(os.path.join(d.prompts, "en", "callback", p + ".wav"), 100)
    return d


def info(k, cseq, ani=ANI, gap=300):
    """A key as SIP INFO (application/dtmf-relay)."""
    return pause(gap) + f"""  <send retrans="500">
    <![CDATA[
      INFO sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "caller" <sip:{ani}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {cseq} INFO
      Contact: <sip:{ani}@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal={k}
      Duration=160
    ]]>
  </send>
  <recv response="200"/>
"""


def infos(digits, cseq, gap=150):
    """Several INFO keys; returns (steps, the next CSeq)."""
    out = ""
    for k in digits:
        out += info(k, cseq, gap=gap)
        cseq += 1
    return out, cseq


def promise_call(d, name, first_key="2", ani=ANI):
    """Menu key first_key (a closed department, or a callback option), 1 accepts, 1 (INFO)
    confirms; ivrd says when and hangs up."""
    sc = write(d, name, invite(ani=ani), keys(first_key), info("1", 2, ani, gap=700),
               info("1", 3, ani, gap=500), expect_bye())
    rc, out, _ = sipp(d, sc)
    assert rc == 0, out
    return d.wait_event("call.end", result="callback promised")


def callbacks(d):
    return d.rows("SELECT * FROM callbacks ORDER BY id")


def offers(d, call_id):
    return [(r["result"], r["reason"]) for r in d.events(call_id)
            if r["event"] == "callback.offer"]


def test_closed_offer_promised_before_told():
    d = daemon("cb-closed")
    with d.start():
        end = promise_call(d, "s.xml")
        cid = end["call_id"]
        (row,) = callbacks(d)
        assert (row["dept"], row["number"], row["ani"], row["state"]) == (
            "billing", "15125550147", "15125550147", "open"), row
        ev = d.events(cid)
        names = [r["event"] for r in ev]
        # the department was closed, the offer made, accepted, the number confirmed
        assert [(r["dept"], r["result"]) for r in ev if r["event"] == "route"] == [
            ("billing", None), ("billing", "closed")], ev
        assert [o[0] for o in offers(d, cid)] == ["offered", "accepted", "told"], ev
        assert offers(d, cid)[0][1] == "billing is closed"
        keys_ = [(r["menu"], r["key"], r["detail"]) for r in ev if r["event"] == "key"]
        assert [k[:2] for k in keys_] == [("main", "2"), ("callback", "1"),
                                          ("callback", "1")], keys_
        # durable first: the promise's event precedes the one saying it, which names the
        # prompt about to play; and the row was there when the caller heard it
        promised = d.wait_event("callback.promised", call_id=cid)
        told = next(r for r in ev if r["event"] == "callback.offer" and r["result"] == "told")
        assert promised["id"] < told["id"], (promised, told)
        assert promised["callback_id"] == row["id"] == told["callback_id"]
        assert told["prompt"] == "callback/promised", told
        assert row["created_ms"] <= told["ts_ms"], (row, told)
        assert "promised:" in told["reason"] and " at " in told["reason"], told
        hhmm = told["reason"].rsplit(" at ", 1)[1]
        assert hhmm[3:] in ("00", "30"), told  # rounded up to the half hour
        assert names[-1] == "call.end" and end["reason"].startswith(f"call back #{row['id']}")
        d.wait_log(r"call back #\d+ promised: billing, number \*+0147, due ")
        # QA reads the conversation in words
        import subprocess
        trace = subprocess.run([os.environ["IVRCTL"], "-c", d.conf, "trace", cid],
                               capture_output=True, text=True, timeout=30)
        assert trace.returncode == 0, trace.stderr
        for words in ("call back from billing offered (billing is closed)",
                      "call back from billing accepted (key 1)",
                      f"promised call back #{row['id']} from billing to 15125550147",
                      f"told the caller when to expect call back #{row['id']}"):
            assert words in trace.stdout, (words, trace.stdout)


def test_another_number_invalid_then_valid():
    d = daemon("cb-number")
    with d.start():
        typed1, cseq = infos("34#", 4)
        typed2, cseq = infos("5125550199#", cseq)
        sc = write(d, "s.xml", invite(ani=ANI), keys("2"), info("1", 2, gap=700),
                   info("2", 3), typed1, typed2, expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        end = d.wait_event("call.end", result="callback promised")
        (row,) = callbacks(d)
        assert row["number"] == "15125550199" and row["ani"] == "15125550147", row
        entries = [(r["key"], r["detail"]) for r in d.events(end["call_id"])
                   if r["event"] == "input.entry"]
        assert entries == [("34", "ended by #; not a number that can be called"),
                           ("******0199", "ended by #; number to call")], entries
        # the keyed number is personal data: only its last 4 digits in the log
        log = "\n".join(d.lines)
        assert "5125550199" not in log, "the keyed number is in the log"
        assert "key (number) by info" in log
        d.wait_log(r"call back number \*+0199 taken")


def test_decline_goes_to_the_fallback():
    d = daemon("cb-decline")
    with d.start():
        sc = write(d, "s.xml", invite(ani=ANI), keys("2"), info("2", 2, gap=1200),
                   refer("operator"), notify("200 OK", 3), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        end = d.wait_event("call.end", result="transferred")
        assert offers(d, end["call_id"]) == [
            ("offered", "billing is closed"), ("declined", "key 2")]
        assert callbacks(d) == []
        routes = [(r["dept"], r["result"]) for r in d.events(end["call_id"])
                  if r["event"] == "route"]
        assert routes == [("billing", None), ("billing", "closed"), ("operator", None)], routes


def test_second_request_updates_the_promise():
    d = daemon("cb-update")
    with d.start():
        promise_call(d, "s1.xml")
        # back again: told of the open promise, 2 keeps it; the menu, billing, 1, 1
        steps, _ = infos("11", 3, gap=500)
        # an INFO within 1 s of the same key by RTP would be one press
        sc = write(d, "s2.xml", invite(ani=ANI), keys("2"), info("2", 2, gap=1200), steps,
                   expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("callback.updated")
        rows = callbacks(d)
        assert len(rows) == 1 and rows[0]["state"] == "open", rows
        ends = d.rows("SELECT * FROM events WHERE event = 'call.end' ORDER BY id")
        assert [e["result"] for e in ends] == ["callback promised"] * 2, ends
        second = ends[1]["call_id"]
        keys_ = [(r["menu"], r["key"], r["detail"]) for r in d.events(second)
                 if r["event"] == "key"]
        assert keys_[0] == ("callback", "2", "keep the call back"), keys_
        told = [r for r in d.events(second) if r["event"] == "callback.offer"]
        assert told[-1]["result"] == "told" and "updated:" in told[-1]["reason"], told


def test_returning_caller_routed_and_kept():
    d = daemon("cb-route")
    with d.start():
        promise_call(d, "s1.xml", first_key="4")  # the menu option callback:support
        (row,) = callbacks(d)
        assert row["dept"] == "support" and row["state"] == "open", row
        sc = write(d, "s2.xml", invite(ani=ANI), refer("support"), notify("200 OK", 2),
                   expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("callback.kept")
        end = d.wait_event("call.end", result="transferred")
        routes = [(r["dept"], r["reason"]) for r in d.events(end["call_id"])
                  if r["event"] == "route"]
        assert routes == [("support", f"open call back #{row['id']} to support")], routes
        (row,) = callbacks(d)
        assert row["state"] == "kept" and row["kept_call_id"] == end["call_id"], row


def test_returning_caller_offered_connects():
    d = daemon("cb-connect")
    with d.start():
        promise_call(d, "s1.xml", first_key="5")  # callback:sales, returning = offer
        sc = write(d, "s2.xml", invite(ani=ANI), keys("1"), refer("sales"),
                   notify("200 OK", 2), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("callback.kept")
        end = d.wait_event("call.end", result="transferred")
        r = [x for x in d.events(end["call_id"]) if x["event"] == "route"]
        assert len(r) == 1 and r[0]["dept"] == "sales", r
        assert "the caller chose to be connected now" in r[0]["reason"], r
        assert callbacks(d)[0]["state"] == "kept"


def test_cancel_option():
    d = daemon("cb-cancel")
    with d.start():
        # nothing to cancel yet: "none", the menu again
        sc = write(d, "s0.xml", invite(ani=ANI), keys("7"), pause(1500), hangup())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_log(r"no call back to cancel")
        promise_call(d, "s1.xml", first_key="5")
        # told of it (2 keeps it), then the menu's cancel option; the menu plays again
        sc = write(d, "s2.xml", invite(ani=ANI), keys("2", "7"), pause(1500), hangup())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        ev = d.wait_event("callback.cancelled")
        (row,) = callbacks(d)
        assert row["state"] == "cancelled", row
        assert ev["callback_id"] == row["id"]
        d.wait_log(r"call back #\d+ \(sales\) cancelled by the caller")
        second = d.rows("SELECT * FROM events WHERE event = 'call.end' ORDER BY id")[-1]
        assert second["result"] == "dropped", second
        enters = [r["prompt"] for r in d.events(second["call_id"]) if r["event"] == "menu.enter"]
        assert enters == ["main/greeting"], enters


def test_no_number_no_offer():
    d = daemon("cb-anon")
    with d.start():
        sc = write(d, "s.xml", invite(ani="anonymous"), keys("2"), refer("operator"),
                   notify("200 OK", 2), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        end = d.wait_event("call.end", result="transferred")
        assert offers(d, end["call_id"]) == []
        d.wait_log(r"no call back offered from billing: the caller's number is not one to call")
        assert callbacks(d) == []


def test_hold_during_offer_waits():
    """The caller puts ivrd on hold while the offer waits for a key, for longer than the
    offer's no-answer time: nothing lapses, and back from hold 1 still accepts."""
    from test_dialog import reinvite, sdp
    from test_sip import Call, Client

    class AniClient(Client):
        def request(self, *a, **kw):
            return super().request(*a, **kw).replace("sip:5551234@", f"sip:{ANI}@")

    d = daemon("cb-hold")
    with d.start():
        cl = AniClient(d)
        call = Call(cl)
        call.start()
        d.wait_event("menu.enter", menu="main", call_id=call.call_id)
        call.key("2")
        d.wait_event("callback.offer", call_id=call.call_id, result="offered")
        time.sleep(1.5)  # the offer's prompts (short tones here) are over: it waits for a key
        reinvite(call, sdp(call.rtp_port, direction="sendonly", version=2))
        d.wait_event("hold", call_id=call.call_id)
        time.sleep(6.5)  # longer than the offer waits for a key
        assert [o[0] for o in offers(d, call.call_id)] == ["offered"], offers(d, call.call_id)
        reinvite(call, sdp(call.rtp_port, direction="sendrecv", version=3))
        d.wait_event("resume", call_id=call.call_id)
        call.key("1")
        d.wait_event("callback.offer", call_id=call.call_id, result="accepted")
        call.in_dialog("BYE")
        d.wait_event("call.end", call_id=call.call_id)
        call.close()
        cl.close()


if __name__ == "__main__":
    run([test_closed_offer_promised_before_told, test_another_number_invalid_then_valid,
         test_decline_goes_to_the_fallback, test_second_request_updates_the_promise,
         test_returning_caller_routed_and_kept, test_returning_caller_offered_connects,
         test_cancel_option, test_no_number_no_offer,
         test_hold_during_offer_waits])
