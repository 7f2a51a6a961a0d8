import common

print(common.greet("worker"))
