// Bus: a resource type that core has never heard of, built outside the
// built-in plugins. The integration tests drop it into a plugin directory to
// show that a new type needs no rebuild of anything else; the contract test
// runs over it like over the built-in ones.
#include <invsys/plugin_abi.hpp>

namespace invsys {
namespace {

class bus_type final : public named_resource_type<bus_type> {
  public:
    static constexpr std::string_view name = "Bus";
    std::string collection() const noexcept override { return "buses"; }

    std::vector<attribute_spec> attributes() const noexcept override {
        attribute_spec spaces;
        spaces.name = "wheelchair_spaces";
        spaces.kind = attribute_kind::integer;
        spaces.description = "Number of wheelchair spaces.";
        spaces.minimum = 0;
        spaces.maximum = 4;
        return {spaces};
    }

    // A rule that cannot be declared as a spec, so that tests can see a
    // plugin's own allocation check at work.
    std::vector<rule_violation> check_allocation(const allocation_view& a) const noexcept override {
        if (a.allocation_type == "booking" || a.allocation_type == "maintenance") return {};
        return {{"allocation_type", "a Bus allows only booking or maintenance"}};
    }
};

}  // namespace
}  // namespace invsys

INVSYS_PLUGIN(invsys::bus_type)
