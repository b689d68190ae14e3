/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-error.h"
#include "dfu-framing-probe.h"
#include "memory-transport.h"
#include "smp-message.h"

/*
 * The probe over the in-memory pair: the device end answers a params request
 * only while the daemon end is set to the framing the device speaks.
 */
typedef struct {
	DfuTransport *host;
	DfuTransport *device;
	DfuFraming host_framing;
	gboolean device_answers;
	DfuFraming device_framing;
	guint requests;
	gboolean done;
	DfuFraming found;
	GError *error;
} Fixture;

static Fixture *current;

static void
set_framing(DfuTransport *transport, DfuFraming framing)
{
	current->host_framing = framing;
}

/* answers with "not supported", which still tells that the framing is right */
static void
on_device_packet(DfuTransport *transport, const guint8 *data, gsize len, gpointer user_data)
{
	Fixture *f = user_data;
	guint8 rsp[] = {0x09, 0x00, 0x00, 0x05, 0x00, 0x00, data[6], data[7], 0xa1, 0x62, 'r', 'c', 0x08};

	f->requests++;
	if (!f->device_answers || f->host_framing != f->device_framing)
		return;
	g_assert_true(dfu_transport_send(transport, rsp, sizeof(rsp), NULL));
}

static const DfuTransportCallbacks device_callbacks = {.packet = on_device_packet};

static void
on_done(DfuFraming found, const GError *error, gpointer user_data)
{
	Fixture *f = user_data;

	f->done = TRUE;
	f->found = found;
	f->error = error != NULL ? g_error_copy(error) : NULL;
}

/* refuse_open: the link cannot be opened at all */
static void
run_probe(Fixture *f, gboolean refuse_open)
{
	const DfuFramingProbeOptions opt = {
	        .timeout_ms = 50, .retries = 1, .baud = 115200, .set_framing = set_framing};
	g_autoptr(DfuFramingProbe) probe = NULL;

	current = f;
	dfu_memory_transport_new_pair(0, &f->host, &f->device);
	dfu_memory_transport_set_refuse_open(f->host, refuse_open);
	dfu_transport_set_callbacks(f->device, &device_callbacks, f);
	dfu_transport_open(f->device);
	probe = dfu_framing_probe_new(f->host, &opt, on_done, f);
	while (!f->done)
		g_main_context_iteration(NULL, TRUE);
}

static void
fixture_clear(Fixture *f)
{
	g_clear_error(&f->error);
	dfu_transport_free(f->host);
	dfu_transport_free(f->device);
}

static void
test_console_first(void)
{
	Fixture f = {.device_answers = TRUE, .device_framing = DFU_FRAMING_CONSOLE};

	run_probe(&f, FALSE);
	g_assert_no_error(f.error);
	g_assert_cmpint(f.found, ==, DFU_FRAMING_CONSOLE);
	g_assert_cmpuint(f.requests, ==, 1);
	fixture_clear(&f);
}

static void
test_finds_raw(void)
{
	Fixture f = {.device_answers = TRUE, .device_framing = DFU_FRAMING_RAW};

	run_probe(&f, FALSE);
	g_assert_no_error(f.error);
	g_assert_cmpint(f.found, ==, DFU_FRAMING_RAW);
	g_assert_cmpint(f.host_framing, ==, DFU_FRAMING_RAW);
	/* two tries in console framing, the first raw one answered */
	g_assert_cmpuint(f.requests, ==, 3);
	fixture_clear(&f);
}

/* what was tried is in the message, the command in words; two tries per framing, no more */
static void
test_silent(void)
{
	Fixture f = {.device_answers = FALSE};
	gint64 start = g_get_monotonic_time();

	run_probe(&f, FALSE);
	g_assert_error(f.error, DFU_ERROR, DFU_STATUS_RESPONSE_TIMEOUT);
	g_assert_cmpstr(
	        f.error->message, ==,
	        "no answer from the device to mcumgr params at 115200 baud in console or raw SMP framing");
	g_assert_cmpuint(f.requests, ==, 4);
	g_assert_cmpint(g_get_monotonic_time() - start, <, 2 * G_USEC_PER_SEC);
	fixture_clear(&f);
}

/* the link going away is no reason to try another framing */
static void
test_link_refused(void)
{
	Fixture f = {.device_answers = TRUE};

	run_probe(&f, TRUE);
	g_assert_error(f.error, DFU_ERROR, DFU_STATUS_LINK_NOT_FOUND);
	g_assert_cmpuint(f.requests, ==, 0);
	fixture_clear(&f);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/framing-probe/console-first", test_console_first);
	g_test_add_func("/framing-probe/finds-raw", test_finds_raw);
	g_test_add_func("/framing-probe/silent", test_silent);
	g_test_add_func("/framing-probe/link-refused", test_link_refused);
	return g_test_run();
}
