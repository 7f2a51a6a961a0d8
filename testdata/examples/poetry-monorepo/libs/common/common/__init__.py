import colorful


def greet(service):
    return f"{service}: hello from common, {colorful.PAINT}"
