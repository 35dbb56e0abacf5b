/*
 * ctl: the CLI side of cella-init's control API, shared by ps, logs,
 * start/stop/restart and events. The transport is a URL (--control, else
 * $CELLA_CONTROL, else ipc:///run/cella/init.sock), so that the same verbs
 * later reach an enclave from the host through the attested bridge.
 * Errors are printed here, once, as "cella VERB: ..."; callers get an exit
 * code: 1 for a negative answer from init (no such service, already
 * stopped, failed), 69 when init cannot be reached, 75 on a timeout, 70
 * for anything else.
 */
#ifndef CELLA_CLI_CTL_H
#define CELLA_CLI_CTL_H

#include <cbor.h>
#include <stdint.h>

#include "common/rpc/envelope.h"
#include "common/rpc/rpc.h"

#define CELLA_CTL_DEFAULT_URL "ipc:///run/cella/init.sock"

/* The control URL: flag when given, else $CELLA_CONTROL, else the default. */
const char *cella_ctl_url(const char *flag);

/* Connect; 0 or an exit code (after printing why). */
int cella_ctl_open(const char *verb, const char *url, int timeout_ms,
		   struct cella_rpc_client **out);

/*
 * One call; on success *reply is the caller's and its type is want. 0 or
 * an exit code (after printing why).
 */
int cella_ctl_call(const char *verb, struct cella_rpc_client *c,
		   uint32_t type, const cbor_item_t *body, uint32_t want,
		   struct cella_env *reply);

/* Exit code for a negative errno from the API. */
int cella_ctl_exit_code(int err);

/* "1h02m", "3.2s", "-" for 0. */
void cella_ctl_duration(uint64_t ms, char *buf, size_t len);

#endif
