// Checks a model file before llama.cpp sees it, so the common mistakes get a precise message:
// the path does not exist, is not a regular readable file, or is not GGUF at all.
#pragma once

#include <string>

namespace agentd::engine {

// Throws EngineError naming the path and the problem; returns normally for a GGUF file (which
// llama.cpp may still refuse, e.g. for an unsupported architecture).
void check_model_file(const std::string& path);

}  // namespace agentd::engine
