# Script mode (cmake -P), run by the target cachegen_build_revision on every build: writes OUT,
# a header with the source tree's git revision and whether tracked sources differ from it
# (results/ excluded: runs write there), only when that changes, so nothing recompiles
# otherwise. Outside a git checkout the revision is "unknown" and the tree counts as dirty.
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY "${SOURCE_DIR}"
                OUTPUT_VARIABLE revision OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                RESULT_VARIABLE status)
set(dirty 1)
if(status EQUAL 0 AND revision)
  execute_process(COMMAND git status --porcelain --untracked-files=no -- . ":(exclude)results"
                  WORKING_DIRECTORY "${SOURCE_DIR}" OUTPUT_VARIABLE changes ERROR_QUIET
                  RESULT_VARIABLE status)
  if(status EQUAL 0 AND NOT changes)
    set(dirty 0)
  endif()
else()
  set(revision unknown)
endif()
set(text "// Generated on every build by cmake/write_build_revision.cmake.\n#define CACHEGEN_BUILD_REVISION \"${revision}\"\n#define CACHEGEN_BUILD_DIRTY ${dirty}\n")
set(old "")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
