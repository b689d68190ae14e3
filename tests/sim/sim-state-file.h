/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "sim-mcuboot.h"

G_BEGIN_DECLS

typedef struct {
	guint64 requests;
	guint64 dropped_requests;
	guint64 upload_bytes;
	guint64 resets;
	guint64 bad_frames;
	guint64 lost_datagrams; /* UDP: dropped by --udp-loss, either way */
} SimCounters;

/*
 * Replaces path atomically with a JSON view of what the device holds:
 * {"images": [{"image", "slots": [{"slot", "version", "hash", flags...}]}],
 *  "counters": {...}}; an empty slot has null version and hash.
 */
gboolean sim_state_file_write(const char *path, SimMcuboot *model, const SimCounters *counters,
                              GError **error);

/*
 * Replaces path with text so that a reader sees the old or the new file, never a part. No fsync:
 * the simulated flash has to outlive its process, not the machine, and a sync per write would
 * stall the simulated device for as long as a loaded disk takes.
 */
gboolean sim_state_file_replace(const char *path, const char *text, GError **error);

/* a named integer member, clamped to what JSON integers hold here */
void sim_state_file_add_counter(JsonBuilder *b, const char *name, guint64 value);

G_END_DECLS
