#!/usr/bin/env python3
"""Multi-digit entry and directory menus, called from SIPp: an account number routed by its
range, a partial entry ended by the inter-digit timeout, a too-short entry then a right one,
a name spelled on the keypad; the value masked in the journal and the log.

RFC 4733: SIPp replays the same capture for a key, so a key pressed again within 8 keys has
the same timestamp and counts once; the numbers here repeat no key within 8."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, call_ids, run, sipp  # noqa: E402
from scenario import expect_bye, invite, keys, notify, refer, write  # noqa: E402

ACCOUNT = "18005550101"
DIRECTORY = "18005550102"

MENUS = """
menus = {
  main = { greeting = "main/greeting"; options = ( { key = "1"; action = "menu:account"; } ); };
  account = {
    type = "entry"; greeting = "account/enter"; short = "account/short";
    min_length = 6; max_length = 10; terminator = "#"; inter_digit_timeout = 2.0;
    timeout = 5.0; max_failures = 3; max_timeouts = 3; sensitive = true;
    routes = ( { from = "1000000"; to = "1999999"; action = "dept:billing"; },
               { prefix = "2"; action = "dept:sales"; } );
  };
  directory = {
    type = "directory"; greeting = "dir/greeting"; inter_digit_timeout = 2.0;
    entries = (
      { name = "billing"; spell = "BILLING"; action = "dept:billing"; prompt = "dir/billing"; },
      { name = "sales"; spell = "SALES"; action = "dept:sales"; prompt = "dir/sales"; },
      { name = "support"; spell = "SUPPORT"; action = "dept:operator"; prompt = "dir/support"; }
    );
  };
};
"""
NUMBERS = f"""numbers = ( {{ dnis = "18005550100"; menu = "main"; }},
  {{ dnis = "{ACCOUNT}"; menu = "account"; }}, {{ dnis = "{DIRECTORY}"; menu = "directory"; }} );"""


def daemon(name):
    return Ivrd(name, menus=MENUS, numbers=NUMBERS)


def call(d, service, presses, dept):
    sc = write(d, "s.xml", invite(), keys(*presses), refer(dept), notify("200 OK", 2),
               expect_bye())
    rc, out, _ = sipp(d, sc, service=service)
    assert rc == 0, out
    end = d.wait_event("call.end")
    assert end["result"] == "transferred", end
    (cid,) = call_ids(d)
    return d.events(cid)


def only(ev, kind):
    return [e for e in ev if e["event"] == kind]


def never_in_full(d, ev, value):
    """A sensitive value is in no journal column and no log line."""
    for e in ev:
        for k, v in e.items():
            assert value not in str(v), (k, e)
    for line in d.lines:
        assert value not in line, line


def test_account_number_routes_by_range():
    with daemon("entry").start() as d:
        ev = call(d, ACCOUNT, "1234567#", "billing")
        (entry,) = only(ev, "input.entry")
        assert entry["menu"] == "account" and entry["key"] == "12***67", entry
        assert entry["detail"] == "ended by #; range 1000000-1999999", entry
        (route,) = only(ev, "route")
        assert route["dept"] == "billing", route
        assert route["reason"] == "entry 12***67 in menu account → range 1000000-1999999", route
        assert route["detail"].startswith("path=account; "), route
        assert "; digits=12***67" in route["detail"], route
        # the digits are not journaled one by one
        assert only(ev, "key") == [], ev
        never_in_full(d, ev, "1234567")


def test_partial_entry_by_inter_digit_timeout():
    with daemon("partial").start() as d:
        ev = call(d, ACCOUNT, "1234567", "billing")
        (entry,) = only(ev, "input.entry")
        assert entry["detail"] == "inter-digit timeout (partial); range 1000000-1999999", entry
        assert only(ev, "input.timeout") == [], ev
        assert only(ev, "input.invalid") == [], ev
        never_in_full(d, ev, "1234567")


def test_too_short_then_right():
    with daemon("short").start() as d:
        ev = call(d, ACCOUNT, "45#1098763", "billing")
        entries = only(ev, "input.entry")
        assert [e["key"] for e in entries] == ["**", "10***63"], entries
        assert entries[0]["detail"] == "ended by #; too short (2 of at least 6 digits)"
        (inv,) = only(ev, "input.invalid")
        assert inv["key"] == "**" and inv["detail"] == "too short: failure 1 of 3", inv
        (route,) = only(ev, "route")
        assert route["reason"] == "entry 10***63 in menu account → range 1000000-1999999"
        assert "; digits=10***63" in route["detail"], route
        never_in_full(d, ev, "1098763")


def test_directory_spelling():
    with daemon("spell").start() as d:
        ev = call(d, DIRECTORY, "245#", "billing")
        (entry,) = only(ev, "input.entry")
        assert entry["key"] == "245" and entry["detail"] == "ended by #; matches billing", entry
        (route,) = only(ev, "route")
        assert route["dept"] == "billing", route
        assert route["reason"] == "spelled 245 in menu directory → billing", route


def test_directory_choice_read_back():
    with daemon("choice").start() as d:
        # 7: sales and support; the read-back, then 2 picks support (the operator)
        ev = call(d, DIRECTORY, "7#2", "operator")
        (entry,) = only(ev, "input.entry")
        assert entry["detail"] == "ended by #; matches sales, support: read back", entry
        (route,) = only(ev, "route")
        assert route["dept"] == "operator", route
        assert route["reason"] == "spelled 7 in menu directory, choice 2 → support", route


if __name__ == "__main__":
    run([test_account_number_routes_by_range, test_partial_entry_by_inter_digit_timeout,
         test_too_short_then_right, test_directory_spelling, test_directory_choice_read_back])
