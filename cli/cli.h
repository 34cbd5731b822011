/* cli.h: shared pieces of the `msc` command-line tool. Exit codes: 0 ok,
 * 1 failure, 2 usage error. */
#ifndef MSC_CLI_H
#define MSC_CLI_H

#include <glib.h>

#include "graph.h"

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* Registers built-in ops and loads plugins (refusals are logged at info
 * level and listed by `msc plugins`). */
gboolean cli_init(GError **error);
/* Loads and verifies a model. (transfer full) */
MscGraph *cli_load_model(const char *path, GError **error);
/* Prints "msc: <message>" to stderr. */
void cli_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Prints an error as "msc: <message>", marking unsupported features
 * "msc: UNSUPPORTED: ..." so scripts can tell them from failures. Does not
 * free @e. */
void cli_report(const GError *e);
/* Parses the command's options; on error prints it with the usage hint
 * and returns FALSE. */
gboolean cli_parse(GOptionContext *ctx, int *argc, char ***argv);

/* A seeded random tensor for graph input @v: floats uniform [-1,1), ints
 * 0..9, bool 0/1. Dynamic dims come from @shapes ("NAME=1x3x64x64",
 * nullable) or default to 1. (transfer full) */
MscTensor *cli_random_input(const MscValue *v, const char *const *shapes, guint64 seed, GError **error);

int cmd_info(int argc, char **argv);
int cmd_infer(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_plugins(int argc, char **argv);
int cmd_zoo(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_tool(int argc, char **argv);

#endif
