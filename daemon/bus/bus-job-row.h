/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One job as Manager.QueryJobs lists it, for the daemon that writes it and
 * the client that reads it: the values of the org.dfud1.Job properties in the
 * order of the interface (Id, Kind, Target, Source, State, Phase, Percentage,
 * BytesDone, BytesTotal, BytesPerSecond, StatusCode, StatusName, Message,
 * DeviceError, Attempt, Created, Started, Finished, MaxAttempts, RetryAt), then
 * the name of the job's device, empty when it has none.
 */
#define DFU_BUS_JOB_ROW_FIELDS "tsssssutttussa{sv}uxxxuxs"
#define DFU_BUS_JOB_ROW "(" DFU_BUS_JOB_ROW_FIELDS ")"
