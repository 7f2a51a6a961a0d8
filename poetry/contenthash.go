package poetry

// ContentHash is the content-hash Poetry 2 writes into poetry.lock for this
// pyproject.toml: what a lock made for it must carry to count as fresh.
func ContentHash(pyproject []byte) (string, error) {
	doc, err := parseTOML(pyproject)
	if err != nil {
		return "", err
	}
	hashes, err := contentHashes(doc)
	if err != nil {
		return "", err
	}
	return hashes[0], nil
}
