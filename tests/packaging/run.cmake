# Driver of the packaging tests: cmake -P run.cmake with
#   -DMODE=find_package|add_subdirectory
#   -DCFUTURES_SOURCE_DIR=<source tree> -DCFUTURES_BINARY_DIR=<a built build tree>
#   -DWORK_DIR=<scratch directory, removed first and on success>
#   [-DGENERATOR=...] [-DCXX_COMPILER=...] [-DBUILD_TYPE=...] [-DLIBDIR=lib]
#
# find_package:     installs the build tree to WORK_DIR/prefix (cmake --install),
#                   checks `pkg-config --cflags --libs cfutures` points into the
#                   prefix and that a program compiled with those flags alone runs,
#                   then configures, builds and runs find_package/ against the prefix.
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

if(MODE STREQUAL "find_package")
  set(prefix ${WORK_DIR}/prefix)
  run(${CMAKE_COMMAND} --install ${CFUTURES_BINARY_DIR} --prefix ${prefix} --config ${BUILD_TYPE})

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
  run(${CMAKE_COMMAND} -S ${HERE}/find_package -B ${build} ${_generator_args}
      -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCMAKE_PREFIX_PATH=${prefix}
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
  file(STRINGS ${build}/CMakeCache.txt found_dir REGEX "^cfutures_DIR:")
  string(REGEX REPLACE "^cfutures_DIR:[A-Z]+=" "" found_dir "${found_dir}")
  cmake_path(IS_PREFIX prefix "${found_dir}" NORMALIZE inside)
  if(NOT inside)
    message(FATAL_ERROR "find_package found cfutures in ${found_dir}, not in the prefix ${prefix}")
  endif()
  run(${CMAKE_COMMAND} --build ${build} --config ${BUILD_TYPE} -j 2)
  run_program(${build} app)
  run_program(${build} app_pkgconfig)

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
