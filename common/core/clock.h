/*
 * clock: the process's two clocks, read one way everywhere. The monotonic
 * clock measures durations and deadlines (it never jumps); the wall clock
 * stamps things a person or a peer reads (logs, documents, certificates).
 * It does not format times and does not sleep.
 */
#ifndef CELLA_CLOCK_H
#define CELLA_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds, microseconds, and seconds. */
uint64_t cella_mono_ms(void);
uint64_t cella_mono_us(void);
double cella_mono_s(void);

/* CLOCK_REALTIME in milliseconds and nanoseconds since the epoch. */
uint64_t cella_wall_ms(void);
uint64_t cella_wall_ns(void);

/*
 * The CLOCK_REALTIME instant ms milliseconds from now, as the absolute
 * deadline pthread_cond_timedwait takes.
 */
struct timespec cella_wall_after(unsigned ms);

#endif
