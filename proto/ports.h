/*
 * ports: the one registry of cella's well-known vsock ports and local ipc
 * paths. Config files and flags may override every one of them; these are
 * the defaults that both sides assume when nothing is said. This header is
 * constants only: URLs are parsed by common/net/addr.h.
 */
#ifndef CELLA_PROTO_PORTS_H
#define CELLA_PROTO_PORTS_H

/*
 * Boot heartbeat, the nitro-cli convention: as soon as it runs, the
 * enclave's init connects to the parent (CID 3) on this port and sends the
 * one byte CELLA_HEARTBEAT_BYTE; the parent echoes it back. Not nng.
 */
#define CELLA_PORT_HEARTBEAT 9000
#define CELLA_HEARTBEAT_CID 3
#define CELLA_HEARTBEAT_BYTE 0xB7

/* cella-init control API (REQ/REP), reached from the host over the bridge. */
#define CELLA_PORT_INIT 9001

/* cella-pipeline: exec and file transfer (REQ/REP), over the bridge. */
#define CELLA_PORT_PIPELINE 53000

/* cella-ra-web HTTPS for remote verifiers (TLS, not nng). */
#define CELLA_PORT_ATTEST_HTTPS 8443

/* cella-kms-proxy: the enclave's relay to AWS KMS through the host. */
#define CELLA_PORT_KMS 8000

/* Where services listen inside one side (nng ipc://, see nngio.h). */
#define CELLA_RUN_DIR "/run/cella"
#define CELLA_IPC_INIT_PATH CELLA_RUN_DIR "/init.sock"
#define CELLA_IPC_RA_PATH CELLA_RUN_DIR "/ra.sock"
#define CELLA_IPC_PIPELINE_PATH CELLA_RUN_DIR "/pipeline.sock"
#define CELLA_IPC_INIT_URL "ipc://" CELLA_IPC_INIT_PATH
#define CELLA_IPC_RA_URL "ipc://" CELLA_IPC_RA_PATH
#define CELLA_IPC_PIPELINE_URL "ipc://" CELLA_IPC_PIPELINE_PATH

#endif
