// Weight files: a Model saved and loaded in the safetensors format
// (https://github.com/huggingface/safetensors), readable by the tools people
// already use. The file holds five float32 little-endian tensors
//   "W" [H, I]   "U" [H, H]   "b" [H]   "V" [O, H]   "c" [O]
// and a "__metadata__" entry with
//   "format": "elman", "format_version": "1",
//   "hidden_activation" and "output_activation": "tanh", "sigmoid", "relu"
//   or "identity".
// Other metadata keys (provenance added by another tool, say) are allowed and
// ignored. Loading is strict otherwise: anything else is an Error naming the
// source, the tensor and the problem, and a failed load changes nothing.
#ifndef ELMAN_IO_H_
#define ELMAN_IO_H_

#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "elman/export.h"
#include "elman/model.h"

namespace elman {

/// The model as the bytes of a safetensors file. Throws Error if a weight is
/// NaN or infinite (loading would refuse the file).
ELMAN_EXPORT std::vector<std::byte> SaveModelToBuffer(const Model& model);

/// Writes the file atomically: a temporary file beside `path` is written,
/// flushed to disk (fsync) and renamed over it, so `path` holds either the
/// old file or the whole new one. Throws Error (naming the path and the
/// system's reason) if it cannot be written; the temporary file is then
/// removed. As SaveModelToBuffer, refuses non-finite weights.
ELMAN_EXPORT void SaveModel(const Model& model,
                            const std::filesystem::path& path);

/// Parses and validates a safetensors file held in memory (e.g. weights
/// compiled into the program). `source` names it in error messages. Throws
/// Error for: a buffer shorter than 8 bytes, a header length beyond the
/// buffer, a header that is not strict JSON (or has duplicated keys), an
/// unknown or non-F32 dtype, a missing, extra or misshaped tensor, data
/// offsets out of range, overlapping or leaving holes, missing or unknown
/// metadata, and non-finite weights.
ELMAN_EXPORT Model LoadModelFromBuffer(std::span<const std::byte> bytes,
                                       std::string_view source = "<memory>");

/// Reads `path` and parses it as LoadModelFromBuffer does, with the path as
/// the source. A file that cannot be read is an Error naming the path and the
/// system's reason ("No such file or directory", ...).
ELMAN_EXPORT Model LoadModel(const std::filesystem::path& path);

}  // namespace elman

#endif  // ELMAN_IO_H_
