/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "dfuctl-follow.h"

G_BEGIN_DECLS

/* the parsed command line */
typedef struct {
	gboolean session;
	gboolean json;
	gboolean verbose;
	gboolean no_wait;
	gboolean all;
	gboolean refresh;  /* info: read the device's state first */
	char **options;    /* -o key=value */
	char *keys;        /* --keys DIR: trusted public keys for inspect */
	char **positional; /* the arguments after the command name */
} DfuctlArgs;

/* how jobs are shown: JSON lines, a redrawn line on a terminal, else plain lines */
DfuctlOutputMode dfuctl_output_mode(const DfuctlArgs *args);
/*
 * After a job was submitted with follow subscribed (NULL with --no-wait):
 * prints the job with --no-wait, else follows it until it ends and prints its
 * result; returns the exit code for it.
 */
int dfuctl_finish_job(const DfuctlArgs *args, DfuctlFollow *follow, const char *path);

/* each returns the process exit code and prints its own errors */
int dfuctl_cmd_start(const DfuctlArgs *args);
int dfuctl_cmd_status(const DfuctlArgs *args);
int dfuctl_cmd_list(const DfuctlArgs *args);
int dfuctl_cmd_abort(const DfuctlArgs *args);
int dfuctl_cmd_watch(const DfuctlArgs *args);
int dfuctl_cmd_codes(const DfuctlArgs *args);
/* the finished jobs, of one device (a name or a target) or all */
int dfuctl_cmd_history(const DfuctlArgs *args);
/* reads a bundle file or URL locally and checks its signature, no daemon needed */
int dfuctl_cmd_inspect(const DfuctlArgs *args);

G_END_DECLS
