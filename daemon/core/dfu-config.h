/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * dfud.conf (GKeyFile). Unknown groups and keys are refused so that a typo
 * never silently does nothing. Every key has a default; see conf/dfud.conf.
 */
typedef struct {
	/* [daemon] */
	guint max_parallel_jobs; /* MaxParallelJobs=4 */
	guint max_attempts;      /* MaxAttempts=3, per job, recoverable errors only */
	guint retry_delay_ms;    /* RetryDelaySec=2 (doubles each attempt, capped at 60 s) */
	guint keep_finished_sec; /* KeepFinishedSec=86400: finished jobs stay visible this long */
	guint max_finished_jobs; /* MaxFinishedJobs=100 */
	/* [serial] */
	guint serial_baud; /* DefaultBaud=115200 */
	/* [smp] */
	guint smp_timeout_ms;       /* ResponseTimeoutSec=5 (float accepted: 0.5) */
	guint smp_erase_timeout_ms; /* FirstChunkTimeoutSec=40: first upload chunk may erase the slot */
	guint smp_retries;          /* Retries=4 per request before the link counts as lost */
	guint smp_max_window;       /* MaxWindow=8: requests in flight, also bounded by buf_count-1 */
	guint reset_timeout_ms;     /* ResetTimeoutSec=60: how long a device may take to come back */
	/* paths: from STATE_DIRECTORY / CACHE_DIRECTORY, else the built-in defaults */
	char *state_dir;
	char *cache_dir;
	/* named devices from devices.d/ *.conf: name -> target URI */
	GHashTable *devices;
} DfuConfig;

/* path NULL: DFUD_CONFIG env, else /etc/dfud/dfud.conf; a missing file means defaults */
DfuConfig *dfu_config_load(const char *path, GError **error);
DfuConfig *dfu_config_new_default(void);
void dfu_config_free(DfuConfig *config);
/* a name from devices.d, or the string itself when it looks like a URI */
const char *dfu_config_resolve_target(DfuConfig *config, const char *name_or_uri);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuConfig, dfu_config_free)

G_END_DECLS
