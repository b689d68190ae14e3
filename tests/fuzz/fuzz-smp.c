/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-target.h"
#include "smp-commands.h"
#include "smp-console.h"
#include "smp-message.h"

/* every decoded console frame goes through the message parser as well */
static void
parse_message(const guint8 *msg, gsize len, gpointer user_data)
{
	g_autoptr(SmpMessage) parsed = smp_message_parse(msg, len, NULL);
	g_autoptr(GPtrArray) slots = NULL;
	SmpError err = {0};
	SmpParams params = {0};
	guint64 off = 0;
	int match = -1;

	if (parsed == NULL || parsed->payload == NULL)
		return;
	smp_response_get_error(parsed->payload, &err);
	smp_error_clear(&err);
	smp_rsp_params(parsed->payload, &params, NULL);
	smp_rsp_image_upload(parsed->payload, &off, &match, NULL);
	slots = smp_rsp_image_state(parsed->payload, NULL);
	/* re-encoding what was decoded must work for any accepted message */
	g_bytes_unref(smp_message_encode(&parsed->hdr, parsed->payload));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(SmpConsoleDecoder) dec = smp_console_decoder_new(1024);

	parse_message(data, size, NULL);
	smp_console_decoder_feed(dec, data, size, parse_message, NULL);
	return 0;
}
