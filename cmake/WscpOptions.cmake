# Compiler settings shared by every project target. Third-party headers are
# included as SYSTEM so that -Werror only judges our own code.

add_library(wscp_options INTERFACE)
add_library(wscp::options ALIAS wscp_options)
target_compile_options(wscp_options INTERFACE
  -Wall -Wextra -Wpedantic -Werror
  -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wformat=2)

if(WSCP_SANITIZE)
  set(_wscp_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_compile_options(wscp_options INTERFACE ${_wscp_san})
  target_link_options(wscp_options INTERFACE ${_wscp_san})
endif()

if(WSCP_FUZZ)
  # Coverage for libFuzzer in every project library; the fuzzer links the driver.
  target_compile_options(wscp_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined)
  target_link_options(wscp_options INTERFACE -fsanitize=address,undefined)
endif()

# wscp_library(NAME <name> SOURCES ... DEPS ...): one library per src/ folder,
# exported as wscp::<name>.
function(wscp_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(wscp_${name} STATIC ${ARG_SOURCES})
  add_library(wscp::${name} ALIAS wscp_${name})
  target_include_directories(wscp_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(wscp_${name} PUBLIC ${ARG_DEPS} PRIVATE wscp::options)
endfunction()
