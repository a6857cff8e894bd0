"""JWTs: types, keys, minting, verification."""
