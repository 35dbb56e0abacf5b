/*
 * ctl: the CLI side of cella-init's control API, shared by ps, logs,
 * start/stop/restart and events. The transport is a URL (--control, else
 * $CELLA_CONTROL, else ipc:///run/cella/init.sock), so that the same verbs
 * later reach an enclave from the host through the attested bridge.
 * Errors are printed here, once, as "cella VERB: ..."; callers get -errno
 * and map it where they return (cella_exit_from_err): init's negative
 * answers (no such service, already stopped, failed) are 1, init out of
 * reach 69, a timeout 75.
 */
#ifndef CELLA_CLI_CTL_H
#define CELLA_CLI_CTL_H

#include <cbor.h>
#include <stdint.h>

#include "common/rpc/envelope.h"
#include "common/rpc/rpc.h"
#include "proto/ports.h"

#define CELLA_CTL_DEFAULT_URL CELLA_IPC_INIT_URL

/* The control URL: flag when given, else $CELLA_CONTROL, else the default. */
const char *cella_ctl_url(const char *flag);

/* Connect; 0 or -errno (after printing why; see cella_conn_open). */
int cella_ctl_open(const char *verb, const char *url, int timeout_ms,
		   struct cella_rpc_client **out);

/*
 * One call; on success *reply is the caller's and its type is want. 0 or
 * -errno after printing why: init's answer, a transport error, or -EPROTO
 * for a reply of another type.
 */
int cella_ctl_call(const char *verb, struct cella_rpc_client *c,
		   uint32_t type, const cbor_item_t *body, uint32_t want,
		   struct cella_env *reply);

/* "1h02m", "3.2s", "-" for 0. */
void cella_ctl_duration(uint64_t ms, char *buf, size_t len);

#endif
