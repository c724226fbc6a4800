#!/usr/bin/env python3
"""Journal retention (ivrd.retention_days): the daemon removes events older than the age, in
batches on its writer thread, with promises closed before then; open promises, their events
and their calls stay whatever their age, and calls go whole. A pass is reported in the log
and in the journal (journal.retention) and counted (journal.retention.removed).

The past is written into the journal with sqlite3 while the daemon is down, as the daemon
would have left it; the real ivrd then starts on it."""
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ivrtest import Ivrd, run, sipp  # noqa: E402
from scenario import hangup, invite, keys, pause, write  # noqa: E402

HOUR = 3600 * 1000
DAY = 24 * HOUR
# More old calls than one batch of the writer (5,000 rows) holds: the pass takes several
# transactions, with the call placed meanwhile committing between them.
BULK_CALLS = 2000
BULK_EVENTS = ("call.start", "menu.enter", "key", "route", "transfer.start", "call.end")

EVENT_COLS = ("ts_ms", "call_id", "event", "menu", "key", "dept", "result", "reason", "ani",
              "dnis", "detail", "duration_ms", "callback_id")
PROMISE_COLS = ("id", "number", "ani", "dept", "lang", "call_id", "state", "created_ms",
                "updated_ms", "due_ms", "expires_ms", "next_ms", "attempts", "max_attempts",
                "last_result", "reason", "kept_call_id", "closed_ms")


def event(ts, call_id, name, **cols):
    row = dict.fromkeys(EVENT_COLS)
    row.update(ts_ms=ts, call_id=call_id, event=name, **cols)
    return row


def promise(id, state, created, due, closed=None, call_id=None, kept=None):
    return dict(id=id, number="15551230001", ani="15551230001", dept="billing", lang="en",
                call_id=call_id, state=state, created_ms=created, updated_ms=closed or created,
                due_ms=due, expires_ms=due + DAY, next_ms=due, attempts=0 if closed is None
                else 1, max_attempts=3, last_result=None, reason=None, kept_call_id=kept,
                closed_ms=closed)


def history(now):
    """(promises, events that go, events that stay) for a 30-day retention."""
    go, stay = [], []
    old = now - 40 * DAY
    for i in range(BULK_CALLS):
        cid = f"bulk-{i}"
        go += [event(old + i * 1000 + k, cid, name, ani="15557770000", dnis="18005550100",
                     menu="main", dept="billing")
               for k, name in enumerate(BULK_EVENTS)]
    go.append(event(now - 45 * DAY, None, "config.reload", result="ok"))
    # a call around the cutoff stays whole, its old start too
    stay += [event(now - 30 * DAY - HOUR, "long-1", "call.start", ani="15557770001"),
             event(now - 30 * DAY + HOUR, "long-1", "call.end", result="transferred")]
    # an open promise made 40 days ago: its call, its dial-back and its events stay
    t = now - 40 * DAY
    stay += [event(t, "p-open", "call.start", ani="15551230001"),
             event(t + 1000, "p-open", "menu.enter", menu="main"),
             event(t + 2000, "p-open", "callback.offer", menu="callback", dept="billing",
                   result="accepted"),
             event(t + 3000, "p-open", "callback.promised", dept="billing",
                   dnis="15551230001", callback_id=1),
             event(t + 4000, "p-open", "call.end", result="hangup"),
             event(t + DAY, "dial-1-1", "dial.start", dnis="15551230001"),
             event(t + DAY + 10, "dial-1-1", "callback.attempt", dept="billing",
                   detail="attempt 1 of 3", callback_id=1),
             event(t + DAY + 20000, "dial-1-1", "callback.result", result="no answer",
                   callback_id=1),
             event(t + DAY + 20010, "dial-1-1", "dial.result", result="no answer")]
    # a promise broken 45 days ago goes, row and events, its calls with it
    t = now - 50 * DAY
    go += [event(t, "p-broken", "call.start", ani="15551230001"),
           event(t + 1000, "p-broken", "callback.promised", dept="billing", callback_id=2),
           event(t + 2000, "p-broken", "call.end", result="hangup"),
           event(t + DAY, "dial-2-1", "callback.attempt", dept="billing", callback_id=2),
           event(t + DAY + 1000, "dial-2-1", "callback.result", result="busy", callback_id=2),
           event(now - 45 * DAY, None, "callback.broken", reason="window passed",
                 callback_id=2)]
    # a promise made 35 days ago and kept 10 days ago: its row stays, so does its history
    t = now - 35 * DAY
    stay += [event(t, "p-kept", "call.start", ani="15551230001"),
             event(t + 1000, "p-kept", "callback.promised", dept="billing", callback_id=3),
             event(t + 2000, "p-kept", "call.end", result="hangup"),
             event(now - 10 * DAY, "k-3", "call.start", ani="15551230001"),
             event(now - 10 * DAY + 1000, "k-3", "callback.kept", dept="billing",
                   callback_id=3),
             event(now - 10 * DAY + 2000, "k-3", "call.end", result="transferred")]
    # yesterday's calls (only the call a test places ends "dropped")
    for n in range(2):
        t = now - DAY + n * HOUR
        stay += [event(t, f"new-{n}", "call.start", ani="15557770002"),
                 event(t + 1000, f"new-{n}", "menu.enter", menu="main"),
                 event(t + 2000, f"new-{n}", "call.end", result="transferred")]
    promises = [
        # still open: due later today, so the daemon does not dial it during the test
        promise(1, "open", now - 40 * DAY, now + 2 * HOUR, call_id="p-open"),
        promise(2, "broken", now - 50 * DAY, now - 50 * DAY + HOUR, closed=now - 45 * DAY,
                call_id="p-broken"),
        promise(3, "kept", now - 35 * DAY, now - 35 * DAY + HOUR, closed=now - 10 * DAY,
                call_id="p-kept", kept="k-3"),
    ]
    return promises, go, stay


def seeded(name, days):
    """An ivrd (stopped) whose journal holds the history; returns (ivrd, now, go, stay)."""
    d = Ivrd(name, extra_ivrd=f"retention_days = {days};")
    d.start()
    d.stop()
    assert "retention removed" not in "\n".join(d.lines)  # an empty journal: nothing said
    now = int(time.time() * 1000)
    promises, go, stay = history(now)
    db = sqlite3.connect(d.journal)
    with db:
        db.executemany("INSERT INTO callbacks (%s) VALUES (%s)" % (
            ", ".join(PROMISE_COLS), ", ".join("?" * len(PROMISE_COLS))),
            [tuple(p[c] for c in PROMISE_COLS) for p in promises])
        db.executemany("INSERT INTO events (%s) VALUES (%s)" % (
            ", ".join(EVENT_COLS), ", ".join("?" * len(EVENT_COLS))),
            [tuple(e[c] for c in EVENT_COLS) for e in go + stay])
    db.close()
    return d, now, go, stay


def past(d, now):
    """The seeded rows still in the journal, as (ts_ms, call_id, event)."""
    return sorted((r["ts_ms"], r["call_id"], r["event"]) for r in
                  d.rows("SELECT ts_ms, call_id, event FROM events WHERE ts_ms < ?", (now,)))


def keys_of(rows):
    return sorted((e["ts_ms"], e["call_id"], e["event"]) for e in rows)


def metric(d, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    m = re.search(rf"^{name} (\d+)$", text, re.M)
    assert m, text
    return int(m.group(1))


REPORT = (r"removed (\d+) events of (\d+) calls and (\d+) closed promises? older than "
          r"(\d{4}-\d\d-\d\d \d\d:\d\d) \((\d+) days\)")


def check_report(d, line, days, go):
    m = re.search(r"journal: retention " + REPORT + r" in (\d+) ms$", line)
    assert m, line
    assert int(m.group(1)) == len(go), (line, len(go))
    assert int(m.group(2)) == len({e["call_id"] for e in go if e["call_id"]}), line
    assert int(m.group(3)) == 1, line
    assert int(m.group(5)) == days, line
    # the cutoff in local time: the daemon's now minus the age, to the minute
    cutoff = time.mktime(time.strptime(m.group(4), "%Y-%m-%d %H:%M"))
    assert abs(cutoff - (time.time() - days * 86400)) < 300, line
    ev = d.wait_event("journal.retention")
    assert ev["call_id"] is None, ev
    assert ev["detail"] == line.split("journal: retention ", 1)[1].rsplit(" in ", 1)[0], ev
    assert ev["duration_ms"] == int(m.group(6)), (ev, line)


def test_old_events_go_open_promises_stay():
    d, now, go, stay = seeded("retention", 30)
    # a caller rings as the daemon starts: the call's events commit between the batches
    result = {}

    def call():
        sc = write(d, "drop.xml", invite(), keys("1"), pause(300), hangup())
        result["rc"], result["out"], _ = sipp(d, sc)

    with d:
        d.start()
        caller = threading.Thread(target=call)
        caller.start()
        line = d.wait_log(r"journal: retention removed", 60)
        caller.join(60)
        assert result.get("rc") == 0, result.get("out")
        check_report(d, line, 30, go)
        # exactly the rows that had to stay, the promises that had to stay
        assert past(d, now) == keys_of(stay)
        assert [r["id"] for r in d.rows("SELECT id FROM callbacks ORDER BY id")] == [1, 3]
        # the call made meanwhile is journaled whole
        end = d.wait_event("call.end", result="dropped")
        names = [e["event"] for e in d.events(end["call_id"])]
        assert names[0] == "call.start" and names[-1] == "call.end", names
        assert "drop" in names and "key" in names, names
        assert metric(d, "ivrd_journal_retention_removed_total") == len(go)
        # ivrctl sees the open promise and its history
        if os.environ.get("IVRCTL"):
            p = subprocess.run([os.environ["IVRCTL"], "-j", d.journal, "callbacks", "--open"],
                               capture_output=True, text=True, timeout=60)
            assert p.returncode == 0 and p.stdout.splitlines()[1].split()[0] == "1", p
    assert len(re.findall("retention removed", "\n".join(d.lines))) == 1


def test_zero_keeps_everything_until_a_reload_sets_an_age():
    d, now, go, stay = seeded("retention0", 0)
    with d:
        d.start()
        # a whole call through the writer: had a pass been due, it would have run first
        sc = write(d, "drop.xml", invite(), keys("1"), pause(300), hangup())
        rc, out, _ = sipp(d, sc)
        assert rc == 0, out
        d.wait_event("call.end", result="dropped")
        assert past(d, now) == keys_of(go + stay)
        assert len(d.rows("SELECT id FROM callbacks")) == 3
        assert metric(d, "ivrd_journal_retention_removed_total") == 0
        text = "\n".join(d.lines)
        assert "retention removed" not in text, text
        assert d.rows("SELECT id FROM events WHERE event = 'journal.retention'") == []
        # reload applies a new age at once
        with open(d.conf) as f:
            conf = f.read()
        with open(d.conf, "w") as f:
            f.write(conf.replace("retention_days = 0;", "retention_days = 30;"))
        mark = len(d.lines)
        d.proc.send_signal(signal.SIGHUP)
        d.wait_log(r"journal: retention 0 -> 30 days", 15, start=mark)
        line = d.wait_log(r"journal: retention removed", 60, start=mark)
        check_report(d, line, 30, go)
        assert past(d, now) == keys_of(stay)


def test_bad_value_is_a_config_error():
    for value, why in (("-1", "out of range (0 to 36500)"),
                       ("36501", "out of range (0 to 36500)"),
                       ('"30"', "")):
        d = Ivrd("retention-bad", extra_ivrd=f"retention_days = {value};")
        p = subprocess.run([os.environ["IVRD"], "-t", "-c", d.conf], capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 1, (value, p.stdout, p.stderr)
        assert re.search(rf"{re.escape(d.conf)}:\d+: ivrd\.retention_days: .*{re.escape(why)}",
                         p.stderr), (value, p.stderr)
        assert "configuration refused" in p.stderr, p.stderr


if __name__ == "__main__":
    run([test_old_events_go_open_promises_stay,
         test_zero_keeps_everything_until_a_reload_sets_an_age,
         test_bad_value_is_a_config_error])
