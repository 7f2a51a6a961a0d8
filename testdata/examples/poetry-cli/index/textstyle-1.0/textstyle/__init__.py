"""A dependency from the package index: how the tool styles its output."""

VERSION = "1.0"


def exclaim(text):
    return f"{text}! (textstyle {VERSION})"
