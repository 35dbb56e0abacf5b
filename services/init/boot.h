/*
 * boot: what PID 1 of an enclave does before any service runs, and after
 * the last one stopped. Mount the kernel file systems that are absent,
 * bring up lo, seed the kernel's entropy pool from the NSM (the only use of
 * the NSM outside ra-web), and send the Nitro heartbeat to the parent so
 * that nitro-cli (or the local emulator) knows the enclave booted. Each duty
 * is chosen by config, reports its own failure in the log and never stops
 * the boot: a PID 1 that gives up takes the enclave with it. At the end,
 * the final sweep: SIGTERM then SIGKILL to whatever is left (PID 1 only),
 * sync, and power off.
 */
#ifndef INIT_BOOT_H
#define INIT_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/nsm/nsm.h"

/* Mount what is absent; returns how many mounts failed. */
int init_boot_mounts(void);
/* Bring lo up (the kernel gives it 127.0.0.1/8 and ::1). 0 or -errno. */
int init_boot_loopback(void);
/*
 * Seed the pool from /dev/nsm when it exists (0 and a log line when it
 * does not). 0 or -errno.
 */
int init_boot_entropy(void);
/* Credit n bytes from nsm's GetRandom to the pool behind random_fd. */
int init_boot_seed(struct cella_nsm *nsm, int random_fd, size_t n);
/* Connect url, send 0xB7, expect 0xB7 back, all within timeout_ms. */
int init_boot_heartbeat(const char *url, uint64_t timeout_ms);

/*
 * The end: as PID 1, SIGTERM every process left, reap for up to a second,
 * SIGKILL, reap; then sync and, as PID 1 with poweroff, power off. Returns
 * (when not powered off) a count that is 0 when the sweep found nothing.
 */
int init_boot_final(bool pid1, bool poweroff);

#endif
