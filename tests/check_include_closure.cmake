# cmake -DCXX=<compiler> -DINCLUDE=<dir> -P check_include_closure.cmake
# <pfld/infer.hpp> must not reach the training stack: no header under pfld/nn or pfld/train in its
# include closure (the compiler's -M list), so a program that only infers never compiles it.
execute_process(COMMAND "${CXX}" -std=c++17 -M -x c++ -I "${INCLUDE}" "${INCLUDE}/pfld/infer.hpp"
                OUTPUT_VARIABLE deps RESULT_VARIABLE status ERROR_VARIABLE errors)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "the compiler could not list infer.hpp's includes: ${errors}")
endif()
string(REGEX MATCHALL "pfld/[^ \\\n]*/(nn|train)/[^ \\\n]*|pfld/(nn|train)/[^ \\\n]*" offending "${deps}")
if(offending)
  message(FATAL_ERROR "infer.hpp reaches the training stack: ${offending}")
endif()
string(REGEX MATCHALL "[^ \\\n]*pfld/[^ \\\n]*\\.(hpp|inc)" listed "${deps}")
set(headers "")
foreach(h IN LISTS listed)
  get_filename_component(h "${h}" ABSOLUTE)
  list(APPEND headers "${h}")
endforeach()
list(REMOVE_DUPLICATES headers)
list(LENGTH headers count)
message(STATUS "infer.hpp reaches ${count} pfld headers, none under nn/ or train/")
