/* regress-main.c: the plain main() of the fuzz regression tests. Linked
 * with one fuzz/fuzz-TARGET.c (built normally, not with libFuzzer), it
 * feeds every file named on the command line, or found in a directory
 * named there, to LLVMFuzzerTestOneInput. A crash or sanitizer report
 * fails the test; errors reported by the code under test are fine.
 * Files named README* or starting with '.' are skipped. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  gchar *data = NULL;
  gsize len = 0;
  GError *e = NULL;
  if (!g_file_get_contents(path, &data, &len, &e)) {
    fprintf(stderr, "regress: %s\n", e->message);
    g_error_free(e);
    return 1;
  }
  /* a copy of exactly len bytes, so ASan sees reads past the end */
  uint8_t *copy = g_malloc(len ? len : 1);
  memcpy(copy, data, len);
  g_free(data);
  LLVMFuzzerTestOneInput(copy, len);
  g_free(copy);
  printf("ok %s\n", path);
  fflush(stdout);
  return 0;
}

static int compare_names(gconstpointer a, gconstpointer b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  int bad = 0, n = 0;
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    if (!g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
      bad |= run_file(argv[i]);
      n++;
      continue;
    }
    GDir *d = g_dir_open(argv[i], 0, NULL);
    if (!d) {
      fprintf(stderr, "regress: cannot open %s\n", argv[i]);
      return 1;
    }
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *nm;
    while ((nm = g_dir_read_name(d)))
      if (nm[0] != '.' && strncmp(nm, "README", 6) != 0) g_ptr_array_add(names, g_build_filename(argv[i], nm, NULL));
    g_dir_close(d);
    g_ptr_array_sort(names, compare_names);
    for (guint k = 0; k < names->len; k++) {
      bad |= run_file(g_ptr_array_index(names, k));
      n++;
    }
    g_ptr_array_unref(names);
  }
  printf("%d input(s) ran without a crash\n", n);
  return bad;
}
