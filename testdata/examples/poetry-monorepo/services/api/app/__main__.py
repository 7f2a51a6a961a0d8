import common

print(common.greet("api"))
