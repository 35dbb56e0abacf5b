/*
 * bridge_conf: bridge rules from the command line and from cella.yaml. A
 * rule reads "LISTEN=TARGET,roles=R[,R]"; the config's `bridge` (rules,
 * deadlines, the pending cap), `operators`, `policy`, `enclave.debug`, `init.control` and
 * `attestation.internal.listen` give the rest. The whole file is validated
 * with cella.yaml's schema first: the bridge must not run on a config the
 * rest of the enclave would refuse.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/net/addr.h"
#include "common/conf/cella/cellacfg.h"
#include "common/conf/conf.h"
#include "services/pf-proxy/bridge.h"
#include "services/pf-proxy/pfp.h"

int
pfp_bridge_rule_parse(const char *arg, struct pfp_bridge_rule *out,
		      struct cella_diag *d)
{
	char buf[700];
	const char *roles;
	struct pfp_rule r;
	struct cella_addr a;
	int rv;

	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
		return cella_diag_set(d, -EINVAL, "bridge rule too long");
	roles = strstr(buf, ",roles=");
	if (roles == NULL)
		return cella_diag_set(d, -EINVAL,
				      "bad bridge '%s': expected LISTEN=TARGET,"
				      "roles=ROLE[,ROLE]",
				      arg);
	*(char *)roles = '\0';
	roles += strlen(",roles=");
	if ((rv = cella_roles_parse_list(roles, &out->roles, d)) < 0 ||
	    (rv = pfp_rule_parse(buf, &r, d)) < 0 ||
	    (rv = cella_addr_parse(r.listen, &a, d)) < 0 ||
	    (rv = cella_addr_parse(r.target, &a, d)) < 0)
		return rv;
	snprintf(out->listen, sizeof(out->listen), "%s", r.listen);
	snprintf(out->target, sizeof(out->target), "%s", r.target);
	return 0;
}

static int
rules_from(const cJSON *bridge, struct pfp_bridge_opts *o)
{
	const cJSON *rule, *role;

	o->nrules = 0;
	cJSON_ArrayForEach(rule, cJSON_GetObjectItemCaseSensitive(bridge,
								  "rules"))
	{
		struct pfp_bridge_rule *r = &o->rules[o->nrules];

		if (o->nrules == PFP_BRIDGES_MAX)
			return -E2BIG;
		snprintf(r->listen, sizeof(r->listen), "%s",
			 cella_conf_str(rule, "listen", ""));
		snprintf(r->target, sizeof(r->target), "%s",
			 cella_conf_str(rule, "target", ""));
		r->roles = 0;
		cJSON_ArrayForEach(role, cJSON_GetObjectItemCaseSensitive(rule,
									  "roles"))
			r->roles |= cella_role_parse(role->valuestring);
		o->nrules++;
	}
	return 0;
}

int
pfp_bridge_from_config(const char *path, struct pfp_bridge_opts *o,
		       struct cella_diag *d)
{
	struct cella_conf *c = NULL;
	const cJSON *root, *att, *internal, *bridge;
	int rv;

	if ((rv = cella_conf_load_file(path, &c, d)) < 0)
		return rv;
	if ((rv = cella_conf_validate(c, "", cella_cfg_schema, d)) < 0 ||
	    (rv = cella_operators_load(c, &o->ops, d)) < 0)
		goto out;
	root = cella_conf_root(c);
	if ((rv = rules_from(cJSON_GetObjectItemCaseSensitive(root, "bridge"),
			     o)) < 0) {
		cella_diag_set(d, rv, "%s: more than %d bridge rules", path,
			       PFP_BRIDGES_MAX);
		goto out;
	}
	snprintf(o->init_url, sizeof(o->init_url), "%s",
		 cella_conf_str(cJSON_GetObjectItemCaseSensitive(root, "init"),
				"control", "ipc:///run/cella/init.sock"));
	att = cJSON_GetObjectItemCaseSensitive(root, "attestation");
	internal = cJSON_GetObjectItemCaseSensitive(att, "internal");
	snprintf(o->ra_url, sizeof(o->ra_url), "%s",
		 cella_conf_str(internal, "listen", "ipc:///run/cella/ra.sock"));
	snprintf(o->name, sizeof(o->name), "%s",
		 cella_conf_str(root, "name", "cella-bridge"));
	bridge = cJSON_GetObjectItemCaseSensitive(root, "bridge");
	o->first_byte_ms = (unsigned)cella_conf_int(
		bridge, "first_byte_ms", PFP_BRIDGE_FIRST_BYTE_MS);
	o->hello_ms = (unsigned)cella_conf_int(bridge, "hello_ms",
					       PFP_BRIDGE_HELLO_MS);
	o->pending_max = (unsigned)cella_conf_int(bridge, "pending_max",
						  PFP_BRIDGE_PENDING_MAX);
out:
	cella_conf_free(c);
	return rv;
}
