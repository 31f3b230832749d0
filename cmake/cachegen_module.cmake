# cachegen_add_module(NAME SOURCES ... [PLUGIN_DIRS dir ...] DEPS ... TESTS ... [TEST_DEPS ...]
#                     [TEST_PROPERTIES key value ...])
# Builds the archive cachegen_<NAME>_lib from <module>/src, exposes <module>/include, and one
# gtest binary <NAME>_tests from TESTS. Every module has the same shape: include/, src/, test/,
# bench/.
#
# Plug-ins register themselves from static initializers (core/registry.h) that nothing else
# references, so consumers link the target cachegen_<NAME>, which pulls in the *whole* archive.
# Every .cpp file in a PLUGIN_DIRS folder is part of the module without being listed here: a
# new plug-in is one new file (CONFIGURE_DEPENDS re-globs when files are added).
function(cachegen_add_module NAME)
  cmake_parse_arguments(ARG "" "" "SOURCES;PLUGIN_DIRS;DEPS;TESTS;TEST_DEPS;TEST_PROPERTIES"
                        ${ARGN})
  set(sources ${ARG_SOURCES})
  foreach(dir ${ARG_PLUGIN_DIRS})
    file(GLOB plugin_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/*.cpp)
    list(APPEND sources ${plugin_sources})
  endforeach()
  add_library(cachegen_${NAME}_lib STATIC ${sources})
  # src/: the module's private headers, for its plug-in folders.
  target_include_directories(cachegen_${NAME}_lib PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                                  PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(cachegen_${NAME}_lib PUBLIC ${ARG_DEPS} PRIVATE cachegen_flags)
  add_library(cachegen_${NAME} INTERFACE)
  target_link_libraries(cachegen_${NAME}
                        INTERFACE "$<LINK_LIBRARY:WHOLE_ARCHIVE,cachegen_${NAME}_lib>")
  if(ARG_TESTS AND TARGET GTest::gtest)  # (the codec-only GPU build may have no GTest)
    # core/test/crash_report.cpp: a fatal signal prints the test and a backtrace (-rdynamic
    # names the functions).
    add_executable(${NAME}_tests ${ARG_TESTS} ${PROJECT_SOURCE_DIR}/core/test/crash_report.cpp)
    target_link_options(${NAME}_tests PRIVATE -rdynamic)
    target_link_libraries(${NAME}_tests PRIVATE cachegen_${NAME} ${ARG_TEST_DEPS} cachegen_flags
                                                GTest::gtest GTest::gtest_main)
    # PRE_TEST: a crashing test binary fails ctest instead of the build. A hung test fails
    # after CACHEGEN_TEST_TIMEOUT_S instead of running until CI's limit.
    gtest_discover_tests(${NAME}_tests DISCOVERY_MODE PRE_TEST
                         PROPERTIES ENVIRONMENT "CACHEGEN_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
                                    TIMEOUT ${CACHEGEN_TEST_TIMEOUT_S} ${ARG_TEST_PROPERTIES})
  endif()
endfunction()

# cachegen_add_fuzzer(NAME SOURCES ... DEPS ... [INCLUDES ...]): with CACHEGEN_FUZZ, the libFuzzer target
# fuzz_<NAME> (scripts/fuzz.sh runs it); otherwise fuzz_replay_<NAME>, which runs the target on
# every file of its corpus <module>/fuzz/corpus/<NAME>/ (seeds and every input that ever found
# a bug) as a ctest.
function(cachegen_add_fuzzer NAME)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;INCLUDES" ${ARGN})
  if(CACHEGEN_FUZZ)
    set(target fuzz_${NAME})
    add_executable(${target} ${ARG_SOURCES})
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  else()
    set(target fuzz_replay_${NAME})
    add_executable(${target} ${ARG_SOURCES} ${PROJECT_SOURCE_DIR}/core/fuzz/replay_main.cpp)
    add_test(NAME fuzz_replay.${NAME} COMMAND ${target} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${NAME}
             WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
    set_tests_properties(fuzz_replay.${NAME} PROPERTIES TIMEOUT ${CACHEGEN_TEST_TIMEOUT_S})
  endif()
  target_link_libraries(${target} PRIVATE ${ARG_DEPS} cachegen_flags)
  target_include_directories(${target} PRIVATE ${ARG_INCLUDES})
  target_compile_definitions(${target} PRIVATE CACHEGEN_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endfunction()
