/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-bundle.h"

G_BEGIN_DECLS

/* the lines `dfuctl inspect` prints for a plan */
char *dfuctl_format_plan(const DfuPlan *plan);
/* the plan as one JSON line */
char *dfuctl_json_plan(const DfuPlan *plan);
/* "dfuctl: <file>: failed: <name> (<code>): <message>" and the hint */
char *dfuctl_format_bundle_failure(const GError *error);

typedef enum {
	DFUCTL_SIGNATURE_UNSIGNED,  /* no detached signature beside the bundle */
	DFUCTL_SIGNATURE_VERIFIED,  /* a trusted key verified it */
	DFUCTL_SIGNATURE_BAD,       /* none of the trusted keys verifies it */
	DFUCTL_SIGNATURE_UNCHECKED, /* signed, but there are no keys to check with */
} DfuctlSignatureState;

typedef struct {
	DfuctlSignatureState state;
	char *key;     /* the key file that verified, for VERIFIED */
	char *message; /* why, for BAD and UNCHECKED */
} DfuctlSignatureCheck;

void dfuctl_signature_check_clear(DfuctlSignatureCheck *check);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(DfuctlSignatureCheck, dfuctl_signature_check_clear)

/* checks @sig_path (NULL: unsigned) over @bundle_path with the keys of @key_dir (NULL: none) */
void dfuctl_check_signature(const char *bundle_path, const char *sig_path, const char *key_dir,
                            DfuctlSignatureCheck *check);
/* "signed, verified by <key>", "signature does not verify (...)", "unsigned", ... */
char *dfuctl_format_signature(const DfuctlSignatureCheck *check);
/* the plan and the signature status as one JSON line */
char *dfuctl_json_inspection(const DfuPlan *plan, const DfuctlSignatureCheck *check);

G_END_DECLS
