# Compiles one source (syntax only) and checks the outcome, for the compile_fail tests.
#   CXX       the C++ compiler
#   SOURCE    the file to compile
#   INCLUDES  include directories, separated by '|'
#   EXPECT    "failure" or "success"
#   MESSAGE   (failure) text the diagnostics must contain
#   TYPE_REGEX (failure) regex the diagnostics must match: the offending type, named
#             where the requirement fails (not just in an echoed source line)
string(REPLACE "|" ";" include_list "${INCLUDES}")
set(include_flags "")
foreach(dir IN LISTS include_list)
  if(dir)
    list(APPEND include_flags "-I${dir}")
  endif()
endforeach()

execute_process(
  COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C
          ${CXX} -std=c++20 -fsyntax-only -fno-diagnostics-show-caret -fdiagnostics-color=never
          ${include_flags} ${SOURCE}
  RESULT_VARIABLE result
  OUTPUT_VARIABLE output
  ERROR_VARIABLE output)

if(EXPECT STREQUAL "success")
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${SOURCE} should compile, but:\n${output}")
  endif()
  message(STATUS "${SOURCE} compiles, as it should")
  return()
endif()

if(result EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but it must not")
endif()
string(FIND "${output}" "${MESSAGE}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${SOURCE} failed to compile, but without \"${MESSAGE}\":\n${output}")
endif()
if(NOT output MATCHES "${TYPE_REGEX}")
  message(FATAL_ERROR "${SOURCE} failed to compile, but the diagnostics do not name the type (${TYPE_REGEX}):\n${output}")
endif()
message(STATUS "${SOURCE} fails to compile with \"${MESSAGE}\", naming the type, as it should")
