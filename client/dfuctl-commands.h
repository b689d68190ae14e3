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
	gboolean all; /* list: finished jobs too; start: every device the daemon knows */
	char *match;  /* start --all: a glob the device names must match */
	char *board;  /* start --all: the board the devices must have */
	gboolean until_idle;
	gboolean refresh;  /* info: read the device's state first */
	char **options;    /* -o key=value */
	char *keys;        /* --keys DIR: trusted public keys for inspect */
	char **states;     /* list --state: the states to list */
	char *device;      /* list --device: the device (a name or a target) whose jobs to list */
	char **positional; /* the arguments after the command name */
} DfuctlArgs;

/* the session bus when asked for (--session or DFUD_BUS=session) */
gboolean dfuctl_use_session_bus(const DfuctlArgs *args);
/* JSON when asked for, else a redrawn view on a terminal and plain lines elsewhere */
DfuctlOutputMode dfuctl_output_mode(const DfuctlArgs *args);
/* prints "dfuctl: <message>" and returns the exit code for the error */
int dfuctl_fail(const GError *error);
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
/* the versions of dfuctl and of the daemon, when it answers */
int dfuctl_cmd_version(gboolean session);
/* the finished jobs, of one device (a name or a target) or all */
int dfuctl_cmd_history(const DfuctlArgs *args);
/* reads a bundle file or URL locally and checks its signature, no daemon needed */
int dfuctl_cmd_inspect(const DfuctlArgs *args);

G_END_DECLS
