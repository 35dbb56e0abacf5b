/*
 * exitcode: the one table from a negative errno to a process exit code
 * (<sysexits.h>), for the CLI's verbs and the daemons' start-up. Helpers
 * return -errno; a program maps once, where it returns. The table is what
 * `cella --help` documents:
 *   0   done
 *   1   the command's own failure: a negative answer from a service, or
 *       something refused for its content (any errno not below)
 *   64  usage (-EINVAL)
 *   66  a key or certificate the command needs is missing or unusable
 *       (-ENOKEY)
 *   69  the enclave or a service cannot be reached (connection refused,
 *       reset, aborted, broken pipe, host down or unreachable, network
 *       down or unreachable; not -ENOTCONN, which init answers for a
 *       service whose dependency is not running: its negative answer)
 *   70  internal error (-ENOMEM, -EFAULT, -ENOSYS)
 *   75  temporary: no answer in time (-ETIMEDOUT, -EAGAIN)
 *   77  refused: an operator role, a policy, a permission (-EACCES,
 *       -EPERM, -EKEYREJECTED)
 * Paths have their own table: a path the user named is read (66) or
 * written (73), and the same -ENOENT means a different thing for each.
 * It does not print anything.
 */
#ifndef CELLA_EXITCODE_H
#define CELLA_EXITCODE_H

#include <stdbool.h>

/* The exit code for err (0 or a negative errno). */
int cella_exit_from_err(int err);

/*
 * The exit code for err about a path the user named, read (writing
 * false) or written: 77 for -EPERM and -EXDEV (refused by cella's own
 * rules: a directory others can write, a path leading out of what is
 * allowed), 64 for -EINVAL and -ENAMETOOLONG (a path the rules refuse:
 * '..', too long), else 66 reading and 73 writing (missing, unreadable,
 * not the kind of file needed, in the way). 0 for 0.
 */
int cella_exit_from_path_err(int err, bool writing);

#endif
