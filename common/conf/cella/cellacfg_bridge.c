/*
 * cellacfg_bridge: the cella.yaml sections of the enclave itself and of the
 * attested bridge: `enclave` (size, debug mode, CID, and two settings of
 * the local emulator: its console's size and whether the project
 * directory is writable), `operators` and
 * `policy` (operators.h), and `bridge` (which service each vsock port leads
 * to, and which roles it admits). The defaults give the two ports every
 * enclave has: 9001 to cella-init's control API, 53000 to the pipeline.
 */
#include <errno.h>
#include <string.h>

#include "common/net/addr.h"
#include "common/conf/cella/cellacfg.h"
#include "common/rpc/operators.h"

const struct cella_conf_key cella_cfg_enclave_keys[] = {
	{.key = "cpus", .type = CELLA_CONF_INT, .def = "2", .min = 1,
	 .max = 64, .desc = "vCPUs for the enclave"},
	{.key = "memory_mib", .type = CELLA_CONF_INT, .def = "512", .min = 64,
	 .max = 1048576, .desc = "memory for the enclave, MiB"},
	{.key = "debug", .type = CELLA_CONF_BOOL, .def = "false",
	 .desc = "debug mode: console, PCRs zero, exec and cp allowed"},
	{.key = "cid", .type = CELLA_CONF_INT, .def = "16", .min = 4,
	 .max = 4294967294LL, .desc = "the enclave's vsock CID"},
	{.key = "console_bytes", .type = CELLA_CONF_INT, .def = "4194304",
	 .min = 65536, .max = 1073741824,
	 .desc = "local emulator: console.log becomes console.log.1 at this "
		 "size (the newest lines are kept)"},
	{.key = "project_writable", .type = CELLA_CONF_BOOL, .def = "false",
	 .desc = "local emulator: services may write the project directory "
		 "(read-only otherwise)"},
	{0},
};

static const struct cella_conf_key rule_keys[] = {
	{.key = "listen", .type = CELLA_CONF_STRING, .min = 1, .max = 300,
	 .required = true, .check = cella_cfg_check_url,
	 .desc = "where operators connect (vsock://any:PORT)"},
	{.key = "target", .type = CELLA_CONF_STRING, .min = 1, .max = 300,
	 .required = true, .check = cella_cfg_check_url,
	 .desc = "the service's own socket (ipc://)"},
	{.key = "roles", .type = CELLA_CONF_STRLIST, .min = 1, .max = 4,
	 .required = true, .check = cella_roles_check,
	 .desc = "an operator needs one of these to connect"},
	{0},
};

static const struct cella_conf_key rule_item[] = {
	{.key = "rule", .type = CELLA_CONF_OBJECT, .sub = rule_keys},
	{0},
};

const struct cella_conf_key cella_cfg_bridge_keys[] = {
	{.key = "rules", .type = CELLA_CONF_LIST, .max = 16, .sub = rule_item,
	 .def = "[{listen: 'vsock://any:9001', "
		"target: 'ipc:///run/cella/init.sock', roles: [services, logs]}, "
		"{listen: 'vsock://any:53000', "
		"target: 'ipc:///run/cella/pipeline.sock', roles: [exec, files]}]",
	 .desc = "vsock ports of the attested bridge and their services"},
	{.key = "first_byte_ms", .type = CELLA_CONF_INT, .def = "2000",
	 .min = 100, .max = 60000,
	 .desc = "a connection that sends nothing this long is closed"},
	{.key = "hello_ms", .type = CELLA_CONF_INT, .def = "5000", .min = 100,
	 .max = 60000,
	 .desc = "time from a connection to its TLS handshake and hello; "
		 "late ones are refused"},
	{.key = "pending_max", .type = CELLA_CONF_INT, .def = "256", .min = 1,
	 .max = 4096,
	 .desc = "connections not yet relayed; when full, the oldest not yet "
		 "admitted is dropped"},
	{0},
};

/* The built-in service: ra-web, init and the services are reached per
 * connection, so it needs no dependency order. */
const char *const cella_cfg_bridge_argv[] = {
	"cella-pf-proxy", "--config", "{config}", "--ready-fd", "3", NULL,
};
