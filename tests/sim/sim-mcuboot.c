/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <openssl/evp.h>

#include "mcuboot-writer.h"
#include "sim-mcuboot.h"

#define SHA256_LEN 32
#define RUNNING_PAYLOAD_SIZE 4096

typedef struct {
	guint8 *data;
	/* parse result cache, dropped on every write */
	gboolean parsed;
	gboolean valid;
	McubootImageInfo info;
} SimSlot;

typedef struct {
	SimSlot primary;
	SimSlot secondary;
	gboolean primary_confirmed; /* image_ok of the running image */
	SimPending pending;         /* swap requested for the secondary */
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
};

static void
slot_written(SimMcuboot *self, SimSlot *slot)
{
	slot->parsed = FALSE;
	self->generation++;
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

const guint8 *
sim_mcuboot_peek_slot(SimMcuboot *self, guint image, guint slot)
{
	if (image >= self->config.images || slot > 1)
		return NULL;
	return slot == 0 ? self->images[image].primary.data : self->images[image].secondary.data;
}

/* the old image sits in the secondary slot until the new one is confirmed */
static gboolean
secondary_in_use(const SimImage *img)
{
	return img->pending != SIM_PENDING_NONE || !img->primary_confirmed;
}

gboolean
sim_mcuboot_slot_state(SimMcuboot *self, guint image, guint slot, SimSlotState *out)
{
	SimImage *img;
	const McubootImageInfo *info;

	if (image >= self->config.images || slot > 1)
		return FALSE;
	img = &self->images[image];
	info = slot_info(self, slot == 0 ? &img->primary : &img->secondary);
	if (info == NULL)
		return FALSE;
	memset(out, 0, sizeof(*out));
	out->info = *info;
	out->bootable = (info->flags & 0x10) == 0; /* IMAGE_F_NON_BOOTABLE */
	if (slot == 0) {
		out->active = TRUE;
		out->confirmed = img->primary_confirmed;
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
	const McubootImageInfo *running = slot_info(self, &img->primary);
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
	if (secondary_in_use(img))
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
		sha256(img->secondary.data, req->len, digest);
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
	if (!self->upload.erased) {
		memset(img->secondary.data, 0xff, self->config.slot_size);
		self->upload.erased = TRUE;
		out->delay_us += (guint64)self->config.erase_ms * 1000;
	}
	if (req->data_len > 0) {
		memcpy(img->secondary.data + req->off, req->data, req->data_len);
		slot_written(self, &img->secondary);
	}
	self->upload.off += req->data_len;
	out->written = req->data_len;
	out->delay_us += write_delay_us(self, req->data_len);
	out->off = self->upload.off;

	if (self->upload.off == self->upload.len && self->config.image_check &&
	    self->upload.sha_len == SHA256_LEN) {
		guint8 digest[SHA256_LEN];
		sha256(img->secondary.data, self->upload.len, digest);
		out->match = memcmp(digest, self->upload.sha, SHA256_LEN) == 0;
	}
	return SIM_IMG_OK;
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
	if (secondary_in_use(img))
		return SIM_IMG_ERR_NO_FREE_SLOT;
	memset(img->secondary.data, 0xff, self->config.slot_size);
	slot_written(self, &img->secondary);
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

void
sim_mcuboot_reboot(SimMcuboot *self)
{
	memset(&self->upload, 0, sizeof(self->upload));
	for (guint i = 0; i < self->config.images; i++) {
		SimImage *img = &self->images[i];

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
			memset(img->secondary.data, 0xff, self->config.slot_size);
			slot_written(self, &img->secondary);
		} else {
			swap_slots(self, img);
			img->primary_confirmed = img->pending == SIM_PENDING_PERM;
		}
		img->pending = SIM_PENDING_NONE;
	}
	self->generation++;
}
