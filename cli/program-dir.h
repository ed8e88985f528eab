/* The folder the running lnlfer executable lies in. */
#ifndef LNLFER_PROGRAM_DIR_H
#define LNLFER_PROGRAM_DIR_H

/* The running executable's folder (malloc'd), from /proc/self/exe; NULL where that cannot
 * be read. */
char *cli_program_dir(void);

#endif
