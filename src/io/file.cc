#include "src/io/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <system_error>

#include "elman/error.h"

namespace elman::io {
namespace {

namespace fs = std::filesystem;

// error_code's message, unlike strerror, is safe to call from any thread.
[[noreturn]] void Fail(const fs::path& path, const std::string& what,
                       int error) {
  throw Error(path.string() + ": " + what + ": " +
              std::error_code(error, std::generic_category()).message());
}

// Owns a file descriptor; closing on destruction covers the error paths.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now and returns close's result: a write can first fail here (on
  // NFS, for example), so the writer must see it.
  int Close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

// Removes the temporary file unless the write got as far as renaming it.
class TemporaryFile {
 public:
  explicit TemporaryFile(fs::path path) : path_(std::move(path)) {}
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (!renamed_) ::unlink(path_.c_str());
  }
  const fs::path& path() const { return path_; }
  void MarkRenamed() { renamed_ = true; }

 private:
  fs::path path_;
  bool renamed_ = false;
};

void WriteAll(int fd, std::span<const std::byte> bytes, const fs::path& path,
              const std::string& what) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n =
        ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      Fail(path, what, errno);
    }
    written += static_cast<size_t>(n);
  }
}

// Creates a new file beside `path` with a name no other writer uses: this
// process's id and a counter, and O_EXCL against leftovers of a crash.
int CreateTemporaryFile(const fs::path& path, fs::path& temporary) {
  static std::atomic<uint64_t> counter{0};
  const fs::path directory =
      path.has_parent_path() ? path.parent_path() : fs::path(".");
  for (int attempt = 0;; ++attempt) {
    // Hidden, and named after its target, so a leftover is recognisable.
    std::string name = ".";
    name += path.filename().string();
    name += ".tmp-";
    name += std::to_string(::getpid());
    name += '-';
    name += std::to_string(counter++);
    temporary = directory / name;
    const int fd = ::open(temporary.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
    if (errno != EEXIST || attempt == 100) {
      Fail(path, "cannot create a temporary file in " + directory.string(),
           errno);
    }
  }
}

// Makes the rename itself durable. Best effort: some file systems cannot
// open or sync a directory, and the data is already safe on disk.
void SyncDirectory(const fs::path& path) {
  const fs::path directory =
      path.has_parent_path() ? path.parent_path() : fs::path(".");
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::vector<std::byte> ReadFile(const fs::path& path) {
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) Fail(path, "cannot open", errno);
  std::vector<std::byte> bytes;
  struct stat status;
  if (::fstat(file.get(), &status) == 0 && S_ISREG(status.st_mode)) {
    bytes.reserve(static_cast<size_t>(status.st_size));
  }
  // Read to the end rather than trusting st_size: the file may be a pipe or
  // may change size while we read.
  std::byte chunk[65536];
  while (true) {
    const ssize_t n = ::read(file.get(), chunk, sizeof(chunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      Fail(path, "cannot read", errno);
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  return bytes;
}

void WriteFileAtomically(const fs::path& path,
                         std::span<const std::byte> bytes) {
  if (!path.has_filename()) Fail(path, "cannot write", EISDIR);
  fs::path temporary_path;
  FileDescriptor file(CreateTemporaryFile(path, temporary_path));
  TemporaryFile temporary(temporary_path);
  const std::string on_temporary =
      " the temporary file " + temporary.path().string();
  WriteAll(file.get(), bytes, path, "cannot write" + on_temporary);
  if (::fsync(file.get()) != 0) Fail(path, "cannot sync" + on_temporary, errno);
  if (file.Close() != 0) Fail(path, "cannot close" + on_temporary, errno);
  if (::rename(temporary.path().c_str(), path.c_str()) != 0) {
    Fail(path, "cannot replace with " + temporary.path().string(), errno);
  }
  temporary.MarkRenamed();
  SyncDirectory(path);
}

}  // namespace elman::io
