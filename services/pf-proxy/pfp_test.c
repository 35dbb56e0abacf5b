/*
 * pfp_test: pfp_rule_parse, the splitter of --forward LISTEN=TARGET, as a
 * table of good and bad rules. The split is at the first '=' that starts
 * a URL (so '=' may stand in either path); a rule without one is refused
 * with the message the operator sees, and the argument and the output are
 * left as they were. Whether each half is a valid address is
 * cella_addr_parse's business (bridge_conf_test covers the combination).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "services/pf-proxy/pfp.h"

#define EXPECTED ": expected LISTEN=TARGET, e.g. " \
		 "tcp://127.0.0.1:8443=vsock://16:8443"

struct split_case {
	const char *arg;
	const char *listen, *target; /* NULL: refused with msg */
	const char *msg;
};

static const struct split_case cases[] = {
	{"tcp://127.0.0.1:8443=vsock://16:8443", "tcp://127.0.0.1:8443",
	 "vsock://16:8443", NULL},
	{"vsock://any:9001=ipc:///run/cella/init.sock", "vsock://any:9001",
	 "ipc:///run/cella/init.sock", NULL},
	{"tcp://[::1]:80=unix:///tmp/x.sock", "tcp://[::1]:80",
	 "unix:///tmp/x.sock", NULL},
	{"abstract://a=abstract://b", "abstract://a", "abstract://b", NULL},
	/* '=' inside the listen path: the split is at the URL after it */
	{"unix:///tmp/a=b=tcp://127.0.0.1:1", "unix:///tmp/a=b",
	 "tcp://127.0.0.1:1", NULL},
	/* '=' inside the target path stays there */
	{"ipc:///x=ipc:///y=z", "ipc:///x", "ipc:///y=z", NULL},
	/* the splitter only splits: an empty listen is cella_addr_parse's */
	{"=tcp://127.0.0.1:1", "", "tcp://127.0.0.1:1", NULL},
	{"", NULL, NULL, "bad rule ''" EXPECTED},
	{"tcp://127.0.0.1:1", NULL, NULL, "bad rule 'tcp://127.0.0.1:1'" EXPECTED},
	{"tcp://127.0.0.1:1=", NULL, NULL,
	 "bad rule 'tcp://127.0.0.1:1='" EXPECTED},
	{"tcp://127.0.0.1:1=http://x", NULL, NULL,
	 "bad rule 'tcp://127.0.0.1:1=http://x'" EXPECTED},
	{"tcp://127.0.0.1:1=TCP://x:1", NULL, NULL,
	 "bad rule 'tcp://127.0.0.1:1=TCP://x:1'" EXPECTED},
	{"tcp://127.0.0.1:1 vsock://16:1", NULL, NULL,
	 "bad rule 'tcp://127.0.0.1:1 vsock://16:1'" EXPECTED},
};

static void
test_split_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct split_case *c = &cases[i];
		static const char sentinel[] = "untouched";
		struct pfp_rule r = {sentinel, sentinel};
		struct cella_diag d = {""};
		char arg[256];
		int rv;

		snprintf(arg, sizeof(arg), "%s", c->arg);
		rv = pfp_rule_parse(arg, &r, &d);
		if (c->listen != NULL) {
			if (rv != 0)
				fail_msg("'%s': refused: %s", c->arg, d.msg);
			assert_string_equal(r.listen, c->listen);
			assert_string_equal(r.target, c->target);
			/* both halves point into the caller's buffer */
			assert_ptr_equal(r.listen, arg);
			continue;
		}
		if (rv != -EINVAL)
			fail_msg("'%s': got %d, expected -EINVAL", c->arg, rv);
		assert_string_equal(d.msg, c->msg);
		assert_string_equal(arg, c->arg); /* nothing changed */
		assert_ptr_equal(r.listen, sentinel);
		assert_ptr_equal(r.target, sentinel);
	}
}

/* Every scheme cella_addr_parse knows starts a target. */
static void
test_every_scheme(void **state)
{
	static const char *const targets[] = {
		"ipc:///a", "unix:///a", "abstract://a", "tcp://h:1",
		"vsock://16:1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		struct pfp_rule r;
		struct cella_diag d = {""};
		char arg[64];

		snprintf(arg, sizeof(arg), "tcp://127.0.0.1:1=%s", targets[i]);
		assert_int_equal(pfp_rule_parse(arg, &r, &d), 0);
		assert_string_equal(r.target, targets[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_table),
		cmocka_unit_test(test_every_scheme),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
