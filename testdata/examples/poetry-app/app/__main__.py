from greeting import greet

print(greet("xdockerfile"))
