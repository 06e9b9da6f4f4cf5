# Driver of the packaging tests: cmake -P run.cmake with
#   -DMODE=find_package|find_package_no_mpi|add_subdirectory
#   -DCFUTURES_SOURCE_DIR=<source tree> -DCFUTURES_BINARY_DIR=<a built build tree>
#   -DWORK_DIR=<scratch directory, removed first and on success>
#   [-DWITH_MPI=ON|OFF: whether that build tree built cfutures::mpi]
#   [-DGENERATOR=...] [-DCXX_COMPILER=...] [-DBUILD_TYPE=...] [-DLIBDIR=lib]
#
# find_package:     installs the build tree to WORK_DIR/prefix (cmake --install),
#                   checks `pkg-config --cflags --libs cfutures` points into the
#                   prefix and that a program compiled with those flags alone runs,
#                   then configures, builds and runs find_package/ against the prefix
#                   (with the mpi component when WITH_MPI), and checks that a plain
#                   find_package(cfutures) gives cfutures::mpi too where it can.
# find_package_no_mpi: installs likewise, then hides MPI from CMake
#                   (CMAKE_DISABLE_FIND_PACKAGE_MPI) as on a machine without it:
#                   find_package/ must build and run with cfutures::cfutures alone,
#                   and a request for the mpi component must fail cleanly
#                   (components/), as it must where the component was not installed.
# add_subdirectory: configures, builds and runs add_subdirectory/, which includes
#                   the cfutures source tree with add_subdirectory().
cmake_minimum_required(VERSION 3.25)

foreach(var MODE CFUTURES_SOURCE_DIR CFUTURES_BINARY_DIR WORK_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE Release)
endif()
if(NOT LIBDIR)
  set(LIBDIR lib)
endif()
if(WITH_MPI)
  set(WITH_MPI ON)
else()
  set(WITH_MPI OFF)
endif()
set(HERE ${CMAKE_CURRENT_LIST_DIR})

set(_generator_args)
if(GENERATOR)
  list(APPEND _generator_args -G ${GENERATOR})
endif()
if(CXX_COMPILER)
  list(APPEND _generator_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
else()
  set(CXX_COMPILER c++)
endif()

# Runs a command, echoing it; stops with the work directory kept on failure.
function(run)
  string(JOIN " " _shown ${ARGN})
  message(STATUS "$ ${_shown}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "packaging test '${MODE}' failed (exit ${rc}): ${_shown}\n"
                        "work directory kept for inspection: ${WORK_DIR}")
  endif()
endfunction()

# Configures components/ (find_package(cfutures) with REQUEST for the mpi component)
# in WORK_DIR/<name>; it checks cfutures_FOUND, cfutures::mpi and the message itself.
function(check_components name request expect_found expect_mpi message)
  run(${CMAKE_COMMAND} -S ${HERE}/components -B ${WORK_DIR}/${name} ${_generator_args}
      ${_find_args} -DREQUEST=${request} -DEXPECT_FOUND=${expect_found} -DEXPECT_MPI=${expect_mpi}
      "-DEXPECT_MESSAGE=${message}" ${ARGN})
endfunction()

# As check_components with REQUIRED COMPONENTS mpi, which must stop the configure
# with the package's message (matching the regex `message`).
function(check_components_fail name message)
  set(_cmd ${CMAKE_COMMAND} -S ${HERE}/components -B ${WORK_DIR}/${name} ${_generator_args}
      ${_find_args} -DREQUEST=required_components ${ARGN})
  string(JOIN " " _shown ${_cmd})
  message(STATUS "$ ${_shown}   (must fail)")
  execute_process(COMMAND ${_cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0 OR NOT "${out}${err}" MATCHES "${message}")
    message(FATAL_ERROR "packaging test '${MODE}': find_package(cfutures REQUIRED COMPONENTS mpi) "
                        "should have failed saying '${message}'; exit ${rc}:\n${out}${err}\n"
                        "work directory kept for inspection: ${WORK_DIR}")
  endif()
endfunction()

# Runs a built program, looking in the multi-config subdirectory too.
function(run_program dir name)
  set(exe ${dir}/${name})
  if(NOT EXISTS ${exe})
    set(exe ${dir}/${BUILD_TYPE}/${name})
  endif()
  run(${exe})
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

if(MODE STREQUAL "find_package" OR MODE STREQUAL "find_package_no_mpi")
  set(prefix ${WORK_DIR}/prefix)
  run(${CMAKE_COMMAND} --install ${CFUTURES_BINARY_DIR} --prefix ${prefix} --config ${BUILD_TYPE})
  set(_find_args -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCMAKE_PREFIX_PATH=${prefix}
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
  set(cmake_dir ${prefix}/${LIBDIR}/cmake/cfutures)
  # The mpi component (header, targets) is installed exactly when it was built.
  foreach(file ${prefix}/include/cfutures/mpi.hpp ${cmake_dir}/cfutures-mpi-targets.cmake)
    if(WITH_MPI AND NOT EXISTS ${file})
      message(FATAL_ERROR "cfutures::mpi was built, but ${file} was not installed")
    elseif(NOT WITH_MPI AND EXISTS ${file})
      message(FATAL_ERROR "cfutures::mpi was not built, but ${file} was installed")
    endif()
  endforeach()
endif()

if(MODE STREQUAL "find_package")
  # --- pkg-config ---------------------------------------------------------
  find_program(PKG_CONFIG_EXECUTABLE NAMES pkg-config pkgconf REQUIRED)
  set(pcdir ${prefix}/${LIBDIR}/pkgconfig)
  if(NOT EXISTS ${pcdir}/cfutures.pc)
    message(FATAL_ERROR "cfutures.pc was not installed to ${pcdir}")
  endif()
  set(ENV{PKG_CONFIG_PATH} ${pcdir})
  execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --cflags --libs cfutures
                  RESULT_VARIABLE rc OUTPUT_VARIABLE pc_flags ERROR_VARIABLE pc_err
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs cfutures failed: ${pc_err}")
  endif()
  message(STATUS "pkg-config --cflags --libs cfutures: ${pc_flags}")
  separate_arguments(pc_args UNIX_COMMAND "${pc_flags}")
  foreach(arg IN LISTS pc_args)
    if(arg MATCHES "^-[IL](.*)$")
      file(REAL_PATH "${CMAKE_MATCH_1}" p)
      file(REAL_PATH "${prefix}" real_prefix)
      cmake_path(IS_PREFIX real_prefix "${p}" NORMALIZE inside)
      if(NOT inside)
        message(FATAL_ERROR "pkg-config gives ${arg}, outside the install prefix ${prefix}: "
                            "cfutures.pc is not relocatable (it should derive prefix from \${pcfiledir})")
      endif()
    endif()
  endforeach()
  run(${CXX_COMPILER} ${HERE}/find_package/main.cpp ${pc_args} -o ${WORK_DIR}/app_raw_pkgconfig)
  run(${WORK_DIR}/app_raw_pkgconfig)

  # --- find_package ---------------------------------------------------------
  set(build ${WORK_DIR}/build)
  run(${CMAKE_COMMAND} -S ${HERE}/find_package -B ${build} ${_generator_args} ${_find_args} -DWITH_MPI=${WITH_MPI})
  file(STRINGS ${build}/CMakeCache.txt found_dir REGEX "^cfutures_DIR:")
  string(REGEX REPLACE "^cfutures_DIR:[A-Z]+=" "" found_dir "${found_dir}")
  cmake_path(IS_PREFIX prefix "${found_dir}" NORMALIZE inside)
  if(NOT inside)
    message(FATAL_ERROR "find_package found cfutures in ${found_dir}, not in the prefix ${prefix}")
  endif()
  run(${CMAKE_COMMAND} --build ${build} --config ${BUILD_TYPE} -j 2)
  run_program(${build} app)
  run_program(${build} app_pkgconfig)
  if(WITH_MPI)
    run_program(${build} app_mpi)
  endif()
  # API.md's find_package(cfutures CONFIG REQUIRED) then cfutures::mpi: without
  # COMPONENTS, the package gives cfutures::mpi wherever it can.
  check_components(plain none ON ${WITH_MPI} "")

elseif(MODE STREQUAL "find_package_no_mpi")
  # As on a machine without MPI: a find_package(MPI) finds nothing.
  set(hide_mpi -DCMAKE_DISABLE_FIND_PACKAGE_MPI=TRUE)
  set(ENV{PKG_CONFIG_PATH} ${prefix}/${LIBDIR}/pkgconfig)
  set(build ${WORK_DIR}/build)
  run(${CMAKE_COMMAND} -S ${HERE}/find_package -B ${build} ${_generator_args} ${_find_args} -DWITH_MPI=OFF ${hide_mpi})
  run(${CMAKE_COMMAND} --build ${build} --config ${BUILD_TYPE} -j 2)
  run_program(${build} app)
  run_program(${build} app_pkgconfig)

  set(not_installed "installed without its mpi component")
  if(WITH_MPI)
    set(why "needs MPI.*not found")
  else()
    set(why "${not_installed}")
  endif()
  check_components(hidden_components components OFF OFF "${why}" ${hide_mpi})
  check_components(hidden_optional optional_components ON OFF "" ${hide_mpi})
  check_components_fail(hidden_required "${why}" ${hide_mpi})
  # A prefix without the component (cfutures built without MPI), MPI visible.
  file(GLOB mpi_targets ${cmake_dir}/cfutures-mpi-targets*.cmake)
  if(mpi_targets)
    file(REMOVE ${mpi_targets})
  endif()
  check_components(uninstalled_components components OFF OFF "${not_installed}")
  check_components(uninstalled_plain none ON OFF "")
  check_components_fail(uninstalled_required "${not_installed}")

elseif(MODE STREQUAL "add_subdirectory")
  set(build ${WORK_DIR}/build)
  run(${CMAKE_COMMAND} -S ${HERE}/add_subdirectory -B ${build} ${_generator_args}
      -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCFUTURES_SOURCE_DIR=${CFUTURES_SOURCE_DIR})
  run(${CMAKE_COMMAND} --build ${build} --config ${BUILD_TYPE} -j 2)
  run_program(${build} app)

else()
  message(FATAL_ERROR "run.cmake: unknown MODE '${MODE}'")
endif()

file(REMOVE_RECURSE ${WORK_DIR})
message(STATUS "packaging test '${MODE}' passed")
