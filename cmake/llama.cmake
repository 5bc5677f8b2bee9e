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

# The CPU path. By default ggml's CPU backend is built in every variant of this architecture
# (x86: x64, sse42, ..., haswell, skylakex, icelake, zen4, sapphirerapids) as loadable libraries
# beside libggml, as llama.cpp's own releases do, and engine/cpu_backend picks the best one this
# CPU can run when the engine starts: one portable build, each host's best kernels. That needs
# ggml and llama as shared libraries (GGML_BACKEND_DL).
# With AGENTD_CPU_VARIANTS=OFF, one static CPU backend is compiled in instead, pinned on x86 to
# x86-64-v3 (AVX2, FMA, F16C, BMI2) with AMX and AVX-512 off, which every host of this kind has.
# GGML_NATIVE is never used: on hosts that report AMX it enabled ggml's AMX extra buffer type
# without asking the kernel for the tile state, and a Q8_0 model crashed in
# ggml_cpu_extra_compute_forward (see docs/design.md, "CPU path").
if(APPLE)
  set(agentd_cpu_variants_default OFF)  # Metal does the work there; ggml's macOS build is static
else()
  set(agentd_cpu_variants_default ON)
endif()
option(AGENTD_CPU_VARIANTS "Build every CPU variant of ggml and choose one at run time" ${agentd_cpu_variants_default})
set(GGML_NATIVE OFF CACHE BOOL "" FORCE)
if(AGENTD_CPU_VARIANTS)
  set(BUILD_SHARED_LIBS ON CACHE BOOL "" FORCE)
  set(GGML_BACKEND_DL ON CACHE BOOL "" FORCE)
  set(GGML_CPU_ALL_VARIANTS ON CACHE BOOL "" FORCE)
else()
  set(BUILD_SHARED_LIBS OFF CACHE BOOL "" FORCE)
  set(GGML_BACKEND_DL OFF CACHE BOOL "" FORCE)
  set(GGML_CPU_ALL_VARIANTS OFF CACHE BOOL "" FORCE)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
    foreach(flag AVX AVX2 FMA F16C BMI2)
      set(GGML_${flag} ON CACHE BOOL "" FORCE)
    endforeach()
    foreach(flag AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16 AVX_VNNI AMX_TILE AMX_INT8 AMX_BF16)
      set(GGML_${flag} OFF CACHE BOOL "" FORCE)
    endforeach()
  endif()
endif()

add_subdirectory("${AGENTD_LLAMA_SOURCE_DIR}" "${CMAKE_BINARY_DIR}/llama.cpp" EXCLUDE_FROM_ALL SYSTEM)

# The CPU variants are loaded at run time, never linked, so nothing would build them: this target
# does, and the engine depends on it. AGENTD_CPU_BACKEND_DIR is where they land (beside libggml).
if(AGENTD_CPU_VARIANTS)
  get_property(agentd_ggml_targets DIRECTORY "${AGENTD_LLAMA_SOURCE_DIR}/ggml/src" PROPERTY BUILDSYSTEM_TARGETS)
  list(FILTER agentd_ggml_targets INCLUDE REGEX "^ggml-cpu-")
  list(FILTER agentd_ggml_targets EXCLUDE REGEX "-feats$")
  if(NOT agentd_ggml_targets)
    message(FATAL_ERROR "AGENTD_CPU_VARIANTS: ggml defined no CPU variant for ${CMAKE_SYSTEM_PROCESSOR}; configure with -DAGENTD_CPU_VARIANTS=OFF")
  endif()
  add_custom_target(agentd_cpu_variants)
  add_dependencies(agentd_cpu_variants ${agentd_ggml_targets})
  list(GET agentd_ggml_targets 0 agentd_first_variant)
  set(AGENTD_CPU_BACKEND_DIR "$<TARGET_FILE_DIR:${agentd_first_variant}>")
  # What `cmake --install` takes along with the binary (runtime/CMakeLists.txt): the shared
  # libraries agentd links and the variants it loads, into one directory where they find each
  # other ($ORIGIN), so an installed prefix runs without the build tree and can be moved.
  set(AGENTD_LLAMA_SHARED_TARGETS llama ggml ggml-base ${agentd_ggml_targets})
  set_target_properties(${AGENTD_LLAMA_SHARED_TARGETS} PROPERTIES INSTALL_RPATH "$ORIGIN")
endif()
set(AGENTD_LLAMA_TOOLS ON)
