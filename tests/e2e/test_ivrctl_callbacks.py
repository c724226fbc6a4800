#!/usr/bin/env python3
"""The callback promise ledger as QA and staff see it: `ivrctl callbacks` (each view, --json,
--csv), `ivrctl caller` (one customer's journey across calls and promises) and
`ivrctl callback cancel` through the running daemon, plus the figures in `ivrctl status` and
/metrics.

The journal is made by the real ivrd (started and stopped once), then a scripted history is
written into it with sqlite3 as the daemon would have left it: calls with transfers and
drops, promises in every state, and the callback.* events of each attempt. ivrctl reads it
with the daemon down; the cancel tests then start ivrd on it."""
import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, run  # noqa: E402

HOUR = 3600 * 1000
DAY = 24 * HOUR
# The customer of the case study: twelve calls, twelve transfers, nine drops, six promises
# of a call back and not one kept.
CUSTOMER = "15551230001"


def ivrctl(*args, tz="UTC"):
    p = subprocess.run([os.environ["IVRCTL"], *args], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, TZ=tz))
    return p.returncode, p.stdout, p.stderr


def ok(*args):
    rc, out, err = ivrctl(*args)
    assert rc == 0, f"ivrctl {args}: exit {rc}: {err}"
    assert err == "", err
    return out


PROMISE_COLS = ("id", "number", "ani", "dept", "lang", "call_id", "state", "created_ms",
                "updated_ms", "due_ms", "expires_ms", "next_ms", "attempts", "max_attempts",
                "last_result", "reason", "kept_call_id", "closed_ms")
EVENT_COLS = ("ts_ms", "call_id", "event", "menu", "dept", "target", "result", "reason", "ani",
              "dnis", "detail", "duration_ms", "callback_id")


def promise(id, state, dept, number, created, due, nxt, attempts=0, last=None, reason=None,
            kept=None, closed=None):
    return dict(id=id, number=number, ani=number, dept=dept, lang="en", call_id=f"p-{id}",
                state=state, created_ms=created, updated_ms=closed or created, due_ms=due,
                expires_ms=due + DAY, next_ms=nxt, attempts=attempts, max_attempts=3,
                last_result=last, reason=reason, kept_call_id=kept, closed_ms=closed)


def event(ts, call_id, name, **cols):
    row = dict.fromkeys(EVENT_COLS)
    row.update(ts_ms=ts, call_id=call_id, event=name, **cols)
    return row


def history(now):
    """(promises, events): the scripted past, relative to now."""
    promises, events = [], []
    # the customer: 12 calls over 12 days, each transferred, 9 of them hung up on hold
    for i in range(12):
        t = now - (12 - i) * DAY
        cid = f"cust-{i}"
        events += [event(t, cid, "call.start", ani=CUSTOMER, dnis="18005550100"),
                   event(t + 1000, cid, "transfer.start", dept="billing",
                         target="sip:billing@127.0.0.1"),
                   event(t + 2000, cid, "transfer.result", dept="billing",
                         result="failed" if i < 9 else "ok", reason="486 Busy Here")]
        if i < 9:
            events.append(event(t + 3000, cid, "drop", menu="main", duration_ms=3000))
    # six promises to the customer, each attempted three times and broken
    for n in range(1, 7):
        created = now - (13 - 2 * n) * DAY
        due = created + HOUR
        closed = due + 6 * HOUR
        promises.append(promise(n, "broken", "billing", CUSTOMER, created, due, closed,
                                attempts=3, last="no answer", reason="attempts used up",
                                closed=closed))
        events.append(event(created, f"cust-{n}", "callback.promised", dept="billing",
                            ani=CUSTOMER, dnis=CUSTOMER, detail="due soon; attempts 3",
                            callback_id=n))
        for a, res in enumerate(("busy", "no answer", "no answer"), 1):
            dial = f"dial-{n}-{a}"
            t = due + a * HOUR
            events += [event(t, dial, "callback.attempt", dept="billing", dnis=CUSTOMER,
                             detail=f"attempt {a} of 3", reason="caller first",
                             callback_id=n),
                       event(t + 20000, dial, "callback.result", dept="billing",
                             dnis=CUSTOMER, result=res,
                             detail="sip 486" if res == "busy" else "sip 408",
                             callback_id=n)]
        events.append(event(closed, None, "callback.broken", dept="billing",
                            reason="attempts used up", callback_id=n))
    # others: open and overdue, open in time, kept, cancelled, due now, being dialed
    promises += [
        promise(7, "open", "billing", "15551230007", now - 5 * HOUR, now - 2 * HOUR,
                now + HOUR, attempts=1, last="busy"),
        promise(8, "open", "sales", "15551230008", now - HOUR, now + 2 * HOUR, now + 2 * HOUR),
        promise(10, "kept", "sales", "15551230010", now - 2 * DAY, now - 2 * DAY + HOUR,
                now - 2 * DAY + HOUR, attempts=1, last="answered", kept="k-10",
                reason="connected", closed=now - 2 * DAY + HOUR),
        promise(11, "cancelled", "billing", "15551230011", now - DAY, now - DAY + HOUR,
                now - DAY + HOUR, reason="customer asked", closed=now - DAY + 60000),
        promise(12, "open", "billing", "15551230012", now - 10 * 60000, now + HOUR,
                now - 60000),
        promise(13, "dialing", "sales", "15551230013", now - 20 * 60000, now + HOUR,
                now - 30000, attempts=1),
    ]
    return promises, events


def seed(name, drop_due=False):
    """An ivrd whose journal holds the history; the daemon is stopped. drop_due: leave out
    the promises the daemon would dial at once (12 due, 13 dialing)."""
    d = Ivrd(name)
    d.start()
    d.stop()
    now = int(time.time() * 1000)
    promises, events = history(now)
    if drop_due:
        promises = [p for p in promises if p["id"] not in (12, 13)]
    db = sqlite3.connect(d.journal)
    with db:
        db.executemany("INSERT INTO callbacks (%s) VALUES (%s)" % (
            ", ".join(PROMISE_COLS), ", ".join("?" * len(PROMISE_COLS))),
            [tuple(p[c] for c in PROMISE_COLS) for p in promises])
        db.executemany("INSERT INTO events (%s) VALUES (%s)" % (
            ", ".join(EVENT_COLS), ", ".join("?" * len(EVENT_COLS))),
            [tuple(e[c] for c in EVENT_COLS) for e in events])
    db.close()
    assert not os.path.exists(d.journal + "-wal")
    return d, {p["id"]: p for p in promises}


def table_ids(out):
    return [int(line.split()[0]) for line in out.splitlines()[1:]]


def test_views_and_order():
    d, _ = seed("cbviews")
    j = ["-j", d.journal]
    # escalated first: open past due (7), then broken, most overdue first (1..6); then open
    # by due time (12, 13, 8); then kept and cancelled, newest first (11, 10)
    out = ok(*j, "callbacks")
    head = out.splitlines()[0]
    for title in ("ID", "STATE", "DEPT", "NUMBER", "PROMISED", "DUE", "ATTEMPTS",
                  "LAST RESULT", "REASON", "KEPT BY"):
        assert title in head, (title, head)
    assert table_ids(out) == [7, 1, 2, 3, 4, 5, 6, 12, 13, 8, 11, 10], out
    first = out.splitlines()[1]
    assert "open (overdue)" in first and "*******0007" in first and "1/3" in first, first
    assert "15551230007" not in out  # the table masks numbers
    assert "15551230007" in ok(*j, "callbacks", "--full-numbers")
    views = {"--open": [7, 12, 13, 8], "--due": [12, 13], "--overdue": [7, 1, 2, 3, 4, 5, 6],
             "--kept": [10], "--broken": [1, 2, 3, 4, 5, 6], "--cancelled": [11]}
    for flag, want in views.items():
        assert table_ids(ok(*j, "callbacks", flag)) == want, flag
    assert table_ids(ok(*j, "callbacks", "--dept", "sales")) == [13, 8, 10]
    assert table_ids(ok(*j, "callbacks", "--overdue", "--dept", "billing")) == \
        [7, 1, 2, 3, 4, 5, 6]
    assert table_ids(ok(*j, "callbacks", "--number", "+1 555 123 0008")) == [8]
    assert table_ids(ok(*j, "callbacks", "--since", "-6h")) == [7, 12, 13, 8]
    assert table_ids(ok(*j, "callbacks", "--until", "-3d")) == [1, 2, 3, 4, 5]
    assert table_ids(ok(*j, "callbacks", "--limit", "2")) == [7, 1]
    assert ok(*j, "callbacks", "--dept", "nowhere") == "no callback promises match\n"
    # usage errors
    for bad in (["--open", "--kept"], ["--since", "tomorrow"], ["--json", "--csv"]):
        rc, out, err = ivrctl(*j, "callbacks", *bad)
        assert rc == 2 and out == "" and "usage:" in err, (bad, rc, err)


def test_json_and_csv_carry_the_rows():
    d, promises = seed("cbjson")
    j = ["-j", d.journal]
    rows = json.loads(ok(*j, "callbacks", "--json", "--limit", "0"))
    assert [r["id"] for r in rows] == [7, 1, 2, 3, 4, 5, 6, 12, 13, 8, 11, 10]
    for r in rows:
        p = promises[r["id"]]
        for k in ("number", "ani", "dept", "lang", "call_id", "state", "created_ms", "due_ms",
                  "expires_ms", "next_ms", "attempts", "max_attempts", "last_result", "reason",
                  "kept_call_id", "closed_ms"):
            assert r[k] == p[k], (r["id"], k, r[k], p[k])
        assert r["overdue"] is (r["id"] == 7), r
        assert "status" not in r and "due" not in r  # table-only columns stay out
    assert json.loads(ok(*j, "callbacks", "--kept", "--json"))[0]["kept_call_id"] == "k-10"
    assert ok(*j, "callbacks", "--dept", "nowhere", "--json") == "[]\n"

    out = ok(*j, "callbacks", "--csv", "--overdue")
    table = list(csv.reader(io.StringIO(out, newline="")))
    assert table[0][:4] == ["id", "state", "overdue", "dept"], table[0]
    assert "number" in table[0] and "due_ms" in table[0]
    recs = [dict(zip(table[0], r)) for r in table[1:]]
    assert [int(r["id"]) for r in recs] == [7, 1, 2, 3, 4, 5, 6]
    assert recs[0]["number"] == "15551230007" and recs[0]["overdue"] == "true"
    assert recs[1]["reason"] == "attempts used up" and recs[1]["closed_ms"] != ""
    assert recs[0]["closed_ms"] == ""  # NULL is an empty field


def test_caller_journey():
    d, _ = seed("cbcaller")
    j = ["-j", d.journal]
    out = ok(*j, "caller", CUSTOMER)
    lines = out.splitlines()
    assert lines[0] == (f"caller {CUSTOMER}: 12 calls, 12 transfers, 9 drops; "
                        "6 promises: 0 kept, 6 broken"), lines[0]
    assert out.count("transfer failed (billing)") == 9, out
    # every attempt of every promise, in words
    assert out.count("call back #3: busy (sip 486)") == 1, out
    assert len(re.findall(r"call back #\d: no answer \(sip 408\)", out)) == 12
    assert len(re.findall(r"call back #\d broken — attempts used up", out)) == 6
    # the same customer written as people write numbers
    assert ok(*j, "caller", "+1 (555) 123-0001").splitlines()[0] == lines[0]

    doc = json.loads(ok(*j, "caller", CUSTOMER, "--json"))
    assert doc["number"] == CUSTOMER
    assert doc["totals"] == {"calls": 12, "transfers": 12, "transfers_failed": 9, "drops": 9,
                             "promises": 6, "kept": 0, "broken": 6, "open": 0,
                             "cancelled": 0}, doc["totals"]
    assert len(doc["calls"]) == 12 and doc["calls"][0]["call_id"] == "cust-11"
    assert [p["id"] for p in doc["promises"]] == [1, 2, 3, 4, 5, 6]
    for p in doc["promises"]:
        kinds = [e["event"] for e in p["events"]]
        assert kinds == ["callback.promised"] + ["callback.attempt", "callback.result"] * 3 + \
            ["callback.broken"], kinds
        assert [e["result"] for e in p["events"] if e["event"] == "callback.result"] == \
            ["busy", "no answer", "no answer"]

    table = list(csv.reader(io.StringIO(ok(*j, "caller", CUSTOMER, "--csv"), newline="")))
    assert table[0][0] == "record"
    kinds = [r[0] for r in table[1:]]
    assert kinds.count("call") == 12 and kinds.count("promise") == 6
    assert kinds.count("event") == 6 * 8

    # someone with a single kept promise and no calls
    out = ok(*j, "caller", "15551230010")
    assert out.startswith("caller 15551230010: 0 calls, 0 transfers, 0 drops; "
                          "1 promise: 1 kept, 0 broken\n"), out
    assert "no calls recorded" in out
    rc, out, err = ivrctl(*j, "caller")
    assert rc == 2 and "which number?" in err


def test_mask_and_view():
    """--mask hides numbers in every format (whole ones too with --full-numbers); --view is
    the long spelling of --open ... --cancelled."""
    d, _ = seed("cbmask")
    j = ["-j", d.journal]
    outs = [ok(*j, "callbacks", "--mask", "--full-numbers"),
            ok(*j, "callbacks", "--mask", "--json"), ok(*j, "callbacks", "--mask", "--csv"),
            ok(*j, "caller", CUSTOMER, "--mask"), ok(*j, "caller", CUSTOMER, "--mask", "--json"),
            ok(*j, "caller", CUSTOMER, "--mask", "--csv")]
    for out in outs:
        assert not re.search(r"1555123\d{4}|18005550100", out), out
        assert "*******0001" in out or "*******0007" in out, out
    rows = json.loads(outs[1])
    assert rows[0]["number"] == "*******0007" and rows[0]["ani"] == "*******0007", rows[0]
    doc = json.loads(outs[4])
    assert doc["number"] == "*******0001" and doc["totals"]["calls"] == 12
    assert doc["calls"][0]["ani"] == "*******0001"
    texts = [e["text"] for p in doc["promises"] for e in p["events"]]
    assert any("dialing *******0001" in t for t in texts), texts
    # the views by name
    for view, want in (("open", [7, 12, 13, 8]), ("kept", [10]), ("all", None)):
        rows = json.loads(ok(*j, "callbacks", "--view", view, "--json", "--limit", "0"))
        assert want is None and len(rows) == 12 or [r["id"] for r in rows] == want, view
    assert table_ids(ok(*j, "callbacks", "--kept", "--view", "kept")) == [10]
    for bad in (["--view", "late"], ["--kept", "--view", "open"], ["--list"], ["--call-id", "x"]):
        rc, out, err = ivrctl(*j, "callbacks", *bad)
        assert rc == 2 and out == "" and "usage: ivrctl" in err, (bad, rc, err)
    # a caller over a range: the promises made in it
    doc = json.loads(ok(*j, "caller", CUSTOMER, "--json", "--since", "-84h"))
    assert [p["id"] for p in doc["promises"]] == [5, 6], [p["id"] for p in doc["promises"]]
    assert [c["call_id"] for c in doc["calls"]] == ["cust-11", "cust-10", "cust-9"]
    assert doc["totals"] == {"calls": 3, "transfers": 3, "transfers_failed": 0, "drops": 0,
                             "promises": 2, "kept": 0, "broken": 2, "open": 0,
                             "cancelled": 0}, doc["totals"]


def test_schema_1_journal_has_no_promises():
    d = Ivrd("cbv1")
    os.makedirs(d.state)
    db = sqlite3.connect(d.journal)
    db.executescript("""
CREATE TABLE events (id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, call_id TEXT,
 event TEXT NOT NULL, menu TEXT, key TEXT, dept TEXT, target TEXT, result TEXT, reason TEXT,
 ani TEXT, dnis TEXT, prompt TEXT, detail TEXT, generation INTEGER, duration_ms INTEGER);
INSERT INTO events (ts_ms, call_id, event, ani, dnis) VALUES (1714557600000, 'v1', 'call.start',
 '15551230001', '18005550100');
PRAGMA user_version = 1;""")
    db.close()
    for flag in ([], ["--overdue"]):
        assert ok("-c", d.conf, "callbacks", *flag) == "no callback promises recorded\n"
    assert ok("-j", d.journal, "callbacks", "--json") == "[]\n"
    out = ok("-j", d.journal, "caller", CUSTOMER)
    assert out.splitlines()[0] == (f"caller {CUSTOMER}: 1 call, 0 transfers, 0 drops; "
                                   "no callback promises recorded"), out
    doc = json.loads(ok("-j", d.journal, "caller", CUSTOMER, "--json"))
    assert doc["promises_recorded"] is False and doc["promises"] == []


def metric(d, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/metrics", timeout=10) as r:
        body = r.read().decode()
    m = re.search(rf"^{name} (\d+)$", body, re.M)
    assert m, f"no {name} in /metrics"
    return int(m.group(1))


def test_cancel_through_the_daemon():
    d, _ = seed("cbcancel", drop_due=True)
    c = ["-c", d.conf]
    # the daemon is down: say so, and leave the journal alone
    rc, out, err = ivrctl(*c, "callback", "cancel", "8", "--reason", "duplicate")
    assert rc == 1 and "ivrd is not running" in err, (rc, err)
    assert d.rows("SELECT state FROM callbacks WHERE id = 8")[0]["state"] == "open"

    with d.start():
        st = json.loads(ok(*c, "status", "--json"))["callbacks"]
        assert (st["open"], st["dialing"], st["overdue"]) == (2, 0, 1), st
        out = ok(*c, "status")
        assert "callbacks: 2 open (0 dialing), 1 overdue; since start 0 promised, 0 kept, " \
            "0 broken, 0 cancelled" in out, out

        # reasons are required, and cancelling needs an open promise
        rc, out, err = ivrctl(*c, "callback", "cancel", "8")
        assert rc == 2 and "--reason is required" in err, err
        rc, out, err = ivrctl(*c, "callback", "cancel", "999", "--reason", "typo")
        assert rc == 1 and "no callback #999" in err, err
        rc, out, err = ivrctl(*c, "callback", "cancel", "10", "--reason", "typo")
        assert rc == 1 and "callback #10 was already kept by call k-10" in err, err
        rc, out, err = ivrctl(*c, "callback", "cancel", "3", "--reason", "typo")
        assert rc == 1 and "already broken: attempts used up" in err, err

        out = ok(*c, "callback", "cancel", "8", "--reason", "duplicate 100% sure")
        assert out == "callback #8 (sales) cancelled: duplicate 100% sure\n", out
        ev = d.wait_event("callback.cancelled", callback_id=8)
        assert ev["reason"] == "duplicate 100% sure", ev
        assert ev["detail"] == f"ivrctl (uid {os.getuid()})", ev
        end = time.monotonic() + 10
        while d.rows("SELECT state FROM callbacks WHERE id = 8")[0]["state"] != "cancelled":
            assert time.monotonic() < end, "the row never became cancelled"
            time.sleep(0.05)
        rc, out, err = ivrctl(*c, "callback", "cancel", "8", "--reason", "again")
        assert rc == 1 and "callback #8 was already cancelled: duplicate 100% sure" in err, err
        rc, out, err = ivrctl(*c, "callback", "cancel", "8", "--reason", "again", "--json")
        assert rc == 1 and json.loads(out)["state"] == "cancelled", out

        st = json.loads(ok(*c, "status", "--json"))
        assert (st["callbacks"]["open"], st["callbacks"]["cancelled"]) == (1, 1), st
        assert st["counters"]["callback.cancelled"] == 1
        assert metric(d, "ivrd_callback_cancelled_total") == 1
        assert metric(d, "ivrd_callback_open") == 1
        assert metric(d, "ivrd_callback_overdue") == 1
    # with the daemon down again, the ledger shows it
    rows = json.loads(ok("-j", d.journal, "callbacks", "--cancelled", "--json"))
    assert [r["id"] for r in rows] == [8, 11], rows


if __name__ == "__main__":
    run([test_views_and_order, test_json_and_csv_carry_the_rows, test_caller_journey,
         test_mask_and_view, test_schema_1_journal_has_no_promises, test_cancel_through_the_daemon])
