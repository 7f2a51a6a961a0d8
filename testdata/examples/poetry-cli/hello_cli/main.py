import sys

import textstyle


def greeting(name):
    return textstyle.exclaim(f"hello, {name}")


def run():
    print(greeting(sys.argv[1] if len(sys.argv) > 1 else "world"))
