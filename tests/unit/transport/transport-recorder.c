/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "transport-recorder.h"

static void
on_opened(DfuTransport *t, const GError *error, gpointer user_data)
{
	TransportRecorder *rec = user_data;

	rec->opened = TRUE;
	g_clear_error(&rec->open_error);
	rec->open_error = error != NULL ? g_error_copy(error) : NULL;
	g_main_loop_quit(rec->loop);
}

static void
on_packet(DfuTransport *t, const guint8 *data, gsize len, gpointer user_data)
{
	TransportRecorder *rec = user_data;

	g_ptr_array_add(rec->packets, g_bytes_new(data, len));
	g_main_loop_quit(rec->loop);
}

static void
on_closed(DfuTransport *t, const GError *error, gpointer user_data)
{
	TransportRecorder *rec = user_data;

	rec->closed = TRUE;
	g_clear_error(&rec->close_error);
	rec->close_error = error != NULL ? g_error_copy(error) : NULL;
	g_main_loop_quit(rec->loop);
}

static const DfuTransportCallbacks recorder_callbacks = {on_opened, on_packet, on_closed};

void
transport_recorder_init(TransportRecorder *rec)
{
	*rec = (TransportRecorder){
	        .loop = g_main_loop_new(NULL, FALSE),
	        .packets = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref),
	};
}

void
transport_recorder_clear(TransportRecorder *rec)
{
	g_clear_error(&rec->open_error);
	g_clear_error(&rec->close_error);
	g_clear_pointer(&rec->packets, g_ptr_array_unref);
	g_clear_pointer(&rec->loop, g_main_loop_unref);
}

void
transport_recorder_attach(TransportRecorder *rec, DfuTransport *t)
{
	dfu_transport_set_callbacks(t, &recorder_callbacks, rec);
}
