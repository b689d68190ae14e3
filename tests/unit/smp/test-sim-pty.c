/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "mcuboot-writer.h"
#include "smp-commands.h"
#include "smp-console.h"
#include "smp-framing.h"
#include "smp-message.h"

/* generous: only bounds a hang, the simulator answers at once with --baud 0 */
#define ANSWER_TIMEOUT_MS 5000
#define RETRY_MS 100

typedef struct {
	char *dir;
	char *link;
	char *state;
	GSubprocess *sim;
	int fd;
	DfuFraming framing;
	SmpFramer *framer;
	SmpMessage *answer;
} Fixture;

static void
on_frame(const guint8 *msg, gsize len, gpointer data)
{
	Fixture *fx = data;
	g_autoptr(GError) error = NULL;

	g_assert_null(fx->answer);
	fx->answer = smp_message_parse(msg, len, &error);
	g_assert_no_error(error);
}

static void
die_with_parent(gpointer data)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	const char *build_root = g_getenv("DFUD_BUILD_ROOT");
	g_autofree char *sim_path = NULL;
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GDataInputStream) out = NULL;
	g_autofree char *line = NULL;
	g_autofree char *expected = NULL;
	struct termios tio;

	g_assert_nonnull(build_root);
	sim_path = g_build_filename(build_root, "tests", "sim", "dfu-sim", NULL);
	fx->dir = g_dir_make_tmp(NULL, &error);
	g_assert_no_error(error);
	fx->link = g_build_filename(fx->dir, "tty", NULL);
	fx->state = g_build_filename(fx->dir, "state.json", NULL);
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	/* a failed assertion aborts the test: the simulator must not outlive it */
	g_subprocess_launcher_set_child_setup(launcher, die_with_parent, NULL, NULL);
	fx->framing = data != NULL ? *(const DfuFraming *)data : DFU_FRAMING_CONSOLE;
	fx->sim = g_subprocess_launcher_spawn(launcher, &error, sim_path, "--link", fx->link, "--baud", "0",
	                                      "--state-file", fx->state, "--reset-ms", "5", "--boot-ms", "20",
	                                      "--framing", dfu_framing_to_string(fx->framing), NULL);
	g_assert_no_error(error);

	out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(fx->sim));
	line = g_data_input_stream_read_line(out, NULL, NULL, &error);
	g_assert_no_error(error);
	expected = g_strdup_printf("READY %s", fx->link);
	g_assert_cmpstr(line, ==, expected);

	fx->fd = open(fx->link, O_RDWR | O_NOCTTY);
	g_assert_cmpint(fx->fd, >=, 0);
	g_assert_cmpint(tcgetattr(fx->fd, &tio), ==, 0);
	cfmakeraw(&tio);
	g_assert_cmpint(tcsetattr(fx->fd, TCSANOW, &tio), ==, 0);
	fx->framer = smp_framer_new(fx->framing, 4096);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	if (fx->fd >= 0)
		close(fx->fd);
	if (fx->sim != NULL) {
		g_subprocess_force_exit(fx->sim);
		g_subprocess_wait(fx->sim, NULL, NULL);
		g_object_unref(fx->sim);
	}
	g_clear_pointer(&fx->answer, smp_message_free);
	smp_framer_free(fx->framer);
	g_unlink(fx->state);
	g_unlink(fx->link);
	g_rmdir(fx->dir);
	g_free(fx->state);
	g_free(fx->link);
	g_free(fx->dir);
}

/* sends one request and waits for its answer; a silent device gets it up to attempts times */
static SmpMessage *
transact_retry(Fixture *fx, guint8 op, guint16 group, guint8 id, guint8 seq, cbor_item_t *payload,
               guint attempts)
{
	SmpHeader hdr = {.op = op, .version = 1, .group = group, .id = id, .seq = seq};
	g_autoptr(GBytes) msg = smp_message_encode(&hdr, payload);
	g_autoptr(GBytes) lines =
	        smp_framer_encode(fx->framer, g_bytes_get_data(msg, NULL), g_bytes_get_size(msg));
	struct pollfd pfd = {.fd = fx->fd, .events = POLLIN};

	for (guint attempt = 0; fx->answer == NULL; attempt++) {
		g_assert_cmpuint(attempt, <, attempts);
		g_assert_cmpint(write(fx->fd, g_bytes_get_data(lines, NULL), g_bytes_get_size(lines)), ==,
		                (gssize)g_bytes_get_size(lines));
		while (fx->answer == NULL) {
			guint8 buf[512];
			gssize n;

			if (poll(&pfd, 1, attempts > 1 ? RETRY_MS : ANSWER_TIMEOUT_MS) != 1)
				break;
			n = read(fx->fd, buf, sizeof(buf));
			g_assert_cmpint(n, >, 0);
			smp_framer_feed(fx->framer, buf, (gsize)n, on_frame, fx);
		}
	}
	g_assert_cmpuint(fx->answer->hdr.op, ==, op + 1);
	g_assert_cmpuint(fx->answer->hdr.group, ==, group);
	g_assert_cmpuint(fx->answer->hdr.id, ==, id);
	g_assert_cmpuint(fx->answer->hdr.seq, ==, seq);
	return g_steal_pointer(&fx->answer);
}

static SmpMessage *
transact(Fixture *fx, guint8 op, guint16 group, guint8 id, guint8 seq, cbor_item_t *payload)
{
	return transact_retry(fx, op, group, id, seq, payload, 1);
}

static void
test_upload_test_reset(Fixture *fx, gconstpointer data)
{
	McubootWriterOptions opts = {.version = {2, 1, 0, 0}, .payload_size = 5000, .seed = 3};
	g_autoptr(GBytes) file = mcuboot_writer_build(&opts, NULL);
	const guint8 *bytes = g_bytes_get_data(file, NULL);
	gsize size = g_bytes_get_size(file);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) slots = NULL;
	g_autoptr(SmpMessage) state_rsp = NULL;
	McubootImageInfo info;
	const SmpImageSlot *slot;
	guint64 off = 0;
	guint8 seq = 10;
	cbor_item_t *req;

	g_assert_true(mcuboot_image_parse(bytes, size, &info, NULL));
	while (off < size) {
		gsize chunk = MIN(200, size - off);
		g_autoptr(SmpMessage) rsp = NULL;
		int match = -1;

		req = smp_cmd_image_upload(0, off, bytes + off, chunk, size, NULL, 0, FALSE);
		rsp = transact(fx, SMP_OP_WRITE, SMP_GROUP_IMAGE, SMP_IMAGE_UPLOAD, seq++, req);
		cbor_decref(&req);
		g_assert_true(smp_rsp_image_upload(rsp->payload, &off, &match, &error));
		g_assert_no_error(error);
	}
	g_assert_cmpuint(off, ==, size);

	req = smp_cmd_image_state_write(info.hash, info.hash_len, FALSE);
	state_rsp = transact(fx, SMP_OP_WRITE, SMP_GROUP_IMAGE, SMP_IMAGE_STATE, seq++, req);
	cbor_decref(&req);
	slots = smp_rsp_image_state(state_rsp->payload, &error);
	g_assert_no_error(error);
	slot = smp_image_state_find_hash(slots, 0, info.hash, info.hash_len);
	g_assert_nonnull(slot);
	g_assert_true(slot->pending);
	g_clear_pointer(&slots, g_ptr_array_unref);
	g_clear_pointer(&state_rsp, smp_message_free);

	req = smp_cmd_reset(FALSE);
	smp_message_free(transact(fx, SMP_OP_WRITE, SMP_GROUP_OS, SMP_OS_RESET, seq++, req));
	cbor_decref(&req);
	/* the device reboots a little later and is silent while it boots: ask until the swap shows */
	for (guint attempt = 0; attempt < 200; attempt++) {
		const SmpImageSlot *running;

		g_clear_pointer(&slots, g_ptr_array_unref);
		g_clear_pointer(&state_rsp, smp_message_free);
		req = smp_cmd_empty();
		state_rsp = transact_retry(fx, SMP_OP_READ, SMP_GROUP_IMAGE, SMP_IMAGE_STATE, seq++, req, 50);
		cbor_decref(&req);
		slots = smp_rsp_image_state(state_rsp->payload, &error);
		g_assert_no_error(error);
		running = smp_image_state_find_slot(slots, 0, 0);
		g_assert_nonnull(running);
		if (g_strcmp0(running->version, "1.0.0") != 0)
			break;
		g_usleep(10 * 1000);
	}
	slot = smp_image_state_find_slot(slots, 0, 0);
	g_assert_nonnull(slot);
	g_assert_cmpstr(slot->version, ==, "2.1.0");
	g_assert_true(slot->active);
	g_assert_false(slot->confirmed);
}

static void
test_params_and_state(Fixture *fx, gconstpointer data)
{
	g_autoptr(SmpMessage) params_rsp = NULL;
	g_autoptr(SmpMessage) state_rsp = NULL;
	g_autoptr(GPtrArray) slots = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *state = NULL;
	const SmpImageSlot *slot;
	SmpParams params = {0};
	cbor_item_t *empty = smp_cmd_empty();

	params_rsp = transact(fx, SMP_OP_READ, SMP_GROUP_OS, SMP_OS_PARAMS, 1, empty);
	g_assert_true(smp_rsp_params(params_rsp->payload, &params, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(params.buf_size, ==, 384);
	g_assert_cmpuint(params.buf_count, ==, 4);

	state_rsp = transact(fx, SMP_OP_READ, SMP_GROUP_IMAGE, SMP_IMAGE_STATE, 2, empty);
	cbor_decref(&empty);
	slots = smp_rsp_image_state(state_rsp->payload, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(slots->len, ==, 1);
	slot = g_ptr_array_index(slots, 0);
	g_assert_cmpuint(slot->slot, ==, 0);
	g_assert_cmpstr(slot->version, ==, "1.0.0");
	g_assert_cmpuint(g_bytes_get_size(slot->hash), ==, 32);
	g_assert_true(slot->active);
	g_assert_true(slot->confirmed);
	g_assert_false(slot->pending);

	/* SIGTERM: clean exit, symlink gone, counters in the state file */
	g_subprocess_send_signal(fx->sim, SIGTERM);
	g_assert_true(g_subprocess_wait_check(fx->sim, NULL, &error));
	g_assert_no_error(error);
	g_assert_false(g_file_test(fx->link, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK));
	g_assert_true(g_file_get_contents(fx->state, &state, NULL, &error));
	g_assert_nonnull(strstr(state, "\"requests\" : 2"));
	g_assert_nonnull(strstr(state, "\"version\" : \"1.0.0\""));
}

/* a raw device takes console lines for line noise: no answer, and the next raw request is understood */
static void
test_raw_ignores_console(Fixture *fx, gconstpointer data)
{
	SmpHeader hdr = {
	        .op = SMP_OP_READ, .version = 1, .group = SMP_GROUP_OS, .id = SMP_OS_PARAMS, .seq = 9};
	g_autoptr(GBytes) msg = smp_message_encode(&hdr, NULL);
	g_autoptr(GBytes) lines = smp_console_encode(g_bytes_get_data(msg, NULL), g_bytes_get_size(msg));
	g_autoptr(SmpMessage) rsp = NULL;
	cbor_item_t *empty = smp_cmd_empty();
	struct pollfd pfd = {.fd = fx->fd, .events = POLLIN};

	g_assert_cmpint(write(fx->fd, g_bytes_get_data(lines, NULL), g_bytes_get_size(lines)), ==,
	                (gssize)g_bytes_get_size(lines));
	g_assert_cmpint(poll(&pfd, 1, 300), ==, 0);
	rsp = transact(fx, SMP_OP_READ, SMP_GROUP_OS, SMP_OS_PARAMS, 10, empty);
	cbor_decref(&empty);
	g_assert_nonnull(rsp);
}

int
main(int argc, char **argv)
{
	static const DfuFraming raw = DFU_FRAMING_RAW;

	g_test_init(&argc, &argv, NULL);
	g_test_add("/sim/pty/params-and-state", Fixture, NULL, fixture_setup, test_params_and_state,
	           fixture_teardown);
	g_test_add("/sim/pty/upload-test-reset", Fixture, NULL, fixture_setup, test_upload_test_reset,
	           fixture_teardown);
	g_test_add("/sim/pty/raw/params-and-state", Fixture, &raw, fixture_setup, test_params_and_state,
	           fixture_teardown);
	g_test_add("/sim/pty/raw/upload-test-reset", Fixture, &raw, fixture_setup, test_upload_test_reset,
	           fixture_teardown);
	g_test_add("/sim/pty/raw/ignores-console", Fixture, &raw, fixture_setup, test_raw_ignores_console,
	           fixture_teardown);
	return g_test_run();
}
