# `cpack -G DEB` in the build directory: a Debian package of what
# `cmake --install` installs. Configure with -DCMAKE_INSTALL_PREFIX=/usr, so
# that GNUInstallDirs picks Debian's multiarch libdir (lib/x86_64-linux-gnu).
#
# One package, libelman-dev, as Debian names a library's development files:
# headers, libelman.a (or the libelman.so link), the CMake package and
# elman.pc. It is meant to be built from the default static configuration,
# where it is all a consumer needs. A shared build would, by Debian policy,
# also want a runtime package named after the soname (libelman0.1); that
# split is left for when there is a stable ABI.
set(ELMAN_PACKAGE_MAINTAINER "elman maintainers <elman@localhost>" CACHE STRING
    "Maintainer field of the Debian package")

set(CPACK_PACKAGE_NAME libelman-dev)
set(CPACK_PACKAGE_VENDOR elman)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "${PROJECT_DESCRIPTION} (development files)")
set(CPACK_PACKAGE_DESCRIPTION
    "elman trains and runs a simple (Elman) recurrent neural network with a\n\
dense output layer: forward pass, loss, backpropagation through time,\n\
PyTorch-compatible optimizers, a one-call trainer, safetensors weight files\n\
and a streaming inference API, on Highway SIMD kernels chosen at run time.\n\
This package holds the C++20 headers, the library, its CMake package\n\
(find_package(elman)) and its pkg-config file (elman.pc).")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${ELMAN_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
# The static library's consumers link libhwy themselves, and the CMake
# package's find_dependency(hwy) reads hwy's config: both are libhwy-dev's
# (which depends on the runtime libhwy1, all a shared elman needs).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libhwy-dev (>= 1.0)")
# libelman-dev_0.1.0_amd64.deb; the architecture is dpkg's.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_GENERATOR DEB)
include(CPack)
