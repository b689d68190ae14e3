/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "bundle-writer.h"
#include "mcuboot-writer.h"
#include "test-http-server.h"
#include "test-util.h"

/* dfuctl inspect as a user runs it, on files and on URLs served by lighttpd */
typedef struct {
	char *root;
	char *keys;       /* the trusted public keys */
	char *config;     /* dfud.conf for dfuctl */
	char *runtime;    /* XDG_RUNTIME_DIR: where URLs are fetched to */
	char *bundle;     /* app.zip */
	GBytes *bytes;    /* its content */
	char *out;        /* what the last run printed */
	int exit_status;  /* and how it ended */
	JsonParser *json; /* its output, for --json runs */
} Fixture;

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
	McubootWriterOptions opts = {.version = {3, 1, 0, 0}, .payload_size = 800, .seed = 4};
	g_autoptr(GBytes) image = mcuboot_writer_build(&opts, NULL);
	const BundleWriterImage images[] = {{"app.bin", image, 0}};
	const BundleWriterManifestOptions manifest = {.board = "nrf52840dk", .soc = "nrf52840"};

	f->root = g_dir_make_tmp("dfud-inspect-XXXXXX", NULL);
	f->keys = g_build_filename(f->root, "keys", NULL);
	f->runtime = g_build_filename(f->root, "run", NULL);
	f->config = g_build_filename(f->root, "dfud.conf", NULL);
	f->bundle = g_build_filename(f->root, "app.zip", NULL);
	g_assert_cmpint(g_mkdir(f->keys, 0755), ==, 0);
	g_assert_cmpint(g_mkdir(f->runtime, 0700), ==, 0);
	dfu_test_openssl(f->root, "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out release.pem");
	dfu_test_openssl(f->root, "pkey -in release.pem -pubout -out keys/release.pem");
	f->bytes = bundle_writer_dfu_zip(images, 1, &manifest, NULL);
	g_assert_nonnull(f->bytes);
	g_assert_true(g_file_set_contents(f->bundle, g_bytes_get_data(f->bytes, NULL),
	                                  g_bytes_get_size(f->bytes), NULL));
	g_assert_true(g_file_set_contents(f->config, "", 0, NULL));
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
	dfu_test_remove_tree(f->root);
	g_free(f->root);
	g_free(f->keys);
	g_free(f->runtime);
	g_free(f->config);
	g_free(f->bundle);
	g_bytes_unref(f->bytes);
	g_free(f->out);
	g_clear_object(&f->json);
}

static void
write_config(Fixture *f, const char *text)
{
	g_assert_true(g_file_set_contents(f->config, text, -1, NULL));
}

/* signs @path into @sig_path with the trusted key, or an untrusted one */
static void
sign(Fixture *f, const char *path, const char *sig_path, gboolean trusted)
{
	g_autofree char *args = NULL;

	if (!trusted)
		dfu_test_openssl(f->root,
		                 "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out rogue.pem");
	args = g_strdup_printf("dgst -sha256 -sign %s -out %s %s", trusted ? "release.pem" : "rogue.pem",
	                       sig_path, path);
	dfu_test_openssl(f->root, args);
}

/* runs dfuctl inspect with these arguments; --json output is parsed into f->json */
static void
inspect(Fixture *f, const char *first, ...)
{
	g_autofree char *dfuctl = g_build_filename(g_getenv("DFUD_BUILD_ROOT"), "client", "dfuctl", NULL);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GSubprocessLauncher) launcher =
	        g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	gboolean json = FALSE;
	va_list args;

	g_ptr_array_add(argv, dfuctl);
	g_ptr_array_add(argv, "inspect");
	va_start(args, first);
	for (const char *arg = first; arg != NULL; arg = va_arg(args, const char *)) {
		json |= g_str_equal(arg, "--json");
		g_ptr_array_add(argv, (gpointer)arg);
	}
	va_end(args);
	g_ptr_array_add(argv, NULL);
	g_subprocess_launcher_setenv(launcher, "DFUD_CONFIG", f->config, TRUE);
	g_subprocess_launcher_setenv(launcher, "XDG_RUNTIME_DIR", f->runtime, TRUE);
	proc = g_subprocess_launcher_spawnv(launcher, (const char *const *)argv->pdata, &error);
	g_assert_no_error(error);
	g_clear_pointer(&f->out, g_free);
	g_assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, &f->out, NULL, &error));
	g_assert_no_error(error);
	f->exit_status = g_subprocess_get_exit_status(proc);
	g_test_message("exit %d: %s", f->exit_status, f->out);
	g_clear_object(&f->json);
	if (json && f->exit_status == 0) {
		f->json = json_parser_new();
		g_assert_true(json_parser_load_from_data(f->json, f->out, -1, &error));
		g_assert_no_error(error);
	}
}

static JsonObject *
json_member(Fixture *f, const char *name)
{
	JsonObject *root = json_node_get_object(json_parser_get_root(f->json));

	return json_object_get_object_member(root, name);
}

static void
assert_runtime_empty(Fixture *f)
{
	g_autoptr(GDir) dir = g_dir_open(f->runtime, 0, NULL);

	g_assert_nonnull(dir);
	g_assert_null(g_dir_read_name(dir));
}

static void
test_file_unsigned(Fixture *f, gconstpointer data)
{
	JsonObject *image;

	inspect(f, "--json", f->bundle, NULL);
	g_assert_cmpint(f->exit_status, ==, 0);
	g_assert_cmpstr(json_object_get_string_member(json_member(f, "Signature"), "Status"), ==, "unsigned");
	image = json_array_get_object_element(
	        json_object_get_array_member(json_node_get_object(json_parser_get_root(f->json)), "Images"),
	        0);
	g_assert_cmpstr(json_object_get_string_member(image, "Version"), ==, "3.1.0");
	g_assert_cmpstr(json_object_get_string_member(image, "Board"), ==, "nrf52840dk");
	g_assert_cmpint(json_object_get_int_member(image, "Size"), >, 800);
	inspect(f, f->bundle, NULL);
	g_assert_cmpint(f->exit_status, ==, 0);
	g_assert_nonnull(strstr(f->out, "\n  board: nrf52840dk\n"));
	g_assert_true(g_str_has_suffix(f->out, "\nbundle signature: unsigned\n"));
}

static void
test_file_signed(Fixture *f, gconstpointer data)
{
	g_autofree char *sig = g_strconcat(f->bundle, ".sig", NULL);
	g_autofree char *key = g_build_filename(f->keys, "release.pem", NULL);
	g_autofree char *line = g_strdup_printf("\nbundle signature: signed, verified by %s\n", key);

	sign(f, f->bundle, sig, TRUE);
	inspect(f, "--keys", f->keys, f->bundle, NULL);
	g_assert_cmpint(f->exit_status, ==, 0);
	g_assert_true(g_str_has_suffix(f->out, line));
}

static void
test_file_configured_keys(Fixture *f, gconstpointer data)
{
	g_autofree char *sig = g_strconcat(f->bundle, ".sig", NULL);
	g_autofree char *config = g_strdup_printf("[verify]\nKeyDirectory=%s\n", f->keys);
	g_autofree char *key = g_build_filename(f->keys, "release.pem", NULL);

	sign(f, f->bundle, sig, TRUE);
	write_config(f, config);
	inspect(f, "--json", f->bundle, NULL);
	g_assert_cmpint(f->exit_status, ==, 0);
	g_assert_cmpstr(json_object_get_string_member(json_member(f, "Signature"), "Status"), ==, "verified");
	g_assert_cmpstr(json_object_get_string_member(json_member(f, "Signature"), "Key"), ==, key);
}

static void
test_file_bad_signature(Fixture *f, gconstpointer data)
{
	g_autofree char *sig = g_strconcat(f->bundle, ".sig", NULL);

	sign(f, f->bundle, sig, FALSE);
	inspect(f, "--keys", f->keys, f->bundle, NULL);
	g_assert_cmpint(f->exit_status, ==, 1);
	/* refused before the bundle is parsed, so nothing of it is shown */
	g_assert_true(g_str_has_prefix(f->out, "dfuctl: bundle failed: bad-signature (154): signature does "
	                                       "not verify: none of the 1 keys in "));
	g_assert_null(strstr(f->out, "kind:"));
}

/* a manifest.json that nests a million arrays: json-glib would recurse past the stack */
static void
test_file_deep_manifest(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) json = dfu_test_repeat("[", 1, 1000000);
	g_autoptr(GBytes) zip = bundle_writer_manifest_zip(json, NULL);
	g_autofree char *path = g_build_filename(f->root, "deep.zip", NULL);
	g_autofree char *sig = g_strconcat(path, ".sig", NULL);
	g_autofree char *config = g_strdup_printf("[verify]\nSignature=required\nKeyDirectory=%s\n", f->keys);
	const char *malformed = "dfuctl: bundle failed: malformed-manifest (152): manifest.json nests deeper "
	                        "than 32 levels\n";

	g_assert_true(g_file_set_contents(path, g_bytes_get_data(zip, NULL), g_bytes_get_size(zip), NULL));
	inspect(f, path, NULL);
	g_assert_cmpint(f->exit_status, ==, 1);
	g_assert_true(g_str_has_prefix(f->out, malformed));
	/* Signature=required with keys: an unsigned bundle is refused unparsed */
	write_config(f, config);
	inspect(f, path, NULL);
	g_assert_cmpint(f->exit_status, ==, 1);
	g_assert_true(g_str_has_prefix(f->out, "dfuctl: bundle failed: bad-signature (154): signatures are "
	                                       "required, but the bundle came without one"));
	sign(f, path, sig, FALSE);
	inspect(f, "--keys", f->keys, path, NULL);
	g_assert_cmpint(f->exit_status, ==, 1);
	g_assert_true(g_str_has_prefix(f->out, "dfuctl: bundle failed: bad-signature (154): "));
	/* trusted, so parsed: the limit still holds */
	sign(f, path, sig, TRUE);
	inspect(f, "--keys", f->keys, path, NULL);
	g_assert_cmpint(f->exit_status, ==, 1);
	g_assert_true(g_str_has_prefix(f->out, malformed));
}

static void
test_file_no_keys(Fixture *f, gconstpointer data)
{
	g_autofree char *sig = g_strconcat(f->bundle, ".sig", NULL);
	g_autofree char *missing = g_build_filename(f->root, "missing", NULL);
	g_autofree char *config = g_strdup_printf("[verify]\nKeyDirectory=%s\n", missing);

	sign(f, f->bundle, sig, TRUE);
	write_config(f, config);
	inspect(f, f->bundle, NULL);
	g_assert_cmpint(f->exit_status, ==, 0);
	g_assert_true(g_str_has_suffix(f->out, "\nbundle signature: signed, not checked: no readable key "
	                                       "directory; give --keys DIR\n"));
}

static void
test_file_broken(Fixture *f, gconstpointer data)
{
	g_autofree char *junk = g_build_filename(f->root, "junk.bin", NULL);

	g_assert_true(g_file_set_contents(junk, "junk", 4, NULL));
	inspect(f, junk, NULL);
	g_assert_cmpint(f->exit_status, ==, 1);
	g_assert_true(
	        g_str_has_prefix(f->out, "dfuctl: bundle failed: unsupported-bundle (158): junk.bin: "));
}

static void
test_url(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuTestServer) server = dfu_test_server_start(f->bytes, TRUE);
	g_autofree char *url = dfu_test_server_url(server, "app.bundle");
	g_autofree char *served = g_build_filename(server->dir, "www", "app.bundle", NULL);
	g_autofree char *sig = g_strconcat(served, ".sig", NULL);
	g_autofree char *config =
	        g_strdup_printf("[http]\nCAFile=%s\n[verify]\nKeyDirectory=%s\n", server->ca_file, f->keys);
	g_autofree char *key = g_build_filename(f->keys, "release.pem", NULL);
	JsonObject *signature;

	write_config(f, config);
	/* no app.bundle.sig on the server yet */
	inspect(f, "--json", url, NULL);
	g_assert_cmpint(f->exit_status, ==, 0);
	g_assert_cmpstr(json_object_get_string_member(json_member(f, "Signature"), "Status"), ==, "unsigned");
	assert_runtime_empty(f);

	sign(f, served, sig, TRUE);
	inspect(f, "--json", url, NULL);
	g_assert_cmpint(f->exit_status, ==, 0);
	signature = json_member(f, "Signature");
	g_assert_cmpstr(json_object_get_string_member(signature, "Status"), ==, "verified");
	g_assert_cmpstr(json_object_get_string_member(signature, "Key"), ==, key);
	assert_runtime_empty(f);

	sign(f, served, sig, FALSE);
	inspect(f, url, NULL);
	g_assert_cmpint(f->exit_status, ==, 1);
	g_assert_true(g_str_has_prefix(f->out, "dfuctl: bundle failed: bad-signature (154): signature does "
	                                       "not verify: "));
	assert_runtime_empty(f);
}

static void
test_url_failures(Fixture *f, gconstpointer data)
{
	g_autoptr(DfuTestServer) server = dfu_test_server_start(f->bytes, TRUE);
	g_autofree char *missing = dfu_test_server_url(server, "missing.zip");
	g_autofree char *url = dfu_test_server_url(server, "app.bundle");
	g_autofree char *config = g_strdup_printf("[http]\nCAFile=%s\n", server->ca_file);

	/* the test CA is not trusted without CAFile= */
	inspect(f, url, NULL);
	g_assert_cmpint(f->exit_status, ==, 1);
	g_assert_true(g_str_has_prefix(f->out, "dfuctl: "));
	assert_runtime_empty(f);
	write_config(f, config);
	inspect(f, missing, NULL);
	g_assert_cmpint(f->exit_status, ==, 1);
	g_assert_nonnull(strstr(f->out, "404"));
	assert_runtime_empty(f);
}

static void
add(const char *path, void (*func)(Fixture *, gconstpointer))
{
	g_test_add(path, Fixture, NULL, fixture_set_up, func, fixture_tear_down);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	add("/inspect/file-unsigned", test_file_unsigned);
	add("/inspect/file-signed", test_file_signed);
	add("/inspect/file-configured-keys", test_file_configured_keys);
	add("/inspect/file-bad-signature", test_file_bad_signature);
	add("/inspect/file-no-keys", test_file_no_keys);
	add("/inspect/file-deep-manifest", test_file_deep_manifest);
	add("/inspect/file-broken", test_file_broken);
	add("/inspect/url", test_url);
	add("/inspect/url-failures", test_url_failures);
	return g_test_run();
}
