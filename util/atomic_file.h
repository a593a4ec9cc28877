// Whole-file writes that a kill, a full disk or a file-size limit cannot leave half done: the
// bytes go to a temporary file beside <path> (TemporaryPathFor), are flushed to the disk, and only
// then renamed over <path>. A reader sees the old file or the new one, never a mix; a failure
// removes the temporary file and throws std::runtime_error naming the path and the system's reason.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace jepa_mpc::util {

// The temporary name WriteFileAtomically uses for <path>; it keeps the extension so tools that
// pick a format from the name (ffmpeg, OpenCV) can write it too.
inline std::string TemporaryPathFor(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return path + ".tmp";
  return path.substr(0, dot) + ".tmp" + path.substr(dot);
}

namespace atomic_file_detail {

// Fsyncs and closes fd (open on tmp), then renames tmp over path; on any failure removes tmp and
// throws naming path.
inline void SyncCloseAndRename(int fd, const std::string& tmp, const std::string& path) {
  int err = ::fsync(fd) == 0 ? 0 : errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && std::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write '" + path + "': " + std::strerror(err));
  }
}

}  // namespace atomic_file_detail

// Flushes <tmp> (written by another writer, e.g. HDF5) to the disk and renames it over <path>;
// removes <tmp> and throws on failure.
inline void CommitTemporaryFile(const std::string& tmp, const std::string& path) {
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write '" + path + "': " + std::strerror(err));
  }
  atomic_file_detail::SyncCloseAndRename(fd, tmp, path);
}

inline void WriteFileAtomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = TemporaryPathFor(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot write '" + path + "': " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      std::remove(tmp.c_str());
      throw std::runtime_error("cannot write '" + path + "': " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  atomic_file_detail::SyncCloseAndRename(fd, tmp, path);
}

}  // namespace jepa_mpc::util
