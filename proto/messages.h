/*
 * messages: the registry of every message type on cella's nng sockets, one
 * row per type in CELLA_MSG_TABLE. Each service owns a range of ids; adding
 * a message is adding one row in its owner's range (proto/README.md says
 * how). The envelope refuses types that are not here, and a message bigger
 * than its row's max_bytes is refused before libcbor allocates anything.
 * This header holds data only: the lookup is cella_msg_lookup
 * (common/envelope.h), the wire shape is proto/envelope.cddl.
 */
#ifndef CELLA_PROTO_MESSAGES_H
#define CELLA_PROTO_MESSAGES_H

#include <stdint.h>

/* Who owns a range of ids: the value is the first id of the range. */
enum cella_msg_owner {
	CELLA_OWNER_CORE = 0x0000,     /* envelope-level: errors, liveness */
	CELLA_OWNER_INIT = 0x0100,     /* cella-init control API */
	CELLA_OWNER_RA = 0x0200,       /* cella-ra-web internal attestation */
	CELLA_OWNER_PIPELINE = 0x0300, /* cella-pipeline exec and files */
	CELLA_OWNER_KMS = 0x0400,      /* cella-kms-proxy */
	CELLA_OWNER_FSMON = 0x0500,    /* cella-fs-monitor */
	CELLA_OWNER_PFPROXY = 0x0600,  /* cella-pf-proxy and the bridge */
};
#define CELLA_OWNER_RANGE 0x0100 /* ids per owner */

enum cella_msg_dir {
	CELLA_DIR_REQUEST, /* REQ -> REP */
	CELLA_DIR_REPLY,   /* REP -> REQ, echoes the request's id */
	CELLA_DIR_EVENT,   /* PUB -> SUB, id is a sequence number */
};

/*
 * X(id, NAME, OWNER, DIR, max_bytes, description)
 *   id         uint16, inside OWNER's range, never reused once released
 *   NAME       CELLA_MSG_NAME in code, "NAME" in logs (msg=NAME)
 *   OWNER      suffix of enum cella_msg_owner
 *   DIR        suffix of enum cella_msg_dir
 *   max_bytes  cap on the whole encoded envelope, <= CELLA_ENV_MAX_BYTES
 * Keep rows sorted by id; add yours at the end of your owner's block.
 */
#define CELLA_MSG_TABLE(X)                                                  \
	/* core 0x0000-0x00ff */                                            \
	X(0x0001, ERROR, CORE, REPLY, 2048,                                 \
	  "error reply to any request: {code, name, message}")              \
	X(0x0002, PING, CORE, REQUEST, 256,                                 \
	  "liveness probe, answered by the service itself")                 \
	X(0x0003, PONG, CORE, REPLY, 256, "reply to PING, echoing its data")  \
	X(0x0004, SESSION_OPEN, CORE, REQUEST, 512,                         \
	  "bridge -> service: a session {operator, roles} (local peers)")   \
	X(0x0005, SESSION_OPEN_REPLY, CORE, REPLY, 512,                     \
	  "the session's one-connection socket {url}")                      \
	/* init 0x0100-0x01ff */                                            \
	X(0x0100, INIT_LIST, INIT, REQUEST, 256,                            \
	  "init: every service's status: {}")                               \
	X(0x0101, INIT_LIST_REPLY, INIT, REPLY, 1048576,                    \
	  "init: {services: [status], shutting_down, events}")              \
	X(0x0102, INIT_STATUS, INIT, REQUEST, 512,                          \
	  "init: one service's status: {service}")                          \
	X(0x0103, INIT_STATUS_REPLY, INIT, REPLY, 8192,                     \
	  "init: a service's status (also answers start/stop/restart)")     \
	X(0x0104, INIT_START, INIT, REQUEST, 512,                           \
	  "init: start {service, wait, timeout_ms}")                        \
	X(0x0105, INIT_STOP, INIT, REQUEST, 512,                            \
	  "init: stop {service, wait, timeout_ms}")                         \
	X(0x0106, INIT_RESTART, INIT, REQUEST, 512,                         \
	  "init: restart {service, wait, timeout_ms}")                      \
	X(0x0107, INIT_LOGS, INIT, REQUEST, 512,                            \
	  "init: captured lines {service, tail | after, max_bytes}")        \
	X(0x0108, INIT_LOGS_FOLLOW, INIT, REQUEST, 512,                     \
	  "init: long-poll for lines {service, after, timeout_ms}")         \
	X(0x0109, INIT_LOGS_REPLY, INIT, REPLY, 8388608,                    \
	  "init: {service, lines, next, first, last, dropped, more}")       \
	X(0x010a, INIT_EVENTS, INIT, REQUEST, 256,                          \
	  "init: measured event log {from, limit}")                         \
	X(0x010b, INIT_EVENTS_REPLY, INIT, REPLY, 8388608,                  \
	  "init: {length, head, from, events: [{index,event,hash,head}]}")  \
	X(0x010c, INIT_EVENT_APPEND, INIT, REQUEST, 16384,                  \
	  "init: append {type, source, data} to the event log")             \
	X(0x010d, INIT_EVENT_APPEND_REPLY, INIT, REPLY, 512,                \
	  "init: {index, length, head}")                                    \
	X(0x010e, INIT_SHUTDOWN, INIT, REQUEST, 256,                        \
	  "init: stop every service and power off / exit")                  \
	X(0x010f, INIT_SHUTDOWN_REPLY, INIT, REPLY, 256,                    \
	  "init: shutdown begun {}")                                        \
	/* ra 0x0200-0x02ff */                                              \
	X(0x0200, RA_ATTEST, RA, REQUEST, 4096,                             \
	  "ra: a document {nonce, user_data, public_key} (each optional)")  \
	X(0x0201, RA_ATTEST_REPLY, RA, REPLY, 16384,                        \
	  "ra: {document}: COSE_Sign1 bytes")                               \
	X(0x0202, RA_DESCRIBE_PCR, RA, REQUEST, 256,                        \
	  "ra: one PCR {index}")                                            \
	X(0x0203, RA_EXTEND_PCR, RA, REQUEST, 2048,                         \
	  "ra: extend {index, data} (data at most 1024 bytes)")             \
	X(0x0204, RA_PCR_REPLY, RA, REPLY, 256,                             \
	  "ra: {index, value, locked} (describe and extend)")               \
	X(0x0205, RA_LOCK_PCR, RA, REQUEST, 256, "ra: lock {index}")        \
	X(0x0206, RA_LOCK_PCRS, RA, REQUEST, 256,                           \
	  "ra: lock PCRs [0, range) {range}")                               \
	X(0x0207, RA_LOCK_REPLY, RA, REPLY, 256, "ra: locked {}")           \
	X(0x0208, RA_RANDOM, RA, REQUEST, 256,                              \
	  "ra: NSM entropy {length} (1..4096)")                             \
	X(0x0209, RA_RANDOM_REPLY, RA, REPLY, 4352, "ra: {random}")         \
	X(0x020a, RA_DESCRIBE_NSM, RA, REQUEST, 256, "ra: the NSM's {}")    \
	X(0x020b, RA_DESCRIBE_NSM_REPLY, RA, REPLY, 2048,                   \
	  "ra: {module_id, version, max_pcrs, locked_pcrs, digest}")        \
	/* pipeline 0x0300-0x03ff */                                        \
	/* kms 0x0400-0x04ff */                                             \
	/* fs-monitor 0x0500-0x05ff */                                      \
	/* pf-proxy 0x0600-0x06ff */

enum cella_msg_type {
#define CELLA__MSG_ENUM(id, name, owner, dir, max, desc) CELLA_MSG_##name = id,
	CELLA_MSG_TABLE(CELLA__MSG_ENUM)
#undef CELLA__MSG_ENUM
};

struct cella_msg_info {
	uint32_t type;
	const char *name;
	enum cella_msg_owner owner;
	enum cella_msg_dir dir;
	uint32_t max_bytes;
	const char *desc;
};

#endif
