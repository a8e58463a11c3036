// Bus: the example plugin, a resource type that core has never heard of.
// Copy this directory to start a plugin of your own (README: "Adding a
// resource type"); it builds in the invsys tree and out of it alike.
//
// It shows the three things a plugin can say:
//   - attributes declared as specs (core checks kinds and bounds itself),
//   - check_attributes: a rule across several attributes,
//   - check_allocation: a rule for the allocations of this type.
//
// The integration tests drop it into a plugin directory to show that a new
// type needs no rebuild of anything else; the contract test runs over it like
// over the built-in plugins.
#include <invsys/plugin_abi.hpp>

// Everything in an anonymous namespace: only the two symbols INVSYS_PLUGIN
// defines leave the library.
namespace invsys {
namespace {

// A bus with fewer seats than this is a minibus, with room for at most
// `minibus_wheelchair_spaces` wheelchair spaces.
constexpr std::int64_t minibus_seats = 20;
constexpr std::int64_t minibus_wheelchair_spaces = 1;

// named_resource_type answers type_name() from `name`, which INVSYS_PLUGIN
// also writes into the info record the loader reads first.
class bus_type final : public named_resource_type<bus_type> {
  public:
    // The type name, unique among loaded plugins: [A-Za-z][A-Za-z0-9_-]*.
    static constexpr std::string_view name = "Bus";

    // Served under /api/buses.
    std::string collection() const noexcept override { return "buses"; }

    // Every attribute is optional; a key not declared here is refused. Core
    // checks the kind and the bounds, and describes them in GET /api/types.
    std::vector<attribute_spec> attributes() const noexcept override {
        attribute_spec seats;
        seats.name = "seats";
        seats.kind = attribute_kind::integer;
        seats.description = "Number of seats.";
        seats.minimum = 1;
        seats.maximum = 100;

        attribute_spec spaces;
        spaces.name = "wheelchair_spaces";
        spaces.kind = attribute_kind::integer;
        spaces.description = "Number of wheelchair spaces.";
        spaces.minimum = 0;
        spaces.maximum = 4;
        return {seats, spaces};
    }

    // Called only once every given value has passed its spec, so the values
    // have the declared kind; absent attributes are simply not in the map.
    std::vector<rule_violation> check_attributes(
        const attribute_map& attributes) const noexcept override {
        const auto seats = attributes.find("seats");
        const auto spaces = attributes.find("wheelchair_spaces");
        if (seats == attributes.end() || spaces == attributes.end()) return {};
        if (seats->second.integer < minibus_seats &&
            spaces->second.integer > minibus_wheelchair_spaces) {
            return {{"attributes.wheelchair_spaces",
                     "a minibus (fewer than " + std::to_string(minibus_seats) +
                         " seats) has at most " + std::to_string(minibus_wheelchair_spaces) +
                         " wheelchair space"}};
        }
        return {};
    }

    // Called for new and changed allocations once the generic rules passed.
    std::vector<rule_violation> check_allocation(const allocation_view& a) const noexcept override {
        if (a.allocation_type == "booking" || a.allocation_type == "maintenance") return {};
        return {{"allocation_type", "a Bus allows only booking or maintenance"}};
    }
};

}  // namespace
}  // namespace invsys

// Exports the info record (ABI version, build signature, "Bus") and the
// factory. Once per plugin, at global scope.
INVSYS_PLUGIN(invsys::bus_type)
