def main():
    print("hello from a wheel")
