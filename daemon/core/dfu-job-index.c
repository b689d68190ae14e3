/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-job-index.h"

typedef struct {
	char *key;        /* NULL for the devices that share no link */
	GSequence *heads; /* DeviceQueue* that hold a queued job, by their oldest one's id */
	guint devices;    /* the link lives as long as a device has it */
} LinkQueue;

typedef struct {
	char *key;
	LinkQueue *link;
	GSequence *queued;         /* DfuJobIndexNode*, by id */
	GSequenceIter *heads_iter; /* in its link's heads while a job is queued */
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
	GHashTable *links;   /* key -> LinkQueue */
	LinkQueue *unshared;
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

/* probe: the id a NULL item stands for, in a search */
static guint64
device_head_id(const DeviceQueue *device, const guint64 *probe)
{
	return device != NULL ? device_head((DeviceQueue *)device)->id : *probe;
}

static gint
device_compare_probe(gconstpointer a, gconstpointer b, gpointer probe)
{
	return compare_ids(device_head_id(a, probe), device_head_id(b, probe));
}

static LinkQueue *
link_new(const char *key)
{
	LinkQueue *link = g_new0(LinkQueue, 1);

	link->key = g_strdup(key);
	link->heads = g_sequence_new(NULL);
	return link;
}

static void
link_free(LinkQueue *link)
{
	g_sequence_free(link->heads);
	g_free(link->key);
	g_free(link);
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
	index->links = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)link_free);
	index->unshared = link_new(NULL);
	index->finished = g_sequence_new(NULL);
	index->bundles =
	        g_hash_table_new_full(g_str_hash, g_str_equal, (GDestroyNotify)g_ref_string_release, NULL);
	return index;
}

void
dfu_job_index_free(DfuJobIndex *index)
{
	if (index == NULL)
		return;
	g_sequence_free(index->finished);
	g_hash_table_unref(index->devices);
	g_hash_table_unref(index->links);
	link_free(index->unshared);
	g_hash_table_unref(index->bundles);
	g_free(index);
}

static LinkQueue *
link_take(DfuJobIndex *index, const char *link_key)
{
	LinkQueue *link;

	if (link_key == NULL)
		return index->unshared;
	link = g_hash_table_lookup(index->links, link_key);
	if (link == NULL) {
		link = link_new(link_key);
		g_hash_table_insert(index->links, link->key, link);
	}
	link->devices++;
	return link;
}

static void
link_release(DfuJobIndex *index, LinkQueue *link)
{
	if (link != index->unshared && --link->devices == 0)
		g_hash_table_remove(index->links, link->key);
}

DfuJobIndexNode *
dfu_job_index_add(DfuJobIndex *index, gpointer item, guint64 id, const char *device_key, const char *link_key)
{
	DfuJobIndexNode *node = g_new0(DfuJobIndexNode, 1);
	DeviceQueue *device = g_hash_table_lookup(index->devices, device_key);

	/* a device keeps the link its first job named */
	if (device == NULL) {
		device = g_new0(DeviceQueue, 1);
		device->key = g_strdup(device_key);
		device->link = link_take(index, link_key);
		device->queued = g_sequence_new(NULL);
		g_hash_table_insert(index->devices, device->key, device);
	}
	device->nodes++;
	node->item = item;
	node->id = id;
	node->device = device;
	return node;
}

gboolean
dfu_job_index_has_device(DfuJobIndex *index, const char *device_key)
{
	return g_hash_table_contains(index->devices, device_key);
}

void
dfu_job_index_remove(DfuJobIndex *index, DfuJobIndexNode *node)
{
	DeviceQueue *device = node->device;

	dfu_job_index_set_queued(index, node, FALSE);
	dfu_job_index_set_finished(index, node, 0);
	for (guint slot = 0; slot < DFU_JOB_INDEX_HOLD_SLOTS; slot++)
		dfu_job_index_hold(index, node, slot, NULL);
	if (--device->nodes == 0) {
		link_release(index, device->link);
		g_hash_table_remove(index->devices, device->key);
	}
	g_free(node);
}

/* the device's place among its link's heads follows its oldest queued job */
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
	device->heads_iter = g_sequence_insert_sorted(device->link->heads, device, device_compare_head, NULL);
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

/* path: an interned string (GRefString), as the holds keep them */
static void
bundle_release(DfuJobIndex *index, char *path)
{
	guint count = GPOINTER_TO_UINT(g_hash_table_lookup(index->bundles, path));

	if (count > 1)
		g_hash_table_insert(index->bundles, g_ref_string_acquire(path), GUINT_TO_POINTER(count - 1));
	else
		g_hash_table_remove(index->bundles, path);
}

static void
bundle_take(DfuJobIndex *index, char *path)
{
	guint count = GPOINTER_TO_UINT(g_hash_table_lookup(index->bundles, path));

	g_hash_table_insert(index->bundles, g_ref_string_acquire(path), GUINT_TO_POINTER(count + 1));
}

void
dfu_job_index_hold(DfuJobIndex *index, DfuJobIndexNode *node, guint slot, const char *path)
{
	g_return_if_fail(slot < DFU_JOB_INDEX_HOLD_SLOTS);
	if (g_strcmp0(node->held[slot], path) == 0)
		return;
	if (node->held[slot] != NULL) {
		bundle_release(index, node->held[slot]);
		g_ref_string_release(node->held[slot]);
	}
	/* interned: the jobs that hold one bundle share one copy of its path */
	node->held[slot] = path != NULL ? g_ref_string_new_intern(path) : NULL;
	if (path != NULL)
		bundle_take(index, node->held[slot]);
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

const char *
dfu_job_index_link_key(DfuJobIndexNode *node)
{
	return node->device->link->key;
}

/* where a link's walk stands: the id of the head it offered last */
typedef struct {
	LinkQueue *link;
	guint64 last;
	gboolean started;
} LinkCursor;

/* the link's first device head after the one it offered last, NULL at its end */
static DeviceQueue *
cursor_peek(LinkCursor *cursor)
{
	GSequenceIter *it = cursor->started ? g_sequence_search(cursor->link->heads, NULL,
	                                                        device_compare_probe, &cursor->last)
	                                    : g_sequence_get_begin_iter(cursor->link->heads);

	/* a search lands after the equals, but be sure the last head is not offered twice */
	while (!g_sequence_iter_is_end(it) && cursor->started &&
	       device_head(g_sequence_get(it))->id <= cursor->last)
		it = g_sequence_iter_next(it);
	return g_sequence_iter_is_end(it) ? NULL : g_sequence_get(it);
}

static void
add_cursor(GArray *cursors, LinkQueue *link)
{
	LinkCursor cursor = {.link = link};

	if (!g_sequence_is_empty(link->heads))
		g_array_append_val(cursors, cursor);
}

void
dfu_job_index_visit_heads(DfuJobIndex *index, DfuJobIndexVisit visit, gpointer user_data)
{
	g_autoptr(GArray) cursors = g_array_new(FALSE, FALSE, sizeof(LinkCursor));
	GHashTableIter iter;
	gpointer link;

	add_cursor(cursors, index->unshared);
	g_hash_table_iter_init(&iter, index->links);
	while (g_hash_table_iter_next(&iter, NULL, &link))
		add_cursor(cursors, link);
	/*
	 * The heads of all links merged by id. The cursors search again after each
	 * visit rather than hold an iterator, since a visit may move heads: a job that
	 * starts leaves its device's queue.
	 */
	while (cursors->len > 0) {
		DfuJobIndexNode *first = NULL;
		guint at = 0;

		for (guint i = 0; i < cursors->len;) {
			DeviceQueue *device = cursor_peek(&g_array_index(cursors, LinkCursor, i));

			if (device == NULL) {
				g_array_remove_index_fast(cursors, i);
				continue;
			}
			if (first == NULL || device_head(device)->id < first->id) {
				first = device_head(device);
				at = i;
			}
			i++;
		}
		if (first == NULL)
			return;
		g_array_index(cursors, LinkCursor, at).last = first->id;
		g_array_index(cursors, LinkCursor, at).started = TRUE;
		switch (visit(first->item, user_data)) {
		case DFU_JOB_INDEX_NEXT:
			break;
		case DFU_JOB_INDEX_SKIP_LINK:
			g_array_remove_index_fast(cursors, at);
			break;
		case DFU_JOB_INDEX_STOP:
			return;
		}
	}
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
