/*
 * nsm_dev_test: everything of the `nsm` provider but the ioctl's success:
 * the raw message's layout and ioctl number match the kernel's uapi, the
 * driver's answers map to the right errors, opening fails with a clear
 * message, a device that is not the NSM fails the call; and the call
 * layer over a scripted provider maps NSM errors, wrong answers and
 * transport failures, and loops GetRandom until it has enough.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/nsm/nsm.h"
#include "common/nsm/nsm_dev.h"

static void
test_raw_layout(void **state)
{
	static uint8_t req[16], resp[CELLA_NSM_RESPONSE_MAX];
	struct cella_nsm_raw raw;

	(void)state;
	/* <linux/nsm.h>: two {__u64 addr; __u64 len;}, _IOWR(0x0A, 0, ...) */
	assert_int_equal(sizeof(struct cella_nsm_raw), 32);
	assert_int_equal(offsetof(struct cella_nsm_raw, request.addr), 0);
	assert_int_equal(offsetof(struct cella_nsm_raw, request.len), 8);
	assert_int_equal(offsetof(struct cella_nsm_raw, response.addr), 16);
	assert_int_equal(offsetof(struct cella_nsm_raw, response.len), 24);
	assert_int_equal((unsigned long)CELLA_NSM_IOCTL_RAW, 0xc0200a00ul);
	cella_nsm_raw_fill(&raw, req, 7, resp, sizeof(resp));
	assert_int_equal(raw.request.addr, (uint64_t)(uintptr_t)req);
	assert_int_equal(raw.request.len, 7);
	assert_int_equal(raw.response.addr, (uint64_t)(uintptr_t)resp);
	assert_int_equal(raw.response.len, CELLA_NSM_RESPONSE_MAX);
}

static void
test_raw_result(void **state)
{
	struct cella_nsm_raw raw = {{0, 0}, {0, 100}};
	size_t len = 0;

	(void)state;
	assert_int_equal(cella_nsm_raw_result(&raw, 0, 0, 12288, &len), 0);
	assert_int_equal(len, 100);
	raw.response.len = 12289; /* a driver claiming more than we gave */
	assert_int_equal(cella_nsm_raw_result(&raw, 0, 0, 12288, &len),
			 -EPROTO);
	assert_int_equal(cella_nsm_raw_result(&raw, -1, EMSGSIZE, 12288, &len),
			 -EMSGSIZE);
	assert_int_equal(cella_nsm_raw_result(&raw, -1, ENOTTY, 12288, &len),
			 -ENOTTY);
	assert_int_equal(cella_nsm_raw_result(&raw, -1, 0, 12288, &len), -EIO);
}

static void
test_open(void **state)
{
	struct cella_nsm *nsm = NULL;
	struct cella_diag d = {""};
	struct cella_nsm_pcr pcr;

	(void)state;
	assert_int_equal(cella_nsm_dev_open("/nonexistent/nsm", &nsm, &d),
			 -ENOENT);
	assert_null(nsm);
	assert_non_null(strstr(d.msg, "cannot open /nonexistent/nsm"));
	/* a device that does not speak the NSM's ioctl */
	assert_int_equal(cella_nsm_dev_open("/dev/null", &nsm, &d), 0);
	assert_string_equal(cella_nsm_provider(nsm), "nsm");
	assert_int_equal(cella_nsm_describe_pcr(nsm, 0, &pcr, &d), -ENOTTY);
	assert_non_null(strstr(d.msg, "nsm DescribePCR: nsm provider"));
	cella_nsm_free(nsm);
	cella_nsm_free(NULL);
}

/* ---- the call layer over a scripted provider ---- */

struct script {
	const char *hex; /* the response to give */
	int rc;		 /* or the transport error */
	int calls;
	uint8_t last_req[CELLA_NSM_REQUEST_MAX];
	size_t last_len;
};

static int
script_transact(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp,
		size_t *resp_len)
{
	struct script *s = ctx;
	int n;

	s->calls++;
	memcpy(s->last_req, req, req_len);
	s->last_len = req_len;
	if (s->rc < 0)
		return s->rc;
	n = cella_hex_decode(s->hex, strlen(s->hex), resp,
			     CELLA_NSM_RESPONSE_MAX);
	assert_true(n >= 0);
	*resp_len = (size_t)n;
	return 0;
}

static const struct cella_nsm_ops script_ops = {
	.name = "script",
	.transact = script_transact,
	.close = NULL,
};

static void
test_call_errors(void **state)
{
	struct script s = {0};
	struct cella_nsm *nsm;
	struct cella_diag d = {""};
	struct cella_nsm_pcr pcr;

	(void)state;
	assert_int_equal(cella_nsm_new(&script_ops, &s, &nsm), 0);
	/* {"Error": "InvalidIndex"} */
	s.hex = "a1654572726f726c496e76616c6964496e646578";
	assert_int_equal(cella_nsm_describe_pcr(nsm, 99, &pcr, &d), -ERANGE);
	assert_string_equal(d.msg, "nsm DescribePCR: InvalidIndex");
	/* the request went out as {"DescribePCR": {"index": 99}} */
	assert_int_equal(s.last_len, 22);
	assert_memory_equal(s.last_req + 15, "index\x18\x63", 7);
	/* "LockPCRs" in answer to LockPCR */
	s.hex = "684c6f636b50435273";
	assert_int_equal(cella_nsm_lock_pcr(nsm, 20, &d), -EPROTO);
	assert_string_equal(d.msg, "nsm LockPCR: answered with LockPCRs");
	/* garbage */
	s.hex = "ff";
	assert_int_equal(cella_nsm_lock_pcr(nsm, 20, &d), -EPROTO);
	/* {"Error": "Success"}: an error that says success is still wrong */
	s.hex = "a1654572726f7267537563636573" "73";
	assert_int_equal(cella_nsm_lock_pcr(nsm, 20, &d), -EPROTO);
	/* the transport failed */
	s.rc = -EIO;
	assert_int_equal(cella_nsm_lock_pcrs(nsm, 16, &d), -EIO);
	assert_non_null(strstr(d.msg, "script provider"));
	/* a request the client refuses to send */
	s.rc = 0;
	s.calls = 0;
	{
		static uint8_t big[1025];
		struct cella_span nonce = {big, sizeof(big)};
		struct cella_buf doc;

		cella_buf_init(&doc, CELLA_NSM_RESPONSE_MAX);
		assert_int_equal(cella_nsm_attest(nsm, NULL, &nonce, NULL,
						  &doc, &d),
				 -EMSGSIZE);
		assert_int_equal(s.calls, 0);
		cella_buf_fini(&doc);
	}
	cella_nsm_free(nsm);
}

static void
test_call_random(void **state)
{
	struct script s = {0};
	struct cella_nsm *nsm;
	uint8_t out[5];

	(void)state;
	assert_int_equal(cella_nsm_new(&script_ops, &s, &nsm), 0);
	/* {"GetRandom": {"random": h'0102'}}: three calls for 5 bytes */
	s.hex = "a16947657452616e646f6da16672616e646f6d420102";
	assert_int_equal(cella_nsm_get_random(nsm, out, sizeof(out), NULL), 0);
	assert_int_equal(s.calls, 3);
	assert_memory_equal(out, "\x01\x02\x01\x02\x01", 5);
	/* an empty answer would loop forever: refused */
	s.hex = "a16947657452616e646f6da16672616e646f6d40";
	assert_int_equal(cella_nsm_get_random(nsm, out, sizeof(out), NULL),
			 -EPROTO);
	cella_nsm_free(nsm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_layout),
		cmocka_unit_test(test_raw_result),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_call_errors),
		cmocka_unit_test(test_call_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
