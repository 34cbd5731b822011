/* cmd-plugins.c: `msc plugins [FILE]`: every plugin found (path, kind,
 * version, what it registered) and each refused file with its reason. */
#include <stdio.h>

#include "cli.h"
#include "ops.h"
#include "plugin.h"

static void print_plugin(const MscPlugin *p) {
  printf("%s %s (%s)\n  path: %s\n  description: %s\n  abi: %u.%u\n", p->name, p->version,
         msc_plugin_kind_name(p->kind), p->path, p->description, p->abi_major, p->abi_minor);
  g_auto(GStrv) names = msc_plugin_dup_registered(p);
  printf("  registered:");
  for (char **n = names; n && *n; n++) printf(" %s", *n);
  printf("%s\n", names && *names ? "" : " (nothing)");
}

int cmd_plugins(int argc, char **argv) {
  g_autoptr(GOptionContext) ctx =
      g_option_context_new("[FILE] - list plugins and load failures, or load one plugin FILE and report");
  g_option_context_set_description(ctx, "Search order: MSC_PLUGIN_PATH (absolute dirs, ':'-separated), the build "
                                        "tree, then the install dir; never the current directory.");
  if (!cli_parse(ctx, &argc, &argv)) return CLI_USAGE;
  if (argc > 2) {
    cli_error("plugins: at most one FILE (see --help)");
    return CLI_USAGE;
  }
  GError *e = NULL;
  if (!msc_ops_register_builtins(&e)) {
    cli_report(e);
    g_error_free(e);
    return CLI_FAIL;
  }
  if (argc == 2) {
    MscPlugin *p = msc_plugin_load_file(argv[1], &e);
    if (!p) {
      cli_error("could not load plugin file: %s", e->message);
      g_error_free(e);
      return CLI_FAIL;
    }
    print_plugin(p);
    return CLI_OK;
  }
  msc_plugins_load_all(NULL);
  g_autoptr(GPtrArray) loaded = msc_plugins_loaded();
  g_autoptr(GPtrArray) failed = msc_plugins_failures();
  printf("%u plugin%s loaded\n", loaded->len, loaded->len == 1 ? "" : "s");
  for (guint i = 0; i < loaded->len; i++) print_plugin(g_ptr_array_index(loaded, i));
  if (failed->len) {
    printf("%u refused:\n", failed->len);
    for (guint i = 0; i < failed->len; i++) printf("  %s\n", ((MscPluginFailure *)g_ptr_array_index(failed, i))->message);
  }
  return CLI_OK;
}
