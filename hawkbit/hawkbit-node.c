/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "dfu-error.h"
#include "dfu-status.h"
#include "hawkbit-ddi.h"
#include "hawkbit-facts.h"
#include "hawkbit-node.h"
#include "hawkbit-record.h"

#define DEFAULT_SLEEP_S 300 /* hawkBit's own default polling time */

struct _HbNode {
	HbAgent *agent;
	const HbNodeConfig *config;
	char *base; /* .../{tenant}/controller/v1/{controllerId} */
	char *authorization;
	char *record_path;
	HbRecord *rec;
	char *etag;
	HbPoll last; /* the last poll answered with 200 */
	guint timer_id;
	gboolean polling;
	gboolean deploying; /* a deploymentBase request or a submission is on its way */
	gboolean closing;   /* the closing feedback is on its way */
	gboolean configuring;
	gboolean confirming;
	gboolean reporting; /* an update made beside the agent is being reported as installedBase */
	gboolean cancelling;
	gboolean refused;
	char *phase;
	guint attempt;
	guint32 percentage;
	gint64 last_progress_us;
	char *last_progress;
	GQueue feedback; /* Feedback*: the head is on its way when feedback_sending */
	gboolean feedback_sending;
};

typedef struct {
	char *url;
	char *json;
	HbHttpDone done;
} Feedback;

/* phases after which cancelling would leave the node between two images */
static const char *const no_return_phases[] = {"testing", "resetting", "confirming"};

static void node_poll(HbNode *node);
static void node_get_deployment(HbNode *node, const char *href);

const char *
hb_node_get_controller_id(HbNode *node)
{
	return node->config->controller_id;
}

static void
node_save(HbNode *node)
{
	g_autoptr(GError) error = NULL;

	if (!hb_record_save(node->rec, node->record_path, &error))
		g_warning("%s: cannot keep the action's state: %s", node->config->controller_id,
		          error->message);
}

static void
node_set_stage(HbNode *node, HbStage stage)
{
	g_debug("%s: action %s %s -> %s", node->config->controller_id, node->rec->action,
	        hb_stage_to_string(node->rec->stage), hb_stage_to_string(stage));
	node->rec->stage = stage;
	node_save(node);
}

static gboolean
stage_is_running(HbStage stage)
{
	return stage == HB_STAGE_SUBMITTING || stage == HB_STAGE_FETCHING || stage == HB_STAGE_INSTALLING;
}

/* --- requests ---------------------------------------------------------------- */

static void
node_request(HbNode *node, const char *method, const char *url, const char *json, HbHttpDone done)
{
	HbHttpRequest request = {
	        .method = method,
	        .url = url,
	        .authorization = node->authorization,
	        .json = json,
	};

	hb_http_send(node->agent->http, &request, done, node);
}

static char *
action_url(HbNode *node, const char *resource, const char *action, const char *suffix)
{
	return g_strdup_printf("%s/%s/%s%s", node->base, resource, action, suffix);
}

/* --- feedback ---------------------------------------------------------------- */

static void
feedback_free(Feedback *f)
{
	g_free(f->url);
	g_free(f->json);
	g_free(f);
}

static void feedback_reply_cb(const HbHttpReply *reply, gpointer user_data);

static void
feedback_send_head(HbNode *node)
{
	Feedback *f = g_queue_peek_head(&node->feedback);

	if (f == NULL || node->feedback_sending)
		return;
	node->feedback_sending = TRUE;
	node_request(node, "POST", f->url, f->json, feedback_reply_cb);
}

static void
feedback_reply_cb(const HbHttpReply *reply, gpointer user_data)
{
	HbNode *node = user_data;
	Feedback *f = g_queue_pop_head(&node->feedback);

	node->feedback_sending = FALSE;
	f->done(reply, node);
	feedback_free(f);
	feedback_send_head(node);
}

/* a node's feedback goes out one message at a time, in order: sent side by side, a progress
 * message could reach the server after the one that closes the action, which refuses it */
static void
node_post_feedback(HbNode *node, char *url, char *json, HbHttpDone done)
{
	Feedback *f = g_new0(Feedback, 1);

	f->url = url;
	f->json = json;
	f->done = done;
	g_queue_push_tail(&node->feedback, f);
	feedback_send_head(node);
}

static void
ignore_reply_cb(const HbHttpReply *reply, gpointer user_data)
{
	HbNode *node = user_data;

	if (reply->status != 200)
		g_debug("%s: feedback answered %ld %s", node->config->controller_id, reply->status,
		        reply->error != NULL ? reply->error : "");
}

/* an intermediate feedback; losing one is harmless */
static void
node_feedback(HbNode *node, const char *execution, const char *detail, guint cnt, guint of)
{
	const char *details[] = {detail, NULL};

	node_post_feedback(node, action_url(node, "deploymentBase", node->rec->action, "/feedback"),
	                   hb_ddi_feedback(execution, "none", -1, details, cnt, of), ignore_reply_cb);
}

static gboolean
code_is_success(guint code)
{
	return !dfu_status_is_failure(code);
}

static void
closed_reply_cb(const HbHttpReply *reply, gpointer user_data)
{
	HbNode *node = user_data;

	node->closing = FALSE;
	/* 410: the action is closed already, 404: the server forgot it; either way nothing is owed */
	if (reply->status == 200 || reply->status == 410 || reply->status == 404) {
		g_message("%s: action %s closed on the server (%ld)", node->config->controller_id,
		          node->rec->action, reply->status);
		node_set_stage(node, HB_STAGE_CLOSED);
		return;
	}
	g_warning("%s: the closing feedback of action %s got %ld %s; sent again at the next poll",
	          node->config->controller_id, node->rec->action, reply->status,
	          reply->error != NULL ? reply->error : "");
}

/* the outcome, until the server has taken it */
static void
node_send_closed(HbNode *node)
{
	HbRecord *r = node->rec;
	const DfuStatusInfo *info = dfu_status_lookup(r->code);
	g_autofree char *summary = NULL;
	char *json;
	char *url;
	const char *details[3] = {NULL};

	if (node->closing)
		return;
	node->closing = TRUE;
	summary = g_strdup_printf("%s: %s",
	                          r->status_name != NULL ? r->status_name : dfu_status_to_name(r->code),
	                          r->message != NULL ? r->message : "");
	details[0] = summary;
	if (r->cancelled) {
		details[0] = "the update was cancelled on the node's gateway";
		json = hb_ddi_feedback("closed", "success", (int)r->code, details, 0, 0);
		url = action_url(node, "cancelAction", r->action, "/feedback");
	} else {
		if (!code_is_success(r->code) && info != NULL && info->hint[0] != '\0')
			details[1] = info->hint;
		json = hb_ddi_feedback("closed", code_is_success(r->code) ? "success" : "failure",
		                       (int)r->code, details, 0, 0);
		url = action_url(node, "deploymentBase", r->action, "/feedback");
	}
	node_post_feedback(node, url, json, closed_reply_cb);
}

static void
node_finish(HbNode *node, guint code, const char *status_name, const char *message)
{
	HbRecord *r = node->rec;

	g_message("%s: action %s ended: %s: %s", node->config->controller_id, r->action,
	          status_name != NULL ? status_name : dfu_status_to_name(code),
	          message != NULL ? message : "");
	r->code = code;
	g_free(r->status_name);
	r->status_name = g_strdup(status_name != NULL ? status_name : dfu_status_to_name(code));
	g_free(r->message);
	r->message = g_strdup(message);
	if (r->job != NULL)
		g_hash_table_remove(node->agent->jobs, r->job);
	node_set_stage(node, HB_STAGE_FINISHED);
	node_send_closed(node);
}

static void
node_finish_error(HbNode *node, const GError *error)
{
	guint code = error->domain == DFU_ERROR ? (guint)error->code : DFU_STATUS_INTERNAL_ERROR;

	node_finish(node, code, NULL, error->message);
}

/* --- the dfud job ------------------------------------------------------------ */

/* one form for every request the server did not take */
static void
node_warn_reply(HbNode *node, const char *what, const HbHttpReply *reply)
{
	g_warning("%s: %s answered %ld %s", node->config->controller_id, what, reply->status,
	          reply->error != NULL ? reply->error : "");
}

static void
cancel_feedback_cb(const HbHttpReply *reply, gpointer user_data)
{
	HbNode *node = user_data;

	node->cancelling = FALSE;
	if (reply->status != 200)
		node_warn_reply(node, "the cancel feedback", reply);
}

static void
node_cancel_feedback(HbNode *node, const char *stop_id, const char *execution, const char *finished,
                     const char *detail)
{
	const char *details[] = {detail, NULL};
	g_autofree char *json = hb_ddi_feedback(execution, finished, -1, details, 0, 0);
	g_autofree char *url = action_url(node, "cancelAction", stop_id, "/feedback");

	g_message("%s: cancel of action %s: %s (%s)", node->config->controller_id, stop_id, execution,
	          detail);
	node->cancelling = TRUE;
	node_request(node, "POST", url, json, cancel_feedback_cb);
}

static void
node_job_over(HbNode *node, const char *state, guint code, const char *name, const char *message)
{
	HbRecord *r = node->rec;

	if (r->stage == HB_STAGE_FETCHING && code_is_success(code) && g_strcmp0(state, "succeeded") == 0) {
		g_hash_table_remove(node->agent->jobs, r->job);
		node_set_stage(node, HB_STAGE_FETCHED);
		node_feedback(
		        node, "downloaded",
		        "the artifact is in the gateway's cache; it is installed once the update may start",
		        0, 0);
		return;
	}
	if (g_strcmp0(state, "cancelled") == 0 && r->cancel_requested) {
		r->cancelled = TRUE;
		node_finish(node, code, name, "cancelled as the server asked");
		return;
	}
	if (g_strcmp0(state, "cancelled") == 0) {
		node_finish(node, code, name, "the job was cancelled on the gateway");
		return;
	}
	if (r->cancel_requested)
		node_cancel_feedback(node, r->action, "rejected", "none", "the update had already ended");
	node_finish(node, code, name, message);
}

static void
node_note_phase(HbNode *node, GVariant *props)
{
	const char *phase = hb_facts_lookup(props, "Phase");

	if (phase != NULL) {
		g_free(node->phase);
		node->phase = g_strdup(phase);
	}
}

static void
job_state_cb(const char *path, GVariant *props, const GError *error, gpointer user_data)
{
	HbNode *node = user_data;
	HbRecord *r = node->rec;
	const char *state;
	guint32 code = 0;

	if (g_strcmp0(path, r->job) != 0 ||
	    !(r->stage == HB_STAGE_FETCHING || r->stage == HB_STAGE_INSTALLING))
		return;
	if (error != NULL && g_error_matches(error, DFU_ERROR, DFU_STATUS_NOT_FOUND)) {
		node_finish(node, DFU_STATUS_NOT_FOUND, NULL, "dfud no longer knows the job of this action");
		return;
	}
	if (error != NULL) {
		g_debug("%s: cannot read job %s: %s", node->config->controller_id, path, error->message);
		return;
	}
	node_note_phase(node, props);
	state = hb_facts_lookup(props, "State");
	if (g_strcmp0(state, "queued") == 0 || g_strcmp0(state, "running") == 0)
		return;
	g_variant_lookup(props, "StatusCode", "u", &code);
	node_job_over(node, state, code, hb_facts_lookup(props, "StatusName"),
	              hb_facts_lookup(props, "Message"));
}

void
hb_node_check_job(HbNode *node)
{
	if (node->rec->job != NULL &&
	    (node->rec->stage == HB_STAGE_FETCHING || node->rec->stage == HB_STAGE_INSTALLING))
		hb_dfud_get_job(node->agent->dfud, node->rec->job, job_state_cb, node);
}

void
hb_node_job_changed(HbNode *node, GVariant *changed)
{
	HbRecord *r = node->rec;
	guint32 attempt = 0;
	gint64 now = g_get_monotonic_time();
	g_autofree char *text = NULL;
	const char *state = hb_facts_lookup(changed, "State");

	node_note_phase(node, changed);
	if (state != NULL && g_strcmp0(state, "queued") != 0 && g_strcmp0(state, "running") != 0) {
		hb_node_check_job(node);
		return;
	}
	if (r->stage != HB_STAGE_INSTALLING && r->stage != HB_STAGE_FETCHING)
		return;
	if (g_variant_lookup(changed, "Attempt", "u", &attempt) && attempt > 1 && attempt != node->attempt) {
		g_autofree char *retry =
		        g_strdup_printf("attempt %u: the previous one failed with a recoverable "
		                        "error and is retried",
		                        attempt);
		node->attempt = attempt;
		node_feedback(node, "proceeding", retry, 0, 0);
		return;
	}
	g_variant_lookup(changed, "Percentage", "u", &node->percentage);
	text = g_strdup_printf("%s, %u %%", node->phase != NULL ? node->phase : "running", node->percentage);
	/* hawkBit keeps every message: one per interval at most, and only when something moved */
	if (now - node->last_progress_us <
	            (gint64)(node->agent->config->progress_interval_s * G_USEC_PER_SEC) ||
	    g_strcmp0(text, node->last_progress) == 0)
		return;
	node->last_progress_us = now;
	g_free(node->last_progress);
	node->last_progress = g_strdup(text);
	node_feedback(node, "proceeding", text, node->percentage, 100);
}

static char *
source_name(HbNode *node, const HbDeployment *d)
{
	return g_strdup_printf("hawkbit %s action %s: %s", node->config->controller_id, d->id, d->filename);
}

static void
submit_cb(const char *path, GVariant *props, const GError *error, gpointer user_data)
{
	HbNode *node = user_data;
	HbRecord *r = node->rec;

	node->deploying = FALSE;
	if (error != NULL && g_error_matches(error, DFU_ERROR, DFU_STATUS_DAEMON_STOPPED)) {
		/* the job may or may not exist: the next poll looks for it before submitting again */
		g_warning("%s: dfud did not take action %s: %s", node->config->controller_id, r->action,
		          error->message);
		return;
	}
	if (error != NULL) {
		node_finish_error(node, error);
		return;
	}
	g_message("%s: action %s is dfud job %s%s", node->config->controller_id, r->action, path,
	          r->fetch_only ? " (download only)" : "");
	r->job = g_strdup(path);
	node->attempt = 0;
	node->percentage = 0;
	g_clear_pointer(&node->last_progress, g_free);
	hb_agent_track_job(node->agent, path, node);
	node_set_stage(node, r->fetch_only ? HB_STAGE_FETCHING : HB_STAGE_INSTALLING);
	if (r->fetch_only)
		node_feedback(node, "download",
		              "downloading into the gateway's cache; the update waits for the "
		              "maintenance window",
		              0, 0);
	else
		node_feedback(node, "proceeding", "queued as a dfud job", 0, 0);
	if (r->cancel_requested)
		hb_dfud_cancel(node->agent->dfud, path, job_state_cb, node);
	hb_node_check_job(node);
}

static void
node_submit(HbNode *node, const HbDeployment *d, gboolean fetch_only)
{
	GVariantBuilder options;
	g_autofree char *name = source_name(node, d);

	node->rec->fetch_only = fetch_only;
	/* on disk before the call: a crash in between is found again by the job's source name */
	node_set_stage(node, HB_STAGE_SUBMITTING);
	g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&options, "{sv}", "expected-sha256", g_variant_new_string(d->sha256));
	g_variant_builder_add(&options, "{sv}", "source-name", g_variant_new_string(name));
	if (fetch_only)
		g_variant_builder_add(&options, "{sv}", "fetch-only", g_variant_new_boolean(TRUE));
	node->deploying = TRUE;
	hb_dfud_submit_url(node->agent->dfud, node->config->target, d->url, g_variant_builder_end(&options),
	                   submit_cb, node);
}

/* a job of this action already in dfud (a restart between submit and its answer), else NULL */
static char *
find_job(HbNode *node, GVariant *objects, const char *action)
{
	g_autofree char *prefix =
	        g_strdup_printf("hawkbit %s action %s: ", node->config->controller_id, action);
	GVariantIter iter;
	const char *path;
	GVariant *interfaces;

	if (objects == NULL)
		return NULL;
	g_variant_iter_init(&iter, objects);
	while (g_variant_iter_next(&iter, "{&o@a{sa{sv}}}", &path, &interfaces)) {
		g_autoptr(GVariant) owned = interfaces;
		g_autoptr(GVariant) props =
		        g_variant_lookup_value(interfaces, "org.dfud1.Job", G_VARIANT_TYPE_VARDICT);
		const char *source = hb_facts_lookup(props, "Source");

		if (source != NULL && g_str_has_prefix(source, prefix))
			return g_strdup(path);
	}
	return NULL;
}

/* settles a submission that a restart (or dfud's absence) left without an answer */
static void
node_adopt(HbNode *node, GVariant *objects)
{
	HbRecord *r = node->rec;
	g_autofree char *path = NULL;

	if (r->stage != HB_STAGE_SUBMITTING || r->job != NULL || node->deploying || objects == NULL)
		return;
	path = find_job(node, objects, r->action);
	if (path == NULL && r->cancel_requested) {
		r->cancelled = TRUE;
		node_set_stage(node, HB_STAGE_CLOSED);
		node_cancel_feedback(node, r->action, "closed", "success",
		                     "cancelled before dfud got the update");
		return;
	}
	if (path == NULL) {
		g_message("%s: action %s never reached dfud; submitted again", node->config->controller_id,
		          r->action);
		node_set_stage(node, HB_STAGE_NONE);
		return;
	}
	g_message("%s: action %s is dfud job %s, found again", node->config->controller_id, r->action, path);
	r->job = g_steal_pointer(&path);
	hb_agent_track_job(node->agent, r->job, node);
	node_set_stage(node, r->fetch_only ? HB_STAGE_FETCHING : HB_STAGE_INSTALLING);
	hb_node_check_job(node);
}

static void
adopt_objects_cb(GVariant *objects, const GError *error, gpointer user_data)
{
	HbNode *node = user_data;

	node->deploying = FALSE;
	if (error != NULL) {
		g_debug("%s: cannot list dfud's jobs: %s", node->config->controller_id, error->message);
		return;
	}
	node_adopt(node, objects);
	if (node->rec->stage == HB_STAGE_NONE && node->last.deployment_href != NULL)
		node_get_deployment(node, node->last.deployment_href);
}

/* --- deploymentBase ---------------------------------------------------------- */

static void
node_deploy(HbNode *node, const HbDeployment *d)
{
	HbRecord *r = node->rec;
	gboolean install = d->update != HB_MODE_SKIP && !d->window_closed;

	if (g_strcmp0(r->action, d->id) != 0)
		hb_record_reset(r, d->id);
	switch (r->stage) {
	case HB_STAGE_FINISHED:
	case HB_STAGE_CLOSED:
		node_send_closed(node);
		return;
	case HB_STAGE_SUBMITTING:
	case HB_STAGE_FETCHING:
	case HB_STAGE_INSTALLING:
		return;
	case HB_STAGE_FETCHED:
		if (install) {
			g_message("%s: action %s may install now", node->config->controller_id, r->action);
			node_submit(node, d, FALSE);
		}
		return;
	case HB_STAGE_NONE:
		break;
	}
	if (d->download == HB_MODE_SKIP) {
		g_debug("%s: action %s: download skipped for now", node->config->controller_id, r->action);
		return;
	}
	g_message("%s: action %s: %s %s (%s %s)%s", node->config->controller_id, r->action,
	          install ? "installing" : "downloading", d->filename, d->name != NULL ? d->name : "",
	          d->version != NULL ? d->version : "",
	          d->window_closed            ? ", maintenance window closed"
	          : d->update == HB_MODE_SKIP ? ", update skipped"
	                                      : "");
	node_submit(node, d, !install);
}

static void
deployment_cb(const HbHttpReply *reply, gpointer user_data)
{
	HbNode *node = user_data;
	HbDeployment d;
	g_autoptr(GError) error = NULL;

	node->deploying = FALSE;
	if (reply->status != 200) {
		node_warn_reply(node, "deploymentBase", reply);
		return;
	}
	if (!hb_ddi_parse_deployment(reply->body, node->agent->config->allow_http, &d, &error)) {
		g_autofree char *action = node->last.deployment_href != NULL
		                                  ? hb_ddi_href_action(node->last.deployment_href)
		                                  : NULL;

		/* what the node cannot take is refused on the server, not retried for ever */
		if (action != NULL && error->code == DFU_STATUS_UNSUPPORTED_BUNDLE &&
		    g_strcmp0(node->rec->action, action) != 0) {
			hb_record_reset(node->rec, action);
			node_finish_error(node, error);
		} else {
			g_warning("%s: %s", node->config->controller_id, error->message);
		}
		hb_deployment_clear(&d);
		return;
	}
	node_deploy(node, &d);
	hb_deployment_clear(&d);
}

static void
node_get_deployment(HbNode *node, const char *href)
{
	if (node->deploying)
		return;
	node->deploying = TRUE;
	node_request(node, "GET", href, NULL, deployment_cb);
}

/* --- cancelAction ------------------------------------------------------------ */

static gboolean
phase_is_past_return(const char *phase)
{
	for (gsize i = 0; phase != NULL && i < G_N_ELEMENTS(no_return_phases); i++) {
		if (strcmp(phase, no_return_phases[i]) == 0)
			return TRUE;
	}
	return FALSE;
}

static void
cancel_job_cb(const char *path, GVariant *props, const GError *error, gpointer user_data)
{
	HbNode *node = user_data;

	if (error != NULL)
		g_message("%s: dfud did not cancel job %s: %s", node->config->controller_id, path,
		          error->message);
	hb_node_check_job(node);
}

static void
cancel_state_cb(const char *path, GVariant *props, const GError *error, gpointer user_data)
{
	HbNode *node = user_data;
	HbRecord *r = node->rec;
	g_autofree char *why = NULL;

	if (g_strcmp0(path, r->job) != 0 || r->cancel_requested)
		return;
	if (error == NULL)
		node_note_phase(node, props);
	if (error == NULL && phase_is_past_return(node->phase)) {
		why = g_strdup_printf("the node is %s the new image: past the point where stopping is safe",
		                      node->phase);
		node_cancel_feedback(node, r->action, "rejected", "none", why);
		return;
	}
	r->cancel_requested = TRUE;
	node_save(node);
	hb_dfud_cancel(node->agent->dfud, r->job, cancel_job_cb, node);
}

static void
node_cancel(HbNode *node, const char *stop_id)
{
	HbRecord *r = node->rec;

	if (g_strcmp0(r->action, stop_id) != 0 || r->stage == HB_STAGE_NONE || r->stage == HB_STAGE_CLOSED) {
		node_cancel_feedback(node, stop_id, "closed", "success", "nothing runs for this action");
		return;
	}
	switch (r->stage) {
	case HB_STAGE_FETCHED:
		r->cancelled = TRUE;
		node_set_stage(node, HB_STAGE_CLOSED);
		node_cancel_feedback(node, stop_id, "closed", "success",
		                     "only downloaded; nothing was installed");
		return;
	case HB_STAGE_FINISHED:
		/* a cancel whose confirmation did not get through is confirmed again */
		if (r->cancelled)
			node_send_closed(node);
		else
			node_cancel_feedback(node, stop_id, "rejected", "none",
			                     "the update had already ended");
		return;
	case HB_STAGE_SUBMITTING:
		r->cancel_requested = TRUE;
		node_save(node);
		return;
	default:
		if (!r->cancel_requested)
			hb_dfud_get_job(node->agent->dfud, r->job, cancel_state_cb, node);
		return;
	}
}

static void
cancel_action_cb(const HbHttpReply *reply, gpointer user_data)
{
	HbNode *node = user_data;
	g_autoptr(GError) error = NULL;
	g_autofree char *stop_id = NULL;

	node->cancelling = FALSE;
	if (reply->status != 200) {
		node_warn_reply(node, "cancelAction", reply);
		return;
	}
	stop_id = hb_ddi_parse_cancel(reply->body, &error);
	if (stop_id == NULL) {
		g_warning("%s: %s", node->config->controller_id, error->message);
		return;
	}
	node_cancel(node, stop_id);
}

/* --- configData -------------------------------------------------------------- */

/* dfud's org.dfud1.Device object of the node, NULL when dfud has none */
static GVariant *
node_device(HbNode *node)
{
	GVariant *device = g_hash_table_lookup(node->agent->devices, node->config->name);

	return device != NULL ? device : g_hash_table_lookup(node->agent->devices, node->config->target);
}

static void
config_cb(const HbHttpReply *reply, gpointer user_data)
{
	HbNode *node = user_data;

	node->configuring = FALSE;
	if (reply->status != 200) {
		node_warn_reply(node, "configData", reply);
		g_clear_pointer(&node->rec->facts, g_free);
		return;
	}
	node_save(node);
}

static void
node_send_facts(HbNode *node, gboolean asked)
{
	g_autofree char *facts = NULL;
	g_autofree char *url = NULL;

	if (node->configuring)
		return;
	facts = hb_facts_config_data(node->config, node->agent->config->gateway_id, node_device(node),
	                             node->rec);
	if (!asked && g_strcmp0(facts, node->rec->facts) == 0)
		return;
	/* taken as sent; a refusal clears it so that the next poll tries again */
	g_free(node->rec->facts);
	node->rec->facts = g_strdup(facts);
	node->configuring = TRUE;
	url = g_strconcat(node->base, "/configData", NULL);
	node_request(node, "PUT", url, facts, config_cb);
}

/* --- installedBase: updates made beside the agent ---------------------------- */

static void
installed_cb(const HbHttpReply *reply, gpointer user_data)
{
	HbNode *node = user_data;

	node->reporting = FALSE;
	/* 404: the server has no such distribution set; asking again would not change that */
	if (reply->status != 200 && reply->status != 201 && reply->status != 404) {
		node_warn_reply(node, "installedBase", reply);
		g_clear_pointer(&node->rec->local_job, g_free);
		return;
	}
	if (reply->status == 404)
		g_message("%s: the server knows no distribution set for the local update",
		          node->config->controller_id);
	node_save(node);
}

static void
local_job_cb(const char *path, GVariant *props, const GError *error, gpointer user_data)
{
	HbNode *node = user_data;
	const char *source = hb_facts_lookup(props, "Source");
	GVariant *device = node_device(node);
	g_autofree char *prefix = g_strdup_printf("hawkbit %s ", node->config->controller_id);
	g_autofree char *json = NULL;
	g_autofree char *url = NULL;
	const char *version;

	version = hb_facts_running_version(device);
	if (error != NULL || source == NULL || version == NULL || g_str_has_prefix(source, prefix)) {
		/* one of the agent's own jobs, or nothing to say: not looked at again */
		node->reporting = FALSE;
		if (error == NULL) {
			g_free(node->rec->local_job);
			node->rec->local_job = g_strdup(path);
			node_save(node);
		}
		return;
	}
	g_message("%s: updated beside the agent to %s (%s); reported as installedBase",
	          node->config->controller_id, version, source);
	g_free(node->rec->local_job);
	node->rec->local_job = g_strdup(path);
	json = hb_ddi_installed_base(source, version);
	url = g_strconcat(node->base, "/installedBase", NULL);
	node_request(node, "PUT", url, json, installed_cb);
}

/* a successful job of the node that the agent did not submit: hawkBit's installedBase follows it */
static void
node_check_local_update(HbNode *node, GVariant *device)
{
	const char *last_job = NULL;

	if (node->reporting || device == NULL || !g_variant_lookup(device, "LastJob", "&o", &last_job) ||
	    strcmp(last_job, "/") == 0 || g_strcmp0(last_job, node->rec->job) == 0 ||
	    g_strcmp0(last_job, node->rec->local_job) == 0 ||
	    g_strcmp0(hb_facts_lookup(device, "LastStatusName"), "success") != 0)
		return;
	node->reporting = TRUE;
	hb_dfud_get_job(node->agent->dfud, last_job, local_job_cb, node);
}

/* --- polling ----------------------------------------------------------------- */

static gboolean
poll_timer_cb(gpointer user_data)
{
	HbNode *node = user_data;

	node->timer_id = 0;
	node_poll(node);
	return G_SOURCE_REMOVE;
}

static void
node_schedule(HbNode *node, double seconds)
{
	const HbConfig *c = node->agent->config;
	/* ±10 %: nodes that started together drift apart instead of polling in step */
	double s = MAX(seconds, c->min_sleep_s) * g_random_double_range(0.9, 1.1);

	g_clear_handle_id(&node->timer_id, g_source_remove);
	node->timer_id = g_timeout_add((guint)(s * 1000), poll_timer_cb, node);
}

static double
node_sleep(HbNode *node)
{
	double s = node->last.sleep_s != 0 ? node->last.sleep_s : DEFAULT_SLEEP_S;

	/* while the node works on an action, a cancel should not wait a whole polling interval */
	if (stage_is_running(node->rec->stage) || node->rec->stage == HB_STAGE_FINISHED)
		s = MIN(s, node->agent->config->busy_sleep_s);
	return s;
}

/* the server no longer lists the record's action as active: it was closed or cancelled there */
static void
node_forget_action(HbNode *node, const char *current)
{
	HbRecord *r = node->rec;

	if (r->action == NULL || g_strcmp0(r->action, current) == 0 || r->stage == HB_STAGE_NONE ||
	    r->stage == HB_STAGE_CLOSED || node->deploying || node->closing)
		return;
	g_message("%s: the server no longer lists action %s", node->config->controller_id, r->action);
	if (r->job != NULL && stage_is_running(r->stage)) {
		hb_dfud_cancel(node->agent->dfud, r->job, cancel_job_cb, node);
		g_hash_table_remove(node->agent->jobs, r->job);
	}
	node_set_stage(node, HB_STAGE_CLOSED);
}

static void
confirm_cb(const HbHttpReply *reply, gpointer user_data)
{
	HbNode *node = user_data;

	node->confirming = FALSE;
	if (reply->status != 200)
		node_warn_reply(node, "the confirmation", reply);
}

/* hawkBit's user-consent flow: the action starts once the device consents */
static void
node_confirm(HbNode *node, const char *href)
{
	g_autofree char *action = hb_ddi_href_action(href);
	g_autofree char *url = NULL;
	g_autofree char *json = NULL;
	g_autofree char *detail = NULL;

	if (node->confirming || action == NULL)
		return;
	if (!node->agent->config->auto_confirm) {
		g_debug("%s: action %s waits for a consent (AutoConfirm=false)", node->config->controller_id,
		        action);
		return;
	}
	g_message("%s: consenting to action %s", node->config->controller_id, action);
	detail = g_strdup_printf("consented by dfud-hawkbit on gateway %s", node->agent->config->gateway_id);
	json = hb_ddi_confirmation(detail);
	url = action_url(node, "confirmationBase", action, "/feedback");
	node->confirming = TRUE;
	node_request(node, "POST", url, json, confirm_cb);
}

static void
node_follow(HbNode *node)
{
	HbPoll *p = &node->last;
	HbRecord *r = node->rec;
	g_autofree char *action = NULL;

	node_send_facts(node, p->config_href != NULL);
	node_check_local_update(node, node_device(node));
	if (p->cancel_href != NULL) {
		if (!node->cancelling) {
			node->cancelling = TRUE;
			node_request(node, "GET", p->cancel_href, NULL, cancel_action_cb);
		}
		return;
	}
	if (p->confirmation_href != NULL) {
		node_confirm(node, p->confirmation_href);
		return;
	}
	if (p->deployment_href == NULL) {
		node_forget_action(node, NULL);
		return;
	}
	action = hb_ddi_href_action(p->deployment_href);
	node_forget_action(node, action);
	if (g_strcmp0(r->action, action) != 0) {
		node_get_deployment(node, p->deployment_href);
		return;
	}
	switch (r->stage) {
	case HB_STAGE_FINISHED:
	case HB_STAGE_CLOSED:
		node_send_closed(node);
		return;
	case HB_STAGE_SUBMITTING:
		if (r->job == NULL && !node->deploying) {
			node->deploying = TRUE;
			hb_dfud_get_objects(node->agent->dfud, adopt_objects_cb, node);
		}
		return;
	case HB_STAGE_FETCHING:
	case HB_STAGE_INSTALLING:
		/* a JobFinished missed while dfud restarted shows here */
		hb_node_check_job(node);
		return;
	case HB_STAGE_FETCHED:
	case HB_STAGE_NONE:
		node_get_deployment(node, p->deployment_href);
		return;
	}
}

static void
poll_cb(const HbHttpReply *reply, gpointer user_data)
{
	HbNode *node = user_data;
	HbPoll poll;
	g_autoptr(GError) error = NULL;

	node->polling = FALSE;
	if (reply->status == 401 || reply->status == 403) {
		if (!node->refused)
			g_warning("%s: the server refused the %s (%ld): check GatewayToken or TargetToken",
			          node->config->controller_id,
			          node->config->target_token != NULL ? "target token" : "gateway token",
			          reply->status);
		node->refused = TRUE;
		node_schedule(node, node->agent->config->retry_s);
		return;
	}
	if (reply->status != 200 && reply->status != 304) {
		node_warn_reply(node, "poll", reply);
		node_schedule(node, node->agent->config->retry_s);
		return;
	}
	if (node->refused)
		g_message("%s: the server takes the token again", node->config->controller_id);
	node->refused = FALSE;
	if (reply->status == 200) {
		if (!hb_ddi_parse_poll(reply->body, &poll, &error)) {
			g_warning("%s: %s", node->config->controller_id, error->message);
			node_schedule(node, node->agent->config->retry_s);
			return;
		}
		hb_poll_clear(&node->last);
		node->last = poll;
		g_free(node->etag);
		node->etag = g_strdup(reply->etag);
	}
	node_follow(node);
	node_schedule(node, node_sleep(node));
}

static void
node_poll(HbNode *node)
{
	HbHttpRequest request = {
	        .method = "GET",
	        .url = node->base,
	        .authorization = node->authorization,
	        /* the same answer again costs the server nothing but the ETag */
	        .if_none_match = node->etag,
	};

	if (node->polling) {
		node_schedule(node, node_sleep(node));
		return;
	}
	node->polling = TRUE;
	hb_http_send(node->agent->http, &request, poll_cb, node);
}

void
hb_node_start(HbNode *node, double delay_s, GVariant *objects)
{
	HbRecord *r = node->rec;

	node_adopt(node, objects);
	if (r->job != NULL && (r->stage == HB_STAGE_FETCHING || r->stage == HB_STAGE_INSTALLING)) {
		hb_agent_track_job(node->agent, r->job, node);
		hb_node_check_job(node);
	}
	g_clear_handle_id(&node->timer_id, g_source_remove);
	node->timer_id = g_timeout_add((guint)(delay_s * 1000), poll_timer_cb, node);
}

HbNode *
hb_node_new(HbAgent *agent, const HbNodeConfig *config, GError **error)
{
	HbNode *node = g_new0(HbNode, 1);
	g_autofree char *file = g_strconcat(config->controller_id, ".json", NULL);
	g_autofree char *escaped = g_uri_escape_string(config->controller_id, NULL, FALSE);

	node->agent = agent;
	node->config = config;
	node->base =
	        g_strdup_printf("%s/%s/controller/v1/%s", agent->config->url, agent->config->tenant, escaped);
	if (config->target_token != NULL)
		node->authorization = g_strconcat("TargetToken ", config->target_token, NULL);
	else if (agent->config->gateway_token != NULL)
		node->authorization = g_strconcat("GatewayToken ", agent->config->gateway_token, NULL);
	if (strchr(config->controller_id, '/') != NULL || config->controller_id[0] == '.') {
		g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
		            "controller id '%s' cannot name a file", config->controller_id);
		hb_node_free(node);
		return NULL;
	}
	node->record_path = g_build_filename(agent->state_dir, file, NULL);
	node->rec = hb_record_load(node->record_path, error);
	if (node->rec == NULL) {
		hb_node_free(node);
		return NULL;
	}
	return node;
}

void
hb_node_free(HbNode *node)
{
	if (node == NULL)
		return;
	g_clear_handle_id(&node->timer_id, g_source_remove);
	g_free(node->base);
	g_free(node->authorization);
	g_free(node->record_path);
	hb_record_free(node->rec);
	g_free(node->etag);
	hb_poll_clear(&node->last);
	g_free(node->phase);
	g_free(node->last_progress);
	g_queue_clear_full(&node->feedback, (GDestroyNotify)feedback_free);
	g_free(node);
}
