/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * dfud as any other client sees it: org.dfud1 on the bus, Manager.SubmitUrl,
 * Job properties and Cancel, the JobFinished signal and PropertiesChanged of
 * jobs. Every call is asynchronous; replies and signals come on the main loop.
 */
typedef struct _HbDfud HbDfud;

typedef struct {
	/* a job's properties changed (a{sv} of the changed ones) */
	void (*job_changed)(const char *path, GVariant *changed, gpointer user_data);
	void (*job_finished)(const char *path, guint code, gpointer user_data);
	/* dfud (re)appeared on the bus and has loaded its stored jobs: what was missed while it was
	 * away must be read again */
	void (*daemon_appeared)(gpointer user_data);
	/* the bus connection is gone: nothing more can happen */
	void (*bus_closed)(gpointer user_data);
} HbDfudEvents;

/* error NULL on success; path the job, props its a{sv} properties */
typedef void (*HbDfudJobDone)(const char *path, GVariant *props, const GError *error, gpointer user_data);
/* objects: a{oa{sa{sv}}} from the ObjectManager */
typedef void (*HbDfudObjectsDone)(GVariant *objects, const GError *error, gpointer user_data);

HbDfud *hb_dfud_new(const HbDfudEvents *events, gpointer user_data, GError **error);
void hb_dfud_free(HbDfud *self);

/* options: an a{sv} of dfud's job options */
void hb_dfud_submit_url(HbDfud *self, const char *target, const char *url, GVariant *options,
                        HbDfudJobDone done, gpointer user_data);
void hb_dfud_cancel(HbDfud *self, const char *path, HbDfudJobDone done, gpointer user_data);
void hb_dfud_get_job(HbDfud *self, const char *path, HbDfudJobDone done, gpointer user_data);
void hb_dfud_get_objects(HbDfud *self, HbDfudObjectsDone done, gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(HbDfud, hb_dfud_free)

G_END_DECLS
