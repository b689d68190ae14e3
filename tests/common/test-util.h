/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* deletes a temporary test directory and everything below it */
void dfu_test_remove_tree(const char *path);
/* runs "openssl ARGS" in dir (split like a shell would) and fails the test when it fails */
void dfu_test_openssl(const char *dir, const char *args);

/* @unit (@unit_len bytes) @times over: "[[[[", 0x81 0x81 0x81, for inputs that nest deep */
GBytes *dfu_test_repeat(const char *unit, gsize unit_len, gsize times);

/* from now on each warning's message is added to @into (owned strings) instead of printed */
void dfu_test_capture_warnings(GPtrArray *into);
/* a frame callback of the serial decoders: appends a GBytes copy to the GPtrArray in user_data */
void dfu_test_collect_frame(const guint8 *msg, gsize len, gpointer user_data);
/* frame index of what dfu_test_collect_frame gathered holds exactly msg */
void dfu_test_assert_frame(GPtrArray *frames, guint index, const guint8 *msg, gsize len);

G_END_DECLS
