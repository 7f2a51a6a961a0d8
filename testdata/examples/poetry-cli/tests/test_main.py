import unittest

from hello_cli.main import greeting


class GreetingTest(unittest.TestCase):
    def test_greeting(self):
        self.assertEqual(greeting("tests"), "hello, tests! (textstyle 1.0)")


if __name__ == "__main__":
    unittest.main()
