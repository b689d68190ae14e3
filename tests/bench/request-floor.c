/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What one request of an upload costs a process on this machine at least:
 * the CPU time of the bare loop any client of a serial device runs, wake on
 * the answer, read it, write the next request, against a peer on a pty that
 * takes each request in the time the baud rate allows and then answers. No
 * framing, no encoding, no bookkeeping: the system calls and the wake-ups
 * alone, with the same number of requests in flight as the daemon keeps.
 *   request-floor BAUD REQUEST_BYTES [REQUESTS]
 * prints the CPU microseconds per request.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define IN_FLIGHT 3
#define ANSWER                                                                                               \
	"\x06\x09"                                                                                           \
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"

static void
make_raw(int fd)
{
	struct termios tio;

	tcgetattr(fd, &tio);
	cfmakeraw(&tio);
	tcsetattr(fd, TCSANOW, &tio);
}

/* takes requests at the line's pace and answers each */
static void
peer(int fd, long baud, size_t request)
{
	char buf[8192];
	size_t got = 0;
	struct timespec per_request = {0};
	long ns = (long)(request * 10 * 1000000000.0 / baud);

	per_request.tv_sec = ns / 1000000000L;
	per_request.tv_nsec = ns % 1000000000L;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			_exit(0);
		got += (size_t)n;
		while (got >= request) {
			got -= request;
			nanosleep(&per_request, NULL);
			if (write(fd, ANSWER, strlen(ANSWER)) < 0)
				_exit(0);
		}
	}
}

static double
cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

int
main(int argc, char **argv)
{
	long baud = argc > 2 ? atol(argv[1]) : 0;
	size_t request = argc > 2 ? (size_t)atol(argv[2]) : 0;
	long requests = argc > 3 ? atol(argv[3]) : 1000;
	char answer[4096];
	char *req;
	int master, slave;
	pid_t pid;
	double start;

	if (baud <= 0 || request == 0 || requests <= 0) {
		fprintf(stderr, "usage: %s BAUD REQUEST_BYTES [REQUESTS]\n", argv[0]);
		return 2;
	}
	if (openpty(&master, &slave, NULL, NULL, NULL) < 0) {
		perror("openpty");
		return 1;
	}
	make_raw(master);
	make_raw(slave);
	pid = fork();
	if (pid == 0) {
		close(master);
		peer(slave, baud, request);
	}
	close(slave);
	fcntl(master, F_SETFL, O_NONBLOCK);
	req = malloc(request);
	memset(req, 'A', request);
	for (int i = 0; i < IN_FLIGHT; i++) {
		if (write(master, req, request) < 0)
			return 1;
	}
	start = cpu_us();
	for (long i = 0; i < requests;) {
		struct pollfd pfd = {master, POLLIN, 0};
		ssize_t n;

		if (poll(&pfd, 1, 5000) <= 0)
			return 1;
		n = read(master, answer, sizeof(answer));
		/* one request for every answer that came in */
		for (ssize_t k = 0; k < n; k++) {
			if (answer[k] == '\n' && write(master, req, request) > 0)
				i++;
		}
	}
	printf("%.1f\n", (cpu_us() - start) / requests);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	free(req);
	return 0;
}
