#include "lnl_mapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lnl_error.h"

lnl_status lnl_open_mapped(const char *path, lnl_parse_fn parse, void *out, lnl_error *err) {
  if (!out || !path) return lnl_fail(err, LNL_ERR_ARGUMENT, "no weights file given");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return lnl_fail(err, LNL_ERR_IO, "cannot open %s: %s", path, strerror(errno));
  struct stat sb;
  lnl_status s;
  if (fstat(fd, &sb) != 0) {
    s = lnl_fail(err, LNL_ERR_IO, "cannot read %s: %s", path, strerror(errno));
  } else if (!S_ISREG(sb.st_mode)) {
    s = lnl_fail(err, LNL_ERR_IO, "%s is not a regular file", path);
  } else if (sb.st_size < 8) {
    s = lnl_fail(err, LNL_ERR_FORMAT, "%s is too short to be a weights file (%lld bytes)", path,
                 (long long)sb.st_size);
  } else {
    void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      s = lnl_fail(err, LNL_ERR_IO, "cannot map %s: %s", path, strerror(errno));
    } else {
      s = parse(map, (size_t)sb.st_size, out, err);
      munmap(map, (size_t)sb.st_size);
      if (s && err) {
        /* prefix the file name so the user knows which file is bad */
        char msg[sizeof err->message];
        memcpy(msg, err->message, sizeof msg);
        lnl_fail(err, s, "%s: %s", path, msg);
      }
    }
  }
  close(fd);
  return s;
}
