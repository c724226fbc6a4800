/* The journal's schema, shared by the writer and the queries. Bump the version and add a
 * migration in schema_setup() for any change; readers refuse versions they do not know. */
#ifndef IVR_JOURNAL_SCHEMA_H
#define IVR_JOURNAL_SCHEMA_H

#define JOURNAL_SCHEMA_VERSION 2
#define JOURNAL_STR_(x) #x
#define JOURNAL_STR(x) JOURNAL_STR_(x)

/* Rows are only ever inserted. Indexes serve the reports: one call's events (call_id), time
 * ranges (ts_ms), one kind of event in a time range (event, ts_ms), one caller (ani), one
 * department (dept). */
#define JOURNAL_SCHEMA_SQL \
	"CREATE TABLE IF NOT EXISTS events (" \
	" id INTEGER PRIMARY KEY," \
	" ts_ms INTEGER NOT NULL," \
	" call_id TEXT," \
	" event TEXT NOT NULL," \
	" menu TEXT, key TEXT, dept TEXT, target TEXT, result TEXT, reason TEXT," \
	" ani TEXT, dnis TEXT, prompt TEXT, detail TEXT," \
	" generation INTEGER," \
	" duration_ms INTEGER," \
	" callback_id INTEGER);" \
	"CREATE INDEX IF NOT EXISTS events_call_id ON events (call_id);" \
	"CREATE INDEX IF NOT EXISTS events_ts ON events (ts_ms);" \
	"CREATE INDEX IF NOT EXISTS events_event_ts ON events (event, ts_ms);" \
	"CREATE INDEX IF NOT EXISTS events_ani ON events (ani);" \
	"CREATE INDEX IF NOT EXISTS events_dept ON events (dept);" \
	JOURNAL_SCHEMA_V2_SQL \
	"PRAGMA user_version = " JOURNAL_STR(JOURNAL_SCHEMA_VERSION) ";"

/* Version 2: callback promises. events.callback_id names the promise an event is about.
 * callbacks holds each promise's current state, one row per promise, rewritten whole at
 * every change by the daemon's writer thread (the events table keeps the history):
 *   state       open, dialing (an attempt in progress), kept, broken, cancelled
 *   number      where to call (normalized), ani: the caller's number on the promising call
 *   due_ms      when the caller was told to expect the call; expires_ms: kept by then or
 *               broken; next_ms: the next attempt no earlier than this
 *   attempts, max_attempts, last_result ("busy", "no answer", "sip 503"...), reason
 *   owner, lease_until_ms: the node dialing it and until when (several nodes, one file)
 *   kept_call_id: the call that kept it (a dial-back's Call-ID or a returning call's) */
#define JOURNAL_SCHEMA_V2_SQL \
	"CREATE TABLE IF NOT EXISTS callbacks (" \
	" id INTEGER PRIMARY KEY," \
	" number TEXT NOT NULL, ani TEXT, dept TEXT NOT NULL, lang TEXT, call_id TEXT," \
	" state TEXT NOT NULL," \
	" created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL," \
	" due_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, next_ms INTEGER NOT NULL," \
	" attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL," \
	" last_result TEXT, reason TEXT, kept_call_id TEXT, closed_ms INTEGER," \
	" owner TEXT, lease_until_ms INTEGER);" \
	"CREATE INDEX IF NOT EXISTS callbacks_state ON callbacks (state, next_ms);" \
	"CREATE INDEX IF NOT EXISTS callbacks_number ON callbacks (number);" \
	"CREATE INDEX IF NOT EXISTS callbacks_dept ON callbacks (dept, state);" \
	"CREATE INDEX IF NOT EXISTS events_callback ON events (callback_id);"

/* From version 1: the column, then the table. */
#define JOURNAL_MIGRATE_1_2_SQL \
	"ALTER TABLE events ADD COLUMN callback_id INTEGER;" \
	JOURNAL_SCHEMA_V2_SQL \
	"PRAGMA user_version = 2;"

#endif
