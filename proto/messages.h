/*
 * messages: the registry of every message type on cella's nng sockets, one
 * row per type in CELLA_MSG_TABLE. Each service owns a range of ids; adding
 * a message is adding one row in its owner's range (proto/README.md says
 * how). The envelope refuses types that are not here, and a message bigger
 * than its row's max_bytes is refused before libcbor allocates anything.
 * This header holds data only: the lookup is cella_msg_lookup
 * (common/rpc/envelope.h), the wire shape is proto/envelope.cddl.
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
	X(0x0300, PIPE_EXEC, PIPELINE, REQUEST, 1048576,                    \
	  "pipeline: run {argv | shell, env, workdir, stdin, detach, ...}")  \
	X(0x0301, PIPE_EXEC_REPLY, PIPELINE, REPLY, 256,                    \
	  "pipeline: started {id, pid}")                                    \
	X(0x0302, PIPE_READ, PIPELINE, REQUEST, 256,                        \
	  "pipeline: long-poll output {id, max, timeout_ms}")               \
	X(0x0303, PIPE_READ_REPLY, PIPELINE, REPLY, 4195328,                \
	  "pipeline: {out, err, done, code | signal, timed_out}")           \
	X(0x0304, PIPE_WRITE, PIPELINE, REQUEST, 1049600,                   \
	  "pipeline: stdin bytes {id, data, eof}")                          \
	X(0x0305, PIPE_SIGNAL, PIPELINE, REQUEST, 256,                      \
	  "pipeline: signal a command's process group {id, signal}")        \
	X(0x0306, PIPE_OK, PIPELINE, REPLY, 256,                            \
	  "pipeline: done {} (write, signal, mkdir, symlink, abort)")       \
	X(0x0307, PIPE_STAT, PIPELINE, REQUEST, 8192,                       \
	  "pipeline: what a path is {path}")                                \
	X(0x0308, PIPE_STAT_REPLY, PIPELINE, REPLY, 12288,                  \
	  "pipeline: {type, size, mode, mtime, target, limits}")            \
	X(0x0309, PIPE_PUT_BEGIN, PIPELINE, REQUEST, 4202496,               \
	  "pipeline: receive a file {path, size, mode, mtime[, data, sha256]}") \
	X(0x030a, PIPE_PUT_BEGIN_REPLY, PIPELINE, REPLY, 256,               \
	  "pipeline: send chunks {id, chunk, window}")                      \
	X(0x030b, PIPE_PUT_CHUNK, PIPELINE, REQUEST, 4195328,               \
	  "pipeline: file bytes {id, offset, data}")                        \
	X(0x030c, PIPE_PUT_COMMIT, PIPELINE, REQUEST, 256,                  \
	  "pipeline: check and place {id, sha256}")                         \
	X(0x030d, PIPE_PUT_DONE, PIPELINE, REPLY, 8192,                     \
	  "pipeline: placed {path, size, sha256}")                          \
	X(0x030e, PIPE_ABORT, PIPELINE, REQUEST, 256,                       \
	  "pipeline: drop a transfer or walk {id}")                         \
	X(0x030f, PIPE_GET_BEGIN, PIPELINE, REQUEST, 8192,                  \
	  "pipeline: send a file {path}")                                   \
	X(0x0310, PIPE_GET_BEGIN_REPLY, PIPELINE, REPLY, 4202496,           \
	  "pipeline: {id | data+sha256, size, mode, mtime, chunk, window}")  \
	X(0x0311, PIPE_GET_CHUNK, PIPELINE, REQUEST, 256,                   \
	  "pipeline: file bytes at {id, offset}")                           \
	X(0x0312, PIPE_GET_CHUNK_REPLY, PIPELINE, REPLY, 4195328,           \
	  "pipeline: {data}")                                               \
	X(0x0313, PIPE_GET_END, PIPELINE, REQUEST, 256,                     \
	  "pipeline: finish a send {id}")                                   \
	X(0x0314, PIPE_GET_END_REPLY, PIPELINE, REPLY, 256,                 \
	  "pipeline: {size, sha256} of what was sent")                      \
	X(0x0315, PIPE_MKDIR, PIPELINE, REQUEST, 8192,                      \
	  "pipeline: make a directory {path, mode, mtime}")                 \
	X(0x0316, PIPE_SYMLINK, PIPELINE, REQUEST, 12288,                   \
	  "pipeline: make a symlink {path, target}")                        \
	X(0x0317, PIPE_WALK, PIPELINE, REQUEST, 8192,                       \
	  "pipeline: list a tree {path}")                                   \
	X(0x0318, PIPE_WALK_NEXT, PIPELINE, REQUEST, 256,                   \
	  "pipeline: more entries {id}")                                    \
	X(0x0319, PIPE_WALK_REPLY, PIPELINE, REPLY, 2097152,                \
	  "pipeline: {id, entries, done}")                                  \
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
