/*
 * nsm_leaf: leaf issuance and the pool that keeps a few ready. One mutex
 * guards the ring; keys are generated and certificates signed outside it,
 * so a document request waits for the lock only as long as a pointer copy
 * takes. The ring is FIFO: the oldest ready leaf is used first, which is
 * the one closest to expiring.
 */
#include "common/nsm/nsm_leaf.h"
#include "common/core/clock.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/nsm/nsm_x509.h"

struct cella_nsm_pool {
	EVP_PKEY *issuer_key;
	X509 *issuer_cert;
	char cn[65];
	uint8_t prefix[8];
	unsigned size, max_age_ms, warm_ms;

	pthread_mutex_t mu;
	pthread_cond_t work;   /* to the thread: taken from, or stopping */
	pthread_cond_t filled; /* to waiters: a leaf was added */
	struct cella_nsm_leaf *ring;
	unsigned head, count;
	uint64_t last_take_ms;
	uint32_t counter;
	bool stop, running;
	pthread_t thread;
	struct cella_nsm_pool_stats st;
};

void
cella_nsm_leaf_fini(struct cella_nsm_leaf *leaf)
{
	EVP_PKEY_free(leaf->key);
	OPENSSL_free(leaf->der);
	memset(leaf, 0, sizeof(*leaf));
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Serial as AWS lays it out: enclave id, a counter, the issue second. */
static int
leaf_issue(struct cella_nsm_pool *p, uint32_t seq, struct cella_nsm_leaf *out)
{
	const struct cella_nsm_rdn subject[] = {
		{"C", "US"}, {"O", "cella"}, {"OU", "simulation"},
		{"CN", p->cn},
	};
	struct cella_nsm_leaf leaf = {.issued_mono_ms = cella_mono_ms()};
	int64_t now = (int64_t)(cella_wall_ms() / 1000);
	struct cella_nsm_certspec spec;
	uint8_t serial[16];
	X509 *x = NULL;
	int rc;

	memcpy(serial, p->prefix, 8);
	put_be32(serial + 8, seq);
	put_be32(serial + 12, (uint32_t)now);
	rc = cella_nsm_x509_keygen(&leaf.key);
	if (rc < 0)
		return rc;
	spec = (struct cella_nsm_certspec){
		.subject = subject,
		.n_subject = sizeof(subject) / sizeof(subject[0]),
		.key = leaf.key,
		.issuer = p->issuer_cert,
		.issuer_key = p->issuer_key,
		.serial = serial,
		.serial_len = sizeof(serial),
		.not_before = now - CELLA_NSM_LEAF_BACKDATE_S,
		.not_after = now + CELLA_NSM_LEAF_LIFETIME_S,
		.key_usage = CELLA_NSM_KU_DIGITAL_SIGNATURE |
			     CELLA_NSM_KU_NON_REPUDIATION,
	};
	leaf.not_before = spec.not_before;
	rc = cella_nsm_x509_issue(&spec, &x, NULL);
	if (rc == 0)
		rc = cella_nsm_x509_der(x, &leaf.der, &leaf.der_len);
	X509_free(x);
	if (rc < 0) {
		cella_nsm_leaf_fini(&leaf);
		return rc;
	}
	*out = leaf;
	return 0;
}

/* Under mu: throw away ready leaves too old to be used. */
static void
drop_stale(struct cella_nsm_pool *p, uint64_t now)
{
	while (p->count > 0 &&
	       now - p->ring[p->head].issued_mono_ms > p->max_age_ms) {
		cella_nsm_leaf_fini(&p->ring[p->head]);
		p->head = (p->head + 1) % p->size;
		p->count--;
		p->st.expired++;
	}
}

static void
timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t deadline_ms)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ms / 1000),
		.tv_nsec = (long)(deadline_ms % 1000) * 1000000,
	};

	pthread_cond_timedwait(cv, mu, &ts);
}

/* Under mu, warm and full: sleep until a leaf expires or warmth ends. */
static void
idle_wait(struct cella_nsm_pool *p, uint64_t now, bool warm)
{
	uint64_t until;

	if (!warm) {
		pthread_cond_wait(&p->work, &p->mu);
		return;
	}
	until = p->last_take_ms + p->warm_ms;
	if (p->count > 0 &&
	    p->ring[p->head].issued_mono_ms + p->max_age_ms + 1 < until)
		until = p->ring[p->head].issued_mono_ms + p->max_age_ms + 1;
	if (until <= now)
		until = now + 1;
	timed_wait(&p->work, &p->mu, until);
}

static void *
refill(void *arg)
{
	struct cella_nsm_pool *p = arg;
	struct cella_nsm_leaf leaf;
	uint64_t now;
	uint32_t seq;
	bool warm;
	int rc;

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		now = cella_mono_ms();
		drop_stale(p, now);
		warm = now - p->last_take_ms < p->warm_ms;
		if (!warm || p->count == p->size) {
			idle_wait(p, now, warm);
			continue;
		}
		seq = p->counter++;
		pthread_mutex_unlock(&p->mu);
		rc = leaf_issue(p, seq, &leaf);
		pthread_mutex_lock(&p->mu);
		if (rc < 0) {
			/* Out of memory most likely: retry later, not hot. */
			timed_wait(&p->work, &p->mu, cella_mono_ms() + 100);
			continue;
		}
		p->st.issued++;
		if (p->count < p->size && !p->stop) {
			p->ring[(p->head + p->count) % p->size] = leaf;
			p->count++;
			pthread_cond_broadcast(&p->filled);
		} else {
			cella_nsm_leaf_fini(&leaf);
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int
start_thread(struct cella_nsm_pool *p)
{
	sigset_t all, old;
	int rc;

	/* The thread must never take a signal meant for the service. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&p->thread, NULL, refill, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -rc;
	p->running = true;
	return 0;
}

static int
init_sync(struct cella_nsm_pool *p)
{
	pthread_condattr_t ca;
	int rc;

	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&p->work, &ca);
	if (rc == 0)
		rc = pthread_cond_init(&p->filled, &ca);
	pthread_condattr_destroy(&ca);
	return -rc;
}

int
cella_nsm_pool_new(const struct cella_nsm_pool_conf *conf,
		   struct cella_nsm_pool **out, struct cella_diag *d)
{
	struct cella_nsm_pool *p;
	int rc;

	if (strlen(conf->subject_cn) >= sizeof(p->cn))
		return cella_diag_set(d, -EINVAL, "leaf commonName over 64 "
				      "bytes");
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	snprintf(p->cn, sizeof(p->cn), "%s", conf->subject_cn);
	memcpy(p->prefix, conf->serial_prefix, sizeof(p->prefix));
	p->size = conf->size;
	p->max_age_ms = conf->max_age_ms;
	p->warm_ms = conf->warm_ms;
	p->st.size = conf->size;
	p->last_take_ms = cella_mono_ms(); /* fill once at start */
	EVP_PKEY_up_ref(conf->issuer_key);
	p->issuer_key = conf->issuer_key;
	X509_up_ref(conf->issuer_cert);
	p->issuer_cert = conf->issuer_cert;
	rc = init_sync(p);
	if (rc == 0 && p->size > 0) {
		rc = -ENOMEM;
		p->ring = calloc(p->size, sizeof(p->ring[0]));
		if (p->ring != NULL)
			rc = start_thread(p);
	}
	if (rc < 0) {
		cella_nsm_pool_free(p);
		return cella_diag_set(d, rc, "leaf pool: %s",
				      cella_strerror(rc));
	}
	*out = p;
	return 0;
}

void
cella_nsm_pool_free(struct cella_nsm_pool *p)
{
	if (p == NULL)
		return;
	if (p->running) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_signal(&p->work);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	for (; p->count > 0; p->count--) {
		cella_nsm_leaf_fini(&p->ring[p->head]);
		p->head = (p->head + 1) % p->size;
	}
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->filled);
	pthread_mutex_destroy(&p->mu);
	free(p->ring);
	EVP_PKEY_free(p->issuer_key);
	X509_free(p->issuer_cert);
	free(p);
}

int
cella_nsm_pool_take(struct cella_nsm_pool *p, struct cella_nsm_leaf *out)
{
	uint64_t now = cella_mono_ms();
	bool hit = false;
	uint32_t seq;
	int rc;

	pthread_mutex_lock(&p->mu);
	drop_stale(p, now);
	if (p->count > 0) {
		*out = p->ring[p->head];
		memset(&p->ring[p->head], 0, sizeof(p->ring[0]));
		p->head = (p->head + 1) % p->size;
		p->count--;
		p->st.hits++;
		hit = true;
	} else {
		p->st.misses++;
	}
	seq = p->counter++;
	p->last_take_ms = now;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	if (hit)
		return 0;
	rc = leaf_issue(p, seq, out);
	if (rc == 0) {
		pthread_mutex_lock(&p->mu);
		p->st.issued++;
		pthread_mutex_unlock(&p->mu);
	}
	return rc;
}

void
cella_nsm_pool_stats(struct cella_nsm_pool *p, struct cella_nsm_pool_stats *out)
{
	pthread_mutex_lock(&p->mu);
	*out = p->st;
	out->ready = p->count;
	pthread_mutex_unlock(&p->mu);
}

int
cella_nsm_pool_wait_full(struct cella_nsm_pool *p, unsigned timeout_ms)
{
	uint64_t deadline = cella_mono_ms() + timeout_ms;
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	p->last_take_ms = cella_mono_ms(); /* waiting is demand too */
	pthread_cond_signal(&p->work);
	while (p->count < p->size) {
		if (cella_mono_ms() >= deadline) {
			rc = -ETIMEDOUT;
			break;
		}
		timed_wait(&p->filled, &p->mu, deadline);
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}
