# Helpers that keep every herd target alike: one folder, one target, the
# shared warning/sanitizer flags, tests beside the code.

# Warnings and sanitizers live on this INTERFACE target; every herd target
# links it, generated code does not.
add_library(herd_options INTERFACE)
target_compile_options(herd_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Wno-missing-field-initializers)
# GCC 12 false positives (bugs 105329 and 105562): -Wrestrict on
# std::string concatenation at -O2, -Wmaybe-uninitialized inside <regex>
# with sanitizers, -Wtsan on asio's fences. Off rather than hiding real code.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(herd_options INTERFACE -Wno-restrict)
  if(HERD_SANITIZE)
    target_compile_options(herd_options INTERFACE -Wno-maybe-uninitialized)
  endif()
  if(HERD_SANITIZE MATCHES "thread")
    target_compile_options(herd_options INTERFACE -Wno-tsan)
  endif()
endif()
if(HERD_WERROR)
  target_compile_options(herd_options INTERFACE -Werror)
endif()
if(HERD_SANITIZE)
  target_compile_options(herd_options INTERFACE
    -fsanitize=${HERD_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(herd_options INTERFACE -fsanitize=${HERD_SANITIZE})
endif()

# Every herd target, including generated code, links with the sanitizer
# runtime when one is on (a sanitized executable must link it).
add_library(herd_link_options INTERFACE)
if(HERD_SANITIZE)
  target_link_options(herd_link_options INTERFACE -fsanitize=${HERD_SANITIZE})
endif()

# Fuzzing: libFuzzer's coverage instrumentation plus ASan and UBSan on every
# herd target; the fuzz targets themselves link libFuzzer (test/fuzz).
if(HERD_BUILD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "HERD_BUILD_FUZZ=ON needs clang (libFuzzer), not ${CMAKE_CXX_COMPILER_ID}: "
                        "configure a build folder of its own with CC=clang-16 CXX=clang++-16, as scripts/fuzz.sh does")
  endif()
  if(HERD_SANITIZE)
    message(FATAL_ERROR "HERD_BUILD_FUZZ=ON brings its own sanitizers (address,undefined); leave HERD_SANITIZE empty")
  endif()
  target_compile_options(herd_options INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(herd_link_options INTERFACE -fsanitize=address,undefined)
endif()

# herd_library(NAME name SRCS a.cc … [HDRS a.h …] [DEPS …] [PUBLIC_DEPS …])
# Creates herd_<name> and the alias herd::<name>.
function(herd_library)
  cmake_parse_arguments(H "" "NAME" "SRCS;HDRS;DEPS;PUBLIC_DEPS" ${ARGN})
  set(target herd_${H_NAME})
  if(H_SRCS)
    add_library(${target} STATIC ${H_SRCS} ${H_HDRS})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} PRIVATE herd_options ${H_DEPS}
                          PUBLIC ${H_PUBLIC_DEPS} herd_link_options)
  else()
    add_library(${target} INTERFACE ${H_HDRS})
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} INTERFACE ${H_PUBLIC_DEPS} ${H_DEPS})
  endif()
  add_library(herd::${H_NAME} ALIAS ${target})
endfunction()

# herd_binary(NAME name SRCS … DEPS …): an executable in build/bin.
function(herd_binary)
  cmake_parse_arguments(H "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${H_NAME} ${H_SRCS})
  target_link_libraries(${H_NAME} PRIVATE herd_options ${H_DEPS})
endfunction()

# herd_test(NAME name SRCS … DEPS … [LABELS …]): a GoogleTest binary,
# registered with CTest test by test.
function(herd_test)
  if(NOT HERD_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(H "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${H_NAME} ${H_SRCS})
  set_target_properties(${H_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_link_libraries(${H_NAME} PRIVATE herd_options ${H_DEPS} GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${H_NAME} DISCOVERY_TIMEOUT 30
                       PROPERTIES LABELS "unit;${H_LABELS}" TIMEOUT 120)
endfunction()
