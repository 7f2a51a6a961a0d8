def plain(text):
    return text
