/*
 * nsm_dev: the /dev/nsm provider. One descriptor serves every thread: the
 * driver serialises messages itself. The response buffer is the caller's
 * (CELLA_NSM_RESPONSE_MAX bytes, the driver's own maximum), so a transact
 * allocates nothing. Does not retry a failed message other than one
 * interrupted by a signal.
 */
#include "common/nsm/nsm_dev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/nsm/nsm.h"

struct nsm_dev {
	int fd;
};

void
cella_nsm_raw_fill(struct cella_nsm_raw *raw, const uint8_t *req,
		   size_t req_len, uint8_t *resp, size_t resp_cap)
{
	raw->request.addr = (uint64_t)(uintptr_t)req;
	raw->request.len = req_len;
	raw->response.addr = (uint64_t)(uintptr_t)resp;
	raw->response.len = resp_cap;
}

int
cella_nsm_raw_result(const struct cella_nsm_raw *raw, int rc, int err,
		     size_t resp_cap, size_t *resp_len)
{
	if (rc < 0)
		return err > 0 ? -err : -EIO;
	if (raw->response.len > resp_cap)
		return -EPROTO;
	*resp_len = (size_t)raw->response.len;
	return 0;
}

static int
dev_transact(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp,
	     size_t *resp_len)
{
	struct nsm_dev *dev = ctx;
	struct cella_nsm_raw raw;
	int rc;

	if (req_len > CELLA_NSM_REQUEST_MAX)
		return -EMSGSIZE;
	do {
		cella_nsm_raw_fill(&raw, req, req_len, resp,
				   CELLA_NSM_RESPONSE_MAX);
		rc = ioctl(dev->fd, CELLA_NSM_IOCTL_RAW, &raw);
	} while (rc < 0 && errno == EINTR);
	return cella_nsm_raw_result(&raw, rc, rc < 0 ? errno : 0,
				    CELLA_NSM_RESPONSE_MAX, resp_len);
}

static void
dev_close(void *ctx)
{
	struct nsm_dev *dev = ctx;

	close(dev->fd);
	free(dev);
}

static const struct cella_nsm_ops dev_ops = {
	.name = "nsm",
	.transact = dev_transact,
	.close = dev_close,
};

int
cella_nsm_dev_open(const char *path, struct cella_nsm **out,
		   struct cella_diag *d)
{
	struct nsm_dev *dev = NULL;
	int fd = -1, rc;

	if (path == NULL)
		path = CELLA_NSM_DEV_PATH;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		cella_diag_set(d, rc, "cannot open %s: %s", path,
			       cella_strerror(rc));
		goto fail;
	}
	rc = -ENOMEM;
	dev = malloc(sizeof(*dev));
	if (dev == NULL)
		goto fail;
	dev->fd = fd;
	rc = cella_nsm_new(&dev_ops, dev, out);
	if (rc == 0)
		return 0;
fail:
	free(dev);
	if (fd >= 0)
		close(fd);
	return rc;
}
