/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "dfuctl-table.h"

struct _DfuctlTable {
	guint n_columns;
	GPtrArray *headers; /* char * */
	gboolean *right;    /* per column */
	GPtrArray *rows;    /* GStrv, n_columns cells each */
};

DfuctlTable *
dfuctl_table_new(const char *const *headers)
{
	DfuctlTable *table = g_new0(DfuctlTable, 1);

	table->n_columns = g_strv_length((char **)headers);
	table->headers = g_ptr_array_new_with_free_func(g_free);
	table->right = g_new0(gboolean, table->n_columns);
	table->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	for (guint i = 0; i < table->n_columns; i++) {
		table->right[i] = headers[i][0] == '>';
		g_ptr_array_add(table->headers, g_strdup(headers[i] + table->right[i]));
	}
	return table;
}

void
dfuctl_table_free(DfuctlTable *table)
{
	if (table == NULL)
		return;
	g_ptr_array_unref(table->headers);
	g_ptr_array_unref(table->rows);
	g_free(table->right);
	g_free(table);
}

void
dfuctl_table_add_row(DfuctlTable *table, const char *const *cells)
{
	char **row = g_new0(char *, table->n_columns + 1);

	for (guint i = 0; i < table->n_columns; i++)
		row[i] = g_strdup(cells[i] != NULL && cells[i][0] != '\0' ? cells[i] : "-");
	g_ptr_array_add(table->rows, row);
}

guint
dfuctl_table_n_rows(const DfuctlTable *table)
{
	return table->rows->len;
}

/* width on the terminal: characters, not bytes */
static gsize
cell_width(const char *cell)
{
	return g_utf8_validate(cell, -1, NULL) ? (gsize)g_utf8_strlen(cell, -1) : strlen(cell);
}

static void
append_line(GString *text, const DfuctlTable *table, char *const *cells, const gsize *widths)
{
	for (guint i = 0; i < table->n_columns; i++) {
		gboolean last = i + 1 == table->n_columns;
		gsize pad = widths[i] - cell_width(cells[i]);

		if (i > 0)
			g_string_append(text, "  ");
		if (table->right[i])
			g_string_append_printf(text, "%*s", (int)pad, "");
		g_string_append(text, cells[i]);
		if (!table->right[i] && !last)
			g_string_append_printf(text, "%*s", (int)pad, "");
	}
	g_string_append_c(text, '\n');
}

char *
dfuctl_table_format(const DfuctlTable *table)
{
	g_autofree gsize *widths = g_new0(gsize, table->n_columns);
	GString *text = g_string_new(NULL);

	for (guint i = 0; i < table->n_columns; i++)
		widths[i] = cell_width(g_ptr_array_index(table->headers, i));
	for (guint r = 0; r < table->rows->len; r++) {
		char **row = g_ptr_array_index(table->rows, r);

		for (guint i = 0; i < table->n_columns; i++)
			widths[i] = MAX(widths[i], cell_width(row[i]));
	}
	append_line(text, table, (char *const *)table->headers->pdata, widths);
	for (guint r = 0; r < table->rows->len; r++)
		append_line(text, table, g_ptr_array_index(table->rows, r), widths);
	return g_string_free(text, FALSE);
}
