# agentd_llama_chat: the part of llama.cpp's `common` library agentd uses — chat templates (its
# Jinja engine, the model's own template), tool-call and reasoning parsing, JSON schema -> GBNF —
# compiled from the pinned source tree (cmake/llama.cmake).
#
# Why not llama.cpp's own `llama-common` target: it also compiles the model downloader (arg.cpp,
# download.cpp, hf-cache.cpp) and links llama.cpp's vendored cpp-httplib 0.5x, while the daemon
# links Debian's cpp-httplib 0.11: two different httplib::Server in one program would be an ODR
# violation, and the downloader is compile time for nothing. The sources below are the closure of
# chat.cpp's calls in the pinned release (a link error names what a newer pin added).
# llama.cpp's vendored nlohmann::json (3.12) stays PRIVATE: common's headers use the pimpl
# `common_json`, so agentd's own code keeps compiling against Debian's nlohmann::json.
if(TARGET agentd_llama_chat OR NOT AGENTD_LLAMA_SOURCE_DIR OR AGENTD_SYSTEM_LLAMA)
  return()
endif()
set(common_dir "${AGENTD_LLAMA_SOURCE_DIR}/common")
include("${common_dir}/parsers/sources.cmake")  # LLAMA_CHAT_PARSERS_SOURCES (model-specific parsers)
set(common_sources
  chat.cpp chat-auto-parser-generator.cpp chat-auto-parser-helpers.cpp chat-diff-analyzer.cpp
  chat-peg-parser.cpp peg-parser.cpp json-schema-to-grammar.cpp json-schema.cpp json.cpp
  common.cpp log.cpp unicode.cpp trie.cpp sampling.cpp reasoning-budget.cpp fit.cpp speculative.cpp
  ngram-cache.cpp ngram-map.cpp ngram-mod.cpp
  jinja/lexer.cpp jinja/parser.cpp jinja/runtime.cpp jinja/value.cpp jinja/string.cpp jinja/caps.cpp)
list(TRANSFORM common_sources PREPEND "${common_dir}/")
add_library(agentd_llama_chat STATIC ${common_sources} ${LLAMA_CHAT_PARSERS_SOURCES})
target_include_directories(agentd_llama_chat SYSTEM PUBLIC "${common_dir}")
target_link_libraries(agentd_llama_chat PUBLIC llama llama-common-base Threads::Threads PRIVATE vendor::nlohmann)
target_compile_features(agentd_llama_chat PUBLIC cxx_std_17)
