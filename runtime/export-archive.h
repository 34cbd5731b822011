/* export-archive.h: pipeline exports as .tar.gz files (libarchive).
 *
 * Writing packs a finished export folder into NAME.tar.gz with one top
 * folder NAME/ (what `tar xzf` gives back), entries sorted, regular files
 * and folders only; the file is written to a temp file beside it and
 * renamed, so a failure leaves the old archive or nothing.
 *
 * Reading treats the archive as untrusted input (it may come from another
 * machine): it is extracted into a new private folder (mode 0700) under
 * the temp dir, and refused, with a one-line error naming the archive and
 * the entry, on any entry that is an absolute path, has a ".." component,
 * is a symlink, hard link, device, FIFO or socket, is sparse, is larger
 * than the model_bytes limit, makes the total larger than model_bytes +
 * total_bytes (core/msc-limits.h), repeats an earlier name, or nests
 * deeper than MSC_ARCHIVE_MAX_DEPTH; also on more than
 * MSC_ARCHIVE_MAX_ENTRIES entries and on anything but a tar stream,
 * gzip-compressed or not. Files are created with O_EXCL | O_NOFOLLOW;
 * a refused archive leaves nothing behind.
 *
 * Built without libarchive (MSC_HAVE_LIBARCHIVE 0), every function but
 * msc_export_archive_name() fails with MSC_ERR_UNSUPPORTED.
 */
#ifndef MSC_EXPORT_ARCHIVE_H
#define MSC_EXPORT_ARCHIVE_H

#include <glib.h>

G_BEGIN_DECLS

#define MSC_ARCHIVE_MAX_ENTRIES 100000
#define MSC_ARCHIVE_MAX_DEPTH 16

/**
 * msc_export_archive_name:
 * @path: an [export] dir value.
 *
 * Returns: TRUE when @path names an archive export (ends in .tar.gz or
 * .tgz, ASCII case-insensitive).
 */
gboolean msc_export_archive_name(const char *path);

/**
 * msc_export_archive_write:
 * @dir: (transfer none): the folder to pack (its files and sub-folders;
 *   symlinks and special files in it are errors).
 * @archive_path: (transfer none): the .tar.gz to write; its top folder is
 *   its base name without .tar.gz / .tgz.
 * @error: (nullable): MSC_ERR_IO naming the file on failure.
 *
 * Writes atomically (temp file in the archive's folder, then rename); on
 * failure the temp file is removed and an existing @archive_path is left
 * as it was.
 *
 * Returns: TRUE on success.
 */
gboolean msc_export_archive_write(const char *dir, const char *archive_path, GError **error);

/**
 * msc_export_archive_extract:
 * @archive_path: (transfer none): a .tar.gz (or plain .tar) file.
 * @error: (nullable): MSC_ERR_CORRUPT for a refused or damaged archive,
 *   MSC_ERR_IO for a file system error; one line naming the archive (and
 *   the entry, when one is at fault).
 *
 * Extracts into a new private folder (see the file comment for what is
 * refused). The caller removes it with msc_export_dir_remove().
 *
 * Returns: (transfer full) (nullable): the folder's path, or NULL (and
 * nothing left on disk).
 */
char *msc_export_archive_extract(const char *archive_path, GError **error);

/**
 * msc_export_archive_root:
 * @dir: (transfer none): a folder from msc_export_archive_extract().
 *
 * Returns: (transfer full): the export folder inside @dir: @dir itself
 * when it holds config.ini, else its only sub-folder when that holds
 * config.ini, else a copy of @dir.
 */
char *msc_export_archive_root(const char *dir);

/**
 * msc_export_dir_remove:
 * @dir: (nullable) (transfer none): a folder tree to delete; symlinks in
 *   it are removed, never followed.
 *
 * Best effort; nothing happens for NULL.
 */
void msc_export_dir_remove(const char *dir);

G_END_DECLS
#endif
