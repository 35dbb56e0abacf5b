/*
 * xfer: the loop's side of file requests: the table of open transfers
 * and walks, what each request type does with it, and the hand-off to the
 * pool. A transfer is counted against pipeline.max_transfers from the
 * moment its BEGIN is queued; it leaves the table at its end, on ABORT or
 * when its connection closes, and is freed once no work on the pool still
 * uses it. One COMMIT / END / WALK_NEXT at a time, and only when no chunk
 * is in flight: the client waits for its chunks' answers first.
 */
#include "services/pipeline/files.h"

#include <errno.h>
#include <stdlib.h>

#include "common/cbor/cbor.h"
#include "common/core/log.h"

enum how {
	PLAIN, /* no transfer involved */
	NEW,   /* may create one */
	ON,    /* uses one, several at once */
	END,   /* uses one alone (and may end it) */
};

struct op {
	uint32_t type;
	enum how how;
	enum pipe_xfer_kind kind;
	void (*plain)(struct pipe_job *j);
	void (*on)(struct pipe_job *j, struct pipe_xfer *x);
};

static const struct op ops[] = {
	{CELLA_MSG_PIPE_STAT, PLAIN, 0, pipe_files_stat, NULL},
	{CELLA_MSG_PIPE_MKDIR, PLAIN, 0, pipe_files_mkdir, NULL},
	{CELLA_MSG_PIPE_SYMLINK, PLAIN, 0, pipe_files_symlink, NULL},
	{CELLA_MSG_PIPE_PUT_BEGIN, NEW, PIPE_XFER_PUT, pipe_files_put_begin, NULL},
	{CELLA_MSG_PIPE_GET_BEGIN, NEW, PIPE_XFER_GET, pipe_files_get_begin, NULL},
	{CELLA_MSG_PIPE_WALK, NEW, PIPE_XFER_WALK, pipe_files_walk, NULL},
	{CELLA_MSG_PIPE_PUT_CHUNK, ON, PIPE_XFER_PUT, NULL, pipe_files_put_chunk},
	{CELLA_MSG_PIPE_GET_CHUNK, ON, PIPE_XFER_GET, NULL, pipe_files_get_chunk},
	{CELLA_MSG_PIPE_PUT_COMMIT, END, PIPE_XFER_PUT, NULL,
	 pipe_files_put_commit},
	{CELLA_MSG_PIPE_GET_END, END, PIPE_XFER_GET, NULL, pipe_files_get_end},
	{CELLA_MSG_PIPE_WALK_NEXT, END, PIPE_XFER_WALK, NULL,
	 pipe_files_walk_next},
};

static void
list(struct pipe_svc *s, struct pipe_xfer *x, uint32_t owner)
{
	x->id = pipe_svc_id(s);
	x->owner = owner;
	x->listed = true;
	LIST_INSERT_HEAD(&s->xfers, x, link);
	s->nxfers++;
}

/* Out of the table; freed now unless the pool still uses it. */
static void
unlist(struct pipe_svc *s, struct pipe_xfer *x)
{
	if (x->listed) {
		x->listed = false;
		LIST_REMOVE(x, link);
		s->nxfers--;
	}
	if (x->refs == 0)
		pipe_xfer_destroy(x);
}

static struct pipe_xfer *
find(struct pipe_svc *s, uint64_t id, uint32_t owner)
{
	struct pipe_xfer *x;

	LIST_FOREACH(x, &s->xfers, link)
		if (x->id == id && x->owner == owner)
			return x;
	return NULL;
}

static void
work(uv_work_t *w)
{
	struct pipe_job *j = w->data;
	const struct op *op = j->op;

	if (op->plain != NULL)
		op->plain(j);
	else
		op->on(j, j->xfer);
}

/* A new transfer joins the table and its id the reply. */
static void
after_new(struct pipe_svc *s, struct pipe_job *j)
{
	struct pipe_xfer *nx = j->obj;
	const struct op *op = j->op;

	s->nxfers--; /* the reservation */
	if (nx != NULL && (s->stopping || j->err < 0)) {
		pipe_xfer_destroy(nx);
		nx = NULL;
	} else if (nx != NULL) {
		list(s, nx, j->pipe);
	}
	if (j->err < 0 || s->stopping)
		return;
	if (op->type == CELLA_MSG_PIPE_PUT_BEGIN && nx != NULL) {
		j->rtype = CELLA_MSG_PIPE_PUT_BEGIN_REPLY;
		if ((j->rbody = cbor_new_indefinite_map()) == NULL ||
		    cella_cbor_put_uint(j->rbody, "chunk", s->conf->chunk) < 0 ||
		    cella_cbor_put_uint(j->rbody, "window", s->conf->window) < 0)
			j->err = -ENOMEM;
	}
	if (j->err == 0 && (nx != NULL || op->type == CELLA_MSG_PIPE_WALK) &&
	    cella_cbor_put_uint(j->rbody, "id", nx ? nx->id : 0) < 0)
		j->err = -ENOMEM;
	if (nx != NULL && pipe_svc_gone(s, nx->owner)) {
		/* Its connection closed while the pool made it. */
		cella_log_info("transfer_dropped", "id=%llu path=%s",
			       (unsigned long long)nx->id, cella_q(nx->path));
		unlist(s, nx);
	} else if (nx != NULL && j->err < 0) {
		unlist(s, nx);
	}
}

static void
after(uv_work_t *w, int status)
{
	struct pipe_job *j = w->data;
	struct pipe_svc *s = j->svc;
	struct pipe_xfer *x = j->xfer;
	const struct op *op = j->op;

	(void)status;
	if (x != NULL)
		x->refs--;
	if (op->how == NEW)
		after_new(s, j);
	else if (op->how == END) {
		bool more = x->listed && op->type == CELLA_MSG_PIPE_WALK_NEXT &&
			    j->err == 0 && !pipe_walk_done(x->walk);

		x->ending = false;
		if (op->type == CELLA_MSG_PIPE_WALK_NEXT && j->err == 0 &&
		    cella_cbor_put_uint(j->rbody, "id", more ? x->id : 0) < 0)
			j->err = -ENOMEM;
		if (!more)
			unlist(s, x);
	}
	if (op->how != END && x != NULL && !x->listed && x->refs == 0)
		pipe_xfer_destroy(x);
	if (s->stopping)
		pipe_job_drop(j);
	else
		pipe_job_finish(j);
}

static void
queue(struct pipe_job *j, const struct op *op, struct pipe_xfer *x)
{
	struct pipe_svc *s = j->svc;

	j->op = op;
	j->xfer = x;
	j->work.data = j;
	if (x != NULL)
		x->refs++;
	if (op->how == NEW)
		s->nxfers++;
	if (uv_queue_work(s->loop, &j->work, work, after) < 0) {
		if (x != NULL)
			x->refs--;
		if (op->how == NEW)
			s->nxfers--;
		pipe_job_fail(j, -ENOMEM, "cannot queue the request");
	}
}

static void
abort_xfer(struct pipe_job *j)
{
	struct pipe_xfer *x = find(j->svc, j->m.id, j->pipe);

	if (x == NULL) {
		pipe_job_fail(j, -ENOENT, "no transfer %llu",
			      (unsigned long long)j->m.id);
		return;
	}
	unlist(j->svc, x);
	j->rtype = CELLA_MSG_PIPE_OK;
	pipe_job_finish(j);
}

void
pipe_files_request(struct pipe_job *j)
{
	struct pipe_svc *s = j->svc;
	const struct op *op = NULL;
	struct pipe_xfer *x = NULL;

	if (j->m.type == CELLA_MSG_PIPE_ABORT) {
		abort_xfer(j);
		return;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].type == j->m.type)
			op = &ops[i];
	if (op->how == NEW && s->nxfers >= s->conf->max_transfers) {
		pipe_job_fail(j, -EAGAIN, "%u transfers open already "
					  "(pipeline.max_transfers)", s->nxfers);
		return;
	}
	if (op->how == ON || op->how == END) {
		x = find(s, j->m.id, j->pipe);
		if (x == NULL || x->kind != op->kind) {
			pipe_job_fail(j, -ENOENT, "no such transfer %llu",
				      (unsigned long long)j->m.id);
			return;
		}
		if (x->ending || (op->how == END && x->refs > 0)) {
			pipe_job_fail(j, -EBUSY, "transfer %llu is busy",
				      (unsigned long long)j->m.id);
			return;
		}
		x->ending = op->how == END;
	}
	queue(j, op, x);
}

void
pipe_files_closed(struct pipe_svc *s, uint32_t pipe)
{
	struct pipe_xfer *x, *next;

	for (x = LIST_FIRST(&s->xfers); x != NULL; x = next) {
		next = LIST_NEXT(x, link);
		if (x->owner == pipe) {
			cella_log_info("transfer_dropped", "id=%llu path=%s",
				       (unsigned long long)x->id,
				       cella_q(x->path));
			unlist(s, x);
		}
	}
}

void
pipe_files_stop(struct pipe_svc *s)
{
	struct pipe_xfer *x;

	while ((x = LIST_FIRST(&s->xfers)) != NULL)
		unlist(s, x);
}
