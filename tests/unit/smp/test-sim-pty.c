/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "smp-commands.h"
#include "smp-console.h"
#include "smp-message.h"

/* generous: only bounds a hang, the simulator answers at once with --baud 0 */
#define ANSWER_TIMEOUT_MS 5000

typedef struct {
	char *dir;
	char *link;
	char *state;
	GSubprocess *sim;
	int fd;
	SmpConsoleDecoder *decoder;
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
fixture_setup(Fixture *fx, gconstpointer data)
{
	const char *build_root = g_getenv("DFUD_BUILD_ROOT");
	g_autofree char *sim_path = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GDataInputStream) out = NULL;
	g_autofree char *line = NULL;
	g_autofree char *expected = NULL;
	struct termios tio;

	g_assert_nonnull(build_root);
	sim_path = g_build_filename(build_root, "tests", "sim", "dfu-sim", NULL);
	fx->dir = g_dir_make_tmp("dfu-sim-XXXXXX", &error);
	g_assert_no_error(error);
	fx->link = g_build_filename(fx->dir, "tty", NULL);
	fx->state = g_build_filename(fx->dir, "state.json", NULL);
	fx->sim = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, sim_path, "--link", fx->link,
	                           "--baud", "0", "--state-file", fx->state, NULL);
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
	fx->decoder = smp_console_decoder_new(4096);
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
	smp_console_decoder_free(fx->decoder);
	g_unlink(fx->state);
	g_unlink(fx->link);
	g_rmdir(fx->dir);
	g_free(fx->state);
	g_free(fx->link);
	g_free(fx->dir);
}

/* sends one request and waits for its answer */
static SmpMessage *
transact(Fixture *fx, guint8 op, guint16 group, guint8 id, guint8 seq, cbor_item_t *payload)
{
	SmpHeader hdr = {.op = op, .version = 1, .group = group, .id = id, .seq = seq};
	g_autoptr(GBytes) msg = smp_message_encode(&hdr, payload);
	g_autoptr(GBytes) lines = smp_console_encode(g_bytes_get_data(msg, NULL), g_bytes_get_size(msg));
	struct pollfd pfd = {.fd = fx->fd, .events = POLLIN};

	g_assert_cmpint(write(fx->fd, g_bytes_get_data(lines, NULL), g_bytes_get_size(lines)), ==,
	                (gssize)g_bytes_get_size(lines));
	while (fx->answer == NULL) {
		guint8 buf[512];
		gssize n;

		g_assert_cmpint(poll(&pfd, 1, ANSWER_TIMEOUT_MS), ==, 1);
		n = read(fx->fd, buf, sizeof(buf));
		g_assert_cmpint(n, >, 0);
		smp_console_decoder_feed(fx->decoder, buf, (gsize)n, on_frame, fx);
	}
	g_assert_cmpuint(fx->answer->hdr.op, ==, op + 1);
	g_assert_cmpuint(fx->answer->hdr.group, ==, group);
	g_assert_cmpuint(fx->answer->hdr.id, ==, id);
	g_assert_cmpuint(fx->answer->hdr.seq, ==, seq);
	return g_steal_pointer(&fx->answer);
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

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/sim/pty/params-and-state", Fixture, NULL, fixture_setup, test_params_and_state,
	           fixture_teardown);
	return g_test_run();
}
