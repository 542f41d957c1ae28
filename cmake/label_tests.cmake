# cmake/label_tests.cmake: gives each doctest test case its suite as a ctest label (`ctest -L cuda`,
# `-LE slow`), asking the test binary once per suite instead of once per test case.
#
# Why not doctest_discover_tests(... ADD_LABELS 1): that runs the binary once per test case to ask
# for its suite. A binary linked with cuBLAS spends about 0.4 s in libcublasLt's static
# initializers before main(), and an ASan binary about as long in its own start-up, so 550 cases
# cost 4-6 minutes of every build (measured in a fresh-clone CI run, 2026-12-07: 379 s in the
# default shape, 235 s in the ASan shape). Here it is one run per suite: seven runs in all.
#
# Two halves:
#   loom_label_doctest_suites(TARGET)   (in a CMakeLists.txt, after doctest_discover_tests without
#                                        ADD_LABELS) runs this file as a script after every link of
#                                        TARGET and has ctest include what it wrote;
#   cmake -P label_tests.cmake          (the script half) writes LABELS_FILE: one
#                                        set_tests_properties(... LABELS suite) per test case.

if(CMAKE_SCRIPT_MODE_FILE)
  # Lines of a doctest listing, without its "[doctest] ..." headers and "====" rules.
  function(loom_doctest_list out)
    execute_process(COMMAND "${TEST_EXECUTABLE}" ${ARGN}
                    OUTPUT_VARIABLE text RESULT_VARIABLE rc WORKING_DIRECTORY "${TEST_WORKING_DIR}")
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "label_tests: '${TEST_EXECUTABLE} ${ARGN}' failed (${rc}):\n${text}")
    endif()
    string(REPLACE "\n" ";" lines "${text}")
    set(kept "")
    foreach(line IN LISTS lines)
      if(line STREQUAL "" OR line MATCHES "^\\[doctest\\] " OR line MATCHES "^=+$")
        continue()
      endif()
      list(APPEND kept "${line}")
    endforeach()
    set(${out} "${kept}" PARENT_SCOPE)
  endfunction()

  # A ";" splits a name into two ctest tests and a bracket unbalances CMake's lists; either way
  # ctest then asks doctest for a case that does not exist, which "passes" without running
  # (two compare cases ran nowhere for a while). Refuse such names at build time.
  execute_process(COMMAND "${TEST_EXECUTABLE}" --list-test-cases OUTPUT_VARIABLE text RESULT_VARIABLE rc)
  string(REGEX REPLACE "\\[doctest\\] [^\n]*" "" names "${text}")
  string(REGEX MATCHALL "[^\n]*[];[][^\n]*" bad "${names}")
  if(NOT rc EQUAL 0 OR bad)
    message(FATAL_ERROR "label_tests: test case names may not contain ';', '[' or ']' (ctest would "
                        "run nothing for them): ${bad}")
  endif()

  loom_doctest_list(suites --list-test-suites)
  set(script "# Written by cmake/label_tests.cmake after the link of ${TEST_EXECUTABLE}.\n")
  foreach(suite IN LISTS suites)
    loom_doctest_list(cases --list-test-cases "--test-suite=${suite}")
    foreach(case IN LISTS cases)
      # A bracket argument keeps the name's spaces and punctuation as they are.
      string(APPEND script "set_tests_properties([==[${case}]==] PROPERTIES LABELS [==[${suite}]==])\n")
    endforeach()
  endforeach()
  file(WRITE "${LABELS_FILE}" "${script}")
  return()
endif()

set(LOOM_LABEL_TESTS_SCRIPT "${CMAKE_CURRENT_LIST_FILE}")

function(loom_label_doctest_suites target)
  set(labels_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_labels.cmake")
  add_custom_command(TARGET ${target} POST_BUILD
    BYPRODUCTS "${labels_file}"
    COMMAND "${CMAKE_COMMAND}" -D "TEST_EXECUTABLE=$<TARGET_FILE:${target}>"
            -D "TEST_WORKING_DIR=${CMAKE_CURRENT_BINARY_DIR}" -D "LABELS_FILE=${labels_file}"
            -P "${LOOM_LABEL_TESTS_SCRIPT}"
    VERBATIM)
  # ctest reads the include files in order, so this runs after doctest's list has added the tests.
  set(include_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_labels_include.cmake")
  file(WRITE "${include_file}" "if(EXISTS \"${labels_file}\")\n  include(\"${labels_file}\")\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${include_file}")
endfunction()
