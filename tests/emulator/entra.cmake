# mdcemu's Entra ID unit test: include(entra.cmake) from tests/emulator/CMakeLists.txt.
# test_entra calls entra_* directly (no server): token endpoint, bearer validation,
# managed identity, discovery. Links the core buffer/GUID helpers, cJSON and OpenSSL.
add_executable(test_entra ${CMAKE_CURRENT_LIST_DIR}/test_entra.c ${CMAKE_CURRENT_LIST_DIR}/entra.c
               ${CMAKE_CURRENT_LIST_DIR}/url.c)
target_include_directories(test_entra PRIVATE ${PROJECT_SOURCE_DIR}/tests
                           ${PROJECT_SOURCE_DIR}/reconcile ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(test_entra PRIVATE mdc_core mdc_crypto PkgConfig::CJSON PkgConfig::OPENSSL)
add_test(NAME test_entra COMMAND test_entra WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(test_entra PROPERTIES LABELS "emulator;unit")
