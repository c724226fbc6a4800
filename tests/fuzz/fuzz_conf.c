/* Config validator: the input is an ivrd.conf, loaded with conf_load as `ivrd -t` does
 * (without prompts: no cache). Every error is collected, then everything freed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ivr/conf.h"
#include "ivr/log.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_PRIO_ERR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errors errs = { 0 };
	struct conf *c = NULL;
	char path[64];
	int fd;

	if (size > 65536)
		return -1;
	fd = memfd_create("fuzz.conf", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (conf_load(&c, &errs, path, NULL, 1) == 0)
		conf_unref(c);
	conf_errors_free(&errs);
	close(fd);
	return 0;
}
