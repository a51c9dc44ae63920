package runtime

// HashMemoryForTest exposes the memory a verification is weighed at.
func HashMemoryForTest(hash string) int64 {
	_, _, m := hashKind(hash)
	return m
}
