"""Plugins end to end: a type added by dropping a .so into the plugin directory, and
plugins that must be refused (wrong ABI, not a library, a duplicate type) while the others work."""

import os
import re
import unittest

from harness import BUILTIN_PLUGIN_DIR, StackTestCase, find_test_plugin
from harness.log_lines import (PLUGIN_REFUSED, REFUSED_ABI, REFUSED_BUILD_SIGNATURE, REFUSED_DUPLICATE_COLLECTION,
                               REFUSED_DUPLICATE_TYPE, named)

BUS_RULES = [
    ({}, True), ({"wheelchair_spaces": 0}, True), ({"wheelchair_spaces": 4}, True), ({"wheelchair_spaces": 2}, True),
    ({"wheelchair_spaces": 5}, False), ({"wheelchair_spaces": -1}, False), ({"wheelchair_spaces": 2.5}, False),
    ({"wheelchair_spaces": True}, False), ({"wheelchair_spaces": "2"}, False),
    ({"seats": 40}, True), ({"seats": 1}, True), ({"seats": 100}, True), ({"seats": 0}, False), ({"seats": 101}, False),
    ({"doors": 2}, False),
    # The plugin's own rule across attributes: a minibus (under 20 seats) has at most 1 wheelchair space.
    ({"seats": 19, "wheelchair_spaces": 1}, True), ({"seats": 20, "wheelchair_spaces": 4}, True),
    ({"seats": 19, "wheelchair_spaces": 2}, False), ({"seats": 8, "wheelchair_spaces": 4}, False),
]


class BusPluginTest(StackTestCase):

    @classmethod
    def prepare_stack(cls, stack):
        cls.bus_so = stack.add_plugin(find_test_plugin("bus"))

    def test_bus_appears_in_types_beside_the_built_in_types(self):
        types = self.assertJson(self.req("GET", "/api/types"))
        by_type = {t["resource_type"]: t for t in types}
        self.assertEqual(set(by_type), {"Car", "Lorry", "Truck", "Bus"})
        bus = by_type["Bus"]
        self.assertEqual(bus["collection"], "buses")
        schema = bus["attributes"]
        self.assertEqual(schema.get("type"), "object")
        self.assertEqual(set(schema.get("properties", {})), {"seats", "wheelchair_spaces"})
        seats = schema["properties"]["seats"]
        self.assertEqual((seats.get("type"), seats.get("minimum"), seats.get("maximum")), ("integer", 1, 100))
        spaces = schema["properties"]["wheelchair_spaces"]
        self.assertEqual(spaces.get("type"), "integer")
        self.assertEqual(spaces.get("minimum"), 0)
        self.assertEqual(spaces.get("maximum"), 4)

    def test_buses_are_created_read_listed_patched_and_deleted(self):
        bus = self.create_resource("buses", "Bus 1", {"wheelchair_spaces": 2}, "Bus")
        self.assertEqual(bus["attributes"], {"wheelchair_spaces": 2})
        self.assertEqual(self.assertJson(self.req("GET", f"/api/buses/{bus['id']}")), bus)
        self.assertIn(bus["id"], [b["id"] for b in self.assertJson(self.req("GET", "/api/buses?limit=1000"))])
        self.assertEqual(self.stack.query("SELECT resource_type, name FROM resources WHERE id = ?", (bus["id"],)),
                         [("Bus", "Bus 1")])
        new = self.assertJson(self.req("PATCH", f"/api/buses/{bus['id']}", json={"attributes": {"wheelchair_spaces": 4}}))
        self.assertEqual(new["attributes"], {"wheelchair_spaces": 4})
        self.assertProblem(self.req("GET", f"/api/cars/{bus['id']}"), 404)
        self.assertProblem(self.req("POST", "/api/buses", json={"name": "Bus 1"}), 409)
        self.create_resource("cars", "Bus 1", None, "Car")   # names are unique per type only
        self.assertStatus(self.req("DELETE", f"/api/buses/{bus['id']}"), 204)
        self.assertProblem(self.req("GET", f"/api/buses/{bus['id']}"), 404)

    def test_the_plugin_validates_its_attributes(self):
        for i, (attributes, ok) in enumerate(BUS_RULES):
            with self.subTest(attributes=attributes):
                r = self.req("POST", "/api/buses", json={"name": f"rule bus {i}", "attributes": attributes})
                if ok:
                    self.assertStatus(r, 201)
                else:
                    self.assertValidation(r, ["wheelchair_spaces", "seats", "doors"])
                    self.assertEqual(self.stack.query("SELECT count(*) FROM resources WHERE name = ?",
                                                      (f"rule bus {i}",)), [(0,)])

    def test_the_plugins_rule_across_attributes_names_the_field_and_holds_on_patch(self):
        body = self.assertValidation(self.req("POST", "/api/buses", json={
            "name": "Minibus", "attributes": {"seats": 12, "wheelchair_spaces": 2}}))
        self.assertEqual([e["field"] for e in body["errors"]], ["attributes.wheelchair_spaces"])
        self.assertIn("minibus", body["errors"][0]["message"])
        bus = self.create_resource("buses", "Minibus", {"seats": 12, "wheelchair_spaces": 1}, "Bus")
        before = self.stack.snapshot()
        # PATCH replaces the attributes, so the rule sees the whole new set.
        r = self.req("PATCH", f"/api/buses/{bus['id']}", json={"attributes": {"seats": 12, "wheelchair_spaces": 3}})
        self.assertValidation(r, "wheelchair_spaces")
        self.assertEqual(self.stack.snapshot(), before)
        new = self.assertJson(self.req("PATCH", f"/api/buses/{bus['id']}", json={"attributes": {"wheelchair_spaces": 3}}))
        self.assertEqual(new["attributes"], {"wheelchair_spaces": 3})

    def test_bus_allocations_follow_the_plugin_rules(self):
        bus = self.create_resource("buses", "Bus Alloc", None, "Bus")
        base = f"/api/buses/{bus['id']}/allocations"
        a = self.create_allocation("buses", bus["id"], "2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z",
                                   allocation_type="booking")
        self.assertAllocationShape(a, "Bus", bus["id"])
        m = self.create_allocation("buses", bus["id"], "2030-01-02T00:00:00Z", None, allocation_type="maintenance")
        self.assertAllocationShape(m, "Bus", bus["id"])
        before = self.stack.snapshot()
        for atype in ("party", "Booking", "booking ", "repair"):
            with self.subTest(allocation_type=atype):
                r = self.req("POST", base, json={"from_datetime": "2030-01-01T14:00:00Z",
                                                 "to_datetime": "2030-01-01T15:00:00Z", "allocation_type": atype})
                self.assertValidation(r, "allocation_type")
        r = self.req("PATCH", f"{base}/{a['id']}", json={"allocation_type": "party"})
        self.assertValidation(r, "allocation_type")
        self.assertEqual(self.stack.snapshot(), before)
        # The generic rules still apply to a plugin's type.
        problem = self.assertProblem(self.req("POST", base, json={
            "from_datetime": "2030-01-01T11:00:00Z", "to_datetime": "2030-01-01T13:00:00Z",
            "allocation_type": "booking"}), 409)
        self.assertEqual(problem.get("conflicts"), [a["id"]])
        self.assertEqual([x["id"] for x in self.assertJson(self.req("GET", base))], [a["id"], m["id"]])
        p = self.assertJson(self.req("PATCH", f"{base}/{a['id']}", json={"allocation_type": "maintenance"}))
        self.assertEqual(p["allocation_type"], "maintenance")

    def test_built_in_types_are_unaffected_by_the_bus_rules(self):
        car = self.create_resource("cars", "Party Car", {"seats": 4}, "Car")
        a = self.create_allocation("cars", car["id"], "2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z",
                                   allocation_type="party")
        self.assertEqual(a["allocation_type"], "party")


class OnlyBusTest(StackTestCase):
    """The types served are exactly the plugins in the directory."""

    stack_options = {"builtin_plugins": False}

    @classmethod
    def prepare_stack(cls, stack):
        stack.add_plugin(find_test_plugin("bus"))

    def test_only_the_bus_type_is_served(self):
        types = self.assertJson(self.req("GET", "/api/types"))
        self.assertEqual([t["resource_type"] for t in types], ["Bus"])
        for collection in ("cars", "lorries", "trucks"):
            with self.subTest(collection=collection):
                self.assertProblem(self.req("GET", f"/api/{collection}"), 404)
                self.assertProblem(self.req("POST", f"/api/{collection}", json={"name": "x"}), 404)
        self.create_resource("buses", "Lonely Bus", None, "Bus")


class RefusedPluginsTest(StackTestCase):
    """Plugins with the wrong ABI version or build signature, libraries that are no plugin,
    files that are no library: each refused with a log line naming it; the others keep working."""

    REFUSED_TEST_PLUGINS = ("wrong_abi", "wrong_signature", "no_info", "no_factory", "null_factory")

    @classmethod
    def prepare_stack(cls, stack):
        cls.refused = {case: stack.add_plugin(find_test_plugin(case)) for case in cls.REFUSED_TEST_PLUGINS}
        cls.garbage = os.path.join(stack.plugin_dir, "libinvsys-garbage.so")
        with open(cls.garbage, "wb") as f:
            f.write(b"\x7fELF but not really a shared library" * 50)
        cls.empty = os.path.join(stack.plugin_dir, "libinvsys-empty.so")
        open(cls.empty, "wb").close()
        with open(os.path.join(stack.plugin_dir, "README.txt"), "w") as f:
            f.write("not a plugin\n")

    def log_lines_naming(self, *needles):
        return [line for line in self.stack.fcgi.log().splitlines() if any(n in line for n in needles)]

    def test_the_built_in_types_are_served_and_nothing_else(self):
        types = self.assertJson(self.req("GET", "/api/types"))
        self.assertEqual(sorted(t["resource_type"] for t in types), ["Car", "Lorry", "Truck"])
        for collection in ("stubs", "orphans", "ghosts"):
            self.assertProblem(self.req("GET", f"/api/{collection}"), 404)

    def test_the_built_in_types_still_work(self):
        for collection, rtype in (("cars", "Car"), ("lorries", "Lorry"), ("trucks", "Truck")):
            with self.subTest(collection=collection):
                res = self.create_resource(collection, f"still works {collection}", None, rtype)
                self.create_allocation(collection, res["id"], "2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z")
                self.assertEqual(self.assertJson(self.req("GET", f"/api/{collection}/{res['id']}")), res)

    def test_the_wrong_abi_plugin_is_refused_with_a_log_line_saying_why(self):
        lines = self.log_lines_naming(os.path.basename(self.refused["wrong_abi"]))
        self.assertTrue(lines, "no log line names the wrong-ABI plugin:\n" + self.stack.fcgi.log_tail())
        self.assertTrue(any(re.search(r"abi|version", line, re.I) for line in lines),
                        f"the log line says why (ABI version): {lines}")
        self.assertTrue(PLUGIN_REFUSED.lines(self.stack.fcgi.log(), path=named(os.path.basename(self.refused["wrong_abi"])),
                                             reason=re.compile(REFUSED_ABI)), lines)

    def test_the_foreign_build_is_refused_with_a_log_line_saying_why(self):
        lines = self.log_lines_naming(os.path.basename(self.refused["wrong_signature"]))
        self.assertTrue(lines, "no log line names the plugin:\n" + self.stack.fcgi.log_tail())
        self.assertTrue(any(re.search(r"signature|build|toolchain|compiler", line, re.I) for line in lines),
                        f"the log line says why (build signature): {lines}")
        self.assertTrue(PLUGIN_REFUSED.lines(self.stack.fcgi.log(),
                                             path=named(os.path.basename(self.refused["wrong_signature"])),
                                             reason=re.compile(REFUSED_BUILD_SIGNATURE)), lines)

    def test_every_broken_plugin_is_refused_with_a_log_line(self):
        paths = [self.refused[c] for c in ("no_info", "no_factory", "null_factory")] + [self.garbage, self.empty]
        for path in paths:
            with self.subTest(path=os.path.basename(path)):
                self.assertTrue(self.log_lines_naming(os.path.basename(path)),
                                "no log line names it:\n" + self.stack.fcgi.log_tail())
                self.assertTrue(PLUGIN_REFUSED.lines(self.stack.fcgi.log(), path=named(os.path.basename(path))),
                                "no documented refusal line names it:\n" + self.stack.fcgi.log_tail())


class DuplicatePluginsTest(StackTestCase):
    """A second plugin claiming a type or collection already loaded is refused with a log line."""

    @classmethod
    def prepare_stack(cls, stack):
        cls.copy = stack.add_plugin(os.path.join(BUILTIN_PLUGIN_DIR, "libinvsys-car.so"), "libinvsys-car2.so")
        cls.dup_type = stack.add_plugin(find_test_plugin("duplicate_type"))        # Car / motorcars
        cls.dup_collection = stack.add_plugin(find_test_plugin("duplicate_collection"))  # Automobile / cars

    def test_types_and_collections_stay_unique(self):
        types = self.assertJson(self.req("GET", "/api/types"))
        names = [t["resource_type"] for t in types]
        collections = [t["collection"] for t in types]
        self.assertEqual(len(names), len(set(names)), names)
        self.assertEqual(len(collections), len(set(collections)), collections)
        self.assertEqual(names.count("Car"), 1)
        self.assertIn("Lorry", names)
        self.assertIn("Truck", names)
        self.create_resource("lorries", "dup lorry", None, "Lorry")

    def test_each_refusal_is_logged(self):
        log = self.stack.fcgi.log().splitlines()
        refusals = [line for line in log if re.search(r"duplicate|already|twice|same|conflict|taken|claim", line, re.I)
                    and re.search(r"libinvsys-(car2?|duplicate_type|duplicate_collection)\.so", line)]
        self.assertGreaterEqual(len(refusals), 2, "\n".join(log[-30:]))
        exact = PLUGIN_REFUSED.lines("\n".join(log), path=re.compile(r"/\S*/libinvsys-(?:car2?|duplicate_type|duplicate_collection)\.so"),
                                     reason=re.compile(f"(?:{REFUSED_DUPLICATE_TYPE})|(?:{REFUSED_DUPLICATE_COLLECTION})"))
        self.assertGreaterEqual(len(exact), 2, "\n".join(log[-30:]))


if __name__ == "__main__":
    unittest.main()
