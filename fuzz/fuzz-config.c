/* fuzz-config.c: the INI pipeline configuration loader
 * (msc_config_load_buffer, runtime/config.h) with the plugins of the build
 * tree loaded (the [runner] and [tool.NAME] schemas come from them). A
 * config that loads is read through every accessor that takes no key and
 * written back with msc_config_to_ini(), which must load again and write
 * the same text. Errors are fine; crashes, UB, leaks, GLib criticals and
 * a round trip that changes are bugs. */
#include <string.h>

#include "config.h"
#include "fuzz-common.h"
#include "plugin.h"

static void read_all(const MscConfig *c) {
  for (const char *const *s = msc_config_core_sections(); *s; s++) {
    (void)msc_config_has_section(c, *s);
    MscOptions *o = msc_config_to_options(c, *s);
    msc_config_options_free(o);
  }
  char **tools = msc_config_tools(c);
  for (char **t = tools; t && *t; t++) {
    char *sec = g_strconcat("tool.", *t, NULL);
    if (!msc_config_has_section(c, sec)) fuzz_bug("tool '%s' listed but section '%s' absent", *t, sec);
    msc_config_options_free(msc_config_to_options(c, sec));
    g_free(sec);
  }
  g_strfreev(tools);
  g_strfreev(msc_config_dup_shapes(c));
  (void)msc_config_source(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int plugins_loaded;
  fuzz_init_once();
  if (!plugins_loaded) {
    plugins_loaded = 1;
    msc_plugins_load_all(NULL);
  }
  if (size > MSC_CONFIG_MAX_SIZE + 16) return 0;
  GError *e = NULL;
  MscConfig *c = msc_config_load_buffer((const char *)data, size, "/fuzz/fuzz.ini", &e);
  if (!c) {
    if (!e || !e->message) fuzz_bug("msc_config_load_buffer failed without an error message");
    if (strchr(e->message, '\n')) fuzz_bug("config error message is not one line: %s", e->message);
    g_error_free(e);
    return 0;
  }
  read_all(c);
  char *ini = msc_config_to_ini(c);
  MscConfig *c2 = msc_config_load_buffer(ini, strlen(ini), "/fuzz/fuzz.ini", &e);
  if (!c2) fuzz_bug("msc_config_to_ini() text does not load again: %s\n--- text:\n%s", e ? e->message : "?", ini);
  char *ini2 = msc_config_to_ini(c2);
  if (strcmp(ini, ini2) != 0) fuzz_bug("config round trip changed the text:\n--- first:\n%s--- second:\n%s", ini, ini2);
  g_free(ini2);
  msc_config_free(c2);
  g_free(ini);
  msc_config_free(c);
  return 0;
}
