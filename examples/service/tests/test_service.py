"""The example service's own test suite (run by the unit-test pipeline)."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import service


class ServiceTest(unittest.TestCase):
    def test_add(self) -> None:
        self.assertEqual(service.add("2", "3"), 5)

    def test_add_rejects_words(self) -> None:
        with self.assertRaises(ValueError):
            service.add("two", "3")

    def test_version_is_a_string(self) -> None:
        self.assertIsInstance(service.version(), str)


if __name__ == "__main__":
    unittest.main()
