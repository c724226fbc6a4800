/* The dashboard's API path: "KIND?NAME=VALUE&..." parsed as evhttp parses a query, each
 * argument through report_arg, report_args_check, then report_write as JSON (and the other
 * formats) over a small journal made once from the real schema. */
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../../src/journal/schema.h"
#include "ivr/journal_query.h"
#include "ivr/report.h"

static struct journal_query *q;

/* A few calls of every shape the reports count: transferred, failed then transferred,
 * dropped, a promise kept by a dial-back. */
static const char rows_sql[] =
	"INSERT INTO events (ts_ms, call_id, event, menu, key, dept, target, result, reason, ani,"
	" dnis, prompt, detail, duration_ms, callback_id) VALUES"
	" (1795400000000,'a','call.start',NULL,NULL,NULL,NULL,NULL,NULL,'15551230001',"
	"  '18005550100',NULL,'en',NULL,NULL),"
	" (1795400000100,'a','menu.enter','main',NULL,NULL,NULL,NULL,NULL,NULL,NULL,"
	"  'main/greeting',NULL,NULL,NULL),"
	" (1795400000900,'a','key','main','2',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL),"
	" (1795400000901,'a','route','main',NULL,'billing',NULL,NULL,'key 2 in menu main',NULL,"
	"  NULL,NULL,'path=main; ani=15551230001; dnis=18005550100 (numbers.[1])',NULL,NULL),"
	" (1795400000902,'a','transfer.start',NULL,NULL,'billing','sip:b@x',NULL,NULL,NULL,NULL,"
	"  NULL,NULL,NULL,NULL),"
	" (1795400000990,'a','transfer.result',NULL,NULL,'billing','sip:b@x','failed','503',"
	"  NULL,NULL,NULL,NULL,NULL,NULL),"
	" (1795400001000,'a','route','main',NULL,'operator',NULL,NULL,'fallback (operator)',"
	"  NULL,NULL,NULL,NULL,NULL,NULL),"
	" (1795400001001,'a','transfer.start',NULL,NULL,'operator','sip:o@x',NULL,NULL,NULL,"
	"  NULL,NULL,NULL,NULL,NULL),"
	" (1795400001100,'a','transfer.result',NULL,NULL,'operator','sip:o@x','ok','200',NULL,"
	"  NULL,NULL,NULL,NULL,NULL),"
	" (1795400001200,'a','call.end',NULL,NULL,NULL,NULL,'transferred',NULL,NULL,NULL,NULL,"
	"  NULL,1200,NULL),"
	" (1795400100000,'b','call.start',NULL,NULL,NULL,NULL,NULL,NULL,'15551230002',"
	"  '18005550100',NULL,'vi',NULL,NULL),"
	" (1795400100100,'b','menu.enter','main',NULL,NULL,NULL,NULL,NULL,NULL,NULL,"
	"  'main/greeting',NULL,NULL,NULL),"
	" (1795400101000,'b','input.timeout','main',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,"
	"  'timeout 1 of 3',NULL,NULL),"
	" (1795400102000,'b','drop','main',NULL,NULL,NULL,NULL,NULL,NULL,NULL,'main/greeting',"
	"  NULL,2000,NULL),"
	" (1795400102001,'b','call.end',NULL,NULL,NULL,NULL,'dropped','caller hung up',NULL,"
	"  NULL,NULL,NULL,2001,NULL),"
	" (1795400200000,'c','call.start',NULL,NULL,NULL,NULL,NULL,NULL,'15551230001',"
	"  '18005550100',NULL,'en',NULL,NULL),"
	" (1795400200500,'c','callback.offer','callback',NULL,'billing',NULL,'offered',"
	"  'billing is closed',NULL,NULL,NULL,NULL,NULL,NULL),"
	" (1795400201000,'c','callback.promised',NULL,NULL,'billing',NULL,NULL,NULL,"
	"  '15551230001','15551230001',NULL,'due x',NULL,1),"
	" (1795400202000,'c','call.end',NULL,NULL,NULL,NULL,'callback promised',NULL,NULL,NULL,"
	"  NULL,NULL,2000,NULL),"
	" (1795400300000,'d','dial.start',NULL,NULL,NULL,NULL,NULL,'callback 1',NULL,"
	"  '15551230001',NULL,NULL,NULL,1),"
	" (1795400300500,'d','transfer.start',NULL,NULL,'billing','sip:b@x',NULL,NULL,NULL,NULL,"
	"  NULL,NULL,NULL,1),"
	" (1795400300600,'d','transfer.result',NULL,NULL,'billing','sip:b@x','ok','200',NULL,"
	"  NULL,NULL,NULL,NULL,1),"
	" (1795400300700,'d','callback.kept',NULL,NULL,'billing',NULL,NULL,NULL,'15551230001',"
	"  NULL,NULL,NULL,NULL,1),"
	" (1795400300800,'d','dial.end',NULL,NULL,NULL,NULL,NULL,'hung up',NULL,NULL,NULL,NULL,"
	"  300,1);"
	"INSERT INTO callbacks (id, number, ani, dept, lang, call_id, state, created_ms,"
	" updated_ms, due_ms, expires_ms, next_ms, attempts, max_attempts, kept_call_id,"
	" closed_ms) VALUES (1,'15551230001','15551230001','billing','en','c','kept',"
	" 1795400201000,1795400300700,1795401000000,1795490000000,1795400260000,1,3,'d',"
	" 1795400300700);";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/ivrd-fuzz-report-XXXXXX", file[64], err[256];
	sqlite3 *db = NULL;

	(void)argc;
	(void)argv;
	if (mkdtemp(path) == NULL)
		abort();
	snprintf(file, sizeof(file), "%s/journal.db", path);
	if (sqlite3_open(file, &db) != SQLITE_OK ||
	    sqlite3_exec(db, JOURNAL_SCHEMA_SQL, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, rows_sql, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "fuzz_report: %s\n", db ? sqlite3_errmsg(db) : "no memory");
		abort();
	}
	sqlite3_close(db);
	if (journal_query_open(&q, file, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_report: %s\n", err);
		abort();
	}
	/* the file stays open through q; its name can go */
	unlink(file);
	rmdir(path);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum output_format fmts[] = {OUTPUT_JSON, OUTPUT_TABLE, OUTPUT_CSV};
	struct evkeyvalq params;
	struct report_args a;
	enum report_kind kind;
	char *text, *query, err[256];
	FILE *fp;

	if (size > 2048)
		return -1;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	query = strchr(text, '?');
	if (query != NULL)
		*query++ = '\0';
	if (report_kind_parse(&kind, text) != 0 || kind == REPORT_EXPORT) {
		free(text);
		return 0;
	}
	report_args_init(&a, kind, 1795400400000);
	TAILQ_INIT(&params);
	if (query != NULL && evhttp_parse_query_str(query, &params) != 0)
		goto out;
	for (struct evkeyval *kv = params.tqh_first; kv != NULL; kv = kv->next.tqe_next) {
		err[0] = '\0';
		if (report_arg(&a, kv->key, kv->value, err, sizeof(err)) != 0) {
			if (err[0] == '\0' && strcmp(kv->key, "token") != 0)
				goto out; /* ENOENT: the dashboard words it */
			if (err[0] != '\0')
				goto out;
		}
	}
	if (report_args_check(&a, err, sizeof(err)) != 0)
		goto out;
	/* discard the text: what matters is that nothing breaks on the way */
	if ((fp = fopen("/dev/null", "w")) != NULL) {
		(void)report_write(fp, fmts[size % 3], q, &a, err, sizeof(err));
		fclose(fp);
	}
out:
	evhttp_clear_headers(&params);
	free(text);
	return 0;
}
