/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A text table whose columns are as wide as their widest cell. */
typedef struct _DfuctlTable DfuctlTable;

/* headers: the column titles, NULL-terminated; a title starting with '>' is right-aligned (the '>' is
 * not shown) */
DfuctlTable *dfuctl_table_new(const char *const *headers);
void dfuctl_table_free(DfuctlTable *table);
/* one cell per column; NULL or "" cells show as "-"; the table copies them */
void dfuctl_table_add_row(DfuctlTable *table, const char *const *cells);
guint dfuctl_table_n_rows(const DfuctlTable *table);
/* the header and the rows, each line ending in a newline; the last column is not padded */
char *dfuctl_table_format(const DfuctlTable *table);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuctlTable, dfuctl_table_free)

G_END_DECLS
