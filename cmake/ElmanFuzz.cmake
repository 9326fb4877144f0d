# ELMAN_BUILD_FUZZERS=ON: the whole build (library included) is compiled by
# clang with AddressSanitizer and libFuzzer's coverage instrumentation, and
# all of it but the SIMD kernels' sources with UndefinedBehaviorSanitizer
# (below), so that the fuzz targets in tests/fuzz/ see the library's
# branches and every memory error in it. Included before the library
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
# The SIMD kernels' sources of `target` without UBSan: those that
# include hwy/foreach_target.h, each compiled once per Highway target, found
# by reading the sources (so a new kernel file joins them by itself). With
# UBSan, clang took 2.2× as long over them (src/backward.cc 335 against
# 150 s, src/gemm.cc 66 against 29; Zen 5, 2026-12-02), most of the fuzz
# job's build. AddressSanitizer and the fuzzer's coverage stay on them;
# UBSan stays on everything that parses, validates and dispatches (src/io,
# model.cc, validate.cc, workspace.cc, …) and on the fuzz targets. The
# kernels run under UBSan on every target in .ci/sanitize, over the whole
# test suite. Called once the library's object target is defined.
function(elman_fuzz_kernels_without_ubsan target)
  get_target_property(sources ${target} SOURCES)
  get_target_property(source_dir ${target} SOURCE_DIR)
  foreach(source IN LISTS sources)
    file(STRINGS ${source_dir}/${source} includes_targets
         REGEX "hwy/foreach_target[.]h")
    if(includes_targets)
      set_source_files_properties(${source} TARGET_DIRECTORY ${target}
        PROPERTIES COMPILE_OPTIONS "-fno-sanitize=undefined")
    endif()
  endforeach()
endfunction()
