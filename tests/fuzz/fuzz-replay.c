/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs one fuzz target without libFuzzer: the seeds it is given (generated
 * here, or files and directories such as a libFuzzer corpus or a crash file),
 * then a fixed number of deterministic mutations of them. Built with any
 * compiler, so that every parser meets broken input in the normal test suite.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "fuzz-target.h"
#include "bundle-writer.h"
#include "mcuboot-writer.h"
#include "nrf5-writer.h"
#include "smp-console.h"
#include "smp-message.h"
#include "slip.h"
#include "test-util.h"

/* as large as libFuzzer's -max_len=1048576: deep nesting needs room */
#define REPLAY_MAX_INPUT (1024 * 1024)
/* far past every nesting limit, yet cheap to copy for each mutation */
#define DEEP_SEED_LEVELS 10000
/* as deep as the manifest that once overflowed the stack; deflated, it stays small */
#define DEEP_ZIP_LEVELS 200000

/* the input being run, for the crash handler to save */
static const guint8 *current_data;
static gsize current_len;
static char crash_path[512];

static void
on_crash(int sig)
{
	int fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	static const char note[] = "fuzz-replay: the failing input is in ";

	if (fd >= 0) {
		ssize_t ignored = write(fd, current_data, current_len);

		(void)ignored;
		close(fd);
		ignored = write(STDERR_FILENO, note, sizeof(note) - 1);
		ignored = write(STDERR_FILENO, crash_path, strlen(crash_path));
		ignored = write(STDERR_FILENO, "\n", 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
run_one(const guint8 *data, gsize len)
{
	/* a copy of exactly len bytes, so that a read past the end is caught by the sanitizers */
	g_autofree guint8 *copy = g_memdup2(data, len);

	current_data = copy;
	current_len = len;
	LLVMFuzzerTestOneInput(copy, len);
	current_data = NULL;
}

static void
add_bytes(GPtrArray *seeds, GBytes *bytes)
{
	if (bytes == NULL)
		g_error("cannot build a seed");
	g_ptr_array_add(seeds, bytes);
}

static GBytes *
image(guint8 major, gsize size, gboolean sha512, gboolean protected_tlv, const char *key)
{
	McubootWriterOptions opts = {
	        .version = {major, 2, 3, 4},
	        .payload_size = size,
	        .seed = major,
	        .sha512 = sha512,
	        .protected_tlv = protected_tlv,
	        .security_counter = 7,
	        .sign_key_path = key,
	};

	return mcuboot_writer_build(&opts, NULL);
}

static void
seed_images(GPtrArray *seeds)
{
	g_autofree char *dir = g_dir_make_tmp("dfud-fuzz-XXXXXX", NULL);
	g_autofree char *ec = g_build_filename(dir, "ec.pem", NULL);
	g_autofree char *ed = g_build_filename(dir, "ed.pem", NULL);

	if (!mcuboot_writer_generate_key(ec, NULL) || !mcuboot_writer_generate_ed25519_key(ed, NULL))
		g_error("cannot make signing keys");
	add_bytes(seeds, image(1, 200, FALSE, FALSE, NULL));
	add_bytes(seeds, image(2, 100, TRUE, TRUE, NULL));
	add_bytes(seeds, image(3, 150, FALSE, TRUE, ec));
	add_bytes(seeds, image(4, 50, FALSE, FALSE, ed));
	g_unlink(ec);
	g_unlink(ed);
	g_rmdir(dir);
}

static void
seed_zips(GPtrArray *seeds)
{
	g_autoptr(GBytes) app = image(1, 300, FALSE, FALSE, NULL);
	g_autoptr(GBytes) net = image(2, 120, FALSE, TRUE, NULL);
	const BundleWriterImage images[] = {{"app_update.bin", app, 0}, {"net_core_app_update.bin", net, 1}};
	const BundleWriterManifestOptions opts = {
	        .board = "nrf5340dk/nrf5340/cpuapp", .soc = "nrf5340", .string_index = TRUE};
	const BundleWriterManifestOptions plain = {0};

	g_autoptr(GBytes) deep = dfu_test_repeat("[", 1, DEEP_ZIP_LEVELS);

	add_bytes(seeds, bundle_writer_dfu_zip(images, G_N_ELEMENTS(images), &opts, NULL));
	add_bytes(seeds, bundle_writer_dfu_zip(images, 1, &plain, NULL));
	/* a few hundred bytes that inflate to a manifest nesting past any stack */
	add_bytes(seeds, bundle_writer_manifest_zip(deep, NULL));
}

static void
seed_nrf5(GPtrArray *seeds)
{
	g_autoptr(GBytes) app = g_bytes_new_static("application firmware", 20);
	g_autoptr(GBytes) boot = g_bytes_new_static("bootloader", 10);
	const Nrf5WriterImage images[] = {{NRF5_IMAGE_APPLICATION, app, NULL},
	                                  {NRF5_IMAGE_BOOTLOADER, boot, NULL}};

	add_bytes(seeds, nrf5_writer_zip(images, G_N_ELEMENTS(images), NULL));
}

static void
seed_manifests(GPtrArray *seeds)
{
	g_autoptr(GBytes) app = image(1, 64, FALSE, FALSE, NULL);
	g_autoptr(GBytes) firmware = g_bytes_new_static("firmware", 8);
	const BundleWriterImage images[] = {{"app.bin", app, 0}, {"net.bin", app, 1}};
	const BundleWriterManifestOptions opts = {
	        .board = "nrf52840dk", .soc = "nrf52840", .string_index = TRUE};
	const Nrf5WriterImage nrf5[] = {{NRF5_IMAGE_SOFTDEVICE_BOOTLOADER, firmware, NULL},
	                                {NRF5_IMAGE_APPLICATION, firmware, NULL}};
	char *text;

	text = bundle_writer_manifest(images, G_N_ELEMENTS(images), &opts);
	add_bytes(seeds, g_bytes_new_take(text, strlen(text)));
	text = nrf5_writer_manifest(nrf5, G_N_ELEMENTS(nrf5));
	add_bytes(seeds, g_bytes_new_take(text, strlen(text)));
	/* nesting past the limits: arrays, objects, and an nRF5 manifest that goes deep */
	add_bytes(seeds, dfu_test_repeat("[", 1, DEEP_SEED_LEVELS));
	add_bytes(seeds, dfu_test_repeat("{\"files\":", 9, DEEP_SEED_LEVELS / 10));
	add_bytes(seeds, dfu_test_repeat("{\"manifest\":{\"application\":[", 29, DEEP_SEED_LEVELS / 30));
}

/* {"a": [[[[...: a payload nesting 4000 levels, far past the limit */
static GBytes *
deep_smp_frame(guint8 head)
{
	const gsize len = 4000;
	const SmpHeader hdr = {.op = SMP_OP_READ_RSP, .len = len, .group = SMP_GROUP_IMAGE};
	guint8 *frame = g_malloc(SMP_HEADER_SIZE + len);

	smp_header_write(&hdr, frame);
	memset(frame + SMP_HEADER_SIZE, head, len);
	memcpy(frame + SMP_HEADER_SIZE, (const guint8[]){0xa1, 0x61, 0x61}, 3);
	return g_bytes_new_take(frame, SMP_HEADER_SIZE + len);
}

/* answers a device gives, bare and in console framing, and frames that nest too deep */
static void
seed_smp(GPtrArray *seeds)
{
	static const guint8 hash[32] = {1, 2, 3};
	SmpHeader hdr = {.op = SMP_OP_READ_RSP, .version = 1, .group = SMP_GROUP_IMAGE, .seq = 3};
	cbor_item_t *payloads[4];

	payloads[0] = smp_map_new();
	{
		cbor_item_t *list = cbor_new_indefinite_array();
		cbor_item_t *slot = smp_map_new();

		smp_map_add_uint(slot, "slot", 0);
		smp_map_add_text(slot, "version", "1.2.3");
		smp_map_add_bytes(slot, "hash", hash, sizeof(hash));
		smp_map_add_bool(slot, "active", TRUE);
		smp_map_add_bool(slot, "confirmed", TRUE);
		if (!cbor_array_push(list, slot))
			g_error("out of memory");
		cbor_decref(&slot);
		smp_map_add_item(payloads[0], "images", list);
	}
	payloads[1] = smp_map_new();
	smp_map_add_uint(payloads[1], "buf_size", 2475);
	smp_map_add_uint(payloads[1], "buf_count", 4);
	payloads[2] = smp_map_new();
	smp_map_add_uint(payloads[2], "off", 4096);
	smp_map_add_bool(payloads[2], "match", TRUE);
	payloads[3] = smp_map_new();
	{
		cbor_item_t *err = smp_map_new();

		smp_map_add_uint(err, "group", 1);
		smp_map_add_uint(err, "rc", 30);
		smp_map_add_item(payloads[3], "err", err);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(payloads); i++) {
		g_autoptr(GBytes) msg = smp_message_encode(&hdr, payloads[i]);
		gsize len = 0;
		const guint8 *data = g_bytes_get_data(msg, &len);

		add_bytes(seeds, smp_console_encode(data, len));
		add_bytes(seeds, g_steal_pointer(&msg));
		cbor_decref(&payloads[i]);
	}
	/* definite arrays, indefinite ones, and tags */
	add_bytes(seeds, deep_smp_frame(0x81));
	add_bytes(seeds, deep_smp_frame(0x9f));
	add_bytes(seeds, deep_smp_frame(0xc1));
}

/* nRF5 DFU responses in SLIP: a select answer with escapes, a PRN CRC, an extended error */
static void
seed_slip(GPtrArray *seeds)
{
	static const guint8 frames[][15] = {
	        {0x60, 0x06, 0x01, 0x00, 0x10, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0xDB, 0xC0, 0xDB, 0x01},
	        {0x60, 0x03, 0x01, 0x40, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78},
	        {0x60, 0x04, 0x0B, 0x05},
	};
	static const gsize lens[] = {15, 11, 4};

	for (gsize i = 0; i < G_N_ELEMENTS(frames); i++)
		add_bytes(seeds, slip_encode(frames[i], lens[i]));
}

/* what a modem says during an update, with notifications between commands and their results */
static void
seed_at(GPtrArray *seeds)
{
	static const char *const texts[] = {
	        "\r\nReady\r\n\r\n#XSLMVER: \"2.5.0\",\"v2.5.0\"\r\n\r\nOK\r\n",
	        "\r\n#XFOTA: (0,1,2,3,5,7,9),<file_url>,<sec_tag>,<pdn_id>\r\n\r\nOK\r\n",
	        "\r\n#XFOTA: 1,0,0\r\n\r\nOK\r\n\r\n#XFOTA: 1,0,50\r\n\r\n#XFOTA: 4,0\r\n",
	        "\r\n#XFOTA: 1,1,-22\r\n\r\nERROR\r\n\r\n+CME ERROR: 23\r\n+CMS ERROR: 500\r\n",
	        "\r\n#XFOTA: 1048576,2621440\r\nOK\r\nINIT ERROR\r\n#XFOTA: 5,1,71303171\r\n",
	};

	for (gsize i = 0; i < G_N_ELEMENTS(texts); i++)
		add_bytes(seeds, g_bytes_new_static(texts[i], strlen(texts[i])));
}

static const struct {
	const char *name;
	void (*add)(GPtrArray *seeds);
} seed_kinds[] = {
        {"image", seed_images}, {"zip", seed_zips},  {"nrf5", seed_nrf5}, {"manifest", seed_manifests},
        {"smp", seed_smp},      {"slip", seed_slip}, {"at", seed_at},
};

static gboolean
add_seed_kinds(GPtrArray *seeds, const char *list, GError **error)
{
	g_auto(GStrv) names = g_strsplit(list, ",", -1);

	for (guint i = 0; names[i] != NULL; i++) {
		gsize k;

		for (k = 0; k < G_N_ELEMENTS(seed_kinds); k++) {
			if (g_str_equal(names[i], seed_kinds[k].name))
				break;
		}
		if (k == G_N_ELEMENTS(seed_kinds)) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			            "unknown seed kind '%s' (image, zip, nrf5, manifest, smp, slip)",
			            names[i]);
			return FALSE;
		}
		seed_kinds[k].add(seeds);
	}
	return TRUE;
}

static gboolean
add_seed_file(GPtrArray *seeds, const char *path, GError **error)
{
	g_autofree char *data = NULL;
	gsize len = 0;

	if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
		g_autoptr(GDir) dir = g_dir_open(path, 0, error);
		const char *name;

		if (dir == NULL)
			return FALSE;
		while ((name = g_dir_read_name(dir)) != NULL) {
			g_autofree char *child = g_build_filename(path, name, NULL);

			if (!add_seed_file(seeds, child, error))
				return FALSE;
		}
		return TRUE;
	}
	if (!g_file_get_contents(path, &data, &len, error))
		return FALSE;
	g_ptr_array_add(seeds, g_bytes_new_take(g_steal_pointer(&data), len));
	return TRUE;
}

static const guint32 interesting[] = {0,       1,          2,          4,         8,      0x7f,
                                      0x80,    0xff,       0x100,      0x7fff,    0x8000, 0xffff,
                                      0x10000, 0x7fffffff, 0x80000000, 0xffffffff};

static void
put_le(GByteArray *buf, gsize pos, guint32 value, guint width)
{
	for (guint i = 0; i < width && pos + i < buf->len; i++)
		buf->data[pos + i] = (guint8)(value >> (8 * i));
}

typedef struct {
	GRand *rand;
	GByteArray *buf;
	GPtrArray *seeds;
	gsize pos; /* where the change goes, inside buf unless it is empty */
	gsize n;   /* how much it changes, 1-16 */
} Mutation;

static void
insert_at(GByteArray *buf, gsize pos, const guint8 *data, gsize len)
{
	gsize old = buf->len;

	g_byte_array_set_size(buf, old + len);
	memmove(buf->data + pos + len, buf->data + pos, old - pos);
	memcpy(buf->data + pos, data, len);
}

static void
flip_bit(Mutation *m)
{
	m->buf->data[m->pos] ^= 1u << g_rand_int_range(m->rand, 0, 8);
}

static guint32
pick_interesting(GRand *rand)
{
	return interesting[g_rand_int_range(rand, 0, G_N_ELEMENTS(interesting))];
}

static void
set_byte(Mutation *m)
{
	m->buf->data[m->pos] = (guint8)pick_interesting(m->rand);
}

/* lengths and offsets are 16 or 32 bits wide in every format here */
static void
set_number(Mutation *m)
{
	put_le(m->buf, m->pos, pick_interesting(m->rand), g_rand_boolean(m->rand) ? 2 : 4);
}

static void
delete_bytes(Mutation *m)
{
	g_byte_array_remove_range(m->buf, m->pos, MIN(m->n, m->buf->len - m->pos));
}

static void
insert_bytes(Mutation *m)
{
	for (gsize i = 0; i < m->n && m->buf->len < REPLAY_MAX_INPUT; i++) {
		guint8 byte = (guint8)g_rand_int(m->rand);

		insert_at(m->buf, MIN(m->pos, m->buf->len), &byte, 1);
	}
}

static void
truncate_at(Mutation *m)
{
	g_byte_array_set_size(m->buf, m->pos);
}

static void
repeat_chunk(Mutation *m)
{
	gsize from = g_rand_int_range(m->rand, 0, (gint32)m->buf->len);
	gsize len = MIN(m->n * 4, m->buf->len - from);
	g_autofree guint8 *chunk = g_memdup2(m->buf->data + from, len);

	if (m->buf->len + len <= REPLAY_MAX_INPUT)
		insert_at(m->buf, m->pos, chunk, len);
}

/* pieces of other seeds bring valid structures into odd places */
static void
splice_seed(Mutation *m)
{
	GBytes *other = g_ptr_array_index(m->seeds, g_rand_int_range(m->rand, 0, m->seeds->len));
	gsize other_len = 0;
	const guint8 *other_data = g_bytes_get_data(other, &other_len);
	gsize from, len;

	if (other_len == 0)
		return;
	from = g_rand_int_range(m->rand, 0, (gint32)other_len);
	len = MIN(m->n * 8, other_len - from);
	for (gsize i = 0; i < len && m->pos + i < m->buf->len; i++)
		m->buf->data[m->pos + i] = other_data[from + i];
}

static void (*const mutators[])(Mutation *m) = {
        flip_bit, set_byte, set_number, delete_bytes, insert_bytes, truncate_at, repeat_chunk, splice_seed,
};

static void
mutate_once(GRand *rand, GByteArray *buf, GPtrArray *seeds)
{
	Mutation m = {
	        .rand = rand,
	        .buf = buf,
	        .seeds = seeds,
	        .pos = buf->len > 0 ? (gsize)g_rand_int_range(rand, 0, (gint32)buf->len) : 0,
	        .n = g_rand_int_range(rand, 1, 17),
	};
	guint op = g_rand_int_range(rand, 0, G_N_ELEMENTS(mutators));

	/* only growing makes sense for nothing */
	mutators[buf->len > 0 ? op : 4](&m);
}

int
main(int argc, char **argv)
{
	g_autofree char *kinds = NULL;
	gint runs = 2000;
	gint64 seed = 1;
	const GOptionEntry entries[] = {
	        {"seeds", 0, 0, G_OPTION_ARG_STRING, &kinds,
	         "Generated seeds: image, zip, nrf5, manifest, smp, at", "KIND,..."},
	        {"runs", 0, 0, G_OPTION_ARG_INT, &runs, "Mutated inputs to run (default 2000)", "N"},
	        {"random-seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of the mutations (default 1)", "N"},
	        G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context =
	        g_option_context_new("[FILE|DIR...] - replay and mutate fuzz inputs");
	g_autoptr(GPtrArray) seeds = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autoptr(GError) error = NULL;
	g_autoptr(GRand) rand = NULL;
	g_autofree char *base = g_path_get_basename(argv[0]);

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error) ||
	    (kinds != NULL && !add_seed_kinds(seeds, kinds, &error))) {
		g_printerr("%s: %s\n", base, error->message);
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		if (!add_seed_file(seeds, argv[i], &error)) {
			g_printerr("%s: %s\n", base, error->message);
			return 1;
		}
	}
	if (seeds->len == 0) {
		g_printerr("%s: no inputs: give --seeds or files\n", base);
		return 1;
	}
	g_snprintf(crash_path, sizeof(crash_path), "%s/%s-crash.bin", g_get_tmp_dir(), base);
	signal(SIGABRT, on_crash);
	signal(SIGSEGV, on_crash);
	signal(SIGILL, on_crash);
	signal(SIGTRAP, on_crash);
	signal(SIGBUS, on_crash);

	/* like libFuzzer, start with nothing at all */
	run_one(NULL, 0);
	for (guint i = 0; i < seeds->len; i++)
		run_one(g_bytes_get_data(g_ptr_array_index(seeds, i), NULL),
		        g_bytes_get_size(g_ptr_array_index(seeds, i)));
	rand = g_rand_new_with_seed((guint32)seed);
	for (gint run = 0; run < runs; run++) {
		GBytes *start = g_ptr_array_index(seeds, g_rand_int_range(rand, 0, seeds->len));
		g_autoptr(GByteArray) buf = g_byte_array_new();
		guint n = g_rand_int_range(rand, 1, 5);

		g_byte_array_append(buf, g_bytes_get_data(start, NULL), g_bytes_get_size(start));
		for (guint m = 0; m < n; m++)
			mutate_once(rand, buf, seeds);
		run_one(buf->data, buf->len);
	}
	g_print("%s: %u seeds and %d mutations ran clean\n", base, seeds->len, runs);
	return 0;
}
