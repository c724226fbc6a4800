/* Writes ivrd.conf(5) on stdout: the hand-written template, with its marker line replaced
 * by every setting of the table the validator reads, so the page cannot drift from it. */
#include <stdio.h>
#include <string.h>

#include "table.h"

#define MARKER ".\\\" settings table"

static const char *const type_names[] = {
	[OPT_STRING] = "string",
	[OPT_INT] = "integer",
	[OPT_SECONDS] = "seconds",
	[OPT_BOOL] = "true or false",
	[OPT_STRINGS] = "list of strings",
	[OPT_PORTS] = "[first, last]",
	[OPT_LIST] = "list of groups",
	[OPT_NUMBER] = "number",
};

/* roff text: a backslash is \e, - a plain hyphen-minus (values get copied), and a line
 * must not start with a control character */
static void
put_text(const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", stdout);
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else
			putchar(*s);
	}
}

static void
put_opt(const struct conf_opt *o)
{
	fputs(".TP\n\\fB", stdout);
	put_text(o->name);
	printf("\\fR (\\fI%s\\fR)\n", type_names[o->type]);
	put_text(o->help);
	putchar('\n');
	if (o->required) {
		puts(".br\nRequired.");
	} else if (o->def != NULL) {
		fputs(".br\nDefault: \\fB", stdout);
		put_text(o->def);
		puts("\\fR.");
	}
	if (o->min != 0 || o->max != 0)
		printf(".br\nRange: %s%g to %g.\n", o->type == OPT_PORTS ? "each port " : "",
			o->min, o->max);
}

int
main(int argc, char **argv)
{
	char line[4096];
	FILE *in;
	int rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: gen-conf-man TEMPLATE > ivrd.conf.5\n");
		return 2;
	}
	if ((in = fopen(argv[1], "r")) == NULL) {
		perror(argv[1]);
		return 1;
	}
	while (fgets(line, sizeof(line), in) != NULL) {
		if (strcmp(line, MARKER "\n") != 0) {
			fputs(line, stdout);
			continue;
		}
		for (const struct conf_block *b = conf_blocks; b->path != NULL; b++) {
			fputs(".SS ", stdout);
			put_text(b->path);
			putchar('\n');
			for (const struct conf_opt *o = b->opts; o->name != NULL; o++)
				put_opt(o);
		}
	}
	if (ferror(in) || fflush(stdout) != 0 || ferror(stdout))
		perror("gen-conf-man");
	else
		rc = 0;
	fclose(in);
	return rc;
}
