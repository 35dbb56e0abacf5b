/*
 * nsm_dev: the `nsm` provider, the Nitro Secure Module behind /dev/nsm.
 * The kernel driver (drivers/misc/nsm.c, uapi <linux/nsm.h> since Linux
 * 6.8, and the out-of-tree nsm.ko before it) takes one raw message per
 * ioctl: two {address, length} pairs, the request to send and the buffer
 * for the response, whose length the driver rewrites with the response's.
 * Declared here rather than taken from <linux/nsm.h> because Debian 12's
 * kernel headers predate it. Everything but the ioctl itself is split out
 * so that tests can check it.
 */
#ifndef CELLA_NSM_DEV_H
#define CELLA_NSM_DEV_H

#include <linux/ioctl.h>
#include <stddef.h>
#include <stdint.h>

struct cella_nsm_iovec {
	uint64_t addr;
	uint64_t len;
};

struct cella_nsm_raw {
	struct cella_nsm_iovec request;
	struct cella_nsm_iovec response;
};

#define CELLA_NSM_MAGIC 0x0A
#define CELLA_NSM_IOCTL_RAW _IOWR(CELLA_NSM_MAGIC, 0x0, struct cella_nsm_raw)
#define CELLA_NSM_DEV_PATH "/dev/nsm"

/* Describe req[0..req_len) and resp[0..resp_cap) to the driver. */
void cella_nsm_raw_fill(struct cella_nsm_raw *raw, const uint8_t *req,
			size_t req_len, uint8_t *resp, size_t resp_cap);

/*
 * What an ioctl that returned rc (errno err when rc < 0) means: 0 with
 * *resp_len set; -EMSGSIZE when the driver found the request too large
 * (the NSM API's InputTooLarge); -EPROTO when the driver claims a
 * response longer than the buffer; otherwise -err.
 */
int cella_nsm_raw_result(const struct cella_nsm_raw *raw, int rc, int err,
			 size_t resp_cap, size_t *resp_len);

#endif
