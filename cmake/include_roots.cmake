# Include roots: how the build keeps the module rules of docs/design.md.
#
# Sources include each other by module path ("storage/task_store.hpp"), so whoever has the source
# root on its include path can include anything. No target has it. Instead each target gets its
# own include root in the build tree, a folder holding symbolic links to exactly the source paths
# it owns:
#
#   build/include_roots/agentd_storage/storage          -> <source>/storage
#   build/include_roots/agentd_plugin_news/agents/news  -> <source>/agents/news
#
# exported with the target's link visibility (PUBLIC/INTERFACE). A target therefore sees its own
# headers and those of what it links publicly, transitively, and nothing else: the include graph
# is the link graph, and a header of a module you do not link is "No such file". A private link
# (agents' TaskContext on storage) keeps the other module's headers away from the target's
# users. tests/include_rules proves it for the rules that matter.
#
# agentd_include_root(<target> <PUBLIC|INTERFACE|PRIVATE> <path relative to the source root>...)
function(agentd_include_root target scope)
  set(root "${PROJECT_BINARY_DIR}/include_roots/${target}")
  foreach(path IN LISTS ARGN)
    if(NOT EXISTS "${PROJECT_SOURCE_DIR}/${path}")
      message(FATAL_ERROR "agentd_include_root(${target}): ${path} does not exist in ${PROJECT_SOURCE_DIR}")
    endif()
    get_filename_component(parent "${root}/${path}" DIRECTORY)
    file(MAKE_DIRECTORY "${parent}")
    file(CREATE_LINK "${PROJECT_SOURCE_DIR}/${path}" "${root}/${path}" SYMBOLIC)
  endforeach()
  target_include_directories(${target} ${scope} "${root}")
endfunction()
