# Helpers that keep the per-directory CMakeLists short.
#
# mdc_module(NAME SOURCES ... [DEPS ...])
#   A static library mdc_NAME from reconcile/ sources. Modules are separate libraries so
#   that a module's tests link only what that module needs, and so that the dependency
#   graph of DESIGN.md ("data flows one way") is checked by the linker.
function(mdc_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  foreach(src IN LISTS M_SOURCES)
    if(NOT EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${src})
      message(STATUS "module ${name}: ${src} not written yet, skipped")
      return()
    endif()
  endforeach()
  add_library(mdc_${name} STATIC ${M_SOURCES})
  target_include_directories(mdc_${name} PUBLIC ${PROJECT_SOURCE_DIR}/reconcile)
  target_link_libraries(mdc_${name} PUBLIC ${M_DEPS})
endfunction()

# mdc_unit_test(NAME SOURCES ... [LIBS ...] [LABELS ...])
#   One in-process test executable, run by ctest.
function(mdc_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
  foreach(lib IN LISTS T_LIBS)
    if(lib MATCHES "^mdc_" AND NOT TARGET ${lib})
      message(STATUS "test ${name}: ${lib} not built yet, skipped")
      return()
    endif()
  endforeach()
  add_executable(${name} ${T_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests ${PROJECT_SOURCE_DIR}/reconcile)
  target_link_libraries(${name} PRIVATE ${T_LIBS})
  add_test(NAME ${name} COMMAND ${name} ${T_ARGS} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()
