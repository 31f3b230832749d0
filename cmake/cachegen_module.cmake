# cachegen_add_module(NAME SOURCES ... DEPS ... TESTS ...)
# Builds library cachegen_<NAME> from <module>/src, exposes <module>/include, and one gtest
# binary <NAME>_tests from TESTS. Every module has the same shape: include/, src/, test/, bench/.
function(cachegen_add_module NAME)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;TESTS;TEST_DEPS" ${ARGN})
  add_library(cachegen_${NAME} STATIC ${ARG_SOURCES})
  target_include_directories(cachegen_${NAME} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(cachegen_${NAME} PUBLIC ${ARG_DEPS} PRIVATE cachegen_flags)
  if(ARG_TESTS AND TARGET GTest::gtest)  # (the codec-only GPU build may have no GTest)
    add_executable(${NAME}_tests ${ARG_TESTS})
    target_link_libraries(${NAME}_tests PRIVATE cachegen_${NAME} ${ARG_TEST_DEPS} cachegen_flags
                                                GTest::gtest GTest::gtest_main)
    # PRE_TEST: a crashing test binary fails ctest instead of the build.
    gtest_discover_tests(${NAME}_tests DISCOVERY_MODE PRE_TEST
                         PROPERTIES ENVIRONMENT "CACHEGEN_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
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
  endif()
  target_link_libraries(${target} PRIVATE ${ARG_DEPS} cachegen_flags)
  target_include_directories(${target} PRIVATE ${ARG_INCLUDES})
  target_compile_definitions(${target} PRIVATE CACHEGEN_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endfunction()
