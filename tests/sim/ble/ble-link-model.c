/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ble-link-model.h"

#define BLE_IFS_US 150.0
#define BLE_L2CAP_HEADER 4
/* access address 4 + LL header 2 + CRC 3 */
#define BLE_PDU_OVERHEAD 9

/*
 * The model, from the link options alone:
 *
 *   pdu_us(n)    = (preamble + 9 + n) * 8 / rate   preamble 1 byte at 1M, 2 at 2M;
 *                                                  rate 1 or 2 bits per µs
 *   exchange_us  = pdu_us(data_length) + IFS + pdu_us(0) + IFS     (IFS = 150 µs;
 *                  a full PDU answered by the other side's empty PDU)
 *   pdus/event   = --pdus-per-event, or floor(interval_us / exchange_us), at least 1
 *   pdus/write   = ceil((att_len + 4) / data_length)      (L2CAP header 4 bytes;
 *                  att_len = 3 + value; a new L2CAP PDU always starts a new LL PDU)
 *   ceiling      = pdus/event / pdus/write(MTU) * (MTU - 3) / interval_s
 *
 * A PDU is only sent at a connection event, so a write queued just after an
 * event waits up to one interval for the next.
 */

double
ble_link_model_pdu_us(const BleLinkModel *model, guint payload)
{
	guint preamble = model->phy_2m ? 2 : 1;
	double bits = (double)(preamble + BLE_PDU_OVERHEAD + payload) * 8.0;

	return model->phy_2m ? bits / 2.0 : bits;
}

guint
ble_link_model_pdus_per_event(const BleLinkModel *model)
{
	double exchange_us;
	double fit;

	if (model->pdus_per_event > 0)
		return model->pdus_per_event;
	exchange_us = ble_link_model_pdu_us(model, model->data_length) + BLE_IFS_US +
	              ble_link_model_pdu_us(model, 0) + BLE_IFS_US;
	fit = (model->interval_ms * 1000.0) / exchange_us;
	return MAX((guint)fit, 1u);
}

guint
ble_link_model_pdus_for_att(const BleLinkModel *model, gsize att_len)
{
	gsize l2cap = att_len + BLE_L2CAP_HEADER;

	return (guint)((l2cap + model->data_length - 1) / model->data_length);
}

double
ble_link_model_ceiling(const BleLinkModel *model)
{
	double events_per_s = 1000.0 / model->interval_ms;
	double writes_per_event = (double)ble_link_model_pdus_per_event(model) /
	                          (double)ble_link_model_pdus_for_att(model, model->mtu);

	return events_per_s * writes_per_event * (double)(model->mtu - BLE_ATT_HEADER);
}
