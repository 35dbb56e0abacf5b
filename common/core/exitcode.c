/*
 * exitcode: errno to exit code, as one table (exitcode.h has it in
 * prose). A row per errno, so that the table is read, not a switch.
 */
#include "common/core/exitcode.h"

#include <errno.h>
#include <stddef.h>
#include <sysexits.h>

static const struct {
	int err;
	int code;
} table[] = {
	{EINVAL, EX_USAGE},
	{ENOKEY, EX_NOINPUT},
	{ECONNREFUSED, EX_UNAVAILABLE},
	{ECONNRESET, EX_UNAVAILABLE},
	{ECONNABORTED, EX_UNAVAILABLE},
	{EPIPE, EX_UNAVAILABLE},
	{EHOSTDOWN, EX_UNAVAILABLE},
	{EHOSTUNREACH, EX_UNAVAILABLE},
	{ENETDOWN, EX_UNAVAILABLE},
	{ENETUNREACH, EX_UNAVAILABLE},
	{ENOMEM, EX_SOFTWARE},
	{EFAULT, EX_SOFTWARE},
	{ENOSYS, EX_SOFTWARE},
	{ETIMEDOUT, EX_TEMPFAIL},
	{EAGAIN, EX_TEMPFAIL},
	{EACCES, EX_NOPERM},
	{EPERM, EX_NOPERM},
	{EKEYREJECTED, EX_NOPERM},
};

int
cella_exit_from_err(int err)
{
	if (err == 0)
		return 0;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (-table[i].err == err)
			return table[i].code;
	return 1;
}

int
cella_exit_from_path_err(int err, bool writing)
{
	switch (err) {
	case 0: return 0;
	case -EPERM:
	case -EXDEV: return EX_NOPERM;
	case -EACCES: return writing ? EX_CANTCREAT : EX_NOINPUT;
	case -EINVAL:
	case -ENAMETOOLONG: return EX_USAGE;
	default: return writing ? EX_CANTCREAT : EX_NOINPUT;
	}
}
