/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DFUCTL_JOB_PATH_PREFIX "/org/dfud1/job/"

/* exit codes of dfuctl */
enum {
	DFUCTL_EXIT_SUCCESS = 0,
	DFUCTL_EXIT_FAILURE = 1,
	DFUCTL_EXIT_NOTHING_TO_DO = 2,
	DFUCTL_EXIT_NOT_FOUND = 3, /* no such job or device, or a file that cannot be read */
};

/* a job given as its number or its object path, as an object path */
char *dfuctl_job_path_from_arg(const char *arg, GError **error);
/* the job number at the end of a job object path, 0 when there is none */
guint64 dfuctl_job_id_from_path(const char *path);
/* "key=value" strings (-o) into the a{sv} options of Submit (floating); names the bad key */
GVariant *dfuctl_options_parse(const char *const *key_values, GError **error);
/* the list that -o help prints: every job option with its type and meaning */
char *dfuctl_options_help(void);
/* TRUE when -o help was given */
gboolean dfuctl_options_want_help(const char *const *key_values);
/* the exit code for a job's final status code */
int dfuctl_exit_code_for_status(guint status_code);
/* the exit code for an error of a request */
int dfuctl_exit_code_for_error(const GError *error);

G_END_DECLS
