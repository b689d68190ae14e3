/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Bounds for a JSON or CBOR document that comes from outside. json-glib and
 * libcbor descend recursively, so a few hundred kilobytes of "[[[[" exhaust
 * the stack; these checks walk the bytes without recursion before the real
 * parser sees them.
 */
typedef struct {
	const char *what; /* how messages name the document: "manifest.json" */
	gsize max_size;
	guint max_depth; /* containers (and CBOR tags) inside one another */
	guint code;      /* the DFU_ERROR code of a document past the limits */
} DfuNestingLimits;

/*
 * Checks the size of @data and how deep its arrays and objects nest, skipping
 * strings. Nothing else is validated: that is the JSON parser's job.
 */
gboolean dfu_json_check_limits(const char *data, gsize len, const DfuNestingLimits *limits, GError **error);

/*
 * Walks the item heads of one CBOR item in @data: checks that it is complete,
 * that every announced length fits in the bytes left (libcbor allocates an
 * array for its announced size before reading it), that indefinite lengths
 * are used only where allowed, and the nesting depth. Bytes after the item
 * are left to the caller.
 */
gboolean dfu_cbor_check_limits(const guint8 *data, gsize len, const DfuNestingLimits *limits, GError **error);

G_END_DECLS
