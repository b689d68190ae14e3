/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "at-line.h"
#include "dfu-transport.h"

G_BEGIN_DECLS

/*
 * An AT command channel to a modem over a byte transport: one command in
 * flight, its information lines collected until its final result,
 * everything else (Ready, #XFOTA notifications, lines while no command is
 * pending) handed to the notification callback. Also the two sequences
 * every user of Nordic's AT firmware needs: waiting for the module to
 * accept commands after it opened or reset, and telling which firmware
 * lineage it runs and which #XFOTA ops it offers.
 */
typedef struct _AtLink AtLink;

typedef struct {
	void (*opened)(AtLink *link, const GError *error, gpointer user_data);
	void (*closed)(AtLink *link, const GError *error, gpointer user_data);
	void (*notification)(AtLink *link, const AtLine *line, gpointer user_data);
} AtLinkCallbacks;

/* final is NULL when error is set (timeout, link lost); info holds the information lines */
typedef void (*AtLinkReplyFunc)(AtLink *link, const AtLine *final, GPtrArray *info, const GError *error,
                                gpointer user_data);

/* takes the transport */
AtLink *at_link_new(DfuTransport *transport, AtTerminator term, const AtLinkCallbacks *callbacks,
                    gpointer user_data);
void at_link_free(AtLink *link);
void at_link_open(AtLink *link);
/* FALSE (DEVICE_BUSY) while another command is in flight; reply may be NULL */
gboolean at_link_send(AtLink *link, const char *command, guint timeout_ms, AtLinkReplyFunc reply,
                      gpointer user_data, GError **error);

/* raw bytes for a command that put the module in data mode (AT#XDFUWRITE after its OK) */
gboolean at_link_send_data(AtLink *link, const guint8 *data, gsize len, GError **error);

/* forgets the command in flight without a reply (the module rebooted before answering it) */
void at_link_abandon(AtLink *link);

/* Ready or, when it does not come, an answered probe; INIT ERROR is a failure */
typedef void (*AtLinkDoneFunc)(AtLink *link, const GError *error, gpointer user_data);
void at_link_wait_ready(AtLink *link, guint ready_timeout_ms, guint probes, AtLinkDoneFunc done,
                        gpointer user_data);

typedef enum {
	AT_LINEAGE_SLM, /* Serial LTE Modem in the nRF Connect SDK */
	AT_LINEAGE_SM,  /* its successor, Serial Modem */
} AtLineage;

typedef struct {
	AtLineage lineage;
	char *version; /* what AT#XSMVER / AT#XSLMVER answered */
	guint32 ops;   /* bit n set when AT#XFOTA=? lists op n */
} AtModemInfo;

void at_modem_info_clear(AtModemInfo *info);
const char *at_lineage_to_string(AtLineage lineage);
/* the version command of a lineage */
const char *at_lineage_version_command(AtLineage lineage);

/* the numbers in the parenthesised list of a test command's answer ("#XFOTA: (0,1,2,3,7,9),..."), as bits */
guint32 at_parse_list_bits(GPtrArray *info);

typedef void (*AtLinkDetectFunc)(AtLink *link, const AtModemInfo *info, const GError *error,
                                 gpointer user_data);
void at_link_detect(AtLink *link, guint timeout_ms, AtLinkDetectFunc done, gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(AtLink, at_link_free)

G_END_DECLS
