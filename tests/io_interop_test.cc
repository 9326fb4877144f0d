// Weight files through other implementations, when /usr/bin/python3 has them:
// the reference safetensors package (pip install safetensors) re-saves our
// file, and a reader built from Python's json, struct and numpy re-writes it
// in its own style (indented JSON, other key and data order). Each result
// must load back as the same model. Skipped, visibly, when Python or the
// packages are missing.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "elman/elman.h"
#include "elman/io.h"
#include "gtest/gtest.h"
#include "tests/io_test_util.h"

namespace elman {
namespace {

namespace fs = std::filesystem;

constexpr char kPython[] = "/usr/bin/python3";

bool PythonCan(const std::string& import) {
  const std::string command =
      std::string(kPython) + " -c \"" + import + "\" > /dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

// Runs `script` on in_path, which writes out_path; returns whether it worked.
bool RunPython(const fs::path& directory, const std::string& script,
               const fs::path& in_path, const fs::path& out_path) {
  const fs::path script_path = directory / "convert.py";
  std::ofstream(script_path) << script;
  const std::string command = std::string(kPython) + " " +
                              script_path.string() + " " + in_path.string() +
                              " " + out_path.string();
  return std::system(command.c_str()) == 0;
}

Model InteropModel() {
  Model model({{3, 5, 2}, Activation::kSigmoid, Activation::kTanh}, 11);
  model.parameters().b()[1] = -0.0f;
  model.parameters().c()[0] = 1e-40f;  // subnormal
  return model;
}

TEST(IoInterop, ReferenceSafetensorsPackage) {
  if (!PythonCan("import safetensors.numpy")) {
    GTEST_SKIP() << kPython << " has no safetensors package; the interop "
                 << "check with the reference implementation did not run";
  }
  const test::ScratchDirectory directory("interop_reference");
  const Model model = InteropModel();
  SaveModel(model, directory.path() / "ours.safetensors");
  const std::string script = R"(
import sys
from safetensors import safe_open
from safetensors.numpy import save_file
with safe_open(sys.argv[1], framework="np") as f:
    tensors = {name: f.get_tensor(name) for name in f.keys()}
    metadata = f.metadata()
assert tensors["U"].shape == (5, 5) and str(tensors["U"].dtype) == "float32"
save_file(tensors, sys.argv[2], metadata=metadata)
)";
  ASSERT_TRUE(RunPython(directory.path(), script,
                        directory.path() / "ours.safetensors",
                        directory.path() / "theirs.safetensors"));
  test::SameModel(LoadModel(directory.path() / "theirs.safetensors"), model);
}

TEST(IoInterop, PythonJsonAndNumpy) {
  if (!PythonCan("import json, struct, numpy")) {
    GTEST_SKIP() << kPython << " or numpy is missing; the interop check with "
                 << "a json + numpy reader did not run";
  }
  const test::ScratchDirectory directory("interop_numpy");
  const Model model = InteropModel();
  SaveModel(model, directory.path() / "ours.safetensors");
  const std::string script = R"(
import json, struct, sys
import numpy as np
raw = open(sys.argv[1], "rb").read()
(length,) = struct.unpack("<Q", raw[:8])
assert length % 8 == 0
header = json.loads(raw[8:8 + length].decode("utf-8"))
data = raw[8 + length:]
metadata = header.pop("__metadata__")
assert metadata["format"] == "elman", metadata
arrays = {}
for name, entry in header.items():
    assert entry["dtype"] == "F32", entry
    begin, end = entry["data_offsets"]
    arrays[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(
        entry["shape"])
assert sorted(arrays) == ["U", "V", "W", "b", "c"], sorted(arrays)
# Written back in another style: data in reverse name order, keys in
# another order, metadata last, indented JSON with non-ASCII escaped.
out, blobs, offset = {}, [], 0
for name in sorted(arrays, reverse=True):
    blob = arrays[name].astype("<f4").tobytes()
    out[name] = {"shape": list(arrays[name].shape), "dtype": "F32",
                 "data_offsets": [offset, offset + len(blob)]}
    blobs.append(blob)
    offset += len(blob)
out["__metadata__"] = metadata
text = json.dumps(out, indent=2).encode("utf-8")
with open(sys.argv[2], "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
)";
  ASSERT_TRUE(RunPython(directory.path(), script,
                        directory.path() / "ours.safetensors",
                        directory.path() / "theirs.safetensors"));
  test::SameModel(LoadModel(directory.path() / "theirs.safetensors"), model);
}

}  // namespace
}  // namespace elman
