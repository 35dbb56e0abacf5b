/*
 * rmtree: remove a test's scratch directory and everything in it, without
 * a shell. Header-only, for unit tests (the shell tests have lib.sh).
 */
#ifndef CELLA_TEST_RMTREE_H
#define CELLA_TEST_RMTREE_H

#include <ftw.h>
#include <stdio.h>

static int
rmtree_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* 0 when dir and everything below it is gone. */
static inline int
rmtree(const char *dir)
{
	return nftw(dir, rmtree_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
