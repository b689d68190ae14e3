/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "sim-link.h"
#include "sim-meshnode.h"
#include "sim-serve.h"
#include "sim-state-file.h"

/* dfu-sim-mesh: a mesh of nRF5 SDK for Mesh nodes behind one serial node on a pty */

#define SAVE_INTERVAL_MS 50
/* a USB-UART bridge that vanishes comes back after this long */
#define HANGUP_MS 500

typedef struct {
	SimMesh *mesh;
	SimLink *link;
	char *state_file;
	guint save_timer;
} Sim;

static void
save_state(Sim *sim)
{
	g_autofree char *json = sim_mesh_state_json(sim->mesh);
	g_autoptr(GError) error = NULL;

	if (sim->state_file != NULL && !sim_state_file_replace(sim->state_file, json, &error))
		g_printerr("dfu-sim-mesh: %s\n", error->message);
}

static gboolean
on_save_timer(gpointer user_data)
{
	Sim *sim = user_data;

	sim->save_timer = 0;
	save_state(sim);
	return G_SOURCE_REMOVE;
}

/* the state changes with every packet: it is written a little later, once for many */
static void
schedule_save(Sim *sim)
{
	if (sim->save_timer == 0)
		sim->save_timer = g_timeout_add(SAVE_INTERVAL_MS, on_save_timer, sim);
}

static void
on_output(const guint8 *data, gsize len, gpointer user_data)
{
	Sim *sim = user_data;

	sim_link_write(sim->link, data, len);
	schedule_save(sim);
}

static void
on_input(const guint8 *data, gsize len, gpointer user_data)
{
	Sim *sim = user_data;

	sim_mesh_input(sim->mesh, data, len);
	if (sim_mesh_take_hangup(sim->mesh))
		sim_link_hangup(sim->link, HANGUP_MS);
	schedule_save(sim);
}

static void
on_link_idle(gpointer user_data)
{
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	g_autoptr(GOptionContext) context = g_option_context_new("- nRF5 SDK for Mesh DFU simulator");
	g_autofree char *link_path = NULL;
	g_autofree char *key_path = NULL;
	gint baud = 115200, remote_nodes = 3, remote_loss = 0, seed = 1, beacon_ms = 100, byte_loss = 0,
	     drop_acks = 0, reboot_at = 0, hangup_at = 0, erase_page_ms = 0;
	gint64 company = 0x59, app_id = 1, app_version = 1, bl_id = 1, bl_version = 1, sd = 0xCB;
	gdouble time_scale = 1;
	gboolean bootloader = FALSE, relay_only = FALSE, no_serial = FALSE, wrong_baud = FALSE,
	         stuck_cts = FALSE, echo_mismatch = FALSE;
	SimMeshConfig config = {0};
	Sim sim = {0};
	const GOptionEntry entries[] = {
	        {"link", 0, 0, G_OPTION_ARG_FILENAME, &link_path, "Symlink to create for the pty", "PATH"},
	        {"baud", 0, 0, G_OPTION_ARG_INT, &baud, "Line speed, 0 = unthrottled", "BAUD"},
	        {"state-file", 0, 0, G_OPTION_ARG_FILENAME, &sim.state_file,
	         "JSON file with the mesh's state", "PATH"},
	        {"company-id", 0, 0, G_OPTION_ARG_INT64, &company, "Company ID of every node", "N"},
	        {"application-id", 0, 0, G_OPTION_ARG_INT64, &app_id, "Application ID of every node", "N"},
	        {"application-version", 0, 0, G_OPTION_ARG_INT64, &app_version, "Application version", "N"},
	        {"bootloader-id", 0, 0, G_OPTION_ARG_INT64, &bl_id, "Bootloader ID", "N"},
	        {"bootloader-version", 0, 0, G_OPTION_ARG_INT64, &bl_version, "Bootloader version", "N"},
	        {"softdevice", 0, 0, G_OPTION_ARG_INT64, &sd, "SoftDevice ID", "N"},
	        {"remote-nodes", 0, 0, G_OPTION_ARG_INT, &remote_nodes, "Nodes beyond the serial node", "N"},
	        {"remote-loss", 0, 0, G_OPTION_ARG_INT, &remote_loss,
	         "Percent of DATA each remote node misses", "PCT"},
	        {"seed", 0, 0, G_OPTION_ARG_INT, &seed, "Seed of the losses", "N"},
	        {"time-scale", 0, 0, G_OPTION_ARG_DOUBLE, &time_scale, "Mesh delays are divided by this",
	         "F"},
	        {"beacon-ms", 0, 0, G_OPTION_ARG_INT, &beacon_ms, "Firmware ID beacon period, 0 = none",
	         "MS"},
	        {"bootloader", 0, 0, G_OPTION_ARG_NONE, &bootloader,
	         "Start the serial node in its bootloader", NULL},
	        {"relay-only", 0, 0, G_OPTION_ARG_NONE, &relay_only,
	         "The serial node's application relays instead of updating itself", NULL},
	        {"no-serial", 0, 0, G_OPTION_ARG_NONE, &no_serial, "The application has no mesh serial",
	         NULL},
	        {"wrong-baud", 0, 0, G_OPTION_ARG_NONE, &wrong_baud, "The line runs at another rate", NULL},
	        {"stuck-cts", 0, 0, G_OPTION_ARG_NONE, &stuck_cts, "The node never hears the host", NULL},
	        {"echo-mismatch", 0, 0, G_OPTION_ARG_NONE, &echo_mismatch, "Echo other bytes", NULL},
	        {"byte-loss", 0, 0, G_OPTION_ARG_INT, &byte_loss, "Lose every Nth byte from the host", "N"},
	        {"drop-acks", 0, 0, G_OPTION_ARG_INT, &drop_acks, "Lose every Nth answer to a DFU packet",
	         "N"},
	        {"reboot-at", 0, 0, G_OPTION_ARG_INT, &reboot_at, "Restart the serial node once at segment N",
	         "N"},
	        {"erase-ms-per-page", 0, 0, G_OPTION_ARG_INT, &erase_page_ms,
	         "Bank erase per 4 KiB in real time (BUSY meanwhile)", "MS"},
	        {"public-key", 0, 0, G_OPTION_ARG_FILENAME, &key_path,
	         "EC P-256 public key (PEM) on every device page: transfers must be signed with it", "FILE"},
	        {"hangup-at", 0, 0, G_OPTION_ARG_INT, &hangup_at,
	         "The USB-UART bridge vanishes once at segment N and comes back", "N"},
	        G_OPTION_ENTRY_NULL,
	};

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("dfu-sim-mesh: %s\n", error->message);
		return 2;
	}
	if (link_path == NULL || baud < 0 || remote_nodes < 0 || remote_loss < 0 || remote_loss > 100 ||
	    beacon_ms < 0 || byte_loss < 0 || drop_acks < 0 || reboot_at < 0 || hangup_at < 0 ||
	    erase_page_ms < 0 || time_scale <= 0) {
		g_printerr("dfu-sim-mesh: --link is required; an option is out of range\n");
		return 2;
	}
	config.fwid = (MeshFwid){.sd = (guint16)sd,
	                         .bl_id = (guint8)bl_id,
	                         .bl_version = (guint8)bl_version,
	                         .company = (guint32)company,
	                         .app_id = (guint16)app_id,
	                         .app_version = (guint32)app_version};
	config.bootloader = bootloader;
	config.relay_only = relay_only;
	config.remote_nodes = (guint)remote_nodes;
	config.remote_loss = (guint)remote_loss;
	config.seed = (guint32)seed;
	config.time_scale = time_scale;
	config.beacon_ms = (guint)beacon_ms;
	config.no_serial = no_serial;
	config.wrong_baud = wrong_baud;
	config.stuck_cts = stuck_cts;
	config.echo_mismatch = echo_mismatch;
	config.byte_loss = (guint)byte_loss;
	config.drop_acks = (guint)drop_acks;
	config.reboot_at = (guint)reboot_at;
	config.hangup_at = (guint)hangup_at;
	config.erase_page_ms = (guint)erase_page_ms;
	if (key_path != NULL && (config.public_key = dfu_key_ring_load_file(key_path, &error)) == NULL) {
		g_printerr("dfu-sim-mesh: %s\n", error->message);
		return 2;
	}

	sim.mesh = sim_mesh_new(&config, on_output, &sim);
	sim.link = sim_link_new(link_path, (guint)baud, on_input, on_link_idle, &sim, &error);
	if (sim.link == NULL) {
		g_printerr("dfu-sim-mesh: %s\n", error->message);
		return 1;
	}
	save_state(&sim);
	sim_mesh_boot(sim.mesh);

	sim_serve(loop, link_path);

	g_clear_handle_id(&sim.save_timer, g_source_remove);
	g_clear_pointer(&sim.link, sim_link_free);
	save_state(&sim);
	sim_mesh_free(sim.mesh);
	g_clear_pointer(&config.public_key, dfu_key_ring_free);
	g_free(sim.state_file);
	return 0;
}
