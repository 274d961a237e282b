# Warning and sanitizer flags for pingan's own code (not generated code).
option(PINGAN_WERROR "Treat warnings as errors" OFF)
option(PINGAN_SANITIZE "Build with AddressSanitizer and UBSan" OFF)

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

function(pingan_warnings target)
  target_compile_options(${target} PRIVATE ${PINGAN_WARNINGS})
endfunction()
