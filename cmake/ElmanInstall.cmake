# install + export so that consumers can find_package(elman).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS elman EXPORT elmanTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/elman
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT elmanTargets NAMESPACE elman::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/elman)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/elmanConfig.cmake.in
  ${PROJECT_BINARY_DIR}/elmanConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/elman)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/elmanConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/elmanConfig.cmake
              ${PROJECT_BINARY_DIR}/elmanConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/elman)
