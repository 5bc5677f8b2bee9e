#include "engine/cpu_backend.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <system_error>

#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#endif

#include "engine/engine.hpp"
#include "ggml-backend.h"

namespace agentd::engine {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPrefix = "libggml-cpu-";
constexpr std::string_view kSuffix = ".so";

// ggml_backend_score() of a variant library, 0 when it cannot be opened or has none. The score
// function lives in an object compiled without the variant's instruction set (ggml's *-feats
// target), so calling it is safe on any CPU; the library is closed again.
int score_of(const fs::path& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) return 0;
  int score = 0;
  if (auto fn = reinterpret_cast<int (*)()>(dlsym(handle, "ggml_backend_score"))) score = fn();
  dlclose(handle);
  return score;
}

bool runnable(const CpuVariant& v, bool amx_granted) { return v.score > 0 && (!v.uses_amx || amx_granted); }

std::string names_of(const std::vector<CpuVariant>& variants, bool runnable_only, bool amx_granted) {
  std::string out;
  for (const auto& v : variants) {
    if (runnable_only && !runnable(v, amx_granted)) continue;
    out += (out.empty() ? "" : ", ") + v.name;
  }
  return out.empty() ? "none" : out;
}

struct Loaded {
  std::mutex mutex;
  std::string name;  // "" until loaded
};
Loaded& loaded() {
  static Loaded l;
  return l;
}

}  // namespace

std::vector<CpuVariant> find_cpu_variants(const fs::path& dir) {
  std::vector<CpuVariant> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (!file.starts_with(kPrefix) || !file.ends_with(kSuffix)) continue;
    CpuVariant v;
    v.name = file.substr(kPrefix.size(), file.size() - kPrefix.size() - kSuffix.size());
    v.path = it->path();
    v.score = score_of(v.path);
    v.uses_amx = v.name == "sapphirerapids" || v.name.find("amx") != std::string::npos;
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(), [](const CpuVariant& a, const CpuVariant& b) { return a.name < b.name; });
  return out;
}

const CpuVariant& choose_cpu_variant(const std::vector<CpuVariant>& variants, std::string_view wanted,
                                     bool amx_granted) {
  const CpuVariant* best = nullptr;
  for (const auto& v : variants) {
    if (wanted != "auto" && v.name != wanted) continue;
    if (wanted != "auto" && !runnable(v, amx_granted)) {
      throw EngineError("CPU variant '" + v.name + "' cannot run on this CPU" +
                        (v.score > 0 ? " (the kernel does not grant AMX tile state)" : "") +
                        "; this host can run: " + names_of(variants, true, amx_granted));
    }
    if (runnable(v, amx_granted) && (!best || v.score > best->score)) best = &v;
  }
  if (!best && wanted != "auto") {
    throw EngineError("no CPU variant '" + std::string(wanted) + "'; built: " + names_of(variants, false, amx_granted));
  }
  if (!best) {
    throw EngineError("no CPU variant this CPU can run among: " + names_of(variants, false, amx_granted));
  }
  return *best;
}

bool amx_tile_state_granted() {
#if defined(__linux__) && defined(__x86_64__)
  constexpr int kArchReqXcompPerm = 0x1023;
  constexpr int kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

std::vector<fs::path> cpu_backend_dirs() {
  std::vector<fs::path> dirs;
  // The variants are built and installed beside libggml, so the directory this process loaded
  // libggml from is the one that matches it, wherever the build or the install put it.
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&ggml_backend_load), &info) && info.dli_fname) {
    const fs::path lib = info.dli_fname;
    if (lib.is_absolute()) dirs.push_back(lib.parent_path());
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(exe.parent_path());
#ifdef AGENTD_CPU_BACKEND_BUILD_DIR
  dirs.emplace_back(AGENTD_CPU_BACKEND_BUILD_DIR);
#endif
  std::erase_if(dirs, [](const fs::path& d) {
    std::error_code e;
    return !fs::is_directory(d, e);
  });
  return dirs;
}

std::vector<CpuVariant> built_cpu_variants() {
  for (const auto& dir : cpu_backend_dirs()) {
    if (auto variants = find_cpu_variants(dir); !variants.empty()) return variants;
  }
  return {};
}

bool cpu_variants_built() {
#ifdef GGML_BACKEND_DL
  return true;
#else
  return false;
#endif
}

std::string load_cpu_backend(std::string_view wanted) {
  auto& l = loaded();
  std::lock_guard lock(l.mutex);
  if (!l.name.empty()) {
    if (wanted != "auto" && wanted != l.name) {
      throw EngineError("CPU variant '" + std::string(wanted) + "' asked for, but '" + l.name +
                        "' is already loaded in this process");
    }
    return l.name;
  }
  if (!cpu_variants_built()) {
    if (wanted != "auto" && wanted != "built-in") {
      throw EngineError("CPU variant '" + std::string(wanted) +
                        "' asked for, but this build has one CPU backend compiled in (AGENTD_CPU_VARIANTS=OFF)");
    }
    return l.name = "built-in";
  }
  const auto variants = built_cpu_variants();
  if (variants.empty()) {
    std::string searched;
    for (const auto& dir : cpu_backend_dirs()) searched += (searched.empty() ? "" : ", ") + dir.string();
    throw EngineError("no CPU backend (libggml-cpu-*.so) found in " + (searched.empty() ? "no directory" : searched) +
                      "; they are built beside libggml (cmake/llama.cmake, AGENTD_CPU_VARIANTS)");
  }
  const CpuVariant& v = choose_cpu_variant(variants, wanted, amx_tile_state_granted());
  if (!ggml_backend_load(v.path.c_str())) {
    const char* why = dlerror();
    throw EngineError("cannot load CPU variant " + v.path.string() + ": " + (why ? why : "ggml refused it"));
  }
  return l.name = v.name;
}

std::string loaded_cpu_backend() {
  auto& l = loaded();
  std::lock_guard lock(l.mutex);
  return l.name;
}

}  // namespace agentd::engine
