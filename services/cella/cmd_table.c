/* cmd_table: every verb of the `cella` CLI, in the order --help lists them. */
#include "services/cella/cmd.h"

#include <stddef.h>

int cella_cmd_verify(int argc, char **argv);
int cella_cmd_sim_ca(int argc, char **argv);
int cella_cmd_ps(int argc, char **argv);
int cella_cmd_logs(int argc, char **argv);
int cella_cmd_start(int argc, char **argv);
int cella_cmd_stop(int argc, char **argv);
int cella_cmd_restart(int argc, char **argv);
int cella_cmd_events(int argc, char **argv);
int cella_cmd_exec(int argc, char **argv);
int cella_cmd_cp(int argc, char **argv);
int cella_cmd_keygen(int argc, char **argv);
int cella_cmd_up(int argc, char **argv);
int cella_cmd_down(int argc, char **argv);
int cella_cmd_ls(int argc, char **argv);
int cella_cmd_config(int argc, char **argv);
int cella_cmd_attest(int argc, char **argv);

const struct cella_cmd cella_cmds[] = {
	{"up", cella_cmd_up, "run cella.yaml as an enclave in the local emulator", false},
	{"down", cella_cmd_down, "stop a `cella up` enclave, leaving nothing behind", false},
	{"ls", cella_cmd_ls, "enclaves `cella up` runs on this host", false},
	{"config", cella_cmd_config, "validate cella.yaml, print the effective config", false},
	{"attest", cella_cmd_attest, "fresh attestation document, verified and shown", true},
	{"verify", cella_cmd_verify, "verify an attestation document", false},
	{"sim-ca", cella_cmd_sim_ca, "simulation attestation CA (init, issue)", false},
	{"ps", cella_cmd_ps, "services under cella-init and their states", true},
	{"logs", cella_cmd_logs, "a service's captured output (-f follows)", true},
	{"start", cella_cmd_start, "start a service and wait until ready", true},
	{"stop", cella_cmd_stop, "stop a service and its whole process group", true},
	{"restart", cella_cmd_restart, "restart a service and wait until ready", true},
	{"events", cella_cmd_events, "the measured event log, chain verified", true},
	{"exec", cella_cmd_exec, "run a command in the enclave", true},
	{"cp", cella_cmd_cp, "copy files and directories in or out", true},
	{"keygen", cella_cmd_keygen, "create an operator key for the bridge", false},
	{NULL, NULL, NULL, false},
};
