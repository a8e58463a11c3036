// The binary contract between invsys and a resource-type plugin.
//
// A plugin is a shared library that exports two symbols:
//
//   1. `invsys_plugin_info` — a plain C record (below). The loader reads it
//      first, before touching any C++ object, and refuses the library when
//      the ABI version or the build signature differs from its own. That
//      keeps a plugin built by another compiler, standard library or an
//      older header from ever being called.
//   2. `invsys_create_resource_type` — a Boost.DLL alias of a factory
//      returning the plugin's resource_type object.
//
// Write a plugin as a class that names its type once, in a constant `name`,
// derived from invsys::named_resource_type (which answers type_name() from
// that constant), and end its source file with INVSYS_PLUGIN:
//
//   class my_type final : public invsys::named_resource_type<my_type> {
//     public:
//       static constexpr std::string_view name = "MyType";
//       ...
//   };
//   INVSYS_PLUGIN(my_type)
//
// Build it as a MODULE library with hidden visibility (every plugin exports
// the same symbol names) against these public headers only: with CMake,
// invsys_add_plugin() from find_package(invsys) does (plugins/bus/).
#pragma once

#include <boost/dll/alias.hpp>
#include <cstdint>
#include <invsys/resource_type.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

// Bump when anything in resource_type.hpp or this file changes layout or
// meaning. Overridable only so that tests can build a mismatching plugin.
#ifndef INVSYS_PLUGIN_ABI_VERSION
#define INVSYS_PLUGIN_ABI_VERSION 2u
#endif

#define INVSYS_STRINGIFY_DETAIL(x) #x
#define INVSYS_STRINGIFY(x) INVSYS_STRINGIFY_DETAIL(x)

#ifdef _GLIBCXX_DEBUG
#define INVSYS_GLIBCXX_DEBUG_MODE "1"
#else
#define INVSYS_GLIBCXX_DEBUG_MODE "0"
#endif

// What must match between host and plugin for C++ objects to cross safely:
// compiler and version, standard library release, its string ABI and debug
// mode (both change the layout of std::string and the containers), and the
// language standard. Overridable only so that tests can build a mismatch.
#ifndef INVSYS_BUILD_SIGNATURE
#define INVSYS_BUILD_SIGNATURE                                                         \
    "gcc " __VERSION__                                                                 \
    "; libstdc++ " INVSYS_STRINGIFY(_GLIBCXX_RELEASE) "; cxx11-abi " INVSYS_STRINGIFY( \
        _GLIBCXX_USE_CXX11_ABI) "; debug " INVSYS_GLIBCXX_DEBUG_MODE                   \
                                "; c++ " INVSYS_STRINGIFY(__cplusplus)
#endif

extern "C" {
// Layout frozen for every ABI version: the loader must be able to read the
// version of a plugin that is too old or too new.
struct invsys_plugin_info {
    std::uint32_t abi_version;
    const char* build_signature;
    const char* type_name;
};
}

namespace invsys {
using resource_type_factory = std::unique_ptr<resource_type>() noexcept;

// A resource_type whose type_name() is `Plugin::name`, the constant that
// INVSYS_PLUGIN also puts into the info record: the type name is written
// once, and the object and its record cannot disagree.
template <class Plugin>
class named_resource_type : public resource_type {
  public:
    std::string type_name() const noexcept final { return std::string(Plugin::name); }
};
}  // namespace invsys

// Defines both exported symbols for the plugin class `type_class`, whose
// type name is the constant `type_class::name` (a std::string_view of a
// string literal). Use it once, at global scope.
//
// `struct` is spelled out because the variable hides the record's type name
// once declared. The factory has internal linkage so that no plugin can
// interpose on another's when a library is built without hidden visibility.
#define INVSYS_PLUGIN(type_class)                                                              \
    static_assert(std::is_base_of_v<invsys::resource_type, type_class>,                        \
                  "INVSYS_PLUGIN: the class must derive from invsys::resource_type");          \
    static_assert(                                                                             \
        !type_class::name.empty() && type_class::name.data()[type_class::name.size()] == '\0', \
        "INVSYS_PLUGIN: the class's `name` must be a non-empty string literal");               \
    extern "C" BOOST_SYMBOL_EXPORT const struct invsys_plugin_info invsys_plugin_info;         \
    extern "C" BOOST_SYMBOL_EXPORT const struct invsys_plugin_info invsys_plugin_info = {      \
        INVSYS_PLUGIN_ABI_VERSION, INVSYS_BUILD_SIGNATURE, type_class::name.data()};           \
    namespace {                                                                                \
    std::unique_ptr<invsys::resource_type> invsys_plugin_create_resource_type() noexcept {     \
        return std::make_unique<type_class>();                                                 \
    }                                                                                          \
    }                                                                                          \
    BOOST_DLL_ALIAS(invsys_plugin_create_resource_type, invsys_create_resource_type)
