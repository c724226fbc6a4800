/* The journal's schema, shared by the writer and the queries. Bump the version and add a
 * migration in schema_setup() for any change; readers refuse versions they do not know. */
#ifndef IVR_JOURNAL_SCHEMA_H
#define IVR_JOURNAL_SCHEMA_H

#define JOURNAL_SCHEMA_VERSION 1
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
	" duration_ms INTEGER);" \
	"CREATE INDEX IF NOT EXISTS events_call_id ON events (call_id);" \
	"CREATE INDEX IF NOT EXISTS events_ts ON events (ts_ms);" \
	"CREATE INDEX IF NOT EXISTS events_event_ts ON events (event, ts_ms);" \
	"CREATE INDEX IF NOT EXISTS events_ani ON events (ani);" \
	"CREATE INDEX IF NOT EXISTS events_dept ON events (dept);" \
	"PRAGMA user_version = " JOURNAL_STR(JOURNAL_SCHEMA_VERSION) ";"

#endif
