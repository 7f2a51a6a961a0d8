import importlib
import sys

module = importlib.import_module(sys.argv[1])
print(f"checked {module.__name__}: ok")
