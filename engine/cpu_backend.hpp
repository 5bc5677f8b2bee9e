// Which CPU backend the engine computes with.
//
// In the default build (cmake/llama.cmake, AGENTD_CPU_VARIANTS) ggml's CPU backend is one
// loadable library per instruction-set level (libggml-cpu-haswell.so, -skylakex.so, -zen4.so, ...)
// beside libggml, as in llama.cpp's own releases. load_cpu_backend() picks the best one this
// CPU can run, once per process, before the first model loads: one portable build, each host's
// best kernels. A build without variants has one CPU backend compiled in ("built-in").
//
// AMX: a variant that uses AMX tiles is chosen only when the kernel grants this process the tile
// state (arch_prctl ARCH_REQ_XCOMP_PERM). The CPU may report AMX while the kernel does not allow
// it, and then ggml's AMX path crashes (seen with a Q8_0 model in a native build).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace agentd::engine {

struct CpuVariant {
  std::string name;             // "haswell": the file name between "libggml-cpu-" and ".so"
  std::filesystem::path path;
  int score = 0;                // ggml's own: 0 = this CPU lacks an instruction it uses; higher = more
  bool uses_amx = false;        // sapphirerapids (AMX tiles)
};

// The variants in `dir`, each scored by its library's ggml_backend_score(), sorted by name.
// A library that cannot be opened or has no score function is listed with score 0.
std::vector<CpuVariant> find_cpu_variants(const std::filesystem::path& dir);

// The variant to load: `wanted` by name, or "auto" for the highest score. Never one this CPU
// scores 0, never an AMX one unless `amx_granted`. Throws EngineError naming what was wanted and
// what this host can run.
const CpuVariant& choose_cpu_variant(const std::vector<CpuVariant>& variants, std::string_view wanted,
                                     bool amx_granted);

// Whether the kernel grants this process the AMX tile data state (Linux x86-64); false on CPUs
// without AMX, on older kernels and on other systems. Asking is harmless and idempotent.
bool amx_tile_state_granted();

// Where the variants are looked for: the directory libggml was loaded from (build/bin in the build
// tree, lib/agentd in an installed prefix), the running executable's, then the build tree's.
// Only existing ones.
std::vector<std::filesystem::path> cpu_backend_dirs();

// The variants of the first of cpu_backend_dirs() that holds any; empty when none does.
std::vector<CpuVariant> built_cpu_variants();

// True when this build has the CPU backend as loadable variants (else one is compiled in).
bool cpu_variants_built();

// Loads the CPU backend once per process and returns its name (a variant's, or "built-in").
// `wanted` is "auto" or a variant's name; a later call with another name than the loaded one
// throws, as does a build without variants asked for a name. Throws EngineError when no variant
// can be loaded, naming the directories searched.
std::string load_cpu_backend(std::string_view wanted = "auto");

// The name load_cpu_backend() returned, or "" before it ran.
std::string loaded_cpu_backend();

}  // namespace agentd::engine
