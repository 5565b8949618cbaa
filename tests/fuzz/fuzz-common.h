/* libFuzzer targets of the engine's readers (issue 14, docs/security.md):
 * helpers shared by the targets. The readers take paths, so each input is
 * written to a file in a private temporary folder first. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* The folder, made once per process. */
static inline const char *
fuzz_dir (void)
{
  static char *dir;
  if (dir == NULL) {
    dir = g_dir_make_tmp ("mobileone-fuzz-XXXXXX", NULL);
    if (dir == NULL)
      abort ();
  }
  return dir;
}

/* Writes @len bytes to @name in the folder; returns the path (g_free).
 * Not g_file_set_contents: its fsync would dominate every run. */
static inline char *
fuzz_write (const char *name, const uint8_t *data, size_t len)
{
  char *p = g_build_filename (fuzz_dir (), name, NULL);
  int fd = open (p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    abort ();
  while (len > 0) {
    ssize_t n = write (fd, data, len);
    if (n <= 0)
      abort ();
    data += n;
    len -= (size_t) n;
  }
  close (fd);
  return p;
}

/* GLib's critical warnings are bugs the fuzzer must report. */
static inline void
fuzz_init (void)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
}
