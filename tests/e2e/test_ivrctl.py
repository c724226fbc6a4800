#!/usr/bin/env python3
"""The real ivrctl against journals written here with the daemon's schema: tables, JSON and
CSV, finding the journal through the configuration, and every way a command can fail.

usage: test_ivrctl.py [PATH/TO/ivrctl] [--list | TEST...]
The binary is the first argument, or $IVRCTL. --list prints the test names (Class.test), one a
line, for the e2e harness to run each as its own meson test.
"""
import csv
import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

IVRCTL = None

# Keep in step with src/journal/schema.h: ivrctl reads every column, so a column missing here
# fails these tests.
SCHEMA = """
CREATE TABLE events (
 id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, call_id TEXT, event TEXT NOT NULL,
 menu TEXT, key TEXT, dept TEXT, target TEXT, result TEXT, reason TEXT,
 ani TEXT, dnis TEXT, prompt TEXT, detail TEXT, generation INTEGER, duration_ms INTEGER);
CREATE INDEX events_call_id ON events (call_id);
CREATE INDEX events_ts ON events (ts_ms);
CREATE INDEX events_event_ts ON events (event, ts_ms);
CREATE INDEX events_ani ON events (ani);
CREATE INDEX events_dept ON events (dept);
PRAGMA user_version = 1;
"""
COLUMNS = ("ts_ms", "call_id", "event", "menu", "key", "dept", "target", "result", "reason",
           "ani", "dnis", "prompt", "detail", "generation", "duration_ms")
CALL_KEYS = ["call_id", "start_ms", "ani", "dnis", "duration_ms", "outcome", "dept",
             "menu_path", "end_reason"]

# 2024-05-01 10:00:00 UTC; the tests run ivrctl with TZ=UTC unless they say otherwise.
T0 = 1714557600000
# SIP Call-IDs are long; ivrctl must never cut them.
LONG_ID = "a84b4c76e66710-3f2a9d1c7b5e4a08b6c1d2e3f4a5b6c7@pbx-17.callcenter.example.com"


def ev(ts, call_id, event, **cols):
    row = dict.fromkeys(COLUMNS)
    row.update(ts_ms=ts, call_id=call_id, event=event, **cols)
    return row


# A caller who is sent to billing, finds it busy, and is transferred to sales.
CALL_A = [
    ev(T0, LONG_ID, "call.start", ani="5551234", dnis="18005550100", generation=1, detail="en"),
    ev(T0 + 2, LONG_ID, "menu.enter", menu="main", prompt="main/greeting"),
    ev(T0 + 3120, LONG_ID, "key", menu="main", key="2"),
    ev(T0 + 3121, LONG_ID, "route", menu="main", dept="billing", reason="menu main key 2",
       detail="main"),
    ev(T0 + 3122, LONG_ID, "transfer.start", dept="billing",
       target="sip:billing@127.0.0.1:5090"),
    ev(T0 + 4500, LONG_ID, "transfer.result", dept="billing",
       target="sip:billing@127.0.0.1:5090", result="failed", reason="486 Busy Here"),
    ev(T0 + 4600, LONG_ID, "menu.enter", menu="sales", prompt="sales/greeting"),
    ev(T0 + 7000, LONG_ID, "route", menu="sales", dept="sales", reason="menu sales key 1",
       detail="main > sales"),
    ev(T0 + 7001, LONG_ID, "transfer.start", dept="sales", target="sip:sales@127.0.0.1:5091"),
    ev(T0 + 8000, LONG_ID, "transfer.result", dept="sales", target="sip:sales@127.0.0.1:5091",
       result="ok"),
    ev(T0 + 8001, LONG_ID, "call.end", result="transferred", duration_ms=8001),
]
# A caller who gives up in the sales menu, an hour later.
CALL_B = [
    ev(T0 + 3600000, "b-2", "call.start", ani="5559876", dnis="18005550100", generation=1,
       detail="vi"),
    ev(T0 + 3600002, "b-2", "menu.enter", menu="main", prompt="main/greeting"),
    ev(T0 + 3603000, "b-2", "key", menu="main", key="1"),
    ev(T0 + 3603001, "b-2", "menu.enter", menu="sales", prompt="sales/greeting"),
    ev(T0 + 3609300, "b-2", "drop", menu="sales", duration_ms=9300, prompt="sales/greeting"),
    ev(T0 + 3609300, "b-2", "call.end", result="dropped", reason="caller hung up",
       duration_ms=9300),
]
# A call on the next day whose text needs escaping everywhere it goes.
NASTY_ANI = 'say "hi", \\ now\n\x01\x1b[31m'
CALL_C = [
    ev(T0 + 86400000, "c-3", "call.start", ani=NASTY_ANI, dnis="18005550199"),
    ev(T0 + 86400001, "c-3", "call.end", result="error", reason='said "bye", then left',
       duration_ms=1),
]


def write_journal(path, rows, wal=True):
    db = sqlite3.connect(path)
    if wal:
        db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    insert_rows(db, rows)
    db.close()


def insert_rows(db, rows):
    db.executemany("INSERT INTO events (%s) VALUES (%s)" % (
        ", ".join(COLUMNS), ", ".join("?" * len(COLUMNS))),
        [tuple(r[c] for c in COLUMNS) for r in rows])
    db.commit()


def run(*args, env=None, cwd=None):
    e = dict(os.environ, TZ="UTC")
    e.update(env or {})
    return subprocess.run([IVRCTL, *args], capture_output=True, text=True, env=e, cwd=cwd,
                          timeout=30, errors="surrogateescape")


class Journal(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="ivrctl-")
        self.dir = self.tmp.name
        self.db = os.path.join(self.dir, "journal.db")
        write_journal(self.db, CALL_A + CALL_B + CALL_C)

    def tearDown(self):
        self.tmp.cleanup()

    def ok(self, *args, **kw):
        p = run("-j", self.db, *args, **kw)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        return p.stdout

    def fails(self, code, *args, **kw):
        p = run(*args, **kw)
        self.assertEqual(p.returncode, code, p.stdout + p.stderr)
        self.assertEqual(p.stdout, "")
        return p.stderr


class Calls(Journal):
    def test_table_newest_first_aligned_ids_whole(self):
        lines = self.ok("calls").splitlines()
        head = lines[0]
        for title in ("START", "CALL ID", "CALLER", "DIALED", "DURATION", "OUTCOME", "PATH"):
            self.assertIn(title, head)
        self.assertEqual(len(lines), 4)
        c, b, a = lines[1:]
        self.assertTrue(c.startswith("2024-05-02 10:00:00  c-3"))
        self.assertTrue(b.startswith("2024-05-01 11:00:00  b-2"))
        self.assertTrue(a.startswith("2024-05-01 10:00:00  " + LONG_ID + "  5551234"))
        # every column starts where its heading does
        for title, text in (("CALL ID", LONG_ID), ("CALLER", "5551234"),
                            ("OUTCOME", "transfer failed (billing), then transferred to sales"),
                            ("PATH", "main > sales")):
            self.assertEqual(a.index(text), head.index(title), title)
        self.assertEqual(b.index("hung up in menu sales"), head.index("OUTCOME"))
        # DURATION is right-aligned under its heading
        end = head.index("DURATION") + len("DURATION")
        self.assertEqual(a[end - 4:end], "0:08")
        self.assertEqual(b[end - 4:end], "0:09")
        self.assertNotIn("\x1b", c)  # a caller's text never drives the terminal
        self.assertNotIn("\x01", c)

    def test_json(self):
        calls = json.loads(self.ok("calls", "--json"))
        self.assertEqual([c["call_id"] for c in calls], ["c-3", "b-2", LONG_ID])
        for c in calls:
            self.assertEqual(list(c), CALL_KEYS)
        c, b, a = calls
        self.assertEqual(a, {
            "call_id": LONG_ID, "start_ms": T0, "ani": "5551234", "dnis": "18005550100",
            "duration_ms": 8001,
            "outcome": "transfer failed (billing), then transferred to sales",
            "dept": "sales", "menu_path": "main > sales", "end_reason": None})
        self.assertEqual(b["outcome"], "hung up in menu sales")
        self.assertEqual(b["end_reason"], "caller hung up")
        self.assertIsNone(b["dept"])
        self.assertEqual(c["ani"], NASTY_ANI)  # escaped, and decodes back exactly
        self.assertEqual(c["end_reason"], 'said "bye", then left')
        self.assertEqual(c["menu_path"], "")

    def test_csv(self):
        out = self.ok("calls", "--csv")
        rows = list(csv.reader(io.StringIO(out, newline="")))
        self.assertEqual(rows[0], CALL_KEYS)
        self.assertEqual([r[0] for r in rows[1:]], ["c-3", "b-2", LONG_ID])
        self.assertEqual(rows[1][2], NASTY_ANI)
        self.assertEqual(rows[1][8], 'said "bye", then left')
        self.assertEqual(rows[2][6], "")  # NULL is an empty field
        self.assertEqual(rows[3][4], "8001")

    def test_invalid_utf8_still_valid_json(self):
        db = sqlite3.connect(self.db)
        db.execute("INSERT INTO events (ts_ms, call_id, event, ani) VALUES "
                   "(?, 'd-4', 'call.start', CAST(x'35ff35c3' AS TEXT))", (T0 + 99999999,))
        db.commit()
        db.close()
        calls = json.loads(self.ok("calls", "--json", "--limit", "1"))
        self.assertEqual(calls[0]["ani"], "5\ufffd5\ufffd")

    def test_filters(self):
        def ids(*args):
            return [c["call_id"] for c in json.loads(self.ok("calls", "--json", *args))]
        self.assertEqual(ids("--number", "5559876"), ["b-2"])
        self.assertEqual(ids("--number", "18005550100"), ["b-2", LONG_ID])  # dialed, too
        self.assertEqual(ids("--number", "000"), [])
        self.assertEqual(ids("--limit", "2"), ["c-3", "b-2"])
        self.assertEqual(ids("--limit", "0"), ["c-3", "b-2", LONG_ID])
        # a date alone as --until covers that whole day
        self.assertEqual(ids("--since", "2024-05-01", "--until", "2024-05-01"), ["b-2", LONG_ID])
        self.assertEqual(ids("--since", "2024-05-01 10:30"), ["c-3", "b-2"])
        self.assertEqual(ids("--until", "2024-05-01 11:00:00"), [LONG_ID])  # until excludes
        self.assertEqual(ids("--since", "2024-05-01T11:00:00", "--until", "2024-05-01"),
                         ["b-2"])
        # local time: 17:00 in UTC+7 is 10:00 UTC
        p = run("-j", self.db, "calls", "--json", "--until", "2024-05-01 17:00:01",
                env={"TZ": "ICT-7"})
        self.assertEqual([c["call_id"] for c in json.loads(p.stdout)], [LONG_ID])
        p = run("-j", self.db, "calls", "--limit", "1", env={"TZ": "ICT-7"})
        self.assertTrue(p.stdout.splitlines()[1].startswith("2024-05-02 17:00:00  c-3"))

    def test_relative_times(self):
        now = int(time.time() * 1000)
        db = sqlite3.connect(self.db)
        insert_rows(db, [ev(now - 3600000, "recent", "call.start"),
                         ev(now - 3 * 86400000, "days-ago", "call.start")])
        db.close()

        def ids(*args):
            return [c["call_id"] for c in json.loads(self.ok("calls", "--json", *args))]
        self.assertEqual(ids("--since", "-2h"), ["recent"])
        self.assertEqual(ids("--since", "-90m"), ["recent"])
        self.assertEqual(ids("--since", "-7d", "--until", "-1d"), ["days-ago"])

    def test_empty_journal(self):
        os.unlink(self.db)
        write_journal(self.db, [])
        self.assertEqual(json.loads(self.ok("calls", "--json")), [])
        self.assertEqual(self.ok("calls").splitlines()[0].split()[0], "START")

    def test_bad_arguments_exit_2_with_usage(self):
        for args in (["calls", "--bogus"], ["calls", "--limit", "x"], ["calls", "--limit", "-1"],
                     ["calls", "--since", "tomorrow"], ["calls", "--since", "2024-02-30"],
                     ["calls", "--since", "2024-05-01 25:00"], ["calls", "--since", "-2y"],
                     ["calls", "--since"], ["calls", "--json", "--csv"], ["calls", "extra"],
                     ["calls", "--since", "2024-05-02", "--until", "2024-05-01"]):
            err = self.fails(2, "-j", self.db, *args)
            self.assertIn("usage: ivrctl [-c CONFIG] [-j JOURNAL] calls [--since TIME]", err,
                          args)
            self.assertTrue(err.startswith("ivrctl calls: "), err)

    def test_read_only(self):
        """Reading changes nothing, and leaves no -wal/-shm of its own beside the file."""
        before = hashlib.sha256(open(self.db, "rb").read()).hexdigest()
        os.chmod(self.db, 0o444)
        self.ok("calls")
        self.ok("trace", "b-2")
        self.assertEqual(hashlib.sha256(open(self.db, "rb").read()).hexdigest(), before)
        self.assertEqual(sorted(os.listdir(self.dir)), ["journal.db"])

    def test_reads_while_the_daemon_writes(self):
        """A writer with an open transaction (the daemon mid-commit) does not block ivrctl,
        which sees the committed rows only."""
        db = sqlite3.connect(self.db, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        insert_rows(db, [ev(T0 + 5, "live", "call.start")])
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO events (ts_ms, call_id, event) VALUES (?, 'pending', "
                   "'call.start')", (T0 + 6,))
        try:
            ids = [c["call_id"] for c in json.loads(self.ok("calls", "--json"))]
        finally:
            db.execute("ROLLBACK")
            db.close()
        self.assertIn("live", ids)
        self.assertNotIn("pending", ids)


class Trace(Journal):
    def test_timeline_in_words(self):
        out = self.ok("trace", LONG_ID)
        self.assertEqual(out.splitlines(), [
            "call %s, started 2024-05-01 10:00:00" % LONG_ID,
            "+0.000  call from 5551234 to 18005550100 (configuration generation 1, language en)",
            "+0.002  entered menu main, hearing main/greeting",
            "+3.120  pressed 2",
            "+3.121  routed to billing — reason: menu main key 2 (path main)",
            "+3.122  transfer to sip:billing@127.0.0.1:5090 started",
            "+4.500  transfer to billing failed — 486 Busy Here",
            "+4.600  entered menu sales, hearing sales/greeting",
            "+7.000  routed to sales — reason: menu sales key 1 (path main > sales)",
            "+7.001  transfer to sip:sales@127.0.0.1:5091 started",
            "+8.000  transfer to sales succeeded",
            "+8.001  call ended (transferred)",
        ])
        lines = self.ok("trace", "b-2").splitlines()
        self.assertIn("+9.300  hung up in menu sales after 9.3 s; last heard sales/greeting",
                      lines)
        self.assertEqual(lines[-1], "+9.300  call ended (dropped) — caller hung up")

    def test_json_has_the_non_null_columns(self):
        rows = json.loads(self.ok("trace", "b-2", "--json"))  # options after the ID too
        self.assertEqual(len(rows), len(CALL_B))
        for got, want in zip(rows, CALL_B):
            stored = {k: v for k, v in want.items() if v is not None}
            self.assertEqual({k: got[k] for k in stored}, stored)
            self.assertEqual(set(got) - set(stored), {"id", "offset_ms", "text"})
        self.assertEqual(rows[2]["offset_ms"], 3000)
        self.assertEqual(rows[2]["text"], "pressed 1")
        self.assertEqual(json.loads(self.ok("trace", "--json", "c-3"))[0]["ani"], NASTY_ANI)

    def test_csv(self):
        rows = list(csv.DictReader(io.StringIO(self.ok("trace", "--csv", "c-3"), newline="")))
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[0]["ani"], NASTY_ANI)
        self.assertEqual(rows[0]["menu"], "")
        self.assertEqual(rows[1]["reason"], 'said "bye", then left')
        self.assertEqual(rows[1]["text"], 'call ended (error) — said "bye", then left')

    def test_unknown_call(self):
        err = self.fails(1, "-j", self.db, "trace", "no-such-call")
        self.assertEqual(err, "ivrctl: no call no-such-call in the journal\n")

    def test_bad_arguments_exit_2_with_usage(self):
        for args in (["trace"], ["trace", "a", "b"], ["trace", "--json", "--csv", "b-2"],
                     ["trace", "--nope", "b-2"]):
            err = self.fails(2, "-j", self.db, *args)
            self.assertIn("usage: ivrctl [-c CONFIG] [-j JOURNAL] trace CALL-ID", err, args)


# A call whose route names its inputs (numbers among them), sent to support without a menu.
CALL_D = [
    ev(T0 + 7200000, "d-4", "call.start", ani="15551234567", dnis="18005550100"),
    ev(T0 + 7200010, "d-4", "route", dept="support", reason="caller rule",
       detail="path=; ani=15551234567; dnis=18005550100"),
    ev(T0 + 7200020, "d-4", "transfer.start", dept="support", target="sip:support@127.0.0.1"),
    ev(T0 + 7201000, "d-4", "transfer.result", dept="support", result="ok"),
    ev(T0 + 7201001, "d-4", "call.end", result="transferred", duration_ms=1001),
]
EXPORT_KEYS = ["id", *COLUMNS, "callback_id"]


class Reports(Journal):
    """The report options on the existing commands, --mask, and export."""

    def setUp(self):
        super().setUp()
        db = sqlite3.connect(self.db)
        insert_rows(db, CALL_D)
        db.close()

    def ids(self, *args):
        return [c["call_id"] for c in json.loads(self.ok("calls", "--json", *args))]

    def test_calls_by_department(self):
        # billing: routed there (and the transfer failed); sales: transferred there
        self.assertEqual(self.ids("--dept", "billing"), [LONG_ID])
        self.assertEqual(self.ids("--dept", "sales"), [LONG_ID])
        self.assertEqual(self.ids("--dept", "support"), ["d-4"])
        self.assertEqual(self.ids("--dept", "nowhere"), [])
        self.assertEqual(self.ids("--dept", "support", "--number", "5551234"), [])
        self.assertEqual(self.ids("--dept", "support", "--since", "yesterday"), [])
        lines = self.ok("calls", "--dept", "sales").splitlines()
        self.assertEqual(len(lines), 2)
        self.assertIn("transferred to sales", lines[1])

    def test_mask_in_every_format(self):
        whole = ("15551234567", "5551234", "5559876", "18005550100", "18005550199")
        out = self.ok("calls", "--mask", "--limit", "0")
        self.assertIn("*******4567", out)
        self.assertIn("***1234", out)
        self.assertIn("*******0100", out)
        calls = json.loads(self.ok("calls", "--mask", "--json"))
        self.assertEqual(calls[-1]["ani"], "***1234")
        self.assertEqual(calls[-1]["dnis"], "*******0100")
        rows = list(csv.DictReader(io.StringIO(self.ok("calls", "--mask", "--csv"),
                                               newline="")))
        self.assertEqual(rows[-1]["ani"], "***1234")
        trace = self.ok("trace", "d-4", "--mask")
        self.assertIn("call from *******4567 to *******0100", trace)
        self.assertIn("based on: menu path , caller *******4567, dialed *******0100", trace)
        rows = json.loads(self.ok("trace", "d-4", "--mask", "--json"))
        self.assertEqual(rows[1]["detail"], "path=; ani=*******4567; dnis=*******0100")
        csv_trace = self.ok("trace", "d-4", "--mask", "--csv")
        export = self.ok("export", "--mask")
        export_json = self.ok("export", "--mask", "--json")
        for text in (out, json.dumps(calls), trace, json.dumps(rows), csv_trace, export,
                     export_json):
            for n in whole:
                self.assertNotIn(n, text)
        # and without --mask, the whole numbers
        self.assertIn("call from 15551234567 to 18005550100", self.ok("trace", "d-4"))

    def test_trace_by_number(self):
        self.assertIn("call b-2, started 2024-05-01 11:00:00",
                      self.ok("trace", "--number", "18005550100", "--until", "2024-05-01 11:30"))
        rows = json.loads(self.ok("trace", "--number", "+1 800 555 0100", "--json",
                                  "--until", "2024-05-01 10:30"))
        self.assertEqual({r["call_id"] for r in rows}, {LONG_ID})
        self.assertEqual(json.loads(self.ok("trace", "--number", "5559876", "--json"))[0]
                         ["call_id"], "b-2")
        err = self.fails(1, "-j", self.db, "trace", "--number", "5550000")
        self.assertEqual(err, "ivrctl: no calls from or to 5550000 in the journal\n")
        err = self.fails(1, "-j", self.db, "trace", "--number", "5559876", "--since",
                         "2024-05-02")
        self.assertIn("in that time range", err)
        for args in (["trace", "--number", "1", "on", "sip"], ["trace", "--limit", "3", "x"],
                     ["trace", "--dept", "sales", "x"], ["trace", "--number"]):
            self.assertIn("usage: ivrctl [-c CONFIG] [-j JOURNAL] trace CALL-ID",
                          self.fails(2, "-j", self.db, *args), args)

    def journal_rows(self, where="", params=()):
        db = sqlite3.connect(self.db)
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute(
            "SELECT * FROM events %s ORDER BY ts_ms, id" % where, params)]
        db.close()
        for r in rows:
            r.setdefault("callback_id", None)  # a schema 1 journal has no such column
        return rows

    def assertExport(self, out, want):
        table = list(csv.reader(io.StringIO(out, newline="")))
        self.assertEqual(table[0], EXPORT_KEYS)
        self.assertEqual(table[1:], [["" if r[k] is None else str(r[k]) for k in EXPORT_KEYS]
                                     for r in want])

    def test_export_equals_the_journal(self):
        everything = self.journal_rows()
        self.assertEqual(len(everything), len(CALL_A + CALL_B + CALL_C + CALL_D))
        self.assertExport(self.ok("export"), everything)  # CSV by default
        self.assertExport(self.ok("export", "--csv"), everything)
        self.assertEqual(json.loads(self.ok("export", "--json")), everything)
        # a range: [since, until)
        self.assertExport(self.ok("export", "--since", "2024-05-01 11:00", "--until",
                                  "2024-05-02 10:00"),
                          self.journal_rows("WHERE ts_ms >= ? AND ts_ms < ?",
                                            (T0 + 3600000, T0 + 86400000)))
        # the calls of a number, of a department
        self.assertExport(self.ok("export", "--number", "5559876"),
                          self.journal_rows("WHERE call_id = 'b-2'"))
        self.assertExport(self.ok("export", "--dept", "billing"),
                          self.journal_rows("WHERE call_id = ?", (LONG_ID,)))
        self.assertExport(self.ok("export", "--dept", "nowhere"), [])

    def test_export_to_a_new_file_only(self):
        path = os.path.join(self.dir, "audit.csv")
        self.assertEqual(self.ok("export", "--output", path), "")
        with open(path, newline="") as f:
            first = f.read()
        self.assertExport(first, self.journal_rows())
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        err = self.fails(1, "-j", self.db, "export", "--number", "5559876", "--output", path)
        self.assertEqual(err, "ivrctl: %s exists; export writes a new file\n" % path)
        with open(path, newline="") as f:
            self.assertEqual(f.read(), first)
        # a failed export leaves nothing behind
        other = os.path.join(self.dir, "other.csv")
        err = self.fails(1, "-j", os.path.join(self.dir, "none.db"), "export", "--output",
                         other)
        self.assertFalse(os.path.exists(other))
        self.assertIn("unknown option --output",
                      self.fails(2, "-j", self.db, "calls", "--output", other))

    def test_caller_over_a_range(self):
        doc = json.loads(self.ok("caller", "18005550100", "--json"))
        self.assertEqual([c["call_id"] for c in doc["calls"]], ["d-4", "b-2", LONG_ID])
        self.assertEqual((doc["totals"]["calls"], doc["totals"]["transfers"],
                          doc["totals"]["drops"]), (3, 3, 1))
        doc = json.loads(self.ok("caller", "18005550100", "--json", "--since",
                                 "2024-05-01 10:30", "--until", "2024-05-01 11:30"))
        self.assertEqual([c["call_id"] for c in doc["calls"]], ["b-2"])
        self.assertEqual((doc["totals"]["calls"], doc["totals"]["transfers"],
                          doc["totals"]["drops"]), (1, 0, 1))
        doc = json.loads(self.ok("caller", "18005550100", "--json", "--dept", "billing"))
        self.assertEqual([c["call_id"] for c in doc["calls"]], [LONG_ID])
        self.assertEqual(doc["totals"]["transfers_failed"], 1)
        out = self.ok("caller", "18005550100", "--since", "2024-05-03")
        self.assertTrue(out.startswith("caller 18005550100: 0 calls"), out)
        out = self.ok("caller", "18005550100", "--mask")
        self.assertTrue(out.startswith("caller *******0100: 3 calls"), out)
        self.assertNotIn("18005550100", out)

    def test_help_names_every_report(self):
        out = self.ok("help")
        for usage in ("calls [--since TIME] [--until TIME] [--dept D]",
                      "trace CALL-ID [--mask] [--json|--csv] | trace --number NUM",
                      "transfers [--since TIME]", "drops [--since TIME]",
                      "callbacks [--open|", "caller NUMBER [--since TIME]",
                      "report [--since TIME]", "export [--since TIME]"):
            self.assertIn("  " + usage, out)
        self.assertIn("[--output FILE]\n", out)
        self.assertIn("today, yesterday", out)
        for cmd in ("transfers", "drops", "report", "export"):
            self.assertIn("usage: ivrctl [-c CONFIG] [-j JOURNAL] %s " % cmd,
                          self.ok(cmd, "--help"))


class Program(Journal):
    def test_help(self):
        for args in (["help"], ["-h"]):
            out = self.ok(*args)
            self.assertTrue(out.startswith("usage: ivrctl [-c CONFIG] [-j JOURNAL] COMMAND"))
            self.assertIn("  calls [--since TIME]", out)
            self.assertIn("  trace CALL-ID", out)
        self.assertIn("usage: ivrctl", self.ok("calls", "--help"))

    def test_usage_errors(self):
        for args, msg in (([], "which command?"), (["frobnicate"], "unknown command"),
                          (["-j"], "-j needs an argument"), (["-x", "calls"], "unknown option")):
            err = self.fails(2, *args)
            self.assertIn(msg, err)
            self.assertIn("usage: ivrctl [-c CONFIG] [-j JOURNAL] COMMAND [ARGS]", err)

    def test_missing_journal(self):
        path = os.path.join(self.dir, "absent", "journal.db")
        err = self.fails(1, "-j", path, "calls")
        self.assertEqual(err, "ivrctl: no journal at %s (has ivrd run with this "
                              "configuration?)\n" % path)
        self.assertFalse(os.path.exists(path))  # and did not create one

    def test_not_a_journal(self):
        other = os.path.join(self.dir, "other.db")
        with open(other, "w") as f:
            f.write("not sqlite at all" * 100)
        self.assertIn("ivrctl: ", self.fails(1, "-j", other, "calls"))
        db = sqlite3.connect(other + "2")
        db.execute("CREATE TABLE t (x)")
        db.close()
        self.assertIn("is not an ivrd journal", self.fails(1, "-j", other + "2", "calls"))
        db = sqlite3.connect(self.db)
        db.execute("PRAGMA user_version = 7")
        db.close()
        self.assertIn("schema version 7", self.fails(1, "-j", self.db, "calls"))

    def conf(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_journal_from_configuration(self):
        # a relative state_dir is relative to the working directory
        state = os.path.join(self.dir, "run", "state")
        os.makedirs(state)
        os.rename(self.db, os.path.join(state, "journal.db"))
        conf = self.conf("etc/ivrd.conf", 'ivrd:\n{\n  state_dir = "state";\n};\n')
        p = run("-c", conf, "calls", "--json", cwd=os.path.join(self.dir, "run"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(json.loads(p.stdout)), 3)
        # @include is found beside the configuration file, as ivrd finds it
        self.conf("etc/paths.conf", 'state_dir = "%s/";\n' % state)
        conf = self.conf("etc/main.conf", 'ivrd:\n{\n  @include "paths.conf"\n};\n')
        p = run("-c", conf, "trace", "b-2", cwd="/")
        self.assertEqual(p.returncode, 0, p.stderr)
        # -j wins over the configuration
        p = run("-c", conf, "-j", os.path.join(self.dir, "nowhere.db"), "calls")
        self.assertIn("no journal at %s/nowhere.db" % self.dir, p.stderr)

    def test_configuration_errors(self):
        conf = self.conf("bad.conf", 'ivrd:\n{\n  state_dir = ;\n};\n')
        err = self.fails(1, "-c", conf, "calls")
        self.assertEqual(err, "ivrctl: %s:3: syntax error\n" % conf)
        conf = self.conf("num.conf", 'ivrd:\n{\n  state_dir = 5;\n};\n')
        err = self.fails(1, "-c", conf, "calls")
        self.assertEqual(err, "ivrctl: %s:3: ivrd.state_dir: must be a directory name\n" % conf)
        err = self.fails(1, "-c", os.path.join(self.dir, "none.conf"), "calls")
        self.assertIn("cannot read %s/none.conf" % self.dir, err)
        # the state directory holds no journal yet
        conf = self.conf("empty.conf", 'ivrd:\n{\n  state_dir = "%s/new";\n};\n' % self.dir)
        err = self.fails(1, "-c", conf, "calls")
        self.assertEqual(err, "ivrctl: no journal at %s/new/journal.db (has ivrd run with "
                              "this configuration?)\n" % self.dir)


def main():
    global IVRCTL
    args = sys.argv[1:]
    if args and args[0] != "--list" and os.path.isfile(args[0]):
        IVRCTL = os.path.abspath(args.pop(0))
    else:
        IVRCTL = os.environ.get("IVRCTL")
    if args == ["--list"]:
        suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
        for group in suite:
            for t in group:
                print("%s.%s" % (type(t).__name__, t._testMethodName))
        return
    if not IVRCTL:
        sys.exit(__doc__.strip())
    unittest.main(argv=[sys.argv[0], *args], verbosity=2)


if __name__ == "__main__":
    main()
