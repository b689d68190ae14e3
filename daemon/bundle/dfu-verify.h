/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "dfu-bundle.h"
#include "dfu-config.h"

G_BEGIN_DECLS

/* What the trust checks of one job go by; every string is borrowed. */
typedef struct {
	DfuSignaturePolicy policy;
	const char *key_dir;        /* the trusted public keys; NULL when none are configured */
	const char *signature_path; /* the bundle's detached signature; NULL when none came with it */
	const char *device_board;   /* Board= of the device's devices.d entry; NULL when not declared */
	const char *device;         /* how messages name the device */
} DfuVerifyOptions;

/*
 * Maps the bundle file and runs the trust checks before any byte reaches a
 * device: the detached bundle signature as the policy asks, checked over the
 * raw bytes before the bundle is parsed at all; then, on the loaded plan, each
 * MCUboot image's own signature TLV when a trusted key fits it, and the board
 * the bundle was built for. Every decision is appended to @log (char*, for the
 * job history), also on failure. Trust errors are DFU_ERROR BAD_SIGNATURE or
 * BOARD_MISMATCH; a bundle that cannot be read or parsed fails with its
 * 150-range code. Safe to run in a worker thread.
 */
DfuPlan *dfu_verify_load_file(const char *path, const char *name, const DfuVerifyOptions *options,
                              GPtrArray *log, GError **error);

/*
 * TRUE when @board (as a device declares it) is what a manifest's board and
 * soc name: equal, the first part of a Zephyr "board/soc[/cluster]" name, or
 * its old underscore spelling. NULL manifest fields match anything.
 */
gboolean dfu_verify_board_matches(const char *board, const char *manifest_board, const char *manifest_soc);

G_END_DECLS
