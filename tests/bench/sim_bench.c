/*
 * sim_bench: how fast the sim NSM provider makes fresh attestation
 * documents, against the anchor that bounds it, raw ES384 signatures over
 * a message of a document's size, measured in the same run. Three
 * figures: burst (the leaf pool full, as after any pause), sustained (the
 * pool drained, leaves issued as fast as the refill thread and the callers
 * manage) and no pool (every leaf issued on the request path). Each
 * document is requested the way ra-web does (32-byte nonce, 64-byte
 * user_data, a 91-byte public key) through the provider interface.
 *
 * Also, for the integration tests: `sim_bench --ca ENCLAVE_DIR [--pcrs
 * FILE] [--nonce HEX] --doc OUT` writes one document signed under a CA
 * that `cella sim-ca issue` wrote, and exits.
 */
#include <errno.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/nsm/nsm.h"
#include "common/nsm/nsm_leaf.h"
#include "common/nsm/sim/nsm_sim.h"
#include "common/nsm/sim/nsm_simca.h"
#include "tests/lib/argnum.h"
#include "common/core/clock.h"

struct opts {
	double seconds;
	unsigned pool;
	const char *ca, *pcrs, *doc, *nonce_hex;
};

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of the calling thread: steady on a busy machine. */
static double
cpu_s(void)
{
	return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

static void
die(const char *what, const char *msg)
{
	fprintf(stderr, "sim_bench: %s: %s\n", what, msg);
	exit(1);
}

/* The anchor: ES384 signatures over a document-sized message. */
/* Counts and times, summed over interleaved rounds. */
struct rate {
	long n;
	double wall; /* seconds of wall-clock time */
	double cpu;  /* CPU seconds of the calling thread */
};

/* The anchor: ES384 signatures over a document-sized message. */
static void
raw_signs(double seconds, struct rate *acc)
{
	static EVP_PKEY *key;
	static uint8_t msg[4700];
	uint8_t sig[128];
	double t0 = cella_mono_s(), c0 = cpu_s(), t;

	if (key == NULL) {
		key = EVP_EC_gen("P-384");
		RAND_bytes(msg, sizeof(msg));
	}
	do {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		size_t len = sizeof(sig);

		if (EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, key) != 1 ||
		    EVP_DigestSign(ctx, sig, &len, msg, sizeof(msg)) != 1)
			die("raw sign", "OpenSSL failed");
		EVP_MD_CTX_free(ctx);
		acc->n++;
		t = cella_mono_s() - t0;
	} while (t < seconds);
	acc->wall += t;
	acc->cpu += cpu_s() - c0;
}

/* A sim conf: from ENCLAVE_DIR, or a chain made here in memory. */
static void
make_conf(const struct opts *o, struct cella_nsm_sim_conf *c)
{
	struct cella_diag d = {""};
	uint8_t v[CELLA_NSM_PCR_LEN];

	cella_nsm_sim_conf_init(c);
	c->pool_size = o->pool;
	for (unsigned i = 0; i < 3; i++) {
		memset(v, 0x10 + (int)i, sizeof(v));
		cella_nsm_sim_conf_set_pcr(c, i, v); /* not a debug enclave */
	}
	if (o->ca != NULL) {
		if (cella_nsm_sim_conf_load_ca(c, o->ca, &d) < 0)
			die(o->ca, d.msg);
	} else {
		EVP_PKEY *k[3] = {EVP_EC_gen("P-384"), EVP_EC_gen("P-384"),
				  EVP_EC_gen("P-384")};
		X509 *x[3] = {NULL, NULL, NULL};
		STACK_OF(X509) *sk = sk_X509_new_null();
		int64_t now = time(NULL);

		if (cella_nsm_simca_root(k[0], now, &x[0], &d) < 0 ||
		    cella_nsm_simca_regional(x[0], k[0], k[1], now, &x[1],
					     &d) < 0 ||
		    cella_nsm_simca_instance(x[1], k[1], k[2], "i-0bench0000000000",
					     now, 1, &x[2], &d) < 0)
			die("pki", d.msg);
		for (int i = 0; i < 3; i++)
			sk_X509_push(sk, x[i]);
		cella_nsm_sim_conf_set_signer(c, k[2], sk);
		sk_X509_pop_free(sk, X509_free);
		for (int i = 0; i < 3; i++)
			EVP_PKEY_free(k[i]);
	}
	if (o->pcrs != NULL &&
	    cella_nsm_sim_conf_load_measurements(c, o->pcrs, &d) < 0)
		die(o->pcrs, d.msg);
}

static struct cella_nsm *
open_sim(const struct opts *o, unsigned pool)
{
	struct cella_nsm_sim_conf c;
	struct cella_nsm *nsm;
	struct cella_diag d = {""};
	struct opts o2 = *o;

	o2.pool = pool;
	make_conf(&o2, &c);
	if (cella_nsm_sim_open(&c, &nsm, &d) < 0)
		die("sim", d.msg);
	cella_nsm_sim_conf_fini(&c);
	return nsm;
}

static void
one_doc(struct cella_nsm *nsm, struct cella_buf *doc)
{
	static uint8_t nonce[32], ud[64], pk[91];
	struct cella_span n = {nonce, sizeof(nonce)}, u = {ud, sizeof(ud)},
			  p = {pk, sizeof(pk)};
	struct cella_diag d = {""};

	doc->len = 0;
	RAND_bytes(nonce, sizeof(nonce));
	if (cella_nsm_attest(nsm, &u, &n, &p, doc, &d) < 0)
		die("attest", d.msg);
}

/*
 * Rounds of raw signatures and of one full pool's worth of documents, taken
 * in turn, so that a CPU whose speed drifts during the run (shared and
 * virtual machines do) biases neither figure. The raw signatures run while
 * the pool is full and its thread idle; the documents pay for the refill
 * that runs beside them.
 */
static void
burst(struct cella_nsm *nsm, unsigned pool, double seconds, struct rate *raw,
      struct rate *docs)
{
	struct cella_nsm_sim *sim = cella_nsm_sim_of(nsm);
	struct cella_buf doc;
	double t0 = cella_mono_s(), s, c;

	cella_buf_init(&doc, CELLA_NSM_RESPONSE_MAX);
	while (docs->wall < seconds && cella_mono_s() - t0 < seconds * 6) {
		if (cella_nsm_sim_wait_pool(sim, 60000) < 0)
			die("pool", "never filled");
		raw_signs(docs->n > 0 ? docs->wall / (double)docs->n * pool :
					0.05,
			  raw);
		s = cella_mono_s();
		c = cpu_s();
		for (unsigned i = 0; i < pool; i++)
			one_doc(nsm, &doc);
		docs->wall += cella_mono_s() - s;
		docs->cpu += cpu_s() - c;
		docs->n += pool;
	}
	cella_buf_fini(&doc);
}

/* Documents per second once the pool is empty (drained first). */
static double
sustained_rate(struct cella_nsm *nsm, unsigned drain, double seconds,
	       double *cpu_ms_per_doc)
{
	struct cella_buf doc;
	double t0, p0, t;
	long n = 0;

	cella_buf_init(&doc, CELLA_NSM_RESPONSE_MAX);
	for (unsigned i = 0; i < drain; i++)
		one_doc(nsm, &doc);
	t0 = cella_mono_s();
	p0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	do {
		one_doc(nsm, &doc);
		n++;
		t = cella_mono_s() - t0;
	} while (t < seconds);
	*cpu_ms_per_doc = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - p0) * 1e3 /
			  (double)n;
	cella_buf_fini(&doc);
	return (double)n / t;
}

static int
write_doc(const struct opts *o)
{
	struct cella_nsm *nsm = open_sim(o, 0);
	uint8_t nonce[CELLA_NSM_DATA_MAX];
	struct cella_span n;
	struct cella_buf doc;
	struct cella_diag d = {""};
	int len = 0;
	FILE *f;

	if (o->nonce_hex != NULL) {
		len = cella_hex_decode(o->nonce_hex, strlen(o->nonce_hex),
				       nonce, sizeof(nonce));
		if (len < 0)
			die("--nonce", "not hex of at most 1024 bytes");
	}
	n = (struct cella_span){nonce, (size_t)len};
	cella_buf_init(&doc, CELLA_NSM_RESPONSE_MAX);
	if (cella_nsm_attest(nsm, NULL, o->nonce_hex ? &n : NULL, NULL, &doc,
			     &d) < 0)
		die("attest", d.msg);
	f = fopen(o->doc, "wb");
	if (f == NULL || fwrite(doc.p, 1, doc.len, f) != doc.len ||
	    fclose(f) != 0)
		die(o->doc, strerror(errno));
	printf("module_id=%s bytes=%zu\n",
	       cella_nsm_sim_module_id(cella_nsm_sim_of(nsm)), doc.len);
	cella_buf_fini(&doc);
	cella_nsm_free(nsm);
	return 0;
}

static void
parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"seconds", required_argument, NULL, 's'},
		{"pool", required_argument, NULL, 'p'},
		{"ca", required_argument, NULL, 'c'},
		{"pcrs", required_argument, NULL, 'm'},
		{"doc", required_argument, NULL, 'o'},
		{"nonce", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct opts){.seconds = 2.0, .pool = 32};
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->seconds = arg_double(optarg, 0.01, 600); break;
		case 'p': o->pool = (unsigned)arg_long(optarg, 10, 0, 4096); break;
		case 'c': o->ca = optarg; break;
		case 'm': o->pcrs = optarg; break;
		case 'o': o->doc = optarg; break;
		case 'n': o->nonce_hex = optarg; break;
		default:
			fprintf(stderr, "usage: sim_bench [--seconds S] "
					"[--pool N] [--ca DIR [--pcrs FILE] "
					"[--nonce HEX] --doc OUT]\n");
			exit(64);
		}
	}
	if (o->seconds <= 0 || o->pool == 0)
		die("usage", "--seconds and --pool must be positive");
}

static double
per_s(const struct rate *r)
{
	return (double)r->n / r->wall;
}

int
main(int argc, char **argv)
{
	struct cella_nsm_sim_stats st;
	struct cella_nsm *nsm;
	struct rate raw = {0}, docs = {0}, raw2 = {0};
	double sustained, nopool, cpu_sus, cpu_nopool;
	struct opts o;

	parse(argc, argv, &o);
	if (o.doc != NULL)
		return write_doc(&o);
	nsm = open_sim(&o, o.pool);
	burst(nsm, o.pool, o.seconds, &raw, &docs);
	raw_signs(o.seconds / 2, &raw2);
	sustained = sustained_rate(nsm, o.pool, o.seconds, &cpu_sus);
	raw_signs(o.seconds / 2, &raw2);
	cella_nsm_sim_stats(cella_nsm_sim_of(nsm), &st);
	cella_nsm_free(nsm);
	nsm = open_sim(&o, 0);
	nopool = sustained_rate(nsm, 0, o.seconds, &cpu_nopool);
	cella_nsm_free(nsm);
	printf("sim_docs_per_s=%.0f raw_es384_sign_per_s=%.0f ratio=%.2f "
	       "cpu_ratio=%.2f (burst: leaf pool of %u full; cpu_ratio "
	       "compares CPU time of the requesting thread)\n",
	       per_s(&docs), per_s(&raw), per_s(&docs) / per_s(&raw),
	       ((double)docs.n / docs.cpu) / ((double)raw.n / raw.cpu),
	       o.pool);
	printf("sim_sustained_docs_per_s=%.0f raw_es384_sign_per_s=%.0f "
	       "ratio=%.2f cpu_ms_per_doc=%.2f raw_cpu_ms_per_sign=%.2f "
	       "(pool drained; hits=%llu misses=%llu)\n",
	       sustained, per_s(&raw2), sustained / per_s(&raw2), cpu_sus,
	       raw2.cpu * 1e3 / (double)raw2.n,
	       (unsigned long long)st.pool_hits,
	       (unsigned long long)st.pool_misses);
	printf("sim_nopool_docs_per_s=%.0f raw_es384_sign_per_s=%.0f "
	       "ratio=%.2f cpu_ms_per_doc=%.2f (every leaf issued on the "
	       "request path)\n",
	       nopool, per_s(&raw2), nopool / per_s(&raw2), cpu_nopool);
	return 0;
}
