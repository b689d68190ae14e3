/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "at-line.h"
#include "fuzz-target.h"

/* every line is classified; the =7 answer form is read from each as well */
static void
on_line(const AtLine *line, gpointer user_data)
{
	gint64 values[2];

	at_line_parse_numbers(line->text, "#XFOTA:", values, G_N_ELEMENTS(values));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(AtLineDecoder) dec = at_line_decoder_new(256);

	at_line_decoder_feed(dec, data, size, on_line, NULL);
	return 0;
}
