/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-transport.h"
#include "smp-message.h"

G_BEGIN_DECLS

/*
 * Request/response layer of SMP over one transport: sequence numbers,
 * matching responses to requests, per-request timeouts and retries. Several
 * requests may be in flight. Responses that match no request (late answers
 * to a retried request) are dropped. A device that answers busy (bare EBUSY)
 * is asked again after a growing pause, for up to 30 s, before the answer is
 * handed over; a busy answer to reset is handed over at once.
 */
typedef struct _SmpClient SmpClient;

/*
 * rsp is the response (borrowed) or NULL with error set: RESPONSE_TIMEOUT
 * after all retries, LINK_LOST when the transport closed. An SMP error
 * inside a response is not an error here: read it with smp_response_get_error.
 */
typedef void (*SmpResponseFunc)(SmpClient *client, const SmpMessage *rsp, const GError *error,
                                gpointer user_data);

typedef struct {
	void (*link_opened)(SmpClient *client, const GError *error, gpointer user_data);
	void (*link_closed)(SmpClient *client, const GError *error, gpointer user_data);
	/* optional: the device answered busy; the request goes again after pause_ms */
	void (*busy)(SmpClient *client, guint16 group, guint8 id, guint pause_ms, gpointer user_data);
} SmpClientCallbacks;

SmpClient *smp_client_new(DfuTransport *transport, const SmpClientCallbacks *callbacks, gpointer user_data);
void smp_client_free(SmpClient *client);

/*
 * Sends a request; payload is consumed (NULL = empty map). timeout_ms per
 * try, retries = extra tries. Returns a handle for smp_client_cancel, 0 when
 * the transport refused the bytes (func is then called from the loop with
 * the error).
 */
guint smp_client_request(SmpClient *client, SmpOp op, guint16 group, guint8 id, cbor_item_t *payload,
                         guint timeout_ms, guint retries, SmpResponseFunc func, gpointer user_data);
/* forgets a request: its callback is not called any more */
void smp_client_cancel(SmpClient *client, guint handle);
void smp_client_cancel_all(SmpClient *client);
guint smp_client_in_flight(SmpClient *client);
/* bytes of SMP messages sent (for link accounting) */
guint64 smp_client_get_bytes_sent(SmpClient *client);
/* header version used for requests: 1 (SMP v2) until the device says it is too new for it */
guint8 smp_client_get_version(SmpClient *client);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SmpClient, smp_client_free)

G_END_DECLS
