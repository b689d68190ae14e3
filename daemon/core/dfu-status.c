/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-status.h"

static const DfuStatusInfo status_table[] = {
        {DFU_STATUS_NONE, "none", "None", "No result yet", "The job has not finished."},
        {DFU_STATUS_SUCCESS, "success", "Success", "Update installed and confirmed", ""},
        {DFU_STATUS_STAGED, "staged", "Staged",
         "Image uploaded and marked for test; waiting for a reset or confirmation",
         "The job was started with confirm=false. Reset the device and confirm the image, "
         "or start the job again without that option."},
        {DFU_STATUS_UP_TO_DATE, "up-to-date", "UpToDate", "The device already runs this image",
         "Nothing was sent: the running image has the bundle's hash and is confirmed."},
        {DFU_STATUS_PENDING, "pending", "Pending", "Job is queued or running", ""},

        {DFU_STATUS_LINK_NOT_FOUND, "link-not-found", "LinkNotFound", "The device link does not exist",
         "The serial port or BLE device is not present: check the cable, the device node "
         "(/dev/ttyACM*), that the device is powered and advertising."},
        {DFU_STATUS_CONNECT_FAILED, "connect-failed", "ConnectFailed",
         "Could not open or connect to the device",
         "Another program may hold the port, permissions may be missing (dialout group), "
         "or the device refused the connection."},
        {DFU_STATUS_RESPONSE_TIMEOUT, "response-timeout", "ResponseTimeout",
         "The device did not answer in time",
         "Wrong baud rate, the device is not running an SMP server on this port, or it is busy "
         "erasing flash. Check the baud rate and that MCUmgr is enabled on this transport."},
        {DFU_STATUS_LINK_LOST, "link-lost", "LinkLost", "The link to the device was lost",
         "The cable was unplugged, the device reset, or the BLE connection dropped. "
         "The job is retried and resumes where it stopped."},
        {DFU_STATUS_DEVICE_BUSY, "device-busy", "DeviceBusy", "The device reported that it is busy",
         "An application hook refused the operation for now. An SMP device that answers busy is "
         "asked again for up to 30 s within the same attempt; only then is the job retried with "
         "back-off."},
        {DFU_STATUS_FETCH_FAILED, "fetch-failed", "FetchFailed", "Could not fetch the bundle",
         "Check the URL, the network and the server; DeviceError holds the HTTP status or the "
         "transfer error."},
        {DFU_STATUS_PROTOCOL_ERROR, "protocol-error", "ProtocolError",
         "The device answered something that makes no sense",
         "Garbled frames or responses that do not match the request: noise on the line, "
         "another program talking to the port, or a wrong protocol for this device."},
        {DFU_STATUS_UPLOAD_CORRUPTED, "upload-corrupted", "UploadCorrupted",
         "The image in the device's slot does not match what was sent",
         "Flash write errors or data corrupted on the link; the upload is repeated."},
        {DFU_STATUS_DEVICE_NOT_BACK, "device-not-back", "DeviceNotBack",
         "The device did not come back after reset",
         "The image swap may take longer than the configured reset timeout, or the new image "
         "does not start its SMP server. Raise reset-timeout or check the device's console."},

        {DFU_STATUS_NOT_SUPPORTED, "not-supported", "NotSupported",
         "The device does not support a required command",
         "Image management (MCUmgr img group) is not enabled in the device firmware, or MCUboot "
         "runs single-slot (update through serial recovery). Direct-XIP and RAM-load devices "
         "that have no test/confirm are handled without them."},
        {DFU_STATUS_IMAGE_REJECTED, "image-rejected", "ImageRejected",
         "The device does not list the uploaded image",
         "The image hash is in no slot after the upload: the image may be for another image "
         "number or slot, or the device cannot parse its TLVs (SHA-384/512 only). nRF5 bootloaders: "
         "the init packet's signature or the image hash did not verify, or a signature is required."},
        {DFU_STATUS_NO_ROOM, "no-room", "NoRoom", "The device has no room for the image",
         "The image is larger than the slot, or the secondary slot is pending or in use: "
         "reset the device to finish the pending swap, then retry."},
        {DFU_STATUS_ROLLED_BACK, "rolled-back", "RolledBack",
         "The device went back to the old image after reset",
         "MCUboot rejected the new image (signature made with another key, wrong slot, "
         "corrupted image) or the new image failed to start and was reverted. In direct-XIP "
         "and RAM-load the rejected slot is erased and the old image keeps running."},
        {DFU_STATUS_WRONG_VERSION, "wrong-version", "WrongVersion",
         "The device runs an unexpected image after reset",
         "Another image than the one uploaded is running; something else updated the device "
         "concurrently or the bootloader picked another slot."},
        {DFU_STATUS_AUTH_REQUIRED, "authentication-required", "AuthenticationRequired",
         "The device requires authentication or pairing",
         "Pair and bond the device first (bluetoothctl pair), or check the SMP access settings."},
        {DFU_STATUS_DEVICE_ERROR, "device-error", "DeviceError", "The device reported an error",
         "DeviceError holds the raw code (SMP rc, or nrf-result and nrf-extended-error from a "
         "Nordic bootloader); see the device's log for its cause."},
        {DFU_STATUS_TEST_REFUSED, "test-refused", "TestRefused",
         "The device refused to mark the image for test",
         "The image may equal the running one, the hash was not found, or another image is "
         "already pending."},
        {DFU_STATUS_CONFIRM_REFUSED, "confirm-refused", "ConfirmRefused",
         "The device refused to confirm the new image",
         "The running image could not be confirmed; the device may revert on its next reset."},
        {DFU_STATUS_DEVICE_REFUSED_DOWNGRADE, "device-refused-downgrade", "DeviceRefusedDowngrade",
         "The device refused an image older than the running one",
         "The bootloader or image manager enforces upgrades only (nRF5: the package's fw_version is "
         "lower than the running application's)."},
        {DFU_STATUS_UPLOAD_REFUSED, "upload-refused", "UploadRefused", "The device refused the upload",
         "The device rejected the image header or data: wrong image format, magic or length. nRF5 "
         "bootloaders: the package names another hardware version or SoftDevice than the device has."},
        {DFU_STATUS_DEVICE_MISMATCH, "device-mismatch", "DeviceMismatch",
         "Another device answers where the job's device was",
         "After a lost link, a reset or a restart of the daemon, the device at this address lists "
         "neither the images it had nor the new ones: another device may have been plugged into the "
         "port or taken the address. Nothing more was sent; check which device is attached and "
         "start the job again."},
        {DFU_STATUS_PUSH_NOT_SUPPORTED, "push-not-supported", "PushNotSupported",
         "The module cannot take an image from the host: it needs a URL",
         "Only Serial Modem firmware with AT#XDFUINIT takes an image over the UART; Serial LTE Modem "
         "and older Serial Modem builds download it themselves. Put the image on a server the module "
         "reaches and start the job with its URL. Nothing was sent to the module."},
        {DFU_STATUS_PUSH_FAILED, "push-failed", "PushFailed",
         "The module refused the pushed image or a part of it",
         "It answered ERROR or #XDFU with -1 to AT#XDFUINIT or to a write, again and again: the image "
         "may not fit its update area, or the UART loses bytes (check flow control and the baud "
         "rate). The module keeps its old firmware; the next attempt pushes from the start."},
        {DFU_STATUS_MESH_SILENT, "mesh-silent", "MeshSilent",
         "The mesh node sent nothing at all, not even to the Echo probe",
         "The firmware on the serial node has no mesh serial interface: a plain application such as "
         "ble_app_blinky flashed by an earlier DFU, a dfu_no_serial build, NRF_MESH_SERIAL_ENABLE off "
         "or nrf_mesh_serial_enable() never called. Or the port is not the node's, or a custom "
         "board's UART pins are wrong. Flash a mesh image with serial through the debugger."},
        {DFU_STATUS_MESH_GARBLED, "mesh-garbled", "MeshGarbled",
         "The mesh node sent bytes that are no mesh serial frames",
         "A baud rate mismatch: the mesh stack and its bootloader run at 115200 (nrfutil's serial "
         "default is 38400); give the node's rate with baud= in the target. Or another program "
         "writes to the port."},
        {DFU_STATUS_MESH_NOT_HEARD, "mesh-not-heard", "MeshNotHeard",
         "The mesh node talks but does not hear the gateway",
         "It sends frames (its start event, firmware ID beacons) but never answers the Echo: a "
         "flow control mismatch (the node runs RTS/CTS; rtscts=false only for a build without it), "
         "a CTS line that never asserts, or a USB-UART bridge in a bad state (unplug it; a DK's "
         "interface MCU may need its firmware flashed again)."},
        {DFU_STATUS_MESH_ECHO_MISMATCH, "mesh-echo-mismatch", "MeshEchoMismatch",
         "The mesh node echoed other bytes than it was sent",
         "Bytes are lost or changed on the line, or another program talks to the node at the same "
         "time: check the cable, the baud rate and flow control, and what else opens the port."},
        {DFU_STATUS_MESH_BOOTLOADER, "mesh-bootloader", "MeshBootloader",
         "The serial node runs the mesh bootloader, not its application",
         "The bootloader stays after a forced reboot or when the application is invalid; with a valid "
         "application it returns to it after 10 s. Mesh DFU runs in the application: reset the node "
         "and start the job again; an invalid application needs a debugger."},
        {DFU_STATUS_MESH_LINE_ERRORS, "mesh-line-errors", "MeshLineErrors",
         "Bytes are lost or garbled on the UART to the mesh node",
         "The node answers, but its packets keep going wrong after the gateway realigned its frame "
         "parser: the mesh serial frames have no checksum and no resynchronisation, so one lost "
         "byte shifts every frame after it. Check the cable, that both ends run RTS/CTS (rtscts= in "
         "the target) and the same baud rate, and the USB-UART bridge; then start the job again: "
         "it goes on with the transaction while the nodes still wait for it."},

        {DFU_STATUS_BUNDLE_UNREADABLE, "bundle-unreadable", "BundleUnreadable",
         "The bundle could not be read",
         "The file is empty, truncated, or the descriptor passed is not a regular file."},
        {DFU_STATUS_MALFORMED_ZIP, "malformed-zip", "MalformedZip", "The zip archive is malformed or unsafe",
         "Corrupted download, or an archive with unsafe entries (absolute paths, '..', "
         "duplicates, oversized entries)."},
        {DFU_STATUS_MALFORMED_MANIFEST, "malformed-manifest", "MalformedManifest",
         "The bundle's manifest is malformed",
         "manifest.json is missing, not valid JSON, or names files that are not in the archive."},
        {DFU_STATUS_MALFORMED_IMAGE, "malformed-image", "MalformedImage", "A firmware image is malformed",
         "Not an MCUboot image (bad magic), truncated, or its TLV area is damaged. Sign the "
         "image with imgtool or use the build's signed .bin."},
        {DFU_STATUS_BAD_SIGNATURE, "bad-signature", "BadSignature", "A signature does not verify",
         "The bundle was signed with a key that is not trusted here, or it was modified."},
        {DFU_STATUS_CHECKSUM_MISMATCH, "checksum-mismatch", "ChecksumMismatch", "A digest does not match",
         "The image hash TLV does not match the image contents, or the bundle's SHA-256 is not "
         "the expected one: the file was corrupted or modified."},
        {DFU_STATUS_BOARD_MISMATCH, "board-mismatch", "BoardMismatch", "The bundle is for another board",
         "The manifest's board does not match the one configured for this device, or the "
         "bundle carries an image number the device has no slots for."},
        {DFU_STATUS_IMAGE_TOO_LARGE, "image-too-large", "ImageTooLarge",
         "An image is too large for the device", "The image does not fit the device's slot."},
        {DFU_STATUS_UNSUPPORTED_BUNDLE, "unsupported-bundle", "UnsupportedBundle",
         "The bundle type is not supported",
         "dfud reads MCUboot images and Zephyr dfu_application.zip bundles; nRF5 DFU packages "
         "need a target with protocol=nrfdfu."},
        {DFU_STATUS_DOWNGRADE, "downgrade", "Downgrade", "The bundle is older than the running image",
         "Pass allow-downgrade=true (or allow-downgrade=IMAGE for one image) to install an older "
         "version on purpose. Direct-XIP and RAM-load boot the highest version: there the new "
         "version must be strictly higher; roll back by re-releasing with a higher version."},
        {DFU_STATUS_FETCH_REFUSED, "fetch-refused", "FetchRefused",
         "The server refused the bundle: not found, forbidden",
         "The URL is wrong or the bundle was removed (404), or the server wants credentials or a "
         "client certificate (401, 403): check the URL, [http] Headers and ClientCertificate. "
         "DeviceError holds the HTTP status; the job is not retried."},
        {DFU_STATUS_IMAGE_KIND_MISMATCH, "image-kind-mismatch", "ImageKindMismatch",
         "The image is of another kind than the update asks for",
         "An nRF91 application or bootloader update (fota-op 1 or 5) needs an MCUboot image; a modem "
         "update (fota-op 2 or 3) must not get one. Check the fota-op option and the file: nothing "
         "was downloaded by or sent to the module."},
        {DFU_STATUS_MESH_NOT_NEWER, "mesh-not-newer", "MeshNotNewer",
         "The mesh would ignore the package: its version is not higher than the node's",
         "Mesh nodes take only a strictly higher version of the firmware they run and ignore anything "
         "else without a word. Build the package with a higher version (nrfutil genpkg "
         "--application-version, or the version byte of --bootloader-id)."},
        {DFU_STATUS_MESH_OTHER_FIRMWARE, "mesh-other-firmware", "MeshOtherFirmware",
         "The mesh would ignore the package: it is for another company, application or bootloader",
         "Nodes take only firmware with the company and application ID (or bootloader ID) of their "
         "device page and ignore anything else without a word: check --company-id, "
         "--application-id and --bootloader-id of nrfutil genpkg."},
        {DFU_STATUS_MESH_UNSIGNED, "mesh-unsigned", "MeshUnsigned",
         "The serial node holds a public key but the mesh package is not signed",
         "A node whose device page holds a public key discards an unsigned transfer after the last "
         "segment (end reason 4, unauthorized). Sign the package with the private half of that key: "
         "nrfutil dfu genpkg --mesh --key-file. Nothing was sent."},
        {DFU_STATUS_MESH_WRONG_KEY, "mesh-wrong-key", "MeshWrongKey",
         "The mesh package's signature does not verify with the serial node's public key",
         "The package is signed with another key than the one on the node's device page (pubkey= of "
         "the target), or it was changed after signing; the nodes would discard it after the last "
         "segment. Sign it again with the right key. Nothing was sent."},

        {DFU_STATUS_CANCELLED, "cancelled", "Cancelled", "The job was cancelled", ""},
        {DFU_STATUS_PERMISSION_DENIED, "permission-denied", "PermissionDenied",
         "The caller is not allowed to do this", "Mutating calls need root or membership of the dfu group."},
        {DFU_STATUS_DAEMON_STOPPED, "daemon-stopped", "DaemonStopped", "The daemon stopped while the job ran",
         "The job resumes when dfud starts again."},
        {DFU_STATUS_INVALID_ARGUMENT, "invalid-argument", "InvalidArgument", "A request argument is invalid",
         "Check the target URI, the option names and their types (see dfuctl(1))."},
        {DFU_STATUS_NOT_FOUND, "not-found", "NotFound", "No such job or device", ""},
        {DFU_STATUS_STORAGE_ERROR, "storage-error", "StorageError",
         "Could not write to the state or cache directory",
         "The disk may be full or read-only; check free space under /var/lib/dfud and /var/cache/dfud."},
        {DFU_STATUS_INTERNAL_ERROR, "internal-error", "InternalError", "Internal error",
         "Please report this with the daemon's log."},
        {DFU_STATUS_NOT_FINISHED, "not-finished", "NotFinished", "The job has not finished yet", ""},
        {DFU_STATUS_CRASH_LOOP, "crash-loop", "CrashLoop", "The daemon died each time it ran this job",
         "The job's attempts kept ending with the daemon's death, so it was not started again and "
         "its bundle was moved to the quarantine folder of the cache. Please report this with the "
         "daemon's log and the quarantined bundle."},
        {DFU_STATUS_NOTHING_STAGED, "nothing-staged", "NothingStaged",
         "The device holds no staged update to confirm or reset",
         "Confirm and reset act on an image uploaded and marked for test (dfuctl start -o confirm=false) "
         "or running unconfirmed after its test reset; dfuctl info DEVICE lists the images."},
};

const DfuStatusInfo *
dfu_status_table(gsize *n_entries)
{
	if (n_entries != NULL)
		*n_entries = G_N_ELEMENTS(status_table);
	return status_table;
}

const DfuStatusInfo *
dfu_status_lookup(guint code)
{
	for (gsize i = 0; i < G_N_ELEMENTS(status_table); i++) {
		if ((guint)status_table[i].code == code)
			return &status_table[i];
	}
	return NULL;
}

const DfuStatusInfo *
dfu_status_lookup_name(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(status_table); i++) {
		if (g_strcmp0(status_table[i].name, name) == 0)
			return &status_table[i];
	}
	return NULL;
}

const char *
dfu_status_to_name(guint code)
{
	const DfuStatusInfo *info = dfu_status_lookup(code);
	return info != NULL ? info->name : "unknown";
}

DfuStatusKind
dfu_status_kind(guint code)
{
	if (code < 10)
		return DFU_STATUS_KIND_OUTCOME;
	if (code < 100)
		return DFU_STATUS_KIND_RECOVERABLE;
	if (code < 150)
		return DFU_STATUS_KIND_DEVICE;
	if (code < 200)
		return DFU_STATUS_KIND_BUNDLE;
	return DFU_STATUS_KIND_JOB;
}

const char *
dfu_status_kind_to_string(DfuStatusKind kind)
{
	static const char *names[] = {"outcome", "recoverable", "device", "bundle", "job"};
	return kind < G_N_ELEMENTS(names) ? names[kind] : "unknown";
}

gboolean
dfu_status_is_recoverable(guint code)
{
	return dfu_status_kind(code) == DFU_STATUS_KIND_RECOVERABLE;
}

gboolean
dfu_status_is_failure(guint code)
{
	return code >= 10 || code == DFU_STATUS_NONE || code == DFU_STATUS_PENDING;
}
