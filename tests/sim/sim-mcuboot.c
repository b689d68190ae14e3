/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <openssl/evp.h>

#include "mcuboot-writer.h"
#include "sim-mcuboot.h"

#define SHA256_LEN 32
#define RUNNING_PAYLOAD_SIZE 4096
#define IMAGE_F_ROM_FIXED 0x100

typedef struct {
	guint8 *data;
	/* parse result cache, dropped on every write */
	gboolean parsed;
	gboolean valid;
	McubootImageInfo info;
	/* the trailer, as the equal-slot modes read it */
	gboolean magic;
	gboolean copy_done;
	gboolean image_ok;
	gboolean trusted; /* passes validation even when the bootloader rejects new images */
} SimSlot;

typedef struct {
	SimSlot primary;
	SimSlot secondary;
	gboolean primary_confirmed; /* image_ok of the running image */
	SimPending pending;         /* swap requested for the secondary */
	guint active;               /* equal slots: the slot that runs */
} SimImage;

/* the one upload in progress; lives in RAM only */
typedef struct {
	gboolean active;
	guint image;
	guint64 len;
	guint64 off;
	guint8 sha[SHA256_LEN];
	gsize sha_len;
	gboolean erased;
} SimUpload;

struct _SimMcuboot {
	SimMcubootConfig config;
	SimImage *images;
	SimUpload upload;
	guint64 generation;
	guint64 data_generation;
	gboolean loader_requested;
	gboolean in_loader;
};

static void
slot_written(SimMcuboot *self, SimSlot *slot)
{
	slot->parsed = FALSE;
	slot->magic = slot->copy_done = slot->image_ok = slot->trusted = FALSE;
	self->generation++;
}

/* what each mode is, as MCUboot and img_mgmt behave in it */
static const struct {
	guint number;         /* enum mcuboot_mode as bootloader info reports it */
	gboolean equal_slots; /* the highest valid version boots from either slot */
	gboolean revert;      /* a trial boot that is not confirmed is thrown away */
	gboolean ram_load;    /* copied to RAM: the flash address does not matter */
	gboolean state_write; /* img_mgmt has test / confirm */
	guint slots;          /* slots the application sees per image */
} modes[] = {
        [SIM_BOOT_SWAP_SCRATCH] = {1, FALSE, FALSE, FALSE, TRUE, 2},
        [SIM_BOOT_SWAP_MOVE] = {3, FALSE, FALSE, FALSE, TRUE, 2},
        [SIM_BOOT_OVERWRITE] = {2, FALSE, FALSE, FALSE, TRUE, 2},
        [SIM_BOOT_DIRECT_XIP] = {4, TRUE, FALSE, FALSE, FALSE, 2},
        [SIM_BOOT_DIRECT_XIP_REVERT] = {5, TRUE, TRUE, FALSE, TRUE, 2},
        [SIM_BOOT_RAM_LOAD] = {6, TRUE, FALSE, TRUE, FALSE, 2},
        [SIM_BOOT_SINGLE] = {0, FALSE, FALSE, FALSE, TRUE, 1},
        [SIM_BOOT_SWAP_OFFSET] = {9, FALSE, FALSE, FALSE, TRUE, 2},
        [SIM_BOOT_RAM_LOAD_REVERT] = {6, TRUE, TRUE, TRUE, TRUE, 2},
        [SIM_BOOT_FIRMWARE_LOADER] = {7, FALSE, FALSE, FALSE, TRUE, 1},
};

gboolean
sim_mcuboot_equal_slots(SimMcuboot *self)
{
	return modes[self->config.mode].equal_slots;
}

static gboolean
is_revert(SimMcuboot *self)
{
	return modes[self->config.mode].revert;
}

static gboolean
is_ram_load(SimMcuboot *self)
{
	return modes[self->config.mode].ram_load;
}

static SimSlot *
slot_at(SimImage *img, guint slot)
{
	return slot == 0 ? &img->primary : &img->secondary;
}

/* where an upload goes: the secondary, the slot that does not run, or the loader's slot 0 */
static SimSlot *
upload_slot(SimMcuboot *self, SimImage *img)
{
	if (self->in_loader)
		return &img->primary;
	return sim_mcuboot_equal_slots(self) ? slot_at(img, 1 - img->active) : &img->secondary;
}

static SimSlot *
running_slot(SimMcuboot *self, SimImage *img)
{
	return sim_mcuboot_equal_slots(self) ? slot_at(img, img->active) : &img->primary;
}

static guint32
slot_address(SimMcuboot *self, guint image, guint slot)
{
	return SIM_FLASH_SLOT_BASE + (guint32)((2 * image + slot) * self->config.slot_size);
}

static const McubootImageInfo *
slot_info(SimMcuboot *self, SimSlot *slot)
{
	if (!slot->parsed) {
		slot->valid = mcuboot_image_parse(slot->data, self->config.slot_size, &slot->info, NULL);
		slot->parsed = TRUE;
	}
	return slot->valid ? &slot->info : NULL;
}

SimMcuboot *
sim_mcuboot_new(const SimMcubootConfig *config, GError **error)
{
	g_autoptr(SimMcuboot) self = g_new0(SimMcuboot, 1);

	self->config = *config;
	self->in_loader = config->start_in_loader && modes[config->mode].slots == 1;
	self->images = g_new0(SimImage, MAX(config->images, 1));
	self->config.images = MAX(config->images, 1);
	for (guint i = 0; i < self->config.images; i++) {
		SimImage *img = &self->images[i];
		/* distinct payloads so that every image has its own hash */
		McubootWriterOptions opts = {.version = config->running_version,
		                             .payload_size = RUNNING_PAYLOAD_SIZE,
		                             .seed = 0x5eed0000u + i};
		g_autoptr(GBytes) running = mcuboot_writer_build(&opts, error);

		if (running == NULL)
			return NULL;
		if (g_bytes_get_size(running) > config->slot_size) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			            "slot size %" G_GSIZE_FORMAT " cannot hold the running image",
			            config->slot_size);
			return NULL;
		}
		img->primary.data = g_malloc(config->slot_size);
		img->secondary.data = g_malloc(config->slot_size);
		memset(img->primary.data, 0xff, config->slot_size);
		memset(img->secondary.data, 0xff, config->slot_size);
		memcpy(img->primary.data, g_bytes_get_data(running, NULL), g_bytes_get_size(running));
		img->primary_confirmed = TRUE;
		img->primary.magic = img->primary.copy_done = img->primary.image_ok = TRUE;
		img->primary.trusted = TRUE;
	}
	return g_steal_pointer(&self);
}

void
sim_mcuboot_free(SimMcuboot *self)
{
	if (self == NULL)
		return;
	for (guint i = 0; self->images != NULL && i < self->config.images; i++) {
		g_free(self->images[i].primary.data);
		g_free(self->images[i].secondary.data);
	}
	g_free(self->images);
	g_free(self);
}

guint
sim_mcuboot_get_images(SimMcuboot *self)
{
	return self->config.images;
}

const SimMcubootConfig *
sim_mcuboot_get_config(SimMcuboot *self)
{
	return &self->config;
}

guint
sim_mcuboot_get_mode_number(SimMcuboot *self)
{
	return modes[self->config.mode].number;
}

guint
sim_mcuboot_get_slots(SimMcuboot *self)
{
	return modes[self->config.mode].slots;
}

gboolean
sim_mcuboot_has_state_write(SimMcuboot *self)
{
	return modes[self->config.mode].state_write;
}

gsize
sim_mcuboot_get_slot_size(SimMcuboot *self)
{
	return self->config.slot_size;
}

guint64
sim_mcuboot_get_generation(SimMcuboot *self)
{
	return self->generation;
}

guint64
sim_mcuboot_get_data_generation(SimMcuboot *self)
{
	return self->data_generation;
}

const guint8 *
sim_mcuboot_peek_slot(SimMcuboot *self, guint image, guint slot)
{
	if (image >= self->config.images || slot > 1)
		return NULL;
	return slot == 0 ? self->images[image].primary.data : self->images[image].secondary.data;
}

/* the old image sits in the secondary slot until the new one is confirmed */
static gboolean
secondary_in_use(SimMcuboot *self, SimImage *img)
{
	if (sim_mcuboot_equal_slots(self))
		/* with revert, the other slot is the fallback until the running image confirms itself */
		return is_revert(self) && !running_slot(self, img)->image_ok;
	return img->pending != SIM_PENDING_NONE || !img->primary_confirmed;
}

static int
compare_versions(McubootVersion a, McubootVersion b)
{
	/* img_mgmt and a default MCUboot ignore the build number */
	a.build = b.build = 0;
	return mcuboot_version_compare(&a, &b);
}

/* the flags img_mgmt shows for an equal slot (§3.2 of the SMP modes notes) */
static void
equal_slot_state(SimMcuboot *self, SimImage *img, guint slot, SimSlotState *out)
{
	SimSlot *me = slot_at(img, slot);
	SimSlot *running = running_slot(self, img);
	const McubootImageInfo *run_info = slot_info(self, running);

	out->active = slot == img->active;
	if (self->config.mode == SIM_BOOT_RAM_LOAD) {
		/* measured: the running image is active and confirmed, the other shows nothing */
		out->confirmed = out->active;
		return;
	}
	if (self->config.mode == SIM_BOOT_DIRECT_XIP) {
		out->confirmed = out->active;
		out->pending = out->permanent = !out->active && run_info != NULL &&
		                                compare_versions(out->info.version, run_info->version) > 0;
		return;
	}
	if (out->active) {
		out->confirmed = me->image_ok;
		return;
	}
	out->pending = me->magic && !me->copy_done;
	out->permanent = out->pending && me->image_ok;
	/* the revert target while the running image is on trial */
	out->confirmed = !running->image_ok && me->image_ok;
}

gboolean
sim_mcuboot_slot_state(SimMcuboot *self, guint image, guint slot, SimSlotState *out)
{
	SimImage *img;
	const McubootImageInfo *info;

	if (image >= self->config.images || slot >= sim_mcuboot_get_slots(self))
		return FALSE;
	img = &self->images[image];
	info = slot_info(self, slot == 0 ? &img->primary : &img->secondary);
	if (info == NULL)
		return FALSE;
	memset(out, 0, sizeof(*out));
	out->info = *info;
	out->bootable = (info->flags & 0x10) == 0; /* IMAGE_F_NON_BOOTABLE */
	if (sim_mcuboot_equal_slots(self)) {
		equal_slot_state(self, img, slot, out);
	} else if (slot == 0) {
		/* the loader runs, not the application in slot 0 */
		out->active = !self->in_loader;
		out->confirmed = img->primary_confirmed && !self->in_loader;
	} else {
		out->pending = img->pending != SIM_PENDING_NONE;
		out->permanent = img->pending == SIM_PENDING_PERM;
		/* after a test swap the old, confirmed image waits here for the revert */
		out->confirmed = !img->primary_confirmed;
	}
	return TRUE;
}

static void
sha256(const guint8 *data, gsize len, guint8 out[SHA256_LEN])
{
	unsigned int out_len = SHA256_LEN;

	EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL);
}

static guint64
write_delay_us(SimMcuboot *self, gsize len)
{
	return (guint64)self->config.write_us_per_kb * len / 1024;
}

/* the upload request's version beats the running one (build numbers ignored) */
static gboolean
upload_is_newer(SimMcuboot *self, SimImage *img, const guint8 *header)
{
	const McubootImageInfo *running = slot_info(self, running_slot(self, img));
	McubootVersion current = running != NULL ? running->version : self->config.running_version;
	/* struct image_version sits at byte 20: major, minor, revision (LE16), build */
	McubootVersion offered = {.major = header[20],
	                          .minor = header[21],
	                          .revision = (guint16)(header[22] | (header[23] << 8))};

	current.build = 0;
	return mcuboot_version_compare(&offered, &current) > 0;
}

/*
 * The off-0 checks. *answered is set when the reply is already known (resume
 * of the same file, or image check finding it in flash) and nothing is written.
 */
static SimImgErr
upload_start(SimMcuboot *self, const SimUploadRequest *req, SimUploadResult *out, gboolean *answered)
{
	SimImage *img;
	guint32 magic;

	*answered = FALSE;
	if (!req->has_len)
		return SIM_IMG_ERR_INVALID_LENGTH;
	if (req->image >= self->config.images)
		return SIM_IMG_ERR_INVALID_SLOT;
	if (req->data_len < MCUBOOT_HEADER_SIZE)
		return SIM_IMG_ERR_INVALID_IMAGE_HEADER;
	memcpy(&magic, req->data, sizeof(magic));
	if (GUINT32_FROM_LE(magic) != MCUBOOT_IMAGE_MAGIC)
		return SIM_IMG_ERR_INVALID_IMAGE_HEADER_MAGIC;
	if (req->len > self->config.slot_size)
		return SIM_IMG_ERR_INVALID_IMAGE_TOO_LARGE;

	if (self->upload.active && self->upload.off > 0 && self->upload.image == req->image &&
	    req->sha_len > 0 && req->sha_len == self->upload.sha_len &&
	    memcmp(req->sha, self->upload.sha, req->sha_len) == 0 && req->len == self->upload.len) {
		out->off = self->upload.off;
		*answered = TRUE;
		return SIM_IMG_OK;
	}

	img = &self->images[req->image];
	if (req->upgrade && !upload_is_newer(self, img, req->data))
		return SIM_IMG_ERR_CURRENT_VERSION_IS_NEWER;
	if (!self->in_loader && (sim_mcuboot_get_slots(self) < 2 || secondary_in_use(self, img)))
		return SIM_IMG_ERR_NO_FREE_SLOT;

	memset(&self->upload, 0, sizeof(self->upload));
	self->upload.active = TRUE;
	self->upload.image = req->image;
	self->upload.len = req->len;
	self->upload.sha_len = MIN(req->sha_len, (gsize)SHA256_LEN);
	if (self->upload.sha_len > 0)
		memcpy(self->upload.sha, req->sha, self->upload.sha_len);

	if (self->config.image_check && req->sha_len == SHA256_LEN) {
		guint8 digest[SHA256_LEN];
		sha256(upload_slot(self, img)->data, req->len, digest);
		if (memcmp(digest, req->sha, SHA256_LEN) == 0) {
			self->upload.off = req->len;
			self->upload.erased = TRUE;
			out->off = req->len;
			out->match = 1;
			*answered = TRUE;
		}
	}
	return SIM_IMG_OK;
}

SimImgErr
sim_mcuboot_upload(SimMcuboot *self, const SimUploadRequest *req, SimUploadResult *out)
{
	SimImage *img;
	SimSlot *target;
	SimImgErr rc;

	memset(out, 0, sizeof(*out));
	out->match = -1;
	if (req->off == 0) {
		gboolean answered = FALSE;

		rc = upload_start(self, req, out, &answered);
		if (rc != SIM_IMG_OK || answered)
			return rc;
	}
	if (!self->upload.active) {
		/* state lost (reboot): the client must start over with the off-0 fields */
		out->off = 0;
		return SIM_IMG_OK;
	}
	if (req->off != self->upload.off) {
		out->off = self->upload.off;
		return SIM_IMG_OK;
	}
	if (req->off + req->data_len > self->upload.len)
		return SIM_IMG_ERR_INVALID_IMAGE_DATA_OVERRUN;

	img = &self->images[self->upload.image];
	target = upload_slot(self, img);
	if (!self->upload.erased) {
		memset(target->data, 0xff, self->config.slot_size);
		self->upload.erased = TRUE;
		out->delay_us += (guint64)self->config.erase_ms * 1000;
	}
	if (req->data_len > 0) {
		memcpy(target->data + req->off, req->data, req->data_len);
		/* what a reader sees of the slot changes with its first bytes, its last, or its flags */
		if (req->off == 0 || req->off + req->data_len == self->upload.len || target->magic ||
		    target->copy_done || target->image_ok || target->trusted) {
			slot_written(self, target);
		} else {
			target->parsed = FALSE;
			self->data_generation++;
		}
	}
	self->upload.off += req->data_len;
	out->written = req->data_len;
	out->delay_us += write_delay_us(self, req->data_len);
	out->off = self->upload.off;

	if (self->upload.off == self->upload.len && self->config.image_check &&
	    self->upload.sha_len == SHA256_LEN) {
		guint8 digest[SHA256_LEN];
		sha256(target->data, self->upload.len, digest);
		out->match = memcmp(digest, self->upload.sha, SHA256_LEN) == 0;
	}
	return SIM_IMG_OK;
}

static guint32
read_le32(const guint8 *p)
{
	return (guint32)p[0] | (guint32)p[1] << 8 | (guint32)p[2] << 16 | (guint32)p[3] << 24;
}

gboolean
sim_mcuboot_upload_address_ok(SimMcuboot *self, const SimUploadRequest *req)
{
	SimImage *img;

	if (req->off != 0 || req->data_len < MCUBOOT_HEADER_SIZE || req->image >= self->config.images ||
	    self->config.allow_wrong_slot || !sim_mcuboot_equal_slots(self) || is_ram_load(self))
		return TRUE;
	img = &self->images[req->image];
	/* ih_load_addr at byte 4, ih_flags at byte 16 */
	return (read_le32(req->data + 16) & IMAGE_F_ROM_FIXED) == 0 ||
	       read_le32(req->data + 4) == slot_address(self, req->image, 1 - img->active);
}

/* the image and slot (0 primary, 1 secondary) holding hash, FALSE if none */
static gboolean
find_hash(SimMcuboot *self, const guint8 *hash, gsize hash_len, guint *image, guint *slot)
{
	for (guint i = 0; i < self->config.images; i++) {
		SimSlot *slots[] = {&self->images[i].primary, &self->images[i].secondary};
		for (guint s = 0; s < G_N_ELEMENTS(slots); s++) {
			const McubootImageInfo *info = slot_info(self, slots[s]);
			if (info != NULL && info->hash_len == hash_len &&
			    memcmp(info->hash, hash, hash_len) == 0) {
				*image = i;
				*slot = s;
				return TRUE;
			}
		}
	}
	return FALSE;
}

/* direct-XIP with revert: test and confirm write the slot's trailer (slot G_MAXUINT: the running one) */
static SimImgErr
equal_state_write(SimMcuboot *self, guint image, guint slot, gboolean confirm)
{
	SimImage *img = &self->images[image];
	SimSlot *target;

	if (slot == G_MAXUINT)
		slot = img->active;
	target = slot_at(img, slot);
	if (!confirm) {
		if (slot == img->active)
			return SIM_IMG_ERR_TEST_TO_ACTIVE_DENIED;
		if (self->config.refuse_test)
			return SIM_IMG_ERR_FLASH_WRITE_FAILED;
	}
	target->magic = TRUE;
	target->image_ok = confirm;
	if (slot != img->active)
		target->copy_done = FALSE;
	self->generation++;
	return SIM_IMG_OK;
}

SimImgErr
sim_mcuboot_state_write(SimMcuboot *self, const guint8 *hash, gsize hash_len, gboolean confirm)
{
	guint image = 0;
	guint slot = 0;

	if (hash == NULL) {
		if (!confirm)
			return SIM_IMG_ERR_INVALID_HASH;
	} else {
		if (hash_len != SHA256_LEN && hash_len != MCUBOOT_HASH_MAX)
			return SIM_IMG_ERR_INVALID_HASH;
		if (!find_hash(self, hash, hash_len, &image, &slot))
			return SIM_IMG_ERR_HASH_NOT_FOUND;
	}

	if (sim_mcuboot_equal_slots(self))
		return equal_state_write(self, hash != NULL ? image : 0, hash != NULL ? slot : G_MAXUINT,
		                         confirm);
	if (!confirm) {
		if (slot == 0)
			return SIM_IMG_ERR_TEST_TO_ACTIVE_DENIED;
		if (self->config.refuse_test)
			return SIM_IMG_ERR_FLASH_WRITE_FAILED;
		self->images[image].pending = SIM_PENDING_TEST;
	} else if (hash == NULL || slot == 0) {
		/* confirming the running image cancels its revert */
		self->images[image].primary_confirmed = TRUE;
	} else {
		self->images[image].pending = SIM_PENDING_PERM;
	}
	self->generation++;
	return SIM_IMG_OK;
}

SimImgErr
sim_mcuboot_erase(SimMcuboot *self, guint image, guint64 *delay_us)
{
	SimImage *img;

	*delay_us = 0;
	if (image >= self->config.images)
		return SIM_IMG_ERR_INVALID_SLOT;
	img = &self->images[image];
	if (sim_mcuboot_get_slots(self) < 2 || secondary_in_use(self, img))
		return SIM_IMG_ERR_NO_FREE_SLOT;
	memset(upload_slot(self, img)->data, 0xff, self->config.slot_size);
	slot_written(self, upload_slot(self, img));
	if (self->upload.active && self->upload.image == image)
		memset(&self->upload, 0, sizeof(self->upload));
	*delay_us = (guint64)self->config.erase_ms * 1000;
	return SIM_IMG_OK;
}

static void
swap_slots(SimMcuboot *self, SimImage *img)
{
	guint8 *tmp = img->primary.data;

	img->primary.data = img->secondary.data;
	img->secondary.data = tmp;
	slot_written(self, &img->primary);
	slot_written(self, &img->secondary);
}

static void
scramble(SimMcuboot *self, SimSlot *slot)
{
	memset(slot->data, 0xff, self->config.slot_size);
	slot_written(self, slot);
}

/* whether the bootloader boots this slot, scrambling it when it fails validation */
static gboolean
equal_slot_boots(SimMcuboot *self, SimSlot *slot)
{
	gboolean revert = is_revert(self);

	if ((self->config.boot_rejects && !slot->trusted) ||
	    /* revert modes: no trailer magic, or a trial boot that was never confirmed */
	    (revert && (!slot->magic || (slot->copy_done && !slot->image_ok)))) {
		scramble(self, slot);
		return FALSE;
	}
	slot->copy_done = TRUE;
	slot->trusted = TRUE;
	return TRUE;
}

/* MCUboot's find_slot_with_highest_version and boot_select_or_erase */
static void
boot_equal_slots(SimMcuboot *self, guint image)
{
	SimImage *img = &self->images[image];
	gboolean tried[2] = {FALSE, FALSE};

	for (;;) {
		const McubootImageInfo *best = NULL;
		guint chosen = 0;

		for (guint s = 0; s < 2; s++) {
			const McubootImageInfo *info = tried[s] ? NULL : slot_info(self, slot_at(img, s));

			/* a direct-XIP image linked for the other slot is skipped, not erased */
			if (info == NULL || (!is_ram_load(self) && (info->flags & IMAGE_F_ROM_FIXED) &&
			                     info->load_addr != slot_address(self, image, s)))
				continue;
			/* strictly greater: a tie goes to slot 0 */
			if (best == NULL || compare_versions(info->version, best->version) > 0) {
				best = info;
				chosen = s;
			}
		}
		if (best == NULL)
			return;
		tried[chosen] = TRUE;
		if (equal_slot_boots(self, slot_at(img, chosen))) {
			img->active = chosen;
			return;
		}
	}
}

gboolean
sim_mcuboot_request_loader(SimMcuboot *self)
{
	if ((self->config.mode != SIM_BOOT_SINGLE && self->config.mode != SIM_BOOT_FIRMWARE_LOADER) ||
	    self->config.ignore_boot_mode)
		return FALSE;
	self->loader_requested = TRUE;
	return TRUE;
}

gboolean
sim_mcuboot_in_loader(SimMcuboot *self)
{
	return self->in_loader;
}

void
sim_mcuboot_reboot(SimMcuboot *self)
{
	memset(&self->upload, 0, sizeof(self->upload));
	self->in_loader = self->loader_requested;
	self->loader_requested = FALSE;
	for (guint i = 0; i < self->config.images; i++) {
		SimImage *img = &self->images[i];

		if (sim_mcuboot_equal_slots(self)) {
			boot_equal_slots(self, i);
			continue;
		}

		if (!img->primary_confirmed) {
			/* the test image never confirmed itself: bring the old one back */
			swap_slots(self, img);
			img->primary_confirmed = TRUE;
			img->pending = SIM_PENDING_NONE;
			continue;
		}
		if (img->pending == SIM_PENDING_NONE)
			continue;
		if (self->config.boot_rejects || slot_info(self, &img->secondary) == NULL) {
			/* MCUboot erases a secondary image that fails validation */
			scramble(self, &img->secondary);
		} else if (self->config.mode == SIM_BOOT_OVERWRITE) {
			/* no swap and so no way back: the copy is final */
			memcpy(img->primary.data, img->secondary.data, self->config.slot_size);
			slot_written(self, &img->primary);
			scramble(self, &img->secondary);
			img->primary_confirmed = TRUE;
		} else {
			swap_slots(self, img);
			img->primary_confirmed = img->pending == SIM_PENDING_PERM;
		}
		img->pending = SIM_PENDING_NONE;
	}
	self->generation++;
}
