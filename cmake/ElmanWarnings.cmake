# Warnings for elman's own targets (never for consumers).
function(elman_set_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
                                             -Wno-psabi)
  endif()
endfunction()
