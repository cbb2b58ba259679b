"""Sans-I/O codecs for foreign formats: bytes or text in, columns out (and back)."""
