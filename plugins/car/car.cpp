// Car: a passenger vehicle. Its rules are declared as specs, so core enforces them.
#include <invsys/plugin_abi.hpp>

namespace invsys {
namespace {

class car_type final : public named_resource_type<car_type> {
  public:
    static constexpr std::string_view name = "Car";
    std::string collection() const noexcept override { return "cars"; }

    std::vector<attribute_spec> attributes() const noexcept override {
        attribute_spec seats;
        seats.name = "seats";
        seats.kind = attribute_kind::integer;
        seats.description = "Number of seats.";
        seats.minimum = 1;
        seats.maximum = 9;
        return {seats};
    }
};

}  // namespace
}  // namespace invsys

INVSYS_PLUGIN(invsys::car_type)
