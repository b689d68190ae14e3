/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "dfu-error.h"
#include "smp-commands.h"
#include "smp-message.h"

static SmpMessage *
parse_ok(const guint8 *buf, gsize len)
{
	g_autoptr(GError) error = NULL;
	SmpMessage *msg = smp_message_parse(buf, len, &error);

	g_assert_no_error(error);
	g_assert_nonnull(msg);
	return msg;
}

static void
parse_fails(const guint8 *buf, gsize len)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SmpMessage) msg = smp_message_parse(buf, len, &error);

	g_assert_null(msg);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR);
}

static void
assert_bytes(GBytes *bytes, const guint8 *expected, gsize expected_len)
{
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(bytes, &len);

	g_assert_cmpmem(data, len, expected, expected_len);
}

/* header + payload as encode produces them */
static GBytes *
encode(guint8 op, guint8 version, guint16 group, guint8 id, guint8 seq, cbor_item_t *payload)
{
	SmpHeader hdr = {.op = op, .version = version, .group = group, .id = id, .seq = seq};

	return smp_message_encode(&hdr, payload);
}

static void
test_header(void)
{
	const SmpHeader hdr = {.op = SMP_OP_WRITE_RSP,
	                       .version = 1,
	                       .flags = 0x5a,
	                       .len = 0x1234,
	                       .group = 0xfe01,
	                       .seq = 0xff,
	                       .id = 7};
	const guint8 expected[] = {0x0b, 0x5a, 0x12, 0x34, 0xfe, 0x01, 0xff, 0x07};
	guint8 buf[SMP_HEADER_SIZE];
	SmpHeader back = {0};

	smp_header_write(&hdr, buf);
	g_assert_cmpmem(buf, sizeof(buf), expected, sizeof(expected));
	g_assert_true(smp_header_parse(buf, sizeof(buf), &back));
	g_assert_cmpuint(back.op, ==, hdr.op);
	g_assert_cmpuint(back.version, ==, hdr.version);
	g_assert_cmpuint(back.flags, ==, hdr.flags);
	g_assert_cmpuint(back.len, ==, hdr.len);
	g_assert_cmpuint(back.group, ==, hdr.group);
	g_assert_cmpuint(back.seq, ==, hdr.seq);
	g_assert_cmpuint(back.id, ==, hdr.id);
	g_assert_false(smp_header_parse(buf, SMP_HEADER_SIZE - 1, &back));

	/* reserved bits 5-7 do not leak into op or version */
	buf[0] = 0xe0 | (1 << 3) | SMP_OP_READ_RSP;
	g_assert_true(smp_header_parse(buf, sizeof(buf), &back));
	g_assert_cmpuint(back.op, ==, SMP_OP_READ_RSP);
	g_assert_cmpuint(back.version, ==, 1);
}

static void
test_doc_examples(void)
{
	const guint8 echo[] = {0x0a, 0x00, 0x00, 0x06, 0x00, 0x00, 0x01,
	                       0x00, 0xa1, 0x61, 0x64, 0x62, 0x68, 0x69};
	const guint8 list_v1[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0x00, 0xa0};
	const guint8 params[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x06, 0xa0};
	g_autoptr(SmpMessage) msg = parse_ok(echo, sizeof(echo));
	g_autofree char *d = smp_map_get_text(msg->payload, "d");
	g_autoptr(GBytes) echo_out = NULL;
	g_autoptr(GBytes) list_out = NULL;
	g_autoptr(GBytes) params_out = NULL;
	cbor_item_t *map = smp_map_new();

	g_assert_cmpuint(msg->hdr.op, ==, SMP_OP_WRITE);
	g_assert_cmpuint(msg->hdr.version, ==, 1);
	g_assert_cmpuint(msg->hdr.len, ==, 6);
	g_assert_cmpuint(msg->hdr.group, ==, SMP_GROUP_OS);
	g_assert_cmpuint(msg->hdr.seq, ==, 1);
	g_assert_cmpuint(msg->hdr.id, ==, SMP_OS_ECHO);
	g_assert_cmpstr(d, ==, "hi");

	smp_map_add_text(map, "d", "hi");
	echo_out = encode(SMP_OP_WRITE, 1, SMP_GROUP_OS, SMP_OS_ECHO, 1, map);
	cbor_decref(&map);
	assert_bytes(echo_out, echo, sizeof(echo));

	list_out = encode(SMP_OP_READ, 0, SMP_GROUP_IMAGE, SMP_IMAGE_STATE, 1, NULL);
	assert_bytes(list_out, list_v1, sizeof(list_v1));
	map = smp_cmd_empty();
	params_out = encode(SMP_OP_READ, 0, SMP_GROUP_OS, SMP_OS_PARAMS, 1, map);
	cbor_decref(&map);
	assert_bytes(params_out, params, sizeof(params));
}

static void
test_parse_errors(void)
{
	const guint8 good[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x06, 0xa0};
	const guint8 trailing[] = {0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x01, 0x06, 0xa0, 0x00};
	const guint8 not_map[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x06, 0x80};
	const guint8 truncated[] = {0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x01, 0x06, 0xa1, 0x61, 0x64};
	const guint8 huge_string[] = {0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x01, 0x06,
	                              0xa1, 0x61, 0x64, 0x7a, 0xff, 0xff, 0xff};
	const guint8 empty[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x06};
	/* {"a": array of 2^30 items} in 10 bytes */
	const guint8 huge_array[] = {0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x01, 0x06, 0xa1,
	                             0x61, 0x61, 0x9a, 0x40, 0x00, 0x00, 0x00, 0x00};
	guint8 deep[SMP_HEADER_SIZE + 200];
	g_autoptr(SmpMessage) msg = NULL;

	parse_fails(NULL, 0);
	parse_fails(good, 0);
	parse_fails(good, 7);
	parse_fails(good, 8); /* header says 1 byte follows */
	parse_fails(trailing, sizeof(trailing));
	parse_fails(trailing, sizeof(trailing) - 1);
	parse_fails(not_map, sizeof(not_map));
	parse_fails(truncated, sizeof(truncated));
	parse_fails(huge_string, sizeof(huge_string));

	parse_fails(huge_array, sizeof(huge_array));
	/* {"a": [[[[...]]]]} nested far deeper than any SMP payload */
	memset(deep, 0x81, sizeof(deep));
	memcpy(deep, (const guint8[]){0x00, 0x00, 0x00, 200, 0x00, 0x00, 0x01, 0x06, 0xa1, 0x61, 0x61}, 11);
	deep[sizeof(deep) - 1] = 0x00;
	parse_fails(deep, sizeof(deep));

	msg = parse_ok(empty, sizeof(empty));
	g_assert_null(msg->payload);
}

/* the largest frame a device can send, nesting as deep as it holds: refused before libcbor */
static void
test_parse_deep(void)
{
	static const guint8 heads[] = {0x81, 0x9f, 0xc1};

	for (gsize i = 0; i < G_N_ELEMENTS(heads); i++) {
		g_autofree guint8 *frame = g_malloc(SMP_HEADER_SIZE + G_MAXUINT16);
		const SmpHeader hdr = {.op = SMP_OP_READ_RSP, .len = G_MAXUINT16, .group = SMP_GROUP_IMAGE};
		g_autoptr(GError) error = NULL;
		g_autoptr(SmpMessage) msg = NULL;

		smp_header_write(&hdr, frame);
		memset(frame + SMP_HEADER_SIZE, heads[i], G_MAXUINT16);
		/* {"a": [[[...: the map and SMP_PAYLOAD_MAX_DEPTH - 1 arrays are still fine */
		memcpy(frame + SMP_HEADER_SIZE, (const guint8[]){0xa1, 0x61, 0x61}, 3);
		msg = smp_message_parse(frame, SMP_HEADER_SIZE + G_MAXUINT16, &error);
		g_assert_null(msg);
		g_assert_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR);
		g_assert_cmpstr(error->message, ==, "SMP payload nests deeper than 32 levels");
	}
}

static void
test_depth_limit(void)
{
	guint8 frame[SMP_HEADER_SIZE + 3 + SMP_PAYLOAD_MAX_DEPTH];
	const SmpHeader hdr = {.op = SMP_OP_READ_RSP, .len = sizeof(frame) - SMP_HEADER_SIZE};
	g_autoptr(SmpMessage) msg = NULL;

	/* {"a": [[...[0]...]]}: exactly SMP_PAYLOAD_MAX_DEPTH containers */
	smp_header_write(&hdr, frame);
	memcpy(frame + SMP_HEADER_SIZE, (const guint8[]){0xa1, 0x61, 0x61}, 3);
	memset(frame + SMP_HEADER_SIZE + 3, 0x81, SMP_PAYLOAD_MAX_DEPTH - 1);
	frame[sizeof(frame) - 1] = 0x00;
	msg = parse_ok(frame, sizeof(frame));
	g_assert_nonnull(smp_map_get(msg->payload, "a"));
}

static void
test_indefinite(void)
{
	/* indefinite map {"d": chunked text "hi", "b": chunked bytes 01 02, "a": [_ 1, -2], "n": -300} */
	const guint8 buf[] = {0x00, 0x00, 0x00, 0x1d, 0x00, 0x00, 0x00, 0x00, 0xbf, 0x61, 0x64, 0x7f, 0x61,
	                      0x68, 0x61, 0x69, 0xff, 0x61, 0x62, 0x5f, 0x41, 0x01, 0x41, 0x02, 0xff, 0x61,
	                      0x61, 0x9f, 0x01, 0x21, 0xff, 0x61, 0x6e, 0x39, 0x01, 0x2b, 0xff};
	/* the same, re-encoded with definite lengths */
	const guint8 definite[] = {0xa4, 0x61, 0x64, 0x62, 0x68, 0x69, 0x61, 0x62, 0x42, 0x01, 0x02,
	                           0x61, 0x61, 0x82, 0x01, 0x21, 0x61, 0x6e, 0x39, 0x01, 0x2b};
	g_autoptr(SmpMessage) msg = parse_ok(buf, sizeof(buf));
	g_autofree char *d = smp_map_get_text(msg->payload, "d");
	g_autoptr(GBytes) b = smp_map_get_bytes(msg->payload, "b");
	g_autofree cbor_item_t **items = NULL;
	g_autoptr(GBytes) out = NULL;
	gint64 n = 0;
	gsize n_items = 0;
	gsize out_len = 0;
	const guint8 *out_data;

	g_assert_cmpstr(d, ==, "hi");
	assert_bytes(b, (const guint8 *)"\x01\x02", 2);
	g_assert_true(smp_map_get_int(msg->payload, "n", &n));
	g_assert_cmpint(n, ==, -300);
	items = smp_array_items(smp_map_get(msg->payload, "a"), &n_items);
	g_assert_cmpuint(n_items, ==, 2);
	g_assert_nonnull(items[0]);
	g_assert_nonnull(items[1]);
	g_assert_null(items[2]);
	g_assert_true(cbor_isa_uint(items[0]));
	g_assert_true(cbor_isa_negint(items[1]));
	g_assert_null(smp_array_items(smp_map_get(msg->payload, "d"), &n_items));

	out = smp_message_encode(&msg->hdr, msg->payload);
	out_data = g_bytes_get_data(out, &out_len);
	g_assert_cmpmem(out_data + SMP_HEADER_SIZE, out_len - SMP_HEADER_SIZE, definite, sizeof(definite));
	g_assert_cmpuint(out_data[3], ==, sizeof(definite));
}

static void
test_map_access(void)
{
	cbor_item_t *map = smp_map_new();
	guint64 u = 0;
	gint64 i = 0;
	gboolean b = FALSE;
	g_autofree char *text = NULL;

	smp_map_add_uint(map, "u", G_MAXUINT64);
	smp_map_add_int(map, "neg", G_MININT64);
	smp_map_add_int(map, "pos", 5);
	smp_map_add_bool(map, "t", TRUE);
	smp_map_add_text(map, "s", "x");

	g_assert_true(smp_map_get_uint(map, "u", &u));
	g_assert_cmpuint(u, ==, G_MAXUINT64);
	g_assert_false(smp_map_get_int(map, "u", &i)); /* does not fit */
	g_assert_true(smp_map_get_int(map, "neg", &i));
	g_assert_cmpint(i, ==, G_MININT64);
	g_assert_false(smp_map_get_uint(map, "neg", &u));
	g_assert_true(smp_map_get_int(map, "pos", &i));
	g_assert_cmpint(i, ==, 5);
	g_assert_true(smp_map_get_bool(map, "t", &b));
	g_assert_true(b);
	g_assert_false(smp_map_get_bool(map, "s", &b));
	g_assert_false(smp_map_get_uint(map, "missing", &u));
	g_assert_null(smp_map_get_bytes(map, "s"));
	g_assert_null(smp_map_get_text(map, "u"));
	text = smp_map_get_text(map, "s");
	g_assert_cmpstr(text, ==, "x");
	g_assert_null(smp_map_get(NULL, "u"));
	g_assert_null(smp_map_get(smp_map_get(map, "u"), "u"));
	cbor_decref(&map);
}

static void
test_shortest_ints(void)
{
	static const struct {
		guint64 value;
		gsize size;
	} cases[] = {
	        {0, 1},           {23, 1},          {24, 2},
	        {255, 2},         {256, 3},         {65535, 3},
	        {65536, 5},       {G_MAXUINT32, 5}, {G_MAXUINT32 + 1ull, 9},
	        {G_MAXUINT64, 9},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		cbor_item_t *map = smp_map_new();
		g_autoptr(GBytes) out = NULL;

		g_assert_cmpuint(smp_cbor_uint_size(cases[i].value), ==, cases[i].size);
		smp_map_add_uint(map, "v", cases[i].value);
		out = encode(SMP_OP_WRITE, 0, 0, 0, 0, map);
		/* header, map head, key "v", value */
		g_assert_cmpuint(g_bytes_get_size(out), ==, SMP_HEADER_SIZE + 1 + 2 + cases[i].size);
		cbor_decref(&map);
	}
}

static void
test_errors(void)
{
	const guint8 v1[] = {0x03, 0x00, 0x00, 0x0b, 0x00, 0x01, 0x01, 0x00, 0xa2, 0x62,
	                     0x72, 0x63, 0x08, 0x63, 0x72, 0x73, 0x6e, 0x61, 0x78};
	/* {"err": {"group": 1, "rc": 8}} */
	const guint8 v2[] = {0x0b, 0x00, 0x00, 0x11, 0x00, 0x01, 0x01, 0x00, 0xa1, 0x63, 0x65, 0x72, 0x72,
	                     0xa2, 0x65, 0x67, 0x72, 0x6f, 0x75, 0x70, 0x01, 0x62, 0x72, 0x63, 0x08};
	/* {"rc": 0} */
	const guint8 ok[] = {0x01, 0x00, 0x00, 0x05, 0x00, 0x00, 0x01, 0x06, 0xa1, 0x62, 0x72, 0x63, 0x00};
	g_autoptr(SmpMessage) m1 = parse_ok(v1, sizeof(v1));
	g_autoptr(SmpMessage) m2 = parse_ok(v2, sizeof(v2));
	g_autoptr(SmpMessage) m3 = parse_ok(ok, sizeof(ok));
	SmpError err = {0};

	g_assert_true(smp_response_get_error(m1->payload, &err));
	g_assert_true(err.present);
	g_assert_false(err.v2);
	g_assert_cmpuint(err.rc, ==, SMP_RC_ENOTSUP);
	g_assert_cmpstr(err.rsn, ==, "x");

	g_assert_true(smp_response_get_error(m2->payload, &err));
	g_assert_true(err.present);
	g_assert_true(err.v2);
	g_assert_cmpuint(err.group, ==, SMP_GROUP_IMAGE);
	g_assert_cmpuint(err.rc, ==, 8);
	g_assert_null(err.rsn);
	g_assert_cmpstr(smp_group_rc_to_string(err.group, err.rc), ==, "IMG_MGMT_ERR_HASH_NOT_FOUND");

	g_assert_false(smp_response_get_error(m3->payload, &err));
	g_assert_false(err.present);
	g_assert_false(smp_response_get_error(NULL, &err));
	smp_error_clear(&err);
}

static void
test_rc_names(void)
{
	g_assert_cmpstr(smp_rc_to_string(SMP_RC_EBUSY), ==, "EBUSY");
	g_assert_cmpstr(smp_rc_to_string(SMP_RC_ENOTSUP), ==, "ENOTSUP");
	g_assert_cmpstr(smp_rc_to_string(SMP_RC_UNSUPPORTED_TOO_NEW), ==, "UNSUPPORTED_TOO_NEW");
	g_assert_cmpstr(smp_rc_to_string(300), ==, "EPERUSER");
	g_assert_cmpstr(smp_rc_to_string(99), ==, "unknown");
	g_assert_cmpstr(smp_group_rc_to_string(1, 33), ==,
	                "IMG_MGMT_ERR_IMAGE_SETTING_TEST_TO_ACTIVE_DENIED");
	g_assert_cmpstr(smp_group_rc_to_string(1, 34), ==, "IMG_MGMT_ERR_ACTIVE_SLOT_NOT_KNOWN");
	g_assert_cmpstr(smp_group_rc_to_string(1, 35), ==, "unknown");
	g_assert_cmpstr(smp_group_rc_to_string(0, 3), ==, "OS_MGMT_ERR_QUERY_YIELDS_NO_ANSWER");
	g_assert_cmpstr(smp_group_rc_to_string(0, 7), ==, "OS_MGMT_ERR_HEAP_STATS_FETCH_FAILED");
	g_assert_cmpstr(smp_group_rc_to_string(64, 1), ==, "unknown");
}

static void
check_upload_size(const guint8 *data, guint32 image, guint64 off, gsize data_len, guint64 total,
                  gsize sha_len, gboolean upgrade)
{
	static const guint8 sha[64] = {0};
	cbor_item_t *map = smp_cmd_image_upload(image, off, data, data_len, total, sha, sha_len, upgrade);
	g_autoptr(GBytes) out = encode(SMP_OP_WRITE, 1, SMP_GROUP_IMAGE, SMP_IMAGE_UPLOAD, 0, map);
	gsize expected = smp_cmd_image_upload_size(image, off, data_len, total, sha_len, upgrade);

	if (g_bytes_get_size(out) != SMP_HEADER_SIZE + expected)
		g_error("upload size mismatch: image %u off %" G_GUINT64_FORMAT " data %" G_GSIZE_FORMAT
		        " total %" G_GUINT64_FORMAT " sha %" G_GSIZE_FORMAT " upgrade %d: %" G_GSIZE_FORMAT
		        " != %" G_GSIZE_FORMAT,
		        image, off, data_len, total, sha_len, upgrade,
		        g_bytes_get_size(out) - SMP_HEADER_SIZE, expected);
	cbor_decref(&map);
}

static void
test_upload_size(void)
{
	static const guint64 ints[] = {
	        0, 1, 23, 24, 255, 256, 65535, 65536, G_MAXUINT32, G_MAXUINT32 + 1ull, G_MAXUINT64};
	static const guint32 images[] = {0, 1, 23, 24, 255, 256, 65536};
	static const gsize shas[] = {0, 1, 23, 24, 32, 64};
	static const gsize small_data[] = {0, 1, 23, 24};
	/* data above 65535 bytes cannot be in an SMP message at all */
	static const gsize big_data[] = {255, 256, 380, 4096, 65400};
	g_autofree guint8 *data = g_malloc0(65400);

	for (gsize o = 0; o < G_N_ELEMENTS(ints); o++)
		for (gsize t = 0; t < G_N_ELEMENTS(ints); t++)
			for (gsize i = 0; i < G_N_ELEMENTS(images); i++)
				for (gsize s = 0; s < G_N_ELEMENTS(shas); s++)
					for (gsize d = 0; d < G_N_ELEMENTS(small_data); d++)
						for (int u = 0; u < 2; u++)
							check_upload_size(data, images[i], ints[o],
							                  small_data[d], ints[t], shas[s], u);
	for (gsize d = 0; d < G_N_ELEMENTS(big_data); d++) {
		check_upload_size(data, 0, 0, big_data[d], big_data[d], 32, FALSE);
		check_upload_size(data, 1, 0, big_data[d], 1000000, 32, TRUE);
		check_upload_size(data, 0, 65536, big_data[d], 1000000, 32, FALSE);
	}
}

static void
test_upload_fields(void)
{
	const guint8 data[] = {1, 2, 3};
	const guint8 sha[32] = {0xaa};
	cbor_item_t *first = smp_cmd_image_upload(2, 0, data, sizeof(data), 1000, sha, sizeof(sha), TRUE);
	cbor_item_t *later = smp_cmd_image_upload(2, 3, data, sizeof(data), 1000, sha, sizeof(sha), TRUE);
	g_autoptr(GBytes) got_data = smp_map_get_bytes(first, "data");
	g_autoptr(GBytes) got_sha = smp_map_get_bytes(first, "sha");
	guint64 v = 0;
	gboolean b = FALSE;

	g_assert_true(smp_map_get_uint(first, "off", &v));
	g_assert_cmpuint(v, ==, 0);
	g_assert_true(smp_map_get_uint(first, "len", &v));
	g_assert_cmpuint(v, ==, 1000);
	g_assert_true(smp_map_get_uint(first, "image", &v));
	g_assert_cmpuint(v, ==, 2);
	g_assert_true(smp_map_get_bool(first, "upgrade", &b));
	g_assert_true(b);
	assert_bytes(got_data, data, sizeof(data));
	assert_bytes(got_sha, sha, sizeof(sha));

	g_assert_cmpuint(cbor_map_size(later), ==, 2);
	g_assert_true(smp_map_get_uint(later, "off", &v));
	g_assert_cmpuint(v, ==, 3);
	g_assert_null(smp_map_get(later, "len"));
	cbor_decref(&first);
	cbor_decref(&later);
}

static void
test_state_write_and_reset(void)
{
	const guint8 hash[32] = {0x11, 0x22};
	cbor_item_t *test = smp_cmd_image_state_write(hash, sizeof(hash), FALSE);
	cbor_item_t *confirm = smp_cmd_image_state_write(NULL, 0, TRUE);
	cbor_item_t *reset = smp_cmd_reset(FALSE);
	cbor_item_t *force = smp_cmd_reset(TRUE);
	g_autoptr(GBytes) got = smp_map_get_bytes(test, "hash");
	g_autoptr(GBytes) test_out = encode(SMP_OP_WRITE, 1, SMP_GROUP_IMAGE, SMP_IMAGE_STATE, 0, test);
	gboolean b = TRUE;

	assert_bytes(got, hash, sizeof(hash));
	g_assert_true(smp_map_get_bool(test, "confirm", &b));
	g_assert_false(b);
	/* hash must be a byte string: 0x58 0x20 */
	g_assert_cmpuint(((const guint8 *)g_bytes_get_data(test_out, NULL))[SMP_HEADER_SIZE + 6], ==, 0x58);
	g_assert_null(smp_map_get(confirm, "hash"));
	g_assert_true(smp_map_get_bool(confirm, "confirm", &b));
	g_assert_true(b);
	g_assert_cmpuint(cbor_map_size(reset), ==, 0);
	g_assert_true(smp_map_get_bool(force, "force", &b));
	g_assert_true(b);
	cbor_decref(&test);
	cbor_decref(&confirm);
	cbor_decref(&reset);
	cbor_decref(&force);
}

static void
test_rsp_params(void)
{
	cbor_item_t *ok = smp_map_new();
	cbor_item_t *unsupported = smp_map_new();
	cbor_item_t *partial = smp_map_new();
	g_autoptr(GError) error = NULL;
	SmpParams params = {0};

	smp_map_add_uint(ok, "buf_size", 384);
	smp_map_add_uint(ok, "buf_count", 4);
	g_assert_true(smp_rsp_params(ok, &params, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(params.buf_size, ==, 384);
	g_assert_cmpuint(params.buf_count, ==, 4);

	smp_map_add_uint(unsupported, "rc", SMP_RC_ENOTSUP);
	g_assert_false(smp_rsp_params(unsupported, &params, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_NOT_SUPPORTED);
	g_clear_error(&error);

	smp_map_add_uint(partial, "buf_size", 384);
	g_assert_false(smp_rsp_params(partial, &params, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR);
	g_clear_error(&error);
	g_assert_false(smp_rsp_params(NULL, &params, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR);
	cbor_decref(&ok);
	cbor_decref(&unsupported);
	cbor_decref(&partial);
}

static cbor_item_t *
state_entry(gint image, guint slot, const char *version, guint8 hash_byte, gboolean active)
{
	cbor_item_t *entry = smp_map_new();
	guint8 hash[32];

	memset(hash, hash_byte, sizeof(hash));
	if (image >= 0)
		smp_map_add_uint(entry, "image", (guint)image);
	smp_map_add_uint(entry, "slot", slot);
	if (version != NULL)
		smp_map_add_text(entry, "version", version);
	smp_map_add_bytes(entry, "hash", hash, sizeof(hash));
	/* frugal style: only true flags */
	if (active) {
		smp_map_add_bool(entry, "active", TRUE);
		smp_map_add_bool(entry, "confirmed", TRUE);
	}
	smp_map_add_bool(entry, "bootable", TRUE);
	smp_map_add_bool(entry, "pending", FALSE);
	return entry;
}

static void
test_rsp_image_state(void)
{
	cbor_item_t *payload = smp_map_new();
	cbor_item_t *images = cbor_new_indefinite_array();
	cbor_item_t *bad = smp_map_new();
	cbor_item_t *bad_images = cbor_new_definite_array(1);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) slots = NULL;
	const SmpImageSlot *slot;
	guint8 hash[32];

	g_assert_true(cbor_array_push(images, cbor_move(state_entry(-1, 0, "1.0.0", 0xaa, TRUE))));
	g_assert_true(cbor_array_push(images, cbor_move(state_entry(-1, 1, "1.1.0", 0xbb, FALSE))));
	g_assert_true(cbor_array_push(images, cbor_move(state_entry(1, 0, "2.0.0.7", 0xaa, TRUE))));
	smp_map_add_item(payload, "images", images);
	smp_map_add_uint(payload, "splitStatus", 0);

	slots = smp_rsp_image_state(payload, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(slots->len, ==, 3);
	slot = g_ptr_array_index(slots, 0);
	g_assert_cmpuint(slot->image, ==, 0);
	g_assert_cmpstr(slot->version, ==, "1.0.0");
	g_assert_true(slot->active);
	g_assert_true(slot->confirmed);
	g_assert_true(slot->bootable);
	g_assert_false(slot->pending);
	g_assert_false(slot->permanent);

	memset(hash, 0xbb, sizeof(hash));
	slot = smp_image_state_find_hash(slots, 0, hash, sizeof(hash));
	g_assert_nonnull(slot);
	g_assert_cmpuint(slot->slot, ==, 1);
	g_assert_false(slot->active);
	g_assert_null(smp_image_state_find_hash(slots, 1, hash, sizeof(hash)));
	g_assert_null(smp_image_state_find_hash(slots, 0, hash, 31));
	memset(hash, 0xaa, sizeof(hash));
	slot = smp_image_state_find_hash(slots, 1, hash, sizeof(hash));
	g_assert_nonnull(slot);
	g_assert_cmpstr(slot->version, ==, "2.0.0.7");
	g_assert_true(smp_image_state_find_slot(slots, 1, 0) == slot);
	g_assert_null(smp_image_state_find_slot(slots, 1, 1));

	/* an entry without version is refused */
	g_assert_true(cbor_array_push(bad_images, cbor_move(state_entry(-1, 0, NULL, 0xaa, TRUE))));
	smp_map_add_item(bad, "images", bad_images);
	g_assert_null(smp_rsp_image_state(bad, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR);
	g_clear_error(&error);
	g_assert_null(smp_rsp_image_state(smp_map_get(payload, "splitStatus"), &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR);
	cbor_decref(&payload);
	cbor_decref(&bad);
}

static void
test_rsp_upload(void)
{
	cbor_item_t *plain = smp_map_new();
	cbor_item_t *matched = smp_map_new();
	cbor_item_t *failed = smp_map_new();
	cbor_item_t *group_err = smp_map_new();
	g_autoptr(GError) error = NULL;
	guint64 off = 0;
	int match = 7;

	smp_map_add_uint(plain, "off", 380);
	g_assert_true(smp_rsp_image_upload(plain, &off, &match, &error));
	g_assert_cmpuint(off, ==, 380);
	g_assert_cmpint(match, ==, -1);

	smp_map_add_uint(matched, "off", 1000);
	smp_map_add_bool(matched, "match", FALSE);
	g_assert_true(smp_rsp_image_upload(matched, &off, &match, &error));
	g_assert_cmpint(match, ==, 0);

	smp_map_add_uint(group_err, "group", 1);
	smp_map_add_uint(group_err, "rc", 31);
	smp_map_add_item(failed, "err", group_err);
	g_assert_false(smp_rsp_image_upload(failed, &off, &match, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_DEVICE_ERROR);
	g_assert_nonnull(strstr(error->message, "INVALID_IMAGE_DATA_OVERRUN"));
	g_clear_error(&error);
	g_assert_false(smp_rsp_image_upload(smp_map_get(matched, "match"), &off, &match, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR);
	cbor_decref(&plain);
	cbor_decref(&matched);
	cbor_decref(&failed);
}

/* messages name commands in words; commands without a name still say which they are */
static void
test_command_describe(void)
{
	g_autofree char *params = smp_command_describe(SMP_GROUP_OS, SMP_OS_PARAMS);
	g_autofree char *state = smp_command_describe(SMP_GROUP_IMAGE, SMP_IMAGE_STATE);
	g_autofree char *other = smp_command_describe(64, 3);

	g_assert_cmpstr(params, ==, "mcumgr params");
	g_assert_cmpstr(state, ==, "image state");
	g_assert_cmpstr(other, ==, "SMP group 64 command 3");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/smp/message/header", test_header);
	g_test_add_func("/smp/message/doc-examples", test_doc_examples);
	g_test_add_func("/smp/message/parse-errors", test_parse_errors);
	g_test_add_func("/smp/message/parse-deep", test_parse_deep);
	g_test_add_func("/smp/message/depth-limit", test_depth_limit);
	g_test_add_func("/smp/message/indefinite", test_indefinite);
	g_test_add_func("/smp/message/map-access", test_map_access);
	g_test_add_func("/smp/message/shortest-ints", test_shortest_ints);
	g_test_add_func("/smp/message/errors", test_errors);
	g_test_add_func("/smp/message/rc-names", test_rc_names);
	g_test_add_func("/smp/commands/upload-size", test_upload_size);
	g_test_add_func("/smp/commands/upload-fields", test_upload_fields);
	g_test_add_func("/smp/commands/state-write-reset", test_state_write_and_reset);
	g_test_add_func("/smp/commands/rsp-params", test_rsp_params);
	g_test_add_func("/smp/commands/rsp-image-state", test_rsp_image_state);
	g_test_add_func("/smp/commands/rsp-upload", test_rsp_upload);
	g_test_add_func("/smp/commands/describe", test_command_describe);
	return g_test_run();
}
