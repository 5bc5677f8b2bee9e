# agentd_synth_model: synthetic llama-architecture GGUF models of realistic shape (random weights,
# a real vocabulary). Included by bench/engine and by tests/ (tests that need a model of another
# shape than stories260K, e.g. head sizes a quantized KV cache accepts), whichever comes first.
if(NOT TARGET agentd_synth_model)
  add_library(agentd_synth_model STATIC "${CMAKE_CURRENT_LIST_DIR}/synth_model.cpp")
  target_link_libraries(agentd_synth_model PUBLIC agentd_flags llama)
  # The engine benchmarks' helpers ("bench/engine/...") come with it (cmake/include_roots.cmake).
  agentd_include_root(agentd_synth_model PUBLIC bench/engine)
  set(default_vocab "${AGENTD_LLAMA_SOURCE_DIR}/models/ggml-vocab-llama-spm.gguf")
  if(AGENTD_LLAMA_SOURCE_DIR AND EXISTS "${default_vocab}")
    target_compile_definitions(agentd_synth_model PRIVATE AGENTD_DEFAULT_VOCAB="${default_vocab}")
  endif()
endif()
