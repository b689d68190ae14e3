/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The CPU time a running process has used, all its threads included (those
 * that have ended too), in nanoseconds: /proc counts in clock ticks, too
 * coarse for what one job of a few seconds costs.
 *   process-cpu PID
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
main(int argc, char **argv)
{
	clockid_t clock;
	struct timespec ts;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: process-cpu PID\n");
		return 2;
	}
	err = clock_getcpuclockid((pid_t)atoi(argv[1]), &clock);
	if (err != 0 || clock_gettime(clock, &ts) != 0) {
		fprintf(stderr, "process-cpu: %s: %s\n", argv[1], strerror(err != 0 ? err : errno));
		return 1;
	}
	printf("%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	return 0;
}
