/* cmd-config.c: `msc config` describes configuration schemas and checks
 * INI files (docs/config.md).
 *   msc config --describe NAME   schema of a core section, runner or tool
 *   msc config --check FILE.ini  validate: "FILE: OK" or the error, exit 1
 *   msc config --print FILE.ini  the effective config (defaults filled in)
 *   msc config --list            core sections, runners and tools */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "registry.h"

static void list_all(void) {
  printf("core sections:");
  for (const char *const *s = msc_config_core_sections(); *s; s++) printf(" [%s]", *s);
  printf("\n");
  static const struct {
    const char *prefix, *label;
    MscRegKind kind;
  } kinds[] = {{"msc.runner.", "runners", MSC_REG_RUNNER}, {"msc.tool.", "tools ([tool.NAME])", MSC_REG_TOOL}};
  for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
    g_autoptr(GPtrArray) l = msc_registry_list(kinds[k].prefix, kinds[k].kind);
    printf("%s:", kinds[k].label);
    for (guint i = 0; i < l->len; i++)
      printf(" %s", ((const MscRegEntry *)g_ptr_array_index(l, i))->name + strlen(kinds[k].prefix));
    printf("%s\n", l->len ? "" : " (none)");
  }
}

int cmd_config(int argc, char **argv) {
  g_autofree char *describe = NULL, *check = NULL, *print = NULL;
  gboolean list = FALSE;
  GOptionEntry entries[] = {
      {"describe", 'd', 0, G_OPTION_ARG_STRING, &describe, "print the schema of a section, runner or tool", "NAME"},
      {"check", 'c', 0, G_OPTION_ARG_FILENAME, &check, "validate an INI file", "FILE.ini"},
      {"print", 'p', 0, G_OPTION_ARG_FILENAME, &print, "print the effective config of an INI file", "FILE.ini"},
      {"list", 'l', 0, G_OPTION_ARG_NONE, &list, "list core sections, runners and tools", NULL},
      {NULL}};
  g_autoptr(GOptionContext) ctx = g_option_context_new("- pipeline configuration files");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx, "Exactly one of --describe, --check, --print, --list. See docs/config.md.");
  if (!cli_parse(ctx, &argc, &argv)) return CLI_USAGE;
  int modes = !!describe + !!check + !!print + !!list;
  if (modes != 1 || argc > 1) {
    cli_error("config: give exactly one of --describe NAME, --check FILE, --print FILE, --list (see --help)");
    return CLI_USAGE;
  }
  GError *e = NULL;
  /* plugins declare the runner and tool schemas, so load them first */
  if (!cli_init(&e)) {
    cli_report(e);
    g_error_free(e);
    return CLI_FAIL;
  }
  if (list) {
    list_all();
    return CLI_OK;
  }
  if (describe) {
    g_autofree char *text = msc_config_describe(describe, &e);
    if (!text) {
      cli_report(e);
      g_error_free(e);
      return CLI_FAIL;
    }
    fputs(text, stdout);
    return CLI_OK;
  }
  g_autoptr(MscConfig) cfg = msc_config_load_file(check ? check : print, &e);
  if (!cfg) {
    cli_report(e);
    g_error_free(e);
    return CLI_FAIL;
  }
  if (check) {
    printf("%s: OK\n", check);
  } else {
    g_autofree char *text = msc_config_to_ini(cfg);
    fputs(text, stdout);
  }
  return CLI_OK;
}
