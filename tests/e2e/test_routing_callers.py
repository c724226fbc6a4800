#!/usr/bin/env python3
"""Routing by who calls and what they dialed: dialed numbers in every usual form, caller
(ANI) rules sending callers to a department or menu or declining them, a number's
department hint for 0, and a menu option switching the call's language."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, call_ids, menus_conf, run, sipp, write_tone  # noqa: E402
from scenario import expect_bye, hangup, invite, offer, keys, notify, pause, refer, write  # noqa: E402

LANGS = 'languages = ["en", "vi"];'


def first_menu(d, cid):
    return [e["menu"] for e in d.events(cid) if e["event"] == "menu.enter"][0]


def call_and_hang_up(d, name, service="18005550100", ani="5551234", uri=None):
    """One call that hangs up in its first menu; uri replaces the Request-URI and To URI."""
    inv = invite(ani=ani)
    if uri is not None:
        inv = inv.replace("INVITE sip:[service]@[remote_ip]:[remote_port]", f"INVITE {uri}")
        inv = inv.replace("To: <sip:[service]@[remote_ip]:[remote_port]>", f"To: <{uri}>")
    sc = write(d, name, inv, pause(300), hangup())
    before = len(call_ids(d))
    rc, out, _ = sipp(d, sc, service=service)
    assert rc == 0, out
    d.wait_event("call.end")
    ids = call_ids(d)
    assert len(ids) == before + 1, ids
    return ids[-1]


def test_dialed_number_forms():
    numbers = 'numbers = ( { dnis = "+1 (800) 555-0100"; menu = "sales"; } );'
    with Ivrd("forms", numbers=numbers).start() as d:
        forms = [("18005550100", None), ("8005550100", None), ("+1-800-555-0100", None),
                 ("x", "tel:+1-800-555-0100"),
                 ("x", "sip:+18005550100@127.0.0.1;user=phone")]
        for i, (service, uri) in enumerate(forms):
            cid = call_and_hang_up(d, f"f{i}.xml", service=service, uri=uri)
            start = d.events(cid)[0]
            assert start["dnis"] == "18005550100", (service, uri, start)
            assert first_menu(d, cid) == "sales", (service, uri)
            d.wait_event("call.end", call_id=cid)
        # not listed: the entry menu, the number journaled as it came
        cid = call_and_hang_up(d, "other.xml", service="18005550199")
        assert first_menu(d, cid) == "main"


def test_caller_prefix_goes_straight_to_department():
    numbers = ('numbers = ( { dnis = "18005550100"; menu = "main"; } );\n'
               'callers = ( { match = ["+15550001111"]; mark = "internal"; },\n'
               '            { match = ["1555*"]; mark = "priority"; dept = "billing"; } );')
    with Ivrd("ani-dept", numbers=numbers).start() as d:
        sc = write(d, "s.xml", invite(ani="+1-555-123-4567"), refer("billing"),
                   notify("200 OK", 2), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end", result="transferred")
        (cid,) = call_ids(d)
        ev = d.events(cid)
        start = ev[0]
        assert start["ani"] == "15551234567", start
        assert start["detail"] == "en" and start["reason"] == "(callers.[2] priority)", start
        assert not [e for e in ev if e["event"] == "menu.enter"], ev
        (route,) = [e for e in ev if e["event"] == "route"]
        assert route["dept"] == "billing" and route["reason"] == "caller rule callers.[2]", route
        assert route["detail"] == ("path=-; dnis=18005550100 (numbers.[1]); "
                                   "ani=15551234567 (callers.[2] priority); hours=open"), route
        ts = [e for e in ev if e["event"] == "transfer.start"]
        assert ts[0]["target"] == f"sip:billing@127.0.0.1:{d.target_port}", ts


def test_internal_caller_gets_internal_menu():
    numbers = ('numbers = ( { dnis = "18005550100"; menu = "main"; } );\n'
               'callers = ( { match = ["+15550001111"]; mark = "internal"; menu = "sales"; } );')
    with Ivrd("ani-internal", numbers=numbers).start() as d:
        # a national number: the country code makes it the one listed with +1
        sc = write(d, "s.xml", invite(ani="5550001111"), keys("1"), refer("sales"),
                   notify("200 OK", 2), expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end", result="transferred")
        (cid,) = call_ids(d)
        ev = d.events(cid)
        assert ev[0]["reason"] == "(callers.[1] internal)", ev[0]
        assert first_menu(d, cid) == "sales"
        (route,) = [e for e in ev if e["event"] == "route"]
        assert "; ani=15550001111 (callers.[1] internal);" in route["detail"], route


def blocked_scenario():
    return offer(ani="+16665550000") + """  <recv response="100" optional="true"/>
  <recv response="603"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
"""


def test_blocked_caller_declined():
    numbers = ('numbers = ( { dnis = "18005550100"; menu = "main"; } );\n'
               'callers = ( { match = ["1666*"]; mark = "blocked"; } );')
    with Ivrd("ani-blocked", numbers=numbers).start() as d:
        sc = write(d, "s.xml", blocked_scenario())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        end = d.wait_event("call.end")
        assert end["result"] == "blocked" and end["reason"] == "(callers.[1] blocked)", end
        ev = d.events(end["call_id"])
        assert [e["event"] for e in ev] == ["call.start", "call.end"], ev
        assert ev[0]["ani"] == "16665550000" and ev[0]["reason"] == "(callers.[1] blocked)"
        d.wait_log(r"declined: \(callers.\[1\] blocked\)")


def test_language_option_switches_prompts():
    menus = menus_conf().replace('{ key = "#"; action = "repeat"; }',
                                 '{ key = "#"; action = "repeat"; },\n'
                                 '      { key = "9"; action = "lang:vi"; }')
    d = Ivrd("lang", menus=menus, extra_ivrd=LANGS)
    for p in ("main/greeting", "main/short", "sales/greeting"):
        write_tone(os.path.join(d.prompts, "vi", p + ".wav"), 300, freq=880)
    with d.start():
        sc = write(d, "s.xml", invite(), keys("9", "1"), pause(300), hangup())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end")
        (cid,) = call_ids(d)
        ev = d.events(cid)
        assert ev[0]["detail"] == "en", ev[0]
        (lang,) = [e for e in ev if e["event"] == "language"]
        assert lang["menu"] == "main" and lang["detail"] == "vi", lang
        assert lang["prompt"] == "main/short", lang
        after = ev[ev.index(lang) + 1:]
        assert [(e["event"], e["key"]) for e in after][:2] == [("key", "1"),
                                                               ("menu.enter", None)], after
        d.wait_log(r"language en -> vi")


def test_number_hint_sends_operator_key_to_department():
    numbers = 'numbers = ( { dnis = "1-800-555-0100"; menu = "main"; dept = "billing"; } );'
    with Ivrd("hint", numbers=numbers).start() as d:
        # billing is busy: its fallback (the operator) applies as usual
        sc = write(d, "s.xml", invite(), keys("0"), refer("billing"),
                   notify("486 Busy Here", 2), refer("operator"), notify("200 OK", 3),
                   expect_bye())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end", result="transferred")
        (cid,) = call_ids(d)
        routes = [e for e in d.events(cid) if e["event"] == "route"]
        assert [r["dept"] for r in routes] == ["billing", "operator"], routes
        assert routes[0]["reason"] == "key 0 (operator) in menu main", routes
        assert routes[0]["detail"].startswith(
            "path=main; dnis=18005550100 (numbers.[1] hint billing)"), routes


def test_caller_rule_errors_are_listed():
    numbers = ('numbers = ( { dnis = "1800FLOWERS"; }, { dnis = "18005550100"; dept = "nope"; } );\n'
               'callers = (\n'
               '  { match = ["*67"]; mark = "vip"; },\n'
               '  { match = ["1555*"]; menu = "nomenu"; dept = "nodept"; language = "fr"; },\n'
               '  { match = ["15551234567"]; },\n'
               '  { match = ["1666*"]; mark = "blocked"; menu = "main"; }\n'
               ');')
    menus = menus_conf().replace('{ key = "#"; action = "repeat"; }',
                                 '{ key = "#"; action = "repeat"; },\n'
                                 '      { key = "9"; action = "lang:xx"; }')
    d = Ivrd("conf-errors", numbers=numbers, menus=menus,
             extra_ivrd='country_code = "01";')
    p = subprocess.run([os.environ["IVRD"], "-t", "-c", d.conf], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    lines = open(d.conf).read().split("\n")

    def at(text):
        return next(i + 1 for i, s in enumerate(lines) if text in s)

    c = d.conf
    want = [
        f'{c}:{at("country_code")}: ivrd.country_code: "01" is not a country code',
        f'{c}:{at("1800FLOWERS")}: numbers.[1]: dnis "1800FLOWERS" is not a telephone number',
        f'{c}:{at("nope")}: numbers.[2]: dept: no department named "nope"',
        f'{c}:{at("*67")}: callers.[1].match: "*67" is neither a telephone number nor a prefix',
        f'{c}:{at("vip")}: callers.[1].mark: "vip" is not a mark',
        f'{c}:{at("nomenu")}: callers.[2].menu: no menu named "nomenu"',
        f'{c}:{at("nomenu")}: callers.[2].dept: no department named "nodept"',
        f'{c}:{at("nomenu")}: callers.[2].language: language "fr" is not',
        f'{c}:{at("15551234567")}: callers.[3]: does nothing',
        f'{c}:{at("1666*")}: callers.[4]: a blocked caller is never answered',
        f'{c}:{at("lang:xx")}: menus.main.options.[5].action: language "xx" is not loaded',
    ]
    for w in want:
        assert any(f"error: {w}" in line for line in p.stderr.split("\n")), (w, p.stderr)


if __name__ == "__main__":
    run([test_dialed_number_forms, test_caller_prefix_goes_straight_to_department,
         test_internal_caller_gets_internal_menu, test_blocked_caller_declined,
         test_language_option_switches_prompts, test_number_hint_sends_operator_key_to_department,
         test_caller_rule_errors_are_listed])
