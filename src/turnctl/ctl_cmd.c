/*
 * ctl_cmd.c -- turnctl's command tables: find an entry by its name or
 * any unique prefix of it (as relayctl's parser does), and run it.
 * Every command group uses these, and they use nothing of turnctl.
 */

#include <stdio.h>
#include <string.h>

#include "turnctl/turnctl.h"

const struct ctl_cmd *
ctl_lookup(const struct ctl_cmd *table, const char *word, const char *what)
{
	const struct ctl_cmd	*c, *found = NULL;
	size_t			 len = strlen(word);
	int			 n = 0;

	for (c = table; c->cc_name != NULL; c++) {
		if (strcmp(c->cc_name, word) == 0)
			return (c);
		if (len > 0 && strncmp(c->cc_name, word, len) == 0) {
			found = c;
			n++;
		}
	}
	if (n == 1)
		return (found);
	fprintf(stderr, "turnctl: %s %s \"%s\"", n == 0 ? "unknown" :
	    "ambiguous", what, word);
	if (n > 1) {
		fprintf(stderr, ":");
		for (c = table; c->cc_name != NULL; c++)
			if (strncmp(c->cc_name, word, len) == 0)
				fprintf(stderr, " %s", c->cc_name);
	}
	fprintf(stderr, "\n");
	return (NULL);
}

int
ctl_dispatch(struct ctl *ctl, const struct ctl_cmd *table, const char *what,
    int argc, char *argv[])
{
	const struct ctl_cmd	*c;

	if (argc < 1) {
		fprintf(stderr, "turnctl: which %s?", what);
		for (c = table; c->cc_name != NULL; c++)
			fprintf(stderr, " %s", c->cc_name);
		fprintf(stderr, "\n");
		return (CTL_USAGE);
	}
	if ((c = ctl_lookup(table, argv[0], what)) == NULL)
		return (CTL_USAGE);
	return (c->cc_fn(ctl, argc, argv));
}
