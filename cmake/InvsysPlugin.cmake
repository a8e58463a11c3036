# invsys_add_plugin(<name> SOURCES <source>... [OUTPUT_DIR <dir>]
#                   [OUTPUT_NAME <file stem>] [DEFINITIONS <definition>...])
#
# Adds the target invsys_plugin_<name>: a resource-type plugin as a MODULE
# library lib<file stem>.so (default libinvsys-<name>.so) in OUTPUT_DIR
# (default: INVSYS_PLUGIN_OUTPUT_DIR when set, else the current binary
# directory), built against invsys::plugin_api only.
#
# The one definition of how a plugin is built: the built-in plugins use it
# from the source tree, out-of-tree plugins from the installed package
# (find_package(invsys) includes this file).
#
# Requires the target invsys::plugin_api and INVSYS_CXX_STANDARD, the C++
# standard invsys itself is built with.
include_guard(GLOBAL)

function(invsys_add_plugin name)
    cmake_parse_arguments(PARSE_ARGV 1 PLUGIN "" "OUTPUT_DIR;OUTPUT_NAME" "SOURCES;DEFINITIONS")
    if(PLUGIN_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "invsys_add_plugin(${name}): unknown arguments: ${PLUGIN_UNPARSED_ARGUMENTS}")
    endif()
    if(NOT PLUGIN_SOURCES)
        message(FATAL_ERROR "invsys_add_plugin(${name}): no SOURCES")
    endif()
    if(NOT TARGET invsys::plugin_api OR NOT INVSYS_CXX_STANDARD)
        message(FATAL_ERROR "invsys_add_plugin(${name}): call find_package(invsys) first")
    endif()
    if(NOT PLUGIN_OUTPUT_DIR AND INVSYS_PLUGIN_OUTPUT_DIR)
        set(PLUGIN_OUTPUT_DIR ${INVSYS_PLUGIN_OUTPUT_DIR})
    endif()
    if(NOT PLUGIN_OUTPUT_NAME)
        set(PLUGIN_OUTPUT_NAME "invsys-${name}")
    endif()

    set(target invsys_plugin_${name})
    add_library(${target} MODULE ${PLUGIN_SOURCES})
    target_link_libraries(${target} PRIVATE invsys::plugin_api)
    target_compile_definitions(${target} PRIVATE ${PLUGIN_DEFINITIONS})
    # A plugin that uses anything of core beyond its headers fails to link
    # here rather than to load in a worker.
    target_link_options(${target} PRIVATE LINKER:--no-undefined)
    # The loader refuses a plugin whose build signature (compiler, standard
    # library, C++ standard) differs from its own: build with invsys's
    # standard, whatever the enclosing project sets. Hidden visibility
    # because every plugin exports the same symbol names.
    set_target_properties(${target} PROPERTIES
        PREFIX "lib"
        OUTPUT_NAME "${PLUGIN_OUTPUT_NAME}"
        CXX_STANDARD ${INVSYS_CXX_STANDARD}
        CXX_STANDARD_REQUIRED ON
        CXX_EXTENSIONS OFF
        CXX_VISIBILITY_PRESET hidden
        VISIBILITY_INLINES_HIDDEN ON)
    if(PLUGIN_OUTPUT_DIR)
        set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${PLUGIN_OUTPUT_DIR})
    endif()
endfunction()
