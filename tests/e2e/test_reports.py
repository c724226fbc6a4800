#!/usr/bin/env python3
"""QA report figures checked against a scripted day of calls.

One ivrd, menus main > sales, departments billing, sales, support (closed, offering a call
back) and operator. SIPp callers from a known set of numbers make a morning batch and an
afternoon batch of calls (bounded concurrency): transfers that succeed, transfers refused
by the department (NOTIFY 486/503, REFER 603) that go on to the operator, hang-ups in main
and in sales after the prompts, timeouts, invalid keys, "0" to the operator, call back
promises (one kept by a dial-back answered through the outbound proxy, one cancelled by
its caller, the others left open) and a repeat caller with six calls. A time mark between
the batches splits the day for --since/--until.

Every expected figure comes from the script (MORNING, AFTERNOON and the models of
the calls below), never from ivrd. The journal is
only read to prove that each call went as scripted (so a wrong figure is the report's
fault, not the day's), and to bound times the script cannot know exactly. The figures are
then read through the real CLI, `ivrctl -j JOURNAL KIND`, with ivrd stopped: JSON first,
then the same figures in the table and the CSV.

usage: test_reports.py [--list | TEST...]
  IVR_QA_DAY_DIR=DIR keeps the day (journal.db, day.json) in DIR and reuses it when it is
  there, to re-check reports without replaying the calls.
"""
import concurrent.futures
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, free_port, run, sipp, write_tone  # noqa: E402
from scenario import expect_bye, hangup, invite, keys, notify, pause, refer, write  # noqa: E402
from test_callback_offer import CB_PROMPTS, closed_hours, info  # noqa: E402
from test_outbound import Proxy  # noqa: E402

CONCURRENCY = 4
DROP_MS = 900  # a hang-up after the menu's prompt (300 ms), well before its timeout (2 s)

MENUS = """
menus = {
  main = {
    greeting = "main/greeting"; short = "main/short"; timeout = 2.0;
    max_failures = 3; max_timeouts = 3;
    options = (
      { key = "1"; action = "menu:sales"; },
      { key = "2"; action = "dept:billing"; },
      { key = "3"; action = "dept:support"; },
      { key = "4"; action = "callback:billing"; },
      { key = "7"; action = "callback-cancel"; },
      { key = "#"; action = "repeat"; }
    );
  };
  sales = {
    greeting = "sales/greeting"; short = "sales/short"; timeout = 2.0;
    options = ( { key = "2"; action = "dept:sales"; }, { key = "*"; action = "back"; } );
  };
};
"""


def daemon(name, proxy_port):
    d = Ivrd(name, menus=MENUS, prompt_ms=300,
             extra_ivrd="callbacks: { rate = 10; lease = 30; };",
             extra_sip=f"""outbound: {{ proxy = "udp:127.0.0.1:{proxy_port}";
        from = "sip:ivrd@callcenter.example"; ring_timeout = 5; max_outbound = 4; }};""")
    t = d.target_port
    depts = f"""
departments = {{
  billing = {{ targets = ["sip:billing@127.0.0.1:{t}"]; transfer_timeout = 5;
    callback: {{ offer = []; attempts = 3; retry = 10; service_level = 3;
                 name_prompt = "callback/dept-billing"; }}; }};
  sales = {{ targets = ["sip:sales@127.0.0.1:{t}"]; }};
  support = {{ targets = ["sip:support@127.0.0.1:{t}"]; hours = {closed_hours()};
    callback: {{ offer = ["closed"]; service_level = 600; }}; }};
  operator = {{ targets = ["sip:operator@127.0.0.1:{t}"]; }};
}};
"""
    with open(d.conf) as f:
        text = f.read()
    start, end = text.index("departments = {"), text.index("\nmenus = {")
    with open(d.conf, "w") as f:
        f.write(text[:start] + depts + text[end:])
    for p in CB_PROMPTS + ["dept-billing"]:
        write_tone(os.path.join(d.prompts, "en", "callback", p + ".wav"), 100)
    return d


# ---- the calls a day is made of: SIPp steps and what each must leave in the journal ----
#
# A model per call: menus entered in order, keys that led on (menu, key, where), invalid
# keys and timeouts per menu, route rows (dept, result: None = routed), transfer attempts
# (dept, "ok"/"failed"), the menu hung up in, the callback offered / promised, the outcome.

def model(**kw):
    m = dict(menus=["main"], left=[], invalid=[], timeouts=[], routes=[], transfers=[],
             drop=None, offered=None, promise=None, outcome="transferred", drop_after_ms=0,
             why=[], cancels=False)
    m.update(kw)
    return m


KEY2 = ("main", "key 2 in menu main", None)  # (menu, reason) of the route, no failure


def c_billing_ok(ani):
    return ([keys("2"), refer("billing"), notify("200 OK", 2), expect_bye()],
            model(left=[("main", "2", "dept:billing")], routes=[("billing", None)],
                  transfers=[("billing", "ok")], why=[KEY2]))


def c_sales_ok(ani):
    return ([keys("1", "2"), refer("sales"), notify("200 OK", 2), expect_bye()],
            model(menus=["main", "sales"],
                  left=[("main", "1", "menu:sales"), ("sales", "2", "dept:sales")],
                  routes=[("sales", None)], transfers=[("sales", "ok")],
                  why=[("sales", "key 2 in menu sales", None)]))


def c_billing_busy(ani):
    """The department's phone answers the REFER, then reports 486: the operator takes it."""
    return ([keys("2"), refer("billing"), notify("100 Trying", 2, terminated=False),
             notify("486 Busy Here", 3), refer("operator"), notify("200 OK", 4), expect_bye()],
            model(left=[("main", "2", "dept:billing")],
                  routes=[("billing", None), ("operator", None)],
                  transfers=[("billing", "failed"), ("operator", "ok")],
                  why=[("main", "key 2 in menu main", "target answered 486"),
                       ("main", "fallback of billing (unavailable)", None)]))


def c_billing_refused(ani):
    """The REFER itself is declined (603): the operator takes it."""
    return ([keys("2"), refer("billing", code="603 Declined"), refer("operator"),
             notify("200 OK", 2), expect_bye()],
            model(left=[("main", "2", "dept:billing")],
                  routes=[("billing", None), ("operator", None)],
                  transfers=[("billing", "failed"), ("operator", "ok")],
                  why=[("main", "key 2 in menu main", "REFER refused with 603"),
                       ("main", "fallback of billing (unavailable)", None)]))


def c_sales_busy(ani):
    return ([keys("1", "2"), refer("sales"), notify("503 Service Unavailable", 2),
             refer("operator"), notify("200 OK", 3), expect_bye()],
            model(menus=["main", "sales"],
                  left=[("main", "1", "menu:sales"), ("sales", "2", "dept:sales")],
                  routes=[("sales", None), ("operator", None)],
                  transfers=[("sales", "failed"), ("operator", "ok")],
                  why=[("sales", "key 2 in menu sales", "target answered 503"),
                       ("sales", "fallback of sales (unavailable)", None)]))


def c_drop_main(ani):
    return ([pause(DROP_MS), hangup()],
            model(drop="main", outcome="dropped", drop_after_ms=DROP_MS))


def c_drop_sales(ani):
    # the key goes 300 ms after the answer; the hang-up DROP_MS after it
    return ([keys("1"), pause(DROP_MS), hangup()],
            model(menus=["main", "sales"], left=[("main", "1", "menu:sales")], drop="sales",
                  outcome="dropped", drop_after_ms=DROP_MS))


def c_timeouts(ani):
    """Silence: three timeouts in main, then the operator."""
    return ([refer("operator", timeout=30000), notify("200 OK", 2), expect_bye()],
            model(timeouts=["main"] * 3, routes=[("operator", None)],
                  transfers=[("operator", "ok")],
                  why=[("main", "3 timeouts in menu main: fallback", None)]))


def c_invalid3(ani):
    return ([keys("9", "8", "6"), refer("operator"), notify("200 OK", 2), expect_bye()],
            model(invalid=["main"] * 3, routes=[("operator", None)],
                  transfers=[("operator", "ok")],
                  why=[("main", "3 invalid keys in menu main: fallback", None)]))


def c_invalid_then_billing(ani):
    return ([keys("9", "2"), refer("billing"), notify("200 OK", 2), expect_bye()],
            model(invalid=["main"], left=[("main", "2", "dept:billing")],
                  routes=[("billing", None)], transfers=[("billing", "ok")], why=[KEY2]))


def c_repeat_then_billing(ani):
    return ([keys("#", "2", gap=700), refer("billing"), notify("200 OK", 2), expect_bye()],
            model(left=[("main", "#", "repeat"), ("main", "2", "dept:billing")],
                  routes=[("billing", None)], transfers=[("billing", "ok")], why=[KEY2]))


def c_operator_main(ani):
    return ([keys("0"), refer("operator"), notify("200 OK", 2), expect_bye()],
            model(left=[("main", "0", "operator")], routes=[("operator", None)],
                  transfers=[("operator", "ok")],
                  why=[("main", "key 0 (operator) in menu main", None)]))


def c_operator_sales(ani):
    return ([keys("1", "0"), refer("operator"), notify("200 OK", 2), expect_bye()],
            model(menus=["main", "sales"],
                  left=[("main", "1", "menu:sales"), ("sales", "0", "operator")],
                  routes=[("operator", None)], transfers=[("operator", "ok")],
                  why=[("sales", "key 0 (operator) in menu sales", None)]))


def c_back(ani):
    return ([keys("1", "*", "2"), refer("billing"), notify("200 OK", 2), expect_bye()],
            model(menus=["main", "sales", "main"],
                  left=[("main", "1", "menu:sales"), ("sales", "*", "back"),
                        ("main", "2", "dept:billing")],
                  routes=[("billing", None)], transfers=[("billing", "ok")], why=[KEY2]))


def c_support_promise(ani):
    """support is closed: offered a call back, 1 accepts, 1 confirms the number."""
    return ([keys("3"), info("1", 2, ani, gap=700), info("1", 3, ani, gap=500), expect_bye()],
            model(left=[("main", "3", "dept:support")],
                  routes=[("support", None), ("support", "closed")], offered="support",
                  promise="support", outcome="callback promised"))


def c_support_decline(ani):
    return ([keys("3"), info("2", 2, ani, gap=1200), refer("operator"), notify("200 OK", 3),
             expect_bye()],
            model(left=[("main", "3", "dept:support")],
                  routes=[("support", None), ("support", "closed"), ("operator", None)],
                  offered="support", transfers=[("operator", "ok")],
                  why=[("main", "fallback of support (closed)", None)]))


def c_callback_billing(ani):
    """The menu's call back option for billing (open): promised, then dialled back."""
    return ([keys("4"), info("1", 2, ani, gap=700), info("1", 3, ani, gap=500), expect_bye()],
            model(left=[("main", "4", "callback:billing")], offered="billing", promise="billing",
                  outcome="callback promised"))


def c_cancel(ani):
    """A caller with an open promise: told of it (2 keeps it), then 7 cancels it from
    main; the menu again, and the caller hangs up there."""
    return ([keys("2", "7"), pause(1500), hangup()],
            model(left=[("main", "7", "callback-cancel")], drop="main", outcome="dropped",
                  cancels=True, drop_after_ms=1500))


REPEAT = "15125550199"
# (caller, call) in the order they start; each batch runs CONCURRENCY calls at a time, but a
# caller's calls never overlap (the cancel must follow its promise).
MORNING = [
    ("15125550101", c_billing_ok), ("15125550102", c_sales_ok), (REPEAT, c_billing_ok),
    ("15125550103", c_billing_busy), ("15125550104", c_billing_refused),
    (REPEAT, c_drop_main), ("15125550105", c_drop_sales), ("15125550106", c_timeouts),
    ("15125550107", c_invalid3), ("15125550108", c_operator_main), ("15125550109", c_back),
    ("15125550110", c_support_promise), ("15125550111", c_support_promise),
    ("15125550112", c_support_decline), (REPEAT, c_billing_busy),
    ("15125550102", c_drop_main),
]
KEPT_BY = "15125550113"  # the promise dialled back and kept, alone at the end of the morning
AFTERNOON = [
    (REPEAT, c_sales_ok), ("15125550114", c_billing_ok), ("15125550115", c_sales_busy),
    ("15125550116", c_operator_sales), (REPEAT, c_drop_sales),
    ("15125550117", c_invalid_then_billing), ("15125550118", c_repeat_then_billing),
    ("15125550110", c_cancel), ("15125550119", c_drop_main), (REPEAT, c_billing_ok),
    ("15125550120", c_support_promise), ("15125550121", c_drop_sales),
    ("15125550122", c_billing_refused), ("15125550123", c_sales_ok),
    ("15125550101", c_drop_main),
]


def run_batch(d, calls, first_index, part):
    """Runs calls, CONCURRENCY at a time, a caller's calls one after another. Returns the
    day's records: index, part, ani, call_id, the model, and when SIPp ran."""
    recs = [dict(index=first_index + i, part=part, ani=ani, kind=fn.__name__[2:],
                 call_id=f"day{first_index + i:02d}-1@127.0.0.1", **fn(ani)[1])
            for i, (ani, fn) in enumerate(calls)]
    steps = {r["index"]: fn(ani)[0] for r, (ani, fn) in zip(recs, calls)}

    def one(rec):
        sc = write(d, f"day{rec['index']:02d}.xml", invite(ani=rec["ani"]),
                   *steps[rec["index"]])
        rec["t0"] = time.time()
        rc, out, _ = sipp(d, sc, timeout=40,
                          extra=["-cid_str", f"day{rec['index']:02d}-%u@%s"])
        rec["t1"] = time.time()
        assert rc == 0, f"call {rec['index']} ({rec['kind']} from {rec['ani']}): {out}"

    pending = list(recs)
    busy = {}  # future -> record
    with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as ex:
        while pending or busy:
            callers = {r["ani"] for r in busy.values()}
            for r in list(pending):
                if len(busy) >= CONCURRENCY:
                    break
                if r["ani"] in callers:
                    continue
                # keep the order of one caller's calls
                if any(p["ani"] == r["ani"] for p in pending[:pending.index(r)]):
                    continue
                pending.remove(r)
                callers.add(r["ani"])
                busy[ex.submit(one, r)] = r
            done, _ = concurrent.futures.wait(busy, return_when="FIRST_COMPLETED")
            for f in done:
                busy.pop(f)
                f.result()
    return recs


def wait_ended(d, n, timeout=30):
    end = time.monotonic() + timeout
    while len(d.rows("SELECT id FROM events WHERE event = 'call.end'")) < n:
        assert time.monotonic() < end, f"fewer than {n} calls ended within {timeout} s"
        time.sleep(0.05)


def play_day(d, proxy_port):
    """The day: the morning, the kept promise, a time mark, the afternoon. Returns the
    records and the mark (local "YYYY-MM-DD HH:MM:SS", every morning call before it, every
    afternoon call after it)."""
    day = run_batch(d, MORNING, 1, "morning")
    # billing (open, service level 3 s) dials the promise back 3 s after it was made: the
    # caller's phone behind the outbound proxy answers and takes the transfer to billing;
    # kept, but after its due time
    phone = Proxy(d, "callback_callee.xml", proxy_port, keys={"rtp_port": str(free_port())},
                  timeout=40)
    day += run_batch(d, [(KEPT_BY, c_callback_billing)], len(day) + 1, "morning")
    prc, pout = phone.wait(50)
    assert prc == 0, f"SIPp (the caller's phone, dial-back) failed: {pout}"
    d.wait_event("callback.kept", timeout=30)
    wait_ended(d, len(day))
    # the mark: the next whole second (the CLI takes times to the second)
    mark_s = int(time.time()) + 1
    while time.time() < mark_s + 0.05:
        time.sleep(mark_s + 0.05 - time.time())
    day += run_batch(d, AFTERNOON, len(day) + 1, "afternoon")
    wait_ended(d, len(day))
    mark = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(mark_s))
    return day, mark, mark_s * 1000


# ---- the day as it must have happened, checked call by call in the journal ----

def actual(d, rec):
    """What the journal says of one call, in the model's terms."""
    ev = d.events(rec["call_id"])
    assert ev, f"call {rec['index']} ({rec['kind']}): no journal rows for {rec['call_id']}"
    return dict(
        menus=[e["menu"] for e in ev if e["event"] == "menu.enter"],
        invalid=[e["menu"] for e in ev if e["event"] == "input.invalid"],
        timeouts=[e["menu"] for e in ev if e["event"] == "input.timeout"],
        routes=[(e["dept"], e["result"]) for e in ev if e["event"] == "route"],
        transfers=[(e["dept"], e["result"]) for e in ev if e["event"] == "transfer.result"],
        starts=[e["dept"] for e in ev if e["event"] == "transfer.start"],
        drop=next((e["menu"] for e in ev if e["event"] == "drop"), None),
        offered=next((e["dept"] for e in ev if e["event"] == "callback.offer"
                      and e["result"] == "offered"), None),
        promise=next((e["dept"] for e in ev if e["event"] == "callback.promised"), None),
        outcome=next((e["result"] for e in ev if e["event"] == "call.end"), None),
        start_ms=ev[0]["ts_ms"], why=why(ev))


def why(ev):
    """Each transfer attempt's (menu, reason) of the route that sent it, and its failure."""
    out, route = [], None
    for e in ev:
        if e["event"] == "route" and e["result"] is None:
            route = e
        elif e["event"] == "transfer.start":
            out.append([route["menu"] if route else None, route["reason"] if route else None,
                        None])
        elif e["event"] == "transfer.result" and e["result"] == "failed" and out:
            out[-1][2] = e["reason"]
    return [tuple(w) for w in out]


def check_day_as_scripted(d, day):
    bad = []
    for rec in day:
        a = actual(d, rec)
        rec["start_ms"] = a["start_ms"]
        for k in ("menus", "invalid", "timeouts", "routes", "transfers", "drop", "offered",
                  "promise", "outcome"):
            want = rec[k]
            if isinstance(want, list):
                want = [tuple(x) if isinstance(x, list) else x for x in want]
            if a[k] != want:
                bad.append(f"call {rec['index']} ({rec['kind']} from {rec['ani']}): "
                           f"{k} {a[k]!r}, scripted {want!r}")
        if a["starts"] != [t[0] for t in rec["transfers"]]:
            bad.append(f"call {rec['index']}: transfer.start {a['starts']!r}")
        if a["why"] != [tuple(w) for w in rec["why"]]:
            bad.append(f"call {rec['index']} ({rec['kind']}): transfers sent by (menu, "
                       f"reason, failure) {a['why']!r}, scripted {rec['why']!r}")
    assert not bad, "the day did not go as scripted:\n  " + "\n  ".join(bad)


def build_day():
    """Plays the day (or reuses the one kept in IVR_QA_DAY_DIR); returns (journal path,
    day, mark, mark_ms, the report --json read while ivrd was running)."""
    keep = os.environ.get("IVR_QA_DAY_DIR")
    if keep and os.path.exists(os.path.join(keep, "day.json")):
        with open(os.path.join(keep, "day.json")) as f:
            saved = json.load(f)
        return (os.path.join(keep, "journal.db"), saved["day"], saved["mark"],
                saved["mark_ms"], saved["running"])
    proxy_port = free_port()
    d = daemon("qa-day", proxy_port)
    with d.start():
        day, mark, mark_ms = play_day(d, proxy_port)
        running = ivrctl_json(d.journal, "report")
    check_day_as_scripted(d, day)
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(d.journal, os.path.join(keep, "journal.db"))
        with open(os.path.join(keep, "day.json"), "w") as f:
            json.dump(dict(day=day, mark=mark, mark_ms=mark_ms, running=running), f)
    return d.journal, day, mark, mark_ms, running


class NotBuilt(Exception):
    pass


def ivrctl(journal, kind, *args):
    """ivrctl -j JOURNAL KIND ARGS: its output; NotBuilt while the kind answers ENOSYS."""
    p = subprocess.run([os.environ["IVRCTL"], "-j", journal, kind, *args],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        if re.search(r"not built yet|not implemented|unknown command", p.stderr, re.I):
            raise NotBuilt(f"{kind}: {p.stderr.strip()}")
        raise AssertionError(f"ivrctl {kind} {' '.join(args)}: exit {p.returncode}: "
                             f"{p.stderr.strip()}")
    return p.stdout


def ivrctl_json(journal, kind, *args):
    try:
        out = ivrctl(journal, kind, "--json", *args)
    except NotBuilt as e:
        return {"not built": str(e)}
    try:
        return json.loads(out)
    except ValueError as e:
        raise AssertionError(f"ivrctl {kind} --json {' '.join(args)}: not JSON ({e}): "
                             f"{out[:500]}")


# ---- the figures the script implies ----

def ratio(a, b):
    return a / b if b else None


def routed(routes):
    """The departments a call was routed to: the menu journals its decision (result NULL)
    before the department is found closed, busy or refusing, which journals a second row
    for it with that result; such a decision did not route."""
    return [d for i, (d, res) in enumerate(routes) if res is None and not (
        i + 1 < len(routes) and routes[i + 1][0] == d and routes[i + 1][1] is not None)]


# The dial-back's transfer.start/transfer.result rows (billing, ok) are a transfer to
# billing: report.h counts the transfers report's figures in rows, and the agent took the
# call that kept the promise. The summary and first_ok count calls: a dial-back is none.
DIALBACK_IS_A_TRANSFER = True


def expect(day, parts=("morning", "afternoon")):
    """Every figure of the reports for the calls of these parts of the day, from the
    script alone. The dial-back (morning) is a transfer to billing that succeeded, under a
    Call-ID of its own and with no call of its own (no call.start)."""
    calls = [r for r in day if r["part"] in parts]
    dialback = DIALBACK_IS_A_TRANSFER and "morning" in parts
    e = {"calls": len(calls)}
    e["routed_calls"] = sum(bool(routed(r["routes"])) for r in calls)
    e["transferred_calls"] = sum(r["outcome"] == "transferred" for r in calls)
    # the summary counts the transfers of calls; the transfers report every attempt
    e["transfers"] = sum(len(r["transfers"]) for r in calls)
    e["transfers_per_routed_call"] = ratio(e["transfers"], e["routed_calls"])
    with_transfer = [r for r in calls if r["transfers"]]
    e["first_transfer_success_rate"] = ratio(
        sum(r["transfers"][0][1] == "ok" for r in with_transfer), len(with_transfer))
    e["dropped_calls"] = sum(r["drop"] is not None for r in calls)
    e["drop_rate"] = ratio(e["dropped_calls"], len(calls))

    menus = {}
    for r in calls:
        for m in r["menus"]:
            x = menus.setdefault(m, dict(menu=m, entered=0, calls=set(), left=Counter(),
                                         invalid=0, timeouts=0, hung_up=0, waits=[]))
            x["entered"] += 1
            x["calls"].add(r["call_id"])
        for m, k, to in r["left"]:
            menus[m]["left"][(k, to)] += 1
        for m in r["invalid"]:
            menus[m]["invalid"] += 1
        for m in r["timeouts"]:
            menus[m]["timeouts"] += 1
        if r["drop"]:
            menus[r["drop"]]["hung_up"] += 1
            menus[r["drop"]]["waits"].append(r["drop_after_ms"])
    for x in menus.values():
        x["calls"] = len(x["calls"])
        # a call hangs up once: the rate is of the calls that entered, not of the entries
        x["hangup_rate"] = ratio(x["hung_up"], x["calls"])
    e["menus"] = menus
    # the summary counts the calls that entered each menu (drops' "calls")
    e["drops_by_menu"] = {m: dict(calls=x["calls"], hung_up=x["hung_up"],
                                  rate=x["hangup_rate"]) for m, x in menus.items()}

    depts = defaultdict(lambda: dict(routed=0, transfers=0, ok=0, failed=0, closed=0, busy=0,
                                     refused=0, first_ok=0, callbacks_offered=0))
    for r in calls:
        for d in routed(r["routes"]):
            depts[d]["routed"] += 1
        for d, res in r["routes"]:
            if res is not None:
                depts[d][res] += 1
        for d, res in r["transfers"]:
            depts[d]["transfers"] += 1
            depts[d]["ok" if res == "ok" else "failed"] += 1
        if r["transfers"] and r["transfers"][0][1] == "ok":
            depts[r["transfers"][0][0]]["first_ok"] += 1
        if r["offered"]:
            depts[r["offered"]]["callbacks_offered"] += 1
    if dialback:
        depts["billing"]["transfers"] += 1
        depts["billing"]["ok"] += 1
    for x in depts.values():
        x["success_rate"] = ratio(x["ok"], x["ok"] + x["failed"])
    e["depts"] = dict(depts)

    # promises made by calls of these parts, in the state the whole day left them
    cancelled_by = {r["ani"] for r in day if r["cancels"]}
    proms = []
    for r in calls:
        if r["promise"]:
            state = ("kept" if r["promise"] == "billing" else
                     "cancelled" if r["ani"] in cancelled_by else "open")
            proms.append(dict(number=r["ani"], dept=r["promise"], state=state))
    e["promise_rows"] = proms
    st = Counter(p["state"] for p in proms)
    # the billing promise is due at the half hour the caller was told; its dial-back, a
    # few seconds after the promise, keeps it on time
    e["promises"] = dict(made=len(proms), kept=st["kept"], kept_on_time=st["kept"],
                         kept_late=0, broken=0, cancelled=st["cancelled"],
                         open=st["open"], on_time_rate=ratio(st["kept"], st["kept"]))

    per = defaultdict(lambda: dict(calls=0, transfers=0, transfers_failed=0, drops=0,
                                   promises=0, kept=0, broken=0, open=0, cancelled=0))
    for r in calls:
        p = per[r["ani"]]
        p["calls"] += 1
        p["transfers"] += len(r["transfers"])
        p["transfers_failed"] += sum(res != "ok" for _, res in r["transfers"])
        p["drops"] += r["drop"] is not None
    for pr in proms:
        per[pr["number"]]["promises"] += 1
        per[pr["number"]][pr["state"]] += 1
    e["callers_totals"] = dict(per)
    e["callers"] = len(per)
    rep = {n: p for n, p in per.items() if p["calls"] >= 2}
    e["repeat_callers"] = len(rep)
    # the calls after a repeat caller's first
    e["repeat_calls"] = sum(p["calls"] - 1 for p in rep.values())
    e["top_callers"] = {n: dict(calls=p["calls"], transfers=p["transfers"], drops=p["drops"])
                        for n, p in rep.items()}
    e["call_ids"] = {r["call_id"] for r in calls}
    e["dialback"] = dialback
    # the hours the calls' SIPp runs spanned
    e["hours"] = {int(t // 3600) * 3600000 for r in calls for t in (r["t0"], r["t1"])}
    return e


# ---- reading the reports ----

class Checks:
    """Collects every mismatch, so one run names all the wrong figures at once."""

    def __init__(self):
        self.bad = []
        self.pending = []
        self.not_built = set()
        self.checked = 0

    def eq(self, what, got, want):
        self.checked += 1
        if not same(got, want):
            self.bad.append(f"{what}: ivrctl says {got!r}, the day says {want!r}")
            return False
        return True

    def rows(self, what, got, want):
        """Rows by name ({dept: {figure: value}}): one message per differing figure."""
        self.checked += 1
        for name in sorted(set(got) | set(want), key=str):
            if name not in got:
                self.bad.append(f"{what}: no row for {name} (the day has {want[name]})")
            elif name not in want:
                self.bad.append(f"{what}: a row for {name} the day does not have: {got[name]}")
            else:
                for k in sorted(set(got[name]) | set(want[name]), key=str):
                    g, w = got[name].get(k), want[name].get(k)
                    if not same(g, w):
                        self.bad.append(f"{what} {name} {k}: ivrctl says {g!r}, the day "
                                        f"says {w!r}")

    def true(self, what, ok, detail=""):
        self.checked += 1
        if not ok:
            self.bad.append(f"{what}{': ' + detail if detail else ''}")
        return ok

    def run(self, journal, kind, *args):
        """ivrctl's output, or None (noted once per kind while it is not built)."""
        if kind in self.not_built:
            return None
        try:
            return ivrctl(journal, kind, *args)
        except NotBuilt as e:
            self.not_built.add(kind)
            self.pending.append(str(e).splitlines()[0])
        except AssertionError as e:
            self.bad.append(str(e).splitlines()[0])
        return None

    def json(self, journal, kind, *args):
        """The JSON document, or None (noted)."""
        out = self.run(journal, kind, "--json", *args)
        if out is None:
            return None
        try:
            return json.loads(out)
        except ValueError as e:
            self.bad.append(f"ivrctl {kind} --json {' '.join(args)}: not JSON ({e}): "
                            f"{out[:300]}")
            return None

    def text(self, journal, kind, *args):
        return self.run(journal, kind, *args)


def same(a, b):
    """Equal, rates to the 4 significant digits the JSON carries."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return (isinstance(a, (int, float)) and isinstance(b, (int, float))
                and abs(a - b) <= 5e-4 * max(1, abs(b)))
    return a == b


def by(rows, key):
    return {r.get(key): r for r in rows} if isinstance(rows, list) else {}


def check_report(c, journal, e, args, label):
    doc = c.json(journal, "report", *args)
    if doc is None:
        return None
    if not c.true(f"report{label}: an object", isinstance(doc, dict), repr(doc)[:200]):
        return None
    for k in ("calls", "routed_calls", "transferred_calls", "transfers",
              "transfers_per_routed_call", "first_transfer_success_rate", "dropped_calls",
              "drop_rate", "callers", "repeat_callers", "repeat_calls"):
        c.eq(f"report{label} {k}", doc.get(k), e[k])
    got = {m["menu"]: {k: m.get(k) for k in ("calls", "hung_up", "rate")}
           for m in doc.get("drops_by_menu") or []}
    c.rows(f"report{label} drops_by_menu", got, e["drops_by_menu"])
    got = doc.get("promises") or {}
    for k, v in e["promises"].items():
        c.eq(f"report{label} promises.{k}", got.get(k), v)
    top = doc.get("top_callers") or []
    c.rows(f"report{label} top_callers",
           {t.get("number"): {k: t.get(k) for k in ("calls", "transfers", "drops")}
            for t in top}, e["top_callers"])
    c.true(f"report{label} top_callers most calls first",
           [t.get("calls") for t in top] == sorted((t.get("calls") for t in top), reverse=True),
           repr(top))
    hours = doc.get("hours") or []
    c.eq(f"report{label} hours: calls", sum(h.get("calls", 0) for h in hours), e["calls"])
    c.eq(f"report{label} hours: transferred", sum(h.get("transferred", 0) for h in hours),
         e["transferred_calls"])
    c.eq(f"report{label} hours: dropped", sum(h.get("dropped", 0) for h in hours),
         e["dropped_calls"])
    c.true(f"report{label} hours are the hours of the calls",
           {h.get("hour_ms") for h in hours} <= e["hours"],
           f"{[h.get('hour_ms') for h in hours]} vs {sorted(e['hours'])}")
    busiest = doc.get("busiest_hours") or []
    c.true(f"report{label} busiest_hours", 1 <= len(busiest) <= 3 and
           busiest[0].get("calls") == max(h.get("calls", 0) for h in hours), repr(busiest))
    return doc


def check_transfers(c, journal, e, args, label, day):
    doc = c.json(journal, "transfers", *args)
    if doc is not None:
        got = {r.get("dept"): {k: r.get(k) for k in e["depts"]["billing"]} for r in doc}
        c.rows(f"transfers{label}", got, e["depts"])
    rows = c.json(journal, "transfers", "--list", *args)
    if rows is None:
        return doc
    c.eq(f"transfers{label} --list: rows", len(rows), e["transfers"] + bool(e["dialback"]))
    per_call = defaultdict(list)
    for r in rows:
        per_call[r.get("call_id")].append(r)
    for rec in day:
        if rec["call_id"] not in e["call_ids"]:
            continue
        got = sorted(per_call.pop(rec["call_id"], []), key=lambda r: r.get("ts_ms") or 0)
        want = [(d, res, m, why, fail if res != "ok" else None)
                for (d, res), (m, why, fail) in zip(rec["transfers"], rec["why"])]
        c.eq(f"transfers{label} --list of call {rec['index']} ({rec['kind']}): "
             "(dept, result, menu, reason, failure)",
             [(r.get("dept"), r.get("result"), r.get("menu"), r.get("reason"),
               r.get("failure") if r.get("result") != "ok" else None) for r in got], want)
        c.true(f"transfers{label} --list of call {rec['index']}: caller",
               all(r.get("ani") == rec["ani"] for r in got), repr(got))
    # what is left: the dial-back's transfer, of no call of the day
    left = [r for rs in per_call.values() for r in rs]
    c.eq(f"transfers{label} --list: the dial-back", [(r.get("dept"), r.get("result"))
                                                      for r in left],
         [("billing", "ok")] if e["dialback"] else [])
    return doc


def unseen(menu, key, to, e):
    """Where a key led when the funnel cannot say: nothing it counts follows key 7 (the
    promise's callback.cancelled row is no menu step); any "to" is taken for the
    callback-cancel option."""
    if (key, "callback-cancel") in e["menus"].get(menu, {}).get("left", {}):
        return "callback-cancel"
    return to


def check_drops(c, journal, e, args, label, day):
    doc = c.json(journal, "drops", *args)
    if doc is not None:
        got = {}
        for r in doc:
            got[r.get("menu")] = dict(
                entered=r.get("entered"), calls=r.get("calls"),
                left={(x.get("key"), unseen(r.get("menu"), x.get("key"), x.get("to"), e)):
                      x.get("count") for x in r.get("left") or []},
                invalid=r.get("invalid"), timeouts=r.get("timeouts"), hung_up=r.get("hung_up"),
                hangup_rate=r.get("hangup_rate"))
            m = e["menus"].get(r.get("menu"))
            if m and m["waits"]:
                # from entering the menu to hanging up: the script's pause, give or take
                # the prompt and the key's travel
                med = r.get("median_hangup_ms")
                c.true(f"drops{label} {r.get('menu')} median_hangup_ms",
                       isinstance(med, int) and min(m["waits"]) - 400 <= med
                       <= max(m["waits"]) + 1500, f"{med} for pauses {m['waits']}")
        want = {m: dict(entered=x["entered"], calls=x["calls"], left=dict(x["left"]),
                        invalid=x["invalid"], timeouts=x["timeouts"], hung_up=x["hung_up"],
                        hangup_rate=x["hangup_rate"]) for m, x in e["menus"].items()}
        c.rows(f"drops{label}", got, want)
        c.true(f"drops{label} most entered first",
               [r.get("entered") for r in doc] == sorted((r.get("entered") for r in doc),
                                                         reverse=True), repr(doc)[:300])
    rows = c.json(journal, "drops", "--list", *args)
    if rows is None:
        return doc
    want = {r["call_id"]: r for r in day if r["call_id"] in e["call_ids"] and r["drop"]}
    c.eq(f"drops{label} --list: calls", sorted(r.get("call_id") for r in rows), sorted(want))
    for r in rows:
        rec = want.get(r.get("call_id"))
        if rec is None:
            continue
        c.eq(f"drops{label} --list {rec['index']}: (menu, ani)", (r.get("menu"), r.get("ani")),
             (rec["drop"], rec["ani"]))
        if rec["kind"] in ("drop_main", "drop_sales"):
            c.eq(f"drops{label} --list {rec['index']}: last prompt heard", r.get("prompt"),
                 f"{rec['drop']}/greeting")
        ms = r.get("in_menu_ms")
        c.true(f"drops{label} --list {rec['index']}: in_menu_ms",
               isinstance(ms, int) and rec["drop_after_ms"] - 400 <= ms
               <= rec["drop_after_ms"] + 1500, f"{ms} for a pause of {rec['drop_after_ms']}")
        c.true(f"drops{label} --list {rec['index']}: path names the menu",
               rec["drop"] in str(r.get("path")), repr(r.get("path")))
    return doc


def check_calls(c, journal, e, day):
    rows = c.json(journal, "calls", "--limit", "0")
    if rows is not None:
        c.eq("calls: the day's calls", sorted(r.get("call_id") for r in rows),
             sorted(e["call_ids"]))
        recs = {r["call_id"]: r for r in day}
        c.eq("calls: callers", {r.get("call_id"): r.get("ani") for r in rows},
             {cid: recs[cid]["ani"] for cid in e["call_ids"]})
        # the outcome in words names where the call went
        for r in rows:
            rec = recs.get(r.get("call_id"))
            if rec is None:
                continue
            words = {"transferred": f"transferred to {(rec['transfers'] or [('?',)])[-1][0]}",
                     "dropped": f"hung up in menu {rec['drop']}",
                     "callback promised": "callback promised"}[rec["outcome"]]
            c.true(f"calls: outcome of call {rec['index']} ({rec['kind']}) says "
                   f"\"{words}\"", words in str(r.get("outcome")), repr(r.get("outcome")))
        c.true("calls: newest first", [r.get("start_ms") for r in rows] ==
               sorted((r.get("start_ms") for r in rows), reverse=True))
    for dept in ("billing", "sales", "support", "operator"):
        want = sorted(r["call_id"] for r in day
                      if any(d == dept and res is None for d, res in r["routes"])
                      or any(d == dept for d, _ in r["transfers"]))
        rows = c.json(journal, "calls", "--limit", "0", "--dept", dept)
        if rows is not None:
            c.eq(f"calls --dept {dept}", sorted(r.get("call_id") for r in rows), want)
    for number in (REPEAT, "15125550110", "+1 512 555 0102"):
        digits = re.sub(r"\D", "", number)
        rows = c.json(journal, "calls", "--limit", "0", "--number", number)
        if rows is not None:
            c.eq(f"calls --number {number}", sorted(r.get("call_id") for r in rows),
                 sorted(r["call_id"] for r in day if r["ani"] == digits))


def check_callers(c, journal, e):
    for number in (REPEAT, "15125550110", KEPT_BY, "15125550111", "15125550101"):
        doc = c.json(journal, "caller", number)
        if doc is None:
            continue
        want = e["callers_totals"][number]
        got = (doc.get("totals") or {}) if isinstance(doc, dict) else {}
        c.rows(f"caller {number}: totals", {"": {k: got.get(k) for k in want}}, {"": want})
        c.eq(f"caller {number}: calls", len(doc.get("calls") or []), want["calls"])
        # the caller's calls are the calls report's rows for that number, key for key
        c.eq(f"caller {number}: calls as \"calls --number\" has them", doc.get("calls"),
             c.json(journal, "calls", "--number", number))
        c.eq(f"caller {number}: promises", sorted((p.get("dept"), p.get("state"))
                                                  for p in doc.get("promises") or []),
             sorted((p["dept"], p["state"]) for p in e["promise_rows"]
                    if p["number"] == number))


def check_callbacks(c, journal, e):
    rows = c.json(journal, "callbacks", "--view", "all")
    if rows is not None:
        c.eq("callbacks --view all: (number, dept, state)",
             sorted((r.get("number"), r.get("dept"), r.get("state")) for r in rows),
             sorted((p["number"], p["dept"], p["state"]) for p in e["promise_rows"]))
    rows = c.json(journal, "callbacks", "--view", "open")
    if rows is not None:
        c.eq("callbacks --view open", sorted(r.get("number") for r in rows),
             sorted(p["number"] for p in e["promise_rows"] if p["state"] == "open"))


# ---- the same figures in a table and in CSV ----

def cell(v):
    """A JSON value as CSV writes it."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def csv_rows(c, journal, kind, *args):
    out = c.text(journal, kind, "--csv", *args)
    return list(csv.DictReader(io.StringIO(out))) if out is not None else None


def check_csv_rows(c, journal, kind, doc, key, *args):
    """A CSV with one row per JSON row, a column per key (nested values as text)."""
    rows = csv_rows(c, journal, kind, *args)
    if rows is None or doc is None:
        return
    c.eq(f"{kind} --csv {' '.join(args)}: rows", len(rows), len(doc))
    got = by(rows, key)
    for want in doc:
        r = got.get(cell(want.get(key)))
        if not c.true(f"{kind} --csv: a row for {want.get(key)}", r is not None):
            continue
        for k, v in want.items():
            if isinstance(v, (list, dict)):
                continue
            if isinstance(v, float) and r.get(k):
                c.true(f"{kind} --csv {want.get(key)} {k}", same(float(r[k]), v),
                       f"{r[k]} vs JSON {v}")
            else:
                c.eq(f"{kind} --csv {want.get(key)} {k}", r.get(k), cell(v))


def check_table(c, journal, kind, doc, key, fields, *args):
    """The table's line for each JSON row carries the row's counts, in order."""
    out = c.text(journal, kind, *args)
    if out is None or doc is None:
        return
    lines = out.splitlines()
    for want in doc:
        name = str(want.get(key))
        line = next((ln for ln in lines if name in ln.split()), None)
        if not c.true(f"{kind} table: a line for {name}", line is not None, out[:500]):
            continue
        toks = line.split()
        nums = [str(want.get(f)) for f in fields]
        it = iter(toks[toks.index(name) + 1:])
        c.true(f"{kind} table line for {name} carries {dict(zip(fields, nums))}",
               all(n in it for n in nums), line)


def flatten(doc, prefix=""):
    """report's JSON as CSV figure names: "promises.kept", "drops_by_menu.main.rate"."""
    out = {}
    for k, v in doc.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, name + "."))
        elif isinstance(v, list):
            # rows named by their first member: drops_by_menu.main.rate,
            # top_callers.15125550199.calls, hours.HOUR_MS.calls
            for m in v:
                first = next(iter(m))
                out.update(flatten({x: y for x, y in m.items() if x != first},
                                   f"{name}.{m[first]}."))
        else:
            out[name] = v
    return out


def check_report_forms(c, journal, doc):
    if doc is None:
        return
    out = c.text(journal, "report", "--csv")
    if out is not None:
        rows = list(csv.reader(io.StringIO(out)))
        figures = {r[0]: r[1] for r in rows if len(r) >= 2}
        for name, v in flatten(doc).items():
            got = figures.get(name)
            if isinstance(v, float) and got:
                c.true(f"report --csv {name}", same(float(got), v), f"{got} vs {v}")
            else:
                c.eq(f"report --csv {name}", got, cell(v))
    out = c.text(journal, "report")
    if out is not None:
        toks = out.split()
        for k in ("calls", "transfers", "dropped_calls", "repeat_callers"):
            c.true(f"report table shows {k} = {doc.get(k)}", str(doc.get(k)) in toks,
                   out[:800])
        lines = out.splitlines()
        for what, key, fields in (("drops_by_menu", "menu", ("calls", "hung_up")),
                                  ("top_callers", "number", ("calls", "transfers", "drops"))):
            for row in doc.get(what) or []:
                line = next((ln for ln in lines if str(row.get(key)) in ln.split()), None)
                toks = iter(line.split() if line else [])
                c.true(f"report table: {what} line for {row.get(key)} carries "
                       f"{[row.get(f) for f in fields]}",
                       line is not None and all(str(row.get(f)) in toks for f in fields),
                       repr(line))
        p = doc.get("promises") or {}
        for words, k in (("made", "made"), ("kept late", "kept_late"),
                         ("cancelled", "cancelled"), ("open", "open")):
            line = next((ln for ln in lines if ln.strip().startswith(words + " ")), "")
            c.true(f"report table: promises {words} {p.get(k)}",
                   line.split()[-1:] == [str(p.get(k))], repr(line))


def test_day_reports():
    """A scripted day of 32 calls; every report's figures against the script, through
    `ivrctl -j JOURNAL`, with ivrd stopped; the day split at a time mark adds up."""
    journal, day, mark, mark_ms, running = build_day()
    c = Checks()
    whole, morning, afternoon = (expect(day), expect(day, ("morning",)),
                                 expect(day, ("afternoon",)))
    c.true("the mark splits the day", all((r["start_ms"] < mark_ms) == (r["part"] == "morning")
                                          for r in day))

    doc = check_report(c, journal, whole, [], "")
    if doc is not None and "not built" not in running:
        c.eq("report read while ivrd ran (the day was over)", running, doc)
    am = check_report(c, journal, morning, ["--until", mark], " --until MARK")
    pm = check_report(c, journal, afternoon, ["--since", mark], " --since MARK")
    if doc and am and pm:
        c.eq("report --until MARK: until_ms", am.get("until_ms"), mark_ms)
        c.eq("report --since MARK: since_ms", pm.get("since_ms"), mark_ms)
        for k in ("calls", "routed_calls", "transferred_calls", "transfers", "dropped_calls"):
            c.eq(f"report {k}: morning + afternoon", am.get(k, 0) + pm.get(k, 0), doc.get(k))

    tr = check_transfers(c, journal, whole, [], "", day)
    check_transfers(c, journal, morning, ["--until", mark], " --until MARK", day)
    check_transfers(c, journal, afternoon, ["--since", mark], " --since MARK", day)
    billing = c.json(journal, "transfers", "--dept", "billing")
    if billing is not None:
        c.eq("transfers --dept billing: departments", [r.get("dept") for r in billing],
             ["billing"])
    dr = check_drops(c, journal, whole, [], "", day)
    check_drops(c, journal, morning, ["--until", mark], " --until MARK", day)
    check_drops(c, journal, afternoon, ["--since", mark], " --since MARK", day)

    check_calls(c, journal, whole, day)
    check_callers(c, journal, whole)
    check_callbacks(c, journal, whole)

    check_csv_rows(c, journal, "transfers", tr, "dept")
    check_table(c, journal, "transfers", tr, "dept",
                ("routed", "transfers", "ok", "failed", "closed", "busy", "refused"))
    check_csv_rows(c, journal, "drops", dr, "menu")
    check_table(c, journal, "drops", dr, "menu", ("entered", "calls"))
    check_report_forms(c, journal, doc)
    check_csv_rows(c, journal, "calls", c.json(journal, "calls", "--limit", "0"), "call_id",
                   "--limit", "0")

    print(f"day: {whole['calls']} calls ({morning['calls']} before {mark}), "
          f"{whole['transfers']} transfers, {whole['dropped_calls']} drops, "
          f"{whole['promises']['made']} promises; {c.checked} figures checked", flush=True)
    problems = c.bad + [f"not built yet: {p}" for p in c.pending]
    assert not problems, f"{len(problems)} report figures differ from the day:\n  " + \
        "\n  ".join(problems)


if __name__ == "__main__":
    run([test_day_reports])
