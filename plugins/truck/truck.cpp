// Truck: a heavy vehicle, described by its number of axles.
#include <invsys/plugin_abi.hpp>

namespace invsys {
namespace {

class truck_type final : public named_resource_type<truck_type> {
  public:
    static constexpr std::string_view name = "Truck";
    std::string collection() const noexcept override { return "trucks"; }

    std::vector<attribute_spec> attributes() const noexcept override {
        attribute_spec axles;
        axles.name = "axles";
        axles.kind = attribute_kind::integer;
        axles.description = "Number of axles.";
        axles.minimum = 2;
        axles.maximum = 10;
        return {axles};
    }
};

}  // namespace
}  // namespace invsys

INVSYS_PLUGIN(invsys::truck_type)
