// One source for the misbehaving test plugins; each is built with different
// definitions (see ../CMakeLists.txt):
//   STUB_TYPE, STUB_COLLECTION        what the object declares (identifiers)
//   STUB_INFO_TYPE                    the info record's type name, if different
//   STUB_ATTRIBUTE, STUB_ATTRIBUTE_2  attribute names (identifiers)
//   STUB_FOREIGN_SIGNATURE            claim another toolchain
//   STUB_NO_FACTORY                   export the info record only
//   STUB_NULL_FACTORY                 a factory that returns no object
// Identifiers are turned into strings here because quoting string
// definitions through CMake and the shell is fragile.
#ifdef STUB_FOREIGN_SIGNATURE
#define INVSYS_BUILD_SIGNATURE "clang 99.0; libc++ 99; c++ 202302"
#endif

#include <invsys/plugin_abi.hpp>

#ifndef STUB_TYPE
#define STUB_TYPE Stub
#endif
#ifndef STUB_INFO_TYPE
#define STUB_INFO_TYPE STUB_TYPE
#endif
#ifndef STUB_COLLECTION
#define STUB_COLLECTION stubs
#endif
#ifndef STUB_ATTRIBUTE
#define STUB_ATTRIBUTE colour
#endif

namespace invsys {
namespace {

// Derived from resource_type itself, not named_resource_type, so that the
// object's type name can differ from its info record's (`name`).
class stub_type final : public resource_type {
  public:
    static constexpr std::string_view name = INVSYS_STRINGIFY(STUB_INFO_TYPE);
    std::string type_name() const noexcept override { return INVSYS_STRINGIFY(STUB_TYPE); }
    std::string collection() const noexcept override { return INVSYS_STRINGIFY(STUB_COLLECTION); }

    std::vector<attribute_spec> attributes() const noexcept override {
        std::vector<attribute_spec> specs(1);
        specs[0].name = INVSYS_STRINGIFY(STUB_ATTRIBUTE);
        specs[0].description = "A test attribute.";
#ifdef STUB_ATTRIBUTE_2
        specs.emplace_back(specs[0]).name = INVSYS_STRINGIFY(STUB_ATTRIBUTE_2);
#endif
        return specs;
    }
};

}  // namespace
}  // namespace invsys

#if defined(STUB_NO_FACTORY) || defined(STUB_NULL_FACTORY)
extern "C" BOOST_SYMBOL_EXPORT const struct invsys_plugin_info invsys_plugin_info;
extern "C" BOOST_SYMBOL_EXPORT const struct invsys_plugin_info invsys_plugin_info = {
    INVSYS_PLUGIN_ABI_VERSION, INVSYS_BUILD_SIGNATURE, invsys::stub_type::name.data()};
#ifdef STUB_NULL_FACTORY
namespace {
std::unique_ptr<invsys::resource_type> create_nothing() noexcept { return nullptr; }
}  // namespace
BOOST_DLL_ALIAS(create_nothing, invsys_create_resource_type)
#endif
#else
INVSYS_PLUGIN(invsys::stub_type)
#endif
