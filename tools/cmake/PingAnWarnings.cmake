# Warning and sanitizer flags for pingan's own code (not generated code).
option(PINGAN_WERROR "Treat warnings as errors" OFF)
option(PINGAN_SANITIZE "Build with AddressSanitizer and UBSan" OFF)
option(PINGAN_FUZZ "Build the libFuzzer targets (clang; tools/fuzz)" OFF)

set(PINGAN_WARNINGS
  -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wstrict-prototypes
  -Wmissing-prototypes -Wvla)
if(PINGAN_WERROR)
  list(APPEND PINGAN_WARNINGS -Werror)
endif()

if(PINGAN_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# The fuzz configuration: everything instrumented for libFuzzer's coverage
# and checked by ASan + UBSan; the fuzz-<target> programs link libFuzzer
# (tests/fuzz/CMakeLists.txt).
if(PINGAN_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR
      "PINGAN_FUZZ needs clang (libFuzzer), not ${CMAKE_C_COMPILER_ID}: "
      "configure with -DCMAKE_C_COMPILER=clang (tools/fuzz does), and "
      "install clang and libclang-rt-14-dev (tools/setup)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

function(pingan_warnings target)
  target_compile_options(${target} PRIVATE ${PINGAN_WARNINGS})
endfunction()
