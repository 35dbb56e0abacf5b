/*
 * cmd_events: `cella events [--json]`, cella-init's measured event log.
 * Every event is fetched with its exact bytes and the chain is recomputed
 * here (head_n = SHA-384(head_{n-1} || SHA-384(event_n)), proto/evlog.md)
 * before anything is printed as verified: exit 0 when it matches the head
 * and length init reports, 1 when it does not.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "common/core/buf.h"
#include "common/cbor/cbor.h"
#include "common/core/exitcode.h"
#include "services/cella/cmd.h"
#include "services/cella/ctl.h"

#define EV_TIMEOUT_MS 10000
#define EV_PAGE 1024
#define EV_HASH 48

struct chain {
	uint8_t head[EV_HASH];
	uint64_t n;
	bool json, bad;
	cJSON *events;
};

static cJSON *
to_json(const cbor_item_t *it, int depth)
{
	char hex[2 * 8192 + 1];
	cJSON *o;

	if (depth > 16)
		return cJSON_CreateNull();
	switch (cbor_typeof(it)) {
	case CBOR_TYPE_UINT:
		return cJSON_CreateNumber((double)cbor_get_int(it));
	case CBOR_TYPE_NEGINT:
		return cJSON_CreateNumber(-1.0 - (double)cbor_get_int(it));
	case CBOR_TYPE_BYTESTRING:
		if (cbor_bytestring_length(it) > 8192)
			return cJSON_CreateString("(bytes)");
		cella_hex_encode(cbor_bytestring_handle(it),
				 cbor_bytestring_length(it), hex, sizeof(hex));
		return cJSON_CreateString(hex);
	case CBOR_TYPE_STRING: {
		size_t n = cbor_string_length(it) < 8192 ? cbor_string_length(it) : 8192;

		memcpy(hex, cbor_string_handle(it), n);
		hex[n] = '\0';
		return cJSON_CreateString(hex);
	}
	case CBOR_TYPE_ARRAY:
		o = cJSON_CreateArray();
		for (size_t i = 0; i < cbor_array_size(it); i++)
			cJSON_AddItemToArray(o, to_json(cbor_array_handle(it)[i],
							depth + 1));
		return o;
	case CBOR_TYPE_MAP:
		o = cJSON_CreateObject();
		for (size_t i = 0; i < cbor_map_size(it); i++) {
			struct cbor_pair p = cbor_map_handle(it)[i];
			size_t n;

			if (!cbor_isa_string(p.key))
				continue;
			n = cbor_string_length(p.key) < 255 ? cbor_string_length(p.key) : 255;
			memcpy(hex, cbor_string_handle(p.key), n);
			hex[n] = '\0';
			cJSON_AddItemToObject(o, hex, to_json(p.value, depth + 1));
		}
		return o;
	case CBOR_TYPE_FLOAT_CTRL:
		if (cbor_float_get_width(it) == CBOR_FLOAT_0 &&
		    (cbor_ctrl_value(it) == CBOR_CTRL_TRUE ||
		     cbor_ctrl_value(it) == CBOR_CTRL_FALSE))
			return cJSON_CreateBool(cbor_ctrl_value(it) == CBOR_CTRL_TRUE);
		return cJSON_CreateNull();
	default:
		return cJSON_CreateNull();
	}
}

static cJSON *
decode_event(struct cella_span ev)
{
	static const struct cella_cbor_limits lim = {8192, 16, 4096, 8192};
	cbor_item_t *it = NULL;
	cJSON *o;

	if (cella_cbor_load(ev.p, ev.n, &lim, &it, NULL) < 0)
		return cJSON_CreateString("(undecodable)");
	o = to_json(it, 0);
	cbor_decref(&it);
	return o;
}

static void
print_event(struct chain *c, uint64_t index, cJSON *ev, const uint8_t *hash,
	    struct cella_span raw)
{
	char hexh[2 * EV_HASH + 1], *data, *hexraw;
	cJSON *d = cJSON_GetObjectItem(ev, "data"), *t = cJSON_GetObjectItem(ev, "time");
	time_t secs = (time_t)(cJSON_IsNumber(t) ? t->valuedouble / 1000 : 0);
	char when[32];
	struct tm tm;

	cella_hex_encode(hash, EV_HASH, hexh, sizeof(hexh));
	if (c->json) {
		/* The exact bytes, so that a verifier recomputes the chain. */
		hexraw = malloc(2 * raw.n + 1);
		if (hexraw != NULL) {
			cella_hex_encode(raw.p, raw.n, hexraw, 2 * raw.n + 1);
			cJSON_AddStringToObject(ev, "cbor", hexraw);
			free(hexraw);
		}
		cJSON_AddStringToObject(ev, "hash", hexh);
		cJSON_AddItemToArray(c->events, ev);
		return;
	}
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	data = d ? cJSON_PrintUnformatted(d) : NULL;
	printf("%5" PRIu64 "  %s  %-10s %-12s %s\n", index, when,
	       cJSON_GetStringValue(cJSON_GetObjectItem(ev, "type")),
	       cJSON_GetStringValue(cJSON_GetObjectItem(ev, "source")),
	       data ? data : "{}");
	cJSON_free(data);
	cJSON_Delete(ev);
}

/* Recompute one link; false (and c->bad) when init's values disagree. */
static bool
check_link(struct chain *c, const cbor_item_t *e)
{
	struct cella_span ev = {0}, hash = {0}, head = {0};
	uint8_t h[EV_HASH], cat[2 * EV_HASH];
	uint64_t index = UINT64_MAX;

	(void)cella_cbor_get_uint(e, "index", UINT64_MAX, &index, NULL);
	if (cella_cbor_get_bytes(e, "event", 1u << 20, &ev, NULL) < 0 ||
	    cella_cbor_get_bytes(e, "hash", EV_HASH, &hash, NULL) < 0 ||
	    cella_cbor_get_bytes(e, "head", EV_HASH, &head, NULL) < 0 ||
	    index != c->n || hash.n != EV_HASH || head.n != EV_HASH ||
	    EVP_Digest(ev.p, ev.n, h, NULL, EVP_sha384(), NULL) != 1)
		goto bad;
	memcpy(cat, c->head, EV_HASH);
	memcpy(cat + EV_HASH, h, EV_HASH);
	if (EVP_Digest(cat, sizeof(cat), c->head, NULL, EVP_sha384(), NULL) != 1 ||
	    memcmp(h, hash.p, EV_HASH) != 0 || memcmp(c->head, head.p, EV_HASH) != 0)
		goto bad;
	print_event(c, index, decode_event(ev), h, ev);
	c->n++;
	return true;
bad:
	fprintf(stderr, "cella events: the chain does not recompute at index %" PRIu64 "\n",
		c->n);
	c->bad = true;
	return false;
}

static int
page(struct cella_rpc_client *cli, struct chain *c, bool *more, struct cella_env *last)
{
	cbor_item_t *b = cbor_new_indefinite_map();
	const cbor_item_t *evs;
	int rv = -ENOMEM;

	if (b == NULL || cella_cbor_put_uint(b, "from", c->n) < 0 ||
	    cella_cbor_put_uint(b, "limit", EV_PAGE) < 0)
		goto out;
	cella_env_fini(last);
	rv = cella_ctl_call("events", cli, CELLA_MSG_INIT_EVENTS, b,
			    CELLA_MSG_INIT_EVENTS_REPLY, last);
	if (rv != 0)
		goto out;
	evs = cella_cbor_map_get(last->body, "events");
	for (size_t i = 0; evs && cbor_isa_array(evs) && i < cbor_array_size(evs); i++)
		if (!check_link(c, cbor_array_handle(evs)[i]))
			break;
	*more = false;
	(void)cella_cbor_get_bool(last->body, "more", more, NULL);
	if (evs == NULL || cbor_array_size(evs) == 0)
		*more = false;
out:
	if (b != NULL)
		cbor_decref(&b);
	return rv;
}

static int
finish(struct chain *c, const struct cella_env *last)
{
	struct cella_span head = {0};
	uint64_t length = 0;
	char hex[2 * EV_HASH + 1];
	cJSON *o;

	(void)cella_cbor_get_uint(last->body, "length", UINT64_MAX, &length, NULL);
	(void)cella_cbor_get_bytes(last->body, "head", EV_HASH, &head, NULL);
	if (!c->bad && (length != c->n || head.n != EV_HASH ||
			memcmp(head.p, c->head, EV_HASH) != 0)) {
		fprintf(stderr, "cella events: head or length differ from the recomputed chain\n");
		c->bad = true;
	}
	cella_hex_encode(c->head, EV_HASH, hex, sizeof(hex));
	if (!c->json) {
		printf("length=%" PRIu64 " head=%s chain=%s\n", c->n, hex,
		       c->bad ? "MISMATCH" : "verified");
		return c->bad ? 1 : 0;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "length", (double)c->n);
	cJSON_AddStringToObject(o, "head", hex);
	cJSON_AddBoolToObject(o, "verified", !c->bad);
	cJSON_AddItemToObject(o, "events", c->events);
	c->events = NULL;
	cella_cmd_print_json(o, true);
	return c->bad ? 1 : 0;
}

static struct {
	const char *url;
	bool json;
} args;

static const struct cella_opt opts[] = {
	{"json", 0, CELLA_OPT_FLAG, &args.json,
	 .help = "the events and the verdict as one JSON document"},
	{"control", 0, CELLA_OPT_STR, &args.url, .metavar = "URL",
	 .help = "cella-init's control API (default $CELLA_CONTROL\nor "
		 CELLA_CTL_DEFAULT_URL ")"},
	{0},
};

static int
cmd_events(int argc, char **argv)
{
	struct cella_rpc_client *cli = NULL;
	struct cella_env last = {0};
	struct chain c = {.json = args.json};
	bool more = true;
	int rv;

	(void)argc;
	(void)argv;
	c.events = cJSON_CreateArray();
	rv = cella_ctl_open("events", cella_ctl_url(args.url), EV_TIMEOUT_MS,
			    &cli);
	while (rv == 0 && more && !c.bad)
		rv = page(cli, &c, &more, &last);
	rv = rv == 0 ? finish(&c, &last) : cella_exit_from_err(rv);
	cella_env_fini(&last);
	cJSON_Delete(c.events);
	cella_rpc_client_free(cli);
	return rv;
}

const struct cella_cmd cella_cmd_events = {
	.name = "events",
	.run = cmd_events,
	.summary = "the measured event log, chain verified",
	.connects = true,
	.opts = opts,
	.args = "[--json] [--control URL]",
	.help = "cella-init's measured event log, with the hash chain "
		"recomputed\n(exit 1 when it does not match).\n",
};
