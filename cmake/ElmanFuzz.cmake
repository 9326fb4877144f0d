# ELMAN_BUILD_FUZZERS=ON: the whole build (library included) is compiled by
# clang with AddressSanitizer, UndefinedBehaviorSanitizer and libFuzzer's
# coverage instrumentation, so that the fuzz targets in tests/fuzz/ see the
# library's branches and every memory error in it. Included before the library
# target is defined, because the flags must reach the library's own sources.
include(CheckCXXSourceCompiles)
include(CMakePushCheckState)

if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR
    "ELMAN_BUILD_FUZZERS=ON needs clang with libFuzzer (-fsanitize=fuzzer), "
    "but the C++ compiler is ${CMAKE_CXX_COMPILER_ID} "
    "(${CMAKE_CXX_COMPILER}). On Debian 12: apt-get install clang-14 "
    "libfuzzer-14-dev, then configure with -DCMAKE_CXX_COMPILER=clang++-14 "
    "or use the preset: cmake --preset fuzz")
endif()

# Instrumentation for everything; the fuzzer's main() only for the targets.
set(elman_fuzz_sanitizers address,undefined)
set(elman_fuzz_compile_flags
    -fsanitize=fuzzer-no-link,${elman_fuzz_sanitizers}
    -fno-sanitize-recover=all -fno-omit-frame-pointer
    -fsanitize-ignorelist=${PROJECT_SOURCE_DIR}/tests/fuzz/ubsan_ignorelist.txt)

cmake_push_check_state(RESET)
set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer,${elman_fuzz_sanitizers}")
set(CMAKE_REQUIRED_LINK_OPTIONS "-fsanitize=fuzzer,${elman_fuzz_sanitizers}")
check_cxx_source_compiles([=[
#include <cstddef>
#include <cstdint>
#include <fuzzer/FuzzedDataProvider.h>
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  return provider.ConsumeIntegral<int>() == 7 ? 0 : 0;
}
]=] ELMAN_HAVE_LIBFUZZER)
cmake_pop_check_state()
if(NOT ELMAN_HAVE_LIBFUZZER)
  message(FATAL_ERROR
    "ELMAN_BUILD_FUZZERS=ON: ${CMAKE_CXX_COMPILER} cannot build and link a "
    "program with -fsanitize=fuzzer,${elman_fuzz_sanitizers} (see "
    "CMakeFiles/CMakeError.log). On Debian 12 the libFuzzer runtime and "
    "FuzzedDataProvider.h come with libfuzzer-14-dev for clang++-14.")
endif()

add_compile_options(${elman_fuzz_compile_flags})
add_link_options(-fsanitize=${elman_fuzz_sanitizers})
