# Cross-compiling elman for 64-bit ARM Linux on a Debian x86-64 host
# (cmake --preset arm64; .ci/arm installs what it needs):
#   g++-aarch64-linux-gnu       the cross compiler, its libc and libstdc++ in
#                               /usr/aarch64-linux-gnu
#   libhwy-dev:arm64, libgtest-dev:arm64
#                               multiarch packages (Multi-Arch: same, so they
#                               install beside the amd64 ones), libraries and
#                               CMake configs in /usr/lib/aarch64-linux-gnu
#   qemu-user                   runs the aarch64 programs: test discovery,
#                               ctest and elman_verify
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(elman_cross_triple aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${elman_cross_triple}-gcc)
set(CMAKE_CXX_COMPILER ${elman_cross_triple}-g++)

# Debian multiarch: the arm64 packages live under the host's /usr, in
# lib/aarch64-linux-gnu. Setting the library architecture makes find_package
# and find_library look there (and not in lib/x86_64-linux-gnu, where the
# amd64 Highway and GoogleTest are). The cross libc and libstdc++ are under
# /usr/aarch64-linux-gnu. Programs (python3, qemu) are the host's.
set(CMAKE_LIBRARY_ARCHITECTURE ${elman_cross_triple})
set(CMAKE_FIND_ROOT_PATH /usr/${elman_cross_triple})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# gtest_discover_tests, add_test and ctest run the aarch64 programs through
# qemu. -L points qemu at the cross loader and libc; the multiarch libraries
# (libhwy.so.1) are found in /usr/lib/aarch64-linux-gnu, the host path qemu
# falls back to. No -cpu here: qemu-aarch64's default CPU is "max" (NEON, SVE
# and SVE2, with 512-bit vectors), and QEMU_CPU in the environment picks
# another, e.g. QEMU_CPU=cortex-a72 for NEON only, or another vector length:
# QEMU_CPU=max,sve-default-vector-length=32 (bytes) for 256 bits, the only
# length on which Highway runs its SVE_256 target (16 bytes: SVE2_128).
find_program(ELMAN_QEMU_AARCH64 qemu-aarch64 REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${ELMAN_QEMU_AARCH64} -L
                                  /usr/${elman_cross_triple})
