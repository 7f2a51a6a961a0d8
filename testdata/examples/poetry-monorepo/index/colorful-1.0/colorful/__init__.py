PAINT = "in colour"
