/* fuzz-common.h: shared set-up of the fuzz targets.
 *
 * Each target defines LLVMFuzzerTestOneInput(). The same file builds two
 * ways: with clang -fsanitize=fuzzer (libFuzzer supplies main) and, for the
 * regression suite, with gcc plus tests/fuzz-regressions/regress-main.c
 * (a plain main that feeds files). Anything the targets treat as a bug
 * calls fuzz_bug(), which aborts so both drivers see a crash. */
#ifndef MSC_FUZZ_COMMON_H
#define MSC_FUZZ_COMMON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib.h>

#include "error.h"
#include "ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with a one-line reason: a wrong result the sanitizers cannot see. */
static G_GNUC_UNUSED G_GNUC_NORETURN G_GNUC_PRINTF(1, 2) void fuzz_bug(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("FUZZ BUG: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

/* Silences GLib's default handler below critical: fuzzed input makes the
 * core warn a lot, and printing costs more than the parsing. Criticals
 * (g_return_if_fail: an API misused by the core itself) stay fatal. */
static void fuzz_log_handler(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer user) {
  (void)user;
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) {
    fprintf(stderr, "%s-CRITICAL: %s\n", domain ? domain : "", message);
    abort();
  }
}

/* Registers the built-in ops once; aborts when that fails (a broken build,
 * not a finding). */
static G_GNUC_UNUSED void fuzz_init_once(void) {
  static int done;
  if (done) return;
  done = 1;
  g_log_set_default_handler(fuzz_log_handler, NULL);
  GError *e = NULL;
  if (!msc_ops_register_builtins(&e)) {
    fprintf(stderr, "fuzz: cannot register built-in ops: %s\n", e ? e->message : "?");
    exit(2);
  }
}

#endif
