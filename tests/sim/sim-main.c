/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "sim-device-options.h"
#include "sim-faults.h"
#include "sim-link.h"
#include "sim-mcuboot.h"
#include "sim-nrfdfu-server.h"
#include "sim-serve.h"
#include "sim-smp-server.h"
#include "sim-udp-server.h"

/* dfu-sim: an MCUmgr SMP device with an MCUboot slot model behind a pty or a UDP socket,
 * or (--protocol nrfdfu) an nRF5 Secure DFU bootloader behind a pty */

/* Zephyr's defaults with the UDP transport: CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE / _COUNT, _UDP_MTU */
#define UDP_BUF_SIZE 2048
#define UDP_BUF_COUNT 2
#define UDP_MTU 1500
#define SERIAL_BUF_SIZE 384
#define SERIAL_BUF_COUNT 4

typedef struct {
	char *link;
	gint baud;
	char *udp;
	gint udp_mtu;
	gint udp_loss;
	gint udp_seed;
	gint udp_delay_ms;
	char *state_file;
	char *framing;
	char *protocol;
	gint nrf_app_version;
	gint nrf_hw_version;
	gint nrf_mtu;
	gint nrf_erase_us;
	gint nrf_word_write_us;
	char *usb_serial;
	char *sysfs;
	gboolean reenumerate;
	SimDeviceOptions device;
} SimOptions;

static void
sim_options_clear(SimOptions *opts)
{
	g_free(opts->link);
	g_free(opts->udp);
	g_free(opts->state_file);
	g_free(opts->framing);
	g_free(opts->protocol);
	g_free(opts->usb_serial);
	g_free(opts->sysfs);
	sim_device_options_clear(&opts->device);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SimOptions, sim_options_clear)

/* the Nordic bootloader's settings; the link, boot time and faults are shared with the SMP device */
static gboolean
apply_nrfdfu_options(SimOptions *opts, const SimServerConfig *server, SimNrfDfuServerConfig *nrf,
                     GError **error)
{
	if (opts->udp != NULL || opts->nrf_mtu < 11 || opts->nrf_mtu > 65535 || opts->nrf_app_version < 0 ||
	    opts->nrf_hw_version < 0 || opts->nrf_erase_us < 0 || opts->nrf_word_write_us < 0) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		                    "--protocol nrfdfu takes --link and sensible --nrf-* values");
		return FALSE;
	}
	sim_nrfdfu_config_init(&nrf->device);
	nrf->device.mtu = (guint)opts->nrf_mtu;
	nrf->device.app_version = (guint32)opts->nrf_app_version;
	nrf->device.hw_version = (guint32)opts->nrf_hw_version;
	nrf->device.erase_us = (guint)opts->nrf_erase_us;
	nrf->device.word_write_us = (guint)opts->nrf_word_write_us;
	nrf->device.state_file = opts->state_file;
	nrf->boot_ms = (guint)opts->device.boot_ms;
	nrf->reset_hangup = server->reset_hangup;
	return TRUE;
}

static gboolean
parse_options(int *argc, char ***argv, SimOptions *opts, SimMcubootConfig *model, SimServerConfig *server,
              SimUdpConfig *udp, SimNrfDfuServerConfig *nrf, GError **error)
{
	const GOptionEntry entries[] = {
	        {"link", 0, 0, G_OPTION_ARG_FILENAME, &opts->link, "Symlink to create for the pty", "PATH"},
	        {"baud", 0, 0, G_OPTION_ARG_INT, &opts->baud, "Line speed, 0 = unthrottled", "BAUD"},
	        {"udp", 0, 0, G_OPTION_ARG_STRING, &opts->udp, "Serve SMP over UDP instead of a pty",
	         "IPv4:PORT|[IPv6]:PORT"},
	        {"udp-mtu", 0, 0, G_OPTION_ARG_INT, &opts->udp_mtu, "Receive limit; longer datagrams are cut",
	         "BYTES"},
	        {"udp-loss", 0, 0, G_OPTION_ARG_INT, &opts->udp_loss, "Datagrams lost at random, either way",
	         "PERCENT"},
	        {"udp-seed", 0, 0, G_OPTION_ARG_INT, &opts->udp_seed, "Seed of the datagram loss", "N"},
	        {"udp-delay-ms", 0, 0, G_OPTION_ARG_INT, &opts->udp_delay_ms,
	         "Hold every answer back this long, as a round trip would", "MS"},
	        {"reset-hangup", 0, 0, G_OPTION_ARG_NONE, &server->reset_hangup, "Hang up the link on reset",
	         NULL},
	        {"state-file", 0, 0, G_OPTION_ARG_FILENAME, &opts->state_file,
	         "JSON file with the device state", "PATH"},
	        {"framing", 0, 0, G_OPTION_ARG_STRING, &opts->framing,
	         "SMP framing on the line: console (default) or raw", "console|raw"},
	        {"protocol", 0, 0, G_OPTION_ARG_STRING, &opts->protocol, "Device to model (default smp)",
	         "smp|nrfdfu"},
	        {"nrf-app-version", 0, 0, G_OPTION_ARG_INT, &opts->nrf_app_version,
	         "nrfdfu: running application version; lower ones are refused", "N"},
	        {"nrf-hw-version", 0, 0, G_OPTION_ARG_INT, &opts->nrf_hw_version,
	         "nrfdfu: hardware version init packets must name, 0 = any", "N"},
	        {"nrf-mtu", 0, 0, G_OPTION_ARG_INT, &opts->nrf_mtu,
	         "nrfdfu: SLIP buffer size Get MTU reports", "BYTES"},
	        {"nrf-erase-us", 0, 0, G_OPTION_ARG_INT, &opts->nrf_erase_us,
	         "nrfdfu: flash time to erase a data object's page", "US"},
	        {"nrf-word-write-us", 0, 0, G_OPTION_ARG_INT, &opts->nrf_word_write_us,
	         "nrfdfu: flash time to program one 4-byte word", "US"},
	        {"usb-serial", 0, 0, G_OPTION_ARG_STRING, &opts->usb_serial,
	         "The port is a USB device's with this serial number, shown in --sysfs", "SERIAL"},
	        {"sysfs", 0, 0, G_OPTION_ARG_FILENAME, &opts->sysfs, "Fake sysfs tree for --usb-serial",
	         "DIR"},
	        {"reenumerate", 0, 0, G_OPTION_ARG_NONE, &opts->reenumerate,
	         "After a hang-up the port comes back as LINK.2, LINK.3, ...", NULL},
	        G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new("- MCUmgr SMP device simulator");

	g_option_context_add_main_entries(context, entries, NULL);
	sim_device_options_add_entries(&opts->device, context);
	if (!g_option_context_parse(context, argc, argv, error))
		return FALSE;
	if (opts->protocol != NULL && !g_str_equal(opts->protocol, "smp") &&
	    !g_str_equal(opts->protocol, "nrfdfu")) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "unknown protocol %s",
		            opts->protocol);
		return FALSE;
	}
	if ((opts->link == NULL) == (opts->udp == NULL)) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		                    "one of --link and --udp is required");
		return FALSE;
	}
	/* buffers as the firmware of each transport has them, unless given */
	if (opts->device.buf_size < 0)
		opts->device.buf_size = opts->udp != NULL ? UDP_BUF_SIZE : SERIAL_BUF_SIZE;
	if (opts->device.buf_count < 0)
		opts->device.buf_count = opts->udp != NULL ? UDP_BUF_COUNT : SERIAL_BUF_COUNT;
	if (!sim_device_options_apply(&opts->device, model, &server->device, error))
		return FALSE;
	if (opts->baud < 0 || opts->udp_mtu < 8 || opts->udp_mtu > 65535 || opts->udp_loss < 0 ||
	    opts->udp_loss > 100 || opts->udp_delay_ms < 0 || opts->udp_delay_ms > 60000) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		                    "a numeric option is out of range");
		return FALSE;
	}
	if (opts->framing != NULL && !dfu_framing_from_string(opts->framing, &server->framing)) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		            "--framing must be console or raw, not '%s'", opts->framing);
		return FALSE;
	}
	server->device.state_file = opts->state_file;
	server->device.log_prefix = "dfu-sim";
	server->boot_ms = (guint)opts->device.boot_ms;
	udp->device = server->device;
	udp->boot_ms = server->boot_ms;
	udp->mtu = (guint)opts->udp_mtu;
	udp->loss_percent = (guint)opts->udp_loss;
	udp->seed = (guint32)opts->udp_seed;
	udp->reply_delay_ms = (guint)opts->udp_delay_ms;
	if (g_strcmp0(opts->protocol, "nrfdfu") == 0)
		return apply_nrfdfu_options(opts, server, nrf, error);
	return TRUE;
}

/* the state file is written through whichever server holds the device */
static gboolean
write_state(SimSmpServer *server, SimUdpServer *udp_server, SimNrfDfuServer *nrf_server, GError **error)
{
	if (nrf_server != NULL)
		return sim_nrfdfu_server_write_state(nrf_server, error);
	return udp_server != NULL ? sim_udp_server_write_state(udp_server, error)
	                          : sim_smp_server_write_state(server, error);
}

int
main(int argc, char **argv)
{
	g_auto(SimOptions) opts = {.baud = 115200, .udp_mtu = UDP_MTU, .nrf_mtu = 131};
	g_autoptr(GError) error = NULL;
	g_autoptr(SimFaultPlan) faults = sim_fault_plan_new();
	g_autoptr(SimMcuboot) model = NULL;
	g_autoptr(SimSmpServer) server = NULL;
	g_autoptr(SimUdpServer) udp_server = NULL;
	g_autoptr(SimNrfDfuServer) nrf_server = NULL;
	g_autoptr(SimLink) link = NULL;
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	SimMcubootConfig model_config = {0};
	SimServerConfig server_config = {0};
	SimUdpConfig udp_config = {0};
	SimNrfDfuServerConfig nrf_config = {0};

	/* buffers unset: their defaults depend on the transport */
	sim_device_options_init(&opts.device, -1, 200);
	opts.device.buf_count = -1;
	if (!parse_options(&argc, &argv, &opts, &model_config, &server_config, &udp_config, &nrf_config,
	                   &error)) {
		g_printerr("dfu-sim: %s\n", error->message);
		return 2;
	}
	for (char **f = opts.device.faults; f != NULL && *f != NULL; f++) {
		if (!sim_fault_plan_add(faults, *f, &error)) {
			g_printerr("dfu-sim: %s\n", error->message);
			return 2;
		}
	}
	model = sim_mcuboot_new(&model_config, &error);
	if (model == NULL) {
		g_printerr("dfu-sim: %s\n", error->message);
		return 1;
	}
	if (g_strcmp0(opts.protocol, "nrfdfu") == 0) {
		nrf_server = sim_nrfdfu_server_new(&nrf_config, faults);
		link = sim_link_new(opts.link, (guint)opts.baud, sim_nrfdfu_server_input,
		                    sim_nrfdfu_server_output_idle, nrf_server, &error);
		if (link != NULL)
			sim_nrfdfu_server_set_link(nrf_server, link);
	} else if (opts.udp != NULL) {
		udp_server = sim_udp_server_new(&udp_config, opts.udp, model, faults, &error);
	} else {
		server = sim_smp_server_new(&server_config, model, faults);
		link = sim_link_new(opts.link, (guint)opts.baud, sim_smp_server_input,
		                    sim_smp_server_output_idle, server, &error);
		if (link != NULL)
			sim_smp_server_set_link(server, link);
	}
	if (link != NULL && opts.usb_serial != NULL && opts.sysfs != NULL &&
	    !sim_link_set_usb(link, opts.sysfs, opts.usb_serial, opts.reenumerate, &error)) {
		g_printerr("dfu-sim: %s\n", error->message);
		return 1;
	}
	if ((udp_server == NULL && link == NULL) || !write_state(server, udp_server, nrf_server, &error)) {
		g_printerr("dfu-sim: %s\n", error->message);
		return 1;
	}

	sim_serve(loop, opts.udp != NULL ? opts.udp : opts.link);

	/* the link goes first so that the symlink is gone when the state file says we are done */
	g_clear_pointer(&link, sim_link_free);
	if (!write_state(server, udp_server, nrf_server, &error)) {
		g_printerr("dfu-sim: %s\n", error->message);
		return 1;
	}
	return 0;
}
