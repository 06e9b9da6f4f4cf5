# Runs a test command again when it exits with RETRY_CODE: test_mpi's status when
# MPI_Comm_spawn hangs, an intermittent bug of Open MPI 4.1 with an external PMIx 4
# (docs/mpi.md). Any other failure fails at once.
#
#   cmake -DRETRY_CODE=75 -DATTEMPTS=5 -DBUDGET=250 [-DPROGRESS=<file>] -P retry.cmake -- <command> [args...]
#
# BUDGET (seconds) bounds all attempts together, below the CTest TIMEOUT.
# PROGRESS: the command is a GoogleTest program that takes --progress-file=<file> and
# appends to it the name of each case that passed; a retry then runs only the cases not
# listed (--gtest_filter=-<passed>), so a hang costs one case's rerun, not the whole
# program's, and a program with many spawns still gets through in a few attempts.
if(NOT DEFINED RETRY_CODE)
  set(RETRY_CODE 75)
endif()
if(NOT DEFINED ATTEMPTS)
  set(ATTEMPTS 5)
endif()
if(NOT DEFINED BUDGET)
  set(BUDGET 250)
endif()

set(_cmd)
set(_seen_separator FALSE)
math(EXPR _last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${_last})
  if(_seen_separator)
    list(APPEND _cmd "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} STREQUAL "--")
    set(_seen_separator TRUE)
  endif()
endforeach()
if(NOT _cmd)
  message(FATAL_ERROR "retry.cmake: no command after --")
endif()

string(TIMESTAMP _start "%s")
foreach(attempt RANGE 1 ${ATTEMPTS})
  string(TIMESTAMP _now "%s")
  math(EXPR _left "${BUDGET} - (${_now} - ${_start})")
  if(_left LESS 10)
    message(FATAL_ERROR "retry.cmake: no time left for attempt ${attempt}")
  endif()
  set(_args)
  if(DEFINED PROGRESS)
    set(_passed)
    if(attempt EQUAL 1)
      file(REMOVE "${PROGRESS}")
    elseif(EXISTS "${PROGRESS}")
      file(STRINGS "${PROGRESS}" _passed)
    endif()
    list(APPEND _args "--progress-file=${PROGRESS}")
    if(_passed)
      list(LENGTH _passed _count)
      list(JOIN _passed ":" _negative)
      list(APPEND _args "--gtest_filter=-${_negative}")
      message(STATUS "retry.cmake: attempt ${attempt} skips the ${_count} cases that passed")
    endif()
  endif()
  execute_process(COMMAND ${_cmd} ${_args} RESULT_VARIABLE _rc TIMEOUT ${_left})
  if(_rc STREQUAL "0")
    return()
  endif()
  if(NOT _rc STREQUAL "${RETRY_CODE}")
    message(FATAL_ERROR "retry.cmake: the test failed (${_rc})")
  endif()
  message(STATUS "retry.cmake: attempt ${attempt} hit the MPI_Comm_spawn hang (status ${_rc})")
endforeach()
message(FATAL_ERROR "retry.cmake: MPI_Comm_spawn hung in each of ${ATTEMPTS} attempts")
