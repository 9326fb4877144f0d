# install + export so that consumers can find_package(elman) or ask
# pkg-config; a Debian package (cpack -G DEB) of the same install.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS elman EXPORT elmanTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
# The public headers, and the two generated ones beside them.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/elman
                  ${elman_generated_include}/elman
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT elmanTargets NAMESPACE elman::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/elman)

# A static elman links Highway and the thread library privately, but its
# consumers' link still needs them: the package config file finds them (and
# pkg-config's Requires.private and Libs.private add them with --static). A
# shared elman carries its own DT_NEEDED entries.
if(elman_library_type STREQUAL "SHARED_LIBRARY")
  set(elman_needs_private_dependencies OFF)
else()
  set(elman_needs_private_dependencies ON)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/elmanConfig.cmake.in
  ${PROJECT_BINARY_DIR}/elmanConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/elman)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/elmanConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/elmanConfig.cmake
              ${PROJECT_BINARY_DIR}/elmanConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/elman)

# elman.pc, relocatable: the prefix is found from the file's own place, so
# `cmake --install --prefix DIR` to any DIR gives a correct file.
# (Absolute install dirs, set by hand, are written as they are.)
set(elman_pc_prefix "${CMAKE_INSTALL_PREFIX}")
set(elman_pc_libdir "${CMAKE_INSTALL_FULL_LIBDIR}")
set(elman_pc_includedir "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
if(NOT IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  file(RELATIVE_PATH elman_pc_up "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig"
       "/root")
  string(REGEX REPLACE "/$" "" elman_pc_up "${elman_pc_up}")
  set(elman_pc_prefix "\${pcfiledir}/${elman_pc_up}")
  set(elman_pc_libdir "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(NOT IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(elman_pc_includedir "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/elman.pc.in
               ${PROJECT_BINARY_DIR}/elman.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/elman.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

include(ElmanPackage)
