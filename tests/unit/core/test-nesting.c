/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "dfu-error.h"
#include "dfu-nesting.h"
#include "test-util.h"

#define DEEP 1000000

static const DfuNestingLimits limits = {
        .what = "doc",
        .max_size = 16 * 1024 * 1024,
        .max_depth = 4,
        .code = DFU_STATUS_MALFORMED_MANIFEST,
};

static gboolean
json_ok(const char *text)
{
	g_autoptr(GError) error = NULL;
	gboolean ok = dfu_json_check_limits(text, strlen(text), &limits, &error);

	g_assert_true(ok == (error == NULL));
	if (!ok) {
		g_assert_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST);
		g_assert_cmpstr(error->message, ==, "doc nests deeper than 4 levels");
	}
	return ok;
}

static void
test_json_depth(void)
{
	g_assert_true(json_ok(""));
	g_assert_true(json_ok("{\"a\": [1, {\"b\": [2]}]}"));
	/* exactly at the limit, and one past it */
	g_assert_true(json_ok("[[[[]]]]"));
	g_assert_false(json_ok("[[[[[]]]]]"));
	g_assert_false(json_ok("{\"a\":{\"b\":{\"c\":{\"d\":{}}}}}"));
	/* depth is what is open at once, not how many containers there are */
	g_assert_true(json_ok("[[[[]]]] [[[[]]]] {\"a\": [[[]]]}"));
	/* surplus closers do not buy depth */
	g_assert_false(json_ok("]]]][[[[["));
}

static void
test_json_strings(void)
{
	g_assert_true(json_ok("[[[\"[[[[[[{{{{\"]]]"));
	g_assert_true(json_ok("[[[\"a \\\" [[[[[[\"]]]"));
	g_assert_true(json_ok("{\"key [[[[[\": \"}}}}\\\\\", \"[[[\": 1}"));
	/* an escaped backslash ends the string after it: the brackets count */
	g_assert_false(json_ok("[\"\\\\\"[[[[]]]]]"));
	/* a string that never ends hides what follows; the parser reports it */
	g_assert_true(json_ok("\"[[[[[[["));
}

static void
test_json_size(void)
{
	const DfuNestingLimits small = {.what = "doc", .max_size = 4, .max_depth = 4, .code = 16};
	g_autoptr(GError) error = NULL;

	g_assert_true(dfu_json_check_limits("[1]", 3, &small, NULL));
	g_assert_true(dfu_json_check_limits("[12]", 4, &small, NULL));
	g_assert_false(dfu_json_check_limits("[123]", 5, &small, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_PROTOCOL_ERROR);
	g_assert_cmpstr(error->message, ==, "doc is 5 bytes, more than the 4 allowed");
}

static void
test_json_million(gconstpointer data)
{
	const char *unit = data;
	g_autoptr(GBytes) deep = dfu_test_repeat(unit, strlen(unit), DEEP);
	g_autoptr(GError) error = NULL;

	g_assert_false(
	        dfu_json_check_limits(g_bytes_get_data(deep, NULL), g_bytes_get_size(deep), &limits, &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST);
	g_assert_cmpstr(error->message, ==, "doc nests deeper than 4 levels");
}

/* NULL when the walk passes, else the message */
static char *
cbor_check(const guint8 *data, gsize len)
{
	g_autoptr(GError) error = NULL;

	if (dfu_cbor_check_limits(data, len, &limits, &error)) {
		g_assert_no_error(error);
		return NULL;
	}
	g_assert_error(error, DFU_ERROR, DFU_STATUS_MALFORMED_MANIFEST);
	return g_strdup(error->message);
}

#define CBOR_PASSES(...)                                                                                     \
	do {                                                                                                 \
		const guint8 bytes_[] = {__VA_ARGS__};                                                       \
		g_autofree char *message_ = cbor_check(bytes_, sizeof(bytes_));                              \
		g_assert_cmpstr(message_, ==, NULL);                                                         \
	} while (0)

#define CBOR_FAILS(words, ...)                                                                               \
	do {                                                                                                 \
		const guint8 bytes_[] = {__VA_ARGS__};                                                       \
		g_autofree char *message_ = cbor_check(bytes_, sizeof(bytes_));                              \
		g_assert_nonnull(message_);                                                                  \
		g_assert_nonnull(strstr(message_, words));                                                   \
	} while (0)

static void
test_cbor_depth(void)
{
	/* four arrays, definite and indefinite, at the limit; a fifth is one too many */
	CBOR_PASSES(0x81, 0x81, 0x81, 0x81, 0x00);
	CBOR_PASSES(0x9f, 0x9f, 0x9f, 0x9f, 0xff, 0xff, 0xff, 0xff);
	CBOR_FAILS("doc nests deeper than 4 levels", 0x81, 0x81, 0x81, 0x81, 0x81, 0x00);
	CBOR_FAILS("nests deeper", 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0xff, 0xff, 0xff, 0xff, 0xff);
	/* maps and tags count too */
	CBOR_PASSES(0xa1, 0x00, 0xc1, 0x81, 0x81, 0x00);
	CBOR_FAILS("nests deeper", 0xa1, 0x00, 0xc1, 0xc1, 0x81, 0x81, 0x00);
	/* siblings do not add up */
	CBOR_PASSES(0x83, 0x81, 0x81, 0x81, 0x00, 0x81, 0x81, 0x81, 0x00, 0xbf, 0x61, 0x61, 0x81, 0x00, 0xff);
	/* strings are skipped whole, chunked ones too */
	CBOR_PASSES(0x81, 0x81, 0x81, 0x44, 0x81, 0x81, 0x81, 0x81);
	CBOR_PASSES(0x81, 0x81, 0x81, 0x5f, 0x41, 0x81, 0x41, 0x9f, 0xff);
}

static void
test_cbor_broken(void)
{
	g_autofree char *empty = cbor_check(NULL, 0);

	g_assert_cmpstr(empty, ==, "doc is truncated at byte 0");
	CBOR_FAILS("doc is truncated at byte 3", 0x82, 0x81, 0x00);
	CBOR_FAILS("is truncated", 0x9f, 0x00);
	CBOR_FAILS("truncated or reserved item head at byte 1", 0x81, 0x19, 0x01);
	CBOR_FAILS("truncated or reserved", 0x1c);
	CBOR_FAILS("announces a string longer", 0x62, 0x61);
	CBOR_FAILS("announces more items", 0x9a, 0x40, 0x00, 0x00, 0x00, 0x00);
	CBOR_FAILS("announces more items", 0xa2, 0x00, 0x00, 0x00);
	CBOR_FAILS("misplaced indefinite length or break", 0xff);
	CBOR_FAILS("misplaced", 0x81, 0x1f);
	CBOR_FAILS("misplaced", 0xdf, 0x00);
	/* one item is checked; what follows it is the caller's */
	CBOR_PASSES(0x00, 0xff, 0xff);
}

static void
test_cbor_million(gconstpointer data)
{
	const char *unit = data;
	g_autoptr(GBytes) deep = dfu_test_repeat(unit, 1, DEEP);
	g_autofree char *message = cbor_check(g_bytes_get_data(deep, NULL), g_bytes_get_size(deep));

	g_assert_cmpstr(message, ==, "doc nests deeper than 4 levels");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/nesting/json/depth", test_json_depth);
	g_test_add_func("/nesting/json/strings", test_json_strings);
	g_test_add_func("/nesting/json/size", test_json_size);
	g_test_add_data_func("/nesting/json/million-arrays", "[", test_json_million);
	g_test_add_data_func("/nesting/json/million-objects", "{\"a\":", test_json_million);
	g_test_add_func("/nesting/cbor/depth", test_cbor_depth);
	g_test_add_func("/nesting/cbor/broken", test_cbor_broken);
	g_test_add_data_func("/nesting/cbor/million-definite", "\x81", test_cbor_million);
	g_test_add_data_func("/nesting/cbor/million-indefinite", "\x9f", test_cbor_million);
	g_test_add_data_func("/nesting/cbor/million-tags", "\xc1", test_cbor_million);
	return g_test_run();
}
