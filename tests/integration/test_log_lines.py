"""The log lines the tests assert (harness/log_lines.py) are the ones the code writes.

No stack: each LogLine's source file must still hold the C++ string literals its text is made
of, and its anchored pattern must match a whole line of the log's format made of its example
(and nothing looser: no other level, no missing prefix, nothing before or after). When this
fails, the code's text has changed: update harness/log_lines.py with it, and the tests that
assert the line."""

import os
import re
import unittest

from harness import SOURCE_DIR, log_lines

LINE = "2030-01-01T10:00:00.123456Z [4242] {level} {message}"


def source_text(relative):
    with open(os.path.join(SOURCE_DIR, relative), encoding="utf-8") as f:
        return f.read()


class LogLinesTest(unittest.TestCase):

    def test_there_are_log_lines(self):
        self.assertGreaterEqual(len(log_lines.ALL), 20)

    def test_each_source_file_still_writes_its_literals(self):
        for line in log_lines.ALL:
            text = source_text(line.source)
            for literal in line.literals:
                with self.subTest(line=line.template, literal=literal):
                    self.assertIn(literal, text, f"{line.source} no longer has {literal} of {line!r}")
        for source, literals in (log_lines.REFUSED_REASON_SOURCES, log_lines.UNKNOWN_KEY_SOURCE):
            text = source_text(source)
            for literal in literals:
                with self.subTest(source=source, literal=literal):
                    self.assertIn(literal, text)

    def test_the_log_prefix_is_the_one_log_cpp_writes(self):
        text = source_text("core/src/log/log.cpp")
        for literal in ('line += " [";', 'line += "] ";', 'text.insert(19, ".000000")',
                        '"DEBUG"', '"INFO"', '"WARN"', '"ERROR"'):
            self.assertIn(literal, text)

    def test_each_pattern_matches_its_example_as_a_whole_line_only(self):
        for line in log_lines.ALL:
            with self.subTest(line=line.template):
                whole = LINE.format(level=line.level, message=line.example)
                m = line.regex().search(whole)
                self.assertIsNotNone(m, f"{line.pattern()} does not match {whole!r}")
                self.assertEqual(m.group("pid"), "4242")
                other = "INFO" if line.level != "INFO" else "WARN"
                self.assertIsNone(line.regex().search(LINE.format(level=other, message=line.example)))
                self.assertIsNone(line.regex().search(line.example), "matches without the prefix")
                if not line.template.endswith("}"):   # a free-text end takes any longer text
                    self.assertIsNone(line.regex().search(whole + " and more"), "matches a longer line")
                self.assertIsNone(line.regex().search("x" + whole), "matches a line that starts otherwise")
                self.assertEqual(len(line.lines("\n".join(["noise", whole, "noise"]))), 1)

    def test_the_refusal_reasons_match_the_lines_registry_cpp_writes(self):
        # in_quotes() quotes in single quotes.
        self.assertIn("quoted.append(1, '\\'').append(text).append(1, '\\'');",
                      source_text("core/src/plugins/declaration_checks.cpp"))
        for reason, example in log_lines.REFUSED_REASON_EXAMPLES.items():
            with self.subTest(reason=reason):
                whole = LINE.format(level="ERROR", message=f"plugin refused: /tmp/p/libinvsys-x.so: {example}")
                self.assertTrue(log_lines.PLUGIN_REFUSED.lines(whole, path=log_lines.named("libinvsys-x.so"),
                                                               reason=re.compile(reason)), whole)

    def test_fixed_fields_match_exactly(self):
        whole = LINE.format(level="ERROR", message="master: reload refused: check failed (exit 1); "
                                                   "keeping the running workers")
        self.assertTrue(log_lines.RELOAD_REFUSED.lines(whole, why="check failed (exit 1)"))
        self.assertFalse(log_lines.RELOAD_REFUSED.lines(whole, why="check failed (exit 2)"))
        self.assertFalse(log_lines.RELOAD_REFUSED.lines(whole, why="check failed"))
        plugin = LINE.format(level="ERROR", message="plugin refused: /tmp/p/libinvsys-x.so: ABI version 9, expected 1")
        self.assertTrue(log_lines.PLUGIN_REFUSED.lines(plugin, path=log_lines.named("libinvsys-x.so"),
                                                       reason=re.compile(log_lines.REFUSED_ABI)))
        self.assertFalse(log_lines.PLUGIN_REFUSED.lines(plugin, path=log_lines.named("x.so")))
        with self.assertRaises(ValueError):
            log_lines.RELOAD_REFUSED.pattern(no_such_field="x")


if __name__ == "__main__":
    unittest.main()
