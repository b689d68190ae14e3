/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dfu-sim-ble: MCUmgr SMP devices with an MCUboot slot model behind a fake
 * org.bluez (BlueZ 5.66 API shapes) on a private D-Bus bus.
 *
 * Bus and objects
 *   --bus ADDRESS          bus to own org.bluez on (default $DBUS_SYSTEM_BUS_ADDRESS)
 *   --adapter NAME         adapter object /org/bluez/NAME (default hci0)
 *   --device ADDR          one simulated device (repeatable), e.g. C4:12:34:56:78:9A
 *   --device-uuids ADDR=UUID[,UUID...]
 *                          the services that device advertises instead of SMP's (repeatable)
 *   --hidden               Device1 objects appear only once discovery has seen them
 *   --advertise-ms MS      advertising interval: time until discovery sees a device (100)
 *   --connect-ms MS        time Connect() takes to an advertising device (50)
 *   --no-acquire           AcquireWrite / AcquireNotify answer org.bluez.Error.NotSupported
 *   --require-pairing=notify|silent
 *                          until Device1.Pair(): notify: StartNotify/AcquireNotify fail with
 *                          NotPermitted and writes are dropped; silent: writes are dropped
 *                          (Pair() succeeds once the writes already in the link are in)
 *   --state-dir DIR        each device's state as DIR/<address without colons>.json
 *   --verbose              log connections and requests on stderr
 *
 * Device model (every device; as dfu-sim)
 *   --images N, --slot-size BYTES, --running-version X.Y.Z, --buf-size BYTES (2475),
 *   --buf-count N (4), --no-params, --errors v1|v2, --image-check, --erase-ms MS,
 *   --write-us-per-kb US, --reset-ms MS (50), --boot-rejects, --refuse-test
 *   --no-reassembly        each write must hold one whole SMP message, else it is dropped
 *   --swap-ms MS           after a reset the device is off the air this long (1000)
 *   --boot-ms MS           added to --swap-ms (0)
 *   --no-return            after a reset the device never advertises again
 *
 * Link model (see ble-link-model.c for the formula)
 *   --mtu N (247), --interval-ms MS (7.5), --phy 1M|2M (1M), --data-length N (251),
 *   --pdus-per-event N (0 = as many as fit), --link-queue N (64 writes)
 *   --print-ceiling        print ceiling_att_value_bytes_per_s=... write_value_max=... and exit
 *
 * Nordic Secure DFU (--protocol nrfdfu instead of the default smp)
 *   --buttonless none|plain|bonded
 *                          none: each --device is the bootloader (service FE59, control point
 *                          and packet characteristics); plain: the device is the application
 *                          with the buttonless characteristic 8EC90003, whose Enter request
 *                          resets it into the bootloader at the address + 1; bonded: 8EC90004,
 *                          the device starts paired and the bootloader keeps its address;
 *                          as BlueZ does for a bond, a connection shows the GATT services
 *                          cached from the last one until the device's Service Changed has
 *                          them discovered again (150 ms later)
 *   --nrf-app-version N    running application version; lower ones are refused
 *   --nrf-hw-version N     hardware version init packets must name, 0 = any
 *   The state file holds the bootloader model's state (as dfu-sim --protocol nrfdfu);
 *   disconnect-at=N and silent-after/drop-request faults apply to it.
 *
 * Faults (--fault, repeatable)
 *   disconnect-at=N        drop the link once N upload bytes were received (also @N)
 *   drop-when-full         a request that comes while buf-count are held is discarded
 *                          (without it the writes wait in the link until a netbuf is free;
 *                          a request holds its netbuf until its answer is over the air)
 *   error@GROUP:ID:RC[:COUNT], busy@N, drop-request@N, silent-after@N, reset-at@BYTES
 *
 * Prints READY once org.bluez is owned and every object is exported; exits 0
 * on SIGTERM or SIGINT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib-unix.h>

#include "ble-adapter.h"
#include "ble-device.h"
#include "ble-nrfdfu-target.h"
#include "sim-device-options.h"
#include "sim-serve.h"

typedef struct {
	char *bus;
	char *adapter;
	char **devices;
	char **device_uuids;
	gboolean hidden;
	gint advertise_ms;
	gint connect_ms;
	gboolean no_acquire;
	char *require_pairing;
	char *state_dir;
	gboolean no_reassembly;
	gint swap_ms;
	gboolean no_return;
	gint mtu;
	double interval_ms;
	char *phy;
	gint data_length;
	gint pdus_per_event;
	gint link_queue;
	gboolean print_ceiling;
	char *protocol;
	char *buttonless;
	gint nrf_app_version;
	gint nrf_hw_version;
	SimDeviceOptions device;
} BleSimOptions;

static void
ble_sim_options_clear(BleSimOptions *opts)
{
	g_free(opts->bus);
	g_free(opts->adapter);
	g_strfreev(opts->devices);
	g_strfreev(opts->device_uuids);
	g_free(opts->require_pairing);
	g_free(opts->state_dir);
	g_free(opts->phy);
	g_free(opts->protocol);
	g_free(opts->buttonless);
	sim_device_options_clear(&opts->device);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(BleSimOptions, ble_sim_options_clear)

static const struct {
	const char *name;
	BlePairing pairing;
} pairing_modes[] = {
        {"notify", BLE_PAIRING_NOTIFY},
        {"silent", BLE_PAIRING_SILENT},
};

static const struct {
	const char *name;
	BleButtonless buttonless;
} buttonless_modes[] = {
        {"none", BLE_BUTTONLESS_NONE},
        {"plain", BLE_BUTTONLESS_PLAIN},
        {"bonded", BLE_BUTTONLESS_BONDED},
};

static void
set_default(char **option, const char *value)
{
	if (*option == NULL)
		*option = g_strdup(value);
}

static gboolean
parse_options(int *argc, char ***argv, BleSimOptions *o, BleDeviceConfig *config, GError **error)
{
	const GOptionEntry entries[] = {
	        {"bus", 0, 0, G_OPTION_ARG_STRING, &o->bus, "D-Bus address to use", "ADDRESS"},
	        {"adapter", 0, 0, G_OPTION_ARG_STRING, &o->adapter, "Adapter name", "NAME"},
	        {"device", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->devices, "Simulated device (repeatable)",
	         "ADDR"},
	        {"device-uuids", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->device_uuids,
	         "Services a device advertises instead of SMP's (repeatable)", "ADDR=UUID[,UUID...]"},
	        {"hidden", 0, 0, G_OPTION_ARG_NONE, &o->hidden, "Devices appear only through discovery",
	         NULL},
	        {"advertise-ms", 0, 0, G_OPTION_ARG_INT, &o->advertise_ms,
	         "Time until discovery sees a device", "MS"},
	        {"connect-ms", 0, 0, G_OPTION_ARG_INT, &o->connect_ms, "Connection set-up time", "MS"},
	        {"no-acquire", 0, 0, G_OPTION_ARG_NONE, &o->no_acquire, "No AcquireWrite/AcquireNotify",
	         NULL},
	        {"require-pairing", 0, 0, G_OPTION_ARG_STRING, &o->require_pairing, "Pairing needed",
	         "notify|silent"},
	        {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &o->state_dir, "Directory for device state files",
	         "DIR"},
	        {"no-reassembly", 0, 0, G_OPTION_ARG_NONE, &o->no_reassembly, "One SMP message per write",
	         NULL},
	        {"swap-ms", 0, 0, G_OPTION_ARG_INT, &o->swap_ms, "Time off the air after a reset", "MS"},
	        {"no-return", 0, 0, G_OPTION_ARG_NONE, &o->no_return, "Never advertise after a reset", NULL},
	        {"mtu", 0, 0, G_OPTION_ARG_INT, &o->mtu, "ATT MTU", "N"},
	        {"interval-ms", 0, 0, G_OPTION_ARG_DOUBLE, &o->interval_ms, "Connection interval", "MS"},
	        {"phy", 0, 0, G_OPTION_ARG_STRING, &o->phy, "PHY", "1M|2M"},
	        {"data-length", 0, 0, G_OPTION_ARG_INT, &o->data_length, "LL payload bytes per PDU", "N"},
	        {"pdus-per-event", 0, 0, G_OPTION_ARG_INT, &o->pdus_per_event,
	         "LL PDUs per event and direction, 0 = as many as fit", "N"},
	        {"link-queue", 0, 0, G_OPTION_ARG_INT, &o->link_queue, "Writes the link holds", "N"},
	        {"print-ceiling", 0, 0, G_OPTION_ARG_NONE, &o->print_ceiling,
	         "Print the link's ceiling and exit", NULL},
	        {"protocol", 0, 0, G_OPTION_ARG_STRING, &o->protocol, "What the devices speak", "smp|nrfdfu"},
	        {"buttonless", 0, 0, G_OPTION_ARG_STRING, &o->buttonless,
	         "nrfdfu: how the application enters the bootloader", "none|plain|bonded"},
	        {"nrf-app-version", 0, 0, G_OPTION_ARG_INT, &o->nrf_app_version,
	         "nrfdfu: running application version", "N"},
	        {"nrf-hw-version", 0, 0, G_OPTION_ARG_INT, &o->nrf_hw_version,
	         "nrfdfu: hardware version init packets must name, 0 = any", "N"},
	        G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new("- BLE MCUmgr SMP device simulator");

	g_option_context_add_main_entries(context, entries, NULL);
	sim_device_options_add_entries(&o->device, context);
	if (!g_option_context_parse(context, argc, argv, error))
		return FALSE;
	/* string defaults are set here: GOption does not free a default it replaces */
	set_default(&o->adapter, "hci0");
	set_default(&o->phy, "1M");
	set_default(&o->protocol, "smp");
	set_default(&o->buttonless, "none");
	if (*argc > 1) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "unexpected argument %s",
		            (*argv)[1]);
		return FALSE;
	}
	if (!sim_device_options_apply(&o->device, &config->model, &config->smp, error))
		return FALSE;
	if (g_strcmp0(o->phy, "1M") != 0 && g_strcmp0(o->phy, "2M") != 0) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		                    "--phy must be 1M or 2M");
		return FALSE;
	}
	/* ATT MTU 23..517, LL payload 27..251 (Core spec limits); interval 7.5 ms..4 s */
	if (o->mtu < 23 || o->mtu > 517 || o->data_length < 27 || o->data_length > 251 ||
	    !(o->interval_ms >= 7.5 && o->interval_ms <= 4000.0) || o->pdus_per_event < 0 ||
	    o->link_queue < 1 || o->swap_ms < 0 || o->advertise_ms < 0 || o->connect_ms < 0 ||
	    o->nrf_app_version < 0 || o->nrf_hw_version < 0) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		                    "a numeric option is out of range");
		return FALSE;
	}
	return TRUE;
}

static gboolean
parse_buttonless(const char *mode, BleButtonless *out, GError **error)
{
	for (gsize i = 0; i < G_N_ELEMENTS(buttonless_modes); i++) {
		if (g_strcmp0(buttonless_modes[i].name, mode) == 0) {
			*out = buttonless_modes[i].buttonless;
			return TRUE;
		}
	}
	g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
	            "--buttonless must be none, plain or bonded");
	return FALSE;
}

static gboolean
parse_pairing(const char *mode, BlePairing *out, GError **error)
{
	*out = BLE_PAIRING_NONE;
	if (mode == NULL)
		return TRUE;
	for (gsize i = 0; i < G_N_ELEMENTS(pairing_modes); i++) {
		if (g_strcmp0(pairing_modes[i].name, mode) == 0) {
			*out = pairing_modes[i].pairing;
			return TRUE;
		}
	}
	g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
	            "--require-pairing must be notify or silent");
	return FALSE;
}

/*
 * Splits the fault specs into the BLE ones (handled here) and those of the
 * shared fault plan; disconnect-at is the plan's hangup-at.
 */
static gboolean
parse_faults(char **specs, GPtrArray *plan_specs, gboolean *drop_when_full, GError **error)
{
	for (char **f = specs; f != NULL && *f != NULL; f++) {
		if (g_strcmp0(*f, "drop-when-full") == 0) {
			*drop_when_full = TRUE;
		} else if (g_str_has_prefix(*f, "disconnect-at=") || g_str_has_prefix(*f, "disconnect-at@")) {
			g_ptr_array_add(plan_specs,
			                g_strdup_printf("hangup-at@%s", *f + strlen("disconnect-at=")));
		} else if (g_str_has_prefix(*f, "corrupt-response@") ||
		           g_str_has_prefix(*f, "truncate-response@") || g_str_has_prefix(*f, "garbage@") ||
		           g_str_has_prefix(*f, "hangup-at@")) {
			/* console framing faults have no meaning over GATT */
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			            "fault \"%s\" does not apply to BLE", *f);
			return FALSE;
		} else {
			g_ptr_array_add(plan_specs, g_strdup(*f));
		}
	}
	g_ptr_array_add(plan_specs, NULL);
	return TRUE;
}

/* the --device-uuids of address, if any */
static void
advertise_uuids(const BleSimOptions *o, const char *address, BleDevice *device)
{
	for (char **spec = o->device_uuids; spec != NULL && *spec != NULL; spec++) {
		const char *eq = strchr(*spec, '=');
		g_auto(GStrv) uuids = NULL;

		if (eq == NULL || strncmp(*spec, address, (gsize)(eq - *spec)) != 0 ||
		    address[eq - *spec] != '\0')
			continue;
		uuids = g_strsplit(eq + 1, ",", -1);
		ble_device_set_uuids(device, (const char *const *)uuids);
	}
}

typedef struct {
	GMainLoop *loop;
	gboolean owned;
	gboolean lost;
} BleSimBus;

static void
on_name_acquired(GDBusConnection *connection, const char *name, gpointer data)
{
	BleSimBus *bus = data;

	bus->owned = TRUE;
	printf("READY\n");
	fflush(stdout);
}

static void
on_name_lost(GDBusConnection *connection, const char *name, gpointer data)
{
	BleSimBus *bus = data;

	g_printerr("dfu-sim-ble: lost or could not own %s\n", name);
	bus->lost = TRUE;
	g_main_loop_quit(bus->loop);
}

/* what the device model options leave to the BLE side */
static void
fill_device_config(const BleSimOptions *o, BleDeviceConfig *c)
{
	c->reassembly = !o->no_reassembly;
	c->link.mtu = (guint)o->mtu;
	c->link.interval_ms = o->interval_ms;
	c->link.phy_2m = g_strcmp0(o->phy, "2M") == 0;
	c->link.data_length = (guint)o->data_length;
	c->link.pdus_per_event = (guint)o->pdus_per_event;
	c->link.link_queue = (guint)o->link_queue;
	c->state_dir = o->state_dir;
	c->acquire = !o->no_acquire;
	c->hidden = o->hidden;
	c->advertise_ms = (guint)o->advertise_ms;
	c->connect_ms = (guint)o->connect_ms;
	c->swap_ms = (guint)o->swap_ms;
	c->boot_ms = (guint)o->device.boot_ms;
	c->no_return = o->no_return;
}

static int
fail(const GError *error, int code)
{
	g_printerr("dfu-sim-ble: %s\n", error->message);
	return code;
}

int
main(int argc, char **argv)
{
	g_auto(BleSimOptions) opts = {.advertise_ms = 100,
	                              .connect_ms = 50,
	                              .swap_ms = 1000,
	                              .mtu = 247,
	                              .interval_ms = 7.5,
	                              .data_length = 251,
	                              .link_queue = 64};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) plan_specs = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	g_autoptr(GDBusConnection) connection = NULL;
	g_autoptr(GDBusObjectManagerServer) manager = NULL;
	g_autoptr(BleAdapter) adapter = NULL;
	BleDeviceConfig config = {0};
	BleSimBus bus = {.loop = loop};
	/* freed after the adapter, which holds their devices */
	g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func((GDestroyNotify)ble_nrfdfu_target_free);
	SimNrfDfuConfig nrf;
	BleButtonless buttonless = BLE_BUTTONLESS_NONE;
	gboolean nrfdfu;
	const char *address;
	guint owner_id;

	sim_device_options_init(&opts.device, 2475, 0);
	if (!parse_options(&argc, &argv, &opts, &config, &error))
		return fail(error, 2);
	fill_device_config(&opts, &config);
	if (opts.print_ceiling) {
		printf("ceiling_att_value_bytes_per_s=%.3f write_value_max=%u\n",
		       ble_link_model_ceiling(&config.link), config.link.mtu - BLE_ATT_HEADER);
		return 0;
	}
	if (!parse_pairing(opts.require_pairing, &config.pairing, &error) ||
	    !parse_buttonless(opts.buttonless, &buttonless, &error) ||
	    !parse_faults(opts.device.faults, plan_specs, &config.drop_when_full, &error))
		return fail(error, 2);
	nrfdfu = g_strcmp0(opts.protocol, "nrfdfu") == 0;
	if (!nrfdfu && g_strcmp0(opts.protocol, "smp") != 0) {
		g_printerr("dfu-sim-ble: --protocol must be smp or nrfdfu\n");
		return 2;
	}
	sim_nrfdfu_config_init(&nrf);
	nrf.app_version = (guint32)opts.nrf_app_version;
	nrf.hw_version = (guint32)opts.nrf_hw_version;
	config.faults = (const char *const *)plan_specs->pdata;
	if (opts.devices == NULL || opts.devices[0] == NULL) {
		g_printerr("dfu-sim-ble: at least one --device is needed\n");
		return 2;
	}
	address = opts.bus != NULL ? opts.bus : g_getenv("DBUS_SYSTEM_BUS_ADDRESS");
	if (address == NULL) {
		g_printerr("dfu-sim-ble: no --bus and no DBUS_SYSTEM_BUS_ADDRESS\n");
		return 2;
	}

	connection =
	        g_dbus_connection_new_for_address_sync(address,
	                                               G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
	                                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	                                               NULL, NULL, &error);
	if (connection == NULL)
		return fail(error, 1);
	g_dbus_connection_set_exit_on_close(connection, FALSE);
	g_signal_connect_swapped(connection, "closed", G_CALLBACK(g_main_loop_quit), loop);

	manager = g_dbus_object_manager_server_new("/");
	adapter = ble_adapter_new(manager, opts.adapter);
	for (char **d = opts.devices; *d != NULL; d++) {
		BleDevice *device;
		BleNrfDfuTarget *target;

		if (nrfdfu) {
			target = ble_nrfdfu_target_new(adapter, *d, &config, &nrf, buttonless, &error);
			if (target == NULL)
				return fail(error, 2);
			g_ptr_array_add(targets, target);
			continue;
		}
		device = ble_device_new(adapter, *d, &config, &error);
		if (device == NULL)
			return fail(error, 2);
		advertise_uuids(&opts, *d, device);
		ble_adapter_add_device(adapter, device);
	}
	g_dbus_object_manager_server_set_connection(manager, connection);

	sim_quit_on_signals(loop);
	owner_id = g_bus_own_name_on_connection(connection, "org.bluez", G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
	                                        on_name_acquired, on_name_lost, &bus, NULL);
	g_main_loop_run(loop);
	g_bus_unown_name(owner_id);

	if (!ble_adapter_write_state(adapter, &error))
		return fail(error, 1);
	for (guint i = 0; i < targets->len; i++) {
		if (!ble_nrfdfu_target_write_state(g_ptr_array_index(targets, i), &error))
			return fail(error, 1);
	}
	/* the devices and their objects go before the bus connection */
	g_clear_pointer(&adapter, ble_adapter_free);
	g_dbus_object_manager_server_set_connection(manager, NULL);
	return bus.lost || g_dbus_connection_is_closed(connection) ? 1 : 0;
}
