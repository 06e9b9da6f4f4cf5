# The API reference (Doxygen, Debian's `doxygen`): target `docs` writes
# <build>/docs/api/html/index.html. Test `api_reference` (with the tests) builds
# it with every warning an error, so that each public name stays documented.
find_package(Doxygen QUIET)
if(NOT DOXYGEN_FOUND)
  message(STATUS "cfutures: doxygen not found, no `docs` target (apt-get install doxygen)")
  return()
endif()

set(CFUTURES_DOCS_DIR ${PROJECT_BINARY_DIR}/docs/api)
configure_file(${PROJECT_SOURCE_DIR}/docs/Doxyfile.in ${PROJECT_BINARY_DIR}/docs/Doxyfile @ONLY)
add_custom_target(docs
  COMMAND ${DOXYGEN_EXECUTABLE} ${PROJECT_BINARY_DIR}/docs/Doxyfile
  WORKING_DIRECTORY ${PROJECT_BINARY_DIR}/docs
  COMMENT "API reference: ${CFUTURES_DOCS_DIR}/html/index.html"
  VERBATIM)

# Plain builds only: the reference does not depend on sanitizers.
if(CFUTURES_BUILD_TESTS AND NOT CFUTURES_SANITIZE)
  add_test(NAME api_reference
    COMMAND ${DOXYGEN_EXECUTABLE} ${PROJECT_BINARY_DIR}/docs/Doxyfile
    WORKING_DIRECTORY ${PROJECT_BINARY_DIR}/docs)
  set_tests_properties(api_reference PROPERTIES LABELS docs TIMEOUT 120 FAIL_REGULAR_EXPRESSION "warning:|error:")
endif()
