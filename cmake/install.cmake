# Install rules: headers, the library, exported targets, config/version files, pkg-config;
# the mpi component when cfutures::mpi is built.
include(CMakePackageConfigHelpers)

set(CFUTURES_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/cfutures)

# <cfutures/mpi.hpp> belongs to the mpi component, below.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/cfutures DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  PATTERN mpi.hpp EXCLUDE)
install(FILES ${PROJECT_BINARY_DIR}/include/cfutures/version.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cfutures)
install(TARGETS cfutures EXPORT cfutures-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT cfutures-targets NAMESPACE cfutures:: DESTINATION ${CFUTURES_CMAKE_DIR})

# The mpi component, when it was built: its header, library and targets file of its
# own, which the package config loads only when asked for mpi (or, with no
# components asked for, when MPI is found), so that the package needs no MPI.
if(TARGET cfutures_mpi)
  install(FILES ${PROJECT_SOURCE_DIR}/include/cfutures/mpi.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cfutures)
  install(TARGETS cfutures_mpi EXPORT cfutures-mpi-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT cfutures-mpi-targets NAMESPACE cfutures:: DESTINATION ${CFUTURES_CMAKE_DIR})
endif()

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/cfutures-config.cmake.in
  ${PROJECT_BINARY_DIR}/cfutures-config.cmake INSTALL_DESTINATION ${CFUTURES_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cfutures-config-version.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cfutures-config.cmake ${PROJECT_BINARY_DIR}/cfutures-config-version.cmake
  DESTINATION ${CFUTURES_CMAKE_DIR})

# Relative to the .pc file's own place, so the installed tree can move (cmake --install --prefix).
file(RELATIVE_PATH CFUTURES_PC_UP "/r/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/r")
configure_file(${PROJECT_SOURCE_DIR}/cmake/cfutures.pc.in ${PROJECT_BINARY_DIR}/cfutures.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cfutures.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
