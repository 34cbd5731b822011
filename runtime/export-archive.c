/* export-archive.c: .tar.gz exports (see export-archive.h). */
#include "export-archive.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "error.h"
#include "msc-config.h"
#include "msc-limits.h"

#ifndef MSC_HAVE_LIBARCHIVE
#define MSC_HAVE_LIBARCHIVE 0
#endif

#if MSC_HAVE_LIBARCHIVE
#include <archive.h>
#include <archive_entry.h>
#endif

#define COPY_CHUNK (256 * 1024)

gboolean msc_export_archive_name(const char *path) {
  if (!path) return FALSE;
  size_t n = strlen(path);
  return (n > 7 && !g_ascii_strcasecmp(path + n - 7, ".tar.gz")) || (n > 4 && !g_ascii_strcasecmp(path + n - 4, ".tgz"));
}

void msc_export_dir_remove(const char *dir) {
  if (!dir) return;
  GStatBuf st;
  if (g_lstat(dir, &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
      g_autofree char *c = g_build_filename(dir, n, NULL);
      msc_export_dir_remove(c);
    }
    if (d) g_dir_close(d);
    g_rmdir(dir);
  } else {
    g_unlink(dir);
  }
}

char *msc_export_archive_root(const char *dir) {
  g_autofree char *ini = g_build_filename(dir, "config.ini", NULL);
  if (g_file_test(ini, G_FILE_TEST_IS_REGULAR)) return g_strdup(dir);
  GDir *d = g_dir_open(dir, 0, NULL);
  char *only = NULL;
  guint n = 0;
  const char *name;
  while (d && (name = g_dir_read_name(d))) {
    n++;
    g_free(only);
    only = g_build_filename(dir, name, NULL);
  }
  if (d) g_dir_close(d);
  if (n == 1 && g_file_test(only, G_FILE_TEST_IS_DIR) && !g_file_test(only, G_FILE_TEST_IS_SYMLINK)) {
    g_autofree char *sub_ini = g_build_filename(only, "config.ini", NULL);
    if (g_file_test(sub_ini, G_FILE_TEST_IS_REGULAR)) return only;
  }
  g_free(only);
  return g_strdup(dir);
}

#if MSC_HAVE_LIBARCHIVE

/* ---- writing ---- */

typedef struct {
  char *rel;  /* path inside the archive, "/"-separated */
  char *path; /* on disk */
  gboolean is_dir;
} Item;

static void item_free(gpointer p) {
  Item *it = p;
  g_free(it->rel);
  g_free(it->path);
  g_free(it);
}

static int item_cmp(gconstpointer a, gconstpointer b) {
  return strcmp((*(Item *const *)a)->rel, (*(Item *const *)b)->rel);
}

/* Lists @dir recursively into @items (folders before their contents). */
static gboolean collect(const char *dir, const char *rel, GPtrArray *items, GError **error) {
  g_autoptr(GError) e = NULL;
  GDir *d = g_dir_open(dir, 0, &e);
  if (!d) {
    msc_set_error(error, MSC_ERR_IO, "%s: %s", dir, e->message);
    return FALSE;
  }
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  const char *n;
  while ((n = g_dir_read_name(d))) g_ptr_array_add(names, g_strdup(n));
  g_dir_close(d);
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < names->len; i++) {
    const char *name = names->pdata[i];
    Item *it = g_new0(Item, 1);
    it->path = g_build_filename(dir, name, NULL);
    it->rel = g_strconcat(rel, "/", name, NULL);
    g_ptr_array_add(items, it);
    GStatBuf st;
    if (g_lstat(it->path, &st) != 0) {
      msc_set_error(error, MSC_ERR_IO, "%s: %s", it->path, g_strerror(errno));
      ok = FALSE;
    } else if (S_ISDIR(st.st_mode)) {
      it->is_dir = TRUE;
      ok = collect(it->path, it->rel, items, error);
    } else if (!S_ISREG(st.st_mode)) {
      msc_set_error(error, MSC_ERR_IO, "%s: not a regular file or folder; an export archive holds only those",
                    it->path);
      ok = FALSE;
    }
  }
  g_ptr_array_unref(names);
  return ok;
}

static gboolean write_item(struct archive *a, const Item *it, GError **error) {
  struct archive_entry *e = archive_entry_new();
  gboolean ok = FALSE;
  int fd = -1;
  char *buf = NULL;
  archive_entry_set_pathname(e, it->rel);
  archive_entry_set_mtime(e, (time_t)(g_get_real_time() / G_USEC_PER_SEC), 0);
  if (it->is_dir) {
    archive_entry_set_filetype(e, AE_IFDIR);
    archive_entry_set_perm(e, 0755);
    if (archive_write_header(a, e) != ARCHIVE_OK) goto arch_err;
    ok = TRUE;
    goto out;
  }
  fd = g_open(it->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    msc_set_error(error, MSC_ERR_IO, "%s: %s", it->path, g_strerror(errno));
    goto out;
  }
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, st.st_size);
  if (archive_write_header(a, e) != ARCHIVE_OK) goto arch_err;
  buf = g_malloc(COPY_CHUNK);
  gint64 left = st.st_size;
  while (left > 0) {
    ssize_t n = read(fd, buf, (size_t)MIN(left, (gint64)COPY_CHUNK));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      msc_set_error(error, MSC_ERR_IO, "%s: %s while packing", it->path, n < 0 ? g_strerror(errno) : "file shrank");
      goto out;
    }
    if (archive_write_data(a, buf, (size_t)n) != n) goto arch_err;
    left -= n;
  }
  ok = TRUE;
  goto out;
arch_err:
  msc_set_error(error, MSC_ERR_IO, "%s: %s", it->rel, archive_error_string(a) ? archive_error_string(a) : "write failed");
out:
  if (fd >= 0) close(fd);
  g_free(buf);
  archive_entry_free(e);
  return ok;
}

/* The archive's top folder: its base name less .tar.gz / .tgz. */
static char *top_name(const char *archive_path) {
  g_autofree char *base = g_path_get_basename(archive_path);
  size_t n = strlen(base);
  size_t cut = n > 7 && !g_ascii_strcasecmp(base + n - 7, ".tar.gz") ? 7 : n > 4 && !g_ascii_strcasecmp(base + n - 4, ".tgz") ? 4 : 0;
  base[n - cut] = 0;
  return g_strdup(base[0] && strcmp(base, ".") && strcmp(base, "..") ? base : "export");
}

gboolean msc_export_archive_write(const char *dir, const char *archive_path, GError **error) {
  g_return_val_if_fail(dir != NULL && archive_path != NULL, FALSE);
  g_autofree char *top = top_name(archive_path);
  GPtrArray *items = g_ptr_array_new_with_free_func(item_free);
  Item *root = g_new0(Item, 1);
  root->rel = g_strdup(top);
  root->path = g_strdup(dir);
  root->is_dir = TRUE;
  g_ptr_array_add(items, root);
  if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
    msc_set_error(error, MSC_ERR_IO, "%s: no such folder to pack into %s", dir, archive_path);
    g_ptr_array_unref(items);
    return FALSE;
  }
  if (!collect(dir, top, items, error)) {
    g_ptr_array_unref(items);
    return FALSE;
  }
  g_ptr_array_sort(items, item_cmp);

  g_autofree char *parent = g_path_get_dirname(archive_path);
  g_autofree char *base = g_path_get_basename(archive_path);
  g_autofree char *tmp = g_strdup_printf("%s/.%s.tmp-XXXXXX", parent, base);
  int fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) {
    msc_set_error(error, MSC_ERR_IO, "%s: cannot create a temp file: %s", archive_path, g_strerror(errno));
    g_ptr_array_unref(items);
    return FALSE;
  }
  struct archive *a = archive_write_new();
  gboolean ok = archive_write_add_filter_gzip(a) == ARCHIVE_OK && archive_write_set_format_pax_restricted(a) == ARCHIVE_OK &&
                archive_write_open_fd(a, fd) == ARCHIVE_OK;
  if (!ok)
    msc_set_error(error, MSC_ERR_IO, "%s: %s", archive_path, archive_error_string(a) ? archive_error_string(a) : "libarchive set-up failed");
  for (guint i = 0; ok && i < items->len; i++) ok = write_item(a, items->pdata[i], error);
  if (archive_write_close(a) != ARCHIVE_OK && ok) {
    msc_set_error(error, MSC_ERR_IO, "%s: %s", archive_path, archive_error_string(a) ? archive_error_string(a) : "write failed");
    ok = FALSE;
  }
  archive_write_free(a);
  if (ok && fsync(fd) != 0) {
    msc_set_error(error, MSC_ERR_IO, "%s: %s", archive_path, g_strerror(errno));
    ok = FALSE;
  }
  if (close(fd) != 0 && ok) {
    msc_set_error(error, MSC_ERR_IO, "%s: %s", archive_path, g_strerror(errno));
    ok = FALSE;
  }
  if (ok && g_rename(tmp, archive_path) != 0) {
    msc_set_error(error, MSC_ERR_IO, "%s: %s", archive_path, g_strerror(errno));
    ok = FALSE;
  }
  if (!ok) {
    g_unlink(tmp);
    if (error && *error) g_prefix_error(error, "%s: ", archive_path);
  }
  g_ptr_array_unref(items);
  return ok;
}

/* ---- reading ---- */

/* An entry name for messages: escaped, at most 120 bytes. (transfer full) */
static char *show_name(const char *name) {
  if (!name) return g_strdup("(unnamed)");
  g_autofree char *cut = g_strndup(name, 120);
  char *s = g_strescape(cut, NULL);
  if (strlen(name) > 120) {
    char *t = g_strconcat(s, "...", NULL);
    g_free(s);
    s = t;
  }
  return s;
}

/* Why @part may not be a path component; NULL when it may. */
static const char *bad_component(const char *part, guint depth) {
  if (!strcmp(part, "..")) return "'..' component";
  if (strlen(part) > 255) return "name component longer than 255 bytes";
  for (const unsigned char *c = (const unsigned char *)part; *c; c++)
    if (*c < 0x20 || *c == 0x7f) return "control character in the name";
  if (depth > MSC_ARCHIVE_MAX_DEPTH) return "nested deeper than " G_STRINGIFY(MSC_ARCHIVE_MAX_DEPTH) " folders";
  return NULL;
}

/* Normalised relative path of an entry ("." for the top folder itself),
 * or NULL with @why set. (transfer full) */
static char *safe_rel(const char *name, const char **why) {
  if (!name || !name[0]) *why = "empty name";
  else if (name[0] == '/') *why = "absolute path";
  else if (strchr(name, '\\')) *why = "backslash in the name";
  if (*why) return NULL;
  g_auto(GStrv) parts = g_strsplit(name, "/", -1);
  GString *out = g_string_new(NULL);
  guint depth = 0;
  for (char **p = parts; *p; p++) {
    if (!**p || !strcmp(*p, ".")) continue;
    if ((*why = bad_component(*p, ++depth))) {
      g_string_free(out, TRUE);
      return NULL;
    }
    if (out->len) g_string_append_c(out, '/');
    g_string_append(out, *p);
  }
  if (!out->len) g_string_append_c(out, '.');
  return g_string_free(out, FALSE);
}

/* Creates the folders of @rel under @root (mode 0700); each one must be a
 * real folder (never a symlink: we create them all ourselves). */
static gboolean make_parents(const char *root, const char *rel, gboolean include_last, const char **why) {
  g_auto(GStrv) parts = g_strsplit(rel, "/", -1);
  guint n = g_strv_length(parts);
  GString *p = g_string_new(root);
  gboolean ok = TRUE;
  for (guint i = 0; ok && i + (include_last ? 0 : 1) < n; i++) {
    g_string_append_c(p, '/');
    g_string_append(p, parts[i]);
    GStatBuf st;
    if (g_lstat(p->str, &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        *why = "a file is in the way of a folder";
        ok = FALSE;
      }
    } else if (g_mkdir(p->str, 0700) != 0) {
      *why = "cannot create its folder";
      ok = FALSE;
    }
  }
  g_string_free(p, TRUE);
  return ok;
}

static const char *type_refusal(struct archive_entry *e) {
  if (archive_entry_hardlink(e)) return "hard link";
  if (archive_entry_symlink(e)) return "symlink";
  switch (archive_entry_filetype(e)) {
  case AE_IFREG:
  case AE_IFDIR: return NULL;
  case AE_IFLNK: return "symlink";
  case AE_IFCHR: return "character device";
  case AE_IFBLK: return "block device";
  case AE_IFIFO: return "FIFO";
  case AE_IFSOCK: return "socket";
  default: return "unknown entry type";
  }
}

char *msc_export_archive_extract(const char *archive_path, GError **error) {
  g_return_val_if_fail(archive_path != NULL, NULL);
  MscLimits lim = msc_limits_get();
  guint64 max_file = lim.model_bytes;
  guint64 max_total = lim.model_bytes > G_MAXUINT64 - lim.total_bytes ? G_MAXUINT64 : lim.model_bytes + lim.total_bytes;
  GStatBuf ast;
  if (g_stat(archive_path, &ast) != 0) {
    msc_set_error(error, MSC_ERR_IO, "%s: %s", archive_path, g_strerror(errno));
    return NULL;
  }
  if (!S_ISREG(ast.st_mode)) {
    msc_set_error(error, MSC_ERR_IO, "%s: not a regular file", archive_path);
    return NULL;
  }
  g_autoptr(GError) te = NULL;
  char *dir = g_dir_make_tmp("msc-import-XXXXXX", &te);
  if (!dir) {
    msc_set_error(error, MSC_ERR_IO, "%s: cannot create a temp folder: %s", archive_path, te->message);
    return NULL;
  }
  struct archive *a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_none(a);
  archive_read_support_format_tar(a);
  GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *buf = g_malloc(COPY_CHUNK);
  gboolean ok = TRUE;
  guint64 total = 0;
  guint n_entries = 0;
  int fd = -1;
  if (archive_read_open_filename(a, archive_path, 64 * 1024) != ARCHIVE_OK) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: not a tar archive: %s", archive_path,
                  archive_error_string(a) ? archive_error_string(a) : "unreadable");
    ok = FALSE;
  }
  struct archive_entry *e = NULL;
  while (ok) {
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) {
      if (n_entries == 0) {
        msc_set_error(error, MSC_ERR_CORRUPT, "%s: empty archive", archive_path);
        ok = FALSE;
      }
      break;
    }
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      const char *why = archive_error_string(a) ? archive_error_string(a) : "read error";
      if (n_entries == 0) msc_set_error(error, MSC_ERR_CORRUPT, "%s: not a tar archive: %s", archive_path, why);
      else msc_set_error(error, MSC_ERR_CORRUPT, "%s: corrupt archive after %u entries: %s", archive_path, n_entries, why);
      ok = FALSE;
      break;
    }
    const char *name = archive_entry_pathname(e);
    g_autofree char *shown = show_name(name);
    const char *why = NULL;
    if (++n_entries > MSC_ARCHIVE_MAX_ENTRIES) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: more than %d entries: refused", archive_path, MSC_ARCHIVE_MAX_ENTRIES);
      ok = FALSE;
      break;
    }
    g_autofree char *rel = NULL;
    const char *type_why = type_refusal(e);
    if (type_why) {
      why = type_why;
    } else if (!(rel = safe_rel(name, &why))) {
      /* why set */
    } else if (archive_entry_sparse_count(e) > 0) {
      why = "sparse file";
    } else if (g_hash_table_contains(seen, rel)) {
      why = "duplicate entry";
    }
    gboolean is_dir = !why && archive_entry_filetype(e) == AE_IFDIR;
    gint64 size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    if (!why && !is_dir) {
      if (size < 0) why = "negative size";
      else if ((guint64)size > max_file) {
        g_autofree char *cap = msc_limits_format_bytes(max_file);
        msc_set_error(error, MSC_ERR_CORRUPT,
                      "%s: entry '%s': %" G_GINT64_FORMAT " bytes exceeds the %s file limit (set " MSC_LIMIT_ENV_MODEL_BYTES
                      " to raise it): refused",
                      archive_path, shown, size, cap);
        ok = FALSE;
        break;
      } else if ((guint64)size > max_total - total) {
        g_autofree char *cap = msc_limits_format_bytes(max_total);
        msc_set_error(error, MSC_ERR_CORRUPT,
                      "%s: entry '%s': the entries exceed the %s total limit (model + total bytes; set "
                      MSC_LIMIT_ENV_TOTAL_BYTES " to raise it): refused",
                      archive_path, shown, cap);
        ok = FALSE;
        break;
      }
    }
    if (why) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: entry '%s': %s: refused", archive_path, shown, why);
      ok = FALSE;
      break;
    }
    g_hash_table_add(seen, g_strdup(rel));
    if (!strcmp(rel, ".")) continue;
    if (!make_parents(dir, rel, is_dir, &why)) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: entry '%s': %s: refused", archive_path, shown, why);
      ok = FALSE;
      break;
    }
    if (is_dir) continue;
    total += (guint64)size;
    g_autofree char *out = g_build_filename(dir, rel, NULL);
    fd = g_open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      msc_set_error(error, MSC_ERR_IO, "%s: entry '%s': %s", archive_path, shown, g_strerror(errno));
      ok = FALSE;
      break;
    }
    guint64 got = 0;
    for (;;) {
      la_ssize_t n = archive_read_data(a, buf, COPY_CHUNK);
      if (n == 0) break;
      if (n < 0) {
        msc_set_error(error, MSC_ERR_CORRUPT, "%s: entry '%s': %s", archive_path, shown,
                      archive_error_string(a) ? archive_error_string(a) : "truncated data");
        ok = FALSE;
        break;
      }
      got += (guint64)n;
      if (got > (guint64)size) {
        msc_set_error(error, MSC_ERR_CORRUPT, "%s: entry '%s': more data than its declared %" G_GINT64_FORMAT " bytes: refused",
                      archive_path, shown, size);
        ok = FALSE;
        break;
      }
      for (la_ssize_t off = 0; ok && off < n;) {
        ssize_t w = write(fd, buf + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          msc_set_error(error, MSC_ERR_IO, "%s: entry '%s': %s", archive_path, shown, g_strerror(errno));
          ok = FALSE;
        }
        off += w > 0 ? w : 0;
      }
      if (!ok) break;
    }
    if (close(fd) != 0 && ok) {
      msc_set_error(error, MSC_ERR_IO, "%s: entry '%s': %s", archive_path, shown, g_strerror(errno));
      ok = FALSE;
    }
    fd = -1;
    if (ok && got != (guint64)size) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: entry '%s': %" G_GUINT64_FORMAT " of %" G_GINT64_FORMAT " bytes: truncated",
                    archive_path, shown, got, size);
      ok = FALSE;
    }
  }
  archive_read_free(a);
  g_hash_table_unref(seen);
  if (!ok) {
    msc_export_dir_remove(dir);
    g_free(dir);
    return NULL;
  }
  return dir;
}

#else /* !MSC_HAVE_LIBARCHIVE */

gboolean msc_export_archive_write(const char *dir, const char *archive_path, GError **error) {
  msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: UNSUPPORTED: .tar.gz exports need libarchive (rebuild with libarchive-dev)",
                archive_path);
  return FALSE;
}

char *msc_export_archive_extract(const char *archive_path, GError **error) {
  msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: UNSUPPORTED: reading .tar.gz exports needs libarchive (rebuild with libarchive-dev)",
                archive_path);
  return NULL;
}

#endif
