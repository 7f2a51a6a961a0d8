from colorama_lite import plain


def greet(name):
    return plain(f"hello, {name}")
