/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-job-index.h"

typedef struct {
	char *key;
	GSequence *queued;         /* DfuJobIndexNode*, by id */
	GSequenceIter *heads_iter; /* in the index's heads while a job is queued */
	guint nodes;               /* the queue lives as long as a job has its key */
} DeviceQueue;

struct _DfuJobIndexNode {
	gpointer item;
	guint64 id;
	DeviceQueue *device;
	GSequenceIter *queue_iter;    /* in its device's queue while queued */
	GSequenceIter *finished_iter; /* in the expiry order while finished */
	gint64 finished;
	char *held[DFU_JOB_INDEX_HOLD_SLOTS];
};

struct _DfuJobIndex {
	GHashTable *devices; /* key -> DeviceQueue */
	GSequence *heads;    /* DeviceQueue* that hold a queued job, by their oldest one's id */
	GSequence *finished; /* DfuJobIndexNode*, by finished time, then id */
	GHashTable *bundles; /* path -> how many holds */
};

static gint
compare_ids(guint64 a, guint64 b)
{
	return a < b ? -1 : a > b;
}

static gint
node_compare_id(gconstpointer a, gconstpointer b, gpointer user_data)
{
	return compare_ids(((const DfuJobIndexNode *)a)->id, ((const DfuJobIndexNode *)b)->id);
}

static gint
node_compare_finished(gconstpointer a, gconstpointer b, gpointer user_data)
{
	const DfuJobIndexNode *na = a;
	const DfuJobIndexNode *nb = b;

	if (na->finished != nb->finished)
		return na->finished < nb->finished ? -1 : 1;
	return compare_ids(na->id, nb->id);
}

static DfuJobIndexNode *
device_head(DeviceQueue *device)
{
	return g_sequence_get(g_sequence_get_begin_iter(device->queued));
}

static gint
device_compare_head(gconstpointer a, gconstpointer b, gpointer user_data)
{
	return compare_ids(device_head((DeviceQueue *)a)->id, device_head((DeviceQueue *)b)->id);
}

static void
device_free(DeviceQueue *device)
{
	g_sequence_free(device->queued);
	g_free(device->key);
	g_free(device);
}

DfuJobIndex *
dfu_job_index_new(void)
{
	DfuJobIndex *index = g_new0(DfuJobIndex, 1);

	index->devices = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)device_free);
	index->heads = g_sequence_new(NULL);
	index->finished = g_sequence_new(NULL);
	index->bundles = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return index;
}

void
dfu_job_index_free(DfuJobIndex *index)
{
	if (index == NULL)
		return;
	g_sequence_free(index->heads);
	g_sequence_free(index->finished);
	g_hash_table_unref(index->devices);
	g_hash_table_unref(index->bundles);
	g_free(index);
}

DfuJobIndexNode *
dfu_job_index_add(DfuJobIndex *index, gpointer item, guint64 id, const char *device_key)
{
	DfuJobIndexNode *node = g_new0(DfuJobIndexNode, 1);
	DeviceQueue *device = g_hash_table_lookup(index->devices, device_key);

	if (device == NULL) {
		device = g_new0(DeviceQueue, 1);
		device->key = g_strdup(device_key);
		device->queued = g_sequence_new(NULL);
		g_hash_table_insert(index->devices, device->key, device);
	}
	device->nodes++;
	node->item = item;
	node->id = id;
	node->device = device;
	return node;
}

void
dfu_job_index_remove(DfuJobIndex *index, DfuJobIndexNode *node)
{
	DeviceQueue *device = node->device;

	dfu_job_index_set_queued(index, node, FALSE);
	dfu_job_index_set_finished(index, node, 0);
	for (guint slot = 0; slot < DFU_JOB_INDEX_HOLD_SLOTS; slot++)
		dfu_job_index_hold(index, node, slot, NULL);
	if (--device->nodes == 0)
		g_hash_table_remove(index->devices, device->key);
	g_free(node);
}

/* the device's place among the heads follows its oldest queued job */
static void
device_detach(DfuJobIndex *index, DeviceQueue *device)
{
	if (device->heads_iter == NULL)
		return;
	g_sequence_remove(device->heads_iter);
	device->heads_iter = NULL;
}

static void
device_attach(DfuJobIndex *index, DeviceQueue *device)
{
	if (g_sequence_is_empty(device->queued))
		return;
	device->heads_iter = g_sequence_insert_sorted(index->heads, device, device_compare_head, NULL);
}

void
dfu_job_index_set_queued(DfuJobIndex *index, DfuJobIndexNode *node, gboolean queued)
{
	DeviceQueue *device = node->device;

	if (queued == (node->queue_iter != NULL))
		return;
	device_detach(index, device);
	if (queued) {
		node->queue_iter = g_sequence_insert_sorted(device->queued, node, node_compare_id, NULL);
	} else {
		g_sequence_remove(node->queue_iter);
		node->queue_iter = NULL;
	}
	device_attach(index, device);
}

void
dfu_job_index_set_finished(DfuJobIndex *index, DfuJobIndexNode *node, gint64 finished)
{
	if (node->finished_iter != NULL && node->finished == finished)
		return;
	if (node->finished_iter != NULL) {
		g_sequence_remove(node->finished_iter);
		node->finished_iter = NULL;
	}
	node->finished = finished;
	if (finished != 0)
		node->finished_iter =
		        g_sequence_insert_sorted(index->finished, node, node_compare_finished, NULL);
}

static void
bundle_release(DfuJobIndex *index, const char *path)
{
	guint count = GPOINTER_TO_UINT(g_hash_table_lookup(index->bundles, path));

	if (count > 1)
		g_hash_table_insert(index->bundles, g_strdup(path), GUINT_TO_POINTER(count - 1));
	else
		g_hash_table_remove(index->bundles, path);
}

static void
bundle_take(DfuJobIndex *index, const char *path)
{
	guint count = GPOINTER_TO_UINT(g_hash_table_lookup(index->bundles, path));

	g_hash_table_insert(index->bundles, g_strdup(path), GUINT_TO_POINTER(count + 1));
}

void
dfu_job_index_hold(DfuJobIndex *index, DfuJobIndexNode *node, guint slot, const char *path)
{
	g_return_if_fail(slot < DFU_JOB_INDEX_HOLD_SLOTS);
	if (g_strcmp0(node->held[slot], path) == 0)
		return;
	if (node->held[slot] != NULL)
		bundle_release(index, node->held[slot]);
	g_free(node->held[slot]);
	node->held[slot] = g_strdup(path);
	if (path != NULL)
		bundle_take(index, path);
}

const char *
dfu_job_index_device_key(DfuJobIndexNode *node)
{
	return node->device->key;
}

GHashTable *
dfu_job_index_live_bundles(DfuJobIndex *index)
{
	return index->bundles;
}

GPtrArray *
dfu_job_index_queue_heads(DfuJobIndex *index)
{
	GPtrArray *heads = g_ptr_array_sized_new(g_sequence_get_length(index->heads));

	for (GSequenceIter *it = g_sequence_get_begin_iter(index->heads); !g_sequence_iter_is_end(it);
	     it = g_sequence_iter_next(it))
		g_ptr_array_add(heads, device_head(g_sequence_get(it))->item);
	return heads;
}

gpointer
dfu_job_index_first_finished(DfuJobIndex *index, gint64 *finished)
{
	DfuJobIndexNode *node;

	if (g_sequence_is_empty(index->finished))
		return NULL;
	node = g_sequence_get(g_sequence_get_begin_iter(index->finished));
	*finished = node->finished;
	return node->item;
}

guint
dfu_job_index_n_finished(DfuJobIndex *index)
{
	return (guint)g_sequence_get_length(index->finished);
}
