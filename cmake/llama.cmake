# Provides the `llama` target, from one of (first that applies):
#   1. AGENTD_LLAMA_SOURCE_DIR=/path/to/llama.cpp   a source tree, built as a subproject
#   2. AGENTD_SYSTEM_LLAMA=ON                       an installed llama.cpp (find_package(llama),
#                                                   e.g. Homebrew's)
#   3. third_party/llama.cpp                        the pinned release put there by scripts/setup
# Only the targets agentd links (llama, ggml) are built by default; llama.cpp's own tools used by
# bench/ (llama-bench, llama-batched-bench, llama-server) are configured but built on request.
option(AGENTD_SYSTEM_LLAMA "Use an installed llama.cpp found with find_package(llama)" OFF)
set(AGENTD_LLAMA_SOURCE_DIR "" CACHE PATH "llama.cpp source tree to build as a subproject")

if(AGENTD_SYSTEM_LLAMA)
  find_package(llama REQUIRED CONFIG)
  set(AGENTD_LLAMA_TOOLS OFF)
  return()
endif()

if(NOT AGENTD_LLAMA_SOURCE_DIR)
  set(AGENTD_LLAMA_SOURCE_DIR "${CMAKE_CURRENT_SOURCE_DIR}/third_party/llama.cpp")
endif()
if(NOT EXISTS "${AGENTD_LLAMA_SOURCE_DIR}/include/llama.h")
  message(FATAL_ERROR
    "llama.cpp not found at ${AGENTD_LLAMA_SOURCE_DIR}.\n"
    "Run scripts/setup (fetches the pinned release), or pass -DAGENTD_LLAMA_SOURCE_DIR=<src>, "
    "or -DAGENTD_SYSTEM_LLAMA=ON for an installed llama.cpp.")
endif()

set(BUILD_SHARED_LIBS OFF CACHE BOOL "" FORCE)
set(LLAMA_BUILD_TESTS OFF CACHE BOOL "" FORCE)
set(LLAMA_BUILD_EXAMPLES OFF CACHE BOOL "" FORCE)
set(LLAMA_BUILD_TOOLS ON CACHE BOOL "" FORCE)      # llama-bench etc., excluded from `all`
set(LLAMA_BUILD_SERVER ON CACHE BOOL "" FORCE)
set(LLAMA_BUILD_COMMON ON CACHE BOOL "" FORCE)
set(LLAMA_CURL OFF CACHE BOOL "" FORCE)
set(LLAMA_OPENSSL OFF CACHE BOOL "" FORCE)
set(LLAMA_BUILD_UI OFF CACHE BOOL "" FORCE)
set(LLAMA_USE_PREBUILT_UI OFF CACHE BOOL "" FORCE) # llama-server: no UI download at build time (offline); it serves no web page
set(GGML_CCACHE OFF CACHE BOOL "" FORCE)           # our launcher already applies ccache

# CPU flags. GGML_NATIVE=ON compiles for whatever the build host reports; on hosts of this kind
# that report AMX it enables ggml's AMX extra buffer type, and a Q8_0 model crashed in
# ggml_cpu_extra_compute_forward. We pin x86-64-v3 (AVX2, FMA, F16C, BMI2), which every such host
# has, with AMX and AVX-512 off: the same binary runs on every machine of the kind, and AVX2 is
# what the matmul kernels use here (see docs/design.md, "CPU flags").
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  set(GGML_NATIVE OFF CACHE BOOL "" FORCE)
  foreach(flag AVX AVX2 FMA F16C BMI2)
    set(GGML_${flag} ON CACHE BOOL "" FORCE)
  endforeach()
  foreach(flag AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16 AVX_VNNI AMX_TILE AMX_INT8 AMX_BF16)
    set(GGML_${flag} OFF CACHE BOOL "" FORCE)
  endforeach()
endif()

add_subdirectory("${AGENTD_LLAMA_SOURCE_DIR}" "${CMAKE_BINARY_DIR}/llama.cpp" EXCLUDE_FROM_ALL SYSTEM)
set(AGENTD_LLAMA_TOOLS ON)
