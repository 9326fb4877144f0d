// Whole-file reads and atomic whole-file writes (POSIX), for weight files.
// Errors are elman::Error naming the path, the step that failed and the
// system's reason.
#ifndef ELMAN_SRC_IO_FILE_H_
#define ELMAN_SRC_IO_FILE_H_

#include <cstddef>
#include <filesystem>
#include <span>
#include <vector>

namespace elman::io {

// The whole content of the file at `path`.
std::vector<std::byte> ReadFile(const std::filesystem::path& path);

// Writes `bytes` to a new temporary file in the directory of `path`, fsyncs
// it and renames it over `path`: readers see the old file or the whole new
// one, never a part, even if the process or the machine dies meanwhile. On
// failure the temporary file is removed and `path` is untouched.
void WriteFileAtomically(const std::filesystem::path& path,
                         std::span<const std::byte> bytes);

}  // namespace elman::io

#endif  // ELMAN_SRC_IO_FILE_H_
