#include "engine/model_check.hpp"

#include <array>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "engine/engine.hpp"

namespace agentd::engine {

namespace {

// Every GGUF file starts with these four bytes (gguf.h: GGUF_MAGIC).
constexpr std::array<char, 4> kGgufMagic = {'G', 'G', 'U', 'F'};

std::string printable(const std::array<char, 4>& bytes, std::streamsize n) {
  std::string out;
  for (std::streamsize i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

void check_model_file(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) throw EngineError("model_path is empty: set it to a GGUF model file");
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw EngineError("model file not found: " + path);
  if (!fs::is_regular_file(status)) throw EngineError("model path is not a regular file: " + path);

  std::ifstream in(path, std::ios::binary);
  if (!in) throw EngineError("model file cannot be opened for reading: " + path);
  std::array<char, 4> magic{};
  in.read(magic.data(), magic.size());
  const std::streamsize got = in.gcount();
  if (got < static_cast<std::streamsize>(magic.size())) {
    throw EngineError("model file is not GGUF (only " + std::to_string(got) +
                      " bytes, a GGUF file starts with the 4-byte magic \"GGUF\"): " + path);
  }
  if (magic != kGgufMagic) {
    throw EngineError("model file is not GGUF (starts with \"" + printable(magic, got) +
                      "\", expected \"GGUF\"): " + path);
  }
}

}  // namespace agentd::engine
